"""Render results as a rich table, CSV or JSON (one place for every command)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from critmin.jsonsafe import dumps, json_safe

console = Console()
err_console = Console(stderr=True)


class Format(StrEnum):
    """Output formats shared by every command."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe list of row dicts (NaN -> null, numpy scalars -> Python): :func:`json_safe`."""
    return [{str(k): json_safe(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def emit_json(obj: Any) -> None:
    """Print ``obj`` as strict JSON to stdout (NaN -> null; plain print: no rich markup or wrapping)."""
    print(dumps(obj, indent=2, ensure_ascii=False, default=str))


def emit_frame(
    frame: pd.DataFrame, fmt: Format, *, title: str | None = None, meta: dict[str, Any] | None = None
) -> None:
    """Print a DataFrame in the chosen format; ``meta`` goes into JSON and the table caption."""
    if fmt is Format.JSON:
        emit_json({**(meta or {}), "rows": records(frame)})
    elif fmt is Format.CSV:
        print(frame.to_csv(index=False), end="")
    else:
        table = Table(
            title=title,
            caption=", ".join(f"{k}: {v}" for k, v in (meta or {}).items() if not isinstance(v, dict | list)),
        )
        for col in frame.columns:
            table.add_column(str(col), overflow="fold")
        for row in frame.itertuples(index=False):
            table.add_row(*(_fmt_cell(v) for v in row))
        console.print(table)


def _fmt_cell(v: Any) -> str:
    v = json_safe(v)
    if v is None:
        return ""
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(v)
