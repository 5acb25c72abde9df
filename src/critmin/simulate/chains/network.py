"""The network type every chain builds, and the region helpers the builders share.

Model regions (a scenario's ``regions``; default CHN, USA, EU27, JPN, KOR, IND, AUS, MYS, VNM,
BRA, MMR, ROW) aggregate countries: a listed ISO3 code is its own region, EU member states form
``EU27`` when it is listed, every other country is ``ROW``. A :class:`Network` holds a chain's
baseline: per stage k and region r the output share ``share[k, r]``, the shipping shares
``ship[k, i, j]`` (rows sum to 1), world output ``volume[k]`` (t/month), users' baseline demand
``demand0[r]`` (t/month), the Chinese-origin share of each region's output and the pipeline of
projects outside China. The builders: :mod:`~critmin.simulate.chains.rare_earths`,
:mod:`~critmin.simulate.chains.single`, :mod:`~critmin.simulate.chains.heavy`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.model.countries import REST_OF_WORLD

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


@dataclass(frozen=True, kw_only=True)
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
    stages: tuple[str, ...]
    #: Chain id (:data:`critmin.simulate.chains.registry.CHAIN_IDS`, or the feed's id).
    commodity: str
    #: Name of the product users consume (the ``product`` of summary rows).
    product: str
    #: First stage an extraterritorial rule reaches (Chinese-origin input processed abroad):
    #: metal/alloy in the rare-earth chain (MOFCOM 2025 No.61 covers foreign-made items).
    extraterritorial_from: int
    #: [K, R] share of each destination's baseline Chinese-origin supply that reaches it
    #: through a third country (simulate/chains/trade.yaml ``routes``); None: none.
    via_share: npt.NDArray[np.float64] | None = None
    #: [R] the third-country (hub) region of each destination's routes; None: ROW.
    via_hub: npt.NDArray[np.intp] | None = None

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


@dataclass(frozen=True, kw_only=True)
class ChainBuild:
    """What a chain builder returns (:mod:`critmin.simulate.chains.registry`).

    ``usd_per_kg``: the value of a tonne of the users' product when the data fix it (a single
    chain's USGS price); None when it is drawn from the chain's ``value_parameter``.
    ``source_ids``: sources used beyond the network's own (that price).
    """

    network: Network
    usd_per_kg: float | None = None
    source_ids: tuple[str, ...] = ()
