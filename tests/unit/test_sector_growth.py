"""Sectors growing at their own rates (``sector_growth.*``; critmin.simulate.engine.sectors.growth_factors).

Toy engine: one region pair (CHN supplies only itself, the USA only itself), one stage, demand
frozen (growth 0, elasticities 0). The USA's 50 t/month of magnet demand is split 50/50
between two sectors; the first grows 10%/yr faster than the other (x = 0.1, 0).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.errors import DataError
from critmin.simulate.engine import Feed
from critmin.simulate.engine.sectors import SectorAccumulator, growth_factors, heavy_grade_path, sector_shares
from critmin.simulate.inputs.policy import compile_policy
from critmin.simulate.inputs.scenario import load_scenario
from critmin.simulate.run import simulate
from tests.unit import test_heavy as th
from tests.unit.helpers import engine_run, frozen_params

REGIONS = ("CHN", "USA")
T = 13
net = th.main_net  # CHN and USA each make 50 t/month for their own users


def test_growth_factors_by_hand() -> None:
    g = growth_factors(("a", "b"), {"sector_growth.a": 0.1}, T)
    assert g is not None
    np.testing.assert_allclose(g[:, 1], 1.0)
    assert g[12, 0] == pytest.approx(1.1)
    assert g[6, 0] == pytest.approx(1.1**0.5)
    assert growth_factors(("a", "b"), {"sector_growth.a": 0.0}, T) is None  # all alike
    with pytest.raises(DataError, match=r"sector_growth\.b"):
        growth_factors(("a", "b"), {"sector_growth.b": -1.0}, T)


def test_demand_level_and_mix_shift_by_hand() -> None:
    """Month 12: US demand 50 (0.5 x 1.1 + 0.5) = 52.5 t, the first sector 27.5 t (52.4%)."""
    shares = np.array([[0.5, 0.5], [0.5, 0.5]])
    pol = compile_policy((), "2024-01", T, REGIONS, 1, None, defence_share=0.03, stages=("magnet",))
    growth = growth_factors(("a", "b"), {"sector_growth.a": 0.1}, T)
    params = frozen_params(1, 2, capacity_headroom=0.5)  # spare capacity: no shortfall from the growth
    m, _, tr = engine_run(
        net(),
        params,
        pol,
        T,
        keep_trace=True,
        check_balance=True,
        sectors=(shares, np.array([1, 1])),
        sector_growth=growth,
    )
    assert tr is not None
    assert tr.demand[12, 0, 1] == pytest.approx(52.5)
    assert tr.demand[0, 0, 1] == pytest.approx(50.0)
    assert m.by_sector is not None
    d = m.by_sector["cumulative_demand_t"][0, 1]
    want = sum(50 * 0.5 * np.array([1.1 ** (t / 12), 1.0]) for t in range(T))
    np.testing.assert_allclose(d, want)
    np.testing.assert_allclose(d.sum(), tr.demand[:, 0, 1].sum())
    # without the growth nothing moves
    _, _, tr0 = engine_run(
        net(), params, pol, T, keep_trace=True, sectors=(shares, np.array([1, 1])), sector_growth=None
    )
    assert tr0 is not None
    np.testing.assert_allclose(tr0.demand[:, 0, 1], 50.0)
    with pytest.raises(DataError, match="sector growth"):
        engine_run(net(), params, pol, T, sectors=(shares, np.array([1, 1])), sector_growth=growth[:3])
    with pytest.raises(DataError, match="needs the sector shares"):
        engine_run(net(), params, pol, T, sector_growth=growth)


@settings(max_examples=40, deadline=None)
@given(
    a=st.floats(0.01, 0.99),
    x=st.floats(-0.5, 1.0),
    demand=st.floats(0.0, 1e4),
    frac=st.floats(0.0, 1.0),
)
def test_set_shares_keeps_totals(a: float, x: float, demand: float, frac: float) -> None:
    """After a mix shift the sector demands still add up to the region's, and the shortfalls too."""
    acc = SectorAccumulator(np.array([[a, 1 - a]]), [0, 1], 1)
    mix = np.array([[a * (1 + x), 1 - a]])
    acc.set_shares(mix / mix.sum(axis=1, keepdims=True))
    acc.update(np.array([[demand]]), np.array([[demand * frac]]))
    got = acc.metrics()
    np.testing.assert_allclose(got["cumulative_demand_t"].sum(), demand, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got["cumulative_shortfall_t"].sum(), demand * (1 - frac), rtol=1e-9, atol=1e-6)
    with pytest.raises(DataError):
        acc.set_shares(np.array([[0.2, 0.2]]))


def test_bundled_run_with_faster_ev_growth() -> None:
    """controls-reimposed-2026-11 with EV traction growing 5.6%/yr faster: the EV share of US
    demand over the horizon rises from 0.33 and the US shortfall grows; defence keeps 0."""
    sc = load_scenario("controls-reimposed-2026-11")
    fast = sc.model_copy(update={"parameters": {**sc.parameters, "sector_growth.ev_traction": 0.056}})
    base = simulate(sc, paths=30, seed=0)
    r = simulate(fast, paths=30, seed=0)
    assert r.metrics.by_sector is not None
    assert base.metrics.by_sector is not None
    us = REGIONS.index("USA")  # same index in the default regions
    d = r.metrics.by_sector["cumulative_demand_t"][:, us, :].sum(axis=0)
    d0 = base.metrics.by_sector["cumulative_demand_t"][:, us, :].sum(axis=0)
    assert d[0] / d.sum() > 0.36 > 0.331 > d0[0] / d0.sum() > 0.329
    assert np.median(r.metrics.cumulative_shortfall_t[:, us]) > np.median(
        base.metrics.cumulative_shortfall_t[:, us]
    )
    defence = 4  # sectors.yaml order: ev_traction, wind, industrial, electronics, defence, other
    assert r.metrics.by_sector["cumulative_shortfall_t"][:, us, defence].max() == pytest.approx(0.0, abs=1e-6)


def test_heavy_grade_path_by_hand() -> None:
    """Shares 0.5/0.5, the heavy-grade sector growing 10%/yr faster: at month 12 its share is
    0.55 / 1.05, so the Dy + Tb grade share is 1.1 / 1.05 = 1.0476 times its start value."""
    shares = np.array([[0.5, 0.5], [0.5, 0.5]])
    heavy = np.array([True, False])
    growth = growth_factors(("a", "b"), {"sector_growth.a": 0.1}, T)
    path = heavy_grade_path(shares, np.array([0.3, 0.7]), heavy, growth, T)
    assert path[0] == pytest.approx(1.0)
    assert path[12] == pytest.approx(1.1 / 1.05)
    assert (np.diff(path) > 0).all()
    np.testing.assert_array_equal(heavy_grade_path(shares, np.array([0.3, 0.7]), heavy, None, T), np.ones(T))


def test_grade_share_default_is_the_heavy_grade_sectors_share() -> None:
    """heavy.grade_share (0.58) must equal the bundled shares of the sectors flagged heavy_grade."""
    from critmin.data.load import load_dataset
    from critmin.simulate.inputs.params import parameter_table

    split = sector_shares(load_dataset(), ("CHN", "USA"))
    assert list(np.array(split.sectors)[split.heavy_grade]) == [
        "ev_traction",
        "wind",
        "industrial_motors",
        "defence",
    ]
    assert split.shares[0, split.heavy_grade].sum() == pytest.approx(
        parameter_table()["heavy.grade_share"].default
    )


def test_feed_grade_path_zero_lifts_the_dy_constraint() -> None:
    """The heavy-feed toy of test_heavy with a grade path of 0: no Dy-bearing output, so a Dy
    ban leaves US magnets untouched; a path of ones is the constant grade share exactly."""
    pol = compile_policy((), "2024-01", T, REGIONS, 1, None, defence_share=0.03, stages=("magnet",))
    f_pol = compile_policy(
        (th.ban(3, ["USA"]),),
        "2024-01",
        T,
        REGIONS,
        1,
        None,
        defence_share=0.03,
        stages=("separation",),
        commodity="dy_tb",
    )
    fp = frozen_params(1, 2, controlled_share_last_stage=1.0, controlled_share_upstream=1.0)

    def us_short(path: np.ndarray | None) -> np.ndarray:
        feed = Feed(th.feed_net(), fp, f_pol, 0, 0.5, 0.2, grade_path=path)
        _, _, tr = engine_run(
            th.main_net(), frozen_params(1, 2), pol, T, keep_trace=True, check_balance=True, feed=feed
        )
        assert tr is not None
        return tr.shortfall[:, 0, 1]

    np.testing.assert_allclose(us_short(np.zeros(T)), 0.0, atol=1e-9)
    np.testing.assert_array_equal(us_short(np.ones(T)), us_short(None))
    np.testing.assert_allclose(us_short(None), [0.0] * 9 + [25.0] * 4, atol=1e-9)  # T = 13 months
    with pytest.raises(DataError, match="grade path"):
        us_short(np.full(T, 3.0))  # h x path above 1
