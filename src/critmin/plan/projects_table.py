"""The planning dataset's projects table (``critmin/plan/data/projects.csv``): its schema and
validation (:func:`read_projects`). Units and conventions are in :mod:`critmin.plan.economics`,
which loads it with the instruments.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from critmin.errors import DataError, shown
from critmin.model.countries import is_country
from critmin.simulate.chains.network import EU27

PRODUCTS = ("ndpr_oxide", "dytb_oxide", "ndfeb_magnet")
#: The simulator's ex-China regions (CHN is the country of concern and never a plan region).
PLAN_REGIONS = ("USA", "EU27", "JPN", "KOR", "IND", "AUS", "MYS", "VNM", "BRA", "MMR", "ROW")
STAGES = ("mining", "separation", "metal", "magnet")
STATUSES = ("operating", "construction", "committed", "planned", "concept")
SECTORS = ("defence", "ev", "wind", "electronics", "industrial")

#: Required columns of projects.csv (SCHEMA.md, in order).
PROJECT_COLUMNS = (
    "project_id",
    "project",
    "company",
    "country",
    "region",
    "stage",
    "product",
    "capacity_t_per_year",
    "capex_musd",
    "opex_usd_per_kg",
    "lead_low_years",
    "lead_mode_years",
    "lead_high_years",
    "ramp_years",
    "status",
    "cofinance_pull_years",
    "cofinance_max_share",
    "source_id",
    "assumption",
)
#: Optional columns (added by this module; empty cells allowed).
EXTRA_COLUMNS = (
    "start_year_announced",
    "capex_total_musd",
    "capacity_as_printed",
    "overlaps",
    "extra_source_ids",
    "note",
    "sim_project",
    "capacity_stated_t_per_year",
    "content_factor",
)
_NUMERIC = {
    "capacity_t_per_year": (0.0, False),  # (lower bound, inclusive?)
    "capex_musd": (0.0, True),
    "opex_usd_per_kg": (0.0, False),
    "lead_low_years": (0.0, True),
    "lead_mode_years": (0.0, True),
    "lead_high_years": (0.0, True),
    "ramp_years": (0.0, True),
    "cofinance_pull_years": (0.0, True),
    "cofinance_max_share": (0.0, True),
}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_STAGE_PRODUCTS = {
    "mining": ("ndpr_oxide",),
    "separation": ("ndpr_oxide", "dytb_oxide"),
    "metal": ("ndpr_oxide",),
    "magnet": ("ndfeb_magnet",),
}
_MAX_LEAD_YEARS = 30.0


def _num(text: str, *, path: Path, line: int, column: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise DataError(
            f"{shown(text)} is not a number",
            path=path,
            line=line,
            column=column,
            fix="give a plain decimal number",
        ) from None
    if not math.isfinite(v):
        raise DataError(
            f"{shown(text)} is not finite", path=path, line=line, column=column, fix="give a finite number"
        )
    lo, inclusive = _NUMERIC.get(column, (-math.inf, True))
    if v < lo or (v == lo and not inclusive):
        rel = ">=" if inclusive else ">"
        raise DataError(
            f"{v:g} is out of range", path=path, line=line, column=column, fix=f"give a value {rel} {lo:g}"
        )
    return v


def _expected_region(country: str) -> str:
    if country in PLAN_REGIONS:
        return country
    return "EU27" if country in EU27 else "ROW"


def _check_row(row: dict[str, str], *, path: Path, line: int, sources: Mapping[str, Any]) -> dict[str, Any]:
    def err(column: str, msg: str, fix: str) -> DataError:
        return DataError(msg, path=path, line=line, column=column, fix=fix)

    out: dict[str, Any] = {c: (row.get(c) or "").strip() for c in PROJECT_COLUMNS + EXTRA_COLUMNS}
    for c in (
        "project_id",
        "project",
        "company",
        "country",
        "region",
        "stage",
        "product",
        "status",
        "source_id",
    ):
        if not out[c]:
            raise err(
                c,
                "empty cell",
                "fill it in (every project row names its id, site, owner, place, stage and source)",
            )
    if not _SLUG.match(out["project_id"]):
        raise err(
            "project_id",
            f"{shown(out['project_id'])} is not a slug",
            "use lower-case letters, digits and '-'",
        )
    country, region = out["country"], out["region"]
    if "CHN" in (country, region):
        raise err(
            "country" if country == "CHN" else "region",
            "China is the country of concern, not a plan region",
            "list only projects outside China",
        )
    if not is_country(country):
        raise err(
            "country", f"unknown ISO3 code {shown(country)}", "use an ISO 3166 alpha-3 code (e.g. AUS, USA)"
        )
    if region not in PLAN_REGIONS:
        raise err("region", f"unknown region {shown(region)}", f"use one of {', '.join(PLAN_REGIONS)}")
    if region != _expected_region(country):
        raise err(
            "region",
            f"{country} belongs to {_expected_region(country)}, not {region}",
            f"set region to {_expected_region(country)}",
        )
    if out["stage"] not in STAGES:
        raise err("stage", f"unknown stage {shown(out['stage'])}", f"use one of {', '.join(STAGES)}")
    if out["product"] not in PRODUCTS:
        raise err("product", f"unknown product {shown(out['product'])}", f"use one of {', '.join(PRODUCTS)}")
    if out["product"] not in _STAGE_PRODUCTS[out["stage"]]:
        raise err(
            "product",
            f"a {out['stage']} row cannot make {out['product']}",
            f"use {' or '.join(_STAGE_PRODUCTS[out['stage']])}",
        )
    if out["status"] not in STATUSES:
        raise err("status", f"unknown status {shown(out['status'])}", f"use one of {', '.join(STATUSES)}")
    for c in _NUMERIC:
        if not out[c]:
            raise err(c, "empty cell", "give a number (or state the assumption that fills it)")
        out[c] = _num(out[c], path=path, line=line, column=c)
    if out["cofinance_max_share"] > 1.0:
        raise err(
            "cofinance_max_share",
            f"{out['cofinance_max_share']:g} is above 1",
            "give a share of capex in [0, 1]",
        )
    lo, mo, hi = out["lead_low_years"], out["lead_mode_years"], out["lead_high_years"]
    if not lo <= mo <= hi:
        raise err(
            "lead_mode_years",
            f"lead times {lo:g} / {mo:g} / {hi:g} are not low <= mode <= high",
            "order the triangle",
        )
    if hi > _MAX_LEAD_YEARS:
        raise err(
            "lead_high_years",
            f"{hi:g} years is beyond the planning horizon",
            f"give at most {_MAX_LEAD_YEARS:g}",
        )
    if out["status"] == "operating" and (hi > 0 or out["capex_musd"] > 0):
        raise err(
            "lead_high_years" if hi > 0 else "capex_musd",
            "an operating plant has lead times and remaining capex of 0",
            "set them to 0 or change the status",
        )
    if out["status"] != "operating" and hi <= 0:
        raise err(
            "lead_high_years", f"a {out['status']} project has no lead time", "give its lead-time triangle"
        )
    for c in ("source_id", "extra_source_ids"):
        for sid in filter(None, (s.strip() for s in out[c].split(";"))):
            if sid not in sources:
                raise err(
                    c,
                    f"source {shown(sid)} is not in the bundled sources.yaml",
                    "add it to data/build/curated/sources.yaml and bundled/sources.yaml",
                )
    for c in ("capacity_stated_t_per_year", "content_factor"):
        out[c] = _num(out[c], path=path, line=line, column=c) if out[c] else math.nan
    factor = out["content_factor"]
    if out["product"] == "dytb_oxide" and not math.isfinite(factor):
        raise err(
            "content_factor",
            "a Dy+Tb row needs its content factor (the share of the stated capacity that is Dy+Tb)",
            "give capacity_stated_t_per_year and content_factor (1 when the capacity is Dy+Tb already)",
        )
    if math.isfinite(factor) and not 0.0 < factor <= 1.0:
        raise err(
            "content_factor", f"{factor:g} is not a share in (0, 1]", "give the share of the stated capacity"
        )
    stated = out["capacity_stated_t_per_year"]
    if math.isfinite(stated) and stated <= 0:
        raise err("capacity_stated_t_per_year", f"{stated:g} is out of range", "give a value > 0")
    if math.isfinite(stated):
        want = stated * (factor if math.isfinite(factor) else 1.0)
        if abs(out["capacity_t_per_year"] - want) > 0.5:
            raise err(
                "capacity_t_per_year",
                f"{out['capacity_t_per_year']:g} t/yr is not the stated {stated:g} x content factor "
                f"{factor if math.isfinite(factor) else 1.0:g} = {want:g}",
                "set capacity_t_per_year to the stated capacity times the content factor",
            )
    if out["start_year_announced"]:
        out["start_year_announced"] = _num(
            out["start_year_announced"], path=path, line=line, column="start_year_announced"
        )
    else:
        out["start_year_announced"] = math.nan
    if out["capex_total_musd"]:
        out["capex_total_musd"] = _num(
            out["capex_total_musd"], path=path, line=line, column="capex_total_musd"
        )
        if out["capex_total_musd"] < 0:
            raise err("capex_total_musd", "negative capex", "give US$ million >= 0")
    else:
        out["capex_total_musd"] = math.nan
    return out


def read_projects(path: Path | str, sources: Mapping[str, Any]) -> pd.DataFrame:
    """Validated projects table from ``path`` (one :class:`DataError` naming file, line, column
    and fix on the first bad cell)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError("file not found", path=p, fix="give the path of a projects CSV") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(
            f"cannot read the file ({type(exc).__name__})", path=p, fix="save it as UTF-8 CSV"
        ) from None
    reader = csv.DictReader(text.splitlines(keepends=True), strict=True)
    try:
        header = list(reader.fieldnames or [])
    except csv.Error as exc:
        raise DataError(f"malformed CSV header: {exc}", path=p, line=1, fix="check quoting") from None
    missing = [c for c in PROJECT_COLUMNS if c not in header]
    if missing:
        raise DataError(
            f"missing column(s) {', '.join(missing)}",
            path=p,
            line=1,
            column=missing[0],
            fix="use the header of critmin's projects.csv",
        )
    unknown = [c for c in header if c not in PROJECT_COLUMNS + EXTRA_COLUMNS]
    if unknown:
        raise DataError(
            f"unknown column {shown(unknown[0])}",
            path=p,
            line=1,
            column=unknown[0],
            fix=f"remove it or use one of {', '.join(EXTRA_COLUMNS)}",
        )
    rows: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    start = 2
    try:
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                raise DataError(
                    f"{'too many' if None in row else 'too few'} fields for the header's {len(header)}",
                    path=p,
                    line=start,
                    fix="quote commas inside cells",
                )
            rec = _check_row(row, path=p, line=start, sources=sources)
            pid = rec["project_id"]
            if pid in first_line:
                raise DataError(
                    f"duplicate project_id {shown(pid)} (first on line {first_line[pid]})",
                    path=p,
                    line=start,
                    column="project_id",
                    fix="make ids unique",
                )
            first_line[pid] = start
            rec["_line"] = start
            rows.append(rec)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"malformed CSV: {exc}", path=p, line=reader.line_num, fix="check quoting") from None
    if not rows:
        raise DataError("no project rows", path=p, line=2, fix="add at least one project")
    for rec in rows:
        if rec["overlaps"] and rec["overlaps"] not in first_line:
            raise DataError(
                f"overlaps names unknown project {shown(rec['overlaps'])}",
                path=p,
                line=rec["_line"],
                column="overlaps",
                fix="give the project_id of the row it is a step of",
            )
    return pd.DataFrame(rows).drop(columns="_line")[list(PROJECT_COLUMNS + EXTRA_COLUMNS)]


__all__ = [
    "EXTRA_COLUMNS",
    "PLAN_REGIONS",
    "PRODUCTS",
    "PROJECT_COLUMNS",
    "SECTORS",
    "STAGES",
    "STATUSES",
    "read_projects",
]
