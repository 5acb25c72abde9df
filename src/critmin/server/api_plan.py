"""Planning routes of ``/api/v1`` (issues 13 and 14): plan solves, stockpile sizings, price floors.

* ``GET /plans/bundled`` and ``GET /plans/bundled/{name}``: the bundled plans (``critmin plan
  --list``) and one plan's file and resolved spec;
* ``POST /plans``: a plan solve as a job (:mod:`critmin.server.plan_jobs`: a bundled name or
  PLAN.yaml text, ``futures``/``seed``/``verify``/``paths``/``frontier``/``value``), answered at
  once with the job (202); ``GET /plans`` lists the plan and stockpile jobs, ``GET
  /plans/{job_id}`` is one job's status and progress, ``DELETE /plans/{job_id}`` cancels it,
  ``GET /plans/{job_id}/result`` is the finished job's ``critmin plan --format json`` (or
  ``critmin stockpile --format json``) document with, for plans, ``view``: the tables with human
  labels (:func:`critmin.server.plan_figures.plan_view`);
* ``GET /plans/{ident}/figures/costs`` and ``.../figures/frontier``: plotly JSON of a plan's
  cost by instrument and payer and of its frontier; ``ident`` is a plan job id or a stored plan
  run id (``plan-...``); ``GET /plans/{ident}/view`` the labelled tables of either;
* ``POST /plans/stockpile``: a stockpile sizing (``critmin stockpile``) as a job;
* ``POST /plans/floor`` takes the ``critmin floor`` options as JSON (``example`` fills the rest;
  given fields override it) and answers its ``--format json`` document at once, valued on the
  fitted price model. Paths are bounded by the server's ``max_paths``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from critmin.errors import DataError
from critmin.server.api import figure_json, safe_json, state
from critmin.server.api_sim import finished, stored
from critmin.server.plan_jobs import (
    PLAN_KINDS,
    PlanRequest,
    StockpileRequest,
    resolve_plan,
    resolve_stockpile,
    unknown_plan,
)
from critmin.server.state import AppState

router = APIRouter(prefix="/api/v1")


class FloorRequest(BaseModel):
    """``critmin floor`` options (the same names, US$/kg, t/yr, years, YYYY-MM)."""

    model_config = ConfigDict(extra="forbid")

    example: str | None = Field(None, description="A bundled example (dod-mp); other fields override it.")
    product: str | None = None
    floor_usd_per_kg: float | None = None
    volume_t_per_year: float | None = None
    years: float | None = None
    start: str | None = None
    upside_share: float | None = None
    upside_strike: float | None = None
    upside_start: str | None = None
    discount_rate: float | None = None
    paths: int = Field(2000, strict=True)
    seed: int = Field(0, strict=True)


_OPTIONS = {"floor_usd_per_kg": "--floor", "volume_t_per_year": "--volume-t", "years": "--years"}


@router.post("/plans/floor", summary="Expected NPV of a price floor's payments (critmin floor)")
def floor_route(request: Request, req: FloorRequest) -> JSONResponse:
    from critmin.plan.floor import FloorSpec, example_spec, value_floor

    st = state(request)
    if req.paths > st.settings.max_paths:
        raise DataError(
            f"paths {req.paths:,} is over this server's limit of {st.settings.max_paths:,}",
            column="paths",
            fix=f"use paths {st.settings.max_paths:,} or less",
        )
    base: dict[str, Any] = asdict(example_spec(req.example)) if req.example is not None else {}
    given = req.model_dump(exclude={"example", "paths", "seed"}, exclude_none=True)
    spec_args = {**base, **given}
    for key, opt in _OPTIONS.items():
        if key not in spec_args:
            raise DataError(f"missing {opt}", column=key, fix=f"give {key} or example dod-mp")
    spec = FloorSpec(**spec_args)
    result = value_floor(spec, paths=req.paths, seed=req.seed, dataset=st.dataset(), example=req.example)
    return safe_json(result.to_dict())


# ---------------------------------------------------------------------------- bundled plans
def _plan_rows() -> list[dict[str, Any]]:
    from critmin.plan.spec import bundled_plans, load_plan
    from critmin.server.plan_figures import product_words, region_words

    rows = []
    for name in bundled_plans():
        spec = load_plan(name)
        rows.append(
            {
                "name": name,
                "description": " ".join(spec.description.split()),
                "scenario": spec.scenario,
                "futures": spec.futures,
                "seed": spec.seed,
                "years": [spec.years.start, spec.years.end],
                "buyers": [
                    {"region": b.region, "label": region_words(b.region), "payer": b.payer}
                    for b in spec.buyers
                ],
                "products": [{"id": p, "label": product_words(p)} for p in spec.products],
            }
        )
    return rows


@router.get("/plans/bundled", summary="Bundled plans (critmin plan --list) with their scenario and buyers")
def plans_bundled(request: Request) -> JSONResponse:
    return safe_json({"plans": state(request).cached(("plans",), _plan_rows, size=4)})


@router.get("/plans/bundled/{name}", summary="One bundled plan: the file as written and resolved")
def plan_bundled(name: str) -> JSONResponse:
    import json
    from importlib import resources

    from critmin.plan.spec import bundled_plans, load_plan

    if name not in bundled_plans():
        raise unknown_plan(name)
    text = (resources.files("critmin.plan") / "plans" / f"{name}.yaml").read_text(encoding="utf-8")
    return safe_json({"name": name, "yaml": text, "resolved": json.loads(load_plan(name).model_dump_json())})


# ---------------------------------------------------------------------------- plan jobs
@router.post("/plans", status_code=202, summary="Submit a plan solve (critmin plan) as a job")
def plan_submit(request: Request, req: PlanRequest) -> JSONResponse:
    st = state(request)
    spec, opts = resolve_plan(st, req)
    assert st.jobs is not None
    summary = {
        "plan": spec.name,
        "scenario": spec.scenario,
        "futures": spec.futures,
        "seed": spec.seed,
        "years": [spec.years.start, spec.years.end],
        "verify": opts["verify"],
        "paths": opts["paths"] if opts["verify"] else None,
        "frontier": opts["frontier"],
        "frontier_months": list(opts["months"]),
        "value": opts["value"],
        "from_text": req.plan_yaml is not None,
    }
    job = st.jobs.submit(summary, payload=(spec, opts), kind="plan")
    return JSONResponse(job.to_dict(), status_code=202)


@router.post(
    "/plans/stockpile", status_code=202, summary="Submit a stockpile sizing (critmin stockpile) as a job"
)
def stockpile_submit(request: Request, req: StockpileRequest) -> JSONResponse:
    st = state(request)
    spec = resolve_stockpile(st, req)
    assert st.jobs is not None
    summary = {**asdict(spec), "paths": req.paths, "seed": req.seed}
    job = st.jobs.submit(summary, payload=(spec, req.paths, req.seed, req.store), kind="stockpile")
    return JSONResponse(job.to_dict(), status_code=202)


@router.get("/plans", summary="Kept plan and stockpile jobs, oldest first")
def plan_list(request: Request) -> JSONResponse:
    st = state(request)
    assert st.jobs is not None
    return safe_json({"jobs": [j.to_dict() for j in st.jobs.list(PLAN_KINDS)]})


@router.get("/plans/{job_id}", summary="A plan or stockpile job's status, progress and phase")
def plan_status(request: Request, job_id: str) -> JSONResponse:
    st = state(request)
    assert st.jobs is not None
    return safe_json(st.jobs.get(job_id, PLAN_KINDS).to_dict())


@router.delete("/plans/{job_id}", summary="Cancel a queued or running plan or stockpile job")
def plan_cancel(request: Request, job_id: str) -> JSONResponse:
    st = state(request)
    assert st.jobs is not None
    return safe_json(st.jobs.cancel(job_id, PLAN_KINDS).to_dict())


def _plan_tables(st: AppState, ident: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tables, meta) of a finished plan job or a stored plan run."""
    if ident.startswith("job-"):
        job = finished(st, ident, PLAN_KINDS)
        if job.kind != "plan":
            raise DataError(
                f"job {ident} is a {job.kind} job", column="job_id", fix="give a plan job or plan run id"
            )
        return job.outputs["tables"], job.outputs["meta"]
    record, tables = stored(st, ident)
    if record.kind != "plan":
        raise DataError(
            f"run {ident} is a {record.kind} run, not a plan run",
            column="run_id",
            fix="give a plan run id (GET /api/v1/runs lists each run's kind)",
        )
    return tables, dict(record.meta or {})


@router.get(
    "/plans/{job_id}/result", summary="A finished job's result (critmin plan/stockpile --format json)"
)
def plan_result(request: Request, job_id: str) -> JSONResponse:
    from critmin.server.plan_figures import plan_view

    job = finished(state(request), job_id, PLAN_KINDS)
    doc = {**job.outputs["result"], "run_id": job.run_id, "job_id": job.id, "kind": job.kind}
    if job.kind == "plan":
        doc["view"] = plan_view(job.outputs["tables"], job.outputs["meta"])
    return safe_json(doc)


@router.get("/plans/{ident}/view", summary="A plan job's or stored plan run's tables with human labels")
def plan_view_route(request: Request, ident: str) -> JSONResponse:
    from critmin.server.plan_figures import plan_view

    tables, meta = _plan_tables(state(request), ident)
    return safe_json({**plan_view(tables, meta), "id": ident})


@router.get("/plans/{ident}/figures/costs", summary="A plan's expected cost by instrument and payer (plotly)")
def plan_cost_figure(request: Request, ident: str) -> JSONResponse:
    from critmin.server.plan_figures import cost_figure

    tables, meta = _plan_tables(state(request), ident)
    title = f"{meta.get('plan', 'plan')}: expected net present cost by instrument and payer (US$ m)"
    return JSONResponse(figure_json(cost_figure(tables.get("costs"), title)))


@router.get("/plans/{ident}/figures/frontier", summary="A plan's cost vs resilience frontier (plotly)")
def plan_frontier_figure(request: Request, ident: str) -> JSONResponse:
    from critmin.server.plan_figures import frontier_figure

    tables, _ = _plan_tables(state(request), ident)
    if "frontier" not in tables:
        raise DataError(
            f"{ident} has no frontier",
            column="frontier",
            fix='submit the plan with "frontier": true (POST /api/v1/plans)',
        )
    return JSONResponse(figure_json(frontier_figure(tables["frontier"])))
