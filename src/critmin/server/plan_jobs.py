"""Plan and stockpile jobs of the API: requests, their validation, and the runs the job queue makes.

``POST /api/v1/plans`` takes a bundled plan name or a PLAN.yaml text, with the ``critmin plan``
knobs (``futures``, ``seed``, ``verify`` with ``paths``, ``frontier``, ``value``); ``POST
/api/v1/plans/stockpile`` the ``critmin stockpile`` options. Both are read by the CLI's own
loaders (:func:`critmin.plan.spec.parse_plan`, :class:`critmin.plan.stockpile.StockpileSpec`),
so the messages are the CLI's (``plan.yaml:12: column 'constraints...'``), plus this server's
caps (:class:`critmin.server.state.Settings`: ``max_plan_futures``, ``max_plan_paths``,
``max_plan_solve_s``), each named in its error. A plan sent as text may only name a bundled
scenario (the server never reads a path a request names).

A plan job counts steps (futures, solve, value of information, each frontier point, the
alternatives, the closed-loop replay) and checks for a cancel between them: a running HiGHS
solve or simulator replay finishes before the job stops. A stockpile job counts the
simulations of its search (at most ``max_evals + 1``) and stops within a simulated month of a
cancel. A finished job is stored as a run (:meth:`critmin.store.runs.RunStore.save_plan_result`,
:meth:`~critmin.store.runs.RunStore.save_stockpile`) unless the request says ``"store": false``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from critmin.errors import DataError
from critmin.jsonsafe import json_safe
from critmin.server.errors import ApiError
from critmin.server.jobs import Job, ProgressExecutor
from critmin.server.state import AppState

if TYPE_CHECKING:
    from critmin.plan.spec import PlanSpec
    from critmin.plan.stockpile import StockpileSpec

#: The job kinds the /plans routes serve.
PLAN_KINDS = ("plan", "stockpile")
#: Where a plan sent as text is said to be in messages (``plan.yaml:12: ...``).
PLAN_TEXT_NAME = "plan.yaml"
_YAML_MAX = 1024 * 1024
#: Frontier targets a request may ask for: months of a China cut-off, at most this many points.
MAX_FRONTIER_POINTS = 12
MAX_CUTOFF_MONTHS = 36


class PlanRequest(BaseModel):
    """A plan solve: a bundled plan or PLAN.yaml text, and the ``critmin plan`` knobs."""

    model_config = ConfigDict(extra="forbid")

    plan: str | None = Field(None, description="A bundled plan (GET /api/v1/plans/bundled): us, eu, allied.")
    plan_yaml: str | None = Field(None, max_length=_YAML_MAX, description="A PLAN.yaml as text.")
    futures: int | None = Field(
        None, strict=True, description="Futures to optimise on (default: the plan's); capped by the server."
    )
    seed: int | None = Field(None, strict=True, description="Seed of the futures (default: the plan's).")
    verify: bool = Field(False, description="Replay the plan in the simulator on unseen futures.")
    paths: int = Field(200, strict=True, description="Futures of the closed-loop replay (with verify).")
    frontier: bool = Field(False, description="Cost vs resilience frontier and near-optimal alternatives.")
    frontier_months: list[int] | None = Field(
        None, description="Cut-off targets of the frontier, months (default 0, 1, 3, 6, 9, 12, 18, 24)."
    )
    value: bool = Field(False, description="Value of the stochastic solution and of perfect information.")
    store: bool = Field(True, description="Store the finished run (GET /api/v1/runs).")


class StockpileRequest(BaseModel):
    """A stockpile sizing (``critmin stockpile``): the same options, snake_case."""

    model_config = ConfigDict(extra="forbid")

    scenario: str = Field(..., description="A bundled scenario (GET /api/v1/scenarios).")
    region: str = Field(..., description="Region that holds the stockpile (ISO3, EU27).")
    product: str = Field("ndfeb_magnets", description="Product (chain): ndfeb_magnets, gallium, ...")
    target_shortfall_pct: float = Field(..., description="Largest shortfall X, % of demand.")
    confidence: float = Field(..., description="Probability p in (0, 1) with which the target must hold.")
    metric: str = Field("peak", description="peak or cumulative.")
    fill_months: int = Field(12, strict=True, description="Months over which it is bought.")
    evaluate_from: str | None = Field(None, description="First month the target applies, YYYY-MM.")
    end: str | None = Field(None, description="Last month of the run, YYYY-MM.")
    release_share_per_month: float = Field(0.1, description="Largest monthly release, share of the stock.")
    paths: int = Field(200, strict=True, description="Monte Carlo paths per run (capped by the server).")
    seed: int = Field(0, strict=True, description="Random seed.")
    store: bool = Field(True, description="Store the finished run (GET /api/v1/runs).")


# ---------------------------------------------------------------------------- validation
def unknown_plan(name: str) -> ApiError:
    """404 for a plan name that is not bundled, with the nearest name and the bundled ones."""
    from critmin.cli.choices import nearest
    from critmin.plan.spec import bundled_plans

    names = bundled_plans()
    near = nearest(name, names)
    hint = f"did you mean {near!r}? " if near else ""
    return ApiError(
        404,
        f"unknown plan {name!r}",
        field="plan",
        fix=f"{hint}give one of the bundled plans: {', '.join(names)} (GET /api/v1/plans/bundled), "
        "or send plan_yaml",
    )


def _range(value: int, name: str, lo: int, hi: int, why: str) -> None:
    if not lo <= value <= hi:
        raise DataError(
            f"{name} {value:,} is out of range",
            column=name,
            fix=f"give {lo:,} to {hi:,} ({why})",
        )


def resolve_plan(st: AppState, req: PlanRequest) -> tuple[PlanSpec, dict[str, Any]]:
    """The request's plan spec (knobs applied) and run options, or one error (module docstring)."""
    from critmin.plan.spec import MAX_FUTURES, bundled_plans, load_plan, parse_plan
    from critmin.simulate import bundled_scenarios
    from critmin.simulate.budget import check_seed
    from critmin.simulate.inputs.yamlload import line_of, load_yaml

    cfg = st.settings
    if (req.plan is None) == (req.plan_yaml is None):
        raise DataError(
            "give a plan (a bundled name) or plan_yaml, not both or neither",
            column="plan",
            fix='e.g. {"plan": "us", "futures": 8}',
        )
    root = None
    where: str | None = None
    if req.plan is not None:
        if req.plan not in bundled_plans():
            raise unknown_plan(req.plan)
        spec = load_plan(req.plan)
    else:
        where = PLAN_TEXT_NAME
        text = req.plan_yaml or ""
        spec = parse_plan(text, Path(PLAN_TEXT_NAME))
        _, root = load_yaml(text, Path(PLAN_TEXT_NAME))

    def line(*loc: Any) -> int | None:
        return line_of(root, loc) if root is not None else None

    from critmin.plan.economics import load_economics
    from critmin.plan.futures import plan_projects

    plan_projects(spec, load_economics())  # unknown project ids fail here, not in the job
    if spec.scenario not in bundled_scenarios():
        raise DataError(
            f"scenario {spec.scenario!r} is not a bundled scenario",
            path=where,
            line=line("scenario"),
            column="scenario",
            fix="name a bundled scenario (GET /api/v1/scenarios): this server reads no scenario "
            "files; the CLI (critmin plan) does",
        )
    limit = min(cfg.max_plan_futures, MAX_FUTURES)
    why = f"this server's limit; the CLI takes up to {MAX_FUTURES:,}"
    changes: dict[str, Any] = {}
    if req.futures is not None:
        _range(req.futures, "futures", 2, limit, why)
        changes["futures"] = req.futures
    elif spec.futures > limit:
        raise DataError(
            f"futures {spec.futures:,} is over this server's limit of {limit:,}",
            path=where,
            line=line("futures"),
            column="futures",
            fix=f"send futures {limit:,} or less (the CLI takes up to {MAX_FUTURES:,})",
        )
    if req.seed is not None:
        check_seed(req.seed, option="seed")
        changes["seed"] = req.seed
    if changes:
        spec = spec.with_changes(**changes)
    if spec.solver.time_limit_s > cfg.max_plan_solve_s:
        raise DataError(
            f"solver.time_limit_s {spec.solver.time_limit_s:g} is over this server's limit of "
            f"{cfg.max_plan_solve_s:g} s",
            path=where,
            line=line("solver", "time_limit_s"),
            column="solver.time_limit_s",
            fix=f"set solver.time_limit_s to {cfg.max_plan_solve_s:g} or less, or run the CLI",
        )
    if req.verify:
        _range(req.paths, "paths", 2, cfg.max_plan_paths, "this server's limit; the CLI takes up to 5,000")
    months: tuple[int, ...] = ()
    if req.frontier:
        from critmin.plan.frontier import MONTHS

        months = tuple(req.frontier_months) if req.frontier_months is not None else MONTHS
        if not 1 <= len(months) <= MAX_FRONTIER_POINTS:
            raise DataError(
                f"{len(months)} frontier points",
                column="frontier_months",
                fix=f"give 1 to {MAX_FRONTIER_POINTS} cut-off targets in months, e.g. [0, 6, 12]",
            )
        for m in months:
            _range(m, "frontier_months", 0, MAX_CUTOFF_MONTHS, "months of a China cut-off")
        months = tuple(sorted(set(months)))
    opts = {
        "verify": req.verify,
        "paths": req.paths,
        "frontier": req.frontier,
        "months": months,
        "value": req.value,
        "store": req.store,
    }
    return spec, opts


def resolve_stockpile(st: AppState, req: StockpileRequest) -> StockpileSpec:
    """The request's stockpile spec (the CLI's checks, a bundled scenario, the server's caps)."""
    from critmin.plan.stockpile import StockpileSpec, chain_of
    from critmin.server.api_sim import bundled_file
    from critmin.simulate import load_scenario
    from critmin.simulate.budget import check_run, check_seed

    cfg = st.settings
    check_seed(req.seed, option="seed")
    _range(req.paths, "paths", 1, cfg.max_plan_paths, "this server's limit; the CLI takes up to 100,000")
    for name, v in (("target_shortfall_pct", req.target_shortfall_pct), ("confidence", req.confidence)):
        if not math.isfinite(v):
            raise DataError(f"{name} is not a number", column=name, fix="give a finite number")
    sc = load_scenario(str(bundled_file(req.scenario)))
    spec = StockpileSpec(
        scenario=req.scenario,
        region=req.region,
        product=req.product,
        target_shortfall_pct=req.target_shortfall_pct,
        confidence=req.confidence,
        metric=req.metric,
        fill_months=req.fill_months,
        evaluate_from=req.evaluate_from,
        end=req.end,
        release_share_per_month=req.release_share_per_month,
    )
    if spec.region not in sc.regions or spec.region == "CHN":
        regions = ", ".join(r for r in sc.regions if r != "CHN")
        raise DataError(
            f"unknown region {spec.region!r} in scenario {sc.name!r}", column="region", fix=f"use {regions}"
        )
    months = sc.months() if req.end is None else _months(sc.start, req.end)
    check_run(
        (chain_of(spec.product),), len(months), len(sc.regions), req.paths, keep_trace=True, option="paths"
    )
    return spec


def _months(start: str, end: str) -> list[str]:
    from critmin.plan.pricemodel import month_index, month_label

    try:
        a, b = month_index(start), month_index(end)
    except DataError:
        raise DataError(f"end {end!r} is not a month", column="end", fix="give YYYY-MM") from None
    return [month_label(i) for i in range(a, b + 1)]


# ---------------------------------------------------------------------------- running
def run_plan_job(st: AppState, job: Job) -> None:
    """Solve a plan job's spec (its steps: module docstring), store it, keep its outputs."""
    from linopy.config import LinopySemanticsWarning

    from critmin.plan.futures import model_inputs
    from critmin.plan.solve import solve_plan
    from critmin.store.plan_runs import plan_meta, plan_tables

    warnings.filterwarnings("ignore", category=LinopySemanticsWarning)  # masked slots sum as zero
    spec, opts = job.payload
    months: tuple[int, ...] = opts["months"]
    job.total = 2 + int(opts["value"]) + (len(months) + 1 if opts["frontier"] else 0) + int(opts["verify"])

    def step(phase: str) -> None:
        job.check()
        job.phase = phase

    def done() -> None:
        job.done += 1

    step(f"sampling {spec.futures} futures of {spec.scenario}")
    inputs, version = model_inputs(spec)
    done()
    step("solving")
    result = solve_plan(spec, inputs, data_version=version)
    done()
    solved = result.objective_musd is not None
    extra: dict[str, pd.DataFrame] = {}
    if opts["value"]:
        step("value of the stochastic solution and of perfect information")
        if solved:
            from critmin.plan.value import value_of_information

            result = value_of_information(result, inputs)
        done()
    if opts["frontier"]:
        from critmin.plan.frontier import alternatives, pareto_frontier

        points = []
        for i, mo in enumerate(months):
            step(f"frontier point {i + 1} of {len(months)}: a {mo}-month cut-off")
            if solved:
                points.append(pareto_frontier(spec, inputs, months=(mo,)))
            done()
        step("near-optimal alternatives")
        if solved:
            extra["frontier"] = pd.concat(points, ignore_index=True)
            extra["alternatives"] = alternatives(spec, inputs, result)
            result = replace(result, frontier=extra["frontier"], alternatives=extra["alternatives"])
        done()
    if opts["verify"]:
        step(f"replaying the plan on {opts['paths']} unseen futures")
        if solved:
            from critmin.plan.verify import verify_plan

            result = verify_plan(result, paths=opts["paths"])
        done()
    job.check()
    job.phase = "storing"
    run_id = st.runs().save_plan_result(result, extra) if opts["store"] and st.settings.store_runs else None
    doc = result.to_dict()
    for name, frame in extra.items():
        doc[name] = frame.to_dict(orient="records")
    job.outputs = {
        "result": json_safe(doc),
        "tables": plan_tables(result, extra),
        "meta": plan_meta(result),
    }
    job.run_id = run_id
    job.phase = "done"


def run_stockpile_job(st: AppState, job: Job) -> None:
    """Size a stockpile job's spec on the simulator (cancellable per month), store it."""
    from critmin.plan.stockpile import size_stockpile

    spec, paths, seed, store = job.payload
    max_evals = 24
    job.total = max_evals + 1  # an upper bound: the search usually stops well before

    def ran(size: float | None) -> None:
        job.done += 1
        job.phase = (
            "simulated without a stockpile" if size is None else f"simulated a stockpile of {size:,.0f} t"
        )

    job.phase = f"simulating {spec.scenario} without a stockpile ({paths} paths)"
    result = size_stockpile(
        spec,
        paths=paths,
        seed=seed,
        dataset=st.dataset(),
        max_evals=max_evals,
        executor=ProgressExecutor(job, count=False),
        on_run=ran,
    )
    job.check()
    job.done = job.total
    run_id = st.runs().save_stockpile(result) if store and st.settings.store_runs else None
    job.outputs = {"result": json_safe(result.to_dict())}
    job.run_id = run_id
    job.phase = "done"


def run_any(st: AppState, job: Job) -> None:
    """The job queue's runner: a job of any kind."""
    if job.kind == "plan":
        run_plan_job(st, job)
    elif job.kind == "stockpile":
        run_stockpile_job(st, job)
    else:
        from critmin.server.api_sim import run_job

        run_job(st, job)


__all__ = [
    "PLAN_KINDS",
    "PlanRequest",
    "StockpileRequest",
    "resolve_plan",
    "resolve_stockpile",
    "run_any",
    "run_plan_job",
    "run_stockpile_job",
    "unknown_plan",
]
