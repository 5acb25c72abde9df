"""``critmin runs``: list, show, compare and remove the runs kept in the store.

Every ``critmin simulate`` stores its run (unless ``--no-store``) in ``$CRITMIN_HOME``'s DuckDB
store (:mod:`critmin.store.runs`)::

    critmin runs list
    critmin runs show sim-20261203T001500-1a2b3c4d
    critmin runs compare RUN_A RUN_B           # B - A per region, product and metric
    critmin runs remove RUN

A stored run makes a report without re-running it: ``critmin report --from-run RUN --out brief.html``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import typer
from rich.table import Table
from rich.text import Text

from critmin.cli._output import Format, bold_lead, cell_text, console, emit_frame, emit_json, records
from critmin.cli.choices import format_option

if TYPE_CHECKING:
    from critmin.store.runs import RunRecord, RunStore

runs_app = typer.Typer(
    help="Stored runs: list, show, compare and remove (every `critmin simulate` is stored).",
    no_args_is_help=True,
    add_completion=False,
)

_LIST_COLUMNS = ["run_id", "kind", "name", "created_at", "seed", "paths", "data_version", "package_version"]


def _record_row(r: RunRecord) -> dict[str, Any]:
    return {c: getattr(r, c) for c in _LIST_COLUMNS}


@runs_app.command("list")
def list_cmd(fmt: Format = format_option()) -> None:
    """Stored runs, oldest first: id, kind, name, time (UTC), seed, paths, data and package versions."""
    store = _store()
    frame = pd.DataFrame([_record_row(r) for r in store.list()], columns=_LIST_COLUMNS)
    if fmt is Format.TABLE and frame.empty:
        console.print(f"no stored runs in {store.path} (run `critmin simulate NAME` to store one)")
        return
    if fmt is not Format.TABLE:
        emit_frame(frame, fmt, title="Stored runs", meta={"store": str(store.path)})
        return
    t = Table(title="Stored runs (oldest first)", title_justify="left", caption=Text(f"store: {store.path}"))
    t.add_column("run id", no_wrap=True)
    t.add_column("scenario / plan", overflow="fold")
    t.add_column("created (UTC)", no_wrap=True)
    for col in ("seed", "paths"):
        t.add_column(col, justify="right")
    t.add_column("data version", no_wrap=True)
    for r in frame.itertuples(index=False):
        t.add_row(
            Text(str(r.run_id)),
            Text(str(r.name)),
            Text(str(r.created_at)[:16].replace("T", " ")),
            Text(cell_text(r.seed)),
            Text(cell_text(r.paths)),
            Text(str(r.data_version)),
        )
    console.print(t)


@runs_app.command("show")
def show_cmd(
    run: str = typer.Argument(..., help="Run id (see `critmin runs list`)."),
    fmt: Format = format_option(),
) -> None:
    """One stored run: its record and summary table (JSON: every table, the resolved scenario)."""
    rec, tables = _store().get(run)
    summary = tables.get("summary", pd.DataFrame())
    if fmt is Format.JSON:
        emit_json({**rec.to_dict(), "tables": {name: records(t) for name, t in tables.items()}})
        return
    if fmt is Format.CSV:
        emit_frame(summary, fmt)
        return
    console.print(
        bold_lead(
            rec.run_id,
            f": {rec.kind} {rec.name}, created {rec.created_at}, seed {rec.seed}, {rec.paths} paths, "
            f"data_version {rec.data_version}, critmin {rec.package_version}",
        )
    )
    console.print(
        "tables: " + ", ".join(f"{n} ({len(t):,} rows)" for n, t in tables.items()), highlight=False
    )
    emit_frame(summary, fmt, title="summary (p5/p50/p95 across paths)")


@runs_app.command("compare")
def compare_cmd(
    a: str = typer.Argument(..., help="First run id (A)."),
    b: str = typer.Argument(..., help="Second run id (B)."),
    fmt: Format = format_option(),
) -> None:
    """Summary rows of two runs side by side with the difference B - A (units those of each metric)."""
    frame = _store().compare(a, b)
    emit_frame(frame, fmt, title=f"{b} - {a}", meta={"a": a, "b": b})


@runs_app.command("remove")
def remove_cmd(
    run: str = typer.Argument(..., help="Run id to delete."),
    fmt: Format = format_option(),
) -> None:
    """Delete one stored run (an unknown id is an error, exit 2)."""
    store = _store()
    if not store.remove(run):
        raise store.unknown(run)
    if fmt is Format.JSON:
        emit_json({"removed": run})
    elif fmt is Format.CSV:
        print(f"removed\n{run}")
    else:
        console.print(f"removed {run}", highlight=False)


def _store() -> RunStore:
    """The run store (imported on use: ``critmin --help`` does not load DuckDB)."""
    from critmin.store.runs import RunStore

    return RunStore.open()
