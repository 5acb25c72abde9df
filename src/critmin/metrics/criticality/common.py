"""What the EU and USGS criticality methods share: the result type, the defaults loader and the
supply cross-section (see :mod:`critmin.metrics.criticality` for the methods)."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd

from critmin import yamlio
from critmin.data.dataset import Dataset, with_shares
from critmin.errors import DataError
from critmin.jsonsafe import json_safe
from critmin.model.commodities import registry
from critmin.model.countries import is_country
from critmin.model.stages import Stage

DEFAULTS_FILE = "criticality_defaults.yaml"
#: Prefix of ``source_ids`` entries that point at a source cited in the defaults file.
DEFAULTS_SOURCE_PREFIX = "criticality_defaults:"
STATUS_OK = "ok"
STATUS_INSUFFICIENT = "insufficient data"

#: How an input was obtained (values of ``input_basis``).
BASIS_DATA = "data"
BASIS_USER = "user"
BASIS_PUBLISHED = "published"
BASIS_DEFAULT = "default"
#: Bases that make an input "assumed" (not computed from the bundled data nor given by the user).
ASSUMED_BASES = frozenset({BASIS_PUBLISHED, BASIS_DEFAULT})


class CriticalityMethod(StrEnum):
    """The criticality method of a :class:`CriticalityResult`."""

    EU = "eu"
    USGS = "usgs"


@dataclass(frozen=True)
class CriticalityResult:
    """Output of a criticality assessment.

    ``table`` has one row per commodity: ``commodity``, ``stage``, ``year``, ``status``,
    ``reason``, the method's scores (EU: ``sr``, ``ei``, ``critical``, ``quadrant``; USGS:
    ``score``, ``rank``), their components, ``assumed_inputs`` (list of input names taken from
    the defaults file), ``input_basis`` (input -> data/user/published/default) and
    ``source_ids``. ``params`` are the resolved parameters (defaults merged with overrides).
    """

    method: CriticalityMethod
    table: pd.DataFrame
    data_version: str
    params: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: method, data_version, params and ``rows`` (NaN/NA -> None)."""
        rows = [json_safe(r) for r in self.table.to_dict(orient="records")]
        return {
            "method": self.method.value,
            "data_version": self.data_version,
            "params": json_safe(dict(self.params)),
            "rows": rows,
        }


# ---------------------------------------------------------------------------------- defaults
_DEFAULT_KEYS = ("value", "rationale", "source")


@cache
def _load_defaults_cached() -> dict[str, Any]:
    path = resources.files("critmin.data").joinpath(DEFAULTS_FILE)
    raw = yamlio.safe_load(path.read_text("utf-8"))
    if not isinstance(raw, dict):
        raise DataError("criticality defaults must be a YAML mapping", path=DEFAULTS_FILE)
    validate_defaults(raw)
    return raw


def load_defaults() -> dict[str, Any]:
    """The parsed ``criticality_defaults.yaml`` (a fresh deep copy; validated once).

    Validation: every mapping with a ``value`` also has a ``rationale`` and a ``source`` that
    is a key of ``sources``; published EU 2023 fractions lie in [0, 1] and name registry ids.
    """
    return copy.deepcopy(_load_defaults_cached())


def validate_defaults(raw: Mapping[str, Any]) -> None:
    sources = raw.get("sources") or {}

    def walk(node: Any, where: str) -> None:
        if isinstance(node, Mapping):
            if "value" in node:
                for k in _DEFAULT_KEYS:
                    if k not in node:
                        raise DataError(
                            f"default {where!r} has no {k!r}",
                            path=DEFAULTS_FILE,
                            column=where,
                            fix="every default value needs a rationale and a source",
                        )
            if "source" in node and isinstance(node["source"], str) and node["source"] not in sources:
                raise DataError(
                    f"{where!r} cites unknown source {node['source']!r}",
                    path=DEFAULTS_FILE,
                    column=where,
                    fix="add it under `sources:`",
                )
            for k, v in node.items():
                walk(v, f"{where}.{k}" if where else str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")

    walk({k: v for k, v in raw.items() if k != "sources"}, "")
    ids = set(registry().ids)
    published = raw.get("eu", {}).get("published", {}).get("materials", {}) or {}
    for cid, vals in published.items():
        if cid not in ids:
            raise DataError(f"published values for unknown commodity {cid!r}", path=DEFAULTS_FILE)
        for k in ("ir", "eol_rir", "si_sr", "si_ei"):
            v = vals.get(k)
            if v is not None and not 0.0 <= float(v) <= 1.0:
                raise DataError(
                    f"{cid}.{k} = {v} is not a fraction in [0, 1]",
                    path=DEFAULTS_FILE,
                    column=f"eu.published.materials.{cid}.{k}",
                    fix="write fractions, not percent",
                )
        ei = vals.get("ei")
        if ei is not None and not 0.0 <= float(ei) <= 10.0:
            raise DataError(f"{cid}.ei = {ei} is outside 0-10", path=DEFAULTS_FILE)


def defaults_source_id(key: str) -> str:
    """``source_ids`` entry for source ``key`` of the defaults file."""
    return f"{DEFAULTS_SOURCE_PREFIX}{key}"


# ---------------------------------------------------------------------------------- supply
@dataclass(frozen=True)
class Supply:
    """One commodity's country shares at its assessed stage and year (or why there are none).

    ``shares`` maps ISO3 countries to fractions of the world total; residual rows (``OTH``,
    ``ROW``, country groups) are left out of ``shares`` and summed in ``residual_share``.
    """

    commodity: str
    stage: str | None
    year: int | None
    stage_basis: str
    stage_rationale: str
    shares: Mapping[str, float]
    residual_share: float
    source_ids: tuple[str, ...]
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when there are country shares to assess."""
        return self.reason is None


class SupplyIndex:
    """The dataset's resolved production rows, with world shares, sliced by commodity.

    Built once per assessment from :meth:`Dataset.resolved` and
    :func:`critmin.data.dataset.with_shares` (the same resolution and share rules as
    :meth:`Dataset.production` and :meth:`Dataset.shares`, computed in one pass).
    """

    def __init__(self, ds: Dataset) -> None:
        resolved = ds.resolved("production")
        shared = with_shares(resolved)
        empty = resolved.iloc[0:0]
        self._rows: dict[str, pd.DataFrame] = {str(k): g for k, g in resolved.groupby("commodity")}
        self._shares: dict[str, pd.DataFrame] = {str(k): g for k, g in shared.groupby("commodity")}
        self._empty = empty
        self._empty_shares = shared.iloc[0:0]

    def rows(self, commodity: str, stage: Stage | str) -> pd.DataFrame:
        """Resolved production rows of one commodity and stage, all years."""
        df = self._rows.get(commodity, self._empty)
        return df.loc[df["stage"] == Stage(stage).value]

    def latest_year(self, commodity: str, stage: Stage | str) -> int | None:
        """Latest year with a non-missing value (as :meth:`Dataset.latest_year`)."""
        df = self.rows(commodity, stage)
        df = df.loc[df["value"].notna()]
        return int(df["year"].max()) if len(df) else None

    def shares(self, commodity: str, stage: Stage | str, year: int) -> pd.DataFrame:
        """Rows of one cross-section with ``share`` (as :meth:`Dataset.shares`)."""
        df = self._shares.get(commodity, self._empty_shares)
        return df.loc[(df["stage"] == Stage(stage).value) & (df["year"] == int(year))]


def assessed_stage(
    index: SupplyIndex,
    commodity: str,
    overrides: Mapping[str, Stage],
    defaults: Mapping[str, Any],
) -> tuple[Stage | None, str, str]:
    """The stage to assess ``commodity`` at: ``(stage, basis, rationale)``.

    A user override wins, then ``common.assessed_stage`` of the defaults file, then the rule
    ``common.stage_rule``: the first of mining, separation, metal_alloy in the commodity's chain
    with production values (mining for ores, refining for refined materials). When no stage has
    values the first stage of the rule in the chain is returned, for the report.
    """
    c = registry().get(commodity)
    if c.id in overrides:
        st = Stage(overrides[c.id])
        return st, BASIS_USER, "stage passed in params"
    common = defaults.get("common", {})
    fixed = (common.get("assessed_stage") or {}).get(c.id)
    if fixed:
        return Stage(fixed["stage"]), BASIS_DEFAULT, str(fixed.get("rationale", ""))
    rule = [Stage(s) for s in common.get("stage_rule", ["mining", "separation", "metal_alloy"])]
    in_chain = [s for s in rule if c.has_stage(s)]
    for st in in_chain:
        if index.latest_year(c.id, st) is not None:
            return st, BASIS_DATA, f"first stage of {[s.value for s in rule]} with production values"
    if in_chain:
        return in_chain[0], BASIS_DATA, "no stage of the chain has production values"
    chain = [s.value for s in c.stages]
    return None, BASIS_DATA, f"the chain {chain} has none of {[s.value for s in rule]}"


def supply_cross_section(
    index: SupplyIndex,
    commodity: str,
    *,
    year: int | None,
    stage_overrides: Mapping[str, Stage],
    defaults: Mapping[str, Any],
) -> Supply:
    """Country shares of ``commodity`` at its assessed stage (see :func:`assessed_stage`).

    ``year=None`` takes the latest year with values at that stage. Returns a :class:`Supply`
    with a ``reason`` (and no shares) when the data do not allow an assessment: no stage,
    every value withheld or not available, no data in ``year``, only a world total, or no
    world total.
    """
    c = registry().get(commodity)
    st, basis, why = assessed_stage(index, c.id, stage_overrides, defaults)
    stage_name = st.value if st else None

    def fail(reason: str, y: int | None = None, ids: Iterable[str] = ()) -> Supply:
        return Supply(c.id, stage_name, y, basis, why, {}, math.nan, tuple(sorted(set(ids))), reason)

    if st is None:
        return fail(f"no assessable stage: {why}")
    rows = index.rows(c.id, st)
    latest = index.latest_year(c.id, st)
    if latest is None:
        if rows.empty:
            return fail(f"no {st.value} production rows for {c.id} in the bundled dataset")
        quals = ", ".join(sorted(set(rows["qualifier"])))
        span = f"{rows['year'].min()}-{rows['year'].max()}"
        return fail(
            f"every {st.value} production value for {c.id} is missing (qualifiers: {quals}; years {span})",
            ids=rows["source_id"],
        )
    y = latest if year is None else int(year)
    in_year = rows.loc[rows["year"] == y]
    sh = index.shares(c.id, st, y)
    if in_year["value"].notna().sum() == 0:
        return fail(
            f"no {st.value} production values for {c.id} in {y} (latest year with values: {latest})", y
        )
    ids = tuple(sorted(set(in_year["source_id"])))
    if sh.empty:
        return fail(f"only a world total is given for {c.id} {st.value} {y} (no country rows)", y, ids)
    mask = sh["country"].map(is_country).astype(bool).to_numpy()
    countries = sh.loc[mask & sh["share"].notna().to_numpy()]
    if countries.empty:
        return fail(f"no world total for {c.id} {st.value} {y}: country shares undefined", y, ids)
    by_country = countries.groupby("country")["share"].sum()
    residual = float(sh.loc[~mask, "share"].sum(skipna=True))
    shares = {str(k): float(v) for k, v in by_country.items()}
    return Supply(c.id, st.value, y, basis, why, shares, residual, ids)


def stage_inputs(supply: Supply, defaults: Mapping[str, Any]) -> tuple[dict[str, str], list[str], list[str]]:
    """Input basis, sources and notes for the stage choice of ``supply``.

    A stage fixed by the defaults file is an assumed input (``stage``: default) citing that
    entry's source; a stage passed by the user has basis ``user``; the data-driven rule adds
    nothing.
    """
    basis: dict[str, str] = {}
    sources: list[str] = []
    notes: list[str] = []
    if supply.stage_basis in (BASIS_USER, BASIS_DEFAULT):
        basis["stage"] = supply.stage_basis
        notes.append(f"stage: {supply.stage_rationale}")
    if supply.stage_basis == BASIS_DEFAULT:
        entry = (defaults.get("common", {}).get("assessed_stage") or {}).get(supply.commodity, {})
        if entry.get("source"):
            sources.append(defaults_source_id(str(entry["source"])))
    return basis, sources, notes


def governance(
    shares: Mapping[str, float],
    wgi: pd.Series,
    defaults: Mapping[str, Any],
) -> tuple[dict[str, float], list[str], list[str]]:
    """Scaled WGI (0-10, 10 worst) for each country in ``shares``.

    Countries without a WGI score take their governing state's score (``common.wgi.proxy``) or
    the documented midpoint (``common.wgi.missing_default``); both are returned as assumed-input
    labels (``wgi:NCL->FRA``, ``wgi:XXX=default``) with the defaults-file sources they cite.
    """
    cfg = defaults.get("common", {}).get("wgi", {})
    proxy = cfg.get("proxy") or {}
    missing = cfg.get("missing_default") or {}
    out: dict[str, float] = {}
    assumed: list[str] = []
    srcs: list[str] = []
    for c in shares:
        if c in wgi.index and not pd.isna(wgi[c]):
            out[c] = float(wgi[c])
            continue
        p = proxy.get(c)
        if p and p.get("country") in wgi.index:
            out[c] = float(wgi[p["country"]])
            assumed.append(f"wgi:{c}->{p['country']}")
            srcs.append(defaults_source_id(str(p.get("source", "critmin"))))
        else:
            out[c] = float(missing.get("value", 5.0))
            assumed.append(f"wgi:{c}=default")
            srcs.append(defaults_source_id(str(missing.get("source", "critmin"))))
    return out, assumed, srcs


def wgi_source_ids(ds: Dataset, year: int | None) -> list[str]:
    """Source ids of the WGI rows of ``year`` (latest when None)."""
    w = ds.table("wgi")
    if w.empty:
        return []
    y = int(w["year"].max()) if year is None else int(year)
    return sorted(set(w.loc[w["year"] == y, "source_id"]))


def default_commodities(ds: Dataset) -> list[str]:
    """Registry ids with at least one production row (any stage), in registry order."""
    prod = ds.table("production")
    have = set(prod.loc[prod["measure"] == "production", "commodity"])
    return [c for c in registry().ids if c in have]


def concentration_columns(shares: Mapping[str, float]) -> dict[str, Any]:
    """HHI (0-10,000), top country, its share and the share the listed countries cover."""
    from critmin.metrics.concentration import hhi

    if not shares:
        return {"hhi": math.nan, "top_country": None, "top_share": math.nan, "share_covered": math.nan}
    top = max(shares, key=lambda k: shares[k])
    return {
        "hhi": hhi(shares.values()),
        "top_country": top,
        "top_share": shares[top],
        "share_covered": float(sum(shares.values())),
    }


def assumed_from_basis(basis: Mapping[str, str], extra: Iterable[str] = ()) -> list[str]:
    """Input names whose basis is published or default, then ``extra`` labels, de-duplicated."""
    out = [k for k, b in basis.items() if b in ASSUMED_BASES]
    for e in extra:
        if e not in out:
            out.append(e)
    return out
