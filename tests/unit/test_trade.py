"""Trade rules of the engine (critmin.simulate.engine.trade), by hand and as properties."""

from __future__ import annotations

import numpy as np
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
