"""Data routes of ``/api/v1``: health, dataset, sources, exposure, criticality, tracing, screening.

Each route takes the CLI command's inputs (same names, same defaults) and calls the functions
the command calls, so the validation, limits and error messages are the CLI's. Results are the
command's ``--format json`` document; ``/figures/...`` routes return plotly figures as JSON
(``fig.to_plotly_json()``) built by :mod:`critmin.report.figures` and :mod:`critmin.server.figures`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from critmin._version import __version__
from critmin.errors import DataError
from critmin.jsonsafe import json_safe
from critmin.server.state import AppState
from critmin.server.uploads import FileSlot, private_dir, receive_files

router = APIRouter(prefix="/api/v1")


def state(request: Request) -> AppState:
    """The app's :class:`AppState`."""
    st: AppState = request.app.state.critmin
    return st


def figure_json(fig: Any) -> dict[str, Any]:
    """A plotly figure as a JSON-safe ``{"data": [...], "layout": {...}}``."""
    doc: dict[str, Any] = json_safe(fig.to_plotly_json())
    return doc


def safe_json(doc: Any) -> JSONResponse:
    """``doc`` as strict JSON (NaN -> null, numpy -> Python)."""
    return JSONResponse(json_safe(doc))


def json_bytes(doc: Any) -> bytes:
    """``doc`` encoded once as strict JSON (what cached routes keep and send)."""
    from critmin.jsonsafe import dumps

    return dumps(json_safe(doc), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def cached_json(st: AppState, key: tuple[Any, ...], make: Any, size: int = 256) -> Response:
    """The JSON response of ``make()``, encoded once per ``key`` (LRU of ``size``)."""
    data: bytes = st.cached(key, lambda: json_bytes(make()), size=size)
    return Response(content=data, media_type="application/json")


# ---------------------------------------------------------------------------- health, dataset
@router.get("/health", summary="Liveness: version and job counts (loads nothing)")
def health(request: Request) -> dict[str, Any]:
    st = state(request)
    jobs = st.jobs.list() if st.jobs is not None else []
    counts = {s: sum(1 for j in jobs if j.status == s) for s in ("queued", "running")}
    return {
        "status": "ok",
        "version": __version__,
        "jobs": counts,
        "workers": st.job_mode() if st.job_mode is not None else None,
        "token_required": st.settings.token is not None,
    }


@router.get("/dataset", summary="Dataset version, tables and row counts, imports, commodities")
def dataset_info(request: Request) -> JSONResponse:
    from critmin.model.commodities import registry

    ds = state(request).dataset()
    doc = dict(ds.summary())
    doc["data_version"] = ds.version
    doc["commodities"] = [
        {"id": c.id, "name": c.name, "kind": c.kind, "unit": c.unit, "stages": [s.value for s in c.stages]}
        for c in registry().commodities
    ]
    return safe_json(doc)


@router.get("/sources", summary="Sources (publisher, year, DOI/URL, licence); kind= filters")
def sources(request: Request, kind: str | None = None) -> JSONResponse:
    from critmin.cli.choices import parse_choice
    from critmin.data.catalogue import SOURCE_KINDS

    if kind is not None:
        kind = parse_choice(kind, SOURCE_KINDS, option="kind", what="source kind")
    ds = state(request).dataset()
    rows = [s.model_dump() for s in ds.sources.values() if kind is None or s.kind == kind]
    return safe_json({"data_version": ds.version, "sources": rows})


@router.get("/parameters", summary="Model parameters a scenario may set (name, unit, bounds, default)")
def parameters() -> JSONResponse:
    from critmin.report.labels import plain
    from critmin.simulate.inputs.params import parameter_frame

    rows = parameter_frame().to_dict(orient="records")
    for r in rows:
        r["label"] = plain(str(r["name"]))
    return safe_json({"parameters": rows})


# ---------------------------------------------------------------------------- exposure
def _exposure_response(st: AppState, commodity: str, year: int | None, importer: str) -> Response:
    from critmin.cli.exposure import gap_lines, nothing_error
    from critmin.metrics.exposure import exposure
    from critmin.model.countries import to_iso3

    ds = st.dataset()
    code = to_iso3(importer)

    def make() -> dict[str, Any]:
        report = exposure(commodity, year, code, dataset=ds)
        if report.empty:
            raise nothing_error(report, year, ds)
        doc: dict[str, Any] = json_safe(report.to_dict())
        doc["notes"] = gap_lines(report.gaps, report.commodity, year)
        return doc

    return cached_json(st, ("exposure", ds.version, commodity, year, code), make)


@router.get("/exposure", summary="Stage-by-stage concentration and net import reliance (critmin exposure)")
def exposure_route(
    request: Request,
    commodity: str = "rare_earths",
    year: int | None = Query(None, ge=1900, le=2100),
    importer: str = "USA",
) -> Response:
    return _exposure_response(state(request), commodity, year, importer)


@router.get("/figures/choropleth", summary="World map of country shares at a stage (plotly JSON)")
def choropleth_route(
    request: Request,
    commodity: str = "rare_earths",
    stage: str = "mining",
    year: int | None = Query(None, ge=1900, le=2100),
) -> Response:
    from critmin.model.stages import parse_stage
    from critmin.report.figures import choropleth

    st = state(request)
    stage = parse_stage(stage, column="stage").value
    ds = st.dataset()
    return cached_json(
        st,
        ("choropleth", ds.version, commodity, stage, year),
        lambda: figure_json(choropleth(ds, commodity, stage, year)),
        size=64,
    )


@router.get("/figures/stage-bars", summary="Stacked country shares by stage (plotly JSON)")
def stage_bars_route(
    request: Request, commodity: str = "rare_earths", year: int | None = Query(None, ge=1900, le=2100)
) -> Response:
    from critmin.report.figures import stage_bars

    st = state(request)
    ds = st.dataset()
    return cached_json(
        st,
        ("stage_bars", ds.version, commodity, year),
        lambda: figure_json(stage_bars(ds, commodity, year)),
        size=64,
    )


# ---------------------------------------------------------------------------- criticality
@router.get("/criticality", summary="EU CRM (2017) or USGS 2022 criticality of every commodity")
def criticality_route(
    request: Request, method: str = "eu", year: int | None = Query(None, ge=1900, le=2100)
) -> Response:
    from critmin.metrics.criticality import criticality

    st = state(request)
    ds = st.dataset()
    return cached_json(
        st,
        ("criticality", ds.version, method, year),
        lambda: criticality(method, ds=ds, year=year).to_dict(),
        size=16,
    )


@router.get("/figures/criticality", summary="Criticality matrix (EU) or ranking (USGS) (plotly JSON)")
def criticality_figure(
    request: Request, method: str = "eu", year: int | None = Query(None, ge=1900, le=2100)
) -> Response:
    from critmin.metrics.criticality import CriticalityMethod, criticality
    from critmin.report.figures import criticality_matrix
    from critmin.report.ranking import usgs_ranking

    st = state(request)
    ds = st.dataset()

    def make() -> dict[str, Any]:
        r = criticality(method, ds=ds, year=year)
        fig = criticality_matrix(r.table) if r.method is CriticalityMethod.EU else usgs_ranking(r.table)
        return figure_json(fig)

    return cached_json(st, ("criticality_fig", ds.version, method, year), make, size=16)


# ---------------------------------------------------------------------------- tracing
@router.get("/trace/country", summary="Origin of each country's rare-earth output (critmin trace country)")
def trace_country(
    request: Request,
    stage: str = "magnet",
    origin_stage: str = "mining",
    year: int = 2024,
    country: str | None = None,
) -> Response:
    from critmin.model.countries import REST_OF_WORLD, country_name, to_iso3
    from critmin.model.stages import parse_stage
    from critmin.trace.country import CHAIN, origin_matrix

    ds = state(request).dataset()
    st_ = parse_stage(stage, what="stage", allowed=CHAIN, column="stage")
    ost = parse_stage(origin_stage, what="origin stage", allowed=CHAIN, column="origin_stage")
    res = origin_matrix(ds, st_, ost, year)
    doc = res.to_dict()
    if country is not None:
        code = to_iso3(country)
        doc["origins"] = [o for o in doc["origins"] if o["country"] == code]
        if not doc["origins"]:
            listed = [c for c in res.matrix.columns if c != REST_OF_WORLD]
            raise DataError(
                f"{country_name(code)} ({code}) has no {res.stage} output in the {res.year} rare-earth "
                f"country chain: the bundled {res.stage} shares list {', '.join(listed)}, and put "
                f"every other country in {REST_OF_WORLD}",
                column="country",
                fix=f"use country= one of {', '.join(res.matrix.columns)}, or trace another stage",
            )
    return safe_json({**doc, "data_version": ds.version})


@router.get("/figures/flows", summary="Sankey of the rare-earth chain by country (plotly JSON)")
def flows_figure(
    request: Request, year: int = Query(2024, ge=1900, le=2100), min_share: float = Query(0.005, ge=0, le=0.5)
) -> Response:
    from critmin.server.figures import flow_sankey

    st = state(request)
    ds = st.dataset()
    return cached_json(
        st,
        ("flows", ds.version, year, min_share),
        lambda: figure_json(flow_sankey(ds, year, min_share=min_share)),
        size=16,
    )


#: Firm-tracing rows returned inline (the rest: ``rows_total`` says how many; use the CLI --out).
FIRM_ROWS = 5000
_TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


@router.post("/trace/firms", summary="Trace an uploaded firm network (multipart: firms, edges)")
async def trace_firms(
    request: Request,
    origin_stage: str = Query(...),
    commodity: str | None = None,
    limit: int = Query(FIRM_ROWS, ge=0, le=100_000),
) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    from critmin.trace.firms import parse_stage, trace_files

    stage = parse_stage(origin_stage, what="origin_stage")
    with private_dir() as folder:
        got = await receive_files(
            request,
            (FileSlot("firms", "firms", _TABLE_SUFFIXES), FileSlot("edges", "edges", _TABLE_SUFFIXES)),
            folder,
        )
        try:
            result = await run_in_threadpool(
                trace_files, got.files["firms"], got.files["edges"], stage, commodity=commodity
            )
        except DataError as exc:
            raise _scrubbed(exc, folder) from None
    rows = result.shares
    return safe_json(
        {
            "coverage": result.coverage,
            "rows_total": len(rows),
            "rows": rows.head(limit).to_dict(orient="records"),
        }
    )


def _scrubbed(exc: DataError, folder: Any) -> DataError:
    """``exc`` with the private folder's path cut from the file names it gives."""
    prefix = str(folder).rstrip("/") + "/"
    path = exc.path.replace(prefix, "") if exc.path else None
    return DataError(
        exc.message.replace(prefix, ""),
        path=path,
        line=exc.line,
        column=exc.column,
        fix=exc.fix.replace(prefix, "") if exc.fix else None,
    )


# ---------------------------------------------------------------------------- screening
def parse_as_of(text: str | None) -> date:
    """``YYYY-MM-DD`` in 1900-2100 (default today): the CLI's ``--as-of`` rules and messages."""
    if not text:
        return date.today()
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise DataError(
            f"--as-of {text!r} is not a date", column="as_of", fix="write YYYY-MM-DD, e.g. 2026-01-15"
        ) from None
    if not 1900 <= day.year <= 2100:
        raise DataError(
            f"--as-of {text!r} is outside 1900-2100", column="as_of", fix="write a date such as 2026-12-02"
        )
    return day


def bundled_rules(names: list[str] | None) -> list[str]:
    """Rule names, each a bundled one or ``all`` (the API never reads a server path)."""
    from critmin.trace.rules_model import bundled_rule_names

    allowed = (*bundled_rule_names(), "all")
    for n in names or []:
        if n not in allowed:
            raise DataError(f"unknown rules {n!r}", column="rules", fix=f"use one of {', '.join(allowed)}")
    return names or ["all"]


@router.get("/rules", summary="Bundled export-control rule sets")
def rules_list() -> dict[str, Any]:
    from critmin.trace.rules_model import bundled_rule_names

    return {"rules": [*bundled_rule_names(), "all"]}


@router.post("/screen", summary="Screen an uploaded BOM against export-control rules (critmin screen)")
async def screen_route(
    request: Request,
    rules: list[str] | None = Query(None),
    as_of: str | None = None,
    destination: str | None = None,
    swap: list[str] | None = Query(None),
) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    from critmin.cli.screen import flat_products
    from critmin.trace.screen import load_rules, parse_swaps, screen

    day = parse_as_of(as_of)
    rule_objs = load_rules(bundled_rules(rules))
    swaps = parse_swaps(swap or [])
    with private_dir() as folder:
        got = await receive_files(request, (FileSlot("bom", "bom", (".csv",)),), folder)
        try:
            result = await run_in_threadpool(
                screen, got.files["bom"], rule_objs, as_of=day, destination=destination, swaps=swaps
            )
        except DataError as exc:
            raise _scrubbed(exc, folder) from None
    doc: dict[str, Any] = json_safe(result.to_dict())
    doc["bom"] = "uploaded BOM"
    doc["verdicts"] = flat_products(result).to_dict(orient="records")
    return safe_json(doc)
