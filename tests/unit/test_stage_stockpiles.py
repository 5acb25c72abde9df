"""Stockpiles of an intermediate product and stockpiles bought on the market (issue 13).

Toy chain: regions CHN and USA, four stages of 100 t/month each (conversion factors 1).
China mines and separates; it ships all its separated oxide to the USA, where metal makers and
magnet makers turn it into 100 t/month of magnets for US users (demand 100 t/month, 2 months
of cover = 200 t; each intermediate stage holds one month of its input, 100 t). Headroom,
growth, elasticities and substitution are 0, so quantities can be worked out by hand.

A ban on China's separation-stage exports to the USA from month 3 (2024-04): the US oxide
stock (100 t) feeds metal in month 3; metal stops in month 4; the metal stock (100 t) feeds
magnets in month 4; users' 200 t last months 5 and 6; months 7-11 are 100 t short.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from critmin.errors import DataError
from critmin.simulate.engine import PathMetrics, Trace
from critmin.simulate.inputs.events import parse_event
from critmin.simulate.inputs.policy import compile_policy
from tests.unit import helpers
from tests.unit.helpers import engine_run, frozen_params
from tests.unit.test_engine_toy import run_toy, toy_params

REGIONS = ("CHN", "USA")
CHN, US = 0, 1
T = 12


def oxide_network() -> Any:
    share = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    ship = np.stack([np.eye(2)] * 4)
    ship[1, CHN] = [0.0, 1.0]  # China's oxide goes to US metal makers
    volume = np.full(4, 100.0)
    demand0 = (share[3] * volume[3]) @ ship[3]
    origin = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    return helpers.toy_network(share, ship, volume, demand0, origin)


def ev(kind: str, month: int, ident: str, **kw: Any) -> Any:
    return parse_event({"id": ident, "date": dt.date(2024, 1 + month, 1), "kind": kind, **kw})


OXIDE_BAN = ev("ban", 3, "ban", stages=["separation"], destinations=["USA"])


def run(events: list[Any]) -> tuple[PathMetrics, Trace]:
    pol = compile_policy(tuple(events), "2024-01", T, REGIONS, 1, None, defence_share=0.03)
    m, _, tr = engine_run(oxide_network(), frozen_params(1, 2), pol, T, keep_trace=True, check_balance=True)
    assert tr is not None
    assert np.nanmax(tr.balance_residual) < 1e-9  # every node and pile balances
    return m, tr


def oxide_pile(amount: float, **kw: Any) -> Any:
    return ev(
        "stockpile", 0, "oxide", region="USA", amount_t=amount, stage="separation",
        release_share_per_month=1.0, **kw,
    )  # fmt: skip


def test_without_a_stockpile_the_oxide_ban_starves_users_from_month_7() -> None:
    m, tr = run([OXIDE_BAN])
    np.testing.assert_allclose(tr.shortfall[:, 0, US], [0.0] * 7 + [100.0] * 5, atol=1e-9)
    assert tr.stage_stockpile is None  # no intermediate stockpile: nothing traced
    assert m.cumulative_shortfall_t[0, US] == pytest.approx(500.0)


def test_an_oxide_stockpile_feeds_the_metal_makers_when_they_lack_input() -> None:
    """300 t of oxide held in the USA: untouched while the metal stage has its input (months
    0-3); released 100 t in months 4, 5 and 6, when the metal makers hold nothing; the chain
    then runs 3 months longer: short from month 10 instead of 7."""
    _, tr = run([OXIDE_BAN, oxide_pile(300.0)])
    assert tr.stage_stockpile is not None
    np.testing.assert_allclose(
        tr.stage_stockpile[:, 0, 1, US], [300.0] * 4 + [200.0, 100.0] + [0.0] * 6, atol=1e-9
    )
    np.testing.assert_allclose(tr.stage_stockpile[:, 0, [0, 2, 3], :], 0.0)
    np.testing.assert_allclose(tr.shortfall[:, 0, US], [0.0] * 10 + [100.0] * 2, atol=1e-9)
    np.testing.assert_allclose(tr.stockpile[:, 0, US], 0.0)  # the users' stockpile is another one


def test_a_release_trigger_share_is_taken_of_the_input_wanted() -> None:
    """Trigger at 50% of what the metal stage wants (100 t): month 4's gap of 100 t meets it;
    at most 40 t a month is released. A stockpile released at most 0 t a month stays full,
    and users are short from month 7 as without it."""
    pile = oxide_pile(300.0, release_when_short=0.5, release_t_per_month=40.0)
    _, tr = run([OXIDE_BAN, pile])
    assert tr.stage_stockpile is not None
    np.testing.assert_allclose(tr.stage_stockpile[3:8, 0, 1, US], [300.0, 260.0, 220.0, 180.0, 140.0])
    never = oxide_pile(300.0, release_t_per_month=0.0)  # released at most 0 t a month
    _, tr = run([OXIDE_BAN, never])
    assert tr.stage_stockpile is not None
    np.testing.assert_allclose(tr.stage_stockpile[:, 0, 1, US], 300.0)
    np.testing.assert_allclose(tr.shortfall[:, 0, US], [0.0] * 7 + [100.0] * 5, atol=1e-9)


def test_market_purchases_of_oxide_come_out_of_the_us_stock_and_carry_over() -> None:
    """60 t over 3 months from the market: 20 t a month out of the 100 t the metal makers hold
    after their use (months 0-2); the oxide is only moved, so the ban starves users in month
    7 as without a stockpile, and the 60 t go back in month 3 (the metal stock is 40 t short)."""
    market = oxide_pile(60.0, fill_months=3, fill_from="market")
    _, tr = run([OXIDE_BAN, market])
    assert tr.stage_stockpile is not None
    np.testing.assert_allclose(tr.stage_stockpile[:5, 0, 1, US], [20.0, 40.0, 60.0, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(tr.shortfall[:, 0, US], [0.0] * 7 + [100.0] * 5, atol=1e-9)
    outside = oxide_pile(60.0, fill_months=3)  # the same amount from outside adds 60 t of oxide
    _, tr2 = run([OXIDE_BAN, outside])
    assert tr2.stage_stockpile is not None
    np.testing.assert_allclose(tr2.stage_stockpile[:5, 0, 1, US], [20.0, 40.0, 60.0, 60.0, 0.0], atol=1e-9)
    assert tr2.shortfall[7, 0, US] == pytest.approx(40.0)  # month 7: 60 t of metal made in month 4


def test_a_purchase_larger_than_the_stock_is_carried_to_later_months() -> None:
    """250 t due in month 0: the US metal makers draw their 100 t first and 100 t are left to
    buy; from month 1 they use all they receive, so nothing more can be bought: 150 t stay
    pending and the pile holds 100 t, without any shortfall."""
    _, tr = run([oxide_pile(250.0, fill_from="market")])
    assert tr.stage_stockpile is not None
    np.testing.assert_allclose(tr.stage_stockpile[:, 0, 1, US], [100.0] * T, atol=1e-9)
    np.testing.assert_allclose(tr.shortfall[:, 0, US], 0.0, atol=1e-9)


def test_users_stockpile_bought_on_the_market_draws_down_their_inventory() -> None:
    """The magnet toy of test_engine_toy (China ships 100 t/month, capped): 100 t bought over two
    months from the users' 200 t after their use: inventory 150, then 100 (China cannot ship
    more to restock); the US ban of month 3 then leaves users short from month 4, and the
    stockpile (release share 1) covers month 4 only, against month 5 from outside."""
    ban = ev("ban", 3, "ban-3", stages=["magnet"], destinations=["USA"])

    def pile(fill: str) -> Any:
        return ev(
            "stockpile", 0, "sp", region="USA", amount_t=100.0, fill_months=2, fill_from=fill,
            release_share_per_month=1.0,
        )  # fmt: skip

    _, tr = run_toy([pile("market")], toy_params())
    np.testing.assert_allclose(tr.stockpile[:3, 0, US], [50.0, 100.0, 100.0], atol=1e-9)
    np.testing.assert_allclose(tr.inventory[:3, 0, US], [150.0, 100.0, 100.0], atol=1e-9)
    _, tr = run_toy([ban, pile("market")], toy_params())
    np.testing.assert_allclose(tr.shortfall[:, 0, US], [0.0] * 5 + [100.0] * 7, atol=1e-9)
    _, tr = run_toy([ban, pile("outside")], toy_params())
    np.testing.assert_allclose(tr.inventory[:3, 0, US], [200.0, 200.0, 200.0], atol=1e-9)
    np.testing.assert_allclose(tr.shortfall[:, 0, US], [0.0] * 6 + [100.0] * 6, atol=1e-9)


def test_stockpile_stage_errors_name_the_event() -> None:
    with pytest.raises(DataError, match="holds 'metal_alloy' but the chain has stages"):
        compile_policy(
            (ev("stockpile", 0, "x", region="USA", amount_t=1.0, stage="metal_alloy"),),
            "2024-01", T, REGIONS, 1, None, defence_share=0.03, stages=("separation",),
        )  # fmt: skip
    with pytest.raises(DataError, match="replenishment is modelled for stockpiles of the users'"):
        compile_policy(
            (oxide_pile(10.0, replenish_t_per_month=1.0),), "2024-01", T, REGIONS, 1, None,
            defence_share=0.03,
        )  # fmt: skip


def test_fill_parts_before_the_start_are_there_at_the_start_and_after_the_end_dropped() -> None:
    e = parse_event(
        {"id": "s", "date": "2023-11-01", "kind": "stockpile", "region": "USA", "amount_t": 120.0,
         "fill_months": 4, "fill_from": "market"}
    )  # fmt: skip
    pol = compile_policy((e,), "2024-01", 1, REGIONS, 1, None, defence_share=0.03)
    # Nov, Dec (before the start): 60 t from outside at the start; Jan: 30 t bought; Feb: past the end
    assert pol.stockpile is not None
    assert pol.stockpile_buy is not None
    np.testing.assert_allclose(pol.stockpile[0], [0.0, 60.0])
    np.testing.assert_allclose(pol.stockpile_buy[0], [0.0, 30.0])


def test_market_take_buys_at_home_first_then_pro_rata_outside_china() -> None:
    """USA (region 1) wants 50 t and holds 20 t; Japan holds 60 t, the EU 20 t, China 500 t:
    20 t at home, then 30 t from Japan and the EU in proportion to 60 : 20 (22.5 and 7.5).
    None comes from China. A blocked owner (releasing this month) buys nothing; wanting more than
    is held outside China buys all of it."""
    from critmin.simulate.engine.inventory import market_take

    have = np.array([[500.0, 20.0, 60.0, 20.0]])  # CHN, USA, JPN, EU27
    pending = np.array([[0.0, 50.0, 0.0, 0.0]])
    ex = np.array([False, True, True, True])
    taken, bought = market_take(pending, have, ex, np.zeros((1, 4), dtype=bool))
    np.testing.assert_allclose(taken, [[0.0, 20.0, 22.5, 7.5]])
    np.testing.assert_allclose(bought, [[0.0, 50.0, 0.0, 0.0]])
    taken, bought = market_take(pending, have, ex, np.array([[False, True, False, False]]))
    assert not taken.any()
    assert not bought.any()
    taken, bought = market_take(np.array([[0.0, 500.0, 0.0, 0.0]]), have, ex, np.zeros((1, 4), dtype=bool))
    np.testing.assert_allclose(bought[0, 1], 100.0)  # all 100 t held outside China
    np.testing.assert_allclose(taken, [[0.0, 20.0, 60.0, 20.0]])
