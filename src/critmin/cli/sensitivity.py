"""``critmin sensitivity``: which uncertain parameters drive a scenario's outcome (a tornado)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.console import JustifyMethod
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from critmin.cli._output import Format, console, emit_json
from critmin.data.load import load_dataset
from critmin.simulate.run import METRICS
from critmin.simulate.scenario import load_scenario
from critmin.simulate.sensitivity import EX_CHINA, tornado, tornado_to_dict

_FMT = {
    "peak_shortfall_pct": "{:,.1f}",
    "cumulative_shortfall_t": "{:,.0f}",
    "months_below_90pct": "{:,.1f}",
    "peak_price_ratio": "{:,.2f}",
    "output_at_risk_usd": "{:,.3g}",
}


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
    seed: int = typer.Option(0, help="Random seed (used when --paths > 1)."),
    fmt: Format = typer.Option(Format.TABLE, "--format", "-f", help="Output format."),
    plot: Path | None = typer.Option(None, help="Write the tornado chart to PLOT (.html or .png)."),
    top: int = typer.Option(15, help="Rows shown in the table view and the chart (all rows in csv/json)."),
) -> None:
    """One-at-a-time sensitivity: each uncertain parameter at its p5 and p95, the others at medians."""
    sc = load_scenario(scenario, variant=variant)
    ds = load_dataset()
    with Progress(
        TextColumn(f"sensitivity of {metric} ({region}) in {sc.name}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} runs"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=fmt is not Format.TABLE,
    ) as progress:
        task = progress.add_task("run", total=None)
        table = tornado(
            sc,
            metric,
            region,
            paths=paths,
            seed=seed,
            dataset=ds,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
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
        print(table.to_csv(index=False), end="")
    else:
        _render(table, top)


def _render(t: pd.DataFrame, top: int) -> None:
    a = t.attrs
    fmt = _FMT.get(str(a["metric"]), "{:,.4g}")
    base = float(a["outcome_base"])
    lo_q, hi_q = f"p{float(a['low']) * 100:g}", f"p{float(a['high']) * 100:g}"
    console.print(
        f"[bold]{a['scenario']}[/]: {a['metric']} in {a['region']}, all parameters at their medians = "
        f"{fmt.format(base)}; paths per case {a['paths']}, data_version {a['data_version']}",
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
