from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.errors import UnitError
from critmin.units import canonical, conversion_factor, convert


def test_mass_conversions() -> None:
    assert convert(2, "kt", "t") == 2000
    assert convert(1500, "kg", "t") == pytest.approx(1.5)
    assert convert(3, "mmt", "kt") == pytest.approx(3000)
    assert canonical("mct") == "Mct"
    assert conversion_factor("pct", "fraction") == pytest.approx(0.01)


def test_incompatible_units_raise() -> None:
    with pytest.raises(UnitError, match="cannot convert"):
        convert(1, "t", "Mct")
    with pytest.raises(UnitError, match="unknown unit"):
        convert(1, "furlongs", "t")


@given(
    st.floats(min_value=0, max_value=1e12),
    st.sampled_from(["g", "kg", "t", "kt", "Mt"]),
    st.sampled_from(["g", "kg", "t", "kt", "Mt"]),
)
def test_round_trip(v: float, a: str, b: str) -> None:
    assert convert(convert(v, a, b), b, a) == pytest.approx(v, rel=1e-12, abs=1e-12)
