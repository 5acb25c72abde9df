"""Single-chain commodity models: gallium, germanium, graphite, antimony, tungsten.

The engine (:mod:`critmin.simulate.engine.step`) runs any chain of K >= 1 stages whose last stage's
product is consumed by users. The rare-earth chain (K = 4, magnets) is built by
:func:`critmin.simulate.chains.network.build_network`; the chains here are built from the same bundled
data by :func:`build_chain_network`, on the spec in ``simulate/chains/chains.yaml``:

* ``share[k, r]``: region r's share of world output at stage k, from the production table of
  the spec's year (:func:`critmin.trace.country.stage_vector`, the exposure stage choice), or
  the spec's labelled ``shares`` where the dataset has none (germanium refining, antimony
  refining);
* ``volume[k]``: world output per month (t), the published world total / 12 (every stage of a
  chain is counted in the same tonnes, so conversions are 1);
* ``demand0[r]`` (t/month): world volume x demand share d_r, with d_US = USGS US primary demand /
  world output (salient statistics), d_CHN an assumption per chain, and the rest split over the
  other regions by the weights of ``assumption:sim-chain-demand-weights``;
* ``ship[k]``: each region first supplies itself, min(s_r, n_r), and the surplus s_i - own_i
  goes to the deficits n_j - own_j pro rata (:func:`balanced_shipping`), where n is the next
  stage's input need (or, for the last stage, demand). The flows then satisfy both the output
  and the need exactly (sum of surpluses = sum of deficits when totals are equal).

Every stage-vector source, the salient rows used and the assumptions are reported with the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import TypeAdapter

from critmin import yamlio
from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.simulate.chains.network import (
    EXPORT_WEIGHTS,
    EXPORT_WEIGHTS_ASSUMPTION,
    ChainBuild,
    Network,
    china_origin_shares,
    region_of,
    to_regions,
)
from critmin.simulate.chains.registry import chain_info
from critmin.simulate.inputs.params import Value
from critmin.trace.country import stage_vector

F = npt.NDArray[np.float64]
DEMAND_WEIGHTS_ASSUMPTION = "assumption:sim-chain-demand-weights"
DYNAMICS_ASSUMPTION = "assumption:sim-chain-dynamics"
APPROVAL_ASSUMPTION = "assumption:sim-chain-approval"
_PARAMS: TypeAdapter[dict[str, Value]] = TypeAdapter(dict[str, Value])
_PROJECT_COLUMNS = ("project", "stage", "region", "capacity_t_month", "start_year", "source_id")


@dataclass(frozen=True)
class ChainSpec:
    """One chain of ``chains.yaml`` (see the file's header for the keys)."""

    id: str
    name: str
    product: str
    stages: tuple[str, ...]
    year: int
    us_demand: dict[str, Any]
    price: dict[str, Any]
    china_demand_share: float
    china_demand_assumption: str
    shares: dict[str, Any] | None
    parameters: dict[str, Value]


@cache
def _raw() -> dict[str, Any]:
    text = resources.files("critmin.simulate.chains").joinpath("chains.yaml").read_text("utf-8")
    raw: dict[str, Any] = yamlio.safe_load(text)
    return raw


def chain_spec(commodity: str) -> ChainSpec:
    """The spec of a single-stage-family chain (not ``rare_earths``)."""
    chains = _raw()["chains"]
    if commodity not in chains:
        raise DataError(
            f"no single-chain model for {commodity!r}",
            column="commodities",
            fix=f"use one of {', '.join(chains)}",
        )
    c = chains[commodity]
    cds = c["china_demand_share"]
    return ChainSpec(
        id=commodity,
        name=str(c["name"]),
        product=chain_info(commodity).product,
        stages=tuple(c["stages"]),
        year=int(c["year"]),
        us_demand=dict(c["us_demand"]),
        price=dict(c["price"]),
        china_demand_share=float(cds["value"]),
        china_demand_assumption=str(cds["assumption"]),
        shares=c.get("shares"),
        parameters=_PARAMS.validate_python(c.get("parameters") or {}),
    )


def own_parameters(chain_id: str) -> dict[str, Value]:
    """The registry's hook: the chain's ``parameters`` in ``chains.yaml``."""
    return chain_spec(chain_id).parameters


def chain_assumptions() -> list[dict[str, str]]:
    """The labelled assumptions of ``chains.yaml`` (id, title, rationale)."""
    return list(_raw()["assumptions"])


def balanced_shipping(supply: F, need: F) -> F:
    """[R, R] shipping shares: domestic first, then surpluses to deficits pro rata.

    own_r = min(s_r, n_r); surplus S_i = s_i - own_i; deficit D_j = n_j - own_j;
    flow_ij = own_i [i = j] + S_i D_j / sum(D). ``need`` is scaled to the total of ``supply``
    first, so every row's flows add up to its output (rows of the result sum to 1; a region
    without output ships to itself). Then sum_i flow_ij = n_j exactly.
    """
    s = np.asarray(supply, dtype=np.float64)
    n = np.asarray(need, dtype=np.float64)
    if s.shape != n.shape or s.ndim != 1:
        raise DataError(f"supply {s.shape} and need {n.shape} must be vectors of one length", column="shares")
    if not (np.isfinite(s).all() and np.isfinite(n).all()):
        raise DataError("supply and need must be finite", column="shares", fix="replace NaN/inf shares")
    if (s < 0).any() or (n < 0).any() or s.sum() <= 0 or n.sum() <= 0:
        raise DataError("supply and need must be non-negative with positive totals", column="shares")
    if not np.isfinite(s.sum() / n.sum()):
        raise DataError("supply and need totals differ too much to rescale", column="shares")
    n = n * (s.sum() / n.sum())
    own = np.minimum(s, n)
    surplus = s - own
    deficit = n - own
    d_tot = deficit.sum()
    flows = np.diag(own)
    if d_tot > 0:
        flows = flows + np.outer(surplus, deficit / d_tot)
    out = flows.sum(axis=1, keepdims=True)
    return np.divide(flows, out, out=np.eye(len(s)), where=out > 0)


def us_salient(ds: Dataset, commodity: str, item: str, year: int) -> tuple[float, str, str]:
    """One US salient figure (value, unit, source id): the latest vintage that has it."""
    s = ds.table("salient")
    rows = s.loc[
        (s["commodity"] == commodity) & (s["country"] == "USA") & (s["item"] == item) & (s["year"] == year)
    ]
    rows = rows.loc[rows["value"].notna()].sort_values("vintage")
    if rows.empty:
        raise DataError(
            f"no US salient figure {item!r} for {commodity} in {year}",
            column="us_demand",
            fix="change the item or year in simulate/chains/chains.yaml",
        )
    r = rows.iloc[-1]
    return float(r["value"]), str(r["unit"]), str(r["source_id"])


def _tonnes(value: float, unit: str, what: str) -> float:
    factor = {"t": 1.0, "kg": 1e-3}.get(unit)
    if factor is None:
        raise DataError(
            f"unit {unit!r} of {what} is not a mass", column="us_demand", fix="use a t or kg item"
        )
    return value * factor


def _world_and_shares(
    ds: Dataset, spec: ChainSpec, stage: str, regions: tuple[str, ...], *, world_needed: bool
) -> tuple[float, F, set[str], set[str]]:
    """World output (t/yr; 0 unless ``world_needed``) and region shares at one stage, with
    source and assumption ids."""
    given = (spec.shares or {}).get(stage)
    if given is not None:
        vec = pd.Series(given["countries"], dtype=float)
        if world_needed and "world_t_per_year" not in given:
            raise DataError(
                f"{spec.id}: labelled shares of the first stage need world_t_per_year",
                column=f"shares.{stage}",
                fix="add world_t_per_year in simulate/chains/chains.yaml",
            )
        return (
            float(given["world_t_per_year"]) if world_needed else 0.0,
            to_regions(vec / vec.sum(), regions),
            set(),
            {str(given["assumption"])},
        )
    vec, src, ass = stage_vector(ds, stage, spec.year, commodity=spec.id)
    if not world_needed:
        return 0.0, to_regions(vec, regions), set(src), set(ass)
    prod = ds.production(spec.id, stage, spec.year)
    world = prod.loc[(prod["country"] == "WLD") & prod["value"].notna()]
    if world.empty:
        raise DataError(
            f"no world total for {spec.id} at {stage} in {spec.year}",
            column="year",
            fix="pick a year with a published world total in simulate/chains/chains.yaml",
        )
    row = world.iloc[0]
    return (
        _tonnes(float(row["value"]), str(row["unit"]), "world output"),
        to_regions(vec, regions),
        set(src) | {str(row["source_id"])},
        set(ass),
    )


def build(ds: Dataset, chain_id: str, regions: tuple[str, ...], values: Mapping[str, Value]) -> ChainBuild:
    """The registry's builder: the chain's network, valued at its USGS price (``values`` are
    not used: a single chain's network depends on the data only)."""
    del values
    usd_kg, price_src = chain_value_usd_per_kg(ds, chain_id)
    return ChainBuild(
        network=build_chain_network(ds, chain_id, regions), usd_per_kg=usd_kg, source_ids=(price_src,)
    )


def build_chain_network(ds: Dataset, commodity: str, regions: tuple[str, ...]) -> Network:
    """Baseline network of a single chain (see the module docstring)."""
    spec = chain_spec(commodity)
    r_n = len(regions)
    if "CHN" not in regions:
        raise DataError("regions must include CHN", column="regions", fix="add CHN to the regions")
    c = regions.index("CHN")
    k_n = len(spec.stages)
    share = np.zeros((k_n, r_n))
    sources: set[str] = set()
    assumptions: set[str] = {
        DEMAND_WEIGHTS_ASSUMPTION,
        EXPORT_WEIGHTS_ASSUMPTION,
        DYNAMICS_ASSUMPTION,
        APPROVAL_ASSUMPTION,
        spec.china_demand_assumption,
    }
    world = 0.0  # t/yr
    for k, st in enumerate(spec.stages):
        # one tonnage along the chain (conversions 1): the first stage's world output
        w_k, share[k], src, ass = _world_and_shares(ds, spec, st, regions, world_needed=k == 0)
        sources |= src
        assumptions |= ass
        world = w_k if k == 0 else world
    # US primary demand from the salient statistics.
    year = int(spec.us_demand["year"])
    us_t = 0.0
    for sign, items in ((1.0, spec.us_demand.get("items", [])), (-1.0, spec.us_demand.get("minus", []))):
        for item in items:
            v, unit, sid = us_salient(ds, commodity, item, year)
            us_t += sign * _tonnes(v, unit, item)
            sources.add(sid)
    d = np.zeros(r_n)
    d[c] = spec.china_demand_share
    if "USA" in regions:
        d[regions.index("USA")] = max(us_t, 0.0) / world
    rest = 1.0 - d.sum()
    if rest < 0:
        raise DataError(
            f"{commodity}: China's share plus US demand exceed world output ({1 - rest:.2f})",
            column="china_demand_share",
            fix="lower china_demand_share in simulate/chains/chains.yaml",
        )
    w = np.array([0.0 if r in ("CHN", "USA") else EXPORT_WEIGHTS.get(r, 0.0) for r in regions])
    if w.sum() <= 0:  # only CHN/USA (and regions without a weight): the rest goes to ROW
        w[regions.index("ROW")] = 1.0
    d += rest * w / w.sum()
    ship = np.zeros((k_n, r_n, r_n))
    for k in range(k_n):
        need = share[k + 1] if k + 1 < k_n else d
        ship[k] = balanced_shipping(share[k], need)
    monthly = world / 12.0
    volume = np.full(k_n, monthly)
    demand0 = (share[-1] * monthly) @ ship[-1]
    projects = pd.DataFrame({col: pd.Series(dtype=float) for col in _PROJECT_COLUMNS})
    via_share, via_hub, route_ids = chain_routes(commodity, regions, k_n)
    sources |= route_ids[0]
    assumptions |= route_ids[1]
    return Network(
        regions=regions,
        share=share,
        ship=ship,
        volume=volume,
        demand0=demand0,
        china_origin=china_origin_shares(share, ship, c),
        projects=projects.astype({"stage": int, "region": int, "project": object, "source_id": object}),
        source_ids=tuple(sorted(sources)),
        assumption_ids=tuple(sorted(assumptions)),
        stages=spec.stages,
        commodity=commodity,
        product=spec.product,
        extraterritorial_from=1,
        via_share=via_share,
        via_hub=via_hub,
    )


@cache
def _trade_raw() -> dict[str, Any]:
    text = resources.files("critmin.simulate.chains").joinpath("trade.yaml").read_text("utf-8")
    raw: dict[str, Any] = yamlio.safe_load(text)
    return raw


def chain_routes(
    commodity: str, regions: tuple[str, ...], k_n: int
) -> tuple[F, npt.NDArray[np.intp], tuple[set[str], set[str]]]:
    """The chain's third-country routes (``routes`` in simulate/chains/trade.yaml).

    Returns ([K, R] via shares, set at the last stage, the users' product; [R] hub region of
    each destination, ROW where none is given; (source ids, assumption ids)). A destination or
    hub outside the run's regions falls into its model region (EU members into EU27, others
    into ROW); a route whose destination is its own hub is dropped (nothing to reroute).
    """
    r_n = len(regions)
    via = np.zeros((k_n, r_n))
    rest = regions.index("ROW") if "ROW" in regions else regions.index("CHN")
    hub = np.full(r_n, rest, dtype=np.intp)
    src: set[str] = set()
    ass: set[str] = set()
    for dest, route in (_trade_raw().get("routes", {}).get(commodity) or {}).items():
        v = float(route["via_share"])
        if not 0.0 <= v <= 1.0:
            raise DataError(
                f"{commodity}: via_share {v} for {dest} is not a fraction",
                column="routes.via_share",
                fix="use a share in [0, 1] in simulate/chains/trade.yaml",
            )
        j = regions.index(region_of(str(dest), regions))
        h = regions.index(region_of(str(route["hub"]), regions))
        if h == j or regions[j] == "CHN" or regions[h] == "CHN":
            continue
        via[-1, j], hub[j] = v, h
        src.add(str(route["source"]))
        ass.add(str(route["assumption"]))
    return via, hub, (src, ass)


def chain_value_usd_per_kg(ds: Dataset, commodity: str) -> tuple[float, str]:
    """US$/kg of a chain's product (USGS salient price x the spec's factor) and its source id."""
    spec = chain_spec(commodity)
    v, _unit, sid = us_salient(ds, commodity, str(spec.price["item"]), int(spec.price["year"]))
    return v * float(spec.price["to_usd_per_kg"]), sid
