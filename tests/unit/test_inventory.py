"""Users' inventory by firm class and public stockpiles with rules (engine/inventory.py).

Toy chain of ``test_engine_toy``: China makes 100 t/month of magnets and ships them all to the
USA (US demand 100 t/month, cover 2 months = 200 t, restocking over 4 months, everything else
frozen). Two firm classes take half of US demand each: a thin one with 0.5 months of its own
demand (25 t) and a thick one with 3.5 months (175 t); their mean is the pooled 2 months.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.errors import DataError
from critmin.simulate.engine import EngineParams, MassBalanceError
from critmin.simulate.engine.inventory import ClassStock, Stockpiles, check, class_profile
from critmin.simulate.inputs.events import parse_event
from critmin.simulate.inputs.policy import compile_policy
from critmin.simulate.inputs.scenario import EventKind, load_scenario
from tests.unit import helpers
from tests.unit.helpers import engine_run
from tests.unit.test_engine_toy import REGIONS, US, US_BAN, T, event, run_toy, toy_params


def two_classes(params: EngineParams, thin: float = 0.5, thick: float = 3.5) -> EngineParams:
    n = params.cover_months.shape[0]
    return dataclasses.replace(
        params,
        inventory_class_share=np.tile([0.5, 0.5], (n, 1)),
        inventory_class_cover=np.tile([thin, thick], (n, 1)),
    )


ONE_MONTH_CUT = [event(EventKind.BAN, 3, **US_BAN), event(EventKind.LIFT, 4, targets=("ban-3",))]


def test_a_one_month_cut_stops_the_thin_class_only() -> None:
    """Ban in month 3 only. Pooled, 200 t cover one month of nothing: no shortfall.

    Two classes: month 3 the thin class has 25 t for 50 t of demand: 25 t short (25% of US
    demand) while the region still holds 125 t (1.25 months). Month 4: China ships 100 t
    again; orders: thin 50 + 25 / (4 x 0.25) = 75, thick 50 + (175 - 125) / (4 x 1.75) =
    57.142857; receipts split 75 : 57.142857, so the thin class gets 56.7568 t, uses 50 and
    keeps 6.7568; the thick one gets 43.2432 and keeps 118.2432. No shortfall after month 3.
    """
    m_pooled, tr_pooled = run_toy(ONE_MONTH_CUT, toy_params())
    assert tr_pooled.shortfall[:, 0, US].max() == pytest.approx(0.0, abs=1e-9)
    metrics, tr = run_toy(ONE_MONTH_CUT, two_classes(toy_params()))
    np.testing.assert_allclose(tr.shortfall[:, 0, US], [0, 0, 0, 25.0] + [0.0] * 8, atol=1e-9)
    np.testing.assert_allclose(tr.inventory[3:5, 0, US], [125.0, 125.0], atol=1e-9)
    assert metrics.peak_shortfall_pct[0, US] == pytest.approx(25.0)
    assert metrics.cumulative_shortfall_t[0, US] == pytest.approx(25.0)
    assert m_pooled.cumulative_shortfall_t[0, US] == pytest.approx(0.0, abs=1e-9)


def test_receipts_split_by_class_orders_and_losses_by_stock() -> None:
    w, rel = class_profile(np.array([[0.5, 0.5]]), np.array([[0.5, 3.5]]), 1)
    np.testing.assert_allclose(rel, [[0.25, 1.75]])
    inv = ClassStock(w, rel, np.array([2.0]), np.array([100.0]))
    np.testing.assert_allclose(inv.s[:, 0, 0], [25.0, 175.0])
    inv.s = np.array([[[0.0]], [[125.0]]])
    orders = inv.set_orders(np.array([[100.0]]), np.array([[4.0]]))
    np.testing.assert_allclose(orders[:, 0, 0], [75.0, 50.0 + 50.0 / 7.0])
    inv.receive(np.array([[100.0]]))
    np.testing.assert_allclose(inv.s[:, 0, 0], [56.756756756756, 168.243243243243], rtol=1e-12)
    inv.receive(np.array([[-45.0]]))  # a loss (trade out): in proportion to stock, 45 of 225
    np.testing.assert_allclose(inv.s[:, 0, 0], [56.756756756756 * 0.8, 168.243243243243 * 0.8], rtol=1e-12)
    inv.sync(np.array([[180.0 + 20.0]]))  # the aggregate moved by +20: split by orders
    assert inv.total()[0, 0] == pytest.approx(200.0)


def test_stockpile_trigger_on_shortage_share_releases_at_the_rate_limit() -> None:
    """The licence regime of the toy tests (25% short from month 10) and a 100 t US
    stockpile released at up to 20 t a month once unmet demand reaches a share of demand.

    Trigger 0.5: never met (25% < 50%), nothing released. Trigger 0.2: met in month 10,
    release min(20, gap 25) = 20 in months 10 and 11: shortfall 5 t, stockpile 80 then 60.
    """

    def sp(when: float) -> object:
        return parse_event(
            {
                "id": "sp",
                "date": dt.date(2024, 1, 1),
                "kind": "stockpile",
                "region": "USA",
                "amount_t": 100.0,
                "release_when_short": when,
                "release_t_per_month": 20.0,
                "release_share_per_month": 1.0,
            }
        )

    lic = event(EventKind.LICENCE, 3, controlled_share=0.5)
    _, tr = run_toy([lic, sp(0.5)], toy_params())  # type: ignore[list-item]
    np.testing.assert_allclose(tr.shortfall[10:, 0, US], [25.0, 25.0], atol=1e-9)
    np.testing.assert_allclose(tr.stockpile[:, 0, US], [100.0] * T, atol=1e-9)
    _, tr = run_toy([lic, sp(0.2)], toy_params())  # type: ignore[list-item]
    np.testing.assert_allclose(tr.shortfall[:, 0, US], [0.0] * 10 + [5.0, 5.0], atol=1e-9)
    np.testing.assert_allclose(tr.stockpile[9:, 0, US], [100.0, 80.0, 60.0], atol=1e-9)


def test_price_trigger_never_met_releases_nothing_and_always_met_releases_the_share() -> None:
    """The US ban of the toy tests with a 100 t stockpile, release share 0.5 a month; supply
    elasticity 5 keeps the price ratio below 10^(1/5) = 1.58, so a 2x trigger is never met."""
    base = {"id": "sp", "date": dt.date(2024, 1, 1), "kind": "stockpile", "region": "USA", "amount_t": 100.0}
    ban = event(EventKind.BAN, 3, **US_BAN)
    never = parse_event({**base, "release_when_price": 2.0, "release_share_per_month": 0.5})
    _, tr = run_toy([ban, never], toy_params(supply_elasticity=5.0))
    assert tr.price_x.max() < 2.0
    np.testing.assert_allclose(tr.stockpile[:, 0, US], [100.0] * T, atol=1e-9)
    always = parse_event({**base, "release_when_price": 0.0, "release_share_per_month": 0.5})
    _, tr = run_toy([ban, always], toy_params(supply_elasticity=5.0))
    # the inventory runs out in month 4; from month 5 half the stockpile a month
    np.testing.assert_allclose(tr.shortfall[5:8, 0, US], [50.0, 75.0, 87.5], atol=1e-9)


@pytest.mark.parametrize(("allies", "jpn_short"), [((), 50.0), (("JPN",), 20.0)])
def test_release_to_allies_only_when_the_event_names_them(allies: tuple[str, ...], jpn_short: float) -> None:
    """A ban on magnets to Japan from month 3: Japan's 100 t last two months, from month 5
    Japan is 50 t short. A US stockpile of 100 t (trigger 10% of the served regions' demand,
    30 t/month) serves Japan only if ``release_to`` names it: then 20 t short."""
    regions = ("CHN", "USA", "JPN")
    events = (
        parse_event({"id": "b", "date": "2024-04-01", "kind": "ban", "destinations": ["JPN"]}),
        parse_event(
            {
                "id": "sp",
                "date": "2024-01-01",
                "kind": "stockpile",
                "region": "USA",
                "amount_t": 100.0,
                "release_when_short": 0.1,
                "release_t_per_month": 30.0,
                "release_share_per_month": 1.0,
                "release_to": list(allies),
            }
        ),
    )
    pol = compile_policy(events, "2024-01", 7, regions, 1, None, defence_share=0.03)
    params = helpers.frozen_params(1, 3)
    _, _, tr = engine_run(helpers.three_regions(), params, pol, 7, keep_trace=True, check_balance=True)
    assert tr is not None
    assert tr.shortfall[5, 0, 2] == pytest.approx(jpn_short)
    assert tr.shortfall[5, 0, 1] == pytest.approx(0.0, abs=1e-9)
    assert tr.stockpile[5, 0, 1] == pytest.approx(100.0 - (50.0 - jpn_short))


def test_replenishment_buys_back_surplus_up_to_the_size_when_not_triggered() -> None:
    rules = compile_policy(
        (
            parse_event(
                {
                    "id": "sp",
                    "date": "2024-01-01",
                    "kind": "stockpile",
                    "region": "USA",
                    "amount_t": 100.0,
                    "replenish_t_per_month": 15.0,
                }
            ),
        ),
        "2024-01",
        3,
        REGIONS,
        1,
        None,
        defence_share=0.03,
    ).stockpile_rules
    sps = Stockpiles(rules, 2, np.array([0.1]), np.array([False, True]))
    sps.note_size(np.array([[0.0, 100.0]]))
    level = np.array([[0.0, 60.0]])
    took = sps.replenish(level, np.array([[0.0, 40.0]]), np.zeros((1, 2), dtype=bool))
    np.testing.assert_allclose(took, [[0.0, 15.0]])  # the rate limit
    took = sps.replenish(level, np.array([[0.0, 5.0]]), np.zeros((1, 2), dtype=bool))
    np.testing.assert_allclose(took, [[0.0, 5.0]])  # only the surplus
    took = sps.replenish(np.array([[0.0, 95.0]]), np.array([[0.0, 40.0]]), np.zeros((1, 2), dtype=bool))
    np.testing.assert_allclose(took, [[0.0, 5.0]])  # up to the size
    took = sps.replenish(level, np.array([[0.0, 40.0]]), np.array([[False, True]]))
    np.testing.assert_allclose(took, [[0.0, 0.0]])  # not while releasing


def test_later_stockpile_events_override_only_the_rules_they_give() -> None:
    ev = (
        parse_event(
            {
                "id": "a",
                "date": "2024-01-01",
                "kind": "stockpile",
                "region": "USA",
                "amount_t": 1.0,
                "release_when_short": 0.3,
                "release_t_per_month": 5.0,
            }
        ),
        parse_event(
            {
                "id": "b",
                "date": "2024-02-01",
                "kind": "stockpile",
                "region": "USA",
                "amount_t": 2.0,
                "release_t_per_month": 9.0,
            }
        ),
    )
    r = compile_policy(ev, "2024-01", 3, REGIONS, 1, None, defence_share=0.03).stockpile_rules
    assert r is not None
    assert r.short_at[US] == 0.3
    assert r.t_cap[US] == 9.0
    assert np.isinf(r.price_at[US])
    assert r.short_at[0] == 0.0  # China: no stockpile, default rule
    assert not r.ever[0]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("release_when_short", 1.5, "release_when_short"),
        ("release_share_per_month", -0.1, "release_share_per_month"),
        ("release_to", "[XXX]", "release_to"),
        ("replenish_t_per_month", "yes", "replenish_t_per_month"),
    ],
)
def test_bad_stockpile_fields_are_data_errors_naming_the_field(
    tmp_path: Path, field: str, value: object, message: str
) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(
        "name: s\nstart: 2026-01\nend: 2027-12\nevents:\n"
        f"  - {{id: sp, date: 2026-03-01, kind: stockpile, region: USA, amount_t: 10, {field}: {value}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=message):
        load_scenario(str(p))


def test_class_profile_and_check_refuse_bad_input() -> None:
    with pytest.raises(DataError, match=r"inventory\.class_share"):
        class_profile(np.array([[0.5, 0.5]]), np.array([[1.0]]), 1)
    with pytest.raises(DataError, match="non-negative"):
        class_profile(np.array([[-0.5, 0.5]]), np.array([[1.0, 2.0]]), 1)
    w, rel = class_profile(np.array([[1.0, 3.0]]), np.array([[1.0, 2.0]]), 1)
    np.testing.assert_allclose(w, [[0.25, 0.75]])
    assert float((w * rel).sum()) == pytest.approx(1.0)
    inv = ClassStock(w, rel, np.array([2.0]), np.array([10.0]))
    z = np.zeros((1, 1))
    assert check(inv, inv.total(), z, z) == pytest.approx(0.0)
    with pytest.raises(MassBalanceError):
        check(inv, inv.total() + 1.0, z, z)
    with pytest.raises(MassBalanceError):
        check(inv, inv.total(), np.ones((1, 1)), z)


def test_bundled_scenarios_draw_four_classes_and_keep_their_balance() -> None:
    from critmin.simulate import simulate

    r = simulate("backtest-2025-04", paths=8, seed=1, check_balance=True, keep_trace=True)
    trace = r.trace
    assert trace is not None
    # ex-China users run short in Apr-Jun 2025 while their average cover is still weeks of demand
    ex = np.array([reg != "CHN" for reg in r.scenario.regions])
    short = trace.shortfall[3:6][:, :, ex].sum(axis=2)
    assert (short.max(axis=0) > 0).all()
    cover = trace.inventory[3:6][:, :, ex].sum(axis=2) / trace.demand[3:6][:, :, ex].sum(axis=2)
    assert (cover.min(axis=0) > 0.4).all()


@settings(max_examples=25, deadline=None)
@given(
    shares=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5),
    covers=st.lists(st.floats(0.0, 8.0), min_size=5, max_size=5),
    ban_month=st.integers(0, 8),
    lift_after=st.integers(1, 6),
    stockpile=st.floats(0.0, 300.0),
    trigger=st.floats(0.0, 1.0),
    recycling=st.floats(0.0, 0.3),
)
def test_classes_stay_non_negative_and_sum_to_the_aggregate(
    shares: list[float],
    covers: list[float],
    ban_month: int,
    lift_after: int,
    stockpile: float,
    trigger: float,
    recycling: float,
) -> None:
    """Random class profiles, a ban of random length and a ruled stockpile: the balance check
    (which includes :func:`check`: classes >= 0, sum = aggregate, release out = in) passes
    every month, and shortfalls are never negative nor above demand."""
    if sum(shares) <= 0:
        shares = [1.0, *shares[1:]]
    n = len(shares)
    params = dataclasses.replace(
        toy_params(recycling_share=recycling, stockpile_release_per_month=0.3),
        inventory_class_share=np.array([shares]),
        inventory_class_cover=np.array([covers[:n]]),
    )
    events = [
        event(EventKind.BAN, ban_month, **US_BAN),
        event(EventKind.LIFT, min(ban_month + lift_after, 11), targets=(f"ban-{ban_month}",)),
        parse_event(
            {
                "id": "sp",
                "date": "2024-01-01",
                "kind": "stockpile",
                "region": "USA",
                "amount_t": stockpile,
                "release_when_short": trigger,
                "replenish_t_per_month": 5.0,
            }
        ),
    ]
    _, tr = run_toy(events, params)  # check_balance=True inside
    assert (tr.shortfall >= 0).all()
    assert (tr.shortfall <= tr.demand + 1e-9).all()
    assert (tr.inventory >= 0).all()
    assert (tr.stockpile >= 0).all()


def test_a_stricter_cut_never_lowers_the_thin_class_shortfall_below_the_pooled_one() -> None:
    """Classes only redistribute: with equal covers they reproduce the pooled model exactly."""
    same = two_classes(toy_params(), thin=2.0, thick=2.0)
    _, tr_classes = run_toy([event(EventKind.BAN, 3, **US_BAN)], same)
    _, tr_pooled = run_toy([event(EventKind.BAN, 3, **US_BAN)], toy_params())
    np.testing.assert_allclose(tr_classes.shortfall, tr_pooled.shortfall, atol=1e-9)
    np.testing.assert_allclose(tr_classes.inventory, tr_pooled.inventory, atol=1e-9)
