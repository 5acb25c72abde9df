"""Shared helpers for the converters of ``data/raw/transcribed/`` (see :mod:`.transcribed`).

* :func:`read_rows` reads a transcribed CSV with 1-based line numbers and checks its header;
* :func:`parse_value` turns printed values (``"1-1.5"``, ``"2+"``, ``">1100"``, ``"~3"``,
  ``"1,234"``, ``"1000 t : 500000 motors"``) into numbers, ranges and a qualifier;
* :func:`map_qualifier` maps the transcriber's free-text hedges onto the qualifier vocabulary of
  :mod:`critmin.data.schemas` (``exact``, ``about``, ``over``, ``under``, ``nearly``, ``range``,
  ``computed``, ``projection``);
* :class:`WebSources` creates one ``web`` :class:`~critmin.data.catalogue.Source` per distinct URL
  (id = :func:`~critmin.data.catalogue.web_source_id` of the publisher and the *first* URL of the
  row; further URLs go to the row's note);
* :class:`Excluded` records a raw row left out of every table, with the reason.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from critmin.data.catalogue import Source, web_source_id
from critmin.errors import DataError

WEB_LICENCE = "Facts cited from a public web page (no text reproduced)"
URL_SEPARATOR = " ; "


@dataclass(frozen=True)
class Excluded:
    """A raw row that was deliberately left out of the tables, and why."""

    file: str
    line: int
    what: str
    reason: str


@dataclass(frozen=True)
class RawRow:
    """One data row of a transcribed CSV: its 1-based starting line and its cells (stripped)."""

    path: Path
    line: int
    cells: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.cells.get(column, "")

    def error(self, message: str, column: str | None = None, fix: str | None = None) -> DataError:
        """A :class:`DataError` located at this row."""
        return DataError(message, path=self.path, line=self.line, column=column, fix=fix)


def read_rows(path: Path, required: Sequence[str]) -> list[RawRow]:
    """Rows of a UTF-8 CSV (BOM tolerated) with their starting line numbers.

    Raises :class:`DataError` if the file is unreadable, a required column is missing, or a row
    has more fields than the header.
    """
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read file: {exc}", path=path, fix="give a UTF-8 CSV file") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise DataError("empty file", path=path, line=1, fix="give a CSV with a header row")
    header = [h.strip() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(
            f"missing column(s) {missing}", path=path, line=1, fix=f"the header needs {list(required)}"
        )
    rows: list[RawRow] = []
    last = reader.line_num
    for fields in reader:
        start, last = last + 1, reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) > len(header):
            raise DataError(
                f"row has {len(fields)} fields, the header has {len(header)}",
                path=path,
                line=start,
                fix="quote fields that contain commas",
            )
        cells = {h: (fields[i].strip() if i < len(fields) else "") for i, h in enumerate(header)}
        rows.append(RawRow(path, start, cells))
    return rows


# ------------------------------------------------------------------------------ numbers

_NUM = r"\d[\d,]*(?:\.\d+)?|\.\d+"
_RE_NUMBER = re.compile(rf"^-?(?:{_NUM})$")
_RE_RANGE = re.compile(rf"^({_NUM})\s*[-\u2013]\s*({_NUM})$")
_RE_PREFIX = re.compile(rf"^(~|>=|<=|>|<|\u2265|\u2264)\s*({_NUM})$")
_RE_PLUS = re.compile(rf"^({_NUM})\s*\+$")
_RE_RATIO = re.compile(r"^\S.*:.*\S$")

_PREFIX_QUALIFIER = {
    "~": "about",
    ">": "over",
    ">=": "over",
    "\u2265": "over",
    "<": "under",
    "<=": "under",
    "\u2264": "under",
}


def to_float(text: str) -> float:
    """``"1,234.5"`` -> 1234.5 (raises ValueError otherwise)."""
    return float(text.replace(",", ""))


@dataclass(frozen=True)
class ParsedValue:
    """A printed value: ``value`` (midpoint of a range), ``low``/``high`` for ranges, the
    qualifier the printed form implies (None for a plain number) and whether it was a ratio."""

    value: float
    low: float
    high: float
    qualifier: str | None
    is_ratio: bool = False

    @property
    def is_range(self) -> bool:
        """True when printed as ``a-b``."""
        return self.qualifier == "range"


def parse_value(text: str, row: RawRow, column: str) -> ParsedValue | None:
    """Parse a printed value; ``""`` gives None.

    ``"1-1.5"`` -> 1.25 (low 1, high 1.5, range); ``"2+"`` and ``">5700"`` -> over;
    ``"<0.1"`` -> under; ``"~3"`` -> about; ``"1,234"`` -> 1234; a ratio such as
    ``"1000 t : 500000 motors"`` or ``"75:25"`` -> NaN flagged ``is_ratio`` (never divided out).
    Anything else raises :class:`DataError` at the row and column.
    """
    t = text.strip()
    if not t:
        return None
    nan = math.nan
    if _RE_NUMBER.match(t):
        v = to_float(t)
        return ParsedValue(v, nan, nan, None)
    m = _RE_RANGE.match(t)
    if m:
        lo, hi = to_float(m.group(1)), to_float(m.group(2))
        if lo > hi:
            raise row.error(f"range {text!r} runs backwards", column, "write low-high")
        return ParsedValue((lo + hi) / 2, lo, hi, "range")
    m = _RE_PREFIX.match(t)
    if m:
        return ParsedValue(to_float(m.group(2)), nan, nan, _PREFIX_QUALIFIER[m.group(1)])
    m = _RE_PLUS.match(t)
    if m:
        return ParsedValue(to_float(m.group(1)), nan, nan, "over")
    if ":" in t and _RE_RATIO.match(t):
        return ParsedValue(nan, nan, nan, None, is_ratio=True)
    raise row.error(
        f"cannot read value {text!r}", column, "write a number, a range 'a-b', '>a', '<a', '~a' or 'a+'"
    )


# ------------------------------------------------------------------------------ qualifiers

_HEDGES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("computed", re.compile(r"\bcomputed\b", re.I)),
    (
        "over",
        re.compile(
            r"(?<!by )\b(more than|over|greater than|above|at least|well over)\b(?!\s+(the|a|an)\b)", re.I
        ),
    ),
    (
        "under",
        re.compile(
            r"(?<!by )\b(less than|under|below|up to|fewer than)\b(?!\s+(construction|development|way)\b)",
            re.I,
        ),
    ),
    (
        "nearly",
        re.compile(
            r"(?<!by )\b(nearly|almost|approaching)\b(?!\s+(doubled|tripled|halved|doubling|tripling))", re.I
        ),
    ),
    ("about", re.compile(r"(?<!by )\b(about|around|approx\w*|roughly)\b|^\W*~\s*\d", re.I)),
    ("range", re.compile(r"\brange\b", re.I)),
)
_PROJECTION = re.compile(r"\b(projection|projected|forecast)\b", re.I)
_PARENS = re.compile(r"\([^()]*\)")


def first_clause(text: str) -> str:
    """The text up to the first top-level ``;`` (the transcriber's hedge comes first)."""
    return split_top_level(text, ";")[0] if text else ""


def map_qualifier(text: str) -> tuple[str, bool]:
    """Map a free-text qualifier to ``(qualifier, is_projection)``.

    The hedge is read from the first ``;``-clause only, outside parentheses and not after "by"
    (later clauses, asides and changes comment on other figures: 'as quoted; Benchmark says
    "more than 5,700 lb"', '-11.5% since ... (about 19,479 USD/t)', 'jumped by nearly 20%');
    projection is looked for in the whole text. Precedence: computed > over > under > nearly >
    about > range > projection > exact. "more than"/"over"/"at least" -> over; "up to"/"less than" -> under;
    "nearly"/"almost" -> nearly (not "nearly doubled"); "about"/"around"/"approx"/"roughly"
    -> about; "computed by transcriber" -> computed; "IEA projection"/"base-case projection"/
    "forecast" -> projection; anything else ("exact", "as printed", "combined") -> exact.
    """
    clause = _PARENS.sub(" ", first_clause(text))
    projection = bool(_PROJECTION.search(text))
    for name, pattern in _HEDGES:
        if pattern.search(clause):
            return name, projection
    return ("projection" if projection else "exact"), projection


def pick_qualifier(parsed: ParsedValue | None, text: str, *, has_projection_flag: bool) -> tuple[str, bool]:
    """Qualifier for a row: the printed value's own form (range, ``>``, ``~``) first, then the
    free text. Tables without an ``is_projection`` column get ``projection`` whenever the text
    says so (the hedge stays in the note)."""
    qual, projection = map_qualifier(text)
    if parsed is not None and parsed.qualifier is not None:
        qual = parsed.qualifier
    if projection and not has_projection_flag:
        qual = "projection"
    return qual, projection


# ------------------------------------------------------------------------------ text utilities


def split_top_level(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside parentheses and quotes; parts stripped, empties dropped."""
    parts: list[str] = []
    depth = 0
    quoted = False
    cur: list[str] = []
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]" and depth:
            depth -= 1
        if ch == sep and depth == 0 and not quoted:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


def year_in(text: str) -> int | None:
    """The first 4-digit year (1900-2099) in ``text``, else None."""
    m = re.search(r"(?<!\d)(19|20)\d{2}(?!\d)", text)
    return int(m.group(0)) if m else None


def last_year_in(text: str) -> int | None:
    """The last 4-digit year (1900-2099) in ``text``, else None ("c.2020-2021" -> 2021)."""
    found = re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", text)
    return int(found[-1]) if found else None


def join_notes(parts: Iterable[str | None]) -> str | None:
    """Join non-empty note parts with ``"; "`` (None when all are empty)."""
    kept = [p.strip() for p in parts if p and p.strip()]
    return "; ".join(kept) if kept else None


def host_of(url: str) -> str:
    """``"https://www.ndtv.com/x"`` -> ``"ndtv.com"`` (publisher fallback for files without one)."""
    host = urlparse(url).netloc.lower()
    return host.removeprefix("www.") or "web"


# ------------------------------------------------------------------------------ sources


class WebSources:
    """One ``web`` :class:`Source` per distinct URL, shared by every converter of a build.

    The publisher, title, year and quality of a URL's Source come from the first row citing it;
    a later row may only force the quality (an audit correction). Row ids are
    ``web_source_id(publisher, first URL)``.
    """

    def __init__(self) -> None:
        self._by_url: dict[str, Source] = {}

    def cite(
        self,
        row: RawRow,
        *,
        url_column: str = "source_url",
        publisher: str | None,
        title: str,
        year: int | None = None,
        quality: str | None = None,
        force_quality: bool = False,
    ) -> tuple[str, list[str]]:
        """Register the row's first URL; return its source id and the row's other URLs."""
        urls = [u.strip() for u in re.split(r"\s+;\s+", row[url_column]) if u.strip()]
        if not urls:
            raise row.error("no source URL", url_column, "every transcribed row needs a source URL")
        first, others = urls[0], urls[1:]
        if not re.match(r"^https?://", first):
            raise row.error(f"source URL {first!r} is not an http(s) URL", url_column, "write the page URL")
        src = self._by_url.get(first)
        if src is None:
            pub = publisher.strip() if publisher and publisher.strip() else host_of(first)
            src = Source(
                id=web_source_id(pub, first),
                kind="web",
                publisher=pub,
                title=title.strip()[:200] or pub,
                year=year,
                url=first,
                licence=WEB_LICENCE,
                quality=quality or None,
            )
            self._by_url[first] = src
        elif force_quality and quality:
            src = src.model_copy(update={"quality": quality})
            self._by_url[first] = src
        return src.id, others

    def sources(self, ids: Iterable[str]) -> list[Source]:
        """The Sources with these ids, sorted by id."""
        wanted = set(ids)
        return sorted((s for s in self._by_url.values() if s.id in wanted), key=lambda s: s.id)


def split_publisher(text: str) -> tuple[str, int | None]:
    """First carrier of a ``;``-joined publisher list, and a date in it as a year.

    ``"Argus Media (2025-01-03)"`` -> ``("Argus Media", 2025)``;
    ``"MP Materials results (via reportify; Investing.com transcript)"`` is one carrier.
    """
    parts = split_top_level(text, ";")
    first = parts[0] if parts else ""
    m = re.search(r"\s*\((\d{4})(?:-\d{2}(?:-\d{2})?)?\)\s*$", first)
    if m:
        return first[: m.start()].strip(), int(m.group(1))
    return first, None


def other_urls_note(others: Sequence[str]) -> str | None:
    """Note text listing a row's further source URLs."""
    return ("also: " + URL_SEPARATOR.join(others)) if others else None


__all__ = [
    "URL_SEPARATOR",
    "WEB_LICENCE",
    "Excluded",
    "ParsedValue",
    "RawRow",
    "WebSources",
    "first_clause",
    "host_of",
    "join_notes",
    "last_year_in",
    "map_qualifier",
    "other_urls_note",
    "parse_value",
    "pick_qualifier",
    "read_rows",
    "split_publisher",
    "split_top_level",
    "to_float",
    "year_in",
]
