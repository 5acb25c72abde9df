"""Baseline for ``bench_screen_1m.py``: BOM reading and screening as it was before vectorising.

A frozen copy of ``critmin.trace.screen.read_bom`` and ``screen`` at commit 35bcd3f (one
Python call per row to validate it, a Python loop over the rows to value them, and a
per-product x per-rule pandas loop to add them up), kept as the reference the vectorised code
must reproduce: ``tests/unit/test_hostile_bom.py`` compares both on random BOMs, and the
benchmark times both. Only public critmin names are used; the hardening checks added since
(non-finite or absurd numbers, identical rows, content above the product value, non-regular or
non-UTF-8 files) are not in it, so compare on valid BOMs only.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.model.countries import is_country, to_iso3
from critmin.trace.screen import (
    ElementPrice,
    Rule,
    RuleStatus,
    ScreenResult,
    country_code,
    element_prices,
    element_symbol,
    rare_earth_elements,
)

REQUIRED_COLUMNS = (
    "product_id",
    "product_value_usd",
    "component_id",
    "element",
    "element_mass_kg",
    "origin_country",
)
OPTIONAL_COLUMNS = ("element_value_usd", "note", "notes")


# ---------------------------------------------------------------------------- elements


def read_bom(path: str | Path) -> pd.DataFrame:
    """Read and validate a BOM CSV; one row per component x element.

    Columns: ``product_id``, ``product_value_usd`` (> 0, one value per product), ``component_id``,
    ``element`` (rare-earth symbol or name, any case), ``element_mass_kg`` (>= 0; may be blank
    where ``element_value_usd`` is given), ``origin_country`` (name or ISO3) and optional
    ``element_value_usd`` (>= 0, overrides the bundled price). Returns those columns plus
    ``line`` (1-based CSV line); ``attrs["path"]`` keeps the file name. Errors name file, line
    and column, with a fix.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError("file not found", path=p, fix="give the path of a BOM CSV file")
    try:
        text = p.read_text("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("not UTF-8 text", path=p, fix="save the BOM as a UTF-8 CSV") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[dict[str, Any]] = []
    first_value: dict[str, tuple[float, int]] = {}
    end = 0
    for cells in reader:
        line, end = end + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = _header(cells, p, line)
            continue
        if len(cells) != len(header):
            raise DataError(
                f"expected {len(header)} fields, found {len(cells)}",
                path=p,
                line=line,
                fix="quote cells that contain commas",
            )
        rows.append(_bom_row(dict(zip(header, cells, strict=True)), p, line, first_value))
    if header is None or not rows:
        raise DataError("no data rows", path=p, fix=f"add a header ({','.join(REQUIRED_COLUMNS)}) and rows")
    frame = pd.DataFrame(rows)
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


def _bom_row(
    cells: dict[str, str], path: Path, line: int, first: dict[str, tuple[float, int]]
) -> dict[str, Any]:
    def err(column: str, message: str, fix: str) -> DataError:
        return DataError(message, path=path, line=line, column=column, fix=fix)

    def text(column: str) -> str:
        v = cells[column].strip()
        if not v:
            raise err(column, "empty cell", f"fill in {column}")
        return v

    def number(column: str, *, positive: bool = False) -> float:
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
        return v

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
    first.setdefault(product, (value, line))
    try:
        element = element_symbol(text("element"))
    except DataError as exc:
        raise err("element", exc.message, exc.fix or "") from None
    mass = number("element_mass_kg")
    elem_value = number("element_value_usd")
    if math.isnan(mass) and math.isnan(elem_value):
        raise err("element_mass_kg", "empty cell", "give element_mass_kg, or element_value_usd for this row")
    origin = to_iso3(text("origin_country"), path=path, line=line, column="origin_country")
    if not is_country(origin):
        raise err("origin_country", f"{origin!r} is not one country", "give the ISO3 code of one country")
    return {
        "product_id": product,
        "product_value_usd": value,
        "component_id": text("component_id"),
        "element": element,
        "element_mass_kg": mass,
        "origin_country": origin,
        "element_value_usd": elem_value,
        "line": line,
    }


def screen(
    bom: pd.DataFrame | str | Path,
    rules: tuple[Rule, ...] | list[Rule],
    *,
    as_of: date,
    destination: str | None = None,
    swaps: Mapping[str, str] | None = None,
) -> ScreenResult:
    """Screen ``bom`` (a :func:`read_bom` frame or a path) against ``rules`` on ``as_of``.

    ``destination`` (name or ISO3) checks each rule's destinations; ``swaps`` maps a
    ``component_id`` to a new origin country (every row of that component, in every product).
    See the module docstring for the formulas.
    """
    frame = read_bom(bom) if isinstance(bom, str | Path) else bom.copy()
    path = frame.attrs.get("path")
    frame = frame.reset_index(drop=True)
    frame.attrs["path"] = path
    if "element_value_usd" not in frame:
        frame["element_value_usd"] = math.nan
    if "line" not in frame:
        frame["line"] = range(2, len(frame) + 2)
    rule_list = tuple(rules)
    if not rule_list:
        raise DataError("no rules to screen against", fix="pass at least one rule (see load_rules)")
    dest = country_code(destination) if destination is not None else None
    swap_map = _apply_swaps(frame, swaps or {})
    statuses = tuple(r.status(as_of, dest) for r in rule_list)
    masks = {
        r.id: frame["element"].isin(r.controlled_elements) & frame["origin_country"].isin(r.origin_countries)
        for r in rule_list
    }
    controlled = pd.concat(list(masks.values()), axis=1).any(axis=1)
    prices = element_prices()
    values: list[float] = []
    bases: list[str | None] = []
    used: dict[str, ElementPrice] = {}
    for i, rec in enumerate(frame.to_dict(orient="records")):
        v, basis = _row_value(rec, prices)
        el = str(rec["element"])
        if controlled.iloc[i] and basis is None:
            ids = [r.id for r in rule_list if masks[r.id].iloc[i]]
            raise DataError(
                f"no bundled price for {el} ({rare_earth_elements()[el]}), "
                f"and this row is controlled content under {', '.join(ids)}",
                path=path,
                line=int(rec["line"]),
                column="element",
                fix="add an element_value_usd column and give this row's element value in USD "
                f"(bundled prices: {', '.join(prices)})",
            )
        if controlled.iloc[i] and basis != "bom" and el in prices:
            used[el] = prices[el]
        values.append(v)
        bases.append(basis)
    frame["value_usd"] = values
    frame["price_basis"] = bases
    for rid, m in masks.items():
        frame[f"controlled:{rid}"] = m
    frame["controlled"] = controlled
    by_rule, products = _aggregate(frame, rule_list, statuses)
    return ScreenResult(
        as_of=as_of,
        rules=rule_list,
        statuses=statuses,
        products=products,
        by_rule=by_rule,
        rows=frame,
        prices={k: used[k] for k in rare_earth_elements() if k in used},
        destination=dest,
        swaps=swap_map,
        bom=str(path) if path else None,
        data_version=Dataset.bundled().version,
    )


def _apply_swaps(frame: pd.DataFrame, swaps: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    components = list(dict.fromkeys(frame["component_id"]))
    for comp, country in swaps.items():
        mask = frame["component_id"] == comp
        if not mask.any():
            close = difflib.get_close_matches(comp, components, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise DataError(
                f"--swap names component {comp!r}, which is not in the BOM",
                path=frame.attrs.get("path"),
                column="component_id",
                fix=f"{hint}components: {', '.join(components[:10])}{' ...' if len(components) > 10 else ''}",
            )
        iso = country_code(country)
        frame.loc[mask, "origin_country"] = iso
        out[comp] = iso
    return out


def _row_value(rec: Mapping[Any, Any], prices: Mapping[str, ElementPrice]) -> tuple[float, str | None]:
    """(value in USD, basis): BOM ``element_value_usd``, else mass x bundled price, else (nan, None)."""
    given, mass = float(rec["element_value_usd"]), float(rec["element_mass_kg"])
    if not math.isnan(given):
        return given, "bom"
    price = prices.get(str(rec["element"]))
    if mass == 0:
        return 0.0, price.source_id if price is not None else "bom"
    if price is None or math.isnan(mass):
        return math.nan, None
    return mass * price.usd_per_kg, price.source_id


def _aggregate(
    frame: pd.DataFrame, rules: tuple[Rule, ...], statuses: tuple[RuleStatus, ...]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    per_rule: list[dict[str, Any]] = []
    per_product: list[dict[str, Any]] = []
    for pid, g in frame.groupby("product_id", sort=False):
        pvalue = float(g["product_value_usd"].iloc[0])
        tripping: set[str] = set()
        tripped: list[str] = []
        for rule, st in zip(rules, statuses, strict=True):
            sel = g.loc[g[f"controlled:{rule.id}"]]
            cv = float(sel["value_usd"].sum())
            share = cv / pvalue
            met = rule.met(share, cv)
            required = met and st.in_force
            comps = sorted(set(sel.loc[sel["value_usd"] > 0, "component_id"]))
            if required:
                tripping.update(comps)
                tripped.append(rule.id)
            per_rule.append(
                {
                    "product_id": pid,
                    "rule_id": rule.id,
                    "in_force": st.in_force,
                    "controlled_value_usd": cv,
                    "share": share,
                    "threshold_share": rule.threshold_share,
                    "comparison": rule.comparison,
                    "threshold_met": met,
                    "licence_required": required,
                    "components": comps,
                }
            )
        ctrl = g.loc[g["controlled"]]
        cv_all = float(ctrl["value_usd"].sum())
        basis = {
            el: "; ".join(sorted(set(b))) for el, b in ctrl.groupby("element", sort=False)["price_basis"]
        }
        per_product.append(
            {
                "product_id": pid,
                "product_value_usd": pvalue,
                "controlled_value_usd": cv_all,
                "share": cv_all / pvalue,
                "licence_required": bool(tripped),
                "tripping_components": sorted(tripping),
                "rules": tripped,
                "controlled_components": sorted(set(ctrl.loc[ctrl["value_usd"] > 0, "component_id"])),
                "price_basis": basis,
            }
        )
    return pd.DataFrame(per_rule), pd.DataFrame(per_product)
