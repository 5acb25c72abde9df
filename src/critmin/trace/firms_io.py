"""Reading, validating and writing firm-level network tables (CSV or Parquet).

The input side of :mod:`critmin.trace.firms`: a firms table (``firm_id, country, stage``; extra
columns kept) and an edges table (``supplier_id, customer_id, quantity``; optional
``commodity``, ``value_usd``). Validation normalises countries to ISO alpha-3 and stages to
:class:`~critmin.model.stages.Stage` values, and every :class:`~critmin.errors.DataError` names
where the bad value is: ``path:line`` and column for CSV files (header = line 1), ``name row N``
(1-based) for in-memory frames and Parquet files. Nothing here imports scipy.

What is refused (each with one :class:`~critmin.errors.DataError` line and its fix): what
:mod:`critmin.trace.firms_read` refuses while reading a file (not a regular file, over the
size limits, not UTF-8, empty, duplicate column names, malformed rows, unreadable Parquet or
Parquet columns of the wrong type); cells that are not plain strings or numbers; a firms file
without rows; missing or empty required values, duplicate firm ids, unknown stages and
countries, texts over ``MAX_TEXT`` characters in ``country``/``stage``/``commodity``; edges
naming unknown firms; quantities and values that are not numbers, negative, infinite or beyond
:data:`critmin.infile.MAX_ABS` (1e15); and *edges that repeat an earlier edge in every
column* (a copy: counting it twice would double that supplier's share), naming both lines.
Edges that share supplier and customer but differ in some column (two shipments, contracts or
dates) are summed, as the model says; :class:`CheckedNetwork` counts them and names the first
pair, and ``critmin trace firms`` warns with those lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from critmin.atomic import atomic_path
from critmin.cells import safe_frame
from critmin.errors import DataError
from critmin.infile import MAX_ABS, finite
from critmin.model.countries import is_country, to_iso3
from critmin.model.stages import Stage, parse_stage
from critmin.trace.firms_read import Where as _Where
from critmin.trace.firms_read import read_frame, table_kind
from critmin.trace.firms_read import show as _show

FIRM_COLUMNS = ("firm_id", "country", "stage")
EDGE_COLUMNS = ("supplier_id", "customer_id", "quantity")
OPTIONAL_EDGE_COLUMNS = ("commodity", "value_usd")
_ID_COLUMNS = ("firm_id", "country", "stage", "supplier_id", "customer_id", "commodity")
_STAGES = frozenset(s.value for s in Stage)
#: Longest accepted ``country``, ``stage`` or ``commodity`` text (ids may be longer).
MAX_TEXT = 200

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def _first(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def _require(frame: pd.DataFrame, cols: tuple[str, ...], where: _Where, table: str) -> None:
    """Required columns present, and (all but ``quantity``, checked with its number) filled in."""
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise DataError(
            f"missing column(s) {missing}",
            path=where.name,
            line=1 if where.csv else None,
            fix=f"the {table} table needs columns {', '.join(cols)} (extra columns are kept)",
        )
    for col in (c for c in cols if c != "quantity"):
        na = frame[col].isna().to_numpy()
        if na.any():
            pos = _first(na)
            raise DataError("empty value", column=col, fix=f"fill in {col}", **where.at(frame, pos))


def _check_firms(firms: pd.DataFrame, where: _Where) -> pd.DataFrame:
    """Validate and normalise a firms table (ISO3 countries, Stage values); returns a copy."""
    _require(firms, FIRM_COLUMNS, where, "firms")
    out = firms.copy()
    dup = out["firm_id"].duplicated(keep="first").to_numpy()
    if dup.any():
        pos = _first(dup)
        fid = out["firm_id"].iloc[pos]
        first = _first((out["firm_id"] == fid).to_numpy())
        raise DataError(
            f"duplicate firm_id {fid!r}, first on {where.ref(out, first)}",
            column="firm_id",
            fix="give each firm one row with a unique firm_id",
            **where.at(out, pos),
        )
    for col, norm in (("stage", _norm_stage), ("country", _norm_country)):
        values = out[col]
        _text_lengths(values, col, where, out)
        mapping: dict[Any, str] = {}
        for value in pd.unique(values):
            fixed = norm(value, None)
            if fixed is None:  # not already canonical: locate it so the error can name the row
                pos = _first((values == value).to_numpy())
                fixed = norm(value, where.at(out, pos))
            mapping[value] = str(fixed)
        if any(k != v for k, v in mapping.items()):
            out[col] = values.map(mapping).astype("str")
    return out


def _text_lengths(values: pd.Series, col: str, where: _Where, frame: pd.DataFrame) -> None:
    """Refuse ``country``/``stage``/``commodity`` texts longer than :data:`MAX_TEXT`."""
    lengths = values.astype("str").str.len().to_numpy()
    long = lengths > MAX_TEXT
    if long.any():
        pos = _first(long)
        raise DataError(
            f"value of {int(lengths[pos]):,} characters ({_show(values.iloc[pos], 30)})",
            column=col,
            fix=f"a {col} is a short name or code (at most {MAX_TEXT} characters); check the column order",
            **where.at(frame, pos),
        )


_SCALARS = (str, int, float, np.integer, np.floating)


def _check_cells(frame: pd.DataFrame, cols: tuple[str, ...], where: _Where) -> None:
    """Cells of ``cols`` in object columns must be plain strings or numbers (not lists, dicts...)."""
    for col in cols:
        if col not in frame.columns or frame[col].dtype != object:
            continue
        ok = frame[col].map(lambda v: v is None or isinstance(v, _SCALARS)).to_numpy(dtype=bool)
        if not ok.all():
            pos = _first(~ok)
            value = frame[col].iloc[pos]
            raise DataError(
                f"{type(value).__name__} value {_show(value, 30)}",
                column=col,
                fix=f"give {col} as a plain string or number",
                **where.at(frame, pos),
            )


def _norm_stage(value: Any, where: dict[str, Any] | None) -> str | None:
    if where is None:
        return str(value) if isinstance(value, str) and value in _STAGES else None
    return parse_stage(value, column="stage", **where).value


def _norm_country(value: Any, where: dict[str, Any] | None) -> str | None:
    if where is None:  # fast path: already an ISO alpha-3 country code
        return str(value) if isinstance(value, str) and is_country(value) else None
    code = to_iso3(str(value), column="country", **where)
    if not is_country(code):
        raise DataError(
            f"{value!r} is an aggregate ({code}), not one country",
            column="country",
            fix="give the country the firm is located in, as ISO alpha-3 (e.g. 'AUS')",
            **where,
        )
    return code


def _numeric(edges: pd.DataFrame, col: str, where: _Where, *, required: bool) -> Floats:
    """``col`` as float64: every present value a number in ``[0, MAX_ABS]`` (or one DataError)."""
    raw = edges[col]
    present = raw.notna().to_numpy()
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            num = pd.to_numeric(raw, errors="coerce").astype("float64").to_numpy()
    except (OverflowError, ValueError, TypeError):  # e.g. a 400-digit integer
        num = np.asarray([_to_float(v) for v in raw], dtype=np.float64)
        huge = np.isnan(num) & present & raw.map(_overflows).to_numpy(dtype=bool)
        if huge.any():
            pos = _first(huge)
            raise DataError(
                f"{col} {_show(raw.iloc[pos], 30)} is beyond {MAX_ABS:.0e}",
                column=col,
                fix="check the number and its unit",
                **where.at(edges, pos),
            ) from None
    fix = "write a plain non-negative number, e.g. 1200.5 (no thousands separators)"
    bad = np.isnan(num) & present
    if bad.any():
        pos = _first(bad)
        raise DataError(
            f"{_show(raw.iloc[pos])} is not a number", column=col, fix=fix, **where.at(edges, pos)
        )
    if required and not present.all():
        pos = _first(~present)
        raise DataError("empty value", column=col, fix=f"fill in {col}", **where.at(edges, pos))
    bad = np.isinf(num) | (num < 0)
    if bad.any():
        pos = _first(bad)
        raise DataError(
            f"{'negative' if num[pos] < 0 else 'infinite'} {col} {num[pos]:g}",
            column=col,
            fix="quantities cannot be negative or infinite; use 0 for none",
            **where.at(edges, pos),
        )
    huge = np.abs(num) > MAX_ABS
    if huge.any():
        pos = _first(huge)
        finite(float(num[pos]), column=col, what=col, **where.at(edges, pos))  # raises
    return np.asarray(num, dtype=np.float64)


def _to_float(value: Any) -> float:
    """``float(value)``, NaN where it is not a number or overflows (see :func:`_overflows`)."""
    try:
        return float(value)
    except (OverflowError, ValueError, TypeError):
        return float("nan")


def _overflows(value: Any) -> bool:
    try:
        float(value)
    except OverflowError:
        return True
    except (ValueError, TypeError):
        return False
    return False


def _arrow(values: pd.Series) -> pa.Array:
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types in an object column
        arr = pa.array(values.astype("str"))
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _index_of(ids: pa.Array, values: pa.Array) -> Ints:
    """Position of each value in ``ids`` (-1 where absent); ints and strings never match silently."""
    if pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type):
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            values = pc.cast(values, pa.large_string())
    elif ids.type != values.type:
        ids, values = pc.cast(ids, pa.large_string()), pc.cast(values, pa.large_string())
    found = pc.index_in(values, value_set=ids).fill_null(-1)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


def _check_edges(edges: pd.DataFrame, where: _Where, firm_ids: pa.Array, commodity: str | None) -> _Edges:
    """Validate an edges table; return the kept edges' supplier and customer positions,
    quantities and parallel edges (see :class:`CheckedNetwork`)."""
    _require(edges, EDGE_COLUMNS, where, "edges")
    _check_cells(edges, (*EDGE_COLUMNS, *OPTIONAL_EDGE_COLUMNS), where)
    quantity = _numeric(edges, "quantity", where, required=True)
    value = _numeric(edges, "value_usd", where, required=False) if "value_usd" in edges.columns else None
    ends = []
    for col in ("supplier_id", "customer_id"):
        idx = _index_of(firm_ids, _arrow(edges[col]))
        if (idx < 0).any():
            pos = _first(idx < 0)
            raise DataError(
                f"unknown firm {_show(edges[col].iloc[pos])}",
                column=col,
                fix="every supplier_id and customer_id must be a firm_id in the firms table",
                **where.at(edges, pos),
            )
        ends.append(idx)
    sup, cus = ends
    com: pd.Series | None = None
    if "commodity" in edges.columns:
        _text_lengths(edges["commodity"], "commodity", where, edges)
        com = edges["commodity"].astype("str").str.strip()
    pair = sup * max(len(firm_ids), 1) + cus
    _refuse_copies(edges, where, pair, quantity, value, com)
    keep = np.ones(len(edges), dtype=bool)
    if commodity is not None:
        if com is None:
            raise DataError(
                f"cannot select commodity {commodity!r}: no 'commodity' column",
                path=where.name,
                fix="add a commodity column to the edges, or drop the commodity filter",
            )
        keep = (com == commodity).to_numpy()
        if not keep.any():
            present = sorted(str(v) for v in com.unique())[:10]
            raise DataError(
                f"no edges with commodity {commodity!r}",
                path=where.name,
                column="commodity",
                fix=f"use one of {present}",
            )
        sup, cus, quantity = sup[keep], cus[keep], quantity[keep]
    again = pd.Series(pair[keep]).duplicated(keep="first").to_numpy()
    example = None
    if again.any():
        kept = np.flatnonzero(keep)
        pos = int(kept[_first(again)])
        first = int(kept[_first(pair[keep] == pair[pos])])
        here = f"{where.name}:{where.line(edges, pos)}" if where.csv else f"{where.name} row {pos + 1}"
        example = (
            f"{here} repeats {_show(edges['supplier_id'].iloc[pos], 30)} -> "
            f"{_show(edges['customer_id'].iloc[pos], 30)} of {where.ref(edges, first)}"
        )
    return _Edges(sup, cus, quantity, int(again.sum()), example)


def _refuse_copies(
    edges: pd.DataFrame,
    where: _Where,
    pair: Ints,
    quantity: Floats,
    value: Floats | None,
    com: pd.Series | None,
) -> None:
    """Refuse an edge equal to an earlier one in every column, naming both lines.

    Rows sharing supplier and customer are the candidates (found by hashing the pair); only
    they are compared column by column, ids by firm, numbers by value, other columns as text.
    """
    cand = np.flatnonzero(pd.Series(pair).duplicated(keep=False).to_numpy())
    if cand.size == 0:
        return
    cols: dict[str, Any] = {"_pair": pair[cand], "quantity": quantity[cand]}
    if value is not None:
        cols["value_usd"] = value[cand]
    if com is not None:
        cols["commodity"] = com.to_numpy()[cand]
    for c in edges.columns:
        if c not in (*EDGE_COLUMNS, *OPTIONAL_EDGE_COLUMNS):
            cols[f"extra {c}"] = edges[c].iloc[cand].astype("str").to_numpy()
    sub = pd.DataFrame(cols)
    copy = sub.duplicated(keep="first").to_numpy()
    if not copy.any():
        return
    j = _first(copy)
    group = sub.groupby(list(sub.columns), sort=False, dropna=False).ngroup().to_numpy()
    pos, first = int(cand[j]), int(cand[_first(group == group[j])])
    raise DataError(
        f"edge {_show(edges['supplier_id'].iloc[pos], 30)} -> {_show(edges['customer_id'].iloc[pos], 30)} "
        f"repeats {where.ref(edges, first)} in every column (a copy would be counted twice)",
        column="supplier_id",
        fix="delete one of the two rows; if both shipments are real, give them one row with the summed "
        "quantity (rows that differ in some column, e.g. a date, are summed)",
        **where.at(edges, pos),
    )


@dataclass(frozen=True)
class _Edges:
    supplier: Ints
    customer: Ints
    quantity: Floats
    parallel: int
    example: str | None


@dataclass(frozen=True)
class CheckedNetwork:
    """A validated network ready to trace.

    ``firms``: the normalised firms table; ``supplier``, ``customer``: each kept edge's firm
    positions (rows of ``firms``); ``quantity``: its quantity (same physical unit throughout).
    ``parallel_edges``: kept edges whose supplier and customer repeat an earlier kept edge
    (their quantities are summed); ``parallel_example``: the first one and the line or row it
    repeats, for a warning (``None`` when there are none).
    """

    firms: pd.DataFrame
    supplier: Ints
    customer: Ints
    quantity: Floats
    parallel_edges: int = 0
    parallel_example: str | None = None


def _network(firms: pd.DataFrame, e: _Edges) -> CheckedNetwork:
    return CheckedNetwork(firms, e.supplier, e.customer, e.quantity, e.parallel, e.example)


def check_network(firms: pd.DataFrame, edges: pd.DataFrame, commodity: str | None) -> CheckedNetwork:
    """Validate in-memory tables (errors name ``firms row N`` / ``edges row N``).

    With ``commodity`` given, only the edges of that commodity are kept.
    """
    fw = _Where("firms")
    _require(firms, FIRM_COLUMNS, fw, "firms")
    _check_cells(firms, FIRM_COLUMNS, fw)
    firms = _check_firms(firms, fw)
    return _network(firms, _check_edges(edges, _Where("edges"), _arrow(firms["firm_id"]), commodity))


def load_network(firms_path: str | Path, edges_path: str | Path, commodity: str | None) -> CheckedNetwork:
    """Read and validate both files, firms first (errors name file, line and column)."""
    firms, fw = _read_table(firms_path, "firms")
    firms = _check_firms(firms, fw)
    edges, ew = _read_table(edges_path, "edges")
    return _network(
        firms.reset_index(drop=True), _check_edges(edges, ew, _arrow(firms["firm_id"]), commodity)
    )


def _read_table(path: str | Path, table: str) -> tuple[pd.DataFrame, _Where]:
    frame, where = read_frame(path, table, dict.fromkeys(_ID_COLUMNS, "str"))
    if table == "firms":
        _require(frame, FIRM_COLUMNS, where, "firms")
        if frame.empty:
            raise DataError(
                "no firms: the table has a header but no rows",
                path=where.name,
                line=2 if where.csv else None,
                fix="add one row per firm (firm_id, country, stage)",
            )
    _check_cells(frame, (*FIRM_COLUMNS, *EDGE_COLUMNS, *OPTIONAL_EDGE_COLUMNS), where)
    return frame, where


def read_network(firms_path: str | Path, edges_path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and validate a firm network (CSV or Parquet); errors name file, line and column.

    Checks required columns, empty values, duplicate firm ids (naming both lines), stages (with
    the closest valid stage suggested), countries (names mapped to ISO3), unknown supplier or
    customer ids and non-numeric, negative or infinite quantities. Returns the normalised
    ``(firms, edges)``; extra columns are kept.
    """
    firms, fw = _read_table(firms_path, "firms")
    firms = _check_firms(firms, fw)
    edges, ew = _read_table(edges_path, "edges")
    _check_edges(edges, ew, _arrow(firms["firm_id"]), None)
    edges = edges.copy()
    edges["quantity"] = pd.to_numeric(edges["quantity"]).astype("float64")
    return firms.reset_index(drop=True), edges.reset_index(drop=True)


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``.csv``/``.csv.gz``/``.parquet`` atomically (temp file, then rename).

    Missing parent folders are created; the file gets the mode ``open()`` would give (the
    user's umask): :func:`critmin.atomic.atomic_path`. CSV text cells that a spreadsheet would
    run as a formula get a leading ``'`` (:func:`critmin.cells.safe_frame`); Parquet keeps them.
    """
    p = Path(path)
    kind = table_kind(p)
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(p) as tmp:
        if kind == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            safe_frame(frame).to_csv(
                tmp, index=False, compression="gzip" if p.name.lower().endswith(".gz") else None
            )
    return p
