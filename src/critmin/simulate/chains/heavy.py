"""The heavy rare-earth feed of the magnet stage: separated Dy + Tb oxide (``dy_tb``).

NdFeB grades that must keep their coercivity at motor temperatures carry dysprosium or
terbium, the elements MOFCOM 2025 No.18 put under licence on 4 April 2025 and that the
November 2025 suspension left in force. The rare-earth chain of :mod:`critmin.simulate.chains.network`
tracks the bulk (NdPr-limited) flow; this module builds a second, one-stage chain for the Dy + Tb
oxide magnet makers need, which the engine steps in the same month loop
(:class:`critmin.simulate.engine.step.Feed`). Per month, with F_r the magnet output region r can
make from its alloy (t), h the share of output in Dy/Tb-bearing grades (``heavy.grade_share``)
and q the Dy + Tb per tonne of those grades:

* the feed's users are the magnet makers, with base need h q F_r, cut by the feed's own price
  elasticity and thrifting (its substitution, capped at 30%): D_r = h q F_r (p/p0)^-eps (1 - s);
* they hold inventory and order like any users; the feed chain ships, controls, licenses,
  prices and builds new capacity exactly as the engine does for every chain;
* with a_r = use_r / D_r the share of their Dy + Tb need met, region r makes
  F_r (1 - h (1 - a_r)) tonnes of magnets: the Dy-free grades in full, the Dy-bearing ones in
  proportion a_r. Every tonne of Dy + Tb consumed is in a magnet made (mass balance of both
  chains is checked separately).

Baseline (2024): world separated Dy + Tb V = ``heavy.dy_tb_t_per_year`` (4,000 t/yr, from
Caremag's 600 t/yr being ~15% of world output), all used in magnets, so q = V / (h M) with M
world magnet output, and each region's need is proportional to its magnet output. China
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
import pandas as pd
import yaml
from pydantic import TypeAdapter

from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.simulate.chains.network import Network, china_origin_shares, region_of, to_regions
from critmin.simulate.chains.registry import FEED_ID, host_of
from critmin.simulate.chains.single import balanced_shipping, us_salient
from critmin.simulate.inputs.events import stages_of
from critmin.simulate.inputs.params import Value, median
from critmin.simulate.inputs.policy import events_for
from critmin.simulate.inputs.scenario import EventKind

_PARAMS: TypeAdapter[dict[str, Value]] = TypeAdapter(dict[str, Value])


@cache
def _raw() -> dict[str, Any]:
    text = resources.files("critmin.simulate.chains").joinpath("heavy.yaml").read_text("utf-8")
    raw: dict[str, Any] = yaml.safe_load(text)
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
class FeedNetwork:
    """The feed chain's network and how it couples to the rare-earth chain."""

    net: Network
    #: index of the rare-earth chain stage that consumes the feed (the magnet stage)
    stage: int
    #: h, share of that stage's output in grades that need the feed
    grade_share: float
    #: q, t of feed per t of those grades
    intensity: float
    #: US$/kg of the feed (:func:`feed_value_usd_per_kg`), for its output at risk
    usd_per_kg: float = 0.0


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
            fix="give world Dy + Tb oxide output in t/yr (default 4000)",
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
    demand0 = v_month * makers / makers.sum()
    sh = spec["shares"]
    vec = pd.Series(sh["countries"], dtype=float)
    share = to_regions(vec / vec.sum(), regions)
    ship = balanced_shipping(share * v_month, demand0)[None, :, :]
    usd_kg, price_src = feed_value_usd_per_kg(ds)
    projects = heavy_projects(ds, regions)
    ids = {str(a["id"]) for a in feed_assumptions()}
    sources = set(projects["source_id"]) | {price_src}
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
    return FeedNetwork(net, k, grade_share, dy_tb_t_per_year / (grade_share * makers.sum() * 12.0), usd_kg)


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
