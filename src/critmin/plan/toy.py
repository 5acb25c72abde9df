"""Small hand-checkable planning problems: :func:`toy_inputs` builds :class:`ModelInputs` from
scalars and short lists, :func:`toy_spec` a plan spec around them (used by the tests and the
docs; every default is stated so an optimum can be worked out by hand).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from critmin.plan.model import ModelInputs
from critmin.plan.spec import PlanSpec


def _grid(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(value, dtype=float)
    return np.broadcast_to(a, shape).copy()


def toy_inputs(
    *,
    years: Sequence[int] = (2027,),
    products: Sequence[str] = ("ndfeb_magnet",),
    regions: Sequence[str] = ("USA",),
    futures: int = 1,
    projects: Sequence[dict[str, Any]] = (),
    demand_t: Any = 100.0,
    china_share: Any = 1.0,
    china_avail: Any = 1.0,
    spot_usd_per_kg: Any = 10.0,
    china_usd_per_kg: Any = 10.0,
    online: Any = None,
    floor_pay_usd_per_kg: Any = 0.0,
    market_share: Any = 0.0,
    priority_share: Any = 0.0,
    voll_priority: Any = 1000.0,
    voll_other: Any = 200.0,
    holding: Any = 0.0,
    ref_usd_per_kg: Any = 10.0,
    discount_rate: float = 0.0,
    other_exchina_t: Any = None,
) -> ModelInputs:
    """Model inputs from broadcastable values ([F, Y, P, R] arrays accept scalars).

    ``projects``: dicts with ``id``, ``product``, ``region``, ``capacity``, ``capex``,
    ``contract`` (US$/kg), ``cofinance_share`` and optional ``cofinance_ok`` / ``floor_ok``;
    ``online``: [3, F, Y, J] (default: every project at nameplate in every case).
    """
    n_f, n_y, n_p, n_r = futures, len(years), len(products), len(regions)
    shp = (n_f, n_y, n_p, n_r)
    rows = [
        {
            "project_id": p["id"],
            "product": p.get("product", products[0]),
            "region": p.get("region", "AUS"),
            "stage": p.get("stage", "magnet"),
            "capacity_t_per_year": float(p.get("capacity", 100.0)),
            "capex_musd": float(p.get("capex", 0.0)),
            "contract_usd_per_kg": float(p.get("contract", 15.0)),
            "cofinance_ok": bool(p.get("cofinance_ok", True)),
            "floor_ok": bool(p.get("floor_ok", True)),
            "cofinance_share": float(p.get("cofinance_share", 0.5)),
        }
        for p in projects
    ]
    cols = [
        "project_id", "product", "region", "stage", "capacity_t_per_year", "capex_musd",
        "contract_usd_per_kg", "cofinance_ok", "floor_ok", "cofinance_share",
    ]  # fmt: skip
    proj = pd.DataFrame(rows, columns=cols).set_index("project_id")
    n_j = len(proj)
    on = np.ones((3, n_f, n_y, n_j)) if online is None else _grid(online, (3, n_f, n_y, n_j))
    return ModelInputs(
        years=tuple(years),
        products=tuple(products),
        regions=tuple(regions),
        projects=proj,
        demand_t=_grid(demand_t, shp),
        china_share=_grid(china_share, (n_p, n_r)),
        china_avail=_grid(china_avail, shp),
        spot_usd_per_kg=_grid(spot_usd_per_kg, shp),
        china_usd_per_kg=_grid(china_usd_per_kg, shp),
        online=on,
        floor_pay_usd_per_kg=_grid(floor_pay_usd_per_kg, (n_f, n_y, n_j)),
        market_share=_grid(market_share, (n_p, n_r)),
        priority_share=_grid(priority_share, (n_p, n_r)),
        voll_priority_usd_per_kg=_grid(voll_priority, (n_p, n_r)),
        voll_other_usd_per_kg=_grid(voll_other, (n_p, n_r)),
        holding_usd_per_kg_year=_grid(holding, (n_p,)),
        ref_usd_per_kg=_grid(ref_usd_per_kg, (n_p,)),
        discount_rate=discount_rate,
        other_exchina_t=None if other_exchina_t is None else _grid(other_exchina_t, shp),
    )


def toy_spec(**fields: Any) -> PlanSpec:
    """A plan spec for the toys: one USA buyer, no reservation fee, no floor, exact MIP gap;
    ``fields`` override (nested dicts as in PLAN.yaml)."""
    base: dict[str, Any] = {
        "name": "toy",
        "futures": 2,
        "years": {"start": 2027, "end": 2027},
        "products": ["ndfeb_magnet"],
        "buyers": [{"region": "USA", "payer": "toy payer"}],
        "instruments": {"offtake": {"reservation_share": 0.0}},
        "solver": {"mip_gap": 0.0, "threads": 1},
    }
    base.update(fields)
    return PlanSpec.model_validate(base)


__all__ = ["toy_inputs", "toy_spec"]
