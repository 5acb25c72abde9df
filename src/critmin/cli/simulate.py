"""``critmin simulate``: Monte Carlo run of a disruption scenario."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from critmin.cells import to_csv_text
from critmin.cli._output import (
    Format,
    bold_lead,
    console,
    emit_json,
    progress_label,
)
from critmin.cli.choices import format_option
from critmin.data.load import load_dataset
from critmin.errors import DataError
from critmin.report.tables import TABLE_SUFFIXES, check_figure_path, check_output_path
from critmin.simulate.budget import MAX_PATHS, check_run, check_seed
from critmin.simulate.chains.registry import CHAIN_IDS, product_title
from critmin.simulate.executors import SCHEDULER_ENV, executor_for
from critmin.simulate.inputs.scenario import load_scenario
from critmin.simulate.inputs.yamlload import validation_error
from critmin.simulate.result import TRACE_LIMIT, SimulationResult
from critmin.simulate.run import simulate


def simulate_cmd(
    scenario: str | None = typer.Argument(None, help="Bundled scenario name or a YAML path."),
    paths: int = typer.Option(
        1000,
        help=f"Monte Carlo paths (1 = deterministic at the medians; at most {MAX_PATHS:,}, and a run "
        "whose estimated memory exceeds 80% of the available memory or CRITMIN_MAX_RUN_MB is refused).",
    ),
    seed: int = typer.Option(0, help="Random seed, 0 to 2^63 - 1 (equal seeds give equal results)."),
    variant: str | None = typer.Option(None, help="A named variant from the scenario's `scenarios:`."),
    start: str | None = typer.Option(None, help="First month YYYY-MM (default from the scenario)."),
    end: str | None = typer.Option(None, help="Last month YYYY-MM (default from the scenario)."),
    fmt: Format = format_option(),
    out: Path | None = typer.Option(
        None, help="Write results to .parquet, .csv or .xlsx (with the resolved scenario beside them)."
    ),
    plot: Path | None = typer.Option(
        None,
        help="Write the fan chart of the ex-China shortfall to PLOT (.html, with a .png beside it, or .png).",
    ),
    plot_chain: str | None = typer.Option(
        None,
        "--plot-chain",
        help="Chain of the fan chart (default the first; dy_tb: the magnet makers' Dy + Tb feed).",
    ),
    commodity: list[str] | None = typer.Option(
        None,
        "--commodity",
        "-c",
        help="Commodity chain(s) to simulate instead of the scenario's (repeatable): "
        + ", ".join(CHAIN_IDS)
        + ".",
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Run path blocks on a local Dask cluster of N worker processes."
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help=f"Send path blocks to an existing Dask cluster (tcp://HOST:PORT; or ${SCHEDULER_ENV}).",
    ),
    list_parameters: bool = typer.Option(
        False, "--list-parameters", help="Print the parameter table (name, unit, bounds, default) and exit."
    ),
    no_store: bool = typer.Option(
        False,
        "--no-store",
        help="Do not keep the run in the store (by default every run is stored: `critmin runs list`).",
    ),
) -> None:
    """Simulate a scenario month by month; print p5/p50/p95 of shortfall, price and output at risk."""
    if list_parameters:
        _print_parameters(fmt)
        return
    if scenario is None:
        raise DataError(
            "give a scenario (a bundled name or a YAML path)", fix="e.g. critmin simulate baseline"
        )
    if out is not None:  # a bad path fails before the run, not after
        check_output_path(out, TABLE_SUFFIXES)
    if plot is not None:
        check_figure_path(plot)
    sc = load_scenario(scenario, variant=variant)
    if start or end or commodity:
        try:
            sc = type(sc).model_validate(
                {
                    **sc.model_dump(),
                    "start": start or sc.start,
                    "end": end or sc.end,
                    "commodities": tuple(commodity) if commodity else sc.commodities,
                }
            )
        except ValidationError as exc:
            err = validation_error(exc, path=None, root=None)
            raise DataError(err.message, column=err.column, fix="see critmin simulate --help") from None
    # bounds and the memory estimate before the dataset loads and anything runs
    n_months, n_regions = len(sc.months()), len(sc.regions)
    check_seed(seed)
    check_run(
        sc.commodities,
        n_months,
        n_regions,
        paths,
        keep_trace=paths * n_months * n_regions <= TRACE_LIMIT,
    )
    executor = executor_for(workers, scheduler)
    ds = load_dataset()
    with Progress(
        TextColumn(progress_label(f"simulating {sc.name} ({paths} paths)"), markup=False),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} blocks of paths"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=fmt is not Format.TABLE,
    ) as progress:
        task = progress.add_task("run", total=None)
        try:
            result = simulate(
                sc,
                paths=paths,
                seed=seed,
                dataset=ds,
                executor=executor,
                on_block=lambda done, total: progress.update(task, completed=done, total=total),
            )
        finally:
            close = getattr(executor, "close", None)
            if close is not None:
                close()
    if out is not None:
        written = result.write_all(out)
        if fmt is Format.TABLE:
            console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
    if plot is not None:
        from critmin.report.fan import fan_chart
        from critmin.report.figures import write_figure

        written = write_figure(fan_chart(result, chain=plot_chain), plot)
        if fmt is Format.TABLE:
            console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
    if not no_store:
        store_run(result)
    if fmt is Format.JSON:
        emit_json(result.to_dict())
    elif fmt is Format.CSV:
        print(to_csv_text(result.summary), end="")
    else:
        _render(result)


def store_run(result: SimulationResult) -> str | None:
    """Keep ``result`` in the run store and say its id on stderr; a store that cannot be
    written is one warning line (the simulation itself has succeeded), and ``None``."""
    from critmin.cli.runs import store_result

    return store_result(lambda store: store.save_simulation(result))


def _render(r: SimulationResult) -> None:
    s = r.summary
    console.print(
        bold_lead(
            r.scenario.name,
            f": {r.months[0]} to {r.months[-1]}, {r.paths} paths, seed {r.seed}, "
            f"data_version {r.data_version}",
        )
    )
    if r.scenario.description:
        console.print(r.scenario.description.strip(), style="dim")
    cols = [
        ("peak_shortfall_pct", "peak shortfall %", "{:.0f}"),
        ("months_below_90pct", "months <90%", "{:.0f}"),
        ("cumulative_shortfall_t", "cumulative shortfall t", "{:,.0f}"),
        ("peak_price_ratio", "peak price x", "{:.2f}"),
        ("peak_price_usd_per_kg", "peak price US$/kg", "{:,.1f}"),
        ("output_at_risk_usd", "output at risk (US$ bn)", "{:,.2f}"),
    ]
    values = {
        (str(reg), str(prod), str(met)): (float(a), float(b), float(c))
        for reg, prod, met, a, b, c in zip(
            s["region"], s["product"], s["metric"], s["p5"], s["p50"], s["p95"], strict=True
        )
    }

    def cell(key: tuple[str, str, str], fmt: str, scale: float = 1.0) -> str:
        if key not in values:
            return "-"
        p5, p50, p95 = (v * scale for v in values[key])
        return f"{fmt.format(p50)} [{fmt.format(p5)}-{fmt.format(p95)}]" if r.paths > 1 else fmt.format(p50)

    for chain in r.chains.values():
        product = chain.product
        title = product_title(product)
        t = Table(title=f"{title}: p50 [p5-p95] across paths", title_justify="left")
        t.add_column("region")
        for _, label, _ in cols:
            t.add_column(label, justify="right")
        regions = {reg for reg, prod, _ in values if prod == product}
        for region in [x for x in [*r.scenario.regions, "exCHN"] if x in regions]:
            t.add_row(
                region,
                *(
                    cell((region, product, m), f, 1e-9 if m == "output_at_risk_usd" else 1.0)
                    for m, _, f in cols
                ),
            )
        console.print(t)
        sectors = sorted(
            {prod.split(":", 1)[1] for _, prod, _ in values if prod.startswith(product + ":")},
            key=lambda x: (x == "other", x),
        )
        if sectors:
            st = Table(
                title=f"{title} by end-use sector: peak shortfall % p50 [p5-p95]", title_justify="left"
            )
            st.add_column("region")
            for sec in sectors:
                st.add_column(sec.replace("_", " "), justify="right")
            for region in [x for x in r.scenario.regions if x != "CHN"]:
                st.add_row(
                    region,
                    *(cell((region, f"{product}:{sec}", "peak_shortfall_pct"), "{:.0f}") for sec in sectors),
                )
            console.print(st)
    for region in r.scenario.regions:
        key = (region, "ndpr_oxide", "price_floor_cost_usd")
        if key in values:
            console.print(
                f"price-floor cost to {region}, the floors' payer, US$ bn: " + cell(key, "{:,.2f}", 1e-9),
                highlight=False,
            )
    console.print(
        "peak shortfall: largest monthly unmet demand as % of demand; price x: ex-China (China for CHN) "
        "price relative to the start; output at risk (US$): for magnets the end-product value that could "
        "not be made, for the other chains the material's USGS price (a lower bound). "
        f"Assumptions: {', '.join(r.assumption_ids)}.",
        style="dim",
        highlight=False,
    )


def _print_parameters(fmt: Format) -> None:
    """The parameter table (``parameters.yaml``): what a scenario's ``parameters`` may set."""
    from critmin.simulate.inputs.params import parameter_frame

    frame = parameter_frame()
    if fmt is Format.JSON:
        emit_json({"parameters": frame.to_dict(orient="records")})
        return
    if fmt is Format.CSV:
        print(to_csv_text(frame), end="")
        return
    t = Table(title="Model parameters (scenario `parameters:` keys)", title_justify="left")
    for col in ("name", "unit", "bounds", "default", "sets"):
        t.add_column(col, overflow="fold")
    for r in frame.to_dict(orient="records"):
        t.add_row(*(str(str(r[c])) for c in ("name", "unit", "bounds", "default", "sets")))
    console.print(t)
