"""``critmin plan``: the least-cost response portfolio of a PLAN.yaml (or a bundled plan)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from critmin.cli._output import bold_lead, console, emit_json
from critmin.errors import DataError


class PlanFormat(StrEnum):
    """Output formats of ``critmin plan``."""

    TABLE = "table"
    JSON = "json"
    XLSX = "xlsx"


OUT_SUFFIXES = (".json", ".xlsx", ".csv", ".parquet")


def plan_cmd(
    plan: str | None = typer.Argument(None, help="A PLAN.yaml path or a bundled plan (us, eu, allied)."),
    fmt: PlanFormat = typer.Option(
        PlanFormat.TABLE, "--format", "-f", help="table, json, or xlsx (written to --out, default plan.xlsx)."
    ),
    out: Path | None = typer.Option(None, help="Write the result to .json, .xlsx, .csv or .parquet."),
    futures: int | None = typer.Option(
        None, min=2, max=5000, help="Futures to optimise on (default: the plan's)."
    ),
    seed: int | None = typer.Option(None, min=0, help="Seed of the futures (default: the plan's)."),
    verify: bool = typer.Option(
        False, "--verify", help="Replay the plan in the simulator on unseen futures."
    ),
    paths: int = typer.Option(200, "--paths", min=2, max=5000, help="Futures of the closed-loop check."),
    frontier: bool = typer.Option(
        False, "--frontier", help="Cost vs resilience frontier and near-optimal alternatives."
    ),
    value: bool = typer.Option(
        False, "--value", help="Value of the stochastic solution and of perfect information."
    ),
    list_plans: bool = typer.Option(False, "--list", help="List the bundled plans and exit."),
    no_store: bool = typer.Option(
        False,
        "--no-store",
        help="Do not keep the run in the store (by default every run is stored: `critmin runs list`).",
    ),
) -> None:
    """Optimise a response plan on the simulator's futures: offtakes, co-financing, stockpiles, floors."""
    from critmin.plan.spec import bundled_plans, load_plan

    if list_plans:
        for name in bundled_plans():
            console.print(name, highlight=False)
        return
    if plan is None:
        raise DataError("give a plan (a PLAN.yaml path or a bundled name)", fix="e.g. critmin plan us")
    if out is not None and out.suffix not in OUT_SUFFIXES:
        raise DataError(
            f"cannot write {out.suffix or 'a file without a suffix'}",
            column="--out",
            fix=f"use one of {', '.join(OUT_SUFFIXES)}",
        )
    spec = load_plan(plan)
    import warnings

    from linopy.config import LinopySemanticsWarning

    # masked variable slots count as zero in sums, as the model intends (linopy's legacy rule)
    warnings.filterwarnings("ignore", category=LinopySemanticsWarning)
    changes: dict[str, Any] = {}
    if futures is not None:
        changes["futures"] = futures
    if seed is not None:
        changes["seed"] = seed
    if changes:
        spec = spec.with_changes(**changes)
    from critmin.plan.futures import model_inputs
    from critmin.plan.solve import solve_plan

    with console.status(f"sampling {spec.futures} futures of {spec.scenario}", spinner="dots"):
        inputs, version = model_inputs(spec)
    with console.status("solving", spinner="dots"):
        result = solve_plan(spec, inputs, data_version=version)
    if value and result.objective_musd is not None:
        from critmin.plan.value import value_of_information

        with console.status("value of the stochastic solution and of perfect information", spinner="dots"):
            result = value_of_information(result, inputs)
    if frontier and result.objective_musd is not None:
        from dataclasses import replace

        from critmin.plan.frontier import alternatives, pareto_frontier

        with console.status("frontier", spinner="dots"):
            points = pareto_frontier(spec, inputs)
            result = replace(result, frontier=points, alternatives=alternatives(spec, inputs, result))
    if verify and result.objective_musd is not None:
        from critmin.plan.verify import verify_plan

        with console.status(f"replaying the plan on {paths} unseen futures", spinner="dots"):
            result = verify_plan(result, paths=paths)
    if not no_store:  # the run store (critmin runs): the result with its frontier when computed
        store_plan_run(result)
    target = out if out is not None else (Path("plan.xlsx") if fmt is PlanFormat.XLSX else None)
    if target is not None:
        result.write(target)  # the frontier and alternatives go with it (sheets / JSON keys)
    if fmt is PlanFormat.JSON:
        emit_json(result.to_dict())
    else:
        _render(result)
        if target is not None:
            console.print(f"wrote {target}", highlight=False)
    if result.status.value in ("infeasible", "unbounded"):
        raise typer.Exit(1)


def store_plan_run(result: Any) -> str | None:
    """Keep a plan run (and its frontier and alternatives, when computed) in the run store; say
    its id on stderr (a store that cannot be written is one warning line)."""
    from critmin.cli.runs import store_result

    tables = {
        k: getattr(result, k) for k in ("frontier", "alternatives") if getattr(result, k, None) is not None
    }
    return store_result(lambda store: store.save_plan_result(result, tables))


def _render(r: Any) -> None:
    from critmin.plan.solve import money

    s = r.spec
    obj = "-" if r.objective_musd is None else money(r.objective_musd)
    console.print(
        bold_lead(
            s.name,
            f": {r.status.value}, expected NPV cost {obj}; {r.futures} futures of {s.scenario}, seed "
            f"{r.seed}, {s.years.start}-{s.years.end}, data_version {r.data_version}",
        )
    )
    if r.conflicts:
        console.print(
            "The plan's targets conflict (relaxing any one of these makes it feasible):", highlight=False
        )
        for c in r.conflicts:
            console.print(f"  - {c}", highlight=False)
        return
    t = Table(title="Portfolio", title_justify="left")
    for col in ("instrument", "buyer", "project", "product", "host", "years", "amount", "unit", "detail"):
        t.add_column(col, justify="right" if col == "amount" else "left", overflow="fold")
    cols = ("instrument", "buyer", "project", "product", "host", "years", "amount", "unit", "detail")
    for row in r.portfolio.to_dict(orient="records"):
        t.add_row(*(f"{row[c]:,.0f}" if c == "amount" else str(row[c]) for c in cols))
    console.print(t)
    c = Table(title="Expected NPV cost by instrument and payer (US$ m)", title_justify="left")
    c.add_column("instrument")
    c.add_column("payer")
    c.add_column("US$ m", justify="right")
    for row in r.costs.to_dict(orient="records"):
        if abs(row["expected_npv_musd"]) > 1e-6:
            c.add_row(row["instrument"], row["payer"], f"{row['expected_npv_musd']:,.1f}")
    console.print(c)
    if r.shadows:
        console.print("Binding targets and their shadow prices:", highlight=False)
        for sh in r.shadows:
            console.print(f"  - {sh.statement}", highlight=False)
    if r.in_sample:
        console.print(
            "In-sample: " + "; ".join(f"{k}: {v:.0%} of futures" for k, v in r.in_sample.items()),
            highlight=False,
        )
    v = r.value
    if v is not None:
        console.print(
            f"VSS {money(v.vss_musd) if v.vss_musd is not None else '-'}; EVPI "
            f"{money(v.evpi_musd) if v.evpi_musd is not None else '-'} "
            f"(on {v.evpi_futures} futures). {v.note}",
            highlight=False,
        )
    if r.frontier is not None and r.alternatives is not None:
        f = Table(title="Frontier: cost vs resilience target", title_justify="left")
        for col in r.frontier.columns:
            f.add_column(str(col))
        for row in r.frontier.itertuples(index=False):
            f.add_row(*(f"{x:,.3g}" if isinstance(x, float) else str(x) for x in row))
        console.print(f)
        a = Table(title="Near-optimal alternatives (within 5% of the least cost)", title_justify="left")
        for col in r.alternatives.columns:
            a.add_column(str(col))
        for row in r.alternatives.itertuples(index=False):
            a.add_row(*(f"{x:,.3g}" if isinstance(x, float) else str(x) for x in row))
        console.print(a)
    if r.verification is not None:
        vt = Table(title="Closed loop: share of futures in which each target holds", title_justify="left")
        tab = r.verification.table()
        for col in tab.columns:
            vt.add_column(str(col))
        for row in tab.itertuples(index=False):
            vt.add_row(*(f"{x:.0%}" if isinstance(x, float) else str(x) for x in row))
        console.print(vt)
    console.print(
        "Money in US$ m, expected net present cost at the economics data's real discount rate; "
        "shadow prices with the portfolio's yes/no choices fixed. Notes: "
        + "; ".join(f"{k}: {v}" for k, v in r.notes.items()),
        style="dim",
        highlight=False,
    )
