"""critmin.cells: spreadsheet formula neutralisation (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.cells import FORMULA_START, neutralise, safe_frame, to_csv_text


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", '=HYPERLINK("x")'])
def test_risky_text_gets_a_quote(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["Atlantis", "", "1=1", "a-b", 3, -3.5, None, float("nan")])
def test_safe_values_unchanged(value: object) -> None:
    out = neutralise(value)
    assert out is value or out == value


def test_frame_numbers_untouched_text_neutralised() -> None:
    f = pd.DataFrame({"id": ["=cmd|' /C calc'!A0", "ok"], "value": [-1.5, 2.0], "=col": ["@x", "-"]})
    out = safe_frame(f)
    assert out["id"].tolist() == ["'=cmd|' /C calc'!A0", "ok"]
    assert out["value"].tolist() == [-1.5, 2.0]
    assert list(out.columns) == ["id", "value", "'=col"]
    assert out["'=col"].tolist() == ["'@x", "'-"]
    assert f["id"].iloc[0].startswith("=")  # the input is not modified


@given(st.lists(st.text(max_size=12), min_size=1, max_size=8))
def test_no_csv_cell_starts_a_formula(texts: list[str]) -> None:
    rows = list(csv.reader(io.StringIO(to_csv_text(pd.DataFrame({"t": texts})), newline="")))
    assert rows[0] == ["t"]
    for cell, text in zip((r[0] if r else "" for r in rows[1:]), texts, strict=True):
        assert not cell.startswith(FORMULA_START)
        assert cell.removeprefix("'") == text or text == ""
