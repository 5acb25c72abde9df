"""User overlay: a tidy CSV with which a user adds or overrides figures, with their own source.

Columns (header required, order free)::

    commodity,stage,measure,country,year,value,unit,source_id
    [,qualifier,note,source_title,source_publisher,source_url,source_year,source_licence]

* ``measure`` is ``production``, ``reserves``, ``capacity`` or ``share`` (a stage share; give
  ``unit`` ``fraction`` or ``pct``). Quantities are converted to the commodity's unit.
* ``source_id`` either names a bundled source or a new one described by the ``source_*``
  columns (title and url required the first time it appears).
* Errors name the file, the 1-based line and the column, and nothing is returned unless the
  whole file is valid.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from critmin.data.catalogue import Source
from critmin.data.dataset import validate_table
from critmin.data.schemas import QUALIFIERS
from critmin.errors import CritminError, DataError
from critmin.infile import read_input
from critmin.model.commodities import registry
from critmin.model.countries import is_known_code, to_iso3
from critmin.model.stages import Stage
from critmin.units import conversion_factor

REQUIRED = ("commodity", "stage", "measure", "country", "year", "value", "unit", "source_id")
OPTIONAL = (
    "qualifier",
    "note",
    "source_title",
    "source_publisher",
    "source_url",
    "source_year",
    "source_licence",
)
MEASURES = ("production", "reserves", "capacity", "share")


@dataclass(frozen=True)
class OverlayImport:
    """A parsed overlay: rows for ``production`` and/or ``stage_shares``, plus new sources."""

    tables: Mapping[str, pd.DataFrame]
    sources: tuple[Source, ...]
    sha256: str
    """SHA-256 of exactly the bytes that were parsed (read once by :func:`critmin.infile.read_input`)."""

    @property
    def n_rows(self) -> int:
        """Rows across tables."""
        return sum(len(f) for f in self.tables.values())


def _num(text: str, *, path: Path, line: int, column: str) -> float:
    t = text.strip().replace(",", "")
    try:
        v = float(t)
    except ValueError:
        raise DataError(
            f"{text!r} is not a number",
            path=path,
            line=line,
            column=column,
            fix="write a plain number, e.g. 1200.5",
        ) from None
    if math.isnan(v) or math.isinf(v):
        raise DataError(
            f"{text!r} is not a finite number", path=path, line=line, column=column, fix="write a number"
        )
    return v


def read_overlay_csv(path: Path | str, known_sources: Mapping[str, Source]) -> OverlayImport:
    """Parse and validate an overlay CSV (see the module docstring for the format)."""
    p = Path(path)
    inp = read_input(p, "csv", what="overlay")
    text = inp.text()
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DataError(
            f"missing column(s) {missing}",
            path=p,
            line=1,
            fix=f"the header needs {', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)})",
        )
    unknown = [h for h in header if h and h not in REQUIRED and h not in OPTIONAL]
    if unknown:
        raise DataError(
            f"unknown column(s) {unknown}", path=p, line=1, fix="remove them or fix their spelling"
        )
    reg = registry()
    prod: list[dict[str, object]] = []
    shares: list[dict[str, object]] = []
    new_sources: dict[str, Source] = {}
    seen: set[tuple[str, ...]] = set()
    for i, raw in enumerate(reader):
        line = i + 2
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        for col in REQUIRED:
            if not row.get(col):
                raise DataError("empty required value", path=p, line=line, column=col, fix=f"fill in {col}")
        try:
            com = reg.get(row["commodity"])
        except CritminError as exc:
            raise DataError(
                str(getattr(exc, "message", exc)),
                path=p,
                line=line,
                column="commodity",
                fix=getattr(exc, "fix", None),
            ) from None
        try:
            stage = Stage(row["stage"])
        except ValueError:
            raise DataError(
                f"unknown stage {row['stage']!r}",
                path=p,
                line=line,
                column="stage",
                fix=f"use one of {', '.join(s.value for s in Stage)}",
            ) from None
        if not com.has_stage(stage):
            raise DataError(
                f"commodity {com.id!r} has no stage {stage.value!r}",
                path=p,
                line=line,
                column="stage",
                fix=f"use one of {', '.join(s.value for s in com.stages)}",
            )
        measure = row["measure"]
        if measure not in MEASURES:
            raise DataError(
                f"unknown measure {measure!r}",
                path=p,
                line=line,
                column="measure",
                fix=f"use one of {', '.join(MEASURES)}",
            )
        country = to_iso3(row["country"], path=p, line=line, column="country")
        if not is_known_code(country):
            raise DataError(
                f"unknown country {row['country']!r}",
                path=p,
                line=line,
                column="country",
                fix="use ISO alpha-3, e.g. 'AUS'",
            )
        year_f = _num(row["year"], path=p, line=line, column="year")
        if year_f != int(year_f) or not 1900 <= year_f <= 2100:
            raise DataError(
                f"bad year {row['year']!r}", path=p, line=line, column="year", fix="a year like 2024"
            )
        year = int(year_f)
        value = _num(row["value"], path=p, line=line, column="value")
        if value < 0:
            raise DataError(
                f"negative {measure} {value:g}",
                path=p,
                line=line,
                column="value",
                fix="quantities and shares cannot be negative; use 0 for none",
            )
        qualifier = row.get("qualifier") or "exact"
        if qualifier not in QUALIFIERS:
            raise DataError(
                f"unknown qualifier {qualifier!r}",
                path=p,
                line=line,
                column="qualifier",
                fix=f"use one of {', '.join(QUALIFIERS)}",
            )
        sid = row["source_id"]
        if sid not in known_sources and sid not in new_sources:
            if not row.get("source_title") or not row.get("source_url"):
                raise DataError(
                    f"source_id {sid!r} is not a bundled source",
                    path=p,
                    line=line,
                    column="source_id",
                    fix="use a bundled id (`critmin data sources`) or give source_title and source_url "
                    "on its first row",
                )
            year_s = row.get("source_year")
            try:
                new_sources[sid] = Source(
                    id=sid,
                    kind="user",
                    publisher=row.get("source_publisher") or "user",
                    title=row["source_title"],
                    url=row["source_url"],
                    year=int(year_s) if year_s else None,
                    licence=row.get("source_licence") or "as stated by the user",
                    priority=0,
                )
            except ValueError as exc:
                raise DataError(
                    f"invalid source: {exc}",
                    path=p,
                    line=line,
                    column="source_id",
                    fix="ids use lowercase letters, digits and . : _ -",
                ) from None
        key = (com.id, stage.value, measure, country, str(year))
        if key in seen:
            raise DataError(f"duplicate row for {key}", path=p, line=line, fix="keep one row per key")
        seen.add(key)
        unit = row["unit"]
        if measure == "share":
            try:
                factor = conversion_factor(unit, "fraction")
            except CritminError:
                raise DataError(
                    f"unit {unit!r} is not a share",
                    path=p,
                    line=line,
                    column="unit",
                    fix="use 'fraction' or 'pct'",
                ) from None
            share = value * factor
            if share > 1 + 1e-9:
                raise DataError(
                    f"share {share:g} exceeds 1",
                    path=p,
                    line=line,
                    column="value",
                    fix="give a fraction 0..1 or use unit pct",
                )
            shares.append(
                {
                    "source_id": sid,
                    "commodity": com.id,
                    "stage": stage.value,
                    "country": country,
                    "year": year,
                    "share": share,
                    "qualifier": qualifier,
                    "scope": com.name,
                    "basis": "volume",
                    "is_projection": False,
                    "is_assumption": False,
                    "quality": "user",
                    "note": row.get("note") or None,
                }
            )
            continue
        try:
            factor = conversion_factor(unit, com.unit)
        except CritminError:
            raise DataError(
                f"unit {unit!r} does not convert to {com.unit!r}",
                path=p,
                line=line,
                column="unit",
                fix=f"give a unit of the same dimension as {com.unit!r} (t, kt, kg...)",
            ) from None
        prod.append(
            {
                "source_id": sid,
                "commodity": com.id,
                "stage": stage.value,
                "measure": measure,
                "country": country,
                "year": year,
                "value": value * factor,
                "unit": com.unit,
                "qualifier": qualifier,
                "estimated": False,
                "vintage": year,
                "series": "user overlay",
                "note": row.get("note") or None,
            }
        )
    if not prod and not shares:
        raise DataError("no data rows", path=p, fix="add at least one row under the header")
    tables: dict[str, pd.DataFrame] = {}
    if prod:
        tables["production"] = validate_table(pd.DataFrame(prod), "production", path=p)
    if shares:
        tables["stage_shares"] = validate_table(pd.DataFrame(shares), "stage_shares", path=p)
    return OverlayImport(tables=tables, sources=tuple(new_sources.values()), sha256=inp.sha256)
