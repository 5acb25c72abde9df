"""Transcribed USGS MCS 2025 and MCS 2026 Rare Earths chapter tables -> bundled-table frames.

Reads, from ``<raw>/transcribed/`` (see PROVENANCE.md section 6):

* ``usgs_mcs20xx_rare_earths_world_production_reserves.csv``: mine production by country
  (t REO; ``mine_production_2024_est`` -> estimated) and reserves (year = the edition's estimate
  year) -> :class:`~critmin.data.schemas.ProductionSchema`, commodity ``rare_earths``, stage ``mining``;
* ``*_us_salient.csv``: U.S. salient statistics (``t REO``, ``USD/kg``, ``number``; the ``2024e``
  column is estimated) -> :class:`~critmin.data.schemas.SalientSchema`; its "Net import reliance"
  rows (``100``, ``>95``, ``80``, ``E``) go to :class:`~critmin.data.schemas.ImportRelianceSchema`
  with bounds instead;
* ``*_us_import_sources.csv``: shares (percent -> fraction) ->
  :class:`~critmin.data.schemas.ImportSourceSchema`.

AUDIT.md "Corrections to make" 1 (MCS 2026 v1.3: Brazil reserves 11,000,000; world reserves
>75,000,000) is applied if the file still has the pre-v1.3 values and noted in ``note``; a third
value in those cells raises :class:`~critmin.errors.DataError`.

:func:`build_usgs_transcribed` is what the dataset build calls.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from critmin.data.catalogue import Source
from critmin.data.importers.usgs_mcs import parse_value
from critmin.data.importers.usgs_trends import parse_nir
from critmin.data.schemas import ImportRelianceSchema, ImportSourceSchema, ProductionSchema, SalientSchema
from critmin.errors import DataError
from critmin.model.countries import parse_source_name

__all__ = [
    "AUDIT_CORRECTIONS",
    "build_usgs_transcribed",
    "read_import_sources",
    "read_salient",
    "read_world_production",
    "transcribed_source",
]

COMMODITY = "rare_earths"
_EDITIONS = (2025, 2026)


@dataclass(frozen=True)
class Correction:
    """A published correction: ``country``/``measure`` printed ``old`` must read ``new``."""

    edition: int
    country: str
    measure: str
    old: str
    new: str
    why: str


AUDIT_CORRECTIONS: tuple[Correction, ...] = (
    Correction(2026, "BRA", "reserves", "21000000", "11000000", "MCS 2026 v1.3 (AUDIT.md correction 1)"),
    Correction(2026, "WLD", "reserves", ">85000000", ">75000000", "MCS 2026 v1.3 (AUDIT.md correction 1)"),
)


def transcribed_source(edition: int) -> Source:
    """The :class:`Source` of the MCS ``edition`` Rare Earths chapter (2025 or 2026)."""
    if edition == 2025:
        return Source(
            id="usgs-mcs2025-rare-earths",
            kind="publication",
            publisher="U.S. Geological Survey, National Minerals Information Center",
            title="Mineral Commodity Summaries 2025: Rare Earths",
            year=2025,
            url="https://pubs.usgs.gov/periodicals/mcs2025/mcs2025-rare-earths.pdf",
            licence="US public domain",
            via="GitHub NSSAC/dpi.RAG@f570faa55a7ff8a638ec7f7712e487715094c6a1 (marker OCR)",
            quality="transcribed from an OCR of the PDF; fused footnote digits split by hand",
            priority=2025,
        )
    if edition == 2026:
        return Source(
            id="usgs-mcs2026-rare-earths",
            kind="publication",
            publisher="U.S. Geological Survey, National Minerals Information Center",
            title="Mineral Commodity Summaries 2026: Rare Earths (ver. 1.3)",
            year=2026,
            url="https://pubs.usgs.gov/periodicals/mcs2026/mcs2026-rare-earths.pdf",
            doi="10.5066/P1WKQ63T",
            licence="US public domain",
            via="GitHub pranava0x0/usgs-mineral-commodity-summaries@2514d2bf45d514b45435a62983869ba1738349ad "
            "(parsed PDF), corrected to v1.3 per AUDIT.md",
            quality="parsed from the PDF; checked against the v1.3 PDF and data release (AUDIT.md)",
            priority=2026,
        )
    msg = f"no transcribed Rare Earths chapter for MCS {edition}"
    raise DataError(msg, fix=f"use one of {_EDITIONS}")


def _rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    if not path.exists():
        raise DataError(
            "file not found", path=path, fix="check the raw data folder (PROVENANCE.md section 6)"
        )
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        out: list[tuple[int, dict[str, str]]] = []
        start = reader.line_num + 1
        for cells in reader:
            if any(c.strip() for c in cells):
                out.append((start, dict(zip(header, (c.strip() for c in cells), strict=False))))
            start = reader.line_num + 1
    return header, out


def _need(header: list[str], name: str, path: Path) -> None:
    if name not in header:
        raise DataError(
            f"missing column {name!r}", path=path, line=1, column=name, fix="check the transcription"
        )


def _frame(rows: list[dict[str, Any]], schema: Any) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(schema.to_schema().columns))
    validated: pd.DataFrame = schema.validate(frame)
    return validated


def read_world_production(path: str | Path, edition: int) -> pd.DataFrame:
    """World mine production (t REO) and reserves by country -> :class:`ProductionSchema`."""
    path = Path(path)
    header, rows = _rows(path)
    _need(header, "country", path)
    source = transcribed_source(edition)
    prod_cols = [(h, m) for h in header if (m := re.fullmatch(r"mine_production_(\d{4})(_est)?", h))]
    if not prod_cols:
        raise DataError(
            "no mine_production_<year> columns",
            path=path,
            line=1,
            column="mine_production",
            fix="check the transcription",
        )
    estimate_year = max(int(m.group(1)) for _h, m in prod_cols)
    columns: list[tuple[str, str, int, bool]] = [
        (h, "production", int(m.group(1)), bool(m.group(2))) for h, m in prod_cols
    ]
    if "reserves" in header:
        columns.append(("reserves", "reserves", estimate_year, False))
    out: list[dict[str, Any]] = []
    for line, row in rows:
        label = parse_source_name(row["country"], path=path, line=line, column="country")
        foot = row.get("footnotes", "")
        base_notes = [n for n in (f"footnote {foot}" if foot else "", row.get("notes", "")) if n]
        if "REO" not in row.get("unit", "REO"):
            raise DataError(
                f"unit {row.get('unit')!r} is not t REO",
                path=path,
                line=line,
                column="unit",
                fix="the rare-earth chapter tables are in metric tons REO",
            )
        for col, measure, year, est in columns:
            printed = row.get(col, "")
            notes = list(base_notes)
            for fix in AUDIT_CORRECTIONS:
                if fix.edition == edition and fix.country == label.code and fix.measure == measure:
                    if printed.replace(",", "") == fix.old:
                        printed = fix.new
                        notes.append(f"corrected from {fix.old} to {fix.new}: {fix.why}")
                    elif printed.replace(",", "") != fix.new:
                        raise DataError(
                            f"expected {fix.old} (to correct) or {fix.new}, found {printed!r}",
                            path=path,
                            line=line,
                            column=col,
                            fix="re-check AUDIT.md against the file",
                        )
            try:
                cell = parse_value(printed)
            except ValueError as exc:
                raise DataError(
                    str(exc), path=path, line=line, column=col, fix="use a number, NA or W"
                ) from exc
            if cell is None:
                continue
            if cell.note:
                notes.append(cell.note)
            out.append(
                {
                    "commodity": COMMODITY,
                    "stage": "mining",
                    "measure": measure,
                    "country": label.code,
                    "year": year,
                    "value": cell.value,
                    "unit": "t",
                    "qualifier": cell.qualifier,
                    "estimated": est or cell.estimated or label.estimated,
                    "vintage": edition,
                    "series": "Rare earths, mine production and reserves, metric tons REO",
                    "note": "; ".join(notes) or None,
                    "source_id": source.id,
                }
            )
    return _frame(out, ProductionSchema)


_UNITS = {"t reo": "t", "usd/kg": "usd_per_kg", "number": "count"}
_ITEM_WORDS = {
    "rare-earth metals, scandium, and yttrium": "rare_earth_metals",
    "rare-earth metals and alloys": "rare_earth_metals",
    "consumption, apparent, compounds and metals": "compounds_metals",
    "employment, mine and mill, annual average": "mine_mill",
    "neodymium-praseodymium (ndpr) oxide, 99% minimum": "ndpr_oxide",
}


def _item(section: str, item: str) -> str:
    sec = {
        "production": "production",
        "imports": "imports",
        "exports": "exports",
        "consumption": "apparent_consumption",
        "price": "price",
        "employment": "employment",
    }
    head = sec.get(section.lower(), re.sub(r"[^a-z0-9]+", "_", section.lower()).strip("_"))
    text = item.lower()
    text = re.sub(r"^metals: ", "", text)
    text = _ITEM_WORDS.get(text, text)
    text = re.sub(r",.*$", "", text) if section.lower() == "price" else text
    text = text.replace(" and ", " ")
    return f"{head}_{re.sub(r'[^a-z0-9]+', '_', text).strip('_')}"


def _year_columns(header: list[str]) -> list[tuple[str, int, bool]]:
    return [(h, int(m.group(1)), bool(m.group(2))) for h in header if (m := re.fullmatch(r"(\d{4})(e)?", h))]


def read_salient(path: str | Path, edition: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """U.S. salient statistics -> (:class:`SalientSchema`, :class:`ImportRelianceSchema`) frames."""
    path = Path(path)
    header, rows = _rows(path)
    for name in ("section", "item", "unit"):
        _need(header, name, path)
    source = transcribed_source(edition)
    years = _year_columns(header)
    salient: list[dict[str, Any]] = []
    nir: list[dict[str, Any]] = []
    for line, row in rows:
        section, label, foot = row["section"], row["item"], row.get("footnotes", "")
        for col, year, est in years:
            printed = row.get(col, "")
            if not printed:
                continue
            note = f"footnotes: {foot}" if foot else None
            if section.lower() == "net import reliance":
                try:
                    value, bound = parse_nir(printed)
                except ValueError as exc:
                    raise DataError(
                        str(exc), path=path, line=line, column=col, fix="use 85, >95 or E"
                    ) from exc
                nir.append(
                    {
                        "importer": "USA",
                        "commodity": COMMODITY,
                        "year": year,
                        "value": value,
                        "bound": bound,
                        "as_printed": printed,
                        "vintage": edition,
                        "note": "; ".join(x for x in (f"rare earths {label.lower()}", note) if x),
                        "source_id": source.id,
                    }
                )
                continue
            unit = _UNITS.get(row["unit"].lower())
            if unit is None:
                raise DataError(
                    f"unknown unit {row['unit']!r}",
                    path=path,
                    line=line,
                    column="unit",
                    fix=f"use one of {sorted(_UNITS)}",
                )
            try:
                cell = parse_value(printed)
            except ValueError as exc:
                raise DataError(
                    str(exc), path=path, line=line, column=col, fix="use a number, NA or W"
                ) from exc
            if cell is None:
                continue
            salient.append(
                {
                    "country": "USA",
                    "commodity": COMMODITY,
                    "year": year,
                    "item": _item(section, label),
                    "label": f"{section}: {label}",
                    "value": cell.value,
                    "unit": unit,
                    "qualifier": cell.qualifier,
                    "estimated": est or cell.estimated,
                    "vintage": edition,
                    "note": note,
                    "source_id": source.id,
                }
            )
    return _frame(salient, SalientSchema), _frame(nir, ImportRelianceSchema)


def read_import_sources(path: str | Path, edition: int) -> pd.DataFrame:
    """U.S. import sources (percent of imports by partner) -> :class:`ImportSourceSchema`."""
    path = Path(path)
    header, rows = _rows(path)
    for name in ("period", "partner", "share_pct"):
        _need(header, name, path)
    source = transcribed_source(edition)
    out: list[dict[str, Any]] = []
    for line, row in rows:
        partner = parse_source_name(row["partner"], path=path, line=line, column="partner").code
        try:
            share = float(row["share_pct"]) / 100
        except ValueError as exc:
            raise DataError(
                f"bad share {row['share_pct']!r}",
                path=path,
                line=line,
                column="share_pct",
                fix="use a percentage such as 70",
            ) from exc
        if not 0 <= share <= 1 or math.isnan(share):
            raise DataError(
                f"share {row['share_pct']!r} is not a percentage",
                path=path,
                line=line,
                column="share_pct",
                fix="use 0..100",
            )
        notes = [f"as printed: {row.get('commodity', '')}".strip(), row.get("notes", "")]
        out.append(
            {
                "importer": "USA",
                "commodity": COMMODITY,
                "period": row["period"],
                "partner": partner,
                "share": share,
                "vintage": edition,
                "note": "; ".join(n for n in notes if n) or None,
                "source_id": source.id,
            }
        )
    return _frame(out, ImportSourceSchema)


def build_usgs_transcribed(raw_dir: Path) -> dict[str, tuple[pd.DataFrame, list[Source]]]:
    """All transcribed MCS 2025/2026 Rare Earths tables, keyed by bundled table name.

    Returns ``{"production": ..., "salient": ..., "import_sources": ..., "import_reliance": ...}``,
    each a validated frame with the sources its ``source_id`` values cite.
    """
    folder = Path(raw_dir) / "transcribed"
    parts: dict[str, list[pd.DataFrame]] = {
        "production": [],
        "salient": [],
        "import_sources": [],
        "import_reliance": [],
    }
    sources = [transcribed_source(e) for e in _EDITIONS]
    for edition in _EDITIONS:
        stem = folder / f"usgs_mcs{edition}_rare_earths"
        parts["production"].append(read_world_production(f"{stem}_world_production_reserves.csv", edition))
        salient, nir = read_salient(f"{stem}_us_salient.csv", edition)
        parts["salient"].append(salient)
        parts["import_reliance"].append(nir)
        parts["import_sources"].append(read_import_sources(f"{stem}_us_import_sources.csv", edition))
    return {name: (pd.concat(frames, ignore_index=True), list(sources)) for name, frames in parts.items()}
