"""The path-independent arrays of one engine run (:class:`EngineModel`), built once per run.

Everything the monthly step (:mod:`critmin.simulate.engine.step`) reads that does not depend
on the path: the network's baseline output, shipping with the controllable edges removed,
the compiled controls per stage, the project columns, offtakes, floors, sector shares,
stockpile rules, capacity weights, trade preference, rerouting and the extraterritorial
holdback. Shared by every block of paths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from critmin.simulate.chains.network import Network
from critmin.simulate.engine.capacity import market_weights
from critmin.simulate.engine.reroute import Routes
from critmin.simulate.engine.trade import held_origin, preference_weights
from critmin.simulate.engine.types import EngineParams
from critmin.simulate.inputs.policy import Offtake, PolicyPath, StageControls, StockpileRules

F = npt.NDArray[np.float64]
__all__ = ["EngineModel"]


@dataclass(frozen=True)
class EngineModel:
    """Path-independent arrays shared by all blocks (built once per run)."""

    r_n: int
    k_n: int  # stages; the last one's product is what users consume
    c: int
    ex: npt.NDArray[np.bool_]
    exf: F
    conv: F
    base: F  # [K, R] baseline output, t/month
    demand0: F
    ship: F
    ctls: list[StageControls]
    free: list[F]  # baseline shipping with the controllable edges removed
    to_dst: list[F]  # [E, R] one-hot incidence of each edge's destination
    to_src: list[F]  # [E, R] ... and exporter
    proj_order: npt.NDArray[np.intp]  # projects sorted by (stage, region) column
    proj_cap: F  # [Q] their capacity, t/month, in that order
    proj_first: npt.NDArray[np.intp]  # [G] first project of each occupied column
    proj_cols: npt.NDArray[np.intp]  # [G] the column k * R + r of each group
    offtakes: list[list[Offtake]]  # per stage, in priority order
    floor_cover: npt.NDArray[np.bool_] | None  # [T, K, R] producers kept at capacity by a floor
    sectors: tuple[F, npt.NDArray[np.intp]] | None = None  # ([R, S] shares, [S] priority tiers)
    sector_growth: F | None = None  # [T, S] relative growth of each sector's demand (sectors.py)
    policy: PolicyPath | None = None  # destination approval rates, general licences, regimes
    sector_usd_per_kg: F | None = None  # [S] end-product output at risk per kg short (sectors.py)
    sp_rules: StockpileRules | None = None  # public stockpiles' release rules (inventory.py)
    sp_added: npt.NDArray[np.bool_] | None = None  # [R] regions some stockpile event adds to
    stages: tuple[str, ...] = ()
    cap_weights: F | None = None  # [K, 2, R] capacity per unit order rate (capacity.market_weights)
    pref: F | None = None  # [R, R] trade preference outside China (trade.preference_weights)
    routes: tuple[Routes, ...] = ()  # per stage: rerouting of controlled flows (reroute.py)
    movable: F | None = None  # [T, K, R] share of a holding free to trade (extraterritorial rule)

    @classmethod
    def build(cls, net: Network, params: EngineParams, policy: PolicyPath) -> EngineModel:
        r_n = len(net.regions)
        ex = np.ones(r_n, dtype=bool)
        ex[net.chn] = False
        k_n = net.ship.shape[0]
        conv = np.ones(k_n)
        conv[1:] = net.volume[1:] / net.volume[:-1]
        ctls = [policy.stage_controls(k, params, net) for k in range(k_n)]
        free = []
        for k, ctl in enumerate(ctls):
            f = net.ship[k].copy()
            f[ctl.src, ctl.dst] = 0.0
            free.append(f)
        # Project capacity is summed per (stage, region) column with reduceat, not a matmul:
        # OpenBLAS threads matmuls of this size, which costs more than it saves here.
        proj = net.projects
        col = proj["stage"].to_numpy(dtype=np.intp) * r_n + proj["region"].to_numpy(dtype=np.intp)
        order = np.argsort(col, kind="stable")
        cols, first = np.unique(col[order], return_index=True)
        return cls(
            r_n,
            k_n,
            net.chn,
            ex,
            ex.astype(np.float64),
            conv,
            net.share * net.volume[:, None],
            net.demand0,
            net.ship,
            ctls,
            free,
            [np.eye(r_n)[ctl.dst] for ctl in ctls],
            [np.eye(r_n)[ctl.src] for ctl in ctls],
            order.astype(np.intp),
            proj["capacity_t_month"].to_numpy(dtype=np.float64)[order],
            first.astype(np.intp),
            cols.astype(np.intp),
            [[o for o in policy.offtakes if o.stage == k] for k in range(k_n)],
            policy.floor_cover,
            policy=policy,
            sp_rules=policy.stockpile_rules,
            sp_added=None if policy.stockpile is None else np.asarray((policy.stockpile > 0).any(axis=0)),
            stages=tuple(net.stages),
            cap_weights=market_weights(
                net.share * net.volume[:, None],
                net.demand0[None, :] * (net.volume / net.volume[-1])[:, None],
                net.chn,
            ),
            pref=preference_weights(net.regions),
            routes=tuple(Routes.build(net, ctl, policy, k) for k, ctl in enumerate(ctls)),
            movable=held_origin(net, policy),
        )
