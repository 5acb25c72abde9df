"""User overlay: a tidy CSV with which a user adds or overrides figures, with their own source.

Columns (header required, order free, each named once)::

    commodity,stage,measure,country,year,value,unit,source_id
    [,qualifier,note,source_title,source_publisher,source_url,source_year,source_licence]

* ``measure`` is ``production``, ``reserves``, ``capacity`` or ``share`` (a stage share; give
  ``unit`` ``fraction`` or ``pct``). Quantities are converted to the commodity's unit and must
  be finite and at most 1e15 after the conversion; ``year`` is 1900..2100.
* Shares are in [0, 1], and the shares of one commodity, stage and year add up to at most 1
  (:data:`SHARE_SUM_SLACK` allows for rounding); a file breaking that is refused naming every
  line involved.
* ``source_id`` either names a bundled source or a new one described by the ``source_*``
  columns (title and url required the first time it appears).
* Errors name the file, the 1-based physical line and the column, with the fix, on one line;
  nothing is returned unless the whole file is valid (a file without data rows is refused).

The file is read once (:func:`critmin.infile.read_input`; :attr:`OverlayImport.sha256` hashes
those bytes) and validated column by column: every distinct commodity, stage, country, unit,
year and source is checked once, numbers as whole columns. Where a check fails, the first
failing row (in file order; within it, the first failing check in the column order above) is
reported, exactly as a row-by-row reader would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pydantic

from critmin.data.catalogue import Source
from critmin.data.dataset import validate_table
from critmin.data.importers.csvrows import (
    NeedLines,
    Problem,
    Table,
    arrow_columns,
    check_quotes,
    distinct,
    duplicate_columns,
    list_columns,
    show,
    with_lines,
)
from critmin.data.schemas import QUALIFIERS
from critmin.errors import CritminError, DataError
from critmin.infile import MAX_ABS, csv_records, read_input
from critmin.model.commodities import Commodity, registry
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
YEARS = (1900, 2100)
"""Accepted years (``year`` and ``source_year``), inclusive."""
SHARE_SUM_SLACK = 1.001
"""Largest accepted sum of one commodity, stage and year's shares (1 plus rounding)."""

_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_YEAR = re.compile(r"^\d{4}(\.0*)?$")
_NOT_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_SOURCE_COLUMNS = {
    "id": "source_id",
    "title": "source_title",
    "url": "source_url",
    "publisher": "source_publisher",
    "year": "source_year",
    "licence": "source_licence",
}


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


# --- one value -------------------------------------------------------------------------------------


def _commodity(text: str) -> tuple[Commodity | None, Problem]:
    try:
        return registry().get(text), None
    except CritminError as exc:
        return None, (str(getattr(exc, "message", exc)), str(getattr(exc, "fix", None) or "check the id"))


def _stage(text: str) -> Problem:
    if text in Stage._value2member_map_:
        return None
    return f"unknown stage {show(text)}", f"use one of {', '.join(s.value for s in Stage)}"


def _country(text: str) -> tuple[str | None, Problem]:
    try:
        code = to_iso3(text)
    except CritminError as exc:
        return None, (str(getattr(exc, "message", exc)), str(getattr(exc, "fix", None) or "use ISO alpha-3"))
    if not is_known_code(code):
        return None, (f"unknown country {show(text)}", "use ISO alpha-3, e.g. 'AUS'")
    return code, None


def year_of(text: str) -> tuple[int | None, Problem]:
    """A year 1900..2100 written as 4 digits (``2024``, ``2024.0``), else the problem."""
    t = text.replace(",", "")
    if _YEAR.match(t):
        year = int(t[:4])
        if YEARS[0] <= year <= YEARS[1]:
            return year, None
    elif not re.match(r"^[+-]?\d+(\.\d*)?$", t):
        return None, (f"{show(text)} is not a year", "write a year like 2024")
    return None, (f"year {show(text)} is outside {YEARS[0]}..{YEARS[1]}", "write a year like 2024")


def _value_problem(text: str) -> tuple[str, str]:
    if text.replace(",", "").lower() in _NOT_FINITE:
        return f"{show(text)} is not a finite number", "write an ordinary number, e.g. 1200.5"
    return f"{show(text)} is not a number", "write a plain number, e.g. 1200.5"


# --- the table -------------------------------------------------------------------------------------


# --- reading ---------------------------------------------------------------------------------------


def read_overlay_csv(path: Path | str, known_sources: Mapping[str, Source]) -> OverlayImport:
    """Parse and validate an overlay CSV (see the module docstring for the format and the checks)."""
    p = Path(path)
    inp = read_input(p, "csv", what="overlay")
    text = inp.text()
    check_quotes(text, p)
    raw_header = next(csv_records(text, p), (1, list[str]()))[1]
    header = _check_header(raw_header, p)
    del text  # decoded again only if the fast reading finds a problem
    fast = arrow_columns(inp.data, p, raw_header)
    if fast is not None:
        try:
            return _build(Table(fast, header), known_sources, inp.sha256)
        except (NeedLines, DataError):
            pass  # the same checks again, now with each row's line
        lined = with_lines(fast, inp.text())
        del fast
        if lined is not None:
            try:
                return _build(Table(lined, header), known_sources, inp.sha256)
            except DataError as exc:
                if exc.line is not None or "no data rows" in exc.message:
                    raise
    return _build(Table(list_columns(inp.text(), p, len(raw_header)), header), known_sources, inp.sha256)


def _check_header(raw: Sequence[str], path: Path) -> list[str]:
    header = [h.strip() for h in raw]
    if not any(header):
        raise DataError(
            "the file is empty (no header)",
            path=path,
            line=1,
            fix=f"the first line must name the columns {', '.join(REQUIRED)}",
        )
    duplicate_columns(header, path)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DataError(
            f"missing column(s) {missing}",
            path=path,
            line=1,
            fix=f"the header needs {', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)})",
        )
    unknown = [show(h) for h in header if h and h not in REQUIRED and h not in OPTIONAL]
    if unknown:
        raise DataError(
            f"unknown column(s) {', '.join(unknown)}",
            path=path,
            line=1,
            fix="remove them or fix their spelling",
        )
    return header


@dataclass
class _Rows:
    """The per-row codes and judged values of the key columns."""

    commodity: np.ndarray
    coms: list[Commodity | None]
    stage: np.ndarray
    stages: list[str]
    measure: np.ndarray
    measures: list[str]
    country: np.ndarray
    countries: list[str | None]
    year: np.ndarray
    years: list[int | None]
    source: np.ndarray
    sids: list[str]


def _build(t: Table, known: Mapping[str, Source], sha256: str) -> OverlayImport:
    if t.n == 0:
        raise DataError(
            "no data rows under the header",
            path=t.cols.path,
            fix="add at least one row under the header (is the file truncated?)",
        )
    t.check_unnamed()
    for col in REQUIRED:
        empty = np.asarray(pc.equal(pc.utf8_length(t.array(col)), 0), dtype=bool)
        t.check(empty, _reporter(t, "empty required value", col, f"fill in {col}"))
    com, coms = t.per_value("commodity", _commodity)
    stage, stages = t.per_value("stage", lambda s: (s, _stage(s)))
    _stage_in_chain(t, com, coms, stage, stages)
    measure, measures = t.per_value("measure", _measure)
    country, countries = t.per_value("country", _country)
    year, years = t.per_value("year", year_of)
    values = _values(t, measure, measures)
    qualifier, qualifiers = t.per_value("qualifier", _qualifier)
    source, sids = t.per_value("source_id", lambda s: (s, None))
    rows = _Rows(com, coms, stage, stages, measure, measures, country, countries, year, years, source, sids)
    new_sources = _new_sources(t, rows, known)
    _duplicates(t, rows)
    is_share = np.array([m == "share" for m in measures] + [False], dtype=bool)[measure]
    with np.errstate(over="ignore", invalid="ignore"):
        converted = values * _factors(t, rows, is_share)
    _converted(t, rows, converted, is_share)
    t.raise_first()
    _share_sums(t, rows, converted, is_share)
    tables: dict[str, pd.DataFrame] = {}
    path = t.cols.path
    qual = pa.array([q or "exact" for q in qualifiers] + ["exact"], type=pa.large_string()).take(
        pa.array(qualifier)
    )
    if (~is_share).any():
        tables["production"] = validate_table(
            _production(t, rows, converted, qual, ~is_share), "production", path=path
        )
    if is_share.any():
        tables["stage_shares"] = validate_table(
            _shares(t, rows, converted, qual, is_share), "stage_shares", path=path
        )
    return OverlayImport(tables=tables, sources=tuple(new_sources), sha256=sha256)


def _measure(m: str) -> tuple[str, Problem]:
    return m, None if m in MEASURES else (f"unknown measure {show(m)}", f"use one of {', '.join(MEASURES)}")


def _qualifier(q: str) -> tuple[str, Problem]:
    ok = (q or "exact") in QUALIFIERS
    return q, None if ok else (f"unknown qualifier {show(q)}", f"use one of {', '.join(QUALIFIERS)}")


def _reporter(t: Table, message: str, column: str | None, fix: str) -> Callable[[int], DataError]:
    return lambda r: t.fail(r, message, column, fix)


def _stage_in_chain(
    t: Table, com: np.ndarray, coms: list[Commodity | None], stage: np.ndarray, stages: list[str]
) -> None:
    pair, pairs = distinct(com, stage)
    known = Stage._value2member_map_
    outside = np.array(
        [
            (c := coms[ci]) is not None and stages[si] in known and not c.has_stage(stages[si])
            for ci, si in pairs
        ]
        + [False],
        dtype=bool,
    )

    def report(r: int) -> DataError:
        c = coms[com[r]]
        assert c is not None
        return t.fail(
            r,
            f"commodity {c.id!r} has no stage {stages[stage[r]]!r}",
            "stage",
            f"use one of {', '.join(s.value for s in c.stages)}",
        )

    t.check(outside[pair], report)


def _values(t: Table, measure: np.ndarray, measures: list[str]) -> np.ndarray:
    """The value column as floats (NaN where refused; the checks queued)."""
    arr = pc.replace_substring(t.array("value"), ",", "")
    ok = pc.match_substring_regex(arr, _NUMBER)
    nums = np.asarray(pc.cast(pc.if_else(ok, arr, "nan"), pa.float64()), dtype=np.float64)

    def report_number(r: int) -> DataError:
        msg, fix = _value_problem(t.cell("value", r))
        return t.fail(r, msg, "value", fix)

    t.check(~np.asarray(ok, dtype=bool), report_number)
    t.check(
        nums < 0,
        lambda r: t.fail(
            r,
            f"negative {measures[measure[r]]} {nums[r]:g}",
            "value",
            "quantities and shares cannot be negative; use 0 for none",
        ),
    )
    return nums


def _new_sources(t: Table, rows: _Rows, known: Mapping[str, Source]) -> list[Source]:
    """Sources defined in the file (on the first row of each new id); problems queued."""
    _, first = np.unique(rows.source, return_index=True)
    problems: dict[int, tuple[str, str, str]] = {}
    out: list[Source] = []
    for r in sorted(int(x) for x in first):
        sid = rows.sids[rows.source[r]]
        if not sid or sid in known:
            continue
        made = _source(t, r, sid)
        if isinstance(made, Source):
            out.append(made)
        else:
            problems[r] = made
    mask = np.zeros(t.n, dtype=bool)
    mask[list(problems)] = True
    t.check(mask, lambda r: t.fail(r, problems[r][0], problems[r][1], problems[r][2]))
    return out


#: Link schemes an overlay's ``source_url`` may use (``javascript:``, ``data:``, ``file:`` are refused).
URL_SCHEMES = ("http://", "https://")


def _source(t: Table, r: int, sid: str) -> Source | tuple[str, str, str]:
    """The Source described on row ``r``, or (message, column, fix)."""
    title, url = t.cell("source_title", r), t.cell("source_url", r)
    if not title or not url:
        return (
            f"source_id {show(sid)} is not a bundled source",
            "source_id",
            "use a bundled id (`critmin data sources`) or give source_title and source_url on its first row",
        )
    if not url.lower().startswith(URL_SCHEMES):
        return (
            f"source_url {show(url)} is not a web address",
            "source_url",
            "give an http:// or https:// address (a report shown with a link must not run code)",
        )
    year_s = t.cell("source_year", r)
    year: int | None = None
    if year_s:
        year, problem = year_of(year_s)
        if problem is not None:
            return problem[0], "source_year", "the source's publication year, e.g. 2024, or leave it empty"
    try:
        return Source(
            id=sid,
            kind="user",
            publisher=t.cell("source_publisher", r) or "user",
            title=title,
            url=url,
            year=year,
            licence=t.cell("source_licence", r) or "as stated by the user",
            priority=0,
        )
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "url"
        column = _SOURCE_COLUMNS.get(field, "source_id")
        if column == "source_id":
            return (
                f"source_id {show(sid)} is not a valid id",
                column,
                "ids use lowercase letters, digits and . : _ - (first a letter or digit), e.g. my-est-2024",
            )
        return f"{column} {show(t.cell(column, r))}: {err['msg']}", column, f"correct {column}"


def _duplicates(t: Table, rows: _Rows) -> None:
    com_id = np.array([c.id if c is not None else "" for c in rows.coms], dtype=object)
    keys = {
        "commodity": pd.factorize(com_id)[0][rows.commodity],
        "stage": rows.stage,
        "measure": rows.measure,
        "country": pd.factorize(np.array(rows.countries, dtype=object))[0][rows.country],
        "year": rows.year,
    }
    frame = pd.DataFrame(keys)
    dup = frame.duplicated(keep="first").to_numpy()

    def report(r: int) -> DataError:
        same = np.ones(t.n, dtype=bool)
        for k in keys.values():
            same &= k == k[r]
        first = int(np.argmax(same))
        what = " ".join(
            str(x)
            for x in (
                com_id[rows.commodity[r]],
                rows.stages[rows.stage[r]],
                rows.measures[rows.measure[r]],
                rows.countries[rows.country[r]],
                rows.years[rows.year[r]],
            )
        )
        return t.fail(
            r,
            f"duplicate row for {what}: already on line {t.cols.line(first)}",
            None,
            "keep one row per commodity, stage, measure, country and year",
        )

    t.check(dup, report)


def _factors(t: Table, rows: _Rows, is_share: np.ndarray) -> np.ndarray:
    """Each row's unit conversion factor (to ``fraction`` for shares, else the commodity's unit)."""
    unit, units = t.codes("unit")
    which, tuples = distinct(rows.commodity, unit, is_share.astype(np.int64))
    factors = np.full(len(tuples) + 1, np.nan)
    problems: dict[int, tuple[str, str]] = {}
    for k, (ci, ui, share) in enumerate(tuples):
        c, u = rows.coms[ci], units[ui]
        if c is None or not u:
            continue
        target = "fraction" if share else c.unit
        try:
            factors[k] = conversion_factor(u, target)
        except CritminError:
            problems[k] = (
                (f"unit {show(u)} is not a share", "use 'fraction' or 'pct'")
                if share
                else (
                    f"unit {show(u)} does not convert to {c.unit!r}",
                    f"give a unit of the same dimension as {c.unit!r} (t, kt, kg...)",
                )
            )
    bad = np.zeros(len(tuples) + 1, dtype=bool)
    bad[list(problems)] = True
    t.check(bad[which], lambda r: t.fail(r, *problems[int(which[r])][:1], "unit", problems[int(which[r])][1]))
    out: np.ndarray = factors[which]
    return out


def _converted(t: Table, rows: _Rows, converted: np.ndarray, is_share: np.ndarray) -> None:
    """Quantities finite and within MAX_ABS after conversion; shares at most 1."""
    with np.errstate(invalid="ignore"):
        huge = ~np.isfinite(converted) | (np.abs(converted) > MAX_ABS)

    def report_huge(r: int) -> DataError:
        c = rows.coms[rows.commodity[r]]
        target = "fraction" if is_share[r] else (c.unit if c is not None else "?")
        raw = f"{show(t.cell('value', r))} {t.cell('unit', r)}"
        got = f"{converted[r]:.6g} {target}" if np.isfinite(converted[r]) else f"infinite in {target}"
        return t.fail(
            r,
            f"value {raw} becomes {got} after unit conversion, beyond the limit of {MAX_ABS:.0e}",
            "value",
            "check the number and its unit",
        )

    t.check(huge, report_huge)
    with np.errstate(invalid="ignore"):
        over = is_share & (converted > 1 + 1e-9)
    t.check(
        over,
        lambda r: t.fail(
            r, f"share {converted[r]:g} exceeds 1", "value", "give a fraction 0..1 or use unit pct"
        ),
    )


def _share_sums(t: Table, rows: _Rows, share: np.ndarray, is_share: np.ndarray) -> None:
    """Refuse a commodity, stage and year whose shares add up to more than SHARE_SUM_SLACK."""
    idx = np.flatnonzero(is_share)
    if not len(idx):
        return
    com_id = np.array([c.id if c is not None else "" for c in rows.coms], dtype=object)
    group, _ = distinct(pd.factorize(com_id)[0][rows.commodity[idx]], rows.stage[idx], rows.year[idx])
    totals = np.bincount(group, weights=share[idx])
    over = np.flatnonzero(totals > SHARE_SUM_SLACK)
    if not len(over):
        return
    firsts = [int(idx[np.argmax(group == g)]) for g in over]
    g = int(over[int(np.argmin(firsts))])
    members = idx[group == g]
    shown = [
        f"line {t.cols.line(int(r))} {rows.countries[rows.country[r]]} {share[r]:g}" for r in members[:12]
    ]
    more = f" and {len(members) - 12} more" if len(members) > 12 else ""
    r0 = int(members[0])
    what = f"{com_id[rows.commodity[r0]]} {rows.stages[rows.stage[r0]]} {rows.years[rows.year[r0]]}"
    raise t.fail(
        r0,
        f"the shares of {what} add up to {totals[g]:.4g}, above 1: {', '.join(shown)}{more}",
        "value",
        f"one stage's country shares in one year add up to at most 1 (100%, {SHARE_SUM_SLACK} "
        "allowed for rounding); correct them",
    )


def _strings(values: Sequence[Any], codes: np.ndarray, mask: np.ndarray) -> pa.Array:
    """``values[code]`` for the rows in ``mask``, as an Arrow string column (no Python objects)."""
    return pa.array([str(v) for v in values], type=pa.large_string()).take(pa.array(codes[mask]))


def _constant(text: str, n: int) -> pa.Array:
    return pa.array([text], type=pa.large_string()).take(pa.array(np.zeros(n, dtype=np.int64)))


def _notes(t: Table, mask: np.ndarray) -> pa.Array:
    note = t.array("note")
    return pc.filter(pc.if_else(pc.equal(note, ""), pa.scalar(None, note.type), note), pa.array(mask))


def _common(rows: _Rows, qual: pa.Array, mask: np.ndarray) -> dict[str, Any]:
    com_id = [c.id if c is not None else "" for c in rows.coms]
    return {
        "source_id": _strings(rows.sids, rows.source, mask),
        "commodity": _strings(com_id, rows.commodity, mask),
        "stage": _strings(rows.stages, rows.stage, mask),
    }


def _frame(columns: dict[str, Any]) -> pd.DataFrame:
    frame: pd.DataFrame = pa.table(columns).to_pandas()
    return frame


def _production(t: Table, rows: _Rows, value: np.ndarray, qual: pa.Array, mask: np.ndarray) -> pd.DataFrame:
    years = np.array([y or 0 for y in rows.years], dtype=np.int64)[rows.year[mask]]
    n = int(mask.sum())
    return _frame(
        {
            **_common(rows, qual, mask),
            "measure": _strings(rows.measures, rows.measure, mask),
            "country": _strings(rows.countries, rows.country, mask),
            "year": years,
            "value": value[mask],
            "unit": _strings([c.unit if c is not None else "" for c in rows.coms], rows.commodity, mask),
            "qualifier": pc.filter(qual, pa.array(mask)),
            "estimated": np.zeros(n, dtype=bool),
            "vintage": years,
            "series": _constant("user overlay", n),
            "note": _notes(t, mask),
        }
    )


def _shares(t: Table, rows: _Rows, share: np.ndarray, qual: pa.Array, mask: np.ndarray) -> pd.DataFrame:
    n = int(mask.sum())
    return _frame(
        {
            **_common(rows, qual, mask),
            "country": _strings(rows.countries, rows.country, mask),
            "year": np.array([y or 0 for y in rows.years], dtype=np.int64)[rows.year[mask]],
            "share": np.minimum(share[mask], 1.0),
            "qualifier": pc.filter(qual, pa.array(mask)),
            "scope": _strings([c.name if c is not None else "" for c in rows.coms], rows.commodity, mask),
            "basis": _constant("volume", n),
            "is_projection": np.zeros(n, dtype=bool),
            "is_assumption": np.zeros(n, dtype=bool),
            "quality": _constant("user", n),
            "note": _notes(t, mask),
        }
    )
