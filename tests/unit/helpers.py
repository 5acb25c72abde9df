"""Builders shared by the unit tests: frozen toy-engine parameters and small scenarios."""

from __future__ import annotations

import numpy as np
import pandas as pd

from critmin.simulate.engine import EngineParams
from critmin.simulate.params import parameter_table
from critmin.simulate.scenario import Scenario

#: Toy-engine parameters with demand, prices and substitution frozen (elasticities 0, no
#: headroom or growth), so shortfalls can be worked out by hand.
FROZEN = {
    "headroom": 0.0,
    "cap_growth": 0.0,
    "growth": 0.0,
    "elasticity": 0.0,
    "subst_cap": 0.0,
    "subst_lag": 12.0,
    "cover": 2.0,
    "restock": 4.0,
    "release_rate": 0.0,
    "approval": 0.5,
    "lag": 1.0,
    "share_magnets": 0.5,
    "share_oxides": 0.0,
    "supply_elasticity": 0.3,
    "smoothing": 0.5,
    "recycling": 0.0,
    "value_per_kg": 10.0,
    "ramp": 24.0,
}


def frozen_params(
    n: int, n_regions: int, *, stockpile0: np.ndarray | None = None, **over: float
) -> EngineParams:
    """``FROZEN`` with ``over`` applied, for ``n`` paths, no projects, an optional stockpile [n, R]."""
    values = {**FROZEN, **over}
    return EngineParams(
        **{k: np.full(n, float(v)) for k, v in values.items()},
        project_start=np.zeros((n, 0)),
        stockpile0=np.zeros((n, n_regions)) if stockpile0 is None else stockpile0,
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
    plus an uncertain post-November-2026 approval rate and the October package returning."""
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
