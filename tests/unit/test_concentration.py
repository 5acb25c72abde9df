from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.metrics.concentration import hhi, n_to_reach, top_share


def test_hhi_by_hand() -> None:
    # 60/30/10 -> 3600 + 900 + 100 = 4600
    assert hhi([0.6, 0.3, 0.1]) == pytest.approx(4600)
    assert hhi([1.0]) == pytest.approx(10_000)
    # four equal suppliers -> 4 * 625 = 2500
    assert hhi([0.25] * 4) == pytest.approx(2500)


def test_residual_is_not_a_country() -> None:
    # China 70%, "Other countries" 30% residual: the residual is not passed in.
    assert hhi([0.7]) == pytest.approx(4900)


def test_top_and_n_to_80() -> None:
    s = [0.1, 0.5, 0.25, 0.15]
    assert top_share(s) == pytest.approx(0.5)
    assert top_share(s, 3) == pytest.approx(0.9)
    assert n_to_reach(s, 0.8) == 3
    assert n_to_reach([0.3, 0.3], 0.8) is None


def test_negative_share_rejected() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        hhi([0.5, -0.1])


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=30))
def test_hhi_bounds(xs: list[float]) -> None:
    total = sum(xs)
    if total == 0:
        return
    shares = [x / total for x in xs]
    h = hhi(shares)
    assert 10_000 / len(shares) - 1e-6 <= h <= 10_000 + 1e-6
