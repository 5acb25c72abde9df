"""Planning routes of ``/api/v1`` (issue 13): the cost of a price floor (``critmin floor``).

``POST /plans/floor`` takes the ``critmin floor`` options as JSON (``example`` fills the rest;
given fields override it) and answers its ``--format json`` document, valued on the fitted
price model (a run on a scenario's price paths is a simulation: not offered here yet). Paths
are bounded by the server's ``max_paths``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from critmin.errors import DataError
from critmin.server.api import safe_json, state

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
