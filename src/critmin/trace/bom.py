"""Reading and validating a bill of materials (BOM) CSV for :mod:`critmin.trace.screen`.

One row per component x element: ``product_id``, ``product_value_usd``, ``component_id``,
``element``, ``element_mass_kg``, ``origin_country`` and optional ``element_value_usd``,
``note``/``notes``. The file enters through :mod:`critmin.infile` (a regular file within the CSV
size limit, UTF-8, fields of any length) and every refusal is one :class:`DataError` naming the
file, the line, the column and the fix.

What is refused (besides malformed CSV, unknown or missing columns and empty cells):

* numbers that are not numbers, not finite (``nan``, ``inf``), negative (a product value of 0
  too), or absurd: a value above :data:`MAX_USD` (1e15 USD, ten times world GDP) or a mass
  above :data:`MAX_MASS_KG` (1e9 kg, more than twice the world's yearly rare-earth mine output);
* one product with two different ``product_value_usd``;
* **identical rows** (every column equal once names are normalised: ``Nd``/``neodymium``,
  ``China``/``CHN``, ``0.5``/``0.50``): they would be summed, and two identical component rows
  are almost always a copy-paste slip. A component that really appears twice differs in some
  column (its ``component_id``, its mass, or a ``note``); rows of one component and element
  that differ are kept and summed.

Controlled content worth more than the product is refused by :func:`critmin.trace.screen.screen`
(which knows the rules), with the product, its lines and both values.
Validation is vectorised: each column is checked for the whole file at once, and the first row
that fails any check (in file order) is re-checked cell by cell to report exactly what is wrong
with it, so the message is the same as a row-by-row reader's.
"""

from __future__ import annotations

import difflib
import gc
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.errors import DataError
from critmin.infile import MAX_ABS, csv_records, finite, read_input
from critmin.model.countries import is_country, to_iso3
from critmin.trace.rules_model import ElementPrice, element_symbol

REQUIRED_COLUMNS = (
    "product_id",
    "product_value_usd",
    "component_id",
    "element",
    "element_mass_kg",
    "origin_country",
)
OPTIONAL_COLUMNS = ("element_value_usd", "note", "notes")
#: Largest value in USD a BOM cell may hold (product or element value).
MAX_USD = MAX_ABS
#: Largest element mass in kg one BOM row may hold.
MAX_MASS_KG = 1e9

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (millions of row lists would trigger it over and over)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def read_bom(path: str | Path) -> pd.DataFrame:
    """Read and validate a BOM CSV; one row per component x element.

    Columns: ``product_id``, ``product_value_usd`` (> 0, one value per product), ``component_id``,
    ``element`` (rare-earth symbol or name, any case), ``element_mass_kg`` (>= 0; may be blank
    where ``element_value_usd`` is given), ``origin_country`` (name or ISO3) and optional
    ``element_value_usd`` (>= 0, overrides the bundled price). Returns those columns plus
    ``line`` (1-based CSV line); ``attrs["path"]`` keeps the file name. Errors name file, line
    and column, with a fix (see the module docstring for what is refused).
    """
    f = read_input(path, "csv", what="BOM file")
    with gc_paused():
        return bom_from_text(f.text(), f.path)


def bom_from_text(text: str, path: str | Path) -> pd.DataFrame:
    """:func:`read_bom` on text already read (``path`` names it in errors)."""
    p = Path(path)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    short: tuple[int, int] | None = None
    records = csv_records(text, p)
    for line, cells in records:
        if "".join(cells).strip():  # the first non-blank record is the header
            header = _header(cells, p, line)
            break
    width = len(header or ())
    for line, cells in records:
        if not "".join(cells).strip():
            continue  # a blank line, or a row of empty cells
        if len(cells) != width:
            short = (line, len(cells))
            break
        rows.append(cells)
        lines.append(line)
    if header is None or (not rows and short is None):
        raise DataError("no data rows", path=p, fix=f"add a header ({','.join(REQUIRED_COLUMNS)}) and rows")
    columns = list(zip(*rows, strict=True)) or [() for _ in header]
    cols = {name: list(map(str.strip, col)) for name, col in zip(header, columns, strict=True)}
    # Rows before a malformed one are checked first, so errors come in file order.
    frame = _validate(cols, lines, p, header) if rows else pd.DataFrame()
    if short is not None:
        raise DataError(
            f"expected {len(header)} fields, found {short[1]}",
            path=p,
            line=short[0],
            fix="quote cells that contain commas",
        )
    _refuse_identical_rows(frame, cols, p)
    frame.attrs["path"] = str(p)
    return frame


def _header(cells: list[str], path: Path, line: int) -> list[str]:
    names = [c.strip().lower() for c in cells]
    known = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise DataError(
                "unknown column", path=path, line=line, column=name, fix=f"{hint}columns: {', '.join(known)}"
            )
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DataError("column given twice", path=path, line=line, column=dup, fix="keep one")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise DataError(
            f"missing required column(s) {missing}", path=path, line=line, fix=f"add {', '.join(missing)}"
        )
    return names


# ---------------------------------------------------------------------------- vectorised checks
def _floats(raw: Sequence[str], blank: Bools) -> tuple[Floats, Bools]:
    """(values, ok): ``float()`` of each cell (NaN where blank); ``ok`` False where it fails."""
    vals = np.full(len(raw), math.nan)
    ok = np.ones(len(raw), bool)
    filled = np.flatnonzero(~blank)
    cells = np.asarray(raw, dtype=object)[filled]
    try:
        vals[filled] = np.fromiter(map(float, cells), float, len(cells))
    except ValueError:
        for i, x in zip(filled.tolist(), cells.tolist(), strict=True):
            try:
                vals[i] = float(x)
            except ValueError:
                ok[i] = False
    return vals, ok


def _number_ok(v: Floats, parsed: Bools, blank: Bools, *, positive: bool, max_abs: float) -> Bools:
    """Cells that are blank, or finite numbers within range (what ``_row``'s ``number`` accepts)."""
    with np.errstate(invalid="ignore"):
        in_range = np.isfinite(v) & (v > 0 if positive else v >= 0) & (np.abs(v) <= max_abs)
    return blank | (parsed & in_range)


def _lookup(values: Sequence[str], fn: Any) -> tuple[list[Any], Bools]:
    """``fn`` of each distinct value (None where it raises DataError), mapped back to every cell."""
    out: dict[str, Any] = {}
    for v in dict.fromkeys(values):
        try:
            out[v] = fn(v) if v else None
        except DataError:
            out[v] = None
    mapped = [out[v] for v in values]
    return mapped, np.array([m is not None for m in mapped], dtype=bool)


def _iso3(text: str) -> str | None:
    code = to_iso3(text)
    return code if is_country(code) else None


def _validate(cols: dict[str, list[str]], lines: list[int], path: Path, header: list[str]) -> pd.DataFrame:
    n = len(lines)
    blank = {c: np.fromiter(map(len, cols[c]), np.intp, n) == 0 for c in cols}
    product = cols["product_id"]
    value, value_parsed = _floats(cols["product_value_usd"], blank["product_value_usd"])
    mass, mass_parsed = _floats(cols["element_mass_kg"], blank["element_mass_kg"])
    given_blank = blank.get("element_value_usd", np.ones(n, bool))
    given, given_parsed = _floats(cols.get("element_value_usd", [""] * n), given_blank)
    elements, element_ok = _lookup(cols["element"], element_symbol)
    origins, origin_ok = _lookup(cols["origin_country"], _iso3)
    codes, _ = pd.factorize(np.asarray(product, dtype=object))
    _, first_at = np.unique(codes, return_index=True)
    first = first_at[codes]
    v0 = value[first]
    with np.errstate(invalid="ignore"):
        same_value = np.abs(value - v0) <= 1e-12 * np.maximum(np.abs(value), np.abs(v0))
    ok = (
        ~blank["product_id"]
        & ~blank["product_value_usd"]
        & _number_ok(value, value_parsed, blank["product_value_usd"], positive=True, max_abs=MAX_USD)
        & same_value
        & element_ok
        & _number_ok(mass, mass_parsed, blank["element_mass_kg"], positive=False, max_abs=MAX_MASS_KG)
        & _number_ok(given, given_parsed, given_blank, positive=False, max_abs=MAX_USD)
        & ~(blank["element_mass_kg"] & given_blank)
        & origin_ok
        & ~blank["component_id"]
    )
    for i in np.flatnonzero(~ok):
        # The cell-by-cell check of the first failing row gives the exact message; a row the
        # vectorised checks flagged but the row check passes would be a bug in one of them.
        f = int(first[i])
        seen = {product[i]: (float(value[f]), lines[f])} if f < i else {}
        _row({c: cols[c][i] for c in header}, path, lines[i], seen)
        msg = f"BOM row on line {lines[i]} failed a vectorised check but passed the row check"
        raise AssertionError(msg)
    return pd.DataFrame(
        {
            "product_id": product,
            "product_value_usd": value,
            "component_id": cols["component_id"],
            "element": elements,
            "element_mass_kg": mass,
            "origin_country": origins,
            "element_value_usd": given,
            "line": lines,
        }
    )


def _row(cells: dict[str, str], path: Path, line: int, first: dict[str, tuple[float, int]]) -> None:
    """Check one row cell by cell; raise the DataError of its first bad cell."""

    def err(column: str, message: str, fix: str) -> DataError:
        return DataError(message, path=path, line=line, column=column, fix=fix)

    def text(column: str) -> str:
        v = cells[column].strip()
        if not v:
            raise err(column, "empty cell", f"fill in {column}")
        return v

    def number(column: str, *, positive: bool = False, max_abs: float = MAX_USD) -> float:
        raw = cells.get(column, "").strip()
        if not raw:
            return math.nan
        try:
            v = float(raw)
        except ValueError:
            raise err(
                column, f"{raw!r} is not a number", "write a plain number (no units or separators)"
            ) from None
        if not math.isfinite(v):
            raise err(column, f"{raw!r} is not a finite number", "write a finite number")
        if v < 0 or (positive and v == 0):
            bound = "above 0" if positive else "0 or more"
            raise err(column, f"{v:g} is out of range", f"{column} must be {bound}")
        return finite(v, path=path, line=line, column=column, what=column, max_abs=max_abs)

    product = text("product_id")
    value = number("product_value_usd", positive=True)
    if math.isnan(value):
        raise err("product_value_usd", "empty cell", "give the product's value in USD (above 0)")
    if product in first and not math.isclose(first[product][0], value, rel_tol=1e-12):
        v0, l0 = first[product]
        raise err(
            "product_value_usd",
            f"product {product!r} has value {value:g} here but {v0:g} on line {l0}",
            "give every row of a product the same product_value_usd",
        )
    try:
        element_symbol(text("element"))
    except DataError as exc:
        raise err("element", exc.message, exc.fix or "") from None
    mass = number("element_mass_kg", max_abs=MAX_MASS_KG)
    elem_value = number("element_value_usd")
    if math.isnan(mass) and math.isnan(elem_value):
        raise err("element_mass_kg", "empty cell", "give element_mass_kg, or element_value_usd for this row")
    origin = to_iso3(text("origin_country"), path=path, line=line, column="origin_country")
    if not is_country(origin):
        raise err("origin_country", f"{origin!r} is not one country", "give the ISO3 code of one country")
    text("component_id")


# ---------------------------------------------------------------------------- cross-row checks
def _refuse_identical_rows(frame: pd.DataFrame, cols: dict[str, list[str]], path: Path) -> None:
    keys = frame.drop(columns=["line"])
    for note in ("note", "notes"):
        if note in cols:
            keys[note] = cols[note]
    dup = keys.duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    i = int(np.flatnonzero(dup)[0])
    same = (keys == keys.iloc[i]) | (keys.isna() & keys.iloc[i].isna())
    j = int(np.flatnonzero(same.all(axis=1).to_numpy())[0])
    r = frame.iloc[i]
    raise DataError(
        f"this row repeats line {frame['line'].iloc[j]} exactly (product {r['product_id']!r}, "
        f"component {r['component_id']!r}, {r['element']} from {r['origin_country']}): identical rows "
        "would be added up",
        path=path,
        line=int(r["line"]),
        column="component_id",
        fix="delete the copy; if the component really appears twice, give each its own component_id "
        "(or a note), or put the total mass on one row",
    )


def row_values(
    element: pd.Series, mass: Floats, given: Floats, prices: Mapping[str, ElementPrice]
) -> tuple[Floats, npt.NDArray[np.object_]]:
    """(value in USD, basis) of each BOM row, as screening values it.

    ``element_value_usd`` where given (basis ``"bom"``); else 0 where the mass is 0 (basis the
    bundled price's source, or ``"bom"``); else mass x bundled price (basis its source id);
    NaN and basis None where there is neither a mass nor a price.
    """
    price = element.map({k: p.usd_per_kg for k, p in prices.items()}).to_numpy(dtype=float)
    source = element.map({k: p.source_id for k, p in prices.items()}).to_numpy(dtype=object)
    has_given = ~np.isnan(given)
    zero = ~has_given & (mass == 0)
    priced = ~has_given & ~zero & ~np.isnan(price) & ~np.isnan(mass)
    values = np.where(has_given, given, np.where(zero, 0.0, np.where(priced, mass * price, math.nan)))
    basis = np.full(len(values), None, dtype=object)
    basis[has_given] = "bom"
    no_price = pd.isna(source)
    basis[zero & no_price] = "bom"
    basis[zero & ~no_price] = source[zero & ~no_price]
    basis[priced] = source[priced]
    return values, basis
