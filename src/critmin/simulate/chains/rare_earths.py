"""The rare-earth chain's baseline network (mining, separation, metal/alloy, magnet).

For the four stages the network (:class:`~critmin.simulate.chains.network.Network`) holds:

* ``share[k, r]``: region r's share of world output at stage k (from
  :func:`critmin.trace.country.stage_vector`, the same stage choice as exposure);
* ``ship[k, i, j]``: share of region i's stage-k output shipped to region j (rows sum to 1):
  for k < 3 from the country allocation of :mod:`critmin.trace.country` aggregated to regions
  (2024 shares with the trade rules of 2025: MP Materials no longer ships concentrate to China);
  for magnets (k = 3) China ships ``e`` of its output abroad (2024 exports / output), split by
  destination weights (the US share is a parameter), other producers serve their own region;
* ``volume[k]``: world output per month (t) at stage k; ``demand0[r]``: baseline magnet
  demand (t/month) = what the magnet shipping matrix delivers to r at baseline.
* ``projects``: pipeline projects outside China with stage, region, capacity (t/month) and
  announced start year.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.simulate.chains.heavy import is_heavy_project
from critmin.simulate.chains.network import (
    EXPORT_WEIGHTS,
    EXPORT_WEIGHTS_ASSUMPTION,
    ChainBuild,
    Network,
    china_origin_shares,
    region_of,
    to_regions,
)
from critmin.simulate.inputs.params import Value, median
from critmin.trace.country import CHAIN, allocation_matrices, stage_vector


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
    share = np.zeros((len(CHAIN), n))
    sources: set[str] = set()
    assumptions: set[str] = {EXPORT_WEIGHTS_ASSUMPTION, "assumption:sim-project-capacity-units"}
    for k, st in enumerate(CHAIN):
        vec, src, ass = stage_vector(ds, st, year)
        share[k] = to_regions(vec, regions)
        sources |= set(src)
        assumptions |= set(ass)
    ship = np.zeros((len(CHAIN), n, n))
    for k, alloc in enumerate(allocation_matrices(ds, year, rules_year=rules_year)):
        f = np.zeros((n, n))
        for i_code, row in alloc.flows.iterrows():
            i = regions.index(region_of(str(i_code), regions))
            for j_code, v in row.items():
                f[i, regions.index(region_of(str(j_code), regions))] += float(v)
        out = f.sum(axis=1, keepdims=True)
        ship[k] = np.divide(f, out, out=np.eye(n), where=out > 0)
        sources |= set(alloc.source_ids)
        assumptions |= set(alloc.assumption_ids)
    c = regions.index("CHN")
    magnet_month = magnet_t_per_year / 12.0
    china_out = share[3, c] * magnet_month
    e = min(0.95, china_exports_t_per_year / 12.0 / china_out) if china_out > 0 else 0.0
    w = np.array([EXPORT_WEIGHTS.get(r, 0.0) for r in regions])
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
        projects=_projects(ds, regions),
        source_ids=tuple(sorted(sources)),
        assumption_ids=tuple(sorted(assumptions)),
        stages=tuple(st.value for st in CHAIN),
        commodity="rare_earths",
        product="ndfeb_magnets",
        extraterritorial_from=2,
    )


_STAGE_INDEX = {st.value: k for k, st in enumerate(CHAIN)}


def _projects(ds: Dataset, regions: tuple[str, ...]) -> pd.DataFrame:
    """Pipeline projects (not yet operating) with a capacity, as t/month in their stage's unit.

    Capacities are taken as published (t/yr of the stage's product: NdPr oxide, metal, magnets)
    and divided by 12: an assumption (``assumption:sim-project-capacity-units``), since NdPr is
    only part of a separation plant's REO output. Dy + Tb separation plants are not NdPr
    capacity and belong to the heavy rare-earth feed (:func:`critmin.simulate.chains.heavy.is_heavy_project`).
    """
    p = ds.table("projects")
    p = p.loc[p["stage"].isin(list(_STAGE_INDEX)) & p["capacity"].notna() & (p["country"] != "CHN")]
    heavy = [is_heavy_project(str(s), prod) for s, prod in zip(p["stage"], p["product"], strict=True)]
    p = p.loc[~np.array(heavy, dtype=bool)]  # Dy + Tb plants feed the magnet stage (heavy.py)
    p = p.loc[~p["status"].fillna("").str.contains("operating", case=False)]
    out = pd.DataFrame(
        {
            "project": p["project"].to_numpy(),
            "stage": p["stage"].map(_STAGE_INDEX).to_numpy(dtype=int),
            "region": [regions.index(region_of(c, regions)) for c in p["country"]],
            "capacity_t_month": p["capacity"].to_numpy(dtype=float) / 12.0,
            "start_year": p["start_year"].fillna(2028).to_numpy(dtype=float),
            "source_id": p["source_id"].to_numpy(),
        }
    )
    return out.reset_index(drop=True)
