"""critmin.jsonsafe: NaN/inf -> null, numpy scalars -> Python, always strict JSON."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.jsonsafe import dumps, json_safe


def _strict_loads(text: str) -> Any:
    """json.loads that refuses the non-JSON tokens NaN, Infinity and -Infinity."""

    def refuse(token: str) -> Any:
        raise ValueError(f"non-JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_hand_worked_document() -> None:
    doc = {
        "nan": float("nan"),
        "inf": float("inf"),
        "np_nan": np.float64("nan"),
        "np_f32_inf": np.float32("-inf"),
        "int": np.int64(3),
        "bool": np.bool_(True),
        "na": pd.NA,
        "nat": pd.NaT,
        "row": (1.5, np.nan, "x"),
        "arr": np.array([1.0, np.inf]),
        np.int64(7): "numpy key",
    }
    assert json_safe(doc) == {
        "nan": None,
        "inf": None,
        "np_nan": None,
        "np_f32_inf": None,
        "int": 3,
        "bool": True,
        "na": None,
        "nat": None,
        "row": [1.5, None, "x"],
        "arr": [1.0, None],
        7: "numpy key",
    }
    out = json_safe(doc)
    assert type(out["int"]) is int
    assert type(out["bool"]) is bool
    assert _strict_loads(dumps(doc))["7"] == "numpy key"


def test_plain_json_json_dumps_would_write_nan_tokens() -> None:
    """The reason for the module: json.dumps writes NaN, which strict parsers refuse."""
    with pytest.raises(ValueError, match="non-JSON token NaN"):
        _strict_loads(json.dumps({"x": float("nan")}))
    assert _strict_loads(dumps({"x": float("nan")})) == {"x": None}


def test_finite_floats_and_other_objects_pass_through() -> None:
    assert json_safe(0.1) == 0.1
    assert json_safe(np.float32(0.5)) == 0.5
    marker = object()
    assert json_safe(marker) is marker  # json.dumps' default= decides
    # dates and timestamps are ISO 8601 text, enums their value, sets sorted lists
    assert dumps({"when": pd.Timestamp("2025-04-04")}) == '{"when": "2025-04-04T00:00:00"}'
    assert json_safe(dt.date(2025, 4, 4)) == "2025-04-04"
    assert json_safe(Colour.RED) == "red"
    assert json_safe({3, 1, 2}) == [1, 2, 3]
    assert json_safe({"b", 1}) == [1, "b"]  # items that do not compare: ordered by text


class Colour(enum.Enum):
    RED = "red"


def test_dataframe_records_with_missing_values() -> None:
    frame = pd.DataFrame({"a": [1.0, np.nan], "n": pd.array([1, None], dtype="Int64")})
    assert json_safe(frame.to_dict(orient="records")) == [{"a": 1.0, "n": 1}, {"a": None, "n": None}]


_floats = st.floats(allow_nan=True, allow_infinity=True)
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**62), max_value=2**62),
    st.text(max_size=5),
    _floats,
    _floats.map(np.float64),
    st.floats(width=32).map(np.float32),
    st.integers(min_value=-(2**31), max_value=2**31).map(np.int64),
    st.booleans().map(np.bool_),
    st.just(pd.NA),
    st.just(pd.NaT),
)
_trees = st.recursive(
    _leaves,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.lists(kids, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=4), kids, max_size=4),
        st.lists(_floats, max_size=4).map(lambda xs: np.array(xs, dtype=float)),
    ),
    max_leaves=20,
)


def _check(original: Any, parsed: Any) -> None:
    """``parsed`` mirrors ``original``: null exactly where it held NaN, inf or a pandas NA."""
    if original is pd.NA or original is pd.NaT or original is None:
        assert parsed is None
    elif isinstance(original, bool | np.bool_):
        assert parsed is bool(original)
    elif isinstance(original, float | np.floating):
        assert parsed == (float(original) if math.isfinite(float(original)) else None)
    elif isinstance(original, int | np.integer):
        assert parsed == int(original)
        assert type(parsed) is int
    elif isinstance(original, str):
        assert parsed == original
    elif isinstance(original, dict):
        assert set(parsed) == set(original)
        for k, v in original.items():
            _check(v, parsed[k])
    else:  # list, tuple, numpy array
        items = list(original)
        assert isinstance(parsed, list)
        assert len(parsed) == len(items)
        for v, p in zip(items, parsed, strict=True):
            _check(v, p)


@given(_trees)
def test_dumps_always_parses_under_strict_json(obj: Any) -> None:
    parsed = _strict_loads(dumps(obj))  # raises on a NaN/Infinity token
    _check(obj, parsed)


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=10))
def test_finite_floats_round_trip_exactly(xs: list[float]) -> None:
    assert _strict_loads(dumps(xs)) == xs
    assert _strict_loads(dumps(np.array(xs))) == xs


@given(_floats)
def test_a_float_is_null_exactly_when_it_is_not_finite(x: float) -> None:
    assert (json_safe(x) is None) == (not math.isfinite(x))
