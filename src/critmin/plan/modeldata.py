"""The planning model's data types: its inputs (:class:`ModelInputs`), its constraint groups
(:class:`Group`) and a built model (:class:`Built`), with the value of end stock
(:func:`salvage_usd_per_kg`). The model itself is built in :mod:`critmin.plan.model`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import linopy
import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.plan.spec import PlanSpec

F = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ModelInputs:
    """Everything the model reads besides the plan spec (arrays in the dims named).

    ``projects``: index ``project_id``; columns ``product``, ``region`` (host), ``stage``,
    ``capacity_t_per_year``, ``capex_musd``, ``contract_usd_per_kg`` (offtake price),
    ``cofinance_ok`` / ``floor_ok`` (bool), ``cofinance_share`` (0-1).
    ``online``: [3, F, Y, J] share of nameplate produced (base, co-financed, floored).
    ``expect_*``: the planning expectations first-stage rows (budgets, the cut-off test) use;
    kept fixed when the futures are subsampled or averaged, so the first-stage feasible set is
    the same in every derived problem (VSS and EVPI then have their signs).
    """

    years: tuple[int, ...]
    products: tuple[str, ...]
    regions: tuple[str, ...]
    projects: pd.DataFrame
    demand_t: F  # [F, Y, P, R] t/yr
    china_share: F  # [P, R] normal share of supply from China
    china_avail: F  # [F, Y, P, R] 0-1 share of normal China supply reaching the region
    spot_usd_per_kg: F  # [F, Y, P, R] ex-China spot price
    china_usd_per_kg: F  # [F, Y, P, R] price of China's supply
    online: F  # [3, F, Y, J]
    floor_pay_usd_per_kg: F  # [F, Y, J] (strike - spot)^+
    market_share: F  # [P, R] of uncontracted project output a buyer can buy
    priority_share: F  # [P, R] defence share of demand
    voll_priority_usd_per_kg: F  # [P, R]
    voll_other_usd_per_kg: F  # [P, R]
    holding_usd_per_kg_year: F  # [P]
    ref_usd_per_kg: F  # [P]
    discount_rate: float
    other_exchina_t: F | None = None  # [F, Y, P, R] spot supply outside the project list
    expect_online: F | None = None  # [3, Y, J]
    expect_spot: F | None = None  # [Y, P, R]
    expect_floor_pay: F | None = None  # [Y, J]
    expect_demand: F | None = None  # [Y, P, R]
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def n_futures(self) -> int:
        """Number of futures."""
        return int(self.demand_t.shape[0])

    def planning(self) -> ModelInputs:
        """These inputs with the ``expect_*`` arrays filled from the futures (if missing)."""
        return replace(
            self,
            expect_online=self.online.mean(axis=1) if self.expect_online is None else self.expect_online,
            expect_spot=self.spot_usd_per_kg.mean(axis=0) if self.expect_spot is None else self.expect_spot,
            expect_floor_pay=(self.floor_pay_usd_per_kg * self.online[2]).mean(axis=0)
            if self.expect_floor_pay is None
            else self.expect_floor_pay,
            expect_demand=self.demand_t.mean(axis=0) if self.expect_demand is None else self.expect_demand,
        )

    def subset(self, futures: npt.ArrayLike) -> ModelInputs:
        """The inputs on some futures only (planning expectations kept from all of them)."""
        p = self.planning()
        idx = np.asarray(futures, dtype=np.intp)
        return replace(
            p,
            demand_t=p.demand_t[idx],
            china_avail=p.china_avail[idx],
            spot_usd_per_kg=p.spot_usd_per_kg[idx],
            china_usd_per_kg=p.china_usd_per_kg[idx],
            online=p.online[:, idx],
            floor_pay_usd_per_kg=p.floor_pay_usd_per_kg[idx],
            other_exchina_t=None if p.other_exchina_t is None else p.other_exchina_t[idx],
        )

    def mean_value(self) -> ModelInputs:
        """The mean-value problem: one future with every array averaged over the futures."""
        p = self.planning()

        def m(a: F) -> F:
            return a.mean(axis=0, keepdims=True)

        return replace(
            p,
            demand_t=m(p.demand_t),
            china_avail=m(p.china_avail),
            spot_usd_per_kg=m(p.spot_usd_per_kg),
            china_usd_per_kg=m(p.china_usd_per_kg),
            online=p.online.mean(axis=1, keepdims=True),
            floor_pay_usd_per_kg=m(p.floor_pay_usd_per_kg),
            other_exchina_t=None if p.other_exchina_t is None else m(p.other_exchina_t),
        )


@dataclass(frozen=True)
class Group:
    """A constraint group: the linopy constraint names, its words and its kind."""

    id: str
    kind: str  # coverage | concentration | cutoff | budget
    words: str
    constraints: tuple[str, ...]
    spec: dict[str, Any] = field(default_factory=dict)


@dataclass
class Built:
    """A built model with its groups and the coordinates used."""

    model: linopy.Model
    inputs: ModelInputs
    spec: PlanSpec
    groups: dict[str, Group]
    coords: dict[str, pd.Index]
    elastic: frozenset[str] = frozenset()
    #: named linear expressions of the expected cost by instrument (US$ m NPV)
    costs: dict[str, Any] = field(default_factory=dict)
    #: the decomposition's log, one line per iteration (empty after a monolithic solve)
    solver_log: tuple[str, ...] = ()
    #: whether the constraints' duals are those of the LP with the binaries fixed at the optimum
    duals_fixed_lp: bool = False
    #: [tranche, year] 1 where the offtake contract of that tranche delivers
    tranche_years: F = field(default_factory=lambda: np.zeros((0, 0)))

    def yearly(self, name: str) -> F:
        """The solution of a tranche variable (``offtake``, ``o_cofin``, ``o_floor``) per year,
        [project, region, year] t/yr (the volumes of the contracts running that year)."""
        v = self.model.variables[name].solution.fillna(0.0).transpose("project", "region", "tranche")
        return np.asarray(v.values, dtype=float) @ self.tranche_years


def salvage_usd_per_kg(inp: ModelInputs) -> F:
    """The value of a tonne of stock left at the horizon's end, [F, P, R] US$/kg: what it would
    cost to replace then (the cheaper of China's and the ex-China price in the last year of that
    future), never more than the reference price. Valuing it at a fixed reference price instead
    would let a plan buy cheap Chinese supply in a late year only to book it at a higher price."""
    last = np.minimum(inp.china_usd_per_kg[:, -1], inp.spot_usd_per_kg[:, -1])  # [F, P, R]
    return np.minimum(last, np.asarray(inp.ref_usd_per_kg)[None, :, None])


__all__ = ["Built", "Group", "ModelInputs", "salvage_usd_per_kg"]
