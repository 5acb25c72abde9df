"""Builders shared by the unit tests: frozen toy-engine parameters and small scenarios."""

from __future__ import annotations

import numpy as np
import pandas as pd

from critmin.errors import DataError
from critmin.simulate.chains.network import Network
from critmin.simulate.engine import BLOCK_PATHS, EngineParams, run_engine
from critmin.simulate.engine.types import EngineInputs, Feed, FloorTerms, PathMetrics, SectorInputs, Trace
from critmin.simulate.inputs.params import parameter_table
from critmin.simulate.inputs.policy import PolicyPath
from critmin.simulate.inputs.scenario import Scenario

#: Toy-engine parameters with demand, prices and substitution frozen (elasticities 0, no
#: headroom or growth), so shortfalls can be worked out by hand.
FROZEN = {
    "capacity_headroom": 0.0,
    "capacity_growth_per_year": 0.0,
    "demand_growth_per_year": 0.0,
    "price_elasticity": 0.0,
    "substitution_cap": 0.0,
    "substitution_lag_months": 12.0,
    "cover_months": 2.0,
    "restock_months": 4.0,
    "stockpile_release_per_month": 0.0,
    "approval_rate": 0.5,
    "licence_lag_months": 1.0,
    "controlled_share_last_stage": 0.5,
    "controlled_share_upstream": 0.0,
    "supply_elasticity": 0.3,
    "price_smoothing": 0.5,
    "recycling_share": 0.0,
    "output_usd_per_kg": 10.0,
    "ramp_months": 24.0,
}


def frozen_params(
    n: int, n_regions: int, *, stockpile0_t: np.ndarray | None = None, **over: float
) -> EngineParams:
    """``FROZEN`` with ``over`` applied, for ``n`` paths, no projects, an optional stockpile [n, R]."""
    values = {**FROZEN, **over}
    return EngineParams(
        **{k: np.full(n, float(v)) for k, v in values.items()},
        project_start_month=np.zeros((n, 0)),
        stockpile0_t=np.zeros((n, n_regions)) if stockpile0_t is None else stockpile0_t,
    )


def no_projects() -> pd.DataFrame:
    """An empty project pipeline with the columns a Network carries."""
    return pd.DataFrame(
        {
            "project": pd.Series([], dtype=object),
            "stage": pd.Series([], dtype=int),
            "region": pd.Series([], dtype=int),
            "capacity_t_month": pd.Series([], dtype=float),
            "start_year": pd.Series([], dtype=float),
            "source_id": pd.Series([], dtype=object),
        }
    )


def small_scenario(name: str, varied: tuple[str, ...]) -> Scenario:
    """2026-06 to 2027-12 with every table distribution pinned to its median except ``varied``,
    plus an uncertain post-November-2026 approval rate and the October package returning.
    The regime chain is off (``regime.stochastic: false``): its monthly draws differ between
    paths, which would blur one-at-a-time swings."""
    pinned = {
        p: spec.default.median()
        for p, spec in parameter_table().items()
        if not isinstance(spec.default, int | float) and p not in varied
    }
    return Scenario.model_validate(
        {
            "name": name,
            "start": "2026-06",
            "end": "2027-12",
            "parameters": pinned,
            "regime": {"stochastic": False},
            "events": [
                {
                    "id": "approvals-tighten",
                    "date": "2026-11-10",
                    "kind": "approval_rate",
                    "approval_rate": {"dist": "beta", "a": 4, "b": 6},
                },
                {
                    "id": "package-returns",
                    "date": "2026-11-10",
                    "kind": "licence",
                    "stages": ["separation", "metal_alloy", "magnet"],
                    "extraterritorial": True,
                    "controlled_share": 0.95,
                },
            ],
        }
    )


def toy_network(
    share: np.ndarray,
    ship: np.ndarray,
    volume: np.ndarray,
    demand0: np.ndarray,
    origin: np.ndarray,
    *,
    regions: tuple[str, ...] = ("CHN", "USA"),
    projects: pd.DataFrame | None = None,
    stages: tuple[str, ...] = ("mining", "separation", "metal_alloy", "magnet"),
    commodity: str = "toy",
    product: str = "magnets",
    extraterritorial_from: int = 2,
) -> Network:
    """A toy :class:`Network` (no sources), keyword-built like the bundled chains'."""
    return Network(
        regions=regions,
        share=share,
        ship=ship,
        volume=volume,
        demand0=demand0,
        china_origin=origin,
        projects=no_projects() if projects is None else projects,
        source_ids=(),
        assumption_ids=(),
        stages=stages,
        commodity=commodity,
        product=product,
        extraterritorial_from=extraterritorial_from,
    )


def engine_run(
    net: Network,
    params: EngineParams,
    policy: PolicyPath,
    n_months: int,
    *,
    keep_trace: bool = False,
    check_balance: bool = False,
    block_paths: int = BLOCK_PATHS,
    feed: Feed | None = None,
    sectors: tuple[np.ndarray, np.ndarray] | None = None,
    sector_growth: np.ndarray | None = None,
    floor_terms: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[PathMetrics, dict[str, np.ndarray], Trace | None]:
    """:func:`run_engine` on toy inputs, as (metrics, monthly bands, trace)."""
    if sector_growth is not None and sectors is None:
        raise DataError("sector growth needs the sector shares", column="sector_growth")
    res = run_engine(
        EngineInputs(
            network=net,
            params=params,
            policy=policy,
            n_months=n_months,
            feed=feed,
            sectors=SectorInputs(sectors[0], sectors[1], sector_growth) if sectors is not None else None,
            floor=FloorTerms(*floor_terms) if floor_terms is not None else None,
        ),
        keep_trace=keep_trace,
        check_balance=check_balance,
        block_paths=block_paths,
    )
    return res.metrics, res.bands(), res.trace


def three_regions() -> Network:
    """China ships half its magnets to the USA and half to Japan (demand 50 t/month each);
    four stages, no other trade."""
    share = np.array([[1.0, 0.0, 0.0]] * 4)
    ship = np.stack([np.eye(3)] * 4)
    ship[3, 0] = [0.0, 0.5, 0.5]
    volume = np.full(4, 100.0)
    demand0 = (share[3] * volume[3]) @ ship[3]
    origin = np.array([[1.0, 0.0, 0.0]] * 4)
    return toy_network(share, ship, volume, demand0, origin, regions=("CHN", "USA", "JPN"))
