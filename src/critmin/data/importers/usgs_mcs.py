"""USGS Mineral Commodity Summaries data release: world production, reserves and capacity.

:func:`read_world_csv` reads one ``mcs20xx-<code>_world.csv`` file exactly as USGS publishes it
(one per commodity chapter, about 77 per edition) into a :class:`~critmin.data.schemas.ProductionSchema`
frame plus the :class:`~critmin.data.catalogue.Source` it cites.

Format quirks handled (all seen in the MCS 2023 and 2024 releases):

* UTF-8 byte-order mark, CRLF line ends, trailing empty columns (``,,,,``) and blank rows;
* units in the column names: ``Prod_kt_2022``, ``Prod_t_est_2023`` and ``Prod_kt_Est_2022``
  (estimated), ``Prod_Sponge_t_Est_2022`` (a product tag), ``Reserves_kt``, ``Reserves_kt_2023``,
  ``Reserves_ore_kt``, ``Cap_kg_2023`` and ``Cap_Pigment_t_2023`` (capacity), and the USGS unit
  suffixes ``mmt``/``mt`` (Mt), ``mct`` (Mct), ``kct``, ``mcm`` (Mm3). Reserves have no year: they
  get the edition's estimate year (the later production year). A few headers print the wrong unit;
  ``usgs_series.yaml`` corrects them (``unit_fixes``) and says how we know;
* values ``W`` (withheld: NaN, qualifier ``withheld``), ``NA`` (``not_available``), ``XX``
  (``not_applicable``), ``--``/``—`` (USGS zero: 0), ``>130,000,000`` (130000000, ``over``),
  ``<100`` (``under``), ``Less than ½ unit.`` (0.5 of the column's unit, ``under``), ``e5,000``
  (estimated), thousands separators, stray spaces and non-breaking spaces; descriptive entries
  ("Large", "Included with ilmenite", "Included in World total.") become NaN, ``not_available``,
  with the text kept in ``note``;
* country labels through :func:`~critmin.model.countries.parse_source_name` (fused footnote digits,
  trailing ``e`` estimate marker, "Burma", "World total (rounded)", qualifiers such as
  "Brazil (beneficiated)"), the stripped parts kept in ``note``; a Type containing "World total"
  forces country ``WLD``;
* the Type column's header is sometimes the type text itself (fluorspar 2024); some files leave
  Type empty (iron oxide pigments 2024); cells under an empty header become a note if text, are
  ignored if they repeat a value of the row (barite 2024 repeats Reserves), else raise.

Rows map to a registry commodity and stage through ``usgs_series.yaml`` (file code + Type regex,
optionally the column's product tag). Every value is converted with :func:`critmin.units.convert`
into the commodity's unit. ``series`` keeps the Type text; a country printed twice with the same
Type but different qualifiers (helium: "United States (extracted from natural gas)" and "(from
Cliffside Field)") gets the qualifier appended to ``series``.

Errors (unknown country, unknown file code or Type, malformed or negative number, duplicated row,
header without Country or value columns) raise :class:`~critmin.errors.DataError` naming file,
physical line and column. Nothing is returned partially: the whole file is parsed first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.errors

from critmin.data.catalogue import Source
from critmin.data.importers.csvrows import check_quotes, duplicate_columns, show
from critmin.data.importers.usgs_cells import NUMBER, Cell, clean, parse_value
from critmin.data.importers.usgs_rules import SeriesRule, series_rules
from critmin.data.schemas import ProductionSchema
from critmin.errors import DataError
from critmin.infile import csv_records, finite, read_input
from critmin.model.commodities import Commodity, registry
from critmin.model.countries import WORLD, CountryLabel, parse_source_name
from critmin.units import canonical, convert

__all__ = [
    "NMIC_URL",
    "SeriesRule",
    "WorldImport",
    "mcs_source",
    "parse_value",
    "read_world_csv",
    "read_world_folder",
    "series_rules",
]

NMIC_URL = "https://www.usgs.gov/centers/national-minerals-information-center/mineral-commodity-summaries"
_PUBLISHER = "U.S. Geological Survey, National Minerals Information Center"
_VIA = "GitHub Redliana/cmm-data@d780c5b7ff41bef8906fe1518a4cb2e1b549785a"
_KNOWN_EDITIONS: dict[int, tuple[str, str]] = {
    2024: ("Mineral Commodity Summaries 2024 Data Release (ver. 2.0, March 2024)", "10.5066/P144BA54"),
    2023: ("Mineral Commodity Summaries 2023 Data Release", "10.5066/P9WCYUI6"),
}
_MEASURES = {"prod": "production", "cap": "capacity", "reserves": "reserves"}
YEARS = (1900, 2100)
"""Accepted years (header years and the edition), inclusive."""
_UNIT_TOKENS = {"t", "kt", "kg", "mmt", "mt", "mct", "kct", "mcm"}
_FILE_NAME = re.compile(r"^mcs(?P<year>\d{4})-?(?P<code>.+?)_world\.csv$", re.IGNORECASE)
_SOURCE_CELL = re.compile(r"MCS\s*(\d{4})", re.IGNORECASE)
_PLAIN_AGGREGATE = {
    "world total",
    "world total (rounded)",
    "other countries",
    "other countries (rounded)",
    "other",
}


# --- sources --------------------------------------------------------------------------------------


def mcs_source(vintage: int, source_id: str | None = None) -> Source:
    """The :class:`Source` of the MCS data release of ``vintage`` (2023 and 2024 are known by DOI)."""
    sid = source_id or f"usgs-mcs{vintage}"
    if vintage in _KNOWN_EDITIONS:
        title, doi = _KNOWN_EDITIONS[vintage]
        return Source(
            id=sid,
            kind="dataset",
            publisher=_PUBLISHER,
            title=title,
            year=vintage,
            doi=doi,
            url=f"https://doi.org/{doi}",
            licence="US public domain",
            via=_VIA,
            priority=vintage,
        )
    return Source(
        id=sid,
        kind="dataset",
        publisher=_PUBLISHER,
        title=f"Mineral Commodity Summaries {vintage} Data Release",
        year=vintage,
        url=NMIC_URL,
        licence="US public domain",
        priority=vintage,
        notes="edition not in critmin's list of known releases: DOI not recorded",
    )


# --- header ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ValueColumn:
    index: int
    name: str
    measure: str
    product: str
    unit: str
    year: int | None
    estimated: bool


@dataclass(frozen=True)
class _Header:
    country: int
    type: int | None
    source: int | None
    values: tuple[_ValueColumn, ...]
    notes: dict[str, int]
    width: int


def _parse_header(cells: Sequence[str], path: Path) -> _Header:
    names = [clean(c) for c in cells]
    lower = [n.lower() for n in names]
    if "country" not in lower:
        raise DataError(
            f"no Country column in header {names!r}",
            path=path,
            line=1,
            column="Country",
            fix="is this a USGS MCS *_world.csv file? the header must name Source, Country, Type, Prod_...",
        )
    duplicate_columns(names, path, fold_case=True)
    country = lower.index("country")
    values: list[_ValueColumn] = []
    notes: dict[str, int] = {}
    type_col = lower.index("type") if "type" in lower else None
    source = lower.index("source") if "source" in lower else None
    for i, name in enumerate(names):
        if not name or i in (country, type_col, source):
            continue
        tokens = name.split("_")
        measure = _MEASURES.get(tokens[0].lower())
        if measure is None:
            if i == 2 and type_col is None:  # fluorspar 2024: the Type header is the type text
                type_col = i
                continue
            raise DataError(
                f"unexpected column {name!r}",
                path=path,
                line=1,
                column=name,
                fix="value columns are Prod_<unit>_<year>, Cap_<unit>_<year> or Reserves_<unit>",
            )
        if tokens[-1].lower() in {"notes", "note"}:
            notes.setdefault(measure, i)
            continue
        rest = tokens[1:]
        year = int(rest.pop()) if rest and re.fullmatch(r"\d{4}", rest[-1]) else None
        if year is not None and not YEARS[0] <= year <= YEARS[1]:
            raise DataError(
                f"year {year:04d} in the header is outside {YEARS[0]}..{YEARS[1]}",
                path=path,
                line=1,
                column=name,
                fix="the header names the data year, e.g. Prod_t_2023",
            )
        estimated = bool(rest) and rest[-1].lower() == "est"
        if estimated:
            rest.pop()
        if not rest or rest[-1].lower() not in _UNIT_TOKENS:
            raise DataError(
                f"cannot read the unit of column {name!r}",
                path=path,
                line=1,
                column=name,
                fix=f"the unit suffix must be one of {sorted(_UNIT_TOKENS)}",
            )
        unit = rest.pop()
        values.append(_ValueColumn(i, name, measure, "_".join(rest), unit, year, estimated))
    if not values:
        raise DataError(
            f"no Prod_, Cap_ or Reserves_ value columns in header {names!r}",
            path=path,
            line=1,
            column="Prod",
            fix="the header must have columns like Prod_kt_2022, Prod_kt_est_2023, Reserves_kt",
        )
    last = max(i for i, n in enumerate(names) if n) + 1
    return _Header(country, type_col, source, tuple(values), notes, last)


# --- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorldImport:
    """One world table: a validated :class:`ProductionSchema` frame and the source it cites."""

    frame: pd.DataFrame
    source: Source
    sha256: str
    """SHA-256 of exactly the bytes that were parsed (read once by :func:`critmin.infile.read_input`)."""


@dataclass
class _Record:
    row: dict[str, Any]
    line: int
    qualifier_of_label: str | None


def _read_rows(path: Path) -> tuple[list[tuple[int, list[str]]], str]:
    """Records with the physical line each starts on (1-based; the header is line 1), and the
    SHA-256 of the bytes they were parsed from (the file is read once)."""
    inp = read_input(path, "csv", what="USGS MCS world file")
    text = inp.text()
    check_quotes(text, path)
    out = list(csv_records(text, path))
    if not out or not any(clean(c) for c in out[0][1]):
        raise DataError(
            "the file is empty (no header)", path=path, line=1, fix="give a USGS MCS *_world.csv file"
        )
    return out, inp.sha256


def _edition_of(
    rows: Iterable[tuple[int, list[str]]], header: _Header, path: Path, code_year: int | None
) -> int | None:
    found: dict[int, int] = {}
    if header.source is not None:
        for line, cells in rows:
            if header.source < len(cells):
                m = _SOURCE_CELL.search(cells[header.source])
                if m:
                    found.setdefault(int(m.group(1)), line)
    if len(found) > 1:
        lines = ", ".join(f"{y} (line {ln})" for y, ln in sorted(found.items()))
        raise DataError(
            f"rows cite different editions: {lines}",
            path=path,
            line=max(found.values()),
            column="Source",
            fix="one file holds one MCS edition; pass vintage= to override",
        )
    year, line = next(iter(found.items())) if found else (None, 0)
    if year is not None and 1900 <= year <= 2100 and code_year is not None and code_year != year:
        raise DataError(
            f"the file name says MCS{code_year} but the rows cite MCS{year}",
            path=path,
            line=line,
            column="Source",
            fix="rename the file after its edition, or pass vintage= to say which edition it is",
        )
    return next(iter(found)) if found else code_year


def _label_note(label: CountryLabel, raw: str) -> list[str]:
    parts: list[str] = []
    if label.qualifier:
        parts.append(f"country qualifier: {label.qualifier}")
    if label.footnote:
        parts.append(f"footnote {label.footnote}")
    if label.estimated:
        parts.append("country marked e (estimated)")
    if label.code in {"WLD", "OTH"}:
        cleaned = clean(raw)
        if label.footnote and cleaned.endswith(label.footnote):
            cleaned = cleaned[: -len(label.footnote)].rstrip()
        if cleaned.lower() not in _PLAIN_AGGREGATE:
            parts.append(f"country as printed: {cleaned}")
    return parts


def read_world_csv(
    path: str | Path,
    *,
    source_id: str | None = None,
    vintage: int | None = None,
    code: str | None = None,
) -> WorldImport:
    """Read one USGS MCS ``*_world.csv`` file into a validated :class:`ProductionSchema` frame.

    ``source_id`` defaults to ``usgs-mcs<edition>`` and ``vintage`` to the edition, both read from
    the file's Source column ("MCS2024", "MCS 2024") or, if that is empty, its name. ``code`` (the
    USGS file code, e.g. ``raree``) defaults to the one in the file name. See the module docstring
    for the quirks handled; raises :class:`DataError` naming file, line and column otherwise.
    """
    path = Path(path)
    name_match = _FILE_NAME.match(path.name)
    code = (code or (name_match.group("code") if name_match else "")).lower()
    rows, sha256 = _read_rows(path)
    header = _parse_header(rows[0][1], path)
    data = [(line, cells) for line, cells in rows[1:] if any(clean(c) for c in cells)]
    if not data:
        raise DataError(
            "no data rows under the header (0 rows would be imported)",
            path=path,
            fix="give the full *_world.csv file (is it truncated?)",
        )
    for line, cells in data:
        if len(cells) < header.width:
            raise DataError(
                f"the row has {len(cells)} field(s), the header has {header.width} (a truncated row?)",
                path=path,
                line=line,
                fix="give every column, empty ones as nothing between commas (a,,b), or re-export the file",
            )
    if vintage is None:
        vintage = _edition_of(data, header, path, int(name_match.group("year")) if name_match else None)
    if vintage is None:
        raise DataError(
            "cannot tell the MCS edition: no 'MCS20xx' in the Source column or the file name",
            path=path,
            line=2,
            column="Source",
            fix="pass vintage= (and source_id=)",
        )
    if not YEARS[0] <= vintage <= YEARS[1]:
        raise DataError(
            f"MCS edition {vintage} is outside {YEARS[0]}..{YEARS[1]}",
            path=path,
            line=2,
            column="Source",
            fix="the Source column names the edition, e.g. MCS2024 (or pass vintage=)",
        )
    if not code:
        raise DataError(
            "cannot tell the USGS file code from the file name",
            path=path,
            line=1,
            column="Type",
            fix="name the file mcs<year>-<code>_world.csv or pass code=",
        )
    source = mcs_source(vintage, source_id)
    rules = [r for r in series_rules() if code in r.codes]
    reg = registry()
    years = [c.year for c in header.values if c.year is not None and c.measure != "reserves"]
    estimate_year = max(years) if years else vintage - 1
    type_name = rows[0][1][header.type] if header.type is not None else "Type"
    records: list[_Record] = []
    for line, raw_cells in data:
        cells = list(raw_cells) + [""] * max(0, header.width - len(raw_cells))
        stray = _unlabelled_notes(cells, header, path, line)
        type_text = clean(cells[header.type]) if header.type is not None else ""
        if not rules:
            raise DataError(
                f"file code {code!r} has no rules in usgs_series.yaml",
                path=path,
                line=line,
                column=type_name,
                fix="add rules mapping this file's Type values to a commodity and stage",
            )
        label = parse_source_name(cells[header.country], path=path, line=line, column="Country")
        country = WORLD if "world total" in type_text.lower() else label.code
        row_notes = _label_note(label, cells[header.country]) + stray
        for col in header.values:
            rule = next((r for r in rules if r.matches(code, vintage, type_text, col.product)), None)
            if rule is None:
                typed = any(r.type_pattern.search(type_text) for r in rules)
                raise DataError(
                    f"no rule in usgs_series.yaml for file code {code!r}, Type {type_text!r}"
                    + (f", column {col.name!r}" if typed else ""),
                    path=path,
                    line=line,
                    column=col.name if typed else type_name,
                    fix="add a rule (code, type_pattern, commodity, stage) to critmin/data/usgs_series.yaml",
                )
            try:
                cell = parse_value(cells[col.index])
            except ValueError as exc:
                raise DataError(
                    str(exc),
                    path=path,
                    line=line,
                    column=col.name,
                    fix="use a number like 1,234 or W, NA, XX",
                ) from exc
            if cell is None or rule.skip:
                continue
            commodity: Commodity = reg.get(rule.commodity)
            unit = rule.unit_fixes.get(col.name, col.unit)
            value = cell.value
            if not math.isnan(value):
                value = finite(
                    convert(value, unit, commodity.unit),
                    path=path,
                    line=line,
                    column=col.name,
                    what=f"value {show(clean(cells[col.index]))} {unit} in {commodity.unit}",
                )
            notes = [*row_notes, *([cell.note] if cell.note else [])]
            if col.name in rule.unit_fixes:
                notes.append(f"header {col.name} read as {canonical(unit)} (usgs_series.yaml unit_fixes)")
            notes += _column_note(cells, header, col.measure, rows[0][1])
            record = {
                "commodity": commodity.id,
                "stage": rule.stage,
                "measure": rule.measure or col.measure,
                "country": country,
                "year": col.year if col.year is not None else estimate_year,
                "value": value,
                "unit": commodity.unit,
                "qualifier": cell.qualifier,
                "estimated": col.estimated or cell.estimated or label.estimated,
                "vintage": vintage,
                "series": type_text or None,
                "note": "; ".join(notes) or None,
                "source_id": source.id,
            }
            records.append(_Record(record, line, label.qualifier))
    if not records:
        raise DataError(
            f"no values in the {len(data)} data row(s) (0 rows would be imported)",
            path=path,
            line=data[0][0],
            fix="give the full *_world.csv file, with its Prod_/Reserves_ values",
        )
    _resolve_duplicates(records, path)
    return WorldImport(_frame(records, path), source, sha256)


def _column_note(cells: Sequence[str], header: _Header, measure: str, names: Sequence[str]) -> list[str]:
    """The measure's notes cell (Prod_notes, Reserves_notes...; Prod_notes if it has none)."""
    col = header.notes.get(measure, header.notes.get("production"))
    text = clean(cells[col]) if col is not None else ""
    if col is not None and NUMBER.match(text.replace(" ", "")):  # vermiculite 2024: numbers in notes
        return [f"unlabelled number in {names[col]}: {text}"]
    return [text] if text and text.upper() not in {"NA", "NOT AVAILABLE"} else []


def _same(a: Cell | None, b: Cell | None) -> bool:
    if a is None or b is None:
        return a is b
    both_nan = math.isnan(a.value) and math.isnan(b.value)
    return a.qualifier == b.qualifier and (both_nan or a.value == b.value)


def _unlabelled_notes(cells: Sequence[str], header: _Header, path: Path, line: int) -> list[str]:
    """Cells under an empty header (or past the last named one): text -> a note; a number that
    repeats a value of the same row (barite 2024 repeats Reserves) -> ignored; else an error."""
    named = {header.country, header.type, header.source, *header.notes.values()}
    named |= {c.index for c in header.values}
    notes: list[str] = []
    for i, raw in enumerate(cells):
        text = clean(raw)
        if i in named or not text:
            continue
        cell = _parse_quiet(text)
        if cell is None or (cell.note and cell.note.startswith("as printed") and math.isnan(cell.value)):
            notes.append(f"unlabelled column: {text}")
            continue
        if any(_same(cell, _parse_quiet(cells[c.index])) for c in header.values):
            continue
        raise DataError(
            f"value {text!r} in a column without a header",
            path=path,
            line=line,
            column=f"column {i + 1}",
            fix="every value needs a header; check for unquoted commas",
        )
    return notes


def _parse_quiet(text: str) -> Cell | None:
    try:
        return parse_value(text)
    except ValueError:
        return None


def _resolve_duplicates(records: list[_Record], path: Path) -> None:
    """Same (commodity, stage, measure, country, year, series) twice: qualify series or raise."""
    groups: dict[tuple[Any, ...], list[_Record]] = {}
    for rec in records:
        r = rec.row
        key = (r["commodity"], r["stage"], r["measure"], r["country"], r["year"], r["series"])
        groups.setdefault(key, []).append(rec)
    for group in groups.values():
        if len(group) < 2:
            continue
        quals = [g.qualifier_of_label for g in group]
        if all(quals) and len(set(quals)) == len(quals):
            for g in group:
                g.row["series"] = f"{g.row['series'] or ''} [{g.qualifier_of_label}]".strip()
            continue
        first, dup = group[0], group[1]
        raise DataError(
            f"duplicate row: {dup.row['country']} {dup.row['measure']} {dup.row['year']} "
            f"({dup.row['series']!r}) is already on line {first.line}",
            path=path,
            line=dup.line,
            column="Country",
            fix="remove one of the rows, or give them different Types or country qualifiers",
        )


def _frame(records: list[_Record], path: Path) -> pd.DataFrame:
    columns = list(ProductionSchema.to_schema().columns)
    frame = pd.DataFrame([r.row for r in records], columns=columns)
    try:
        validated: pd.DataFrame = ProductionSchema.validate(frame)
    except pandera.errors.SchemaError as exc:  # a check above missed a case: still one line
        idx = getattr(exc, "failure_cases", None)
        row = int(idx["index"].iloc[0]) if idx is not None and "index" in idx and len(idx) else None
        column = getattr(getattr(exc, "schema", None), "name", None)
        raise DataError(
            f"a row fails the production schema ({exc.reason_code}: {show(str(exc).splitlines()[0])})",
            path=path,
            line=records[row].line if row is not None and 0 <= row < len(records) else None,
            column=str(column) if column else None,
            fix="check the value and the header of this column",
        ) from None
    return validated


def read_world_folder(
    folder: str | Path, *, pattern: str = "*_world.csv"
) -> tuple[pd.DataFrame, list[Source]]:
    """Read every world CSV in ``folder`` (sorted by name): one frame and the distinct sources."""
    frames: list[pd.DataFrame] = []
    sources: dict[str, Source] = {}
    for path in sorted(Path(folder).glob(pattern), key=lambda p: p.name.lower()):
        imported = read_world_csv(path)
        frames.append(imported.frame)
        sources.setdefault(imported.source.id, imported.source)
    if not frames:
        raise DataError(
            f"no files matching {pattern!r}", path=folder, fix="point at a usgs_mcs20xx/world folder"
        )
    return pd.concat(frames, ignore_index=True), list(sources.values())
