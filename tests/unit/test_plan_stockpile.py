"""Stockpile sizing (critmin.plan.stockpile): the search on toy functions, the metric, the real search."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.errors import DataError
from critmin.plan.stockpile import StockpileSpec, chain_of, size_stockpile, smallest_passing, window_metric


def test_bisection_finds_a_known_threshold() -> None:
    s = smallest_passing(
        lambda x: 1.0 if x >= 1234.5 else 0.0, 0.5, start=100.0, cap=1e6, rel_tol=0.0, abs_tol=0.5
    )
    assert s.reached
    assert s.size is not None
    assert s.below is not None
    assert 1234.5 <= s.size <= 1235.0
    assert 1234.0 <= s.below < 1234.5
    assert s.monotone
    assert [t[0] for t in s.tried[:5]] == [0.0, 100.0, 200.0, 400.0, 800.0]  # doubling, then bisection


def test_bisection_on_a_graded_probability() -> None:
    s = smallest_passing(lambda x: min(1.0, x / 1000.0), 0.9, start=10.0, cap=1e5, rel_tol=0.001, abs_tol=0.1)
    assert s.size == pytest.approx(900.0, abs=1.0)
    assert s.below is not None
    assert s.below < 900.0


def test_zero_passes_and_unreachable_targets() -> None:
    zero = smallest_passing(lambda x: 1.0, 0.9, start=1.0, cap=10.0)
    assert zero.size == 0.0
    assert zero.below is None
    assert len(zero.tried) == 1
    never = smallest_passing(lambda x: 0.4, 0.9, start=1.0, cap=64.0)
    assert not never.reached
    assert never.size is None
    assert never.below == 64.0
    with pytest.raises(ValueError, match="start <= cap"):
        smallest_passing(lambda x: 1.0, 0.5, start=0.0, cap=1.0)


def test_non_monotone_values_are_flagged() -> None:
    vals = {0.0: 0.0, 1.0: 0.6, 2.0: 0.4, 1.5: 0.7}
    s = smallest_passing(lambda x: vals.get(x, 1.0), 0.95, start=1.0, cap=2.0, abs_tol=0.6)
    assert not s.monotone


@given(st.floats(0.5, 1e6), st.floats(0.5, 100.0))
def test_bisection_brackets_any_step(threshold: float, start: float) -> None:
    s = smallest_passing(
        lambda x: float(x >= threshold), 0.5, start=start, cap=1e8, rel_tol=0.01, abs_tol=1.0
    )
    assert s.size is not None
    assert s.below is not None
    assert s.below < threshold <= s.size
    assert s.size - s.below <= max(1.0, 0.01 * s.size) + 1e-9


def test_window_metric_by_hand() -> None:
    short = np.array([[0.0, 5.0], [2.0, 0.0], [1.0, 0.0]])
    demand = np.array([[10.0, 10.0], [10.0, 0.0], [10.0, 10.0]])
    np.testing.assert_allclose(window_metric(short, demand, "peak"), [20.0, 50.0])
    np.testing.assert_allclose(window_metric(short, demand, "cumulative"), [10.0, 25.0])


def test_products_map_to_chains() -> None:
    assert chain_of("ndfeb_magnets") == chain_of("magnets") == chain_of("rare_earths") == "rare_earths"
    assert chain_of("gallium") == chain_of("gallium_metal") == "gallium"
    with pytest.raises(DataError, match="unknown product 'unobtainium'"):
        chain_of("unobtainium")
    with pytest.raises(DataError, match="Dy \\+ Tb feed"):
        chain_of("dy_tb")


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [
        ({"confidence": 1.0}, "confidence"),
        ({"confidence": 0.0}, "confidence"),
        ({"target_shortfall_pct": -1.0}, "target-shortfall"),
        ({"metric": "mean"}, "metric"),
        ({"fill_months": 0}, "fill-months"),
        ({"release_share_per_month": 0.0}, "release-share"),
        ({"product": "nope"}, "product"),
    ],
)
def test_bad_specs(kwargs: dict[str, object], column: str) -> None:
    args: dict[str, object] = {
        "scenario": "controls-reimposed-2026-11",
        "region": "USA",
        "product": "ndfeb_magnets",
        "target_shortfall_pct": 10.0,
        "confidence": 0.9,
        **kwargs,
    }
    with pytest.raises(DataError) as err:
        StockpileSpec(**args)  # type: ignore[arg-type]
    assert err.value.column == column


def test_unknown_region_and_scenario() -> None:
    with pytest.raises(DataError, match="unknown region 'ATL'"):
        size_stockpile(StockpileSpec("controls-reimposed-2026-11", "ATL", "magnets", 10, 0.9), paths=2)
    with pytest.raises(DataError, match="unknown scenario"):
        size_stockpile(StockpileSpec("no-such-scenario", "USA", "magnets", 10, 0.9), paths=2)


@pytest.mark.slow
def test_real_search_meets_the_target_and_the_next_smaller_size_fails() -> None:
    spec = StockpileSpec(
        "controls-reimposed-2026-11", "USA", "ndfeb_magnets", 10.0, 0.75, fill_months=6, end="2028-12"
    )
    r = size_stockpile(spec, paths=8, seed=3)
    assert r.reached
    assert r.size_t is not None
    assert r.size_t > 0
    assert r.next_smaller_t is not None
    assert r.prob_at_size is not None
    assert r.prob_at_size >= 0.75 > r.prob_without
    tried = {s: (p, ok) for s, p, ok in r.tried}
    assert tried[r.size_t][1]
    assert not tried[r.next_smaller_t][1]
    assert r.next_smaller_t < r.size_t <= r.next_smaller_t + max(1.0, 0.02 * r.size_t) + 1e-9
    assert r.monotone
    assert len(r.fill) == 6
    assert sum(t for _, t in r.fill) == pytest.approx(r.size_t)
    assert r.fill[-1][0] == "2026-10"
    assert r.window == ("2026-11", "2028-12")
    assert r.cost["purchase_at_anchor"] == pytest.approx(r.size_t * 1000 * 52.1)
    assert r.metric_with is not None
    assert r.metric_with["p50"] <= r.metric_without["p50"]
    d = r.to_dict()
    assert d["seed"] == 3
    assert d["paths"] == 8
    assert len(d["data_version"]) == 12


@pytest.mark.slow
def test_zero_size_events_leave_the_paths_unchanged() -> None:
    """Common random numbers: "without" is the plain scenario run with the same seed, and the
    search's runs draw the same paths (prices before the fill are identical)."""
    from critmin.simulate.inputs.scenario import load_scenario
    from critmin.simulate.run import simulate

    spec = StockpileSpec("controls-reimposed-2026-11", "USA", "ndfeb_magnets", 0.0, 0.5, end="2027-12")
    r = size_stockpile(spec, paths=4, seed=9, max_evals=2)
    sc = load_scenario("controls-reimposed-2026-11")
    sc = type(sc).model_validate({**sc.model_dump(mode="json"), "end": "2027-12"})
    plain = simulate(sc, paths=4, seed=9, keep_trace=True)
    assert plain.trace is not None
    usa = plain.scenario.regions.index("USA")
    t0 = plain.months.index("2026-11")
    want = window_metric(plain.trace.shortfall[t0:, :, usa], plain.trace.demand[t0:, :, usa], "peak")
    from critmin.plan.stockpile import stockpile_scenario

    assert r.tried[0][0] == 0.0
    fill = tuple(f"2025-{m:02d}" for m in range(11, 13)) + tuple(f"2026-{m:02d}" for m in range(1, 11))
    big = simulate(
        stockpile_scenario(sc, spec, "rare_earths", fill, "2027-12", 50_000.0),
        paths=4,
        seed=9,
        keep_trace=True,
    )
    assert big.trace is not None
    t_fill = plain.months.index("2025-11")
    np.testing.assert_array_equal(big.trace.price_x[:t_fill], plain.trace.price_x[:t_fill])
    assert big.trace.shortfall[t0:, :, usa].sum() < plain.trace.shortfall[t0:, :, usa].sum()
    assert r.metric_without == pytest.approx(
        {"p5": np.percentile(want, 5), "p50": np.percentile(want, 50), "p95": np.percentile(want, 95)}
    )


@pytest.mark.slow
def test_single_chain_stockpile() -> None:
    """Gallium runs as its own chain; no us-embargo event applies to it, so the window starts at
    the scenario's first event (2026-11); the anchor is gallium's (not the magnet price)."""
    spec = StockpileSpec("us-embargo", "USA", "gallium_metal", 10.0, 0.6, fill_months=3, end="2027-12")
    r = size_stockpile(spec, paths=6, seed=1)
    assert r.chain == "gallium"
    assert r.window == ("2026-11", "2027-12")
    assert r.fill[0][0] == "2026-08"
    assert r.reached
    assert r.size_t is not None
    assert r.cost["anchor_usd_per_kg"] != pytest.approx(52.1)


@pytest.mark.slow
def test_on_run_and_executor_see_every_simulation_and_change_nothing() -> None:
    """``on_run`` is called once per simulated size (and once for the run without a stockpile);
    an executor passed in runs every block; the result equals the default run's."""
    from critmin.simulate.executors import InProcess

    class Counting(InProcess):
        calls = 0

        def run_blocks(self, *args: object, **kw: object) -> list:  # type: ignore[override]
            Counting.calls += 1
            return super().run_blocks(*args, **kw)  # type: ignore[arg-type]

    spec = StockpileSpec("us-embargo", "USA", "gallium_metal", 10.0, 0.6, fill_months=3, end="2027-12")
    seen: list[float | None] = []
    r = size_stockpile(spec, paths=6, seed=1, executor=Counting(), on_run=seen.append)
    plain = size_stockpile(spec, paths=6, seed=1)
    assert r.to_dict() == plain.to_dict()
    assert seen[0] is None  # the scenario as it is comes first
    assert sorted(s for s in seen if s is not None) == sorted(s for s, _, _ in r.tried)
    assert len(seen) == len(set(seen)) == Counting.calls
