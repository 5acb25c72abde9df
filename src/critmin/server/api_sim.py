"""Scenario, simulation-job, stored-run and project routes of ``/api/v1``.

Scenarios are bundled names or YAML text sent in the request (never a server path): text
and edits (``parameters``, ``event_dates``, ``drop_events``, ``event_fields``,
``start``/``end``, ``commodities``) are written as a YAML file into a private temp folder and
loaded with
:func:`critmin.simulate.load_scenario`, the CLI's loader, so they get the CLI's validation and
its line-numbered messages. Simulations run as jobs (:mod:`critmin.server.jobs`) within the
CLI's limits (:func:`critmin.simulate.budget.check_run`, seed and path bounds) and the server's
``max_paths``; each finished run is stored (:class:`critmin.store.runs.RunStore`) unless the
request says ``"store": false``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from critmin.errors import CritminError, DataError
from critmin.jsonsafe import json_safe
from critmin.server.api import cached_json, figure_json, safe_json, state
from critmin.server.errors import ApiError
from critmin.server.jobs import Job, ProgressExecutor
from critmin.server.state import AppState
from critmin.server.uploads import private_dir

if TYPE_CHECKING:
    from critmin.report.document import ReportRun
    from critmin.simulate.inputs.scenario import Scenario

router = APIRouter(prefix="/api/v1")
_YAML_MAX = 4 * 1024 * 1024
#: The job kinds the /simulations routes serve.
SIM_KINDS = ("simulation",)


# ---------------------------------------------------------------------------- scenarios
def _unknown_scenario(name: str) -> ApiError:
    from critmin.cli.choices import nearest
    from critmin.simulate import bundled_scenarios

    files = bundled_scenarios()
    near = nearest(name, files)
    hint = f"did you mean {near!r}? " if near else ""
    return ApiError(
        404,
        f"unknown scenario {name!r}",
        field="scenario",
        fix=f"{hint}use one of {', '.join(files)} (GET /api/v1/scenarios), or send scenario_yaml",
    )


def bundled_file(name: str) -> Path:
    """The file of a bundled scenario (404 with the nearest names when unknown; never a path)."""
    from critmin.simulate import bundled_scenarios

    files = bundled_scenarios()
    if name not in files:
        raise _unknown_scenario(name)
    return files[name]


def _scenario_rows() -> list[dict[str, Any]]:
    from critmin.infile import read_text
    from critmin.simulate import bundled_scenarios, load_scenario
    from critmin.simulate.inputs.yamlload import load_yaml

    rows = []
    for name, path in bundled_scenarios().items():
        sc = load_scenario(str(path))
        raw, _ = load_yaml(read_text(path, "yaml", what="scenario"), path)
        own = [e.model_dump(mode="json", exclude_none=True) for e in sc.events]
        rows.append(
            {
                "name": name,
                "start": sc.start,
                "end": sc.end,
                "chains": list(sc.commodities),
                "extends": str(raw.get("extends") or "") if isinstance(raw, dict) else "",
                "variants": list(sc.scenarios),
                "description": " ".join(sc.description.split()),
                "regions": list(sc.regions),
                "parameters": json_safe(dict(sc.parameters)),
                "events": own,
            }
        )
    return rows


@router.get("/scenarios", summary="Bundled scenarios (critmin scenarios list), with their events")
def scenarios_list(request: Request) -> JSONResponse:
    return safe_json({"scenarios": state(request).cached(("scenarios",), _scenario_rows, size=4)})


@router.get("/scenarios/{name}", summary="One bundled scenario: the file as written and resolved")
def scenario_show(name: str) -> JSONResponse:
    from critmin.cli.scenarios import resolved_document
    from critmin.infile import read_text
    from critmin.simulate import load_scenario

    path = bundled_file(name)
    text = read_text(path, "yaml", what="scenario")
    return safe_json({"name": name, "yaml": text, "resolved": resolved_document(load_scenario(str(path)))})


class ScenarioSpec(BaseModel):
    """A scenario and edits to it (the ``critmin simulate`` arguments plus the dashboard's knobs)."""

    model_config = ConfigDict(extra="forbid")

    scenario: str | None = Field(None, description="Bundled scenario name (GET /api/v1/scenarios).")
    scenario_yaml: str | None = Field(None, max_length=_YAML_MAX, description="A scenario as YAML text.")
    variant: str | None = Field(None, description="A named variant of the scenario's `scenarios:`.")
    start: str | None = Field(None, description="First month YYYY-MM.")
    end: str | None = Field(None, description="Last month YYYY-MM.")
    commodities: list[str] | None = Field(None, description="Chains to simulate instead of the scenario's.")
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Parameter values to set (name -> value)."
    )
    event_dates: dict[str, str] = Field(default_factory=dict, description="Event id -> new date YYYY-MM-DD.")
    drop_events: list[str] = Field(
        default_factory=list, description="Ids of the scenario's events to leave out."
    )
    event_fields: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Event id -> fields to set on it, e.g. "
        "{'approvals-tighten-2026-11': {'approval_rate': 0.2}}.",
    )

    def edited(self) -> bool:
        return bool(
            self.start
            or self.end
            or self.commodities
            or self.parameters
            or self.event_dates
            or self.drop_events
            or self.event_fields
        )


class SimulationRequest(ScenarioSpec):
    """A simulation job: a scenario (with edits), paths, seed, and whether to store the run."""

    paths: int = Field(1000, strict=True, description="Monte Carlo paths (1 = deterministic at the medians).")
    seed: int = Field(0, strict=True, description="Random seed, 0 to 2^63 - 1.")
    store: bool = Field(True, description="Store the finished run (GET /api/v1/runs).")


def _scrub(exc: CritminError, folder: Path) -> CritminError:
    prefix = str(folder).rstrip("/") + "/"
    if isinstance(exc, DataError):
        return DataError(
            exc.message.replace(prefix, ""),
            path=exc.path.replace(prefix, "") if exc.path else None,
            line=exc.line,
            column=exc.column,
            fix=exc.fix.replace(prefix, "") if exc.fix else None,
        )
    return exc


def _apply_edits(sc: Scenario, spec: ScenarioSpec) -> dict[str, Any]:
    from critmin.cli.scenarios import resolved_document

    doc = resolved_document(sc)
    doc.pop("extends", None)
    if spec.start:
        doc["start"] = spec.start
    if spec.end:
        doc["end"] = spec.end
    if spec.commodities:
        doc["commodities"] = list(spec.commodities)
    if spec.parameters:
        doc["parameters"] = {**doc.get("parameters", {}), **spec.parameters}
    events = list(doc.get("events", []))
    ids = [str(e.get("id")) for e in events]
    for eid in [*spec.drop_events, *spec.event_dates, *spec.event_fields]:
        if eid not in ids:
            raise DataError(
                f"the scenario has no event {eid!r}",
                column="events",
                fix=f"use one of {', '.join(ids) or '(none: it has no events of its own)'}",
            )
    events = [e for e in events if e.get("id") not in set(spec.drop_events)]
    for e in events:
        if e.get("id") in spec.event_dates:
            e["date"] = spec.event_dates[str(e["id"])]
        fields = spec.event_fields.get(str(e.get("id")), {})
        if "id" in fields:
            raise DataError(
                "event_fields cannot change an event's id", column="event_fields", fix="drop the id"
            )
        e.update(fields)
    doc["events"] = events
    return doc


def resolve_scenario(spec: ScenarioSpec) -> Scenario:
    """The scenario ``spec`` names, with its edits, through the CLI's loader (module docstring)."""
    from critmin.simulate import load_scenario

    if (spec.scenario is None) == (spec.scenario_yaml is None):
        raise DataError(
            "give a scenario (a bundled name) or scenario_yaml, not both or neither",
            column="scenario",
            fix='e.g. {"scenario": "baseline"}',
        )
    with private_dir() as folder:
        try:
            if spec.scenario is not None:
                sc = load_scenario(str(bundled_file(spec.scenario)), variant=spec.variant)
            else:
                path = folder / "scenario.yaml"
                path.write_text(spec.scenario_yaml or "", encoding="utf-8")
                sc = load_scenario(str(path), variant=spec.variant)
            if spec.edited():
                path = folder / "edited-scenario.yaml"
                path.write_text(
                    yaml.safe_dump(_apply_edits(sc, spec), sort_keys=False, allow_unicode=True),
                    encoding="utf-8",
                )
                sc = load_scenario(str(path))
        except CritminError as exc:
            raise _scrub(exc, folder) from None
    return sc


@router.post(
    "/scenarios/validate", summary="Validate a scenario (name or YAML, with edits); the resolved document"
)
def scenario_validate(spec: ScenarioSpec) -> JSONResponse:
    from critmin.cli.scenarios import resolved_document

    sc = resolve_scenario(spec)
    return safe_json({"valid": True, "months": len(sc.months()), "resolved": resolved_document(sc)})


# ---------------------------------------------------------------------------- simulations
def check_request(st: AppState, req: SimulationRequest, sc: Scenario) -> None:
    """The CLI's bounds (seed, paths, memory estimate) and the server's ``max_paths``."""
    from critmin.simulate.budget import check_paths, check_run, check_seed
    from critmin.simulate.result import TRACE_LIMIT

    check_seed(req.seed, option="seed")
    check_paths(req.paths, option="paths")
    if req.paths > st.settings.max_paths:
        raise DataError(
            f"paths {req.paths:,} is over this server's limit of {st.settings.max_paths:,}",
            column="paths",
            fix=f"use paths {st.settings.max_paths:,} or less, or the CLI for larger runs",
        )
    n_months, n_regions = len(sc.months()), len(sc.regions)
    check_run(
        sc.commodities,
        n_months,
        n_regions,
        req.paths,
        keep_trace=req.paths * n_months * n_regions <= TRACE_LIMIT,
        option="paths",
    )


def run_job(st: AppState, job: Job) -> None:
    """Run a job's scenario on a :class:`ProgressExecutor`, store it, keep its outputs."""
    from critmin.report.document import ReportRun
    from critmin.simulate.assemble import RunInputs
    from critmin.simulate.run import run

    sc, paths, seed, store = job.payload
    inputs = RunInputs.build(sc, st.dataset(), seed=seed, paths=paths)
    result = run(inputs, executor=ProgressExecutor(job))
    job.check()
    run_id = st.runs().save_simulation(result) if store and st.settings.store_runs else None
    job.outputs = {"result": json_safe(result.to_dict()), "report": ReportRun.from_result(result, run_id)}
    job.run_id = run_id


@router.post("/simulations", status_code=202, summary="Submit a simulation job; returns its id at once")
def simulation_submit(request: Request, req: SimulationRequest) -> JSONResponse:
    st = state(request)
    sc = resolve_scenario(req)
    check_request(st, req, sc)
    assert st.jobs is not None
    summary = {
        "scenario": sc.name,
        "paths": req.paths,
        "seed": req.seed,
        "months": [sc.start, sc.end],
        "edited": req.edited(),
    }
    job = st.jobs.submit(summary, payload=(sc, req.paths, req.seed, req.store))
    return JSONResponse(job.to_dict(), status_code=202)


@router.get("/simulations", summary="Kept simulation jobs, oldest first")
def simulation_list(request: Request) -> JSONResponse:
    st = state(request)
    assert st.jobs is not None
    return safe_json({"jobs": [j.to_dict() for j in st.jobs.list(SIM_KINDS)]})


@router.get("/simulations/{job_id}", summary="A job's status and progress")
def simulation_status(request: Request, job_id: str) -> JSONResponse:
    st = state(request)
    assert st.jobs is not None
    return safe_json(st.jobs.get(job_id, SIM_KINDS).to_dict())


@router.delete("/simulations/{job_id}", summary="Cancel a queued or running job")
def simulation_cancel(request: Request, job_id: str) -> JSONResponse:
    st = state(request)
    assert st.jobs is not None
    return safe_json(st.jobs.cancel(job_id, SIM_KINDS).to_dict())


def finished(st: AppState, job_id: str, kinds: tuple[str, ...] = ("simulation",)) -> Job:
    """A job of ``kinds`` that finished (409 while it waits or runs, 400 with its error when it
    failed; 404 when unknown or of another kind)."""
    assert st.jobs is not None
    job = st.jobs.get(job_id, kinds)
    if job.status in ("queued", "running"):
        route = "simulations" if job.kind == "simulation" else "plans"
        raise ApiError(
            409,
            f"job {job_id} is {job.status}",
            field="job_id",
            fix=f"poll GET /api/v1/{route}/{job_id} until its status is done",
        )
    if job.status != "done":
        err = (job.error or {}).get("error") or job.status
        raise ApiError(
            409 if job.status == "cancelled" else 400,
            f"job {job_id} {job.status}: {err}",
            field="job_id",
            fix=(job.error or {}).get("fix") or "submit it again",
        )
    return job


@router.get(
    "/simulations/{job_id}/result", summary="A finished job's result (critmin simulate --format json)"
)
def simulation_result(request: Request, job_id: str) -> JSONResponse:
    job = finished(state(request), job_id)
    return safe_json({**job.outputs["result"], "run_id": job.run_id, "job_id": job.id})


def _report_of(st: AppState, ident: str) -> ReportRun:
    from critmin.report.document import ReportRun

    if ident.startswith("job-"):
        report: ReportRun = finished(st, ident).outputs["report"]
        return report
    record, tables = stored(st, ident)
    return ReportRun.from_stored(record, tables)


def fan_doc(
    run: ReportRun, other: ReportRun | None, metric: str, chain: str | None, region: str | None
) -> dict[str, Any]:
    """Plotly JSON of a run's fan chart (``region``: one region's shortfall), ``other`` overlaid."""
    from critmin.report.document import distinguish
    from critmin.report.run_figures import FAN_METRICS, run_fan
    from critmin.server.figures import region_fan

    if metric not in FAN_METRICS:
        raise DataError(
            f"unknown fan-chart metric {metric!r}",
            column="metric",
            fix=f"use one of {', '.join(FAN_METRICS)}",
        )
    if chain is not None and chain not in run.chains:
        raise DataError(
            f"the run has no chain {chain!r}", column="chain", fix=f"use one of {', '.join(run.chains)}"
        )
    if other is not None:
        run, other = distinguish(run, other)
    if region in (None, "", "exCHN"):
        return figure_json(run_fan(run, chain=chain, metric=metric, other=other))
    if metric != "shortfall_pct_ex_china" or (chain not in (None, run.primary_chain)):
        raise DataError(
            "per-region fans show the primary chain's shortfall (prices are one market outside China)",
            column="region",
            fix="use region=exCHN for prices and the other chains",
        )
    fig = region_fan(run, region, other=other)
    if fig is None:
        rb = run.tables.get("region_bands")
        known = sorted(set(rb["region"])) if rb is not None and len(rb) else []
        raise DataError(
            f"the run has no monthly series for region {region!r}",
            column="region",
            fix=f"use one of {', '.join(['exCHN', *known])}"
            if known
            else "the run kept no per-region series (too many paths); use region=exCHN",
        )
    return figure_json(fig)


@router.get("/simulations/{job_id}/figures/fan", summary="A finished job's fan chart (plotly JSON)")
def simulation_fan(
    request: Request,
    job_id: str,
    metric: str = "shortfall_pct_ex_china",
    chain: str | None = None,
    region: str | None = None,
    other: str | None = Query(None, description="A job id or run id to overlay."),
) -> JSONResponse:
    st = state(request)
    run = _report_of(st, job_id)
    return JSONResponse(fan_doc(run, _report_of(st, other) if other else None, metric, chain, region))


# ---------------------------------------------------------------------------- runs
def stored(st: AppState, run_id: str) -> tuple[Any, dict[str, Any]]:
    """A stored run's record and tables (404 when unknown)."""
    try:
        return st.runs().get(run_id)
    except DataError as exc:
        raise ApiError(404, exc.message, field="run_id", fix=exc.fix) from None


@router.get("/runs", summary="Stored runs (critmin runs list)")
def runs_list(request: Request) -> JSONResponse:
    records = state(request).runs().list()
    return safe_json(
        {"runs": [{k: v for k, v in r.to_dict().items() if k not in ("spec_yaml", "meta")} for r in records]}
    )


@router.get(
    "/runs/compare",
    summary="Two stored runs of one kind side by side with b - a (simulations: summaries; plans: "
    "portfolio and costs; stockpiles: size, probabilities, costs)",
)
def runs_compare(request: Request, a: str, b: str) -> JSONResponse:
    st = state(request)
    stored(st, a)
    stored(st, b)
    from critmin.report.labels import metric_label, product_label, region_label

    kind, frames = st.runs().compare_runs(a, b)
    if kind != "simulation":
        from critmin.server.plan_figures import instrument_words, product_words, region_words

        tables = {n: f.to_dict(orient="records") for n, f in frames.items()}
        for r in tables.get("portfolio", []) + tables.get("costs", []):
            r["instrument_label"] = instrument_words(str(r.get("instrument", "")))
            for key in ("buyer", "host", "region"):
                if key in r:
                    r[f"{key}_label"] = region_words(str(r[key] or ""))
            if "product" in r:
                r["product_label"] = product_words(str(r["product"]))
        return safe_json({"a": a, "b": b, "kind": kind, "tables": tables})
    frame = frames["summary"]
    rows = frame.to_dict(orient="records")
    for r in rows:  # human labels beside the ids (the dashboard shows these)
        r["region_label"] = region_label(str(r["region"]))
        r["product_label"] = product_label(str(r["product"]))
        r["metric_label"] = metric_label(str(r["metric"]))
    return safe_json({"a": a, "b": b, "kind": kind, "rows": rows})


@router.get("/runs/{run_id}", summary="A stored run: record and tables (tables= picks some)")
def runs_show(request: Request, run_id: str, tables: list[str] | None = Query(None)) -> JSONResponse:
    record, frames = stored(state(request), run_id)
    want = tables or ["summary"]
    unknown = [t for t in want if t not in frames]
    if unknown:
        raise DataError(
            f"run {run_id} has no table {unknown[0]!r}",
            column="tables",
            fix=f"use one of {', '.join(frames)}",
        )
    return safe_json(
        {
            "run": record.to_dict(),
            "tables": {t: frames[t].to_dict(orient="records") for t in want},
            "table_names": list(frames),
        }
    )


@router.get("/runs/{run_id}/figures/fan", summary="A stored run's fan chart (plotly JSON), other= overlaid")
def runs_fan(
    request: Request,
    run_id: str,
    metric: str = "shortfall_pct_ex_china",
    chain: str | None = None,
    region: str | None = None,
    other: str | None = None,
) -> JSONResponse:
    st = state(request)
    run = _report_of(st, run_id)
    return JSONResponse(fan_doc(run, _report_of(st, other) if other else None, metric, chain, region))


# ---------------------------------------------------------------------------- projects
@router.get("/projects", summary="The bundled projects table (pipeline by stage and country)")
def projects(request: Request) -> JSONResponse:
    ds = state(request).dataset()
    return safe_json({"data_version": ds.version, "projects": ds.table("projects").to_dict(orient="records")})


@router.get("/figures/projects", summary="Project pipeline as a Gantt chart with delay bands (plotly JSON)")
def projects_figure(request: Request) -> Response:
    from critmin.server.figures import projects_gantt

    st = state(request)
    ds = st.dataset()
    return cached_json(st, ("projects_fig", ds.version), lambda: figure_json(projects_gantt(ds)), size=4)
