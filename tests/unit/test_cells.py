"""critmin.cells: spreadsheet formula neutralisation (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.cells import FORMULA_START, neutralise, safe_frame, to_csv_text


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", '=HYPERLINK("x")'])
def test_risky_text_gets_a_quote(text: str) -> None:
    assert neutralise(text) == "'" + text


def test_carriage_returns_become_line_feeds() -> None:
    assert neutralise("\rx") == "\nx"  # a leading LF starts no formula
    assert neutralise("a\r\nb\rc") == "a\nb\nc"


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
        assert cell == neutralise(text)


def test_firm_table_csv_output_is_spreadsheet_safe(tmp_path: Path) -> None:
    from critmin.trace.firms import write_table

    frame = pd.DataFrame({"firm_id": ["=cmd|' /C calc'!A0", "f1"], "share": [-0.0, 1.0]})
    back = pd.read_csv(write_table(frame, tmp_path / "shares.csv"), dtype={"firm_id": str})
    assert back["firm_id"].tolist() == ["'=cmd|' /C calc'!A0", "f1"]
    assert back["share"].tolist() == [0.0, 1.0]
    parquet = pd.read_parquet(write_table(frame, tmp_path / "shares.parquet"))
    assert parquet["firm_id"].iloc[0] == "=cmd|' /C calc'!A0"  # Parquet keeps the text as given
