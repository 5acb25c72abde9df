"""``critmin simulate``: Monte Carlo run of a disruption scenario."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from critmin.cli._output import Format, console, emit_json
from critmin.data.load import load_dataset
from critmin.simulate.run import SimulationResult, simulate
from critmin.simulate.scenario import bundled_scenarios, load_scenario


def simulate_cmd(
    scenario: str = typer.Argument(..., help="Bundled scenario name or a YAML path."),
    paths: int = typer.Option(1000, help="Monte Carlo paths (1 = deterministic at the medians)."),
    seed: int = typer.Option(0, help="Random seed (equal seeds give equal results)."),
    variant: str | None = typer.Option(None, help="A named variant from the scenario's `scenarios:`."),
    start: str | None = typer.Option(None, help="First month YYYY-MM (default from the scenario)."),
    end: str | None = typer.Option(None, help="Last month YYYY-MM (default from the scenario)."),
    fmt: Format = typer.Option(Format.TABLE, "--format", "-f", help="Output format."),
    out: Path | None = typer.Option(
        None, help="Write results to .parquet or .csv (with the resolved scenario)."
    ),
    plot: Path | None = typer.Option(
        None,
        help="Write the fan chart of the ex-China shortfall to PLOT (.html, with a .png beside it, or .png).",
    ),
) -> None:
    """Simulate a scenario month by month; print p5/p50/p95 of shortfall, price and output at risk."""
    sc = load_scenario(scenario, variant=variant)
    if start or end:
        sc = type(sc).model_validate({**sc.model_dump(), "start": start or sc.start, "end": end or sc.end})
    ds = load_dataset()
    n = len(sc.months())
    with Progress(
        TextColumn(f"simulating {sc.name} ({paths} paths)"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} months"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=fmt is not Format.TABLE,
    ) as progress:
        task = progress.add_task("run", total=n)
        result = simulate(
            sc, paths=paths, seed=seed, dataset=ds, on_month=lambda t: progress.update(task, completed=t + 1)
        )
    if out is not None:
        result.write(out)
        console.print(f"wrote {out}", highlight=False) if fmt is Format.TABLE else None
    if plot is not None:
        from critmin.report.fan import fan_chart
        from critmin.report.figures import write_figure

        written = write_figure(fan_chart(result), plot)
        if fmt is Format.TABLE:
            console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
    if fmt is Format.JSON:
        emit_json(result.to_dict())
    elif fmt is Format.CSV:
        print(result.summary.to_csv(index=False), end="")
    else:
        _render(result)


def _render(r: SimulationResult) -> None:
    s = r.summary
    console.print(
        f"[bold]{r.scenario.name}[/]: {r.months[0]} to {r.months[-1]}, {r.paths} paths, seed {r.seed}, "
        f"data_version {r.data_version}"
    )
    if r.scenario.description:
        console.print(r.scenario.description.strip(), style="dim")
    t = Table(title="NdFeB magnets: p50 \\[p5-p95] across paths", title_justify="left")
    cols = [
        ("peak_shortfall_pct", "peak shortfall %", "{:.0f}"),
        ("months_below_90pct", "months <90%", "{:.0f}"),
        ("cumulative_shortfall_t", "cumulative shortfall t", "{:,.0f}"),
        ("peak_price_ratio", "peak price x", "{:.2f}"),
        ("output_at_risk_usd", "output at risk $bn", "{:,.1f}"),
    ]
    t.add_column("region")
    for _, label, _ in cols:
        t.add_column(label, justify="right")
    order = [x for x in [*r.scenario.regions, "exCHN"] if x in set(s["region"])]
    values = {
        (str(reg), str(met)): (float(a), float(b), float(c))
        for reg, met, a, b, c in zip(s["region"], s["metric"], s["p5"], s["p50"], s["p95"], strict=True)
    }
    for region in order:
        cells = []
        for metric, _, fmt in cols:
            if (region, metric) not in values:
                cells.append("-")
                continue
            scale = 1e-9 if metric == "output_at_risk_usd" else 1.0
            p5, p50, p95 = (v * scale for v in values[(region, metric)])
            cells.append(
                f"{fmt.format(p50)} [{fmt.format(p5)}-{fmt.format(p95)}]" if r.paths > 1 else fmt.format(p50)
            )
        t.add_row(region, *cells)
    console.print(t)
    console.print(
        "peak shortfall: largest monthly unmet demand as % of demand; price x: ex-China (China for CHN) "
        "price relative to the start; output at risk: end-product value that could not be made. "
        f"Assumptions: {', '.join(r.assumption_ids)}.",
        style="dim",
        highlight=False,
    )


def list_scenarios() -> list[str]:
    """Names of the bundled scenarios."""
    return list(bundled_scenarios())
