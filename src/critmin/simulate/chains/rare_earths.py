"""The rare-earth chain's baseline network (mining, separation, metal/alloy, magnet).

For the four stages the network (:class:`~critmin.simulate.chains.network.Network`) holds:

* ``share[k, r]``: region r's share of world output at stage k (:func:`stage_vectors`):
  published shares at mining (USGS) and separation (IEA) with the "rest of world" residual split
  over the base-year plants of the countries the source does not name; at metal/alloy and
  magnets, reconciled from volumes: China's 300,000 t against the operating ex-China plants of
  the projects table (:mod:`~critmin.simulate.chains.plants`; China 93.5% of magnets);
* ``ship[k, i, j]``: share of region i's stage-k output shipped to region j (rows sum to 1):
  for k < 3 the country allocation of :func:`critmin.trace.country.allocate` (rules in
  ``trace/ree_chain.yaml``: fixed mixes, domestic first, RAS) over these shares, aggregated to
  regions (2024 shares with the trade rules of 2025: MP Materials no longer ships concentrate
  to China); for magnets (k = 3) China ships ``e`` of its output abroad (2024 exports /
  output), split by the customs destination weights of
  :mod:`~critmin.simulate.chains.destinations` (the US share is a parameter whose default comes
  from the same rows); other producers serve their own region;
* ``volume[k]``: world output per month (t) at stage k; ``demand0[r]``: baseline magnet
  demand (t/month) = what the magnet shipping matrix delivers to r at baseline.
* ``projects``: plants outside China that start after the base year (planned, under
  construction, or operating from 2025), with stage, region, capacity (t/month) and start year.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import pandas as pd

from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.model.stages import Stage
from critmin.simulate.chains.destinations import bundled_destinations
from critmin.simulate.chains.network import (
    ChainBuild,
    Network,
    china_origin_shares,
    region_of,
    to_regions,
)
from critmin.simulate.chains.plants import (
    CHINA_MAGNET_SOURCE,
    CHINA_MAGNET_T_2024,
    GAP_FILL_ASSUMPTION,
    IN_HOUSE_ALLOY_ASSUMPTION,
    base_capacity,
    pipeline,
    plant_table,
    reconciled_shares,
    residual_shares,
    sources_of,
)
from critmin.simulate.inputs.params import Value, median
from critmin.trace.country import CHAIN, allocate, chain_rules, stage_vector


def build(ds: Dataset, chain_id: str, regions: tuple[str, ...], values: Mapping[str, Value]) -> ChainBuild:
    """The registry's builder: :func:`build_network` at the medians of the volume parameters."""
    del chain_id  # one rare-earth chain
    return ChainBuild(
        network=build_network(
            ds,
            regions,
            mining_t_per_year=median(values["volume.mining_t_per_year"]),
            magnet_t_per_year=median(values["volume.magnet_t_per_year"]),
            china_exports_t_per_year=median(values["volume.china_magnet_exports_t_per_year"]),
            us_share_of_exports=median(values["trade.us_share_of_china_magnet_exports"]),
        )
    )


def build_network(
    ds: Dataset,
    regions: tuple[str, ...],
    *,
    year: int = 2024,
    rules_year: int = 2025,
    mining_t_per_year: float,
    magnet_t_per_year: float,
    china_exports_t_per_year: float,
    us_share_of_exports: float,
) -> Network:
    """Assemble the baseline network for ``regions`` from the bundled data and parameters."""
    n = len(regions)
    plants = plant_table(ds)
    vecs, sources, assumptions = stage_vectors(ds, plants, year)
    assumptions |= {"assumption:sim-project-capacity-units", *bundled_destinations().assumption_ids}
    sources |= set(bundled_destinations().source_ids) | sources_of(plants)
    if plants["gap_filled"].any():
        assumptions.add(GAP_FILL_ASSUMPTION)
    share = np.array([to_regions(vecs[st][0], regions) for st in CHAIN])
    ship = np.zeros((len(CHAIN), n, n))
    rules = chain_rules()
    for k, (a, b) in enumerate(itertools.pairwise(CHAIN)):
        trule = (rules.get("transitions") or {}).get(f"{a.value}->{b.value}") or {}
        flows, _, r_src, r_ass = allocate(vecs[a][0], vecs[b][0], trule, rules_year)
        f = np.zeros((n, n))
        for i_code, row in flows.iterrows():
            i = regions.index(region_of(str(i_code), regions))
            for j_code, v in row.items():
                f[i, regions.index(region_of(str(j_code), regions))] += float(v)
        out = f.sum(axis=1, keepdims=True)
        ship[k] = np.divide(f, out, out=np.eye(n), where=out > 0)
        sources |= set(r_src)
        assumptions |= set(r_ass)
    c = regions.index("CHN")
    magnet_month = magnet_t_per_year / 12.0
    china_out = share[3, c] * magnet_month
    e = min(0.95, china_exports_t_per_year / 12.0 / china_out) if china_out > 0 else 0.0
    w = np.array([bundled_destinations().weights.get(r, 0.0) for r in regions])
    w[c] = 0.0
    if "USA" in regions:
        w[regions.index("USA")] = 0.0
    if w.sum() <= 0:
        raise DataError("no export destinations among the regions", column="regions", fix="add regions")
    w = w / w.sum() * (1.0 - (us_share_of_exports if "USA" in regions else 0.0))
    if "USA" in regions:
        w[regions.index("USA")] = us_share_of_exports
    ship[3] = np.eye(n)
    ship[3, c] = w * e
    ship[3, c, c] = 1.0 - e
    volume = np.array([mining_t_per_year / 12.0] * 3 + [magnet_month])
    demand0 = (share[3] * volume[3]) @ ship[3]
    # Share of each region's stage output that is Chinese-origin material (for the
    # extraterritorial rule): origin matrix from mining to each stage, China's row.
    return Network(
        regions=regions,
        share=share,
        ship=ship,
        volume=volume,
        demand0=demand0,
        china_origin=china_origin_shares(share, ship, c),
        projects=pipeline(plants, regions, region_of),
        source_ids=tuple(sorted(sources)),
        assumption_ids=tuple(sorted(assumptions)),
        stages=tuple(st.value for st in CHAIN),
        commodity="rare_earths",
        product="ndfeb_magnets",
        extraterritorial_from=2,
    )


def stage_vectors(
    ds: Dataset, plants: pd.DataFrame, year: int = 2024
) -> tuple[dict[Stage, tuple[pd.Series, list[str], list[str]]], set[str], set[str]]:
    """Country shares per stage: published (mining, separation) with the ROW residual split over
    base plants in unnamed countries; reconciled from volumes at metal/alloy and magnets
    (:mod:`~critmin.simulate.chains.plants`). Returns (vectors, source ids, assumption ids)."""
    out: dict[Stage, tuple[pd.Series, list[str], list[str]]] = {}
    sources: set[str] = set()
    assumptions: set[str] = set()
    for st in CHAIN:
        if st.value in ("metal_alloy", "magnet"):
            vec = reconciled_shares(CHINA_MAGNET_T_2024, base_capacity(plants, st.value))
            src = [CHINA_MAGNET_SOURCE]
            ass = [IN_HOUSE_ALLOY_ASSUMPTION] if st.value == "metal_alloy" else []
        else:
            published, src, ass = stage_vector(ds, st, year)
            vec = residual_shares(published, base_capacity(plants, st.value))
        out[st] = (vec, list(src), list(ass))
        sources |= set(src)
        assumptions |= set(ass)
    return out, sources, assumptions
