"""Reading, validating and writing firm-level network tables (CSV or Parquet).

The input side of :mod:`critmin.trace.firms`: a firms table (``firm_id, country, stage``; extra
columns kept) and an edges table (``supplier_id, customer_id, quantity``; optional
``commodity``, ``value_usd``). Validation normalises countries to ISO alpha-3 and stages to
:class:`~critmin.model.stages.Stage` values, and every :class:`~critmin.errors.DataError` names
where the bad value is: ``path:line`` and column for CSV files (header = line 1), ``name row N``
(1-based) for in-memory frames and Parquet files. Nothing here imports scipy.
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
from critmin.errors import DataError
from critmin.model.countries import is_country, to_iso3
from critmin.model.stages import Stage, parse_stage

FIRM_COLUMNS = ("firm_id", "country", "stage")
EDGE_COLUMNS = ("supplier_id", "customer_id", "quantity")
OPTIONAL_EDGE_COLUMNS = ("commodity", "value_usd")
_ID_COLUMNS = ("firm_id", "country", "stage", "supplier_id", "customer_id", "commodity")
_STAGES = frozenset(s.value for s in Stage)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Where:
    """Where a table came from, to name a row: CSV ``path:line`` or ``name row N`` (1-based)."""

    name: str
    csv: bool = False

    def ref(self, frame: pd.DataFrame, pos: int) -> str:
        return f"line {int(frame.index[pos]) + 2}" if self.csv else f"row {pos + 1}"

    def at(self, frame: pd.DataFrame, pos: int) -> dict[str, Any]:
        if self.csv:
            return {"path": self.name, "line": int(frame.index[pos]) + 2}
        return {"path": f"{self.name} row {pos + 1}"}


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
    raw = edges[col]
    num = pd.to_numeric(raw, errors="coerce").astype("float64").to_numpy()
    present = raw.notna().to_numpy()
    fix = "write a plain non-negative number, e.g. 1200.5 (no thousands separators)"
    bad = np.isnan(num) & present
    if bad.any():
        pos = _first(bad)
        raise DataError(f"{raw.iloc[pos]!r} is not a number", column=col, fix=fix, **where.at(edges, pos))
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
    return np.asarray(num, dtype=np.float64)


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


def _check_edges(
    edges: pd.DataFrame, where: _Where, firm_ids: pa.Array, commodity: str | None
) -> tuple[Ints, Ints, Floats]:
    """Validate an edges table; return supplier and customer positions and quantities."""
    _require(edges, EDGE_COLUMNS, where, "edges")
    quantity = _numeric(edges, "quantity", where, required=True)
    if "value_usd" in edges.columns:
        _numeric(edges, "value_usd", where, required=False)
    ends = []
    for col in ("supplier_id", "customer_id"):
        idx = _index_of(firm_ids, _arrow(edges[col]))
        if (idx < 0).any():
            pos = _first(idx < 0)
            raise DataError(
                f"unknown firm {edges[col].iloc[pos]!r}",
                column=col,
                fix="every supplier_id and customer_id must be a firm_id in the firms table",
                **where.at(edges, pos),
            )
        ends.append(idx)
    sup, cus = ends
    if commodity is not None:
        if "commodity" not in edges.columns:
            raise DataError(
                f"cannot select commodity {commodity!r}: no 'commodity' column",
                path=where.name,
                fix="add a commodity column to the edges, or drop the commodity filter",
            )
        com: pd.Series = edges["commodity"].astype("str").str.strip()
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
    return sup, cus, quantity


@dataclass(frozen=True)
class CheckedNetwork:
    """A validated network ready to trace.

    ``firms``: the normalised firms table; ``supplier``, ``customer``: each kept edge's firm
    positions (rows of ``firms``); ``quantity``: its quantity (same physical unit throughout).
    """

    firms: pd.DataFrame
    supplier: Ints
    customer: Ints
    quantity: Floats


def check_network(firms: pd.DataFrame, edges: pd.DataFrame, commodity: str | None) -> CheckedNetwork:
    """Validate in-memory tables (errors name ``firms row N`` / ``edges row N``).

    With ``commodity`` given, only the edges of that commodity are kept.
    """
    firms = _check_firms(firms, _Where("firms"))
    sup, cus, quantity = _check_edges(edges, _Where("edges"), _arrow(firms["firm_id"]), commodity)
    return CheckedNetwork(firms, sup, cus, quantity)


def load_network(firms_path: str | Path, edges_path: str | Path, commodity: str | None) -> CheckedNetwork:
    """Read and validate both files, firms first (errors name file, line and column)."""
    firms, fw = _read_table(firms_path)
    firms = _check_firms(firms, fw)
    edges, ew = _read_table(edges_path)
    sup, cus, quantity = _check_edges(edges, ew, _arrow(firms["firm_id"]), commodity)
    return CheckedNetwork(firms.reset_index(drop=True), sup, cus, quantity)


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


def _read_table(path: str | Path) -> tuple[pd.DataFrame, _Where]:
    p = Path(path)
    kind = table_kind(p)
    if not p.is_file():
        raise DataError("no such file", path=p, fix="check the path")
    try:
        if kind == "parquet":
            return pd.read_parquet(p), _Where(str(p))
        frame = pd.read_csv(
            p,
            dtype=dict.fromkeys(_ID_COLUMNS, "str"),
            keep_default_na=False,  # "NA" is Namibia
            na_values=[""],
            skip_blank_lines=False,  # keep line numbers right; blank rows are dropped below
            encoding="utf-8-sig",
        )
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DataError(f"cannot read table: {exc}", path=p, fix=f"give a valid {kind} file") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame[frame.notna().any(axis=1)], _Where(str(p), csv=True)


def read_network(firms_path: str | Path, edges_path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and validate a firm network (CSV or Parquet); errors name file, line and column.

    Checks required columns, empty values, duplicate firm ids (naming both lines), stages (with
    the closest valid stage suggested), countries (names mapped to ISO3), unknown supplier or
    customer ids and non-numeric, negative or infinite quantities. Returns the normalised
    ``(firms, edges)``; extra columns are kept.
    """
    firms, fw = _read_table(firms_path)
    firms = _check_firms(firms, fw)
    edges, ew = _read_table(edges_path)
    _check_edges(edges, ew, _arrow(firms["firm_id"]), None)
    edges = edges.copy()
    edges["quantity"] = pd.to_numeric(edges["quantity"]).astype("float64")
    return firms.reset_index(drop=True), edges.reset_index(drop=True)


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``.csv``/``.csv.gz``/``.parquet`` atomically (temp file, then rename).

    Missing parent folders are created; the file gets the mode ``open()`` would give (the
    user's umask): :func:`critmin.atomic.atomic_path`.
    """
    p = Path(path)
    kind = table_kind(p)
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(p) as tmp:
        if kind == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, compression="gzip" if p.name.lower().endswith(".gz") else None)
    return p
