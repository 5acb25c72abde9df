"""Render results as a rich table, CSV or JSON (one place for every command)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from critmin.cells import to_csv_text
from critmin.jsonsafe import dumps, json_safe

#: Consoles read no markup: every string printed is shown verbatim (user values can hold ``[...]``).
#: Styled text goes through :class:`rich.text.Text` (see :func:`bold_lead`).
console = Console(markup=False)
err_console = Console(stderr=True, markup=False)


class Format(StrEnum):
    """Output formats shared by every command."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def bold_lead(lead: object, rest: str) -> Text:
    """``lead`` in bold followed by ``rest``, both verbatim (no markup is parsed)."""
    return Text.assemble((str(lead), "bold"), rest)


def one_line(message: str) -> str:
    """``message`` on one line: line breaks become ``; `` (a user value can carry them)."""
    parts = [p.strip() for p in str(message).splitlines()]
    return "; ".join(p for p in parts if p)


def progress_label(text: str) -> str:
    """``text`` for a ``rich.progress.TextColumn(..., markup=False)``: braces doubled (the column runs
    ``str.format``, so a scenario named ``{x}`` or ``[/bold]x`` is shown as given, not run)."""
    return one_line(text).replace("{", "{{").replace("}", "}}")


def print_error(message: str) -> None:
    """Print ``error: message`` to stderr on one line, the message verbatim (never read as markup)."""
    err_console.print(
        Text.assemble(("error:", "bold red"), " ", one_line(message)), highlight=False, soft_wrap=True
    )


def print_warning(message: str) -> None:
    """Print ``warning: message`` to stderr on one line, verbatim (never read as markup)."""
    err_console.print(
        Text.assemble(("warning:", "bold yellow"), " ", one_line(message)), highlight=False, soft_wrap=True
    )


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
        print(to_csv_text(frame), end="")
    else:
        table = Table(
            title=Text(title) if title is not None else None,
            caption=Text(
                ", ".join(f"{k}: {v}" for k, v in (meta or {}).items() if not isinstance(v, dict | list))
            ),
        )
        for col in frame.columns:
            table.add_column(Text(str(col)), overflow="fold")
        for row in frame.itertuples(index=False):
            table.add_row(*(_fmt_cell(v) for v in row))
        console.print(table)


def _fmt_cell(v: Any) -> Text:
    """One table cell as plain Text: user values are shown verbatim, never parsed as markup."""
    return Text(cell_text(v))


def cell_text(v: Any) -> str:
    """The text a table shows for ``v`` (missing -> empty; large floats with thousands separators)."""
    v = json_safe(v)
    if v is None:
        return ""
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(v)
