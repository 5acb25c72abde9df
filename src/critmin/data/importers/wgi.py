"""World Bank Worldwide Governance Indicators (WGI) importer.

Reads the long-format ``wgidataset.csv`` of the WGI 2024 update (1996-2023), one row per
economy x year x indicator, into rows matching :class:`~critmin.data.schemas.WGISchema`.

Format quirks handled:

* the file starts with a UTF-8 byte-order mark;
* missing estimates are written ``..`` -- such rows are dropped (and ``..`` in ``stddev`` or
  ``pctrank`` becomes a missing value);
* economies carry World Bank codes, not always ISO 3166 alpha-3: the legacy codes ``ROM``,
  ``ZAR``, ``TMP``, ``ADO``, ``WBG`` and ``KSV`` are mapped with
  :func:`~critmin.model.countries.from_world_bank_code` (-> ROU, COD, TLS, AND, PSE, XKX);
* country names such as ``"Korea, Rep."`` are quoted and contain commas.

Any bad row (unknown indicator, unknown economy code, non-numeric or out-of-range number,
duplicate economy x year x indicator) raises :class:`~critmin.errors.DataError` naming the file,
the 1-based line and the column; nothing is returned for a partly valid file.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from critmin.data.catalogue import Source
from critmin.data.dataset import validate_table
from critmin.data.importers.csvrows import check_quotes, data_rows, duplicate_columns, show
from critmin.data.schemas import table_columns
from critmin.errors import DataError, UnknownCountryError
from critmin.infile import csv_records, read_input
from critmin.model.countries import from_world_bank_code

INDICATORS: tuple[str, ...] = ("va", "pv", "ge", "rq", "rl", "cc")
"""WGI indicator codes: voice and accountability, political stability and absence of violence,
government effectiveness, regulatory quality, rule of law, control of corruption."""

REQUIRED_COLUMNS: tuple[str, ...] = ("code", "year", "indicator", "estimate", "stddev", "pctrank")
MISSING = ".."
BUNDLED_YEARS: frozenset[int] = frozenset({2023})
"""Years kept in the bundled dataset (the latest year of the 2024 update)."""

WGI_SOURCE = Source(
    id="worldbank:wgi:2024",
    kind="dataset",
    publisher="World Bank",
    title="Worldwide Governance Indicators, 2024 update (1996-2023)",
    year=2024,
    url="https://www.worldbank.org/en/publication/worldwide-governance-indicators",
    licence="CC BY 4.0",
    via="GitHub lmorgans/WGIdata@05f52f816a6c09473096edbf657aa310d5c30507",
    notes="Kaufmann & Kraay; estimates on roughly -2.5..2.5, percentile ranks 0..100. "
    "Legacy World Bank codes mapped to ISO 3166 alpha-3.",
)

_COLUMNS = table_columns("wgi")
_CODE = re.compile(r"^[A-Z]{3}$")
_YEAR = re.compile(r"^\d{4}$")


def _number(text: str, *, path: Path, line: int, column: str, optional: bool) -> float:
    """Parse one numeric cell; ``..`` is missing (NaN) where ``optional``."""
    t = text.strip()
    if optional and t in (MISSING, ""):
        return math.nan
    try:
        value = float(t)
    except ValueError:
        raise DataError(
            f"{show(text)} is not a number",
            path=path,
            line=line,
            column=column,
            fix=f"write a number, or {MISSING!r} for a missing value",
        ) from None
    if not math.isfinite(value):
        raise DataError(
            f"{show(text)} is not a finite number", path=path, line=line, column=column, fix="write a number"
        )
    return value


class WGIImport(tuple[pd.DataFrame, Source]):
    """``(frame, source)`` as before (so ``frame, source = read_wgi_csv(p)`` still works), plus
    :attr:`sha256`, the SHA-256 of exactly the bytes that were parsed."""

    sha256: str

    def __new__(cls, frame: pd.DataFrame, source: Source, sha256: str) -> WGIImport:
        obj = super().__new__(cls, (frame, source))
        obj.sha256 = sha256
        return obj

    @property
    def frame(self) -> pd.DataFrame:
        """The validated :class:`~critmin.data.schemas.WGISchema` frame."""
        return self[0]

    @property
    def source(self) -> Source:
        """The :class:`Source` the rows cite."""
        return self[1]


def read_wgi_csv(path: Path | str, *, years: set[int] | None = None) -> WGIImport:
    """Read a WGI long-format CSV into a :class:`WGISchema` frame plus its :class:`Source`.

    ``years`` keeps only those years (every row of the file is still checked). Rows whose
    ``estimate`` is ``..`` are dropped. Raises :class:`DataError` (file, line, column) on the
    first bad row; see the module docstring for the quirks handled.
    """
    p = Path(path)
    inp = read_input(p, "csv", what="WGI file")
    text = inp.text()
    check_quotes(text, p)
    reader = csv_records(text, p)
    first = next(reader, None)
    if first is None or not any(h.strip() for h in first[1]):
        raise DataError(
            "the file is empty (no header)",
            path=p,
            line=1,
            fix="give the WGI long-format CSV with a header row",
        )
    header = [h.strip() for h in first[1]]
    duplicate_columns(header, p)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise DataError(
            f"missing column(s) {missing}",
            path=p,
            line=1,
            fix=f"the header must include {', '.join(REQUIRED_COLUMNS)}",
        )
    pos = {c: header.index(c) for c in REQUIRED_COLUMNS}
    codes: dict[str, str] = {}
    seen: dict[tuple[str, int, str], int] = {}
    records: list[tuple[str, int, str, float, float, float]] = []
    n_rows = 0
    for line, row in data_rows(reader, len(header), p):
        n_rows += 1
        cell = {c: row[i] for c, i in pos.items()}
        indicator = cell["indicator"].strip()
        if indicator not in INDICATORS:
            raise DataError(
                f"unknown indicator {show(indicator)}",
                path=p,
                line=line,
                column="indicator",
                fix=f"use one of {', '.join(INDICATORS)}",
            )
        raw_code = cell["code"].strip()
        if not _CODE.match(raw_code):
            raise UnknownCountryError(
                f"economy code {show(raw_code)} is not a 3-letter World Bank code",
                path=p,
                line=line,
                column="code",
                fix="use the World Bank economy code, e.g. ROU",
            )
        if raw_code not in codes:
            codes[raw_code] = from_world_bank_code(raw_code, path=p, line=line)
        country = codes[raw_code]
        if not _YEAR.match(cell["year"].strip()):
            raise DataError(
                f"year {show(cell['year'])} is not a year",
                path=p,
                line=line,
                column="year",
                fix="write e.g. 2023",
            )
        year = int(cell["year"].strip())
        if not 1996 <= year <= 2100:
            raise DataError(
                f"year {year} is outside 1996-2100",
                path=p,
                line=line,
                column="year",
                fix="WGI starts in 1996",
            )
        if cell["estimate"].strip() == MISSING:
            # Missing estimate: the row carries no information; skip it, but still check the
            # other numeric cells so a hostile row cannot hide behind '..'.
            _number(cell["stddev"], path=p, line=line, column="stddev", optional=True)
            _number(cell["pctrank"], path=p, line=line, column="pctrank", optional=True)
            continue
        estimate = _number(cell["estimate"], path=p, line=line, column="estimate", optional=False)
        if not -5.0 <= estimate <= 5.0:
            raise DataError(
                f"estimate {estimate} is outside -5..5",
                path=p,
                line=line,
                column="estimate",
                fix="WGI estimates run on roughly -2.5..2.5",
            )
        stddev = _number(cell["stddev"], path=p, line=line, column="stddev", optional=True)
        if not math.isnan(stddev) and not 0.0 <= stddev <= 5.0:
            raise DataError(
                f"standard error {stddev} is outside 0..5",
                path=p,
                line=line,
                column="stddev",
                fix="WGI standard errors are about 0.1..1",
            )
        pctrank = _number(cell["pctrank"], path=p, line=line, column="pctrank", optional=True)
        if not math.isnan(pctrank) and not 0.0 <= pctrank <= 100.0:
            raise DataError(
                f"percentile rank {pctrank} is outside 0..100",
                path=p,
                line=line,
                column="pctrank",
                fix="write a percentile rank between 0 and 100",
            )
        key = (country, year, indicator)
        if key in seen:
            raise DataError(
                f"duplicate row for {country} {year} {indicator} (first on line {seen[key]})",
                path=p,
                line=line,
                column="code",
                fix="keep one row per economy, year and indicator",
            )
        seen[key] = line
        records.append((country, year, indicator, estimate, stddev, pctrank))
    if not records:
        why = (
            "no data rows under the header" if not n_rows else f"all {n_rows} row(s) have a missing estimate"
        )
        raise DataError(
            f"{why} (0 rows would be imported)",
            path=p,
            fix="give the full WGI long-format CSV (is the file truncated?)",
        )
    if years is not None:
        records = [r for r in records if r[1] in years]
    frame = pd.DataFrame(
        [(*r, WGI_SOURCE.id) for r in records],
        columns=_COLUMNS,
    ).astype({"year": "int64", "estimate": "float64", "stddev": "float64", "pctrank": "float64"})
    frame = frame.sort_values(["country", "year", "indicator"]).reset_index(drop=True)
    return WGIImport(validate_table(frame, "wgi", path=p), WGI_SOURCE, inp.sha256)


def build_wgi(raw_dir: Path | str) -> dict[str, tuple[pd.DataFrame, list[Source]]]:
    """The bundled ``wgi`` table: ``raw_dir/wgi/wgidataset.csv`` filtered to :data:`BUNDLED_YEARS`."""
    frame, source = read_wgi_csv(Path(raw_dir) / "wgi" / "wgidataset.csv", years=set(BUNDLED_YEARS))
    return {"wgi": (frame, [source])}


__all__ = ["BUNDLED_YEARS", "INDICATORS", "WGI_SOURCE", "WGIImport", "build_wgi", "read_wgi_csv"]
