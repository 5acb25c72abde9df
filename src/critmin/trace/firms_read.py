"""Reading a firm-network table file (CSV, gzipped CSV or Parquet) into a frame, through
:mod:`critmin.infile`: the file side of :mod:`critmin.trace.firms_io`, which validates the
values.

Every file comes in by :func:`critmin.infile.read_input` (regular files only, the size limits
of its kind, the bytes read once). CSV must be UTF-8 (a byte-order mark is dropped); a
``.csv.gz`` is decompressed up to the CSV limit and refused beyond it (a gzip bomb). Empty
files, duplicate column names and malformed rows are refused with their line. A Parquet file
pyarrow cannot read is refused, and so are columns of the wrong type: ids (``firm_id``,
``supplier_id``, ``customer_id``) must be strings or integers, ``country``, ``stage`` and
``commodity`` strings, ``quantity`` and ``value_usd`` numbers (dictionary-encoded columns
count as their values; an all-null column is reported by the value checks as empty).
"""

from __future__ import annotations

import gzip
import io
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from critmin.errors import DataError, shown
from critmin.infile import InputFile, csv_records, decode, limit_bytes, read_input

ID_COLUMNS = ("firm_id", "supplier_id", "customer_id")
TEXT_COLUMNS = ("country", "stage", "commodity")
NUMBER_COLUMNS = ("quantity", "value_usd")


@dataclass(frozen=True)
class Where:
    """Where a table came from, to name a row: CSV ``path:line`` or ``name row N`` (1-based).

    For CSV, ``text`` is the decoded file: a record's physical line is its position + 2 unless
    quoted fields span lines, when the records are counted again (only on the error path).
    """

    name: str
    csv: bool = False
    text: str | None = field(default=None, repr=False, compare=False)

    def line(self, frame: pd.DataFrame, pos: int) -> int:
        """Physical line (header = 1) of row ``pos`` of ``frame`` (a CSV table)."""
        record = int(frame.index[pos])  # 0-based data record (blank lines count)
        if self.text is None or '"' not in self.text:
            return record + 2
        for i, (line, _) in enumerate(csv_records(self.text, self.name)):
            if i == record + 1:
                return line
        return record + 2

    def ref(self, frame: pd.DataFrame, pos: int) -> str:
        """``line N`` (CSV) or ``row N`` for row ``pos`` of ``frame``."""
        return f"line {self.line(frame, pos)}" if self.csv else f"row {pos + 1}"

    def at(self, frame: pd.DataFrame, pos: int) -> dict[str, Any]:
        """``path``/``line`` keywords of :class:`DataError` for row ``pos`` of ``frame``."""
        if self.csv:
            return {"path": self.name, "line": self.line(frame, pos)}
        return {"path": f"{self.name} row {pos + 1}"}


def show(value: Any, width: int = 60) -> str:
    """``value`` quoted for a one-line error, at most ``width`` characters (:func:`critmin.errors.shown`)."""
    return shown(value, width)


def table_kind(path: Path) -> str:
    """``"csv"`` or ``"parquet"`` from a file name; anything else is a :class:`DataError`."""
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    raise DataError(
        f"unsupported file type {path.suffix!r}", path=path, fix="use a .csv, .csv.gz or .parquet file"
    )


def read_frame(path: str | Path, table: str, csv_dtypes: dict[str, str]) -> tuple[pd.DataFrame, Where]:
    """The ``table`` ("firms", "edges") file at ``path`` as a frame, and where its rows are.

    CSV columns named in ``csv_dtypes`` are read with that dtype; blank rows are dropped (line
    numbers stay right).
    """
    p = Path(path)
    kind = table_kind(p)
    if not p.exists() and not p.is_symlink():
        raise DataError("no such file", path=p, fix="check the path")
    src = read_input(p, kind, what=f"{table} table")
    if kind == "parquet":
        return _parquet(src, table), Where(str(p))
    text = decode(_gunzip(src) if p.name.lower().endswith(".gz") else src.data, p)
    frame = _csv(text, p, table, csv_dtypes)
    return frame[frame.notna().any(axis=1)], Where(str(p), csv=True, text=text)


def _gunzip(src: InputFile) -> bytes:
    limit = limit_bytes("csv")
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(src.data)) as gz:
            data = gz.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"not a readable gzip file ({exc})",
            path=src.path,
            fix="compress it again, or give the plain .csv",
        ) from None
    if len(data) > limit:
        raise DataError(
            f"decompressed, the table is above the {limit / 2**20:,.0f} MB CSV limit",
            path=src.path,
            fix="split the file, or raise the limit with CRITMIN_MAX_CSV_MB",
        )
    return data


def _csv(text: str, p: Path, table: str, dtypes: dict[str, str]) -> pd.DataFrame:
    header = next(csv_records(text, p), None)
    if header is None or not any(c.strip() for c in header[1]):
        raise DataError(
            "the file is empty (no header line)",
            path=p,
            line=1,
            fix=f"the {table} table starts with a header line of column names",
        )
    names = [c.strip().removeprefix("\ufeff") for c in header[1]]
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name in seen:
            raise DataError(
                f"column {name!r} appears twice (columns {seen[name]} and {i})",
                path=p,
                line=1,
                fix="give every column a distinct name (delete or rename one of them)",
            )
        seen[name] = i
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # rows longer than the header
            frame = pd.read_csv(
                io.StringIO(text),
                dtype={c: dtypes[c] for c in names if c in dtypes},
                keep_default_na=False,  # "NA" is Namibia
                na_values=[""],
                skip_blank_lines=False,  # keep line numbers right; blank rows are dropped by the caller
                header=0,
                names=names,
                index_col=False,
                engine="c",
            )
    except (ValueError, pd.errors.ParserError, pd.errors.ParserWarning, OverflowError) as exc:
        _locate_csv_error(text, p, len(names))
        raise DataError(
            f"cannot read the table ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})",
            path=p,
            fix="check the CSV quoting and that every row has the header's columns",
        ) from None
    return frame


def _locate_csv_error(text: str, p: Path, width: int) -> None:
    """Raise the first malformed record's error with its physical line, if the csv module finds one."""
    for line, cells in csv_records(text, p):  # raises on broken quoting, with the line
        if cells and len(cells) > width:
            raise DataError(
                f"{len(cells)} fields where the header has {width}",
                path=p,
                line=line,
                fix="quote fields that contain commas, or remove the extra fields",
            )


def _parquet(src: InputFile, table: str) -> pd.DataFrame:
    try:
        arrow = pq.read_table(pa.BufferReader(src.data))
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"not a readable Parquet file ({reason})",
            path=src.path,
            fix="write it again (pandas DataFrame.to_parquet or pyarrow), or give a .csv file",
        ) from None
    names = [str(n) for n in arrow.column_names]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise DataError(
                f"column {name!r} appears twice",
                path=src.path,
                fix="give every column a distinct name (delete or rename one of them)",
            )
    columns = []
    for name, col in zip(names, arrow.columns, strict=True):
        t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        want = _want(name)
        if want is not None and not (pa.types.is_null(t) or want[0](t)):
            raise DataError(
                f"Parquet column of type {col.type}",
                path=src.path,
                column=name,
                fix=f"store {name} as {want[1]} (one scalar per row)",
            )
        columns.append(pc.cast(col, t) if pa.types.is_dictionary(col.type) and want is not None else col)
    try:
        return pa.table(columns, names=names).to_pandas(integer_object_nulls=True)
    except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
        raise DataError(
            f"cannot convert the Parquet {table} table ({str(exc).splitlines()[0]})",
            path=src.path,
            fix="write it again with plain string and number columns",
        ) from None


def _is_text(t: Any) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _want(name: str) -> tuple[Callable[[Any], bool], str] | None:
    """The accepted Arrow types of a known column, and how to say them; ``None``: any type."""
    if name in ID_COLUMNS:
        return (lambda t: _is_text(t) or pa.types.is_integer(t)), "strings or integers"
    if name in TEXT_COLUMNS:
        return _is_text, "strings"
    if name in NUMBER_COLUMNS:
        return (
            lambda t: pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        ), "numbers"
    return None


__all__ = ["ID_COLUMNS", "NUMBER_COLUMNS", "TEXT_COLUMNS", "Where", "read_frame", "show", "table_kind"]
