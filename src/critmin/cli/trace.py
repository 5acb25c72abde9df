"""``critmin trace``: where content comes from. ``firms`` traces a firm network (user data);
``synth`` writes a synthetic one. The tracing modules load when a command runs, so importing
this module (and ``critmin --help``) stays fast."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from critmin.cells import to_csv_text
from critmin.cli._output import Format, console, emit_frame, emit_json, err_console
from critmin.cli.choices import enum_option, format_option
from critmin.errors import DataError
from critmin.report.tables import check_output_path

trace_app = typer.Typer(
    help="Trace where a product's content comes from.", no_args_is_help=True, add_completion=False
)

_PREVIEW_ROWS = 30
#: Suffixes ``trace firms --out`` writes (critmin.trace.firms.write_table).
FIRMS_OUT_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz")


class FileFormat(StrEnum):
    """File formats for synthetic networks."""

    CSV = "csv"
    PARQUET = "parquet"


_COVERAGE_LABELS = {
    "firms": "firms",
    "edges": "edges used",
    "origin_firms": "firms at the origin stage",
    "origin_countries": "origin countries",
    "known_mass_share": "input mass with known origin",
    "firms_fully_unknown": "firms 100% unknown",
    "firms_with_unknown": "firms with some unknown input",
    "firms_without_inputs": "firms without inputs",
    "firms_in_cycles": "firms in cycles",
    "parallel_edges": "parallel edges summed",
}


def _coverage_table(cov: dict[str, Any]) -> Table:
    title = f"Coverage: origin stage {cov['origin_stage']}"
    if cov.get("commodity"):
        title += f", commodity {cov['commodity']}"
    t = Table(title=title, title_justify="left", show_header=False)
    t.add_column("what")
    t.add_column("value", justify="right")
    for key, label in _COVERAGE_LABELS.items():
        v = cov.get(key)
        text = "-" if v is None else f"{v:.1%}" if isinstance(v, float) else f"{v:,}"
        t.add_row(label, text)
    return t


def firms_cmd(
    firms: Path = typer.Argument(..., help="Firms table (.csv or .parquet): firm_id,country,stage."),
    edges: Path = typer.Argument(
        ..., help="Edges table (.csv or .parquet): supplier_id,customer_id,quantity[,commodity,value_usd]."
    ),
    origin_stage: str = typer.Option(
        ..., "--origin-stage", help="Stage where content originates: mining, separation, metal_alloy, ..."
    ),
    commodity: str | None = typer.Option(None, help="Use only edges of this commodity."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write firm_id,origin,share to OUT (.parquet or .csv)."
    ),
    fmt: Format = format_option(),
) -> None:
    """Each firm's input content by origin country at the origin stage (shares sum to 1).

    Inputs with no path to a firm at the origin stage count as 'unknown'; coverage is reported.
    """
    from critmin.trace.firms import parse_stage, trace_files, write_table

    stage = parse_stage(origin_stage, what="--origin-stage")
    if out is not None:  # a bad path fails before the work, not after
        check_output_path(out, FIRMS_OUT_SUFFIXES, inputs=(firms, edges))
    result = trace_files(firms, edges, stage, commodity=commodity)
    cov = result.coverage
    if cov.get("parallel_edges"):
        k = cov["parallel_edges"]
        verb = "edge repeats" if k == 1 else "edges repeat"
        err_console.print(
            f"note: {k:,} {verb} the supplier and customer of an earlier edge and "
            f"{'was' if k == 1 else 'were'} summed with it (first: {cov['parallel_example']}). "
            "Fix: if they are copies, delete them; if they are separate shipments, nothing to do",
            highlight=False,
            soft_wrap=True,
        )
    if out is not None:
        write_table(result.shares, out)
    if fmt is Format.JSON:
        doc: dict[str, Any] = {"coverage": cov}
        if out is None:
            emit_frame(result.shares, fmt, meta=doc)
        else:
            emit_json({**doc, "out": str(out)})
    elif fmt is Format.CSV:
        if out is None:
            print(to_csv_text(result.shares), end="")
            err_console.print(_coverage_table(cov))
        else:
            print("key,value")
            for k, v in cov.items():
                print(f"{k},{'' if v is None else v}")
    else:
        console.print(_coverage_table(cov))
        if out is not None:
            console.print(f"wrote {len(result.shares):,} rows to {out}", highlight=False)
        else:
            emit_frame(result.shares.head(_PREVIEW_ROWS), Format.TABLE, title="Input content by origin")
            if len(result.shares) > _PREVIEW_ROWS:
                console.print(
                    f"... {len(result.shares) - _PREVIEW_ROWS:,} more rows; use --out or --format csv",
                    highlight=False,
                )


def synth_cmd(
    n_firms: int = typer.Option(10_000, "--firms", min=6, help="Number of firms."),
    n_edges: int | None = typer.Option(None, "--edges", min=0, help="Number of edges (default 5 x firms)."),
    seed: int = typer.Option(0, help="Random seed; equal seeds give equal files."),
    out_dir: Path = typer.Option(..., "--out-dir", help="Directory for firms.<ext> and edges.<ext>."),
    file_format: FileFormat = enum_option(FileFormat.CSV, "--format", help="csv or parquet."),
) -> None:
    """Write a realistic multi-tier synthetic firm network (stylised rare-earth chain)."""
    from critmin.simulate.budget import check_seed
    from critmin.trace.synth import synth_network, write_network

    check_seed(seed)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(
            f"--out-dir {str(out_dir)!r} is a file, not a folder",
            fix="give a folder (it is created if missing)",
        )

    m = 5 * n_firms if n_edges is None else n_edges
    firms_df, edges_df = synth_network(n_firms, m, seed)
    fp, ep = write_network(firms_df, edges_df, out_dir, file_format.value)
    console.print(f"wrote {fp} ({len(firms_df):,} firms) and {ep} ({len(edges_df):,} edges)", highlight=False)


trace_app.command("firms")(firms_cmd)
trace_app.command("synth")(synth_cmd)
