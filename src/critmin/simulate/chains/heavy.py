"""The heavy rare-earth feed of the magnet stage: separated Dy + Tb oxide (``dy_tb``).

NdFeB grades that must keep their coercivity at motor temperatures carry dysprosium or
terbium, the elements MOFCOM 2025 No.18 put under licence on 4 April 2025 and that the
November 2025 suspension left in force. The rare-earth chain of :mod:`critmin.simulate.chains.network`
tracks the bulk (NdPr-limited) flow; this module builds a second, one-stage chain for the Dy + Tb
oxide magnet makers need, which the engine steps in the same month loop
(:class:`critmin.simulate.engine.step.Feed`). Per month, with F_r the magnet output region r can
make from its alloy (t), h the share of output in Dy/Tb-bearing grades (``heavy.grade_share``)
and q_r the Dy + Tb per tonne of region r's Dy-bearing grades:

* the feed's users are the magnet makers, with base need h q_r F_r, cut by the feed's own price
  elasticity and thrifting (its substitution, capped at 30%): D_r = h q_r F_r (p/p0)^-eps (1 - s);
* they hold inventory and order like any users; the feed chain ships, controls, licenses,
  prices and builds new capacity exactly as the engine does for every chain;
* with a_r = use_r / D_r the share of their Dy + Tb need met, region r makes
  F_r (1 - h (1 - a_r)) tonnes of magnets: the Dy-free grades in full, the Dy-bearing ones in
  proportion a_r. Every tonne of Dy + Tb consumed is in a magnet made (mass balance of both
  chains is checked separately).

Baseline (2024): world separated Dy + Tb V = ``heavy.dy_tb_t_per_year`` (3,100 t/yr, SMM's
survey of China's monthly Dy and Tb oxide output in 2024 over China's 99%), all used in
magnets. The intensities come from sourced needs by region (``need`` in heavy.yaml: Japan
1,475 t/yr from Jogmec, the US 0.02 t per t of magnets from MP Materials) and the magnet
output the network gives each region when it is built: q_r = N_r / (h F_r), capped at 10 wt%,
and every other region shares the rest of V at one intensity (:func:`regional_intensity`,
:func:`regional_need`), so the base need sums to V whatever the network's country split. China
separates 99% (labelled); pipeline plants outside China come from the bundled projects table
(rows at stage separation naming Dy, Tb or heavy rare earths and not NdPr; capacities stated as
heavy-RE feed are converted with the Mountain Pass yield, 200 / 3,000). Those rows are left
out of the rare-earth chain's pipeline (:func:`is_heavy_project`), where they would count as
NdPr capacity. Shipping: each region supplies itself first, surplus China output goes to the
other makers pro rata (:func:`critmin.simulate.chains.single.balanced_shipping`).

Policy: every rare-earth export control acting at the separation stage (licence, ban,
end-user denial) also acts on the feed, with all Dy + Tb trade listed (controlled share 1);
approval-rate, suspension and lift events follow their targets; stockpile, price-floor and
offtake events reach the feed only when they list ``dy_tb`` in ``commodities``
(:func:`feed_timeline`).
"""

from __future__ import annotations

import re
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
from critmin.simulate.chains.network import Network, china_origin_shares, region_of, to_regions
from critmin.simulate.chains.registry import FEED_ID, host_of
from critmin.simulate.chains.single import balanced_shipping, us_salient
from critmin.simulate.inputs.events import stages_of
from critmin.simulate.inputs.params import Value, median
from critmin.simulate.inputs.policy import events_for
from critmin.simulate.inputs.scenario import EventKind

F = npt.NDArray[np.float64]
_PARAMS: TypeAdapter[dict[str, Value]] = TypeAdapter(dict[str, Value])


@cache
def _raw() -> dict[str, Any]:
    text = resources.files("critmin.simulate.chains").joinpath("heavy.yaml").read_text("utf-8")
    raw: dict[str, Any] = yamlio.safe_load(text)
    return raw


def feed_spec() -> dict[str, Any]:
    """The ``feed`` block of ``heavy.yaml``."""
    return dict(_raw()["feed"])


def feed_parameters() -> dict[str, Value]:
    """The feed's own parameter values (they win over the scenario's, like a chain's)."""
    return _PARAMS.validate_python(feed_spec().get("parameters") or {})


def own_parameters(chain_id: str) -> dict[str, Value]:
    """The registry's hook: the feed's own parameter values (:func:`feed_parameters`)."""
    del chain_id  # one feed
    return feed_parameters()


def feed_assumptions() -> list[dict[str, str]]:
    """The labelled assumptions of ``heavy.yaml`` (id, title, rationale)."""
    return list(_raw()["assumptions"])


def is_heavy_project(stage: str, product: object) -> bool:
    """Whether a projects-table row adds Dy + Tb separation capacity (and so belongs here)."""
    spec = feed_spec()
    pr = spec["projects"]
    text = "" if product is None or (isinstance(product, float) and np.isnan(product)) else str(product)
    return (
        stage == spec["stage"]
        and re.search(pr["product_pattern"], text) is not None
        and re.search(pr["exclude_pattern"], text) is None
    )


def heavy_projects(ds: Dataset, regions: tuple[str, ...]) -> pd.DataFrame:
    """Dy + Tb separation plants outside China that start after the baseline year (t/month).

    Plants already operating count when they started after the baseline year (Lynas' heavy
    circuit, 2025). A capacity stated as heavy-RE feed (unit naming feed or throughput) is
    converted to Dy + Tb with the spec's ``feed_yield``; a plant without a start year is
    taken to start in 2028, as in the rare-earth chain.
    """
    spec = feed_spec()
    pr = spec["projects"]
    year = int(spec["year"])
    p = ds.table("projects")
    heavy = [is_heavy_project(str(s), prod) for s, prod in zip(p["stage"], p["product"], strict=True)]
    p = p.loc[np.array(heavy, dtype=bool) & p["capacity"].notna() & (p["country"] != "CHN")]
    start = p["start_year"].fillna(2028).to_numpy(dtype=float)
    operating = p["status"].fillna("").str.contains("operating", case=False).to_numpy()
    p, start = p.loc[~operating | (start > year)], start[~operating | (start > year)]
    unit = p["capacity_unit"].fillna("").astype(str)
    is_feed = unit.str.contains(pr["feed_unit_pattern"], regex=True).to_numpy()
    factor = np.where(is_feed, float(pr["feed_yield"]["value"]), 1.0)
    return pd.DataFrame(
        {
            "project": p["project"].to_numpy(),
            "stage": np.zeros(len(p), dtype=int),
            "region": [regions.index(region_of(str(c), regions)) for c in p["country"]],
            "capacity_t_month": p["capacity"].to_numpy(dtype=float) * factor / 12.0,
            "start_year": start,
            "source_id": p["source_id"].to_numpy(),
        }
    ).reset_index(drop=True)


@dataclass(frozen=True)
class RegionalIntensity:
    """Per-region Dy + Tb intensities and the base-year need they give (:func:`regional_intensity`)."""

    #: [R] q_r, t Dy + Tb per t of the region's Dy-bearing grades
    intensity: F
    #: [R] base-year need h q_r F_r (t/yr); sums to the world volume V
    need_t_per_year: F
    #: [R] whether q_r comes from a sourced need (False: the world-average fallback)
    sourced: npt.NDArray[np.bool_]
    #: [R] sourced need cut by the intensity cap (t/yr), left to the fallback regions
    cut_t_per_year: F
    #: q_rest, the fallback intensity of the regions without a sourced need
    rest_intensity: float


def regional_intensity(
    output_t_per_year: npt.ArrayLike,
    need_t_per_year: npt.ArrayLike,
    *,
    grade_share: float,
    world_t_per_year: float,
    max_intensity: float = np.inf,
    per_t_magnet: npt.ArrayLike | None = None,
) -> RegionalIntensity:
    """Each region's Dy + Tb intensity from its sourced need and its magnet output.

    With F_r the region's baseline magnet output (t/yr), N_r its sourced need (t/yr; NaN where
    none is sourced), h the Dy-bearing grade share and V the world Dy + Tb volume:

        q_r = min(N_r / (h F_r), q_max)                 (N_r sourced and F_r > 0)
        q_rest = (V - sum_sourced h q_r F_r) / (h sum_rest F_r)   (every other region)

    so the base-year need h q_r F_r sums to V. ``per_t_magnet`` x_r (t Dy + Tb per t of all the
    region's magnets; NaN where none) gives q_r = min(x_r / h, q_max) instead, also where F_r = 0
    (new makers then start at that intensity). A t/yr need of a region with F_r = 0 cannot be
    placed here (the caller books it elsewhere first, :func:`regional_need`). Raises
    :class:`DataError` when the sourced needs exceed V or leave a rest volume with no
    fallback region to take it.

    Example: F = (300, 100) kt, N = (NaN, 2,000) t, h = 0.5, V = 5,000 t: q_1 = 2,000 /
    50,000 = 4%, q_0 = 3,000 / 150,000 = 2%.
    """
    out = np.asarray(output_t_per_year, dtype=np.float64)
    need = np.asarray(need_t_per_year, dtype=np.float64)
    if out.shape != need.shape or out.ndim != 1 or (out < 0).any() or not np.isfinite(out).all():
        raise DataError(
            f"magnet output {out.shape} and need {need.shape} must be one non-negative value per region",
            column="heavy.need",
        )
    if (need[np.isfinite(need)] < 0).any():
        raise DataError("a sourced Dy + Tb need is negative", column="heavy.need", fix="give t/yr >= 0")
    per_t = np.full_like(out, np.nan) if per_t_magnet is None else np.asarray(per_t_magnet, dtype=np.float64)
    if per_t.shape != out.shape or (per_t[np.isfinite(per_t)] < 0).any():
        raise DataError(
            f"per-t intensity {per_t.shape} must be one value >= 0 per region", column="heavy.need"
        )
    by_t = np.isfinite(per_t)
    sourced = (np.isfinite(need) & (out > 0)) | by_t
    q = np.zeros_like(out)
    with np.errstate(over="ignore"):  # a need over a vanishing output: q = inf, then capped
        np.divide(need, grade_share * out, out=q, where=sourced & ~by_t)
    q = np.where(by_t, np.nan_to_num(per_t) / grade_share, q)
    capped = np.minimum(q, max_intensity)
    cut = np.where(sourced & ~by_t, np.maximum(np.nan_to_num(need) - capped * grade_share * out, 0.0), 0.0)
    placed = float((capped * grade_share * out)[sourced].sum())
    rest_out = float(out[~sourced].sum())
    left = world_t_per_year - placed
    if left < -1e-9 * world_t_per_year:
        raise DataError(
            f"sourced Dy + Tb needs of {placed:,.0f} t/yr exceed the world volume "
            f"{world_t_per_year:,.0f} t/yr",
            column="heavy.dy_tb_t_per_year",
            fix="raise heavy.dy_tb_t_per_year or check the need rows of heavy.yaml",
        )
    if rest_out <= 0 and left > 1e-9 * world_t_per_year:
        raise DataError(
            f"{left:,.0f} t/yr of Dy + Tb is left with no region to use it (every maker has a sourced need)",
            column="heavy.dy_tb_t_per_year",
            fix="set heavy.dy_tb_t_per_year to the sum of the sourced needs",
        )
    q_rest = max(left, 0.0) / (grade_share * rest_out) if rest_out > 0 else 0.0
    q = np.where(sourced, capped, q_rest)
    return RegionalIntensity(q, grade_share * q * out, sourced, cut, q_rest)


def regional_need(
    regions: tuple[str, ...], output_t_per_year: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The sourced need rows of ``heavy.yaml``'s ``need`` block: ([R] t/yr, [R] t per t of
    magnets), NaN where none.

    A row gives ``t_per_year`` or ``t_per_t_magnet``. A ``t_per_year`` need of a region not in
    ``regions`` or making no magnets is booked to ``unplaced_to`` (ROW) when that region makes
    magnets, else dropped; a ``t_per_t_magnet`` row applies to whatever the region makes.
    """
    spec = feed_spec()["need"]
    out = np.asarray(output_t_per_year, dtype=np.float64)
    need = np.full(len(regions), np.nan)
    per_t = np.full(len(regions), np.nan)
    host = str(spec.get("unplaced_to", "ROW"))
    for code, row in (spec.get("regions") or {}).items():
        if ("t_per_year" in row) == ("t_per_t_magnet" in row):
            raise DataError(
                f"need row {code!r} must give exactly one of t_per_year, t_per_t_magnet",
                column=f"need.regions.{code}",
                fix="see the header of heavy.yaml",
            )
        r = regions.index(code) if code in regions else -1
        if "t_per_t_magnet" in row:
            if r >= 0:
                per_t[r] = float(row["t_per_t_magnet"])
            continue
        if r < 0 or out[r] <= 0:
            r = regions.index(host) if host in regions and out[regions.index(host)] > 0 else -1
        if r >= 0:
            need[r] = np.nansum([need[r], float(row["t_per_year"])])
    return need, per_t


def need_sources() -> set[str]:
    """Source ids behind the ``need`` rows (cited in the feed's sources)."""
    rows = (feed_spec()["need"].get("regions") or {}).values()
    return {str(r["source"]) for r in rows} | {str(s) for r in rows for s in r.get("see_also", [])}


@dataclass(frozen=True)
class FeedNetwork:
    """The feed chain's network and how it couples to the rare-earth chain."""

    net: Network
    #: index of the rare-earth chain stage that consumes the feed (the magnet stage)
    stage: int
    #: h, share of that stage's output in grades that need the feed
    grade_share: float
    #: q_r, t of feed per t of those grades, by region ([R]; :func:`regional_intensity`)
    intensity: F
    #: US$/kg of the feed (:func:`feed_value_usd_per_kg`), for its output at risk
    usd_per_kg: float = 0.0
    #: how the intensities were derived (sourced needs, cap, fallback)
    derivation: RegionalIntensity | None = None


def build_feed_network(
    ds: Dataset, main: Network, *, dy_tb_t_per_year: float, grade_share: float
) -> FeedNetwork:
    """The Dy + Tb feed network for the rare-earth network ``main`` (module docstring)."""
    spec = feed_spec()
    if not 0.0 < grade_share <= 1.0:
        raise DataError(
            f"heavy.grade_share {grade_share} outside (0, 1]",
            column="heavy.grade_share",
            fix="use a fraction of magnet output; 0 turns the feed off before the network is built",
        )
    if not dy_tb_t_per_year > 0:
        raise DataError(
            f"heavy.dy_tb_t_per_year {dy_tb_t_per_year} is not positive",
            column="heavy.dy_tb_t_per_year",
            fix="give world Dy + Tb oxide output in t/yr (default 3100)",
        )
    if spec["feeds_stage"] not in main.stages:
        raise DataError(
            f"the {main.commodity} chain has no {spec['feeds_stage']!r} stage",
            column="feeds_stage",
            fix="the feed couples to the rare-earth magnet chain",
        )
    k = main.stages.index(spec["feeds_stage"])
    regions = main.regions
    makers = main.share[k] * main.volume[k]  # t/month magnets made, by region
    v_month = dy_tb_t_per_year / 12.0
    need, per_t = regional_need(regions, makers * 12.0)
    derived = regional_intensity(
        makers * 12.0,
        need,
        grade_share=grade_share,
        world_t_per_year=dy_tb_t_per_year,
        max_intensity=float(spec["need"]["max_intensity"]["value"]),
        per_t_magnet=per_t,
    )
    demand0 = derived.need_t_per_year / 12.0
    sh = spec["shares"]
    vec = pd.Series(sh["countries"], dtype=float)
    share = to_regions(vec / vec.sum(), regions)
    ship = balanced_shipping(share * v_month, demand0)[None, :, :]
    usd_kg, price_src = feed_value_usd_per_kg(ds)
    projects = heavy_projects(ds, regions)
    ids = {str(a["id"]) for a in feed_assumptions()}
    sources = set(projects["source_id"]) | {price_src} | need_sources()
    net = Network(
        regions=regions,
        share=share[None, :],
        ship=ship,
        volume=np.array([v_month]),
        demand0=demand0,
        china_origin=china_origin_shares(share[None, :], ship, regions.index("CHN")),
        projects=projects,
        source_ids=tuple(sorted(sources)),
        assumption_ids=tuple(sorted(ids)),
        stages=(str(spec["stage"]),),
        commodity=FEED_ID,
        product=str(spec["product"]),
        extraterritorial_from=1,  # the 0.1% rule acts on the magnets, in the rare-earth chain
    )
    return FeedNetwork(net, k, grade_share, derived.intensity, usd_kg, derived)


def build(
    ds: Dataset, chain_id: str, regions: tuple[str, ...], values: Mapping[str, Value], *, host: Network
) -> FeedNetwork:
    """The registry's builder: the feed network of ``host`` at the medians of the feed's volume
    and grade share."""
    del chain_id, regions  # one feed, on the host's regions
    return build_feed_network(
        ds,
        host,
        dy_tb_t_per_year=median(values["heavy.dy_tb_t_per_year"]),
        grade_share=median(values["heavy.grade_share"]),
    )


def feed_value_usd_per_kg(ds: Dataset) -> tuple[float, str]:
    """US$/kg of Dy + Tb oxide: the spec's weights over USGS salient prices, and the source."""
    pr = feed_spec()["price"]
    total, src = 0.0, ""
    for item, w in pr["items"].items():
        v, unit, src = us_salient(ds, str(pr["commodity"]), str(item), int(pr["year"]))
        if unit != "usd_per_kg":
            raise DataError(
                f"price {item} is in {unit}, not usd_per_kg", column="price", fix="see heavy.yaml"
            )
        total += float(w) * v
    return total, src


def feed_timeline(timeline: tuple[Any, ...]) -> tuple[Any, ...]:
    """The scenario timeline with the events that reach the feed marked ``dy_tb``.

    Rare-earth controls acting at the separation stage reach it; approval-rate, suspension and
    lift events too (they then follow their targets, :func:`critmin.simulate.inputs.policy.events_for`).
    Other events reach it only when they list ``dy_tb``.
    """
    stage = feed_spec()["stage"]
    controls = (EventKind.LICENCE, EventKind.BAN, EventKind.END_USER_DENIAL)
    follow = (EventKind.APPROVAL_RATE, EventKind.SUSPEND, EventKind.LIFT)
    host = host_of(FEED_ID)
    assert host is not None  # the registry names the feed's host chain
    ree = {e.id for e in events_for(timeline, host.id)}
    out = []
    for e in timeline:
        reach = FEED_ID not in e.commodities and (
            (e.kind in controls and e.id in ree and any(s.value == stage for s in stages_of(e)))
            or (e.kind in follow and host.id in e.commodities)
        )
        out.append(e.model_copy(update={"commodities": (*e.commodities, FEED_ID)}) if reach else e)
    return tuple(out)
