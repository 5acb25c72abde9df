"""``critmin runs``: list, show, compare and remove the runs kept in the store.

Every ``critmin simulate``, ``critmin plan`` and ``critmin stockpile`` stores its run (unless
``--no-store``) in ``$CRITMIN_HOME``'s DuckDB store (:mod:`critmin.store.runs`)::

    critmin runs list
    critmin runs show sim-20261203T001500-1a2b3c4d
    critmin runs compare RUN_A RUN_B           # B - A: per region, product and metric
                                               # (simulations), portfolio and costs (plans),
                                               # size, probabilities and costs (stockpiles)
    critmin runs remove RUN

A stored run makes a report without re-running it: ``critmin report --from-run RUN --out brief.html``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd
import typer
from rich.table import Table
from rich.text import Text

from critmin.cli._output import (
    Format,
    bold_lead,
    cell_text,
    console,
    emit_frame,
    emit_json,
    err_console,
    print_warning,
    records,
)
from critmin.cli.choices import format_option
from critmin.errors import CritminError

if TYPE_CHECKING:
    from critmin.store.runs import RunRecord, RunStore

runs_app = typer.Typer(
    help="Stored runs: list, show, compare and remove (every `critmin simulate`, `critmin plan` and "
    "`critmin stockpile` is stored).",
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
        console.print(
            f"no stored runs in {store.path} "
            "(run `critmin simulate NAME` or `critmin plan NAME` to store one)"
        )
        return
    if fmt is not Format.TABLE:
        emit_frame(frame, fmt, title="Stored runs", meta={"store": str(store.path)})
        return
    t = Table(title="Stored runs (oldest first)", title_justify="left", caption=Text(f"store: {store.path}"))
    t.add_column("run id", no_wrap=True)
    t.add_column("kind", no_wrap=True)
    t.add_column("scenario / plan", overflow="fold")
    t.add_column("created (UTC)", no_wrap=True)
    t.add_column("seed", justify="right")
    t.add_column("paths / futures", justify="right")
    t.add_column("data version", no_wrap=True)
    for r in frame.itertuples(index=False):
        t.add_row(
            Text(str(r.run_id)),
            Text(str(r.kind)),
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
    """One stored run: its record and main tables (JSON: every table, the resolved scenario or plan).

    Simulations show their summary; plans their portfolio and costs; stockpile sizings their
    results (CSV: the first of these)."""
    rec, tables = _store().get(run)
    main = _MAIN_TABLES.get(rec.kind, ("summary",))
    if fmt is Format.JSON:
        emit_json({**rec.to_dict(), "tables": {name: records(t) for name, t in tables.items()}})
        return
    if fmt is Format.CSV:
        emit_frame(tables.get(main[0], pd.DataFrame()), fmt)
        return
    count = "paths" if rec.kind != "plan" else "futures"
    console.print(
        bold_lead(
            rec.run_id,
            f": {rec.kind} {rec.name}, created {rec.created_at}, seed {rec.seed}, {rec.paths} {count}, "
            f"data_version {rec.data_version}, critmin {rec.package_version}",
        )
    )
    meta = dict(rec.meta or {})
    if rec.kind == "plan":
        obj = meta.get("objective_musd")
        console.print(
            f"status {meta.get('status', '-')}, expected NPV cost "
            + ("-" if obj is None else f"US$ {float(obj):,.1f} m")
            + f"; scenario {meta.get('scenario', '-')}",
            highlight=False,
        )
    console.print(
        "tables: " + ", ".join(f"{n} ({len(t):,} rows)" for n, t in tables.items()), highlight=False
    )
    for name in main:
        if name in tables:
            emit_frame(tables[name], fmt, title=_TITLES.get(name, name))


_MAIN_TABLES = {
    "simulation": ("summary",),
    "plan": ("portfolio", "costs", "verification"),
    "stockpile": ("results", "metric"),
}
_TITLES = {
    "summary": "summary (p5/p50/p95 across paths)",
    "portfolio": "portfolio",
    "costs": "expected NPV cost by instrument and payer (US$ m)",
    "verification": "closed loop: share of futures in which each target holds",
    "results": "stockpile size, probabilities and costs",
    "metric": "shortfall metric % (p5/p50/p95) without and with the stockpile",
}


@runs_app.command("compare")
def compare_cmd(
    a: str = typer.Argument(..., help="First run id (A)."),
    b: str = typer.Argument(..., help="Second run id (B)."),
    fmt: Format = format_option(),
) -> None:
    """Two runs of one kind side by side with the difference B - A: simulations per region, product
    and metric (units those of each metric); plans their portfolio (amounts) and costs (US$ m);
    stockpiles their size, probabilities and costs."""
    kind, frames = _store().compare_runs(a, b)
    if kind == "simulation":
        emit_frame(frames["summary"], fmt, title=f"{b} - {a}", meta={"a": a, "b": b})
        return
    if fmt is Format.JSON:
        emit_json({"a": a, "b": b, "kind": kind, "tables": {n: records(f) for n, f in frames.items()}})
        return
    if fmt is Format.CSV:  # one CSV: the tables one after the other, with a `table` column
        parts = [f.assign(table=n)[["table", *f.columns]] for n, f in frames.items()]
        emit_frame(pd.concat(parts, ignore_index=True), fmt)
        return
    titles = {
        "portfolio": f"portfolio: amount B - A ({b} - {a})",
        "costs": f"expected NPV cost, US$ m: B - A ({b} - {a})",
        "results": f"stockpile: B - A ({b} - {a})",
    }
    for name, frame in frames.items():
        emit_frame(frame, fmt, title=titles.get(name, name), meta={"a": a, "b": b})


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


def store_result(save: Callable[[RunStore], str], *, skip_flag: str = "--no-store") -> str | None:
    """Keep a finished run in the store with ``save(store)`` and say its id on stderr.

    A store that cannot be written is one warning line (the run itself has succeeded) and
    ``None``: a command never fails over its bookkeeping."""
    try:
        run_id = save(_store())
    except CritminError as exc:
        print_warning(f"the run was not stored: {exc}")
        return None
    except Exception as exc:  # never fail a finished run over its bookkeeping
        print_warning(f"the run was not stored ({type(exc).__name__}: {exc})")
        return None
    err_console.print(
        f"stored run {run_id} (critmin runs show {run_id}; {skip_flag} to skip)",
        highlight=False,
        soft_wrap=True,
    )
    return run_id


def _store() -> RunStore:
    """The run store (imported on use: ``critmin --help`` does not load DuckDB)."""
    from critmin.store.runs import RunStore

    return RunStore.open()
