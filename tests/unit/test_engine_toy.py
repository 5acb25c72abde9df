"""The disruption engine on hand-built toy chains with hand-checked shortfall paths.

The toy chain (``toy_network``) has two regions, CHN and USA. China makes everything at
every stage, 100 t/month (``volume`` = 100 at each stage, so conversion factors are 1), and
ships all its magnets to the USA: US demand D = 100 t/month, China's is 0. Headroom and
capacity growth are 0, so China cannot make more than 100 t/month. Demand growth, price
elasticity and substitution are 0, so D stays at 100 whatever prices do. US users start
with ``cover`` = 2 months of demand (200 t). They consume min(D, inventory + receipts +
recycling + stockpile release), and the rest is the shortfall. The scenario starts in
2024-01, so month index 3 is 2024-04.

The numbers of bundled runs (``controls-reimposed-2026-11`` at 200 paths and seed 0, and at
one path, pinned here before) are in the golden files of ``tests/regression/golden/``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from critmin.errors import DataError
from critmin.model.stages import Stage
from critmin.simulate import engine, simulate
from critmin.simulate.chains.network import Network
from critmin.simulate.engine import EngineParams, MassBalanceError, Trace, balance
from critmin.simulate.inputs.events import parse_event
from critmin.simulate.inputs.policy import compile_policy
from critmin.simulate.inputs.scenario import Event, EventKind
from tests.unit import helpers
from tests.unit.helpers import engine_run, frozen_params, no_projects

REGIONS = ("CHN", "USA")
US = 1
T = 12


def toy_network() -> Network:
    """China makes 100 t/month at every stage and exports all its magnets to the USA."""
    share = np.array([[1.0, 0.0]] * 4)
    ship = np.stack([np.eye(2)] * 4)
    ship[3, 0] = [0.0, 1.0]
    volume = np.full(4, 100.0)
    projects = no_projects()
    demand0 = (share[3] * volume[3]) @ ship[3]
    return helpers.toy_network(share, ship, volume, demand0, np.array([[1.0, 0.0]] * 4), projects=projects)


def toy_params(n: int = 1, *, stockpile_us: float = 0.0, **over: float) -> EngineParams:
    stock0 = np.zeros((n, 2))
    stock0[:, US] = stockpile_us
    return frozen_params(n, 2, stockpile0_t=stock0, **over)


def event(kind: EventKind, month: int, **kw: object) -> Event:
    return parse_event(
        {"id": f"{kind.value}-{month}", "date": dt.date(2024, 1 + month, 1), "kind": kind, **kw}
    )


def run_toy(events: list[Event], params: EngineParams) -> tuple[engine.PathMetrics, Trace]:
    net = toy_network()
    n = params.demand_growth_per_year.shape[0]
    pol = compile_policy(tuple(events), "2024-01", T, REGIONS, n, None, defence_share=0.03)
    metrics, _, trace = engine_run(net, params, pol, T, keep_trace=True, check_balance=True)
    assert trace is not None
    assert np.nanmax(trace.balance_residual) < 1e-9
    return metrics, trace


US_BAN = {"stages": (Stage.MAGNET,), "destinations": ("USA",)}


def test_ban_without_recycling_runs_dry_after_two_months_of_cover() -> None:
    """Ban on China's magnet exports to the USA from month 3; no recycling.

    Months 0-2: receipts 100 = use 100, inventory stays 200.
    Month 3: receipts 0, use 100 -> 100.  Month 4: use 100 -> 0.
    Month 5 on: nothing arrives, shortfall 100 t = 100% of demand.
    """
    metrics, tr = run_toy([event(EventKind.BAN, 3, **US_BAN)], toy_params())
    expected = np.array([0, 0, 0, 0, 0] + [100.0] * 7)
    np.testing.assert_allclose(tr.shortfall[:, 0, US], expected, atol=1e-9)
    np.testing.assert_allclose(tr.inventory[:5, 0, US], [200, 200, 200, 100, 0], atol=1e-9)
    np.testing.assert_allclose(tr.exports_chn[:, 0, US], [100.0] * 3 + [0.0] * 9, atol=1e-9)
    assert metrics.peak_shortfall_pct[0, US] == pytest.approx(100.0)
    assert metrics.months_below_90pct[0, US] == 7
    assert metrics.cumulative_shortfall_t[0, US] == pytest.approx(700.0)
    # output at risk = shortfall (t) x 1000 kg/t x 10 USD/kg
    assert metrics.output_at_risk_usd[0, US] == pytest.approx(700.0 * 1000 * 10)


def test_ban_with_recycling_levels_off_at_100pct_minus_recycling() -> None:
    """The same ban with recycling = 10% of demand (10 t/month to US users).

    Months 0-2: receipts 100 + 10 recycled - use 100: inventory 210, 220, 230.
    Month 3: 230 + 10 - 100 = 140.  Month 4: 150 - 100 = 50.
    Month 5: 50 + 10 = 60 on hand, use 60: shortfall 40 t (40%).
    Month 6 on: only the 10 t recycled: shortfall 90 t = 100% - 10% recycling.
    Cumulative: 40 + 6 x 90 = 580 t; months below 90% of demand: 5..11 = 7.
    """
    metrics, tr = run_toy([event(EventKind.BAN, 3, **US_BAN)], toy_params(recycling_share=0.1))
    expected = np.array([0, 0, 0, 0, 0, 40] + [90.0] * 6)
    np.testing.assert_allclose(tr.shortfall[:, 0, US], expected, atol=1e-9)
    np.testing.assert_allclose(tr.inventory[:5, 0, US], [210, 220, 230, 140, 50], atol=1e-9)
    assert metrics.cumulative_shortfall_t[0, US] == pytest.approx(580.0)
    assert metrics.months_below_90pct[0, US] == 7
    assert metrics.peak_shortfall_pct[0, US] == pytest.approx(90.0)


def test_licence_regime_settles_at_controlled_share_times_refusal_rate() -> None:
    """Licence on magnets from month 3: controlled share s = 0.5, approval a = 0.5, lag 1.

    Month 3: 50 t delivered, 50 t to the backlog (nothing processed yet): inventory 150.
    Month 4 on: 50 delivered + a x 50 approved = 75 t a month; 25 t refused go back to
    China. Inventory falls 25 t a month: 125, 100, 75, 50, 25 (month 8), 0 (month 9).
    Month 10 on: 75 t on hand for 100 t of demand: shortfall 25% = s (1 - a).
    """
    metrics, tr = run_toy([event(EventKind.LICENCE, 3, controlled_share=0.5)], toy_params())
    expected = np.array([0.0] * 10 + [25.0, 25.0])
    np.testing.assert_allclose(tr.shortfall[:, 0, US], expected, atol=1e-9)
    np.testing.assert_allclose(tr.inventory[3:10, 0, US], [150, 125, 100, 75, 50, 25, 0], atol=1e-9)
    np.testing.assert_allclose(tr.exports_chn[:, 0, US], [100.0] * 3 + [50.0] + [75.0] * 8, atol=1e-9)
    assert metrics.peak_shortfall_pct[0, US] == pytest.approx(25.0)


def test_stockpile_releases_half_a_month_after_inventory_runs_out() -> None:
    """The ban of the first test with a 100 t US stockpile released at up to 50% a month.

    Inventory runs out in month 4 as before. Month 5: gap 100, release min(100, 0.5 x 100)
    = 50: shortfall 50. Then the stockpile halves each month: releases 25, 12.5, ...,
    shortfalls 75, 87.5, 93.75, ...
    """
    params = toy_params(stockpile_us=100.0, stockpile_release_per_month=0.5)
    _, tr = run_toy([event(EventKind.BAN, 3, **US_BAN)], params)
    expected = np.array([0.0] * 5 + [100 - 100 * 0.5**k for k in range(1, 8)])
    np.testing.assert_allclose(tr.shortfall[:, 0, US], expected, atol=1e-9)
    np.testing.assert_allclose(tr.stockpile[4:7, 0, US], [100, 50, 25], atol=1e-9)


def test_defence_denial_withholds_only_the_defence_share() -> None:
    """End-user denial to the USA: 3% (the defence share) of China's exports stays home.

    US users get 97 t a month from month 3: inventory falls 3 t a month from 200 and
    never runs out within the year, so there is no shortfall.
    """
    _, tr = run_toy([event(EventKind.END_USER_DENIAL, 3, **US_BAN)], toy_params())
    np.testing.assert_allclose(tr.exports_chn[3:, 0, US], 97.0, atol=1e-9)
    np.testing.assert_allclose(tr.inventory[-1, 0, US], 200 - 3 * 9, atol=1e-9)
    assert tr.shortfall.max() == 0.0


def test_lifting_a_suspension_reinstates_its_target() -> None:
    """Licence from month 3, suspended months 4-9, the suspension lifted from month 6."""
    events = [
        event(EventKind.LICENCE, 3, controlled_share=1.0),
        event(EventKind.SUSPEND, 4, targets=("licence-3",), until=dt.date(2024, 10, 1)),
        event(EventKind.LIFT, 6, targets=("suspend-4",)),
    ]
    pol = compile_policy(tuple(events), "2024-01", T, REGIONS, 1, None, defence_share=0.03)
    active = pol.licences[0].active
    assert active.tolist() == [False] * 3 + [True] + [False] * 2 + [True] * 6


def test_policy_errors_name_the_event() -> None:
    bad_target = [event(EventKind.LIFT, 3, targets=("nope",))]
    with pytest.raises(DataError, match="unknown event"):
        compile_policy(tuple(bad_target), "2024-01", T, REGIONS, 1, None, defence_share=0.03)
    with pytest.raises(ValidationError, match="only CHN"):  # refused where the event is read
        event(EventKind.BAN, 3, exporter="USA")


def test_stage_controls_equal_the_dense_shares_on_their_edges() -> None:
    net = toy_network()
    params = toy_params(3)
    events = (event(EventKind.LICENCE, 2, controlled_share=0.4), event(EventKind.BAN, 5, **US_BAN))
    pol = compile_policy(events, "2024-01", T, REGIONS, 3, None, defence_share=0.03)
    ctl = pol.stage_controls(3, params, net)
    assert (ctl.src.tolist(), ctl.dst.tolist()) == ([0], [1])
    for t in range(T):
        k = ctl.key[t]
        assert ctl.ban[k] == pytest.approx(pol.ban_share(t, 3)[0, 1])
        np.testing.assert_allclose(ctl.licence[k][:, 0], pol.licence_share(t, 3, params, net)[:, 0, 1])


def test_engine_rejects_parameters_that_break_the_invariants() -> None:
    net = toy_network()
    pol = compile_policy((), "2024-01", T, REGIONS, 1, None, defence_share=0.03)
    with pytest.raises(DataError, match="substitution_cap"):
        engine_run(net, toy_params(substitution_cap=1.5), pol, T)
    with pytest.raises(DataError, match="licence_lag_months"):
        engine_run(net, toy_params(licence_lag_months=0.5), pol, T)
    with pytest.raises(DataError, match="shorter horizon"):
        engine_run(net, toy_params(), pol, T + 1)


def test_balance_check_catches_a_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deliberately leaky accounting (production overstated by 1%) must be caught."""
    original = balance.Balance.stage

    def leaky(self: balance.Balance, prod: np.ndarray, *a: Any, **kw: Any) -> None:
        original(self, prod * 1.01, *a, **kw)

    monkeypatch.setattr(balance.Balance, "stage", leaky)
    with pytest.raises(MassBalanceError):
        run_toy([], toy_params())


def test_block_size_does_not_change_results() -> None:
    net = toy_network()
    params = toy_params(5, recycling_share=0.05)
    pol = compile_policy(
        (event(EventKind.LICENCE, 2, controlled_share=0.7),),
        "2024-01",
        T,
        REGIONS,
        5,
        None,
        defence_share=0.03,
    )
    a = engine_run(net, params, pol, T)[0]
    b = engine_run(net, params, pol, T, block_paths=2)[0]
    np.testing.assert_allclose(a.cumulative_shortfall_t, b.cumulative_shortfall_t, rtol=1e-12)


def test_price_floor_cost_by_hand() -> None:
    """Truce: the DoD-MP floor ($110/kg from 2025-07) pays (110 - 55 x price ratio)^+ x 1,294 t/yr.

    With the ex-China price ratio at 1 the top-up is $55/kg on 107,833 kg a month, about $5.9m a
    month; the simulated cost must lie between 0 and that bound times the months in force
    (2025-07..2035-12 = 126 months), and vanish without the floor event.
    """
    res = simulate("truce-holds", paths=1, seed=0)
    cost = res.summary.query("metric == 'price_floor_cost_usd'")["p50"].iloc[0]
    bound = 110.0 * 1294_000 / 12 * 126
    assert 0 < cost < bound
    base = simulate("baseline", paths=1, seed=0)
    assert "price_floor_cost_usd" not in set(base.summary["metric"])


def test_sector_split_adds_up_and_protects_defence() -> None:
    """Per path and region the sectors' shortfalls add up to the region's; defence is served first."""
    res = simulate("controls-reimposed-2026-11", paths=50, seed=3)
    by = res.metrics.by_sector
    assert by is not None
    np.testing.assert_allclose(
        by["cumulative_shortfall_t"].sum(axis=2), res.metrics.cumulative_shortfall_t, rtol=1e-9, atol=1e-6
    )
    sectors = [p.split(":", 1)[1] for p in res.summary["product"].unique() if ":" in p]
    d = sectors.index("defence")
    others = [i for i in range(len(sectors)) if i != d]
    # where defence is short at all, every other sector is short by a larger share
    peak = by["peak_shortfall_pct"]
    assert (peak[:, :, d][:, :, None] <= peak[:, :, others] + 1e-9).all()
    assert (peak[:, :, others] > 1.0).any()  # the scenario does cut supply
