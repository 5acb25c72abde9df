"""Projects, prices, intensities, end uses and policy events from ``data/raw/transcribed/``.

One converter per raw file, each returning validated records for one table (see
:mod:`.transcribed` for the entry point). Quirks handled, per file:

``ree_projects_ex_china.csv`` (+ ``_partial``) -> ``projects``
    ranges ``"850-1000"`` -> ``capacity_low``/``capacity_high``, ``capacity`` = midpoint,
    ``capacity_qualifier`` ``range``; other capacity hedges ("up to", "approximately", "more
    than") mapped to the qualifier vocabulary, the printed text kept in ``note``; stage
    normalised to Stage values plus ``recycling``; ``"FY2026 (original)"`` -> 2026;
    partial-file rows that duplicate a full-file project (same country, a shared company word,
    a compatible stage) are dropped, the rest kept; AUDIT correction 8 (Lynas-JS Link:
    "non-binding MoU (Aug 2025)").
``ree_prices.csv`` -> ``prices``
    units normalised (``CNY/t`` -> ``cny_per_t``, ``AUD/kg`` -> ``aud_per_kg``); within one
    product x market series a minority unit of the same currency is converted to the majority
    one (AUDIT correction 7: Dy oxide CNY/kg rows -> cny_per_t); relative rows (% change,
    multiples of an earlier price, % differences) are left out; dates such as
    ``"2025-03 (Q3 FY25)"``, ``"2025-04 (early)"``, ``"2024-01/2024-07"`` and
    ``"FY2025 (Jul 2024-Jun 2025)"`` become ISO prefixes (period end), the printed date in note;
    AUDIT corrections 5 (China benchmark $60/kg: source weak) and 6 (SMM 2025-04-18 date basis).
``ndfeb_intensity.csv`` -> ``intensities``
    ``"1-1.5"`` ranges, ``"2+"`` (over), ``"~30"``, ``">5700"``, ``"<0.1"``; ratios such as
    ``"1000 t : 500000 motors"`` are kept as NaN with the printed text in note (never divided).
``ree_demand_by_end_use.csv`` -> ``end_uses``
    ``share = pct / 100`` (range midpoint, printed range in note); growth rates go to
    ``value`` with their unit, not to ``share``; ``year`` kept as printed.
``export_controls_timeline.csv`` -> ``policy_events``
    dates kept as printed ISO; ``"2025-06/2025-07"`` -> first month, printed text in note;
    year-only dates do not fit the schema and are left out; the first of several
    `` ; ``-separated URLs is the source, the others go to note.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

from critmin.model.countries import to_iso3
from critmin.units import UNITS, convert

from .transcribed_common import (
    Excluded,
    RawRow,
    WebSources,
    join_notes,
    map_qualifier,
    other_urls_note,
    parse_value,
    pick_qualifier,
    read_rows,
    split_publisher,
    year_in,
)

Records = list[dict[str, Any]]

PROJECT_STAGES: dict[str, str] = {
    "mining": "mining",
    "separation": "separation",
    "separation/refining": "separation",
    "refining": "separation",
    "metal_alloy": "metal_alloy",
    "metal": "metal_alloy",
    "magnet": "magnet",
    "magnet manufacturing": "magnet",
    "recycling": "recycling",
}


def _project_stage(label: str, row: RawRow, column: str) -> tuple[str, set[str]]:
    """Normalised stage of a project row and every stage its label names.

    ``"recycling + separation"`` -> ("recycling", {recycling, separation});
    ``"feedstock recovery + metal"`` -> ("metal_alloy", {metal_alloy}); ``"separation (heavy
    REE)"`` -> ("separation", {separation}).
    """
    parts = [re.sub(r"\s*\(.*\)\s*$", "", p).strip().lower() for p in label.split("+")]
    stages = [PROJECT_STAGES[p] for p in parts if p in PROJECT_STAGES]
    unknown = [p for p in parts if p not in PROJECT_STAGES and p != "feedstock recovery"]
    if not stages or unknown:
        raise row.error(
            f"unknown stage {label!r}", column, f"use one of {', '.join(sorted(set(PROJECT_STAGES)))}"
        )
    return stages[0], set(stages)


def _capacity(row: RawRow, value_col: str, qual_text: str) -> tuple[float, float, float, str | None]:
    """(capacity, low, high, qualifier) of a project row; NaN and ``not_available`` when none is printed."""
    parsed = parse_value(row[value_col], row, value_col)
    if parsed is None:
        return math.nan, math.nan, math.nan, "not_available"
    if parsed.is_ratio:
        raise row.error(f"capacity {row[value_col]!r} is a ratio", value_col, "write a number or a range")
    if parsed.qualifier is not None:
        return parsed.value, parsed.low, parsed.high, parsed.qualifier
    qual, _ = map_qualifier(qual_text)
    return parsed.value, math.nan, math.nan, qual if qual not in ("projection", "computed") else "exact"


def _start_year(text: str, row: RawRow, column: str) -> tuple[float, str | None]:
    t = text.strip()
    if not t:
        return math.nan, None
    y = year_in(t)
    if y is None:
        raise row.error(f"cannot read start year {text!r}", column, "write a 4-digit year")
    return float(y), (None if re.fullmatch(r"\d{4}", t) else f"start as printed: {t}")


_WORD = re.compile(r"[a-z][a-z\-]{2,}")
_COMMON_WORDS = {
    "rare",
    "earth",
    "earths",
    "resources",
    "group",
    "materials",
    "the",
    "and",
    "with",
    "ltd",
    "inc",
}


def _company_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _COMMON_WORDS} | {
        w.strip("-") for w in re.findall(r"[a-z]+-[a-z]+", text.lower())
    }


_LYNAS_JSLINK = re.compile(r"(?i)lynas.{0,3}js link")


def convert_projects(
    full: Path, partial: Path | None, sources: WebSources, excluded: list[Excluded]
) -> Records:
    """Project rows of the full file, plus the partial-file rows that are not duplicates."""
    required = (
        "project",
        "company",
        "country",
        "stage",
        "product",
        "capacity_value",
        "capacity_unit",
        "status",
        "start_year",
        "notes",
        "source_url",
        "capacity_qualifier",
        "source_publisher",
        "source_date",
        "source_quality",
    )
    out: Records = []
    index: list[tuple[str, set[str], str]] = []  # (country, company words, stage) of full rows
    for row in read_rows(full, required):
        stage, _ = _project_stage(row["stage"], row, "stage")
        country = to_iso3(row["country"], path=row.path, line=row.line, column="country")
        cap, low, high, qual = _capacity(row, "capacity_value", row["capacity_qualifier"])
        start, start_note = _start_year(row["start_year"], row, "start_year")
        publisher, _ = split_publisher(row["source_publisher"])
        source_id, others = sources.cite(
            row,
            publisher=publisher,
            title=row["project"],
            year=year_in(row["source_date"]),
            quality=row["source_quality"] or None,
        )
        notes = row["notes"]
        if _LYNAS_JSLINK.search(row["project"]):
            notes = (
                join_notes(
                    [
                        "non-binding MoU (Aug 2025) (AUDIT.md correction 8)",
                        notes.replace("Agreement signed 2025", "").strip(" .;"),
                    ]
                )
                or ""
            )
        out.append(
            {
                "project": row["project"],
                "company": row["company"],
                "country": country,
                "stage": stage,
                "product": row["product"] or None,
                "capacity": cap,
                "capacity_low": low,
                "capacity_high": high,
                "capacity_unit": row["capacity_unit"] or None,
                "capacity_qualifier": qual,
                "status": row["status"] or None,
                "start_year": start,
                "quality": row["source_quality"] or None,
                "note": join_notes(
                    [
                        notes,
                        f"capacity as printed: {row['capacity_qualifier']}"
                        if row["capacity_qualifier"]
                        else None,
                        start_note,
                        f"source dates: {row['source_date']}" if row["source_date"] else None,
                        other_urls_note(others),
                    ]
                ),
                "source_id": source_id,
            }
        )
        index.append((country, _company_words(row["company"]), stage))
    if partial is None or not partial.exists():
        return out
    required_p = (
        "company",
        "project_or_facility",
        "country",
        "supply_chain_stage",
        "product",
        "capacity_value",
        "capacity_unit",
        "expected_start",
        "status_note_as_reported",
        "source_url",
        "source_publisher",
        "source_date",
        "source_quality",
    )
    for row in read_rows(partial, required_p):
        stage, stages = _project_stage(row["supply_chain_stage"], row, "supply_chain_stage")
        country = to_iso3(row["country"], path=row.path, line=row.line, column="country")
        words = _company_words(row["company"])
        dup = any(c == country and (w & words) and s in stages for c, w, s in index)
        if dup:
            excluded.append(
                Excluded(
                    partial.name,
                    row.line,
                    f"{row['company']}: {row['project_or_facility']}",
                    "duplicate of a project in ree_projects_ex_china.csv (merged there)",
                )
            )
            continue
        cap, low, high, qual = _capacity(row, "capacity_value", "")
        start, start_note = _start_year(row["expected_start"], row, "expected_start")
        publisher, _ = split_publisher(row["source_publisher"])
        source_id, others = sources.cite(
            row,
            publisher=publisher,
            title=row["project_or_facility"],
            year=year_in(row["source_date"]),
            quality=row["source_quality"] or None,
        )
        out.append(
            {
                "project": row["project_or_facility"],
                "company": row["company"],
                "country": country,
                "stage": stage,
                "product": row["product"] or None,
                "capacity": cap,
                "capacity_low": low,
                "capacity_high": high,
                "capacity_unit": row["capacity_unit"] or None,
                "capacity_qualifier": qual,
                "status": None,
                "start_year": start,
                "quality": row["source_quality"] or None,
                "note": join_notes(
                    [
                        row["status_note_as_reported"],
                        f"stage as printed: {row['supply_chain_stage']}",
                        start_note,
                        "from ree_projects_ex_china_partial.csv",
                        other_urls_note(others),
                    ]
                ),
                "source_id": source_id,
            }
        )
    return out


# ------------------------------------------------------------------------------ prices

_PRICE_UNIT = re.compile(r"^([A-Za-z]{3})\s*/\s*(kg|t)$")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}


def price_unit(text: str) -> str | None:
    """``"CNY/t"`` -> ``"cny_per_t"``; ``"AUD/kg"`` -> ``"aud_per_kg"``; None if not a price level."""
    m = _PRICE_UNIT.match(text.strip())
    return f"{m.group(1).lower()}_per_{m.group(2)}" if m else None


def iso_date(text: str, row: RawRow, column: str, *, allow_year: bool) -> tuple[str, str | None]:
    """An ISO date prefix for a printed date, plus a note when the printed text differed.

    ``"2025-03 (Q3 FY25)"`` -> ``"2025-03"``; ``"2024-01/2024-07"`` -> the period end
    ``"2024-07"`` (or the start for alternatives, see callers); ``"FY2025 (Jul 2024-Jun
    2025)"`` -> ``"2025-06"``; ``"2025"`` -> ``"2025"`` only if ``allow_year``.
    """
    t = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", t) or (allow_year and re.fullmatch(r"\d{4}", t)):
        return t, None
    m = re.fullmatch(r"(\d{4}-\d{2}(?:-\d{2})?)\s*/\s*(\d{4}-\d{2}(?:-\d{2})?)", t)
    if m:
        return m.group(2), f"period as printed: {t} (date = period end)"
    m = re.match(r"^(\d{4}-\d{2}(?:-\d{2})?)\s*\(", t)
    if m:
        return m.group(1), f"date as printed: {t}"
    m = re.search(r"(?i)\b([a-z]{3})[a-z]*\s+(\d{4})\s*\)\s*$", t)
    if t.upper().startswith("FY") and m and m.group(1).lower() in _MONTHS:
        return (
            f"{m.group(2)}-{_MONTHS[m.group(1).lower()]:02d}",
            f"period as printed: {t} (date = period end)",
        )
    raise row.error(f"cannot read date {text!r}", column, "write YYYY-MM-DD or YYYY-MM")


_RELATIVE = "relative figure (change, multiple or difference), not a price level"


def convert_prices(path: Path, sources: WebSources, excluded: list[Excluded]) -> Records:
    """Price rows; see the module docstring for units, dates and corrections."""
    required = (
        "date",
        "product",
        "market",
        "value",
        "unit",
        "qualifier",
        "source_url",
        "value_low",
        "value_high",
        "source_publisher",
        "notes",
    )
    out: Records = []
    for row in read_rows(path, required):
        what = f"{row['date']} {row['product']} / {row['market']}: {row['value']} {row['unit']}"
        unit = price_unit(row["unit"])
        if unit is None:
            excluded.append(Excluded(path.name, row.line, what, _RELATIVE))
            continue
        parsed = parse_value(row["value"], row, "value")
        if parsed is None or parsed.is_ratio:
            raise row.error(f"cannot read price {row['value']!r}", "value", "write a number or a range")
        low = float(row["value_low"].replace(",", "")) if row["value_low"] else math.nan
        high = float(row["value_high"].replace(",", "")) if row["value_high"] else math.nan
        if parsed.is_range and (not math.isclose(low, parsed.low) or not math.isclose(high, parsed.high)):
            raise row.error(
                f"value {row['value']!r} disagrees with value_low/value_high",
                "value_low",
                "make the range and its bounds agree",
            )
        date, date_note = iso_date(row["date"], row, "date", allow_year=True)
        qual, _ = pick_qualifier(parsed, row["qualifier"], has_projection_flag=False)
        quality: str | None = None
        notes: list[str | None] = []
        if row["market"].startswith("China benchmark") and row["date"] == "2025-07":
            quality = (
                "source weak (AUDIT.md correction 5): another report of the same deal gives about 52 USD/kg"
            )
            notes.append(quality)
        if row["date"] == "2025-04-18" and "SMM" in row["source_publisher"]:
            notes.append(
                "date is the in-text 'SMM News on April 18'; page published 2025-05-06 "
                "(AUDIT.md correction 6)"
            )
        publisher, _ = split_publisher(row["source_publisher"])
        source_id, others = sources.cite(
            row,
            publisher=publisher,
            title=f"{row['product']} price, {row['market']}",
            year=year_in(date),
            quality=quality,
            force_quality=quality is not None,
        )
        notes += [
            f"qualifier as printed: {row['qualifier']}" if row["qualifier"] else None,
            date_note,
            f"value as printed: {row['value']} {row['unit']}"
            if parsed.qualifier not in (None, "range")
            else None,
            row["notes"],
            other_urls_note(others),
        ]
        out.append(
            {
                "date": date,
                "product": row["product"],
                "market": row["market"],
                "value": parsed.value,
                "value_low": low,
                "value_high": high,
                "unit": unit,
                "qualifier": qual,
                "note": join_notes(notes),
                "source_id": source_id,
            }
        )
    return _harmonise_units(out)


def _harmonise_units(rows: Records) -> Records:
    """Convert minority units to the majority unit of the same dimension within a series.

    A series is one product x market; only units critmin knows (``critmin.units``) convert.
    This is AUDIT correction 7: SMM Dy oxide 2025-05-30 and 2025-06-30 are printed in CNY/kg
    while the rest of the series is CNY/t.
    """
    by_series: dict[tuple[str, str], Counter[str]] = {}
    for r in rows:
        by_series.setdefault((r["product"], r["market"]), Counter())[r["unit"]] += 1
    for r in rows:
        counts = by_series[(r["product"], r["market"])]
        target = counts.most_common(1)[0][0]
        unit = r["unit"]
        if unit == target or unit not in UNITS or target not in UNITS:
            continue
        if UNITS[unit].dimension != UNITS[target].dimension:
            continue
        for k in ("value", "value_low", "value_high"):
            if not math.isnan(r[k]):
                r[k] = convert(r[k], unit, target)
        r["unit"] = target
        r["note"] = join_notes(
            [f"converted from {unit} to the series unit {target} (AUDIT.md correction 7)", r["note"]]
        )
    return rows


# ------------------------------------------------------------------------------ intensities


def convert_intensities(path: Path, sources: WebSources) -> Records:
    """Intensity rows: ranges, ``2+``, ``~``, ``>``, ``<`` parsed; ratios kept as NaN + note."""
    required = (
        "item",
        "value",
        "unit",
        "qualifier",
        "source_url",
        "category",
        "source_publisher",
        "notes",
        "source_quality",
    )
    out: Records = []
    for row in read_rows(path, required):
        parsed = parse_value(row["value"], row, "value")
        if parsed is None:
            raise row.error("empty value", "value", "write the printed value")
        qual, _ = pick_qualifier(parsed, row["qualifier"], has_projection_flag=False)
        if parsed.is_ratio:
            qual = "not_applicable"
        publisher, _ = split_publisher(row["source_publisher"])
        source_id, others = sources.cite(
            row, publisher=publisher, title=row["item"], quality=row["source_quality"] or None
        )
        out.append(
            {
                "item": row["item"],
                "category": row["category"],
                "value": parsed.value,
                "value_low": parsed.low,
                "value_high": parsed.high,
                "unit": row["unit"],
                "qualifier": qual,
                "quality": row["source_quality"] or None,
                "note": join_notes(
                    [
                        f"value as printed: {row['value']}" if parsed.qualifier else None,
                        f"ratio as printed, not divided out: {row['value']} ({row['unit']})"
                        if parsed.is_ratio
                        else None,
                        f"qualifier as printed: {row['qualifier']}" if row["qualifier"] else None,
                        row["notes"],
                        other_urls_note(others),
                    ]
                ),
                "source_id": source_id,
            }
        )
    return out


# ------------------------------------------------------------------------------ end uses


def convert_end_uses(path: Path, sources: WebSources) -> Records:
    """End-use rows: ``share = pct / 100``; growth rates go to ``value`` (unit ``% y/y``)."""
    required = (
        "scope",
        "end_use",
        "share_pct",
        "qualifier",
        "year",
        "basis",
        "value",
        "unit",
        "source_publisher",
        "source_url",
        "notes",
        "source_quality",
    )
    out: Records = []
    for row in read_rows(path, required):
        parsed = parse_value(row["share_pct"], row, "share_pct")
        value = parse_value(row["value"], row, "value")
        unit = row["unit"] or None
        share = math.nan
        is_growth = bool(re.search(r"(?i)\by/y\b|\bgrowth rate\b", row["qualifier"])) or row[
            "end_use"
        ].lower().endswith("growth")
        if parsed is not None:
            if is_growth:
                if value is not None:
                    raise row.error("a growth row with both share_pct and value", "value", "keep one")
                value, unit = parsed, "% y/y"
            else:
                if not 0 <= parsed.value <= 100:
                    raise row.error(
                        f"share {row['share_pct']!r} outside 0-100 %", "share_pct", "write a percentage"
                    )
                share = parsed.value / 100.0
        qual, _ = pick_qualifier(
            parsed if not is_growth else None, row["qualifier"], has_projection_flag=False
        )
        publisher, _ = split_publisher(row["source_publisher"])
        source_id, others = sources.cite(
            row,
            publisher=publisher,
            title=f"{row['scope']}: demand by end use",
            quality=row["source_quality"] or None,
        )
        out.append(
            {
                "scope": row["scope"],
                "end_use": row["end_use"],
                "share": share,
                "value": value.value if value is not None else math.nan,
                "unit": unit,
                "qualifier": qual,
                "year": row["year"] or None,
                "basis": row["basis"] or None,
                "quality": row["source_quality"] or None,
                "note": join_notes(
                    [
                        f"share as printed: {row['share_pct']}%"
                        if parsed is not None and parsed.qualifier and not is_growth
                        else None,
                        f"qualifier as printed: {row['qualifier']}" if row["qualifier"] else None,
                        row["notes"],
                        other_urls_note(others),
                    ]
                ),
                "source_id": source_id,
            }
        )
    return out


# ------------------------------------------------------------------------------ policy events


def convert_policy_events(path: Path, sources: WebSources, excluded: list[Excluded]) -> Records:
    """Policy-timeline rows (publisher = the first URL's host: the file has no publisher column)."""
    required = (
        "date",
        "actor",
        "instrument",
        "items",
        "scope",
        "effective_date",
        "end_date",
        "notes",
        "source_url",
        "date_qualifier",
        "source_quality",
    )
    out: Records = []
    for row in read_rows(path, required):
        t = row["date"].strip()
        if re.fullmatch(r"\d{4}", t):
            excluded.append(
                Excluded(
                    path.name,
                    row.line,
                    f"{t} {row['actor']}: {row['instrument']}",
                    "year-only date; PolicyEventSchema needs YYYY-MM or YYYY-MM-DD",
                )
            )
            continue
        m = re.fullmatch(r"(\d{4}-\d{2}(?:-\d{2})?)\s*/\s*(\d{4}-\d{2}(?:-\d{2})?)", t)
        date_note: str | None
        if m:
            date, date_note = m.group(1), f"date as printed: {t} (alternatives; earliest kept)"
        else:
            date, date_note = iso_date(t, row, "date", allow_year=False)
        source_id, others = sources.cite(
            row,
            publisher=None,
            title=row["instrument"],
            year=year_in(date),
            quality=row["source_quality"] or None,
        )
        out.append(
            {
                "date": date,
                "actor": row["actor"],
                "instrument": row["instrument"],
                "items": row["items"] or None,
                "scope": row["scope"] or None,
                "effective_date": row["effective_date"] or None,
                "end_date": row["end_date"] or None,
                "date_qualifier": row["date_qualifier"] or None,
                "quality": row["source_quality"] or None,
                "note": join_notes([row["notes"], date_note, other_urls_note(others)]),
                "source_id": source_id,
            }
        )
    return out


__all__ = [
    "PROJECT_STAGES",
    "convert_end_uses",
    "convert_intensities",
    "convert_policy_events",
    "convert_prices",
    "convert_projects",
    "iso_date",
    "price_unit",
]
