"""Result tables on disk: check an output path before the work, then write it atomically.

:func:`check_output_path` is what every CLI ``--out`` calls *before* any work is done, so a
typo in a folder name costs nothing. :func:`write_tables` writes named tables to one file:

* ``.parquet`` and ``.csv``: one long table, the tables stacked with a ``table`` column naming
  each row's table (columns a table lacks are empty), as ``SimulationResult.write`` has always
  written them;
* ``.xlsx``: a real Excel workbook (openpyxl), one sheet per table, named after it.

:func:`write_table_files` is the tidy form ``critmin simulate --out`` uses: one file per table
(``run.summary.csv``, ``run.bands.csv``, ...), one record type per file, no Python list reprs.

Files are written through :func:`critmin.atomic.atomic_path`: a temporary file in the same
folder, then a rename, with the mode ``open()`` would give (the user's umask), so a failure
leaves no half-written file and a result is as readable as any other file the user writes.
Importing this module does not import plotly or openpyxl.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from critmin.atomic import atomic_path
from critmin.cells import safe_frame
from critmin.errors import DataError

#: Suffixes :func:`write_tables` can write.
TABLE_SUFFIXES = (".parquet", ".csv", ".xlsx")
#: Suffixes :func:`critmin.report.export.write_figure` can write (it creates missing folders).
FIGURE_SUFFIXES = (".html", ".htm", ".png")
#: Excel's limits: rows per sheet (header included) and characters in a sheet name.
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_SHEET_NAME = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def check_output_path(
    path: str | Path,
    suffixes: Iterable[str] = TABLE_SUFFIXES,
    *,
    option: str = "--out",
    parent_must_exist: bool = True,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """``path`` as a :class:`Path` if a file can be written there, else :class:`DataError`.

    Refused, each with one line that says the fix: a path that names a folder (ends with a
    separator, or is an existing directory); a suffix not in ``suffixes`` (compared in lower
    case; multi-part suffixes such as ``.csv.gz`` work); a parent folder that does not exist
    (unless ``parent_must_exist`` is false, for writers that create it) or is not a folder; a
    folder the user cannot write to; a file that is one of ``inputs`` (the command would overwrite
    what it reads). ``option`` names the CLI option in the message.
    """
    text = str(path)
    allowed = tuple(s.lower() for s in suffixes)
    names = ", ".join(allowed)
    p = Path(text)
    if text.endswith(("/", os.sep)) or p.is_dir():
        raise DataError(
            f"{option} {text!r} is a folder, not a file",
            fix=f"give a file name inside it, e.g. {p / ('result' + allowed[0])}",
        )
    if not p.name.lower().endswith(allowed):
        if p.suffix:
            raise DataError(
                f"{option} {text!r}: cannot write a file with suffix {p.suffix!r}",
                fix=f"name the file with one of {names}",
            )
        raise DataError(  # often a folder name: Path() drops a trailing separator
            f"{option} {text!r} has no suffix",
            fix=f"name the file with one of {names}, e.g. {text}{allowed[0]}, "
            f"or {p / ('result' + allowed[0])} for a file inside a folder {p.name!r}",
        )
    parent = p.parent
    if parent.exists():
        if not parent.is_dir():
            raise DataError(
                f"{option} {text!r}: {str(parent)!r} is a file, not a folder", fix="choose another folder"
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise DataError(
                f"{option} {text!r}: you cannot write in the folder {str(parent)!r}",
                fix="choose a folder you can write to",
            )
    elif parent_must_exist:
        raise DataError(
            f"{option} {text!r}: the folder {str(parent)!r} does not exist",
            fix=f"create it first (mkdir -p {parent}) or write somewhere else",
        )
    for given in inputs:
        if _same_file(p, Path(given)):
            raise DataError(
                f"{option} {text!r} is the input file {str(given)!r}: it would be overwritten",
                fix="write the output to another file",
            )
    return p


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (through links, ``..`` or another spelling)."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_figure_path(path: str | Path, *, option: str = "--plot") -> Path:
    """:func:`check_output_path` for a figure (``.html``/``.png``; a missing folder is created)."""
    return check_output_path(path, FIGURE_SUFFIXES, option=option, parent_must_exist=False)


def long_table(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The tables stacked into one, with a ``table`` column naming each row's table."""
    if not frames:
        return pd.DataFrame({"table": pd.Series(dtype=str)})
    return pd.concat([f.assign(table=name) for name, f in frames.items()], ignore_index=True)


def write_tables(frames: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """Write named tables to ``path`` (``.parquet``, ``.csv`` or ``.xlsx``) atomically.

    Parquet and CSV hold :func:`long_table`; a workbook holds one sheet per table (index not
    written). The path is checked by :func:`check_output_path` first; a table too long for an
    Excel sheet is a :class:`DataError` that suggests Parquet. Returns the path written.
    """
    p = check_output_path(path, TABLE_SUFFIXES, option="output")
    suffix = next(s for s in TABLE_SUFFIXES if p.name.lower().endswith(s))
    if suffix == ".xlsx":
        items = list(frames.items()) or [("empty", pd.DataFrame())]  # a workbook needs a sheet
        sheets = _sheet_names([name for name, _ in items])
        for name, frame in items:
            if len(frame) + 1 > XLSX_MAX_ROWS:
                raise DataError(
                    f"{p}: table {name!r} has {len(frame):,} rows, more than an Excel sheet holds "
                    f"({XLSX_MAX_ROWS - 1:,})",
                    fix="write .parquet or .csv instead",
                )
        with atomic_path(p) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as book:
            for (_, frame), sheet in zip(items, sheets, strict=True):
                safe_frame(frame).to_excel(book, sheet_name=sheet, index=False)
        return p
    long = long_table(frames)
    with atomic_path(p) as tmp:
        if suffix == ".parquet":
            long.to_parquet(tmp, index=False)
        else:
            safe_frame(long).to_csv(tmp, index=False)
    return p


def table_file_paths(names: Iterable[str], path: str | Path) -> dict[str, Path]:
    """Where :func:`write_table_files` puts each table: ``<stem>.<name><suffix>`` beside ``path``
    (``run.csv`` -> ``run.summary.csv``, ``run.bands.csv``; ``.xlsx``: the workbook itself)."""
    p = Path(path)
    suffix = next((s for s in TABLE_SUFFIXES if p.name.lower().endswith(s)), p.suffix)
    if suffix == ".xlsx":
        return dict.fromkeys(names, p)
    stem = p.name[: len(p.name) - len(suffix)]
    return {name: p.with_name(f"{stem}.{_file_part(name)}{p.name[len(stem) :]}") for name in names}


def write_table_files(frames: Mapping[str, pd.DataFrame], path: str | Path) -> list[Path]:
    """Write each table to its own file (one record type per file), atomically; return the paths.

    ``.parquet``/``.csv``: one file per table, named by :func:`table_file_paths`, with no
    ``table`` column; ``.xlsx``: one workbook with one sheet per table (:func:`write_tables`).
    Cells are plain values: a list or dict cell (which pandas would write as its Python repr)
    becomes JSON text. Each file is written atomically on its own.
    """
    p = check_output_path(path, TABLE_SUFFIXES, option="output")
    tidy = {name: tidy_cells(frame) for name, frame in frames.items()}
    if p.name.lower().endswith(".xlsx"):
        return [write_tables(tidy, p)]
    out = []
    for name, target in table_file_paths(list(tidy), p).items():
        with atomic_path(target) as tmp:
            if target.name.lower().endswith(".parquet"):
                tidy[name].to_parquet(tmp, index=False)
            else:
                safe_frame(tidy[name]).to_csv(tmp, index=False)
        out.append(target)
    return out


def tidy_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with list, tuple, set, dict and array cells as JSON text (never a Python repr)."""
    import json

    import numpy as np

    from critmin.jsonsafe import json_safe

    nested = (list, tuple, set, dict, np.ndarray)
    cols = [
        c
        for c in frame.columns
        if frame[c].dtype == object and frame[c].map(lambda v: isinstance(v, nested)).any()
    ]
    if not cols:
        return frame
    out = frame.copy()
    for c in cols:
        out[c] = out[c].map(
            lambda v: json.dumps(json_safe(v), ensure_ascii=False) if isinstance(v, nested) else v
        )
    return out


def _file_part(name: str) -> str:
    """A table name safe inside a file name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", str(name)).strip("_") or "table"


def _sheet_names(names: list[str]) -> list[str]:
    """Valid, unique sheet names: Excel forbids ``[]:*?/\\`` and more than 31 characters."""
    out: list[str] = []
    for name in names:
        base = _BAD_SHEET_CHARS.sub("_", str(name)).strip("'") or "table"
        sheet, n = base[:XLSX_MAX_SHEET_NAME], 1
        while sheet.lower() in {s.lower() for s in out}:
            n += 1
            tail = f"_{n}"
            sheet = base[: XLSX_MAX_SHEET_NAME - len(tail)] + tail
        out.append(sheet)
    return out


__all__ = [
    "FIGURE_SUFFIXES",
    "TABLE_SUFFIXES",
    "XLSX_MAX_ROWS",
    "check_figure_path",
    "check_output_path",
    "long_table",
    "table_file_paths",
    "tidy_cells",
    "write_table_files",
    "write_tables",
]
