"""The baseline network the engine starts from, built from the bundled data.

Model regions (a scenario's ``regions``; default CHN, USA, EU27, JPN, KOR, IND, AUS, MYS, VNM,
BRA, MMR, ROW) aggregate countries: a listed ISO3 code is its own region, EU member states form
``EU27`` when it is listed, every other country is ``ROW``.

For the four stages (mining, separation, metal/alloy, magnet) the network holds:

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

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.model.countries import REST_OF_WORLD
from critmin.trace.country import CHAIN, allocation_matrices, stage_vector

EU27 = [
    "AUT",
    "BEL",
    "BGR",
    "HRV",
    "CYP",
    "CZE",
    "DNK",
    "EST",
    "FIN",
    "FRA",
    "DEU",
    "GRC",
    "HUN",
    "IRL",
    "ITA",
    "LVA",
    "LTU",
    "LUX",
    "MLT",
    "NLD",
    "POL",
    "PRT",
    "ROU",
    "SVK",
    "SVN",
    "ESP",
    "SWE",
]

#: Destination weights of China's magnet exports outside the US (an assumption: the largest
#: importers named by Adamas for 2024 are Germany, Korea, Vietnam, Japan and the US; no partner
#: table is bundled). Normalised over the regions present.
EXPORT_WEIGHTS: dict[str, float] = {
    "EU27": 0.30,
    "KOR": 0.15,
    "VNM": 0.12,
    "JPN": 0.10,
    "IND": 0.08,
    "MYS": 0.02,
    "BRA": 0.03,
    "AUS": 0.01,
    "MMR": 0.0,
    "ROW": 0.19,
}
EXPORT_WEIGHTS_ASSUMPTION = "assumption:sim-magnet-export-destinations"


def region_of(code: str, regions: tuple[str, ...]) -> str:
    """Model region of an ISO3 (or aggregate) code."""
    if code in regions:
        return code
    if code in EU27 and "EU27" in regions:
        return "EU27"
    return REST_OF_WORLD


@dataclass(frozen=True)
class Network:
    """Baseline structure (see the module docstring). Arrays are indexed [stage, region(, region)]."""

    regions: tuple[str, ...]
    share: npt.NDArray[np.float64]
    ship: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]
    demand0: npt.NDArray[np.float64]
    china_origin: npt.NDArray[np.float64]
    projects: pd.DataFrame
    source_ids: tuple[str, ...]
    assumption_ids: tuple[str, ...]
    #: Stage names, upstream first; users consume the last stage's product.
    stages: tuple[str, ...] = ("mining", "separation", "metal_alloy", "magnet")
    commodity: str = "rare_earths"
    #: Name of the product users consume (the ``product`` of summary rows).
    product: str = "ndfeb_magnets"
    #: First stage an extraterritorial rule reaches (Chinese-origin input processed abroad):
    #: metal/alloy in the rare-earth chain (MOFCOM 2025 No.61 covers foreign-made items).
    extraterritorial_from: int = 2

    @property
    def chn(self) -> int:
        """Index of China."""
        return self.regions.index("CHN")


def to_regions(vec: pd.Series, regions: tuple[str, ...]) -> npt.NDArray[np.float64]:
    out = np.zeros(len(regions))
    for code, v in vec.items():
        out[regions.index(region_of(str(code), regions))] += float(v)
    return out


def china_origin_shares(
    share: npt.NDArray[np.float64], ship: npt.NDArray[np.float64], chn: int
) -> npt.NDArray[np.float64]:
    """[K, R] share of each region's stage-k output that is Chinese-origin material.

    Stage 0: China's output only. Stage k: each region's input mix from stage k-1
    (share x ship, normalised by what arrives) times the origin shares of stage k-1; China's own
    output counts as Chinese-origin whatever its inputs (the extraterritorial rule's view).
    """
    out = np.zeros(share.shape)
    out[0, chn] = 1.0
    for k in range(1, share.shape[0]):
        flows = share[k - 1][:, None] * ship[k - 1]
        inflow = flows.sum(axis=0)
        mix = np.divide(flows, inflow, out=np.zeros_like(flows), where=inflow > 0)
        out[k] = out[k - 1] @ mix
        out[k, chn] = 1.0
    return out


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
        regions,
        share,
        ship,
        volume,
        demand0,
        china_origin_shares(share, ship, c),
        _projects(ds, regions),
        tuple(sorted(sources)),
        tuple(sorted(assumptions)),
    )


_STAGE_INDEX = {st.value: k for k, st in enumerate(CHAIN)}


def _projects(ds: Dataset, regions: tuple[str, ...]) -> pd.DataFrame:
    """Pipeline projects (not yet operating) with a capacity, as t/month in their stage's unit.

    Capacities are taken as published (t/yr of the stage's product: NdPr oxide, metal, magnets)
    and divided by 12: an assumption (``assumption:sim-project-capacity-units``), since NdPr is
    only part of a separation plant's REO output. Dy + Tb separation plants are not NdPr
    capacity and belong to the heavy rare-earth feed (:func:`critmin.simulate.heavy.is_heavy_project`).
    """
    from critmin.simulate.heavy import is_heavy_project

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
