"""The planning dataset: ex-China rare-earth projects and the economic instruments (issue 13).

:func:`load_economics` reads two package files under ``critmin/plan/data/`` and validates them
against the bundled source catalogue (``critmin/data/bundled/sources.yaml``):

* ``projects.csv``: one row per real ex-China project or plant (mining, light and heavy
  separation, metal/alloy, magnets) with capacity (t/yr), remaining capex (US$M), cash opex
  (US$/kg), a lead-time triangle (years from Jan 2027 to first output), ramp, status and
  co-financing terms; every row cites a ``source_id`` and states in ``assumption`` the rationale
  of every gap-filled field;
* ``instruments.yaml``: the real discount rate, stockpile holding costs, reference prices, the
  normal-times ex-China premium, the value of lost load by sector, sector shares and the 2026
  demand by region and product (derived, see below), each with ``source`` or ``assumption``.

Units and conventions
---------------------
* Capacities: ``ndpr_oxide`` rows in t/yr of NdPr oxide (mining: NdPr-oxide-equivalent in
  concentrate; metal/alloy: the oxide-equivalent of the metal or alloy they can make, a
  *conversion* capacity, not new oxide supply); ``dytb_oxide`` in t/yr Dy+Tb oxide;
  ``ndfeb_magnet`` in t/yr of magnets.
* ``opex_usd_per_kg``: cash cost of the stage per kg of its product, excluding the purchase of
  the upstream stage's product (a separation row that owns its mine includes mining).
* ``capex_musd``: capital still to spend from Jan 2027 (0 for operating plants).
* ``overlaps``: a project id whose flow this row is a step of (Lynas Kalgoorlie cracks Mt Weld
  concentrate): :meth:`Economics.stage_totals` leaves such rows out so nothing counts twice.
* ``capacity_stated_t_per_year`` and ``content_factor``: the capacity as the company states it
  and the share of it that is the row's product; ``capacity_t_per_year`` = stated x factor
  (within 0.5 t). Every Dy+Tb row gives both: company figures for "Dy and Tb oxides" can be
  heavy-RE baskets (Iluka 0.4, Caremag 0.5; the rationale is in ``assumption``); 1 where the
  capacity is already Dy+Tb content. Blank: the capacity is the product (factor 1).
* ``sim_project``: the simulator's pipeline project this row is (its name in
  ``critmin.simulate.chains.plants.plant_table`` or, for Dy+Tb, ``heavy.heavy_projects``), the
  one ``critmin plan --verify`` reschedules when the row is co-financed or floored; empty where
  the simulator's pipeline has none (base plants, or a project it lacks: the replay adds it).
* Demand 2026: the simulator's baseline magnet demand by region (2024, the network's
  ``demand0``) grown two years at 7%/yr; ``ndpr_oxide`` demand = magnets x 0.33 NdPr share x
  1.166 oxide/metal; ``dytb_oxide`` = magnets x 0.00966 t Dy+Tb per t (world 3,100 t over
  320,900 t). :attr:`Economics.feed_t_per_year` gives the same for the magnets each region
  *makes* (its makers' feed).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from critmin.data.dataset import load_sources
from critmin.errors import DataError, shown
from critmin.plan.projects_table import (  # the schema lives there; re-exported
    EXTRA_COLUMNS,
    PLAN_REGIONS,
    PRODUCTS,
    PROJECT_COLUMNS,
    SECTORS,
    STAGES,
    STATUSES,
    read_projects,
)
from critmin.simulate.inputs.yamlload import line_of, load_yaml


def _data_path(name: str) -> Path:
    return Path(str(resources.files("critmin.plan").joinpath("data", name)))


def _bundled_sources_path() -> Path:
    return Path(str(resources.files("critmin.data").joinpath("bundled", "sources.yaml")))


@dataclass(frozen=True)
class Economics:
    """The planning dataset (see the module docstring for units). Treat it as read-only: the
    default instance is cached and shared.

    ``demand_t_per_year`` and ``feed_t_per_year`` are keyed ``(region, product)`` over
    :data:`PLAN_REGIONS` x :data:`PRODUCTS`; ``sector_share`` maps every plan region to shares
    over :data:`SECTORS` summing to 1; ``sources`` maps a field name (``discount_rate``,
    ``price_usd_per_kg.ndpr_oxide``, ...) to a source id or ``"assumption: <rationale>"``.
    """

    projects: pd.DataFrame
    discount_rate: float
    holding_cost_usd_per_kg_year: Mapping[str, float]
    spot_premium: Mapping[str, float]
    price_usd_per_kg: Mapping[str, float]
    voll_usd_per_kg: Mapping[str, float]
    sector_share: Mapping[str, Mapping[str, float]]
    demand_t_per_year: Mapping[tuple[str, str], float]
    sources: Mapping[str, str]
    #: China-basis price of each product (US$/kg), the base of ``spot_premium``
    price_china_usd_per_kg: Mapping[str, float] = field(default_factory=dict)
    #: ex-China premium over the China price when China's supply is cut off (ratio - 1), by
    #: product (NdPr oxide only; :mod:`critmin.plan.oxide`)
    control_premium: Mapping[str, float] = field(default_factory=dict)
    #: (region, product) -> t/yr 2026 feed of the magnets the region *makes*
    feed_t_per_year: Mapping[tuple[str, str], float] = field(default_factory=dict)
    #: kg of NdFeB magnet one kg of the product makes (1 for magnets)
    kg_magnet_per_kg: Mapping[str, float] = field(default_factory=dict)
    #: 12-hex hash of the two data files (and the source catalogue)
    data_version: str = ""
    #: the files read (projects.csv, instruments.yaml)
    paths: tuple[str, str] = ("", "")

    def voll_for(self, sector: str, product: str) -> float:
        """Value of lost load in US$ per kg of ``product`` short for ``sector``: the sector's
        output at risk per kg of magnet times the kg of magnet a kg of the product makes."""
        if sector not in self.voll_usd_per_kg:
            raise DataError(
                f"unknown sector {shown(sector)}", column="sector", fix=f"use one of {', '.join(SECTORS)}"
            )
        if product not in self.kg_magnet_per_kg:
            raise DataError(
                f"unknown product {shown(product)}", column="product", fix=f"use one of {', '.join(PRODUCTS)}"
            )
        return self.voll_usd_per_kg[sector] * self.kg_magnet_per_kg[product]

    def project(self, project_id: str) -> pd.Series:
        """The row of ``project_id``; DataError naming the known ids' file when unknown."""
        hit = self.projects.loc[self.projects["project_id"] == project_id]
        if hit.empty:
            raise DataError(
                f"unknown project {shown(project_id)}",
                path=self.paths[0],
                column="project_id",
                fix="see the project_id column (e.g. " + ", ".join(self.projects["project_id"].head(3)) + ")",
            )
        return hit.iloc[0]

    def stage_totals(self) -> pd.DataFrame:
        """Per (stage, product): project count, capacity (t/yr), remaining capex (US$M), and the
        part not yet operating; rows that ``overlaps`` another are left out."""
        df = self.projects.loc[self.projects["overlaps"] == ""]
        new = df["status"] != "operating"
        out = (
            df.assign(
                new_capacity=df["capacity_t_per_year"].where(new, 0.0),
                new_count=new.astype(int),
            )
            .groupby(["stage", "product"], sort=False)
            .agg(
                projects=("project_id", "size"),
                capacity_t_per_year=("capacity_t_per_year", "sum"),
                pipeline_projects=("new_count", "sum"),
                pipeline_capacity_t_per_year=("new_capacity", "sum"),
                capex_musd=("capex_musd", "sum"),
            )
            .reset_index()
        )
        order = {s: i for i, s in enumerate(STAGES)}
        return out.sort_values(
            ["stage", "product"], key=lambda c: c.map(order) if c.name == "stage" else c
        ).reset_index(drop=True)

    def describe(self) -> str:
        """A short text summary: the pipeline by stage and the instruments."""
        lines = [f"{len(self.projects)} projects (data {self.data_version})"]
        for r in self.stage_totals().itertuples():
            lines.append(
                f"  {r.stage:<10} {r.product:<12} {r.projects:>3} rows, {r.capacity_t_per_year:>10,.0f} t/yr "
                f"({r.pipeline_projects} not operating: {r.pipeline_capacity_t_per_year:,.0f} t/yr), "
                f"capex US${r.capex_musd:,.0f}M"
            )
        lines.append(f"  discount rate {self.discount_rate:.1%} real")
        for p in PRODUCTS:
            lines.append(
                f"  {p:<12} price {self.price_usd_per_kg[p]:,.1f} US$/kg, "
                f"premium {self.spot_premium[p]:.0%}, "
                f"holding {self.holding_cost_usd_per_kg_year[p]:.2f} US$/kg-yr"
            )
        return "\n".join(lines)


# ---------------------------------------------------------------------------------- instruments
class _Doc:
    """instruments.yaml values with their lines, for one-line errors."""

    def __init__(self, path: Path, sources: Mapping[str, Any]) -> None:
        self.path = path
        self.sources = sources
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataError("file not found", path=path, fix="give the path of an instruments YAML") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(
                f"cannot read the file ({type(exc).__name__})", path=path, fix="save it as UTF-8 YAML"
            ) from None
        self.raw, self.root = load_yaml(text, path)
        if not isinstance(self.raw, dict):
            raise DataError(
                "instruments must be a YAML mapping",
                path=path,
                line=1,
                fix="see critmin/plan/data/instruments.yaml",
            )
        self.cited: dict[str, str] = {}

    def err(self, loc: tuple[Any, ...], msg: str, fix: str) -> DataError:
        return DataError(
            msg, path=self.path, line=line_of(self.root, loc), column=".".join(map(str, loc)), fix=fix
        )

    def node(self, *loc: str) -> Any:
        cur: Any = self.raw
        for i, k in enumerate(loc):
            if not isinstance(cur, dict) or k not in cur:
                raise self.err(
                    loc[:i] or loc[:1],
                    f"missing key {'.'.join(loc[: i + 1])!r}",
                    "see critmin/plan/data/instruments.yaml",
                )
            cur = cur[k]
        return cur

    def cite(self, name: str, loc: tuple[str, ...], item: Mapping[str, Any]) -> None:
        if "source" in item:
            sid = str(item["source"])
            if sid not in self.sources:
                raise self.err(
                    (*loc, "source"),
                    f"source {shown(sid)} is not in the bundled sources.yaml",
                    "add it there or cite another",
                )
            self.cited[name] = sid
        elif str(item.get("assumption") or "").strip():
            self.cited[name] = "assumption: " + " ".join(str(item["assumption"]).split())
        else:
            raise self.err(
                loc, "no source and no assumption", "add `source: <id>` or `assumption: <rationale>`"
            )

    def value(self, name: str, *loc: str, lo: float = -math.inf, hi: float = math.inf) -> float:
        item = self.node(*loc)
        if not isinstance(item, dict) or "value" not in item:
            raise self.err(loc, "expected a mapping with `value:`", "give value: plus source: or assumption:")
        v = item["value"]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise self.err((*loc, "value"), f"{shown(v)} is not a finite number", "give a number")
        if not lo <= v <= hi:
            raise self.err(
                (*loc, "value"), f"{v:g} is outside [{lo:g}, {hi:g}]", f"give a value in [{lo:g}, {hi:g}]"
            )
        self.cite(name, loc, item)
        return float(v)

    def by_key(
        self, name: str, section: str, keys: tuple[str, ...], *, lo: float, hi: float
    ) -> dict[str, float]:
        self.node(section)
        return {k: self.value(f"{name}.{k}", section, k, lo=lo, hi=hi) for k in keys}


def _regions_table(doc: _Doc, key: str) -> dict[str, float]:
    item = doc.node("demand", key)
    vals = item.get("values") if isinstance(item, dict) else None
    if not isinstance(vals, dict):
        raise doc.err(("demand", key), "expected `values: {REGION: t}`", "give one value per plan region")
    for r in PLAN_REGIONS:
        v = vals.get(r)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            raise doc.err(
                ("demand", key, "values", r),
                f"{r}: {shown(v)} is not a tonnage >= 0",
                f"give every region of {', '.join(PLAN_REGIONS)}",
            )
    extra = [r for r in vals if r not in PLAN_REGIONS]
    if extra:
        raise doc.err(
            ("demand", key, "values", extra[0]),
            f"unknown region {shown(extra[0])}",
            f"use {', '.join(PLAN_REGIONS)}",
        )
    doc.cite(f"demand.{key}", ("demand", key), item)
    return {r: float(vals[r]) for r in PLAN_REGIONS}


def _sector_shares(doc: _Doc) -> dict[str, dict[str, float]]:
    item = doc.node("sector_share")
    world = item.get("world") if isinstance(item, dict) else None
    if not isinstance(world, dict) or set(world) != set(SECTORS):
        raise doc.err(
            ("sector_share", "world"), "expected one share per sector", f"give {', '.join(SECTORS)}"
        )
    for s in SECTORS:
        v = world[s]
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
            raise doc.err(
                ("sector_share", "world", s), f"{shown(v)} is not a share in [0, 1]", "give a fraction"
            )
    total = sum(float(world[s]) for s in SECTORS)
    if abs(total - 1.0) > 1e-6:
        raise doc.err(("sector_share", "world"), f"shares sum to {total:.4f}, not 1", "make them sum to 1")
    doc.cite("sector_share", ("sector_share",), item)
    return {r: {s: float(world[s]) for s in SECTORS} for r in PLAN_REGIONS}


def read_instruments(path: Path | str, sources: Mapping[str, Any]) -> dict[str, Any]:
    """The validated instruments of ``path`` as keyword arguments of :class:`Economics`."""
    doc = _Doc(Path(path), sources)
    out: dict[str, Any] = {"discount_rate": doc.value("discount_rate", "discount_rate", lo=0.0, hi=0.25)}
    out["holding_cost_usd_per_kg_year"] = doc.by_key(
        "holding_cost_usd_per_kg_year", "holding_cost_usd_per_kg_year", PRODUCTS, lo=0.0, hi=1e4
    )
    out["price_usd_per_kg"] = doc.by_key("price_usd_per_kg", "price_usd_per_kg", PRODUCTS, lo=1e-3, hi=1e5)
    out["price_china_usd_per_kg"] = doc.by_key(
        "price_china_usd_per_kg", "price_china_usd_per_kg", PRODUCTS, lo=1e-3, hi=1e5
    )
    out["spot_premium"] = doc.by_key("spot_premium", "spot_premium", PRODUCTS, lo=-0.5, hi=5.0)
    out["control_premium"] = {
        "ndpr_oxide": doc.value(
            "control_premium.ndpr_oxide", "control_premium", "ndpr_oxide", lo=0.0, hi=10.0
        )
    }
    out["voll_usd_per_kg"] = doc.by_key("voll_usd_per_kg", "voll_usd_per_kg", SECTORS, lo=0.0, hi=1e8)
    out["sector_share"] = _sector_shares(doc)
    share = doc.value(
        "conversion.ndpr_share_of_magnet", "conversion", "ndpr_share_of_magnet", lo=0.05, hi=0.6
    )
    ox_metal = doc.value("conversion.oxide_per_metal", "conversion", "oxide_per_metal", lo=1.0, hi=1.5)
    dytb = doc.value("conversion.dytb_per_t_magnet", "conversion", "dytb_per_t_magnet", lo=1e-4, hi=0.1)
    growth = doc.value("demand.growth_per_year", "demand", "growth_per_year", lo=-0.5, hi=1.0)
    base, year = doc.node("demand", "base_year"), doc.node("demand", "year")
    if not (isinstance(base, int) and isinstance(year, int) and 2000 <= base <= year <= 2100):
        raise doc.err(
            ("demand", "year"),
            f"years {shown(base)} -> {shown(year)} are not base_year <= year",
            "give integer years, e.g. 2024 and 2026",
        )
    grow = (1.0 + growth) ** (year - base)
    per_magnet = {"ndfeb_magnet": 1.0, "ndpr_oxide": share * ox_metal, "dytb_oxide": dytb}
    out["kg_magnet_per_kg"] = {p: 1.0 / per_magnet[p] for p in PRODUCTS}
    for key, attr in (("magnet_2024_t", "demand_t_per_year"), ("makers_2024_t", "feed_t_per_year")):
        mag = _regions_table(doc, key)
        out[attr] = {(r, p): mag[r] * grow * per_magnet[p] for r in PLAN_REGIONS for p in PRODUCTS}
    out["sources"] = dict(doc.cited)
    return out


def _version(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def load_economics(
    projects_path: Path | str | None = None,
    instruments_path: Path | str | None = None,
    *,
    sources_path: Path | str | None = None,
) -> Economics:
    """The planning dataset: the package's files by default (cached: one shared instance), or
    the given paths (read afresh on every call).

    Raises :class:`critmin.errors.DataError` (file, line, column, fix) on the first bad row,
    cell or key; every ``source_id`` must be a key of the bundled ``sources.yaml``.
    """
    pp = Path(projects_path) if projects_path is not None else _data_path("projects.csv")
    ip = Path(instruments_path) if instruments_path is not None else _data_path("instruments.yaml")
    sp = Path(sources_path) if sources_path is not None else _bundled_sources_path()
    if projects_path is None and instruments_path is None and sources_path is None:
        return _default(pp, ip, sp)
    return _load(pp, ip, sp)


@cache
def _default(pp: Path, ip: Path, sp: Path) -> Economics:
    return _load(pp, ip, sp)


@cache
def _catalogue(sp: Path, stamp: tuple[int, int]) -> Mapping[str, Any]:
    """The source catalogue at ``sp``, cached per (mtime, size) ``stamp``."""
    del stamp
    try:
        return load_sources(sp)
    except yaml.YAMLError as exc:
        raise DataError(f"not valid YAML: {exc}", path=sp, fix="check the catalogue") from None


def _load(pp: Path, ip: Path, sp: Path) -> Economics:
    try:
        st = sp.stat()
    except OSError:
        raise DataError("file not found", path=sp, fix="give the path of a sources.yaml") from None
    sources = _catalogue(sp, (st.st_mtime_ns, st.st_size))
    projects = read_projects(pp, sources)
    inst = read_instruments(ip, sources)
    return Economics(projects=projects, data_version=_version(pp, ip, sp), paths=(str(pp), str(ip)), **inst)


__all__ = [
    "EXTRA_COLUMNS",
    "PLAN_REGIONS",
    "PRODUCTS",
    "PROJECT_COLUMNS",
    "SECTORS",
    "STAGES",
    "STATUSES",
    "Economics",
    "load_economics",
    "read_instruments",
    "read_projects",
]
