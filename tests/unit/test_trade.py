"""Trade rules of the engine (critmin.simulate.engine.trade), by hand and as properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from critmin.simulate.engine.trade import allied_rebalance, serve_offtakes
from critmin.simulate.inputs.policy import Offtake

EXF = np.array([0.0, 1.0, 1.0, 1.0])  # region 0 is China


def offtake(seller: int, buyer: int, t_month: float, active: bool = True) -> Offtake:
    return Offtake("o", 0, seller, buyer, t_month, np.array([active]))


def test_offtakes_in_priority_order_capped_by_output() -> None:
    """Seller 1 makes 50 t: the first contract takes 30 t to region 3, the second wants 40 t
    to region 2 but only 20 t is left; an inactive contract takes nothing."""
    prod = np.array([[100.0, 50.0, 0.0, 0.0]])
    left, out, got = serve_offtakes(
        prod, [offtake(1, 3, 30.0), offtake(1, 2, 40.0), offtake(1, 2, 99.0, active=False)], 0
    )
    np.testing.assert_allclose(left, [[100.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(out, [[0.0, 50.0, 0.0, 0.0]])
    np.testing.assert_allclose(got, [[0.0, 0.0, 20.0, 30.0]])


def test_allied_rebalance_moves_surplus_to_deficits_pro_rata() -> None:
    """Region 1 holds 30 t over its need, regions 2 and 3 lack 10 t and 30 t: with share 0.5,
    15 t move, 3.75 t and 11.25 t; China's stock is never touched."""
    stock = np.array([[500.0, 40.0, 0.0, 0.0]])
    required = np.array([[0.0, 10.0, 10.0, 30.0]])
    delta = allied_rebalance(stock, required, EXF, np.array([[0.5]]))
    np.testing.assert_allclose(delta, [[0.0, -15.0, 3.75, 11.25]])
    np.testing.assert_allclose(stock, [[500.0, 25.0, 3.75, 11.25]])


@settings(max_examples=60, deadline=None)
@given(
    stock=hnp.arrays(np.float64, (3, 4), elements=st.floats(0.0, 1e6)),
    required=hnp.arrays(np.float64, (3, 4), elements=st.floats(0.0, 1e6)),
    share=st.floats(0.0, 1.0),
)
def test_allied_rebalance_conserves_mass_and_keeps_stocks_non_negative(
    stock: np.ndarray, required: np.ndarray, share: float
) -> None:
    before = stock.copy()
    delta = allied_rebalance(stock, required, EXF, np.full((3, 1), share))
    np.testing.assert_allclose(delta.sum(axis=1), 0.0, atol=1e-6)
    assert (stock >= -1e-9).all()
    np.testing.assert_array_equal(stock[:, 0], before[:, 0])
    # nobody ends further from its need than it started
    assert (np.abs(stock - required) <= np.abs(before - required) + 1e-6).all()


@settings(max_examples=60, deadline=None)
@given(
    prod=hnp.arrays(np.float64, (2, 4), elements=st.floats(0.0, 1e5)),
    volumes=st.lists(st.floats(0.0, 1e5), min_size=1, max_size=4),
)
def test_offtakes_conserve_output(prod: np.ndarray, volumes: list[float]) -> None:
    offs = [offtake(1 + i % 3, 1 + (i + 1) % 3, v) for i, v in enumerate(volumes)]
    left, out, got = serve_offtakes(prod, offs, 0)
    np.testing.assert_allclose(left + out, prod)
    np.testing.assert_allclose(out.sum(axis=1), got.sum(axis=1))
    assert (left >= 0).all()


def test_offtake_of_nothing_changes_nothing() -> None:
    prod = np.array([[1.0, 2.0, 3.0, 4.0]])
    left, out, got = serve_offtakes(prod, [], 0)
    assert left is not prod
    np.testing.assert_array_equal(left, prod)
    assert not out.any()
    assert not got.any()


# ----------------------------------------------------------- surplus trade with preferences
from critmin.simulate.engine.trade import (  # noqa: E402
    export_pull,
    held_origin,
    held_share_china_origin,
    preference_weights,
    surplus_trade,
)

#: seller 1 prefers buyer 2 (weight 2) to buyer 3 (weight 1)
PREF = np.array([[0.0, 1.0, 1.0, 1.0], [1.0, 0.0, 2.0, 1.0], [1.0, 2.0, 0.0, 1.0], [1.0, 1.0, 1.0, 0.0]])


def test_surplus_trade_follows_the_preference_weights() -> None:
    """Region 1 holds 10 t over its need; regions 2 and 3 lack 6 t each; share 1.

    T = min(10, 12) = 10 t offered, split 2 x 6 : 1 x 6, i.e. 6.67 t and 3.33 t; region 2
    takes only its 6 t, so region 1 sends 6 + 3.33 = 9.33 t and keeps 0.67 t."""
    stock = np.array([[500.0, 20.0, 0.0, 0.0]])
    required = np.array([[0.0, 10.0, 6.0, 6.0]])
    delta = surplus_trade(stock, required, EXF, np.array([[1.0]]), PREF)
    np.testing.assert_allclose(delta, [[0.0, -28.0 / 3.0, 6.0, 10.0 / 3.0]])


def test_extraterritorial_rule_holds_back_the_chinese_origin_part() -> None:
    """The same surplus, 60% of it Chinese-origin under an extraterritorial rule: only 4 t
    move, 2 x 6 : 1 x 6 = 2.67 t and 1.33 t."""
    stock = np.array([[500.0, 20.0, 0.0, 0.0]])
    required = np.array([[0.0, 10.0, 6.0, 6.0]])
    movable = np.array([1.0, 0.4, 1.0, 1.0])
    delta = surplus_trade(stock, required, EXF, np.array([[1.0]]), PREF, movable)
    np.testing.assert_allclose(delta, [[0.0, -4.0, 8.0 / 3.0, 4.0 / 3.0]])


@settings(max_examples=60, deadline=None)
@given(
    stock=hnp.arrays(np.float64, (3, 4), elements=st.floats(0.0, 1e6)),
    required=hnp.arrays(np.float64, (3, 4), elements=st.floats(0.0, 1e6)),
    # weights are 0 or of order one (preference_weights gives 0.05-5): no subnormal weights
    pref=hnp.arrays(np.float64, (4, 4), elements=st.one_of(st.just(0.0), st.floats(1e-3, 10.0))),
    movable=hnp.arrays(np.float64, (4,), elements=st.floats(0.0, 1.0)),
    share=st.floats(0.0, 1.0),
)
def test_surplus_trade_conserves_mass_and_never_overfills(
    stock: np.ndarray, required: np.ndarray, pref: np.ndarray, movable: np.ndarray, share: float
) -> None:
    delta = surplus_trade(stock, required, EXF, np.full((3, 1), share), pref, movable)
    np.testing.assert_allclose(delta.sum(axis=1), 0.0, atol=1e-6)
    after = stock + delta
    assert (after >= -1e-6).all()
    assert (delta[:, 0] == 0).all()  # China never trades
    surplus = np.maximum(stock - required, 0.0) * movable
    deficit = np.maximum(required - stock, 0.0)
    assert (-delta <= surplus + 1e-6).all()  # a seller sells at most its movable surplus
    assert (delta <= deficit + 1e-6).all()  # a buyer gets at most its deficit


def test_preference_weights_follow_distance() -> None:
    w = preference_weights(("CHN", "USA", "EU27", "JPN", "KOR", "ROW"))
    np.testing.assert_allclose(w, w.T)
    assert (np.diag(w) == 0).all()
    jpn, kor, eu, usa = 3, 4, 2, 1
    assert w[jpn, kor] > w[jpn, usa] > 0  # Seoul-Tokyo ~1,160 km, Washington-Tokyo ~10,900 km
    assert w[eu, usa] > w[eu, kor]
    # Tokyo-Seoul: (1,160 km / 1,000 km)^-0.9 = 0.87 (haversine on the capitals' coordinates)
    assert w[jpn, kor] == pytest.approx((1.16) ** -0.9, rel=0.02)
    # ROW (no capital) takes the median distance of the other pairs: one weight for all its pairs
    assert len(set(np.round(w[5, :5], 12))) == 1


def test_export_pull_by_hand() -> None:
    """Gaps 0, 30, 10 t at regions 1-3 (China 0); spare capacity 50, 0, 4 t. Region 3 covers 4 t
    of its own 10; 30 + 6 = 36 t is left, made by region 1 (50 t free): 36 t at share 1, 18 t at
    share 0.5."""
    gap = np.array([[0.0, 0.0, 30.0, 10.0]])
    spare = np.array([[99.0, 50.0, 0.0, 4.0]])
    np.testing.assert_allclose(export_pull(gap, spare, EXF, np.array([[1.0]])), [[0, 36.0, 0, 0]])
    np.testing.assert_allclose(export_pull(gap, spare, EXF, np.array([[0.5]])), [[0, 18.0, 0, 0]])
    # capacity short of the gap: every free tonne is used (region 3 has no gap now: 4 t free)
    np.testing.assert_allclose(
        export_pull(np.array([[0.0, 0.0, 90.0, 0.0]]), spare, EXF, np.array([[1.0]])), [[0, 50.0, 0, 4.0]]
    )


def test_held_origin_under_an_extraterritorial_rule() -> None:
    """Two stages, CHN and USA each make half of each. Stage 1: China ships half its output
    to the USA (0.25), the USA keeps its own 0.5, which is 50% Chinese-origin: the USA holds
    (0.25 x 1 + 0.5 x 0.5) / 0.75 = 2/3 Chinese-origin stage-1 product, and under an
    extraterritorial rule on that stage only 1/3 of its surplus may move."""
    import datetime as dt

    from critmin.simulate.inputs.events import parse_event
    from critmin.simulate.inputs.policy import compile_policy
    from tests.unit import helpers

    share = np.array([[0.5, 0.5], [0.5, 0.5]])
    ship = np.array([[[0.5, 0.5], [0.0, 1.0]], [[0.5, 0.5], [0.0, 1.0]]])
    origin = np.array([[1.0, 0.0], [1.0, 0.5]])
    net = helpers.toy_network(
        share, ship, np.ones(2), np.ones(2), origin, stages=("separation", "magnet"), extraterritorial_from=1
    )
    held = held_share_china_origin(net)
    # stage 1, USA: receipts 0.25 from CHN (origin 1) + 0.5 own (origin 0.5) -> 0.5/0.75
    assert held[1, 1] == pytest.approx((0.25 * 1.0 + 0.5 * 0.5) / 0.75)
    ev = parse_event(
        {
            "id": "x",
            "date": dt.date(2024, 3, 1),
            "kind": "licence",
            "stages": ["magnet"],
            "extraterritorial": True,
        }
    )
    pol = compile_policy(
        (ev,), "2024-01", 4, ("CHN", "USA"), 1, None, defence_share=0.03, stages=("separation", "magnet")
    )
    m = held_origin(net, pol)
    np.testing.assert_allclose(m[:2], 1.0)  # before the rule everything moves
    assert m[2, 1, 1] == pytest.approx(1.0 - held[1, 1])
    np.testing.assert_allclose(m[2, 0], 1.0)  # stage 0 is below extraterritorial_from
