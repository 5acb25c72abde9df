"""CSV tables for the importers: strict rows, checked headers, and columns read at C speed.

The importers read every file through :mod:`critmin.infile` (regular file, size limit, bytes
hashed once, UTF-8). This module adds what a *table* needs on top of that:

* :func:`check_quotes`: a NUL byte, or a quote left open at the end of the file (which the csv
  module and Arrow both silently accept), is refused with its line;
* :func:`duplicate_columns`: a header naming a column twice (the last one would silently win)
  is refused naming both positions;
* :func:`data_rows`: the records under the header with their physical line, blank rows
  skipped; a row with fewer cells than the header (a truncated file) or with values beyond the
  last column is refused with its line;
* :func:`arrow_columns` / :func:`list_columns`: a table as one Arrow string column per header
  position (whitespace trimmed, blank rows dropped). The Arrow reader parses hundreds of MB in a
  second or two but knows no line numbers, so a :class:`Columns` read by it raises
  :class:`NeedLines` where an error needs the line; the caller then re-reads with the csv module
  (:func:`list_columns`, exact lines) and gets the error with its line. The csv module is the
  reference: where the two disagree the csv module's reading is the one returned;
* :func:`show`: a cell for a message, cut to a readable length (a 5,000-digit year prints as
  its first 40 characters and its length).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]

from critmin.errors import DataError, shown
from critmin.infile import csv_records

__all__ = [
    "Columns",
    "NeedLines",
    "Problem",
    "Table",
    "arrow_columns",
    "check_quotes",
    "data_rows",
    "distinct",
    "duplicate_columns",
    "list_columns",
    "show",
    "with_lines",
]

#: A user value quoted for an error line (:func:`critmin.errors.shown`, 40 characters).
show = shown


def check_quotes(text: str, path: str | Path | None) -> None:
    """Refuse a NUL byte or an unbalanced quote (a field opened with ``"`` and never closed)."""
    nul = text.find("\x00")
    if nul >= 0:
        raise DataError(
            "NUL byte in the file",
            path=path,
            line=text.count("\n", 0, nul) + 1,
            fix="save the file as plain UTF-8 text (it may be binary or UTF-16)",
        )
    if text.count('"') % 2 == 0:
        return
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error as exc:
        eof = "unexpected end of data" in str(exc)
        raise DataError(
            "a quoted field is never closed (the file may be truncated)" if eof else f"malformed CSV: {exc}",
            path=path,
            line=start if eof else reader.line_num,
            fix='close the quote (every opening " needs its closing "), or re-export the file',
        ) from None


def duplicate_columns(names: Sequence[str], path: str | Path | None, *, fold_case: bool = False) -> None:
    """Refuse a non-empty column name that appears twice in ``names``, naming both positions."""
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        key = name.lower() if fold_case else name
        if not key:
            continue
        if key in seen:
            raise DataError(
                f"appears twice in the header (columns {seen[key]} and {i}); "
                "one would silently replace the other",
                path=path,
                line=1,
                column=name,
                fix="remove or rename one of them",
            )
        seen[key] = i


def data_rows(
    records: Iterator[tuple[int, list[str]]], width: int, path: str | Path | None
) -> Iterator[tuple[int, list[str]]]:
    """Non-blank records of ``records`` (the header already taken) as exactly ``width`` cells.

    Blank records (no cell with text) are skipped. Fewer cells than the header is a truncated
    row; cells beyond the header are dropped if blank (trailing commas) and refused otherwise.
    """
    for line, cells in records:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < width:
            raise DataError(
                f"the row has {len(cells)} field(s), the header has {width} (a truncated row?)",
                path=path,
                line=line,
                fix="give every column, empty ones as nothing between commas (a,,b), or re-export the file",
            )
        if len(cells) > width:
            extra = (
                next(i for i in range(width, len(cells)) if cells[i].strip())
                if any(c.strip() for c in cells[width:])
                else None
            )
            if extra is not None:
                raise DataError(
                    f"value {show(cells[extra].strip())} in field {extra + 1}, beyond the "
                    f"{width} columns of the header",
                    path=path,
                    line=line,
                    fix="quote fields that contain commas, or add the column to the header",
                )
            cells = cells[:width]
        yield line, cells


class NeedLines(Exception):
    """Raised by a :class:`Columns` read without line numbers where an error needs one."""


@dataclass
class Columns:
    """A table as trimmed Arrow string columns (one per header position), blank rows dropped.

    ``lines`` holds each row's physical line where known (the csv-module reading); ``None``
    for the Arrow reading, whose :meth:`line` raises :class:`NeedLines`.
    """

    path: str | Path | None
    columns: list[pa.Array]
    lines: np.ndarray | None

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.columns[0]) if self.columns else 0

    def line(self, row: int) -> int:
        """The physical line of ``row`` (0-based row index)."""
        if self.lines is None:
            raise NeedLines
        return int(self.lines[row])

    def fail(self, row: int, message: str, *, column: str | None, fix: str) -> DataError:
        """The DataError for ``row`` (raises :class:`NeedLines` without line numbers)."""
        return DataError(message, path=self.path, line=self.line(row), column=column, fix=fix)


def _trimmed(columns: list[pa.Array]) -> list[pa.Array]:
    return [pc.utf8_trim_whitespace(c) for c in columns]


def _drop_blank(
    columns: list[pa.Array], lines: np.ndarray | None
) -> tuple[list[pa.Array], np.ndarray | None]:
    if not columns or not len(columns[0]):
        return columns, lines
    blank = pc.equal(pc.utf8_length(columns[0]), 0)
    for c in columns[1:]:
        blank = pc.and_(blank, pc.equal(pc.utf8_length(c), 0))
    if not pc.any(blank).as_py():
        return columns, lines
    keep = pc.invert(blank)
    kept = [pc.filter(c, keep) for c in columns]
    return kept, (lines[np.asarray(keep)] if lines is not None else None)


def list_columns(text: str, path: str | Path | None, width: int) -> Columns:
    """The data rows of ``text`` (header skipped) read with the csv module: exact lines."""
    records = csv_records(text, path)
    next(records, None)
    cols: list[list[str]] = [[] for _ in range(width)]
    lines: list[int] = []
    for line, cells in data_rows(records, width, path):
        lines.append(line)
        for i in range(width):
            cols[i].append(cells[i])
    arrays = _trimmed([pa.array(c, type=pa.large_string()) for c in cols])
    return Columns(path, arrays, np.asarray(lines, dtype=np.int64))


def arrow_columns(data: bytes, path: str | Path | None, header: Sequence[str]) -> Columns | None:
    """The data rows read by Arrow (fast, no line numbers), or ``None`` if Arrow cannot read them
    the way the csv module would (ragged rows, whitespace-only lines...): use :func:`list_columns`."""
    width = len(header)
    names = [f"f{i}" for i in range(width)]
    kind = pa.string() if len(data) < 1 << 30 else pa.large_string()  # 32-bit offsets below 1 GB
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(data)[start:]),
            read_options=pacsv.ReadOptions(column_names=names, block_size=16 << 20),
            # a newline inside a value needs a quote: without quotes Arrow may split at every newline
            parse_options=pacsv.ParseOptions(newlines_in_values=b'"' in data),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, kind), strings_can_be_null=False
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows == 0 or [table.column(i)[0].as_py() for i in range(width)] != list(header):
        return None
    columns = [pc.utf8_trim_whitespace(table.column(i).slice(1)).combine_chunks() for i in range(width)]
    del table
    kept, _ = _drop_blank(columns, None)
    return Columns(path, kept, None)


def with_lines(cols: Columns, text: str) -> Columns | None:
    """``cols`` (an Arrow reading of ``text``) with each row's physical line, streamed from the csv
    module without keeping the cells; ``None`` if the two readings do not have the same rows."""
    lines = np.fromiter(
        (line for line, cells in _after_header(text, cols.path) if any(c.strip() for c in cells)),
        dtype=np.int64,
    )
    if len(lines) != cols.n:
        return None
    return Columns(cols.path, cols.columns, lines)


def _after_header(text: str, path: str | Path | None) -> Iterator[tuple[int, list[str]]]:
    records = csv_records(text, path)
    next(records, None)
    return records


#: (message, fix) of a refused value, or None
Problem = tuple[str, str] | None


class Table:
    """Columns by name (an absent optional column reads as empty), and the queued row checks."""

    def __init__(self, cols: Columns, header: Sequence[str]) -> None:
        self.cols = cols
        self.n = cols.n
        self.pos = {h: i for i, h in enumerate(header) if h}
        self.unnamed = [i for i, h in enumerate(header) if not h]
        self.checks: list[tuple[np.ndarray, Callable[[int], DataError]]] = []
        self._empty: pa.Array | None = None

    def array(self, name: str) -> pa.Array:
        i = self.pos.get(name)
        if i is None:
            if self._empty is None:
                self._empty = pa.nulls(self.n, pa.large_string()).fill_null("")
            return self._empty
        return self.cols.columns[i]

    def cell(self, name: str, row: int) -> str:
        return str(self.array(name)[row].as_py())

    def fail(self, row: int, message: str, column: str | None, fix: str) -> DataError:
        return self.cols.fail(row, message, column=column, fix=fix)

    def check(self, mask: np.ndarray, report: Callable[[int], DataError]) -> None:
        """Queue a check: ``mask`` marks failing rows, ``report(row)`` builds that row's error."""
        self.checks.append((np.asarray(mask, dtype=bool), report))

    def check_unnamed(self) -> None:
        """Queue: a value in a column whose header is empty is refused."""
        for i in self.unnamed:
            col = self.cols.columns[i]
            filled = np.asarray(pc.greater(pc.utf8_length(col), 0), dtype=bool)
            self.check(filled, self._unnamed_report(i))

    def _unnamed_report(self, i: int) -> Callable[[int], DataError]:
        col = self.cols.columns[i]
        return lambda r: self.fail(
            r,
            f"value {show(str(col[r].as_py()))} in field {i + 1}, which has no name in the header",
            None,
            "name the column in the header, or remove the values",
        )

    def raise_first(self) -> None:
        """Raise the first queued check that fails on the first row failing any check."""
        firsts = [int(np.argmax(m)) for m, _ in self.checks if m.any()]
        if firsts:
            row = min(firsts)
            for mask, report in self.checks:
                if mask[row]:
                    raise report(row)

    def codes(self, name: str) -> tuple[np.ndarray, list[str]]:
        """The code of each row's value in column ``name``, and the distinct values."""
        enc = pc.dictionary_encode(self.array(name))
        return np.asarray(enc.indices, dtype=np.int64), [str(u) for u in enc.dictionary.to_pylist()]

    def per_value(
        self, name: str, judge: Callable[[str], tuple[Any, Problem]]
    ) -> tuple[np.ndarray, list[Any]]:
        """Judge each distinct value of column ``name`` once and queue the check.

        Returns the code of each row and the judged value of each code (None where refused).
        """
        codes, uniques = self.codes(name)
        judged = [judge(u) for u in uniques]
        bad = np.array([p is not None for _, p in judged] + [False], dtype=bool)

        def report(row: int) -> DataError:
            problem = judged[codes[row]][1]
            assert problem is not None
            return self.fail(row, problem[0], name, problem[1])

        self.check(bad[codes], report)
        return codes, [v for v, _ in judged]


def distinct(*codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct tuples of per-row codes (each >= 0): (index of each row's tuple, the tuples)."""
    sizes = [int(c.max()) + 1 if len(c) else 1 for c in codes]
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c, m in zip(codes, sizes, strict=True):
        key = key * m + c
    inverse, keys = pd.factorize(key)
    tuples = np.empty((len(keys), len(codes)), dtype=np.int64)
    rest = np.asarray(keys, dtype=np.int64)
    for j in range(len(codes) - 1, -1, -1):
        tuples[:, j] = rest % sizes[j]
        rest = rest // sizes[j]
    return np.asarray(inverse, dtype=np.int64), tuples
