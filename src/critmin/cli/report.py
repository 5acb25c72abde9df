"""``critmin report``: a self-contained HTML report or an Excel workbook of a scenario's run.

    critmin report controls-reimposed-2026-11 --out brief.html
    critmin report controls-reimposed-2026-11 --compare truce-holds --paths 500 --out brief.html
    critmin report --from-run sim-20261203T001500-1a2b3c4d --out brief.xlsx

The runs a report makes are stored like those of ``critmin simulate`` (``--no-store`` skips).
"""

from __future__ import annotations

from pathlib import Path

import typer

from critmin.cli._output import console
from critmin.cli.simulate import store_run
from critmin.errors import DataError
from critmin.simulate.budget import MAX_PATHS, check_run, check_seed


def report_cmd(
    scenario: str | None = typer.Argument(
        None, help="Bundled scenario name or a YAML path (or use --from-run)."
    ),
    out: Path = typer.Option(..., "--out", help="Write the report to OUT: .html (self-contained) or .xlsx."),
    compare: str | None = typer.Option(
        None,
        "--compare",
        help="A second scenario (name or YAML path) to compare with: difference table, overlaid fans.",
    ),
    from_run: str | None = typer.Option(
        None,
        "--from-run",
        help="Build the report from a stored run (`critmin runs list`) instead of running.",
    ),
    compare_run: str | None = typer.Option(
        None, "--compare-run", help="Compare with a stored run instead of running --compare."
    ),
    paths: int = typer.Option(1000, help=f"Monte Carlo paths per run (at most {MAX_PATHS:,})."),
    seed: int = typer.Option(0, help="Random seed (equal seeds give equal results)."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not keep the runs made for the report."),
) -> None:
    """Write one report of a scenario (figures, tables, assumptions, sources, versions) that opens offline."""
    from critmin.report.document import ReportRun, check_report_path, write_report
    from critmin.simulate.result import TRACE_LIMIT

    target = check_report_path(out)  # a bad path fails before any run
    if (scenario is None) == (from_run is None):
        raise DataError(
            "give either a scenario or --from-run RUN, not both or neither",
            fix="e.g. critmin report baseline --out report.html",
        )
    if compare is not None and compare_run is not None:
        raise DataError("give --compare or --compare-run, not both", fix="drop one of them")
    from critmin.data.load import load_dataset
    from critmin.store.runs import RunStore

    ds = load_dataset()
    store = RunStore.open()
    first = ReportRun.from_stored(*store.get(from_run)) if from_run is not None else None
    second = ReportRun.from_stored(*store.get(compare_run)) if compare_run is not None else None
    todo = [s for s in (scenario, compare) if s is not None]
    if todo:
        check_seed(seed)
        from critmin.simulate.inputs.scenario import load_scenario

        scs = [load_scenario(s) for s in todo]  # every scenario is checked before the first runs
        for sc in scs:
            n_months, n_regions = len(sc.months()), len(sc.regions)
            check_run(
                sc.commodities,
                n_months,
                n_regions,
                paths,
                keep_trace=paths * n_months * n_regions <= TRACE_LIMIT,
            )
        from critmin.simulate.run import simulate

        views = []
        for sc in scs:
            with console.status(f"simulating {sc.name} ({paths} paths)", spinner="line"):
                result = simulate(sc, paths=paths, seed=seed, dataset=ds)
            run_id = None if no_store else store_run(result)
            views.append(ReportRun.from_result(result, run_id=run_id))
        if scenario is not None:
            first = views.pop(0)
        if compare is not None:
            second = views.pop(0)
    assert first is not None
    written = write_report(target, first, second, ds)
    console.print(f"wrote {written}", highlight=False, soft_wrap=True)


__all__ = ["report_cmd"]
