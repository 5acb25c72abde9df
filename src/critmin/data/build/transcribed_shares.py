"""Stage shares (and the tonnages printed beside them) from the transcribed statements.

Converts ``ree_stage_shares.csv`` and ``refining_and_magnet_share_statements.csv`` into
:class:`~critmin.data.schemas.StageShareSchema` rows, and their absolute tonnages (China NdFeB
output, ex-China magnet capacity) into :class:`~critmin.data.schemas.ProductionSchema` rows.
The labelled assumptions of ``assumptions.yaml`` are in :mod:`.transcribed_assumptions`.

Handled:

* stage labels: ``mining``; ``separation/refining``, ``refining``, ``separation`` -> separation;
  ``ndfeb_magnet``, ``magnet manufacturing`` -> magnet;
* commodities: rare earths (every row of ``ree_stage_shares.csv``; NdFeB and magnet REE
  statements), lithium, cobalt, graphite (battery-grade), copper, nickel; the precise scope
  ("magnet rare earth elements (Nd, Pr, Tb, Dy)") is kept in ``scope``;
* ``share = pct / 100``; the qualifier comes from the free text (see
  :func:`~.transcribed_common.map_qualifier`); "IEA projection" / "base-case projection" rows
  have ``is_projection`` True; ``basis`` is ``capacity`` where the statement is about capacity,
  ``value`` for market-value shares, else ``volume``;
* years printed "c.2022" or "c.2020-2021" become the (last) year, the printed year kept in note;
* rows that are not a country or a country-group code (``TOP3``, "top 3 refining nations
  (average)", company groups, multi-mineral averages, a pipeline of projects) are left out and
  reported through ``excluded``; ``CHN+MYS+AUS``-style groups and ``ROW``/``EUR``/``exCHN``
  are kept;
* AUDIT.md corrections 3 (Metalnomist 2024 mining shares: superseded, based on MCS 2025) and 4
  (FAS "91%": source not re-found, unverified) are written into ``quality`` and ``note``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from critmin.data.dataset import validate_table
from critmin.data.schemas import table_columns
from critmin.errors import UnknownCountryError
from critmin.model.commodities import registry
from critmin.model.countries import is_known_code, to_iso3

from .transcribed_common import (
    Excluded,
    RawRow,
    WebSources,
    join_notes,
    last_year_in,
    map_qualifier,
    other_urls_note,
    parse_value,
    read_rows,
    split_publisher,
    to_float,
)

STAGE_LABELS: dict[str, str] = {
    "mining": "mining",
    "separation/refining": "separation",
    "separation": "separation",
    "refining": "separation",
    "metal_alloy": "metal_alloy",
    "ndfeb_magnet": "magnet",
    "magnet manufacturing": "magnet",
    "magnet": "magnet",
}

#: ``mineral`` column of the statements file -> commodity id.
MINERALS: dict[str, str] = {
    "rare earths": "rare_earths",
    "ndfeb magnets": "rare_earths",
    "high-performance ndfeb": "rare_earths",
    "sintered ndfeb blanks": "rare_earths",
    "bonded ndfeb powder": "rare_earths",
    "samarium cobalt magnet alloy": "samarium",
    "ndpr oxide": "ndpr",
    "lithium": "lithium",
    "cobalt": "cobalt",
    "graphite (battery-grade)": "graphite",
    "graphite": "graphite",
    "copper": "copper",
    "nickel": "nickel",
}

#: Labels that name a group which is not a country code (left out, reported).
_GROUP_LABEL = re.compile(r"(?i)\btop\s*\d|\btop3\b|nations|makers|projects|companies|producers|\(combined\)")

STAGE_SHARE_COLUMNS = table_columns("stage_shares")
PRODUCTION_COLUMNS = table_columns("production")

_METALNOMIST_NOTE = (
    "superseded (AUDIT.md correction 3): based on USGS MCS 2025; on MCS 2026 figures (of "
    "380,000 t) the shares are CHN 71.1, USA 12.0, MMR 7.1, AUS 7.6, THA 0.6 - do not use AUS "
    "3.3 or THA 3.3 as current values"
)
_FAS_QUALITY = "unverified (AUDIT.md correction 4): source page not re-found in the audit"


@dataclass(frozen=True)
class ShareTables:
    """Rows produced from the share statements: stage shares plus production tonnages."""

    stage_shares: pd.DataFrame
    production: pd.DataFrame


def _stage(label: str, row: RawRow, column: str) -> str:
    key = label.strip().lower()
    if key not in STAGE_LABELS:
        raise row.error(f"unknown stage label {label!r}", column, f"use one of {', '.join(STAGE_LABELS)}")
    return STAGE_LABELS[key]


def _country(label: str, row: RawRow, column: str) -> str | None:
    """Country or group code; None for a group label that is no code (to be excluded)."""
    try:
        code = to_iso3(label, path=row.path, line=row.line, column=column)
    except UnknownCountryError:
        if _GROUP_LABEL.search(label):
            return None
        raise
    if not is_known_code(code):
        raise row.error(f"{label!r} is not a country or group code", column, "use ISO3, ROW or A+B")
    return code


def _year(text: str, row: RawRow, column: str) -> tuple[int, str | None]:
    """Year of a row; "c.2020-2021" -> (2021, "year as printed: c.2020-2021")."""
    t = text.strip()
    if re.fullmatch(r"\d{4}", t):
        return int(t), None
    y = last_year_in(t)
    if y is None:
        raise row.error(f"cannot read year {text!r}", column, "write a 4-digit year")
    return y, f"year as printed: {t}"


_VALUE_BASIS = re.compile(
    r"(?i)\bmarket\b|\bvalue (share|basis)\b|\bof (product |market )?value\b|\bby value\b"
)


def _basis(*texts: str) -> str:
    """``capacity`` for capacity statements, ``value`` for market-value shares, else ``volume``."""
    blob = " ".join(texts)
    if "capacity" in blob.lower():
        return "capacity"
    if _VALUE_BASIS.search(blob):
        return "value"
    return "volume"


def _share(text: str, row: RawRow, column: str) -> tuple[float, str | None]:
    """Fraction for a printed percentage, plus the qualifier its form implies ("<5" -> under)."""
    parsed = parse_value(text, row, column)
    if parsed is None or math.isnan(parsed.value):
        raise row.error(f"cannot read share {text!r}", column, "write a percentage, e.g. 61.0")
    if not 0 <= parsed.value <= 100:
        raise row.error(f"share {text!r} is outside 0-100 %", column, "write a percentage between 0 and 100")
    return parsed.value / 100.0, parsed.qualifier


def _corrections(row: RawRow, quality: str | None, note: str | None) -> tuple[str | None, str | None, bool]:
    """AUDIT.md corrections 3 and 4 for one row: (quality, note, force the Source quality)."""
    url = row["source_url"]
    if "metalnomist.com/2025/04/global-rare-earth-mining-rises-in-2024" in url:
        return (
            join_notes(["superseded (AUDIT.md correction 3)", quality]),
            join_notes([_METALNOMIST_NOTE, note]),
            True,
        )
    if "fas.org/publication/unpacking-dod-and-mp-partnership" in url and row["share_pct"] == "91":
        return join_notes([_FAS_QUALITY, quality]), join_notes([_FAS_QUALITY, note]), True
    return quality, note, False


def share_record(
    *,
    commodity: str,
    stage: str,
    country: str,
    year: int,
    share: float,
    qualifier: str,
    scope: str,
    basis: str,
    is_projection: bool,
    quality: str | None,
    note: str | None,
    source_id: str,
    is_assumption: bool = False,
) -> dict[str, Any]:
    """One :class:`StageShareSchema` record (keyword-only, so no column can be swapped)."""
    return {
        "commodity": commodity,
        "stage": stage,
        "country": country,
        "year": year,
        "share": share,
        "qualifier": qualifier,
        "scope": scope,
        "basis": basis,
        "is_projection": is_projection,
        "is_assumption": is_assumption,
        "quality": quality,
        "note": note,
        "source_id": source_id,
    }


def _production_record(
    *,
    commodity: str,
    stage: str,
    measure: str,
    country: str,
    year: int,
    value: float,
    qualifier: str,
    estimated: bool,
    series: str,
    note: str | None,
    source_id: str,
) -> dict[str, Any]:
    """One :class:`ProductionSchema` record in tonnes, ``vintage`` = the row's year."""
    return {
        "commodity": commodity,
        "stage": stage,
        "measure": measure,
        "country": country,
        "year": year,
        "value": value,
        "unit": "t",
        "qualifier": qualifier,
        "estimated": estimated,
        "vintage": year,
        "series": series,
        "note": note,
        "source_id": source_id,
    }


_TONNES = re.compile(r"^t(/yr)?$")
_PIPELINE = re.compile(r"(?i)development|if all ramp up|pipeline")


def convert_ree_stage_shares(
    path: Path, sources: WebSources, excluded: list[Excluded]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``ree_stage_shares.csv`` -> (stage-share records, production records). All rare earths."""
    required = (
        "stage",
        "country",
        "share_pct",
        "qualifier",
        "year",
        "source_publisher",
        "source_url",
        "scope",
    )
    shares: list[dict[str, Any]] = []
    production: list[dict[str, Any]] = []
    for row in read_rows(path, required):
        stage = _stage(row["stage"], row, "stage")
        year, year_note = _year(row["year"], row, "year")
        publisher, pub_year = split_publisher(row["source_publisher"])
        quality, extra_note, force = _corrections(row, row["source_quality"] or None, None)
        country = _country(row["country"], row, "country")
        if country is None:
            excluded.append(
                Excluded(
                    path.name,
                    row.line,
                    f"{row['stage']} {row['country']} {row['year']}",
                    "group label that is not a country or country-group code",
                )
            )
            continue
        if row["share_pct"] == "" and _PIPELINE.search(row["scope"] + " " + row["qualifier"]):
            excluded.append(
                Excluded(
                    path.name,
                    row.line,
                    f"{row['country']} {row['value']} {row['unit']}",
                    "capacity in development / if all projects ramp up: not a capacity at that year",
                )
            )
            continue
        source_id, others = sources.cite(
            row,
            publisher=publisher,
            title=f"Country share statements: {row['scope']}",
            year=pub_year,
            quality=quality,
            force_quality=force,
        )
        qual, projection = map_qualifier(row["qualifier"])
        notes = [
            extra_note,
            f"qualifier as printed: {row['qualifier']}" if row["qualifier"] else None,
            year_note,
        ]
        if row["share_pct"] == "":
            parsed = parse_value(row["value"], row, "value")
            unit = row["unit"].strip()
            if parsed is None or math.isnan(parsed.value) or not _TONNES.match(unit):
                raise row.error(
                    "row has neither a share nor a tonnage", "share_pct", "fill share_pct, or value in t"
                )
            if country != row["country"].strip():
                notes.append(f"country as printed: {row['country']}")
            measure = "capacity" if "capacity" in (row["qualifier"] + row["scope"]).lower() else "production"
            production.append(
                _production_record(
                    commodity="rare_earths",
                    stage=stage,
                    measure=measure,
                    country=country,
                    year=year,
                    value=parsed.value,
                    qualifier=parsed.qualifier or qual,
                    estimated="estimate" in row["qualifier"].lower(),
                    series=row["scope"],
                    note=join_notes([*notes, row["notes"], other_urls_note(others)]),
                    source_id=source_id,
                )
            )
            continue
        if row["value"]:
            notes.append(f"value as printed: {row['value']} {row['unit']}".strip())
        share, form = _share(row["share_pct"], row, "share_pct")
        shares.append(
            share_record(
                commodity="rare_earths",
                stage=stage,
                country=country,
                year=year,
                share=share,
                qualifier=form or qual,
                scope=row["scope"],
                basis=_basis(row["scope"], row["qualifier"]),
                is_projection=projection,
                quality=quality,
                note=join_notes([*notes, row["notes"], other_urls_note(others)]),
                source_id=source_id,
            )
        )
    return shares, production


#: Statement rows with a tonnage that would duplicate a (commodity, stage, country, year) key
#: already given by a sibling row of another product, or whose product is not on the
#: commodity's basis: (mineral, reason).
_TONNAGE_SKIP: dict[str, str] = {
    "bonded ndfeb powder": "bonded NdFeB powder: second China 2019 magnet-stage tonnage beside sintered "
    "blanks (same production key); not a magnet",
    "samarium cobalt magnet alloy": "SmCo magnet alloy tonnage: not on the samarium basis (Sm2O3) nor the "
    "rare_earths magnet basis (NdFeB)",
}


def convert_share_statements(
    path: Path, sources: WebSources, excluded: list[Excluded]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``refining_and_magnet_share_statements.csv`` -> (stage-share records, production records)."""
    required = (
        "topic",
        "mineral",
        "stage",
        "country_or_group",
        "year",
        "value",
        "value_qualifier",
        "unit",
        "source_url",
        "source_publisher",
        "source_quality",
    )
    shares: list[dict[str, Any]] = []
    production: list[dict[str, Any]] = []
    for row in read_rows(path, required):
        what = f"{row['topic']}: {row['mineral']} / {row['country_or_group']} {row['year']}"
        mineral = row["mineral"].strip().lower()
        if mineral not in MINERALS:
            if "," in mineral or "minerals" in mineral:
                excluded.append(
                    Excluded(path.name, row.line, what, "multi-mineral average, not one commodity")
                )
                continue
            raise row.error(f"unknown mineral {row['mineral']!r}", "mineral", "add it to MINERALS")
        commodity = MINERALS[mineral]
        country = _country(row["country_or_group"], row, "country_or_group")
        if country is None:
            excluded.append(
                Excluded(
                    path.name,
                    row.line,
                    what,
                    "group (nations, projects or companies) that is not a country code",
                )
            )
            continue
        stage = _stage(row["stage"], row, "stage")
        year, year_note = _year(row["year"], row, "year")
        unit = row["unit"].strip()
        is_share = unit.startswith("%")
        if not is_share and mineral in _TONNAGE_SKIP:
            excluded.append(Excluded(path.name, row.line, what, _TONNAGE_SKIP[mineral]))
            continue
        if not registry().get(commodity).has_stage(stage):
            excluded.append(Excluded(path.name, row.line, what, f"no {stage} stage for {commodity}"))
            continue
        publisher, pub_year = split_publisher(row["source_publisher"])
        source_id, others = sources.cite(
            row,
            publisher=publisher,
            title=f"{row['mineral']}: {row['topic'].replace('_', ' ')}",
            year=pub_year,
            quality=row["source_quality"] or None,
        )
        qual, projection = map_qualifier(row["value_qualifier"])
        notes = [
            f"topic: {row['topic']}",
            f"qualifier as printed: {row['value_qualifier']}" if row["value_qualifier"] else None,
            f"unit as printed: {unit}" if unit else None,
            year_note,
            other_urls_note(others),
        ]
        if is_share:
            share, form = _share(row["value"], row, "value")
            shares.append(
                share_record(
                    commodity=commodity,
                    stage=stage,
                    country=country,
                    year=year,
                    share=share,
                    qualifier=form or qual,
                    scope=row["mineral"],
                    basis=_basis(unit, row["topic"]),
                    is_projection=projection,
                    quality=row["source_quality"] or None,
                    note=join_notes(notes),
                    source_id=source_id,
                )
            )
        elif _TONNES.match(unit):
            production.append(
                _production_record(
                    commodity=commodity,
                    stage=stage,
                    measure="production",
                    country=country,
                    year=year,
                    value=to_float(row["value"]),
                    qualifier=qual,
                    estimated=False,
                    series=row["mineral"],
                    note=join_notes(notes),
                    source_id=source_id,
                )
            )
        else:
            raise row.error(
                f"unit {unit!r} is neither a percentage nor tonnes", "unit", "write '% of ...' or 't'"
            )
    return shares, production


def convert_shares(raw_transcribed: Path, sources: WebSources, excluded: list[Excluded]) -> ShareTables:
    """Both statement files -> validated ``stage_shares`` and ``production`` frames."""
    s1, p1 = convert_ree_stage_shares(raw_transcribed / "ree_stage_shares.csv", sources, excluded)
    s2, p2 = convert_share_statements(
        raw_transcribed / "refining_and_magnet_share_statements.csv", sources, excluded
    )
    shares = pd.DataFrame.from_records([*s1, *s2], columns=STAGE_SHARE_COLUMNS)
    production = pd.DataFrame.from_records([*p1, *p2], columns=PRODUCTION_COLUMNS)
    return ShareTables(validate_table(shares, "stage_shares"), validate_table(production, "production"))


__all__ = [
    "MINERALS",
    "STAGE_LABELS",
    "ShareTables",
    "convert_ree_stage_shares",
    "convert_share_statements",
    "convert_shares",
    "share_record",
]
