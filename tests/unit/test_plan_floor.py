"""Price floors (critmin.plan.floor): hand-computed annuities, Black-76, upside sharing, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm

from critmin.errors import DataError
from critmin.plan.floor import (
    FloorSpec,
    analytic_expected_npv,
    black76_call,
    black76_put,
    discount_factors,
    example_spec,
    legs,
    load_examples,
    npv_paths,
    summarise,
    value_floor,
)
from critmin.plan.pricemodel import OUModel


def flat_model(price: float, sigma: float = 0.0, kappa: float = 0.0, origin: str = "2025-09") -> OUModel:
    """A model at ``price`` from the month before the term (no history inside the term)."""
    return OUModel(mu=math.log(price), kappa=kappa, sigma=sigma, x0=math.log(price), origin=origin)


def test_zero_volatility_floor_is_the_annuity_of_floor_minus_price() -> None:
    spec = FloorSpec(
        floor_usd_per_kg=110, volume_t_per_year=1200, years=2, start="2025-10", discount_rate=0.06
    )
    r = value_floor(spec, paths=3, seed=1, model=flat_model(60.0))
    # by hand: (110 - 60) US$/kg x 100,000 kg a month = US$5m a month, discounted at 6%/yr monthly
    hand = sum(5.0e6 * 1.06 ** (-(m + 1) / 12) for m in range(24))
    assert r.summary["mean"] == pytest.approx(hand, rel=1e-12)
    assert r.summary["p5"] == pytest.approx(hand)
    assert r.summary["p95"] == pytest.approx(hand)
    assert r.analytic is not None
    assert r.analytic["net"] == pytest.approx(hand, rel=1e-12)
    # price above the floor: nothing paid
    assert value_floor(spec, paths=2, seed=1, model=flat_model(120.0)).summary["mean"] == 0.0


def test_discount_factors_by_hand() -> None:
    assert discount_factors(3, 0.0).tolist() == [1.0, 1.0, 1.0]
    np.testing.assert_allclose(discount_factors(12, 0.10)[-1], 1 / 1.1)


def test_black76_closed_form_by_hand() -> None:
    f, k, s, df = 100.0, 110.0, 0.3, 0.95
    d1 = (math.log(f / k) + 0.5 * s * s) / s
    want = df * (k * norm.cdf(-(d1 - s)) - f * norm.cdf(-d1))
    assert float(black76_put(f, k, s, df)) == pytest.approx(want, rel=1e-12)
    # put-call parity and the intrinsic limit
    assert float(black76_call(f, k, s, df) - black76_put(f, k, s, df)) == pytest.approx(df * (f - k))
    assert float(black76_put(80.0, 110.0, 0.0, 1.0)) == pytest.approx(30.0)


def test_monte_carlo_put_on_a_lognormal_price_matches_black76() -> None:
    """One month, random walk in logs: P = P0 exp(sigma Z), a lognormal with forward P0 exp(sigma^2/2)."""
    p0, sigma = 90.0, 0.25
    spec = FloorSpec(
        floor_usd_per_kg=100, volume_t_per_year=12, years=1 / 12, start="2025-10", discount_rate=0.0
    )
    r = value_floor(spec, paths=200_000, seed=7, model=flat_model(p0, sigma=sigma))
    forward = p0 * math.exp(0.5 * sigma**2)
    closed = float(black76_put(forward, 100.0, sigma, 1.0)) * 1000.0  # 1,000 kg a month
    assert abs(r.summary["mean"] - closed) < 4 * r.summary["se"]
    assert r.analytic is not None
    assert r.analytic["net"] == pytest.approx(closed, rel=1e-12)


def test_monte_carlo_strip_under_mean_reversion_matches_closed_form() -> None:
    model = OUModel(mu=math.log(70.0), kappa=0.05, sigma=0.12, x0=math.log(90.0), origin="2025-09")
    spec = FloorSpec(110, 1000, 3, start="2025-10", upside_share=0.3, upside_strike=120, discount_rate=0.05)
    r = value_floor(spec, paths=40_000, seed=3, model=model)
    assert r.analytic is not None
    assert abs(r.summary["mean"] - r.analytic["net"]) < 4 * r.summary["se"]
    assert abs(r.call_leg["mean"] - r.analytic["call_leg"]) < 4 * r.call_leg["se"] + 1.0


def test_upside_share_is_a_short_call_by_hand() -> None:
    spec = FloorSpec(110, 12, 0.25, start="2025-10", upside_share=0.3, upside_strike=150, discount_rate=0.0)
    prices = np.array([[100.0], [160.0], [200.0]])  # 1,000 kg a month
    put, call = legs(prices, spec)
    assert put[:, 0].tolist() == [10_000.0, 0.0, 0.0]
    assert call[:, 0].tolist() == pytest.approx([0.0, 3_000.0, 15_000.0])
    assert npv_paths(prices, spec)[0] == pytest.approx(10_000 - 18_000)
    # the upside starts later: the months before it share nothing
    later = FloorSpec(
        110, 12, 0.25, start="2025-10", upside_share=0.3, upside_strike=150, upside_start="2025-12"
    )
    assert legs(prices, later)[1][:, 0].tolist() == pytest.approx([0.0, 0.0, 15_000.0])
    # strike defaults to the floor
    assert FloorSpec(110, 12, 1, upside_share=0.5).strike == 110


def test_summarise_cvar_is_the_mean_of_the_costliest_five_percent() -> None:
    v = np.arange(1.0, 101.0)
    s = summarise(v)
    assert s["cvar95"] == pytest.approx(np.mean([96, 97, 98, 99, 100]))
    assert s["p50"] == pytest.approx(50.5)
    assert s["mean"] == pytest.approx(50.5)


def test_equal_seeds_equal_results_and_provenance() -> None:
    spec = FloorSpec(110, 1000, 2)
    a = value_floor(spec, paths=500, seed=11)
    b = value_floor(spec, paths=500, seed=11)
    c = value_floor(spec, paths=500, seed=12)
    assert a.summary == b.summary
    assert a.summary != c.summary
    d = a.to_dict()
    assert d["seed"] == 11
    assert d["paths"] == 500
    assert len(d["data_version"]) == 12
    assert d["critmin_version"]
    assert d["spec"]["floor_usd_per_kg"] == 110
    assert d["price_model"] == "fitted-ou"
    assert d["model"]["fit"]["n_months"] >= 2
    assert d["model"]["fit"]["caveats"]


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [
        ({"floor_usd_per_kg": -1.0}, "floor"),
        ({"volume_t_per_year": -5.0}, "volume-t"),
        ({"years": 0.0}, "years"),
        ({"upside_share": 1.5}, "upside-share"),
        ({"discount_rate": float("nan")}, "discount-rate"),
        ({"product": "dy_tb_oxide"}, "product"),
        ({"start": "2025-13"}, "start"),
    ],
)
def test_bad_specs_are_data_errors(kwargs: dict[str, object], column: str) -> None:
    args: dict[str, object] = {
        "floor_usd_per_kg": 110.0,
        "volume_t_per_year": 1000.0,
        "years": 10.0,
        **kwargs,
    }
    with pytest.raises(DataError) as err:
        FloorSpec(**args)  # type: ignore[arg-type]
    assert err.value.column == column


def test_dod_mp_example_is_sourced() -> None:
    ex = load_examples()["dod-mp"]
    spec = example_spec("dod-mp")
    assert spec.floor_usd_per_kg == 110
    assert spec.months[0] == "2025-10"
    assert spec.months[-1] == "2035-12"
    assert spec.upside_share == 0.3
    from critmin.data.load import load_dataset

    known = set(load_dataset().sources)
    cited = {f["source_id"] for f in ex["figures"] if "source_id" in f} | {
        t["source_id"] for t in ex["other_terms"]
    }
    assert cited
    assert cited <= known
    # every figure has a source or says it is an assumption
    for f in ex["figures"]:
        assert "source_id" in f or "Assumption" in f["note"], f
    with pytest.raises(DataError, match="unknown floor example"):
        example_spec("nope")


def test_bad_examples_file_names_the_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "ex.yaml"
    p.write_text("examples:\n  - id: x\n    spec:\n      floor: 110\n")
    with pytest.raises(DataError, match=r"ex.yaml:4: unknown spec key 'floor'"):
        load_examples(p)


def test_scenario_put_leg_equals_the_engines_own_floor_cost() -> None:
    """The simulator costs the history's DoD-MP floor (US$110/kg on 1,294 t/yr, Jul 2025 on) with
    the same price paths: undiscounted, without upside, the two must agree path by path."""
    from critmin.data.load import load_dataset
    from critmin.plan.floor import scenario_prices
    from critmin.simulate.run import simulate

    ds = load_dataset()
    spec = FloorSpec(110, 1294, 10.5, start="2025-07", discount_rate=0.0)
    prices, anchor, _ = scenario_prices(
        "controls-reimposed-2026-11", spec.months, paths=6, seed=5, dataset=ds
    )
    assert anchor == 55.0
    assert prices.shape == (126, 6)
    res = simulate("controls-reimposed-2026-11", paths=6, seed=5, dataset=ds)
    engine = res.metrics.price_floor_cost_usd
    assert engine is not None
    usa = res.scenario.regions.index("USA")
    np.testing.assert_allclose(npv_paths(prices, spec), engine[:, usa], rtol=1e-9)


# ------------------------------------------------------------------------------ properties
prices_st = st.lists(st.floats(0.0, 500.0), min_size=1, max_size=24)


@given(prices_st, st.floats(0.0, 300.0), st.floats(0.0, 1.0), st.floats(0.0, 400.0))
def test_payments_are_non_negative(p: list[float], floor: float, share: float, strike: float) -> None:
    spec = FloorSpec(floor, 100.0, len(p) / 12, upside_share=share, upside_strike=strike)
    put, call = legs(np.array(p)[:, None], spec)
    assert (put >= 0).all()
    assert (call >= 0).all()


@given(prices_st, st.floats(0.0, 300.0), st.floats(0.0, 50.0), st.floats(0.0, 1.0))
def test_npv_non_increasing_in_price_level(p: list[float], floor: float, shift: float, share: float) -> None:
    spec = FloorSpec(floor, 100.0, len(p) / 12, upside_share=share, upside_strike=floor + 20)
    lo = np.array(p)[:, None]
    assert npv_paths(lo + shift, spec)[0] <= npv_paths(lo, spec)[0] + 1e-6


@given(prices_st, st.floats(0.0, 300.0), st.floats(0.0, 50.0))
def test_npv_non_decreasing_in_floor(p: list[float], floor: float, rise: float) -> None:
    a = FloorSpec(floor, 100.0, len(p) / 12, upside_share=0.3, upside_strike=150.0)
    b = FloorSpec(floor + rise, 100.0, len(p) / 12, upside_share=0.3, upside_strike=150.0)
    x = np.array(p)[:, None]
    assert npv_paths(x, b)[0] >= npv_paths(x, a)[0] - 1e-6


@given(st.floats(1.0, 300.0), st.floats(1.0, 300.0), st.floats(0.0, 2.0))
def test_black76_put_bounds(f: float, k: float, s: float) -> None:
    v = float(black76_put(f, k, s))
    assert max(k - f, 0.0) - 1e-9 <= v <= k + 1e-9


def test_analytic_months_before_the_origin_use_the_history() -> None:
    model = OUModel(
        math.log(60), 0.0, 0.0, math.log(60), "2025-11", history={"2025-10": 50.0, "2025-11": 60.0}
    )
    spec = FloorSpec(100, 12, 3 / 12, start="2025-10", discount_rate=0.0)
    got = analytic_expected_npv(model, spec)
    assert got["put_leg"] == pytest.approx((50 + 40 + 40) * 1000.0)
