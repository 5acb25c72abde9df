"""``critmin sensitivity``: which uncertain parameters drive a scenario's outcome.

``--method tornado`` (default): one at a time, :func:`critmin.simulate.analysis.sensitivity.tornado`.
``--method sobol``: variance-based indices, :func:`critmin.simulate.analysis.sobol.sobol`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import pandas as pd
import typer
from rich.console import JustifyMethod
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from critmin.cells import to_csv_text
from critmin.cli._output import Format, bold_lead, console, emit_json, progress_label
from critmin.cli.choices import enum_option, format_option
from critmin.data.load import load_dataset
from critmin.report.tables import check_figure_path
from critmin.simulate.analysis.sensitivity import EX_CHINA, tornado, tornado_to_dict, uncertain_parameters
from critmin.simulate.analysis.sobol import SOBOL_N, SobolResult, SobolStatus, check_n, sobol
from critmin.simulate.budget import check_paths, check_run, check_seed
from critmin.simulate.executors import Executor, executor_for
from critmin.simulate.inputs.scenario import Scenario, load_scenario
from critmin.simulate.result import ADDITIVE, METRICS

_FMT = {
    "peak_shortfall_pct": "{:,.1f}",
    "cumulative_shortfall_t": "{:,.0f}",
    "months_below_90pct": "{:,.1f}",
    "peak_price_ratio": "{:,.2f}",
    "output_at_risk_usd": "{:,.3g}",
}


class SensitivityMethod(StrEnum):
    """How ``critmin sensitivity`` varies the parameters."""

    TORNADO = "tornado"
    SOBOL = "sobol"


def sensitivity_cmd(
    scenario: str = typer.Argument(..., help="Bundled scenario name or a YAML path."),
    metric: str = typer.Option(
        "cumulative_shortfall_t", "--metric", "-m", help=f"Outcome: one of {', '.join(METRICS)}."
    ),
    region: str = typer.Option(EX_CHINA, help=f"A scenario region or {EX_CHINA} (total outside China)."),
    variant: str | None = typer.Option(None, help="A named variant from the scenario's `scenarios:`."),
    paths: int = typer.Option(
        1, help="Paths per case: 1 = others at their medians; more = others sampled, mean outcome."
    ),
    seed: int = typer.Option(
        0, help="Random seed (tornado: used when --paths > 1; sobol: sequence scrambling and bootstrap)."
    ),
    fmt: Format = format_option(),
    plot: Path | None = typer.Option(
        None, help="Write the chart (tornado, or S1/ST bars) to PLOT (.html or .png)."
    ),
    top: int = typer.Option(15, help="Rows shown in the table view and the chart (all rows in csv/json)."),
    method: SensitivityMethod = enum_option(
        SensitivityMethod.TORNADO,
        "--method",
        help="tornado: one at a time around the medians; sobol: variance-based S1/ST indices.",
    ),
    n: int = typer.Option(
        SOBOL_N,
        "--n",
        help="Sobol base sample N, a power of two; cost N x (parameters + 2) model runs.",
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Run path blocks on a local Dask cluster of N worker processes."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Send path blocks to an existing Dask cluster (tcp://HOST:PORT)."
    ),
) -> None:
    """Which uncertain parameters drive the outcome: a one-at-a-time tornado or Sobol' indices.

    tornado: each uncertain parameter at its p5 and p95, the others at their medians.

    sobol: all drawn together; S1 = share of the variance explained alone, ST = with interactions.
    """
    if plot is not None:  # a bad path fails before the runs, not after
        check_figure_path(plot)
    check_seed(seed)
    check_paths(paths)
    if top < 1:
        raise typer.BadParameter(f"{top} rows: give at least 1", param_hint="--top")
    if method is SensitivityMethod.SOBOL:
        if n < 2 or n & (n - 1):
            lower = 2 ** max(1, n.bit_length() - 1)
            raise typer.BadParameter(
                f"{n} is not a power of two of at least 2 (Sobol' sequences need one); "
                f"use e.g. {lower} or {2 * lower}",
                param_hint="--n",
            )
        check_n(n)
        if paths != 1:
            raise typer.BadParameter("applies to --method tornado only", param_hint="--paths")
        with _executor(workers, scheduler) as ex:
            _sobol(scenario, metric, region, variant, seed, fmt, plot, top, n, ex)
        return
    sc = load_scenario(scenario, variant=variant)
    _check_size(sc, paths, 1 + 2 * len(uncertain_parameters(sc)), metric, region, sobol=False)
    ds = load_dataset()
    with Progress(
        TextColumn(progress_label(f"sensitivity of {metric} ({region}) in {sc.name}"), markup=False),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} runs"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=fmt is not Format.TABLE,
    ) as progress:
        task = progress.add_task("run", total=None)
        with _executor(workers, scheduler) as ex:
            table = tornado(
                sc,
                metric,
                region,
                paths=paths,
                seed=seed,
                dataset=ds,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
                executor=ex,
            )
    if plot is not None:
        from critmin.report.fan import tornado_chart
        from critmin.report.figures import write_figure

        written = write_figure(tornado_chart(table, top=top), plot)
        if fmt is Format.TABLE:
            console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
    if fmt is Format.JSON:
        emit_json(tornado_to_dict(table))
    elif fmt is Format.CSV:
        print(to_csv_text(table), end="")
    else:
        _render(table, top)


def _render(t: pd.DataFrame, top: int) -> None:
    a = t.attrs
    fmt = _FMT.get(str(a["metric"]), "{:,.4g}")
    base = float(a["outcome_base"])
    lo_q, hi_q = f"p{float(a['low']) * 100:g}", f"p{float(a['high']) * 100:g}"
    console.print(
        bold_lead(
            a["scenario"],
            f": {a['metric']} in {a['region']}, all parameters at their medians = "
            f"{fmt.format(base)}; paths per case {a['paths']}, data_version {a['data_version']}",
        ),
        highlight=False,
    )
    table = Table(
        title=f"Tornado: each parameter at {lo_q} and {hi_q}, the others at their medians",
        title_justify="left",
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("#", "right"),
        ("parameter", "left"),
        ("distribution", "left"),
        (f"value {lo_q}", "right"),
        (f"value {hi_q}", "right"),
        (f"outcome at {lo_q}", "right"),
        (f"outcome at {hi_q}", "right"),
        ("swing", "right"),
        ("swing / base", "right"),
    )
    for col, just in columns:
        table.add_column(col, justify=just, overflow="fold")
    for i, row in enumerate(t.head(top).to_dict(orient="records"), start=1):
        swing = float(row["swing"])
        table.add_row(
            str(i),
            str(row["parameter"]),
            str(row["distribution"]),
            f"{float(row['value_low']):.4g}",
            f"{float(row['value_high']):.4g}",
            fmt.format(float(row["outcome_low"])),
            fmt.format(float(row["outcome_high"])),
            fmt.format(swing),
            f"{swing / abs(base):.1%}" if base else "-",
        )
    console.print(table)
    if len(t) > top:
        console.print(f"... {len(t) - top} more parameters: use --top or --format csv/json.", style="dim")
    console.print(
        "One at a time: interactions between parameters are not shown; parameters given as plain "
        "numbers (not distributions) are not varied. See docs/model.md.",
        style="dim",
        highlight=False,
    )


# --------------------------------------------------------------------------- sobol
def _sobol(
    scenario: str,
    metric: str,
    region: str,
    variant: str | None,
    seed: int,
    fmt: Format,
    plot: Path | None,
    top: int,
    n: int,
    executor: Executor,
) -> None:
    sc = load_scenario(scenario, variant=variant)
    _check_size(sc, n, len(uncertain_parameters(sc)) + 2, metric, region, sobol=True)
    ds = load_dataset()
    with Progress(
        TextColumn(
            progress_label(f"Sobol' indices of {metric} ({region}) in {sc.name}, N = {n}"), markup=False
        ),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=fmt is not Format.TABLE,
    ) as progress:
        progress.add_task("run", total=None)
        result = sobol(sc, metric, region, n=n, seed=seed, dataset=ds, executor=executor)
    if plot is not None:
        from critmin.report.fan import sobol_chart
        from critmin.report.figures import write_figure

        written = write_figure(sobol_chart(result, top=top), plot)
        if fmt is Format.TABLE:
            console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
    if fmt is Format.JSON:
        emit_json(result.to_dict())
    elif fmt is Format.CSV:
        print(to_csv_text(result.indices), end="")
    else:
        _render_sobol(result, top)


def _render_sobol(r: SobolResult, top: int) -> None:
    fmt = _FMT.get(r.metric, "{:,.4g}")
    console.print(
        bold_lead(
            r.scenario.name,
            f": {r.metric} in {r.region}, mean {fmt.format(r.outcome_mean)}, "
            f"sd {fmt.format(r.outcome_sd)} over the sampled inputs; N = {r.n}, {r.model_runs:,} model runs, "
            f"seed {r.seed}, data_version {r.data_version}",
        ),
        highlight=False,
    )
    table = Table(
        title=f"Sobol' indices (± {r.conf_level:.0%} bootstrap half-width), largest total order first",
        title_justify="left",
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("#", "right"),
        ("parameter", "left"),
        ("distribution", "left"),
        ("S1", "right"),
        ("±", "right"),
        ("ST", "right"),
        ("±", "right"),
    )
    for col, just in columns:
        table.add_column(col, justify=just, overflow="fold")
    for i, row in enumerate(r.indices.head(top).to_dict(orient="records"), start=1):
        table.add_row(
            str(i),
            str(row["parameter"]),
            str(row["distribution"]),
            f"{float(row['S1']):.3f}",
            f"{float(row['S1_conf']):.3f}",
            f"{float(row['ST']):.3f}",
            f"{float(row['ST_conf']):.3f}",
        )
    console.print(table)
    if len(r.indices) > top:
        console.print(
            f"... {len(r.indices) - top} more parameters: use --top or --format csv/json.", style="dim"
        )
    for p, why in zip(r.fixed["parameter"], r.fixed["reason"], strict=True):
        console.print(f"not varied: {p}: {why}", style="dim", highlight=False)
    if r.status is SobolStatus.CONSTANT_OUTCOME:
        console.print("The outcome is the same on every run: no parameter moves it.", highlight=False)
    if r.sum_s1 > 1.05 or bool((r.indices["ST"] > 1.05).any()):
        console.print(
            f"Estimates above 1: N = {r.n} is too small for this outcome; try --n {4 * r.n}.",
            style="yellow",
            highlight=False,
        )
    console.print(
        f"S1: share of the variance a parameter explains alone; ST: including its interactions. "
        f"Sum of S1 = {r.sum_s1:.2f} (status {r.status}). See critmin.simulate.analysis.sobol.",
        style="dim",
        highlight=False,
    )


def _check_size(sc: Scenario, unit: int, per: int, metric: str, region: str, *, sobol: bool) -> None:
    """Refuse, before the dataset loads, a design whose one run would not fit memory.

    The run has ``unit`` x ``per`` paths: the tornado's --paths x (1 + 2 x parameters), or
    Sobol's --n x (parameters + 2); the fix names a value of the option (a power of two for
    --n). The analyses check again (library callers).
    """
    keep = region == EX_CHINA and metric not in ADDITIVE and metric != "peak_price_ratio"
    check_run(
        sc.commodities,
        len(sc.months()),
        len(sc.regions),
        unit * per,
        keep_trace=keep,
        option="--n" if sobol else "--paths",
        per=per,
        power_of_two=sobol,
    )


@contextmanager
def _executor(workers: int | None, scheduler: str | None) -> Iterator[Executor]:
    """The executor ``--workers``/``--scheduler`` ask for, closed after the command."""
    ex = executor_for(workers, scheduler)
    try:
        yield ex
    finally:
        close = getattr(ex, "close", None)
        if close is not None:
            close()
