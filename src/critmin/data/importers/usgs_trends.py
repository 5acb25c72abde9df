"""USGS MCS data release: net import reliance, critical-mineral salient table, salient statistics.

* :func:`read_nir_figure` reads ``MCS20xx_Fig2_Net_Import_Reliance.csv`` (U.S. net import reliance
  by commodity, as a percentage of apparent consumption) into
  :class:`~critmin.data.schemas.ImportRelianceSchema`: ``>95`` -> 0.95 bound ``gt``, ``<50`` -> 0.5
  ``lt``, ``E`` -> NaN ``net_exporter``, plain numbers ``eq``; the year comes from the column name
  (``Net_Import_Reliance_pct_2023``); ``as_printed`` keeps the cell, ``note`` the printed commodity
  label and the major import sources.
* :func:`read_critical_salient_table` reads ``MCS2024_T5_Critical_Minerals_Salient.csv`` into
  :class:`~critmin.data.schemas.SalientSchema` (metric tons, per the release metadata):
  ``primary_production``, ``secondary_production``, ``apparent_consumption`` (country USA),
  ``leading_country_production`` and ``leading_country_share`` (a fraction; country = the leading
  producer), ``world_production`` (WLD). :func:`read_critical_salient_nir` reads its NIR column.
* :func:`read_salient_csv` reads one per-commodity ``mcs20xx-<code>_salient.csv``: column stems
  ``USprod_``, ``Imports_``, ``Exports_``, ``Consump_``, ``Price_``, ``Stocks_``, ``Shipments_``,
  ``Employment_``, ``NIR_`` with the unit as suffix (``_t``, ``_kt``, ``_kg``, ``_mmt``, ``_dkg`` =
  US$/kg, ``_dt`` = US$/t, ``_dlb``, ``_ctslb``, ``_dtoz``, ``_pct``...), sometimes fused
  (``USprod_Primarykg``, ``Price_WO3dt``). Percentages become fractions; prices keep their
  published unit. ``Unnamed: N`` and empty columns are ignored; quoted thousands separators,
  ``W``, ``NA``, ``E`` (net exporter), ``<1,000``, ``Less than ½ unit.``, ``Less than 50,000 tons``,
  ranges (``50–300``: midpoint, qualifier ``range``) and ``e``-estimates are read.

Every commodity is a registry id; an unknown label raises :class:`~critmin.errors.DataError` naming
file, line and column.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.errors

from critmin.data.importers.csvrows import check_quotes, data_rows, duplicate_columns, show
from critmin.data.importers.usgs_mcs import parse_value
from critmin.data.schemas import ImportRelianceSchema, SalientSchema
from critmin.errors import DataError, UnknownCommodityError
from critmin.infile import csv_records, finite, read_input
from critmin.model.commodities import registry
from critmin.model.countries import WORLD, parse_source_name
from critmin.units import convert

__all__ = [
    "parse_nir",
    "read_critical_salient_nir",
    "read_critical_salient_table",
    "read_nir_figure",
    "read_salient_csv",
    "usgs_commodity_id",
]

#: Printed USGS commodity labels that do not resolve by name (checked before the registry).
_LABELS: tuple[tuple[str, str], ...] = (
    (r"^mica \(natural\),? (sheet)", "mica_sheet"),
    (r"^mica \(natural\),? scrap", "mica_scrap_flake"),
    (r"^abrasives,? (crude )?fused aluminum oxide", "fused_aluminum_oxide"),
    (r"^abrasives,? (crude )?silicon carbide", "silicon_carbide"),
    (r"^diamond \(industrial\)", "industrial_diamond"),
    (r"^(bauxite|alumina|aluminum)\b", "aluminum"),
    (r"^graphite \(natural\)", "graphite"),
    (r"^niobium", "niobium"),
    (r"^rare earths", "rare_earths"),
    (r"^titanium mineral concentrates", "titanium_mineral_concentrates"),
    (r"^titanium", "titanium"),
    (r"^stone \(dimension\)", "dimension_stone"),
    (r"^garnet \(industrial\)", "garnet"),
    (r"^iron oxide pigments", "iron_oxide_pigments"),
    (r"^magnesium compounds", "magnesium_compounds"),
    (r"^magnesium( metal)?$", "magnesium"),
    (r"^silicon", "silicon"),
    (r"^zirconium", "zirconium"),
    (r"^nepheline syenite", "nepheline_syenite"),
    (r"^gemstones", "gemstones"),
)
YEARS = (1900, 2100)
"""Accepted years (data years and editions), inclusive."""
_NIR = re.compile(r"^(?P<op>[<>])?\s*(?P<num>\d+(?:\.\d+)?)$")


def usgs_commodity_id(
    label: str, *, path: str | Path | None = None, line: int | None = None, column: str | None = None
) -> str:
    """Registry id for a USGS printed commodity label ("GRAPHITE (NATURAL)", "ZINC, refined")."""
    text = re.sub(r"\s+", " ", label.replace("\u00a0", " ")).strip()
    low = text.lower()
    for pattern, cid in _LABELS:
        if re.search(pattern, low):
            return cid
    head = re.split(r"[,(]", low)[0].strip()
    try:
        return registry().get(head.replace(" ", "_")).id
    except UnknownCommodityError as exc:
        raise DataError(
            f"unknown commodity {label!r}",
            path=path,
            line=line,
            column=column,
            fix="add it to critmin/data/commodities.yaml or to _LABELS in usgs_trends.py",
        ) from exc


def _nir_record(
    cid: str, year: int, value: float, bound: str, printed: str, vintage: int, notes: list[str]
) -> dict[str, Any]:
    """One US net-import-reliance row (ImportRelianceSchema) from a USGS MCS edition."""
    return {
        "importer": "USA",
        "commodity": cid,
        "year": year,
        "value": value,
        "bound": bound,
        "as_printed": printed or "NA",
        "vintage": vintage,
        "note": "; ".join(notes),
        "source_id": f"usgs-mcs{vintage}",
    }


def parse_nir(text: str) -> tuple[float, str]:
    """Net import reliance cell -> (fraction, bound).

    ``"85"`` -> (0.85, "eq"), ``">95"`` -> (0.95, "gt"), ``"<50"`` -> (0.5, "lt"), ``"E"`` -> (NaN,
    "net_exporter"), ``"NA"``/``"W"`` -> (NaN, "not_available"); raises ``ValueError`` otherwise.
    """
    s = text.replace("\u00a0", " ").strip()
    if s.upper() == "E":
        return math.nan, "net_exporter"
    if s.upper() in {"NA", "W", ""}:
        return math.nan, "not_available"
    m = _NIR.match(s)
    if not m:
        msg = f"cannot read net import reliance {text!r}"
        raise ValueError(msg)
    value = float(m.group("num")) / 100
    if value > 1:
        msg = f"net import reliance {text!r} is over 100%"
        raise ValueError(msg)
    return value, {"<": "lt", ">": "gt"}.get(m.group("op") or "", "eq")


def _read(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]], str]:
    """Header, non-blank rows (with their physical line) and the SHA-256 of the bytes parsed."""
    inp = read_input(path, "csv", what="USGS MCS file")
    text = inp.text()
    check_quotes(text, path)
    records = csv_records(text, path)
    first = next(records, None)
    header = [h.strip() for h in first[1]] if first else []
    if not any(header):
        raise DataError("the file is empty (no header)", path=path, line=1, fix="give the USGS MCS CSV file")
    duplicate_columns(header, path, fold_case=True)
    width = max(i for i, h in enumerate(header) if h) + 1
    rows = [(line, dict(zip(header, cells, strict=False))) for line, cells in data_rows(records, width, path)]
    if not rows:
        raise DataError(
            "no data rows under the header (0 rows would be imported)",
            path=path,
            fix="give the full USGS MCS CSV file (is it truncated?)",
        )
    return header, rows, inp.sha256


def _vintage(rows: list[tuple[int, dict[str, str]]], key: str, path: Path) -> int:
    for line, row in rows:
        m = re.search(r"MCS\s*(\d{4})", row.get(key, ""), re.IGNORECASE)
        if m:
            return _edition(int(m.group(1)), path, line, key)
    m = re.search(r"mcs(\d{4})", path.name, re.IGNORECASE)
    if m:
        return _edition(int(m.group(1)), path, 2, key)
    raise DataError(
        "cannot tell the MCS edition", path=path, line=2, column=key, fix="check the Source column"
    )


def _edition(year: int, path: Path, line: int, column: str) -> int:
    if not YEARS[0] <= year <= YEARS[1]:
        raise DataError(
            f"MCS edition {year:04d} is outside {YEARS[0]}..{YEARS[1]}",
            path=path,
            line=line,
            column=column,
            fix="the Source column names the edition, e.g. MCS2024",
        )
    return year


def _col(header: list[str], *names: str, path: Path) -> str:
    low = {h.lower(): h for h in header}
    for n in names:
        if n.lower() in low:
            return low[n.lower()]
    raise DataError(
        f"missing column {names[0]!r}", path=path, line=1, column=names[0], fix="check the header"
    )


def read_nir_figure(path: str | Path) -> pd.DataFrame:
    """MCS Fig. 2 (U.S. net import reliance) -> :class:`ImportRelianceSchema` frame (importer USA)."""
    path = Path(path)
    header, rows, sha256 = _read(path)
    nir_col = next((h for h in header if re.match(r"^net_import_reliance_pct_\d{4}$", h, re.I)), None)
    if nir_col is None:
        raise DataError(
            "no Net_Import_Reliance_pct_<year> column",
            path=path,
            line=1,
            column="Net_Import_Reliance_pct",
            fix="is this MCS20xx_Fig2_Net_Import_Reliance.csv?",
        )
    year = int(nir_col[-4:])
    if not YEARS[0] <= year <= YEARS[1]:
        raise DataError(
            f"year {year:04d} in the header is outside {YEARS[0]}..{YEARS[1]}",
            path=path,
            line=1,
            column=nir_col,
            fix="the header names the data year, e.g. Net_Import_Reliance_pct_2023",
        )
    commodity_col = _col(header, "Commodity", path=path)
    sources_col = next((h for h in header if h.lower().startswith("major_import_sources")), None)
    vintage = _vintage(rows, "Source", path)
    out: list[dict[str, Any]] = []
    for line, row in rows:
        label = row.get(commodity_col, "").strip()
        cid = usgs_commodity_id(label, path=path, line=line, column=commodity_col)
        printed = row.get(nir_col, "").strip()
        try:
            value, bound = parse_nir(printed)
        except ValueError as exc:
            raise DataError(
                str(exc), path=path, line=line, column=nir_col, fix="use 85, >95, <50 or E"
            ) from exc
        notes = [f"commodity as printed: {label}"]
        if sources_col and row.get(sources_col, "").strip():
            span = sources_col.split("_")[-2:]
            notes.append(f"major import sources {'-'.join(span)}: {row[sources_col].strip()}")
        if row.get("Notes", "").strip():
            notes.append(row["Notes"].strip())
        out.append(_nir_record(cid, year, value, bound, printed, vintage, notes))
    return _validate(out, ImportRelianceSchema, sha256, path)


def _validate(rows: list[dict[str, Any]], schema: Any, sha256: str, path: Path) -> pd.DataFrame:
    """The validated frame; ``frame.attrs["sha256"]`` is the SHA-256 of the bytes parsed."""
    frame = pd.DataFrame(rows, columns=list(schema.to_schema().columns))
    try:
        validated: pd.DataFrame = schema.validate(frame)
    except pandera.errors.SchemaError as exc:  # a check above missed a case: still one line
        column = getattr(getattr(exc, "schema", None), "name", None)
        raise DataError(
            f"a row fails the {schema.__name__} schema: {show(str(exc).splitlines()[0])}",
            path=path,
            column=str(column) if column else None,
            fix="check the values of this column",
        ) from None
    validated.attrs["sha256"] = sha256
    return validated


def _finite(value: float, path: Path, line: int, column: str) -> float:
    """NaN (withheld, NA) as it is; else a finite value within 1e15 (one DataError otherwise)."""
    return value if math.isnan(value) else finite(value, path=path, line=line, column=column)


def _year(text: str) -> tuple[int, bool]:
    m = re.match(r"^(\d{4})(?:\.0)?(?:[_ ]?(e|est|estimated?))?$", text.strip(), re.IGNORECASE)
    if not m:
        msg = f"cannot read year {show(text)}"
        raise ValueError(msg)
    if not YEARS[0] <= int(m.group(1)) <= YEARS[1]:
        msg = f"year {m.group(1)} is outside {YEARS[0]}..{YEARS[1]}"
        raise ValueError(msg)
    return int(m.group(1)), m.group(2) is not None


_T5_ITEMS: tuple[tuple[tuple[str, ...], str, str, tuple[str, ...]], ...] = (
    (("Primary_prod",), "primary_production", "U.S. primary production", ("Prod_notes",)),
    (("Secondary_prod",), "secondary_production", "U.S. secondary production", ("Prod_notes",)),
    (
        ("Apparent_Consuption", "Apparent_Consumption"),
        "apparent_consumption",
        "U.S. apparent consumption",
        ("Contsumption_Notes", "Consumption_Notes"),
    ),
    (
        ("Leading_country_prod",),
        "leading_country_production",
        "Production of the leading producing country",
        (),
    ),
    (("World_total_prod",), "world_production", "World total production", ("World_prod_notes",)),
    (
        ("Leading_source_precent_world", "Leading_source_percent_world"),
        "leading_country_share",
        "Leading country's share of world production",
        (),
    ),
)


def read_critical_salient_table(path: str | Path) -> pd.DataFrame:
    """``MCS2024_T5_Critical_Minerals_Salient.csv`` -> :class:`SalientSchema` (quantities in t)."""
    path = Path(path)
    header, rows, sha256 = _read(path)
    vintage = _vintage(rows, "Source", path)
    name_col = _col(header, "Critical_mineral", path=path)
    year_col = _col(header, "Year", path=path)
    lead_col = _col(header, "Leading_source_country", path=path)
    out: list[dict[str, Any]] = []
    for line, row in rows:
        cid = usgs_commodity_id(row[name_col], path=path, line=line, column=name_col)
        try:
            year, est = _year(row[year_col].split("_")[0] + ("e" if "estim" in row[year_col].lower() else ""))
        except ValueError as exc:
            raise DataError(
                str(exc), path=path, line=line, column=year_col, fix="use 2023 or 2023_estimated"
            ) from exc
        lead_text = row.get(lead_col, "").strip()
        lead = None
        if lead_text and lead_text.upper() != "NA":
            lead = parse_source_name(lead_text, path=path, line=line, column=lead_col).code
        for names, item, label, note_cols in _T5_ITEMS:
            col = _col(header, *names, path=path)
            if item.startswith("leading_country") and lead is None:
                continue
            country = {"world_production": WORLD}.get(item, lead if item.startswith("leading") else "USA")
            try:
                cell = parse_value(row.get(col, ""))
            except ValueError as exc:
                raise DataError(
                    str(exc), path=path, line=line, column=col, fix="use a number, W or NA"
                ) from exc
            if cell is None:
                continue
            unit, value = "t", _finite(cell.value, path, line, col)
            if item == "leading_country_share":
                unit, value = "fraction", value / 100
            notes = [f"commodity as printed: {row[name_col].strip()}"]
            if item.startswith("leading"):
                notes.append(f"leading country: {lead_text}")
            if cell.note:
                notes.append(cell.note)
            notes += [row[c].strip() for c in note_cols if c in row and row[c].strip()]
            out.append(
                {
                    "country": country,
                    "commodity": cid,
                    "year": year,
                    "item": item,
                    "label": f"{label} ({lead_text})" if item.startswith("leading") else label,
                    "value": value,
                    "unit": unit,
                    "qualifier": cell.qualifier,
                    "estimated": est or cell.estimated,
                    "vintage": vintage,
                    "note": "; ".join(notes),
                    "source_id": f"usgs-mcs{vintage}",
                }
            )
    return _validate(out, SalientSchema, sha256, path)


def read_critical_salient_nir(path: str | Path) -> pd.DataFrame:
    """The NIR column of the T5 critical-minerals table -> :class:`ImportRelianceSchema`."""
    path = Path(path)
    header, rows, sha256 = _read(path)
    vintage = _vintage(rows, "Source", path)
    name_col = _col(header, "Critical_mineral", path=path)
    nir_col = _col(header, "Net_Import_Reliance", path=path)
    out: list[dict[str, Any]] = []
    for line, row in rows:
        cid = usgs_commodity_id(row[name_col], path=path, line=line, column=name_col)
        printed = row[nir_col].strip()
        try:
            value, bound = parse_nir(printed)
            year, _est = _year(row["Year"].split("_")[0])
        except ValueError as exc:
            raise DataError(
                str(exc), path=path, line=line, column=nir_col, fix="use 85, >95, <50 or E"
            ) from exc
        notes = [f"commodity as printed: {row[name_col].strip()}"]
        src = row.get("Primary_import_source", "").strip()
        if src:
            extra = row.get("Import_source_notes", "").strip()
            notes.append(f"primary import source: {src}" + (f" ({extra})" if extra else ""))
        out.append(_nir_record(cid, year, value, bound, printed, vintage, notes))
    return _validate(out, ImportRelianceSchema, sha256, path)


# --- per-commodity salient files -----------------------------------------------------------------

_STEMS = {
    "usprod": "production",
    "imports": "imports",
    "exports": "exports",
    "consump": "consumption",
    "price": "price",
    "employment": "employment",
    "nir": "net_import_reliance",
    "stocks": "stocks",
    "shipments": "shipments",
}
_QUANTITY_UNITS = {
    "t": "t",
    "kt": "kt",
    "kg": "kg",
    "g": "g",
    "mmt": "Mt",
    "mt": "Mt",
    "mct": "Mct",
    "kct": "kct",
    "mcm": "Mm3",
    "num": "count",
    "mdol": "million_usd",
    "msqft": "million_sq_ft",
    "pct": "fraction",
}
_PRICE_UNITS = {
    "dkg": "usd_per_kg",
    "dt": "usd_per_t",
    "dlb": "usd_per_lb",
    "ctslb": "usc_per_lb",
    "dtoz": "usd_per_troy_oz",
    "dto": "usd_per_troy_oz",
    "dct": "usd_per_ct",
    "dg": "usd_per_g",
    "dst": "usd_per_short_ton",
    "kg": "usd_per_kg",
    "index": "index",
}
#: (file code, header) -> (item, unit): headers whose printed unit is wrong or unreadable.
_SALIENT_FIXES: dict[tuple[str, str], tuple[str, str]] = {
    # MCS2024 gallium prints _g where MCS2023 prints _kg for the same numbers (Consump 14,900 in 2019).
    ("galli", "Exports_g"): ("exports", "kg"),
    ("galli", "Consump_g"): ("consumption", "kg"),
    ("galli", "Stocks_g"): ("stocks", "kg"),
    # MCS2024 nickel: the two LME price columns share one header; values 13,903 (US$/t) and 6.31 (US$/lb).
    ("nicke", "Price_dt dlb (both used)"): ("price_lme", "usd_per_t"),
    ("nicke", "Price_dt dlb (both used).1"): ("price_lme", "usd_per_lb"),
}
_LESS_THAN_UNIT = re.compile(r"^less than (?P<num>[\d,]+(?:\.\d+)?) (?P<unit>tons|carats)\.?$", re.IGNORECASE)
_RANGE = re.compile(r"^(?P<a>\d[\d,]*(?:\.\d+)?)\s*[–-]\s*(?P<b>\d[\d,]*(?:\.\d+)?)$")


def _snake(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _salient_column(name: str, code: str) -> tuple[str, str, str | None] | None:
    """Header -> (item, unit, note) or None for a column to ignore."""
    if not name or name.lower().startswith("unnamed") or name.lower() in {"datasource", "commodity", "year"}:
        return None
    if (code, name) in _SALIENT_FIXES:
        fixed_item, fixed_unit = _SALIENT_FIXES[(code, name)]
        return fixed_item, fixed_unit, f"header {name!r} read as {fixed_unit}"
    tokens = re.sub(r"\.\d+$", "", name).split("_")
    stem_at = next((i for i, t in enumerate(tokens) if t.lower() in _STEMS), None)
    stem = tokens[stem_at].lower() if stem_at is not None else ""
    units = _PRICE_UNITS if stem == "price" else _QUANTITY_UNITS
    last = tokens[-1]
    unit: str | None = None
    note: str | None = None
    if last.lower() in units:
        unit = units[last.lower()]
        tokens = tokens[:-1]
    else:
        for suffix in sorted(units, key=len, reverse=True):
            if last.endswith(suffix) and len(last) > len(suffix) + 1:
                unit, tokens = units[suffix], [*tokens[:-1], last[: -len(suffix)]]
                break
    if stem == "nir":
        note = None if unit == "fraction" else f"header {name!r}: NIR read as a percentage"
        unit = "fraction"
    elif stem == "employment":
        if unit is None and len(tokens) > 1 and tokens[-1] in {"m", "um", "t"}:
            note, tokens = f"header {name!r}: employment read as a count", tokens[:-1]
        unit = "count"
    if unit is None:
        unit, note = "unspecified", f"no unit in header {name!r}"
    rest = [t for i, t in enumerate(tokens) if i != stem_at and t]
    item = "_".join(x for x in [_STEMS.get(stem, ""), *(_snake(t) for t in rest)] if x)
    return item, unit, note


def _salient_value(text: str, unit: str) -> tuple[float, str, bool, str | None] | None:
    s = re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()
    if not s:
        return None
    if unit == "fraction":
        if s.upper() == "E":
            return math.nan, "not_applicable", False, "E: net exporter"
        cell = parse_value(s)
        if cell is None:
            return None
        return cell.value / 100, cell.qualifier, cell.estimated, cell.note
    m = _LESS_THAN_UNIT.match(s)
    if m:
        printed_unit = {"tons": "t", "carats": "ct"}[m.group("unit").lower()]
        value = convert(float(m.group("num").replace(",", "")), printed_unit, unit)
        return value, "under", False, f"as printed: {s}"
    m = _RANGE.match(s)
    if m:
        a, b = (float(m.group(k).replace(",", "")) for k in ("a", "b"))
        return (a + b) / 2, "range", False, f"as printed: {s} (value is the midpoint)"
    negative = s.startswith(("−", "-")) and len(s) > 1 and s[1].isdigit()
    cell = parse_value(s[1:] if negative else s)
    if cell is None:
        return None
    return (-cell.value if negative else cell.value), cell.qualifier, cell.estimated, cell.note


def read_salient_csv(path: str | Path, commodity: str) -> pd.DataFrame:
    """One ``mcs20xx-<code>_salient.csv`` (U.S. salient statistics) -> :class:`SalientSchema` frame.

    ``commodity`` is the registry id the rows are filed under (files covering several products,
    e.g. platinum and palladium, keep the product in ``item``).
    """
    path = Path(path)
    cid = registry().get(commodity).id
    m = re.search(r"mcs\d{4}-?(?P<code>[a-z\-]+)_salient\.csv$", path.name, re.IGNORECASE)
    code = m.group("code").lower() if m else ""
    header, rows, sha256 = _read(path)
    if "Year" not in header:
        raise DataError(
            "no Year column", path=path, line=1, column="Year", fix="is this a *_salient.csv file?"
        )
    vintage = _vintage(rows, "DataSource", path)
    columns = {h: spec for h in header if (spec := _salient_column(h, code)) is not None}
    out: list[dict[str, Any]] = []
    for line, row in rows:
        values = {h: v for h, v in row.items() if columns.get(h) and v.strip()}
        if not values:
            continue
        try:
            year, est = _year(row.get("Year", ""))
        except ValueError as exc:
            raise DataError(
                str(exc), path=path, line=line, column="Year", fix="use a year like 2022"
            ) from exc
        for h, text in values.items():
            item, unit, hnote = columns[h]
            try:
                parsed = _salient_value(text, unit)
            except ValueError as exc:
                raise DataError(
                    str(exc), path=path, line=line, column=h, fix="use a number, W, NA or E"
                ) from exc
            if parsed is None:
                continue
            value, qualifier, cell_est, cnote = parsed
            value = _finite(value, path, line, h)
            note = "; ".join(n for n in (hnote, cnote) if n) or None
            out.append(
                {
                    "country": "USA",
                    "commodity": cid,
                    "year": year,
                    "item": item,
                    "label": h,
                    "value": value,
                    "unit": unit,
                    "qualifier": qualifier,
                    "estimated": est or cell_est,
                    "vintage": vintage,
                    "note": note,
                    "source_id": f"usgs-mcs{vintage}",
                }
            )
    seen: dict[tuple[str, int, str], str] = {}
    for r in out:
        key = (r["item"], r["year"], r["unit"])
        if key in seen and seen[key] != r["label"]:
            raise DataError(
                f"columns {seen[key]!r} and {r['label']!r} both read as item {r['item']!r}",
                path=path,
                line=1,
                column=r["label"],
                fix="add a header fix in usgs_trends.py",
            )
        seen[key] = r["label"]
    return _validate(out, SalientSchema, sha256, path)
