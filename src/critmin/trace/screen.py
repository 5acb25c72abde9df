"""Bill-of-materials screening against rare-earth export-control rules (de minimis tests).

A *rule* (YAML, validated by :class:`Rule`) names the controlled rare-earth elements, the origin
countries whose content counts, a value threshold and the dates it is in force. A *BOM*
(:func:`read_bom`) lists, per product, the rare-earth content of each component and its origin.

For product p, rule r and date t (``as_of``)::

    v_i    = element_value_usd_i if the BOM gives it, else element_mass_kg_i x P(element_i)
    V_r(p) = sum of v_i over rows i of p with element_i in E_r and origin_i in O_r   [USD]
    s_r(p) = V_r(p) / product_value_usd(p)                                           [fraction]
    met_r  = s_r(p) >= theta_r   (or > theta_r when the rule says comparison: ">")
           = V_r(p) > 0          when theta_r = 0 (any controlled content)
    licence_required_r(p) = in_force_r(t, destination) and met_r

``in_force_r(t)``: effective_date <= t; t <= end_date (if any); t outside every suspension
window [start, end], both ends inclusive ("suspended until 10 November 2026" covers that day);
and the destination covered (``destinations`` is ``all`` or lists it, ``excluded_destinations``
does not). With no destination given, it is assumed covered. The comparison with theta_r
treats shares within a relative 1e-9 of theta_r as equal, so a share that is exactly at the
threshold in decimal arithmetic is not lost to binary rounding.

P(element) is the bundled price table ``critmin/trace/element_prices.yaml`` (USGS MCS oxide
prices, see :func:`element_prices`); a controlled row whose element has no bundled price must
give ``element_value_usd``. Per product the report adds up content controlled by *any* rule
screened (``controlled_value_usd``, ``share``); ``licence_required`` is true when any rule
requires a licence, ``rules`` lists those rules and ``tripping_components`` their components.

Refused (one :class:`DataError` each): a product whose controlled content (under any rule
screened, after swaps) is worth more than its ``product_value_usd`` (a share above 100%: a unit
slip), naming the product, its controlled rows' lines and both values. What the BOM reader
refuses is listed in :mod:`critmin.trace.bom`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin._version import __version__
from critmin.data.catalogue import Source
from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.jsonsafe import json_safe
from critmin.trace.bom import (  # noqa: F401 - public names re-exported here
    MAX_MASS_KG,
    MAX_USD,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    bom_from_text,
    gc_paused,
    read_bom,
    row_values,
)
from critmin.trace.rules_model import (  # noqa: F401 - public names re-exported here
    BUNDLED_RULES_ALL,
    THRESHOLD_RTOL,
    ElementPrice,
    Rule,
    RuleState,
    RuleStatus,
    Suspension,
    bundled_rule_names,
    country_code,
    element_prices,
    element_symbol,
    load_rules,
    rare_earth_elements,
    usd_per_kg,
)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]
Bools = npt.NDArray[np.bool_]
Objects = npt.NDArray[np.object_]


def parse_swaps(items: Iterable[str]) -> dict[str, str]:
    """``["magnet-1=AUS", ...]`` -> ``{"magnet-1": "AUS"}`` (the last ``=`` splits; country validated)."""
    out: dict[str, str] = {}
    for item in items:
        comp, sep, country = str(item).rpartition("=")
        if not sep or not comp.strip() or not country.strip():
            raise DataError(f"bad --swap {item!r}", fix="write COMPONENT=ISO3, e.g. --swap magnet-1=AUS")
        try:
            out[comp.strip()] = country_code(country)
        except DataError as exc:
            raise DataError(f"--swap {item!r}: {exc.message}", fix=exc.fix) from None
    return out


# ---------------------------------------------------------------------------- screening
@dataclass(frozen=True)
class ScreenResult:
    """A screen of one BOM against rules on one date.

    ``products``: one row per product (``product_id``, ``product_value_usd``,
    ``controlled_value_usd``, ``share``, ``licence_required``, ``tripping_components``, ``rules``,
    ``controlled_components``, ``price_basis``). ``by_rule``: one row per product x rule.
    ``rows``: the BOM with ``value_usd`` and ``price_basis`` (bundled source id or ``"bom"``).
    """

    as_of: date
    rules: tuple[Rule, ...]
    statuses: tuple[RuleStatus, ...]
    products: pd.DataFrame
    by_rule: pd.DataFrame
    rows: pd.DataFrame
    prices: Mapping[str, ElementPrice]
    destination: str | None = None
    swaps: Mapping[str, str] = field(default_factory=dict)
    bom: str | None = None
    data_version: str = ""
    version: str = __version__

    def status(self, rule_id: str) -> RuleStatus:
        """The :class:`RuleStatus` of one rule."""
        return next(s for s in self.statuses if s.rule_id == rule_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON document: ``as_of``, ``rules`` (ids), ``products`` and extras (status, prices, sources)."""
        per_rule = dict(list(self.by_rule.groupby("product_id", sort=False)))
        products = []
        for rec in self.products.to_dict(orient="records"):
            detail = per_rule[rec["product_id"]].drop(columns=["product_id"])
            products.append({**_plain(rec), "by_rule": [_plain(r) for r in detail.to_dict(orient="records")]})
        sources: dict[str, Source] = {}
        for rule in self.rules:
            sources.update(rule.citations())
        ds = Dataset.bundled()
        for p in self.prices.values():
            sources[p.source_id] = ds.source(p.source_id)
        return {
            "as_of": self.as_of.isoformat(),
            "rules": [r.id for r in self.rules],
            "products": products,
            "bom": self.bom,
            "destination": self.destination,
            "swaps": dict(self.swaps),
            "rule_status": [
                {
                    "id": r.id,
                    "instrument": r.instrument,
                    "in_force": s.in_force,
                    "state": s.state.value,
                    "reason": s.reason,
                    "threshold_share": r.threshold_share,
                    "comparison": r.comparison,
                    "effective_date": r.effective_date.isoformat(),
                    "end_date": r.end_date.isoformat() if r.end_date else None,
                    "suspensions": [x.model_dump(mode="json", exclude_none=True) for x in r.suspensions],
                    "controlled_elements": list(r.controlled_elements),
                    "origin_countries": list(r.origin_countries),
                    "source_ids": list(r.source_ids),
                }
                for r, s in zip(self.rules, self.statuses, strict=True)
            ],
            "element_prices": {k: p.model_dump(exclude_none=True) for k, p in self.prices.items()},
            "sources": [s.model_dump(exclude_none=True) for _, s in sorted(sources.items())],
            "data_version": self.data_version,
            "critmin_version": self.version,
        }


def _plain(rec: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k): json_safe(v) for k, v in rec.items()}


def screen(
    bom: pd.DataFrame | str | Path,
    rules: Iterable[Rule],
    *,
    as_of: date,
    destination: str | None = None,
    swaps: Mapping[str, str] | None = None,
) -> ScreenResult:
    """Screen ``bom`` (a :func:`read_bom` frame or a path) against ``rules`` on ``as_of``.

    ``destination`` (name or ISO3) checks each rule's destinations; ``swaps`` maps a
    ``component_id`` to a new origin country (every row of that component, in every product).
    See the module docstring for the formulas. Vectorised: the rows are valued at once, and
    each rule's controlled content is added up per product in the rows' order (the same sums
    as adding each product's rows on their own).
    """
    with gc_paused():
        return _screen(bom, tuple(rules), as_of, destination, swaps)


def _screen(
    bom: pd.DataFrame | str | Path,
    rule_list: tuple[Rule, ...],
    as_of: date,
    destination: str | None,
    swaps: Mapping[str, str] | None,
) -> ScreenResult:
    frame = read_bom(bom) if isinstance(bom, str | Path) else bom.copy()
    path = frame.attrs.get("path")
    frame = frame.reset_index(drop=True)
    frame.attrs["path"] = path
    if "element_value_usd" not in frame:
        frame["element_value_usd"] = math.nan
    if "line" not in frame:
        frame["line"] = range(2, len(frame) + 2)
    if not rule_list:
        raise DataError("no rules to screen against", fix="pass at least one rule (see load_rules)")
    dest = country_code(destination) if destination is not None else None
    swap_map = _apply_swaps(frame, swaps or {})
    statuses = tuple(r.status(as_of, dest) for r in rule_list)
    element, origin = frame["element"], frame["origin_country"]
    masks = {
        r.id: (element.isin(r.controlled_elements) & origin.isin(r.origin_countries)).to_numpy(dtype=bool)
        for r in rule_list
    }
    controlled = np.logical_or.reduce(list(masks.values()))
    prices = element_prices()
    values, basis = row_values(
        element,
        frame["element_mass_kg"].to_numpy(dtype=float),
        frame["element_value_usd"].to_numpy(dtype=float),
        prices,
    )
    missing = np.flatnonzero(controlled & pd.isna(basis))
    if len(missing):
        i = int(missing[0])
        el = str(element.iloc[i])
        ids = [r.id for r in rule_list if masks[r.id][i]]
        raise DataError(
            f"no bundled price for {el} ({rare_earth_elements()[el]}), "
            f"and this row is controlled content under {', '.join(ids)}",
            path=path,
            line=int(frame["line"].iloc[i]),
            column="element",
            fix="add an element_value_usd column and give this row's element value in USD "
            f"(bundled prices: {', '.join(prices)})",
        )
    used_rows = controlled & (basis != "bom") & element.isin(list(prices)).to_numpy(dtype=bool)
    used = set(element.to_numpy(dtype=object)[used_rows])
    frame["value_usd"] = values.tolist()
    frame["price_basis"] = basis.tolist()
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
        prices={k: prices[k] for k in rare_earth_elements() if k in used},
        destination=dest,
        swaps=swap_map,
        bom=str(path) if path else None,
        data_version=Dataset.bundled().version,
    )


def _apply_swaps(frame: pd.DataFrame, swaps: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for comp, country in swaps.items():
        mask = frame["component_id"] == comp
        if not mask.any():
            components = list(dict.fromkeys(frame["component_id"]))
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


# ---------------------------------------------------------------------------- per product
def _group_sums(values: Floats, codes: Ints, mask: Bools, n: int) -> Floats:
    """Per group, the sum of ``values[mask]`` in row order, NaN as 0 (exactly ``Series.sum``).

    NumPy (and so pandas) adds up to 7 numbers left to right: those groups are summed in 7
    vectorised passes. Longer runs use pairwise summation, so those groups are summed slice by
    slice with NumPy itself.
    """
    sel = codes[mask]
    order = np.argsort(sel, kind="stable")
    v = values[mask][order]
    v = np.where(np.isnan(v), 0.0, v)
    counts = np.bincount(sel, minlength=n)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.intp)
    out = np.zeros(n)
    small = counts < 8
    for k in range(7):
        g = np.flatnonzero(small & (counts > k))
        if not len(g):
            break
        out[g] += v[starts[g] + k]
    for big in np.flatnonzero(~small).tolist():
        out[big] = v[starts[big] : starts[big] + counts[big]].sum()
    return out


def _group_sets(codes: Ints, items: Objects, mask: Bools, n: int) -> list[list[Any]]:
    """Per group, the sorted distinct ``items[mask]`` (``sorted(set(...))`` of each group)."""
    g = codes[mask]
    xc, xu = pd.factorize(items[mask], sort=True)
    keep = xc >= 0
    if not keep.any():
        return [[] for _ in range(n)]
    width = np.int64(len(xu))
    key = np.unique(g[keep].astype(np.int64) * width + xc[keep])
    xs = np.asarray(xu, dtype=object)[key % width].tolist()
    ends = np.cumsum(np.bincount(key // width, minlength=n))
    starts = np.concatenate(([0], ends[:-1]))
    return [xs[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]


def _aggregate(
    frame: pd.DataFrame, rules: tuple[Rule, ...], statuses: tuple[RuleStatus, ...]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    codes, uniques = pd.factorize(frame["product_id"])
    n = len(uniques)
    if n == 0:
        return pd.DataFrame(), pd.DataFrame()
    known = codes >= 0
    _, first = np.unique(codes[known], return_index=True)
    pvalue = frame["product_value_usd"].to_numpy(dtype=float)[np.flatnonzero(known)[first]]
    values = frame["value_usd"].to_numpy(dtype=float)
    comps = frame["component_id"].to_numpy(dtype=object)
    positive = values > 0
    cv, share, met, required, listed = [], [], [], [], []
    trips = np.zeros(len(frame), dtype=bool)
    for rule, st in zip(rules, statuses, strict=True):
        m = frame[f"controlled:{rule.id}"].to_numpy(dtype=bool) & known
        c = _group_sums(values, codes, m, n)
        s = c / pvalue
        hit = rule.met_array(s, c)
        req = hit & st.in_force
        cv.append(c)
        share.append(s)
        met.append(hit)
        required.append(req)
        listed.append(_group_sets(codes, comps, m & positive, n))
        trips |= m & positive & req[np.where(known, codes, 0)]
    ctrl = frame["controlled"].to_numpy(dtype=bool) & known
    cv_all = _group_sums(values, codes, ctrl, n)
    _refuse_controlled_above_value(frame, codes, ctrl, cv_all, pvalue)
    ids = list(uniques)
    nr = len(rules)
    by_rule = pd.DataFrame(
        {
            "product_id": [p for p in ids for _ in range(nr)],
            "rule_id": [r.id for r in rules] * n,
            "in_force": [s.in_force for s in statuses] * n,
            "controlled_value_usd": np.stack(cv, axis=1).ravel(),
            "share": np.stack(share, axis=1).ravel(),
            "threshold_share": [r.threshold_share for r in rules] * n,
            "comparison": [r.comparison for r in rules] * n,
            "threshold_met": np.stack(met, axis=1).ravel(),
            "licence_required": np.stack(required, axis=1).ravel(),
            "components": [listed[k][p] for p in range(n) for k in range(nr)],
        }
    )
    req_any = np.stack(required, axis=1)
    tripped = [[r.id for k, r in enumerate(rules) if row[k]] for row in req_any.tolist()]
    products = pd.DataFrame(
        {
            "product_id": ids,
            "product_value_usd": pvalue,
            "controlled_value_usd": cv_all,
            "share": cv_all / pvalue,
            "licence_required": [bool(t) for t in tripped],
            "tripping_components": _group_sets(codes, comps, trips & known, n),
            "rules": tripped,
            "controlled_components": _group_sets(codes, comps, ctrl & positive, n),
            "price_basis": _price_basis(
                frame["element"].to_numpy(dtype=object),
                frame["price_basis"].to_numpy(dtype=object),
                codes,
                ctrl,
                n,
            ),
        }
    )
    return by_rule, products


def _refuse_controlled_above_value(
    frame: pd.DataFrame, codes: Ints, ctrl: Bools, cv: Floats, pvalue: Floats
) -> None:
    """Controlled content cannot be worth more than the product (a share above 100%)."""
    over = np.flatnonzero((cv > pvalue) & (cv - pvalue > THRESHOLD_RTOL * cv))
    if not len(over):
        return
    g = int(over[0])
    rows = frame.loc[(codes == g) & ctrl & (frame["value_usd"].to_numpy(dtype=float) > 0)]
    running = rows["value_usd"].cumsum().to_numpy()
    at = rows.iloc[int(np.argmax(running > pvalue[g]))] if (running > pvalue[g]).any() else rows.iloc[-1]
    lines = [str(x) for x in rows["line"].head(6)]
    listed = ", ".join(lines[:5]) + (", ..." if len(lines) > 5 else "")
    first_line = frame["line"].to_numpy()[np.flatnonzero(codes == g)[0]]
    given = not math.isnan(float(at["element_value_usd"]))
    raise DataError(
        f"product {at['product_id']!r}: its controlled content is worth {cv[g]:,.6g} USD (lines {listed}), "
        f"above its product_value_usd of {pvalue[g]:,.6g} USD (line {first_line}); controlled content "
        "cannot exceed the product's value",
        path=frame.attrs.get("path"),
        line=int(at["line"]),
        column="element_value_usd" if given else "element_mass_kg",
        fix="check the units (product_value_usd is one product's value in USD, element_mass_kg is kg, "
        "not g, element_value_usd is USD) and that these rows belong to this product",
    )


def _price_basis(elements: Objects, bases: Objects, codes: Ints, ctrl: Bools, n: int) -> list[dict[str, str]]:
    """Per product, {element: "; "-joined sorted bases} over its controlled rows (elements in row order)."""
    g = codes[ctrl]
    ec, eu = pd.factorize(elements[ctrl])
    bc, bu = pd.factorize(bases[ctrl], sort=True)
    if not len(g) or (ec < 0).any() or (bc < 0).any() or len(bu) > 62:
        return _price_basis_loop(elements, bases, codes, ctrl, n)
    width = np.int64(len(eu))
    pair, pairs = pd.factorize(g.astype(np.int64) * width + ec)  # numbered in order of appearance
    bits = np.zeros(len(pairs), dtype=np.int64)
    np.bitwise_or.at(bits, pair, np.left_shift(np.int64(1), bc.astype(np.int64)))
    owner = np.asarray(pairs, dtype=np.int64) // width
    order = np.argsort(owner, kind="stable")
    labels = {int(m): "; ".join(str(bu[k]) for k in range(len(bu)) if m >> k & 1) for m in np.unique(bits)}
    names = np.asarray(eu, dtype=object)[np.asarray(pairs, dtype=np.int64)[order] % width].tolist()
    text = [labels[m] for m in bits[order].tolist()]
    ends = np.cumsum(np.bincount(owner, minlength=n))
    starts = np.concatenate(([0], ends[:-1]))
    return [
        dict(zip(names[a:b], text[a:b], strict=True))
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


def _price_basis_loop(
    elements: Objects, bases: Objects, codes: Ints, ctrl: Bools, n: int
) -> list[dict[str, str]]:
    acc: list[dict[Any, set[Any]]] = [{} for _ in range(n)]
    for g, e, b in zip(codes[ctrl].tolist(), elements[ctrl].tolist(), bases[ctrl].tolist(), strict=True):
        acc[g].setdefault(e, set()).add(b)
    return [{e: "; ".join(sorted(bs)) for e, bs in d.items()} for d in acc]
