"""Spreadsheet-safe cells: neutralise text a spreadsheet would run as a formula (CSV injection).

A CSV or Excel cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is evaluated as a formula by Excel, LibreOffice and Google Sheets (OWASP, "CSV Injection"). Notes,
titles and ids in critmin outputs come from user files, so every CSV and Excel writer passes its
frame through :func:`safe_frame`, which prefixes such text with a single quote (OWASP's advice):
the cell then shows the text as written and runs nothing. Numbers are left alone: ``-3.5`` as a
float is a number, not a formula; only *text* cells are touched. Carriage returns inside text
become line feeds, so a cell never splits its row.

A leaf module: pandas only.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

#: First characters that make a spreadsheet treat a text cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would run; anything else unchanged.

    Line breaks inside text become ``\n``: a bare carriage return is left unquoted by Python
    3.11's csv writer (with ``\n`` line ends) and would split the row in two.
    """
    if isinstance(value, str):
        if "\r" in value:
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        if value.startswith(FORMULA_START):
            return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every risky text cell (and column name) neutralised."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(neutralise)
    out.columns = [neutralise(c) if isinstance(c, str) else c for c in out.columns]
    return out


def to_csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text (no index), spreadsheet-safe."""
    return str(safe_frame(frame).to_csv(index=False))


__all__ = ["FORMULA_START", "neutralise", "safe_frame", "to_csv_text"]
