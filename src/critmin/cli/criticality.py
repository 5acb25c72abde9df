"""``critmin criticality``: EU CRM (2017 method) or USGS 2022 supply-risk screening."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from critmin.cells import to_csv_text
from critmin.cli._output import Format, console, emit_json
from critmin.cli.choices import enum_option, format_option
from critmin.data.load import load_dataset
from critmin.metrics.criticality import CriticalityMethod, CriticalityResult, criticality
from critmin.report.tables import check_figure_path


def criticality_cmd(
    method: CriticalityMethod = enum_option(CriticalityMethod.EU, "--method", "-m", help="eu or usgs."),
    year: int | None = typer.Option(
        None, min=1900, max=2100, help="Year (default: latest with data per commodity)."
    ),
    fmt: Format = format_option(),
    plot: Path | None = typer.Option(None, help="Write the criticality figure to PLOT (.html or .png)."),
    top: int = typer.Option(40, min=1, help="Rows shown in the table view (all rows in csv/json)."),
) -> None:
    """Criticality of every commodity with data; assumed inputs are listed per row."""
    if plot is not None:
        check_figure_path(plot)
    ds = load_dataset()
    result = criticality(method, ds=ds, year=year)
    if plot is not None:
        from critmin.report.figures import criticality_matrix, write_figure
        from critmin.report.ranking import usgs_ranking

        fig = (
            criticality_matrix(result.table)
            if result.method is CriticalityMethod.EU
            else usgs_ranking(result.table)
        )
        written = write_figure(fig, plot)
        console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
    if fmt is Format.JSON:
        emit_json(result.to_dict())
    elif fmt is Format.CSV:
        print(to_csv_text(_flat(result.table)), end="")
    else:
        _render(result, top)


def _flat(t: pd.DataFrame) -> pd.DataFrame:
    out = t.copy()
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, list | dict)).any():
            out[col] = out[col].map(lambda v: "; ".join(map(str, v)) if isinstance(v, list) else str(v))
    return out


def _num(v: object, fmt: str = ".2f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(float(v), fmt)  # type: ignore[arg-type]


def _render(r: CriticalityResult, top: int) -> None:
    t = r.table
    ok = t.loc[t["status"] == "ok"]
    skipped = t.loc[t["status"] != "ok"]
    if r.method is CriticalityMethod.EU:
        ok = ok.sort_values("sr", ascending=False)
        title = "EU CRM criticality (2017 method): critical if SR >= 1 and EI >= 2.8"
        cols = ["commodity", "stage", "year", "SR", "EI", "critical", "top country", "assumed inputs"]
    else:
        ok = ok.sort_values("rank")
        title = "USGS 2022 supply risk = disruption potential x trade exposure x economic vulnerability"
        cols = ["rank", "commodity", "stage", "year", "score", "DP", "TE", "EV", "assumed inputs"]
    table = Table(title=title, title_justify="left", caption=f"data_version {r.data_version}")
    for c in cols:
        table.add_column(c, overflow="fold")
    for row in ok.head(top).to_dict(orient="records"):
        assumed = ", ".join(row["assumed_inputs"]) if row["assumed_inputs"] else "-"
        if r.method is CriticalityMethod.EU:
            table.add_row(
                str(row["commodity"]),
                str(row["stage"]),
                str(row["year"]),
                _num(row["sr"]),
                _num(row["ei"]),
                "insufficient data" if row["critical"] is None else "yes" if row["critical"] else "no",
                str(row["top_country"]),
                assumed,
            )
        else:
            table.add_row(
                str(row["rank"]),
                str(row["commodity"]),
                str(row["stage"]),
                str(row["year"]),
                _num(row["score"], ".3f"),
                _num(row["dp"], ".3f"),
                _num(row["te"], ".2f"),
                _num(row["ev"], ".2f"),
                assumed,
            )
    console.print(table)
    if len(ok) > top:
        console.print(
            f"... {len(ok) - top} more rows: use --top, --format csv or --format json.", style="dim"
        )
    if len(skipped):
        console.print(
            f"Insufficient data ({len(skipped)}): "
            + "; ".join(
                f"{c} ({why})" for c, why in zip(skipped["commodity"], skipped["reason"], strict=True)
            ),
            style="dim",
        )
    console.print(
        "Assumed inputs use documented defaults (critmin/data/criticality_defaults.yaml); "
        "see each row's input_basis and source_ids in --format json.",
        style="dim",
    )
