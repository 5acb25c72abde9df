"""``--frontier``: the cost of resilience and near-optimal alternatives.

* :func:`pareto_frontier`: the least expected cost as the resilience target tightens: the
  months of a China cut-off the first buyer (or each region of the plan's first cut-off target)
  must survive with its priority demand met, at :data:`MONTHS` (>= 8 points). Each point is a
  full solve; linopy hands HiGHS a fresh model each time, so the points are not warm-started
  (the futures and the built inputs are reused).
* :func:`alternatives`: modelling to generate alternatives (MGA, Brill's hop-skip-jump in
  one step): with the expected cost held within ``slack`` (5%) of the least cost, the
  portfolio with the most stockpile capacity (stockpile-heavy) and the one with the most
  contracted project output (project-heavy: offtakes and co-financed capacity).
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from critmin.plan.model import MUSD, Built, ModelInputs, build_model
from critmin.plan.result import PlanResult, Status
from critmin.plan.solve import objective_value, solve_built
from critmin.plan.spec import Cutoff, PlanSpec

MONTHS = (0, 1, 3, 6, 9, 12, 18, 24)


def _with_months(spec: PlanSpec, months: int) -> PlanSpec:
    cons = spec.constraints.model_dump()
    base = (
        spec.constraints.cutoff[0]
        if spec.constraints.cutoff
        else Cutoff.model_validate(
            {
                "months": 12,
                "min_priority_share": 1.0,
                "regions": [spec.regions[0]],
                "from_year": spec.years.start + 1,
            }
        )
    )
    rest = [c.model_dump() for c in spec.constraints.cutoff[1:]]
    cons["cutoff"] = ([{**base.model_dump(), "months": months}] if months > 0 else []) + rest
    return spec.with_changes(constraints=cons)


def _summary(b: Built) -> dict[str, float]:
    m = b.model
    kap = float(m.variables["capacity"].solution.fillna(0).sum())
    off = float(b.yearly("offtake").sum()) / len(b.inputs.years)
    cof = round(float(m.variables["cofin"].solution.fillna(0).sum()))
    flo = round(float(m.variables["floor"].solution.fillna(0).sum()))
    return {"stockpile_t": kap, "offtake_t_per_year": off, "cofinanced": cof, "floors": flo}


def pareto_frontier(spec: PlanSpec, inputs: ModelInputs, months: tuple[int, ...] = MONTHS) -> pd.DataFrame:
    """One row per target: months of cut-off survived, status, expected cost (US$ m), portfolio summary."""
    rows = []
    for mo in months:
        s = _with_months(spec, mo)
        b = build_model(s, inputs)
        st = solve_built(b)
        row: dict[str, Any] = {"cutoff_months": mo, "status": st.value}
        if st in (Status.OPTIMAL, Status.TIME_LIMIT):
            row["expected_cost_musd"] = objective_value(b)
            row.update(_summary(b))
        rows.append(row)
    return pd.DataFrame(rows)


def alternatives(
    spec: PlanSpec, inputs: ModelInputs, result: PlanResult, slack: float = 0.05
) -> pd.DataFrame:
    """The least-cost portfolio and two alternatives within ``slack`` of its cost."""
    assert result.objective_musd is not None
    rows: list[dict[str, Any]] = []
    best = result.objective_musd
    for label, sense in (("least cost", None), ("stockpile-heavy", "stock"), ("project-heavy", "project")):
        b = build_model(spec, inputs)  # the least-cost row re-solves the plan itself
        with warnings.catch_warnings():  # masked slots count as zero (linopy's legacy semantics)
            warnings.simplefilter("ignore")
            _mga_objective(b, sense, best + slack * abs(best))
        st = solve_built(b)
        row: dict[str, Any] = {"portfolio": label, "status": st.value}
        if st in (Status.OPTIMAL, Status.TIME_LIMIT):
            cost = objective_value(b) if sense is None else _cost_of(b)
            row["expected_cost_musd"] = cost
            row.update(_summary(b))
        rows.append(row)
    return pd.DataFrame(rows)


def _mga_objective(b: Built, sense: str | None, cap: float) -> None:
    """Hold the cost at ``cap`` and maximise stockpile capacity or contracted project output."""
    if sense is None:
        return
    m = b.model
    expr = m.objective.expression
    m.add_constraints(expr <= cap, name="mga_budget")
    if sense == "stock":
        m.add_objective(-1.0 * m.variables["capacity"].sum(), overwrite=True)
    else:
        import xarray as xr

        nameplate = b.inputs.projects["capacity_t_per_year"].to_numpy()
        capx = xr.DataArray(nameplate, coords=[b.coords["project"]])
        # tonnes contracted over the horizon: each contract's volume times the years it runs
        runs = xr.DataArray(b.tranche_years.sum(axis=1), coords=[b.coords["tranche"]])
        m.add_objective(
            -1.0 * (m.variables["offtake"] * runs).sum()
            - (capx * m.variables["cofin"]).sum() * len(b.inputs.years),
            overwrite=True,
        )


def _cost_of(b: Built) -> float:
    """The plan's expected cost at the current solution (the MGA objective is not the cost)."""
    return float(sum(float(e.solution.sum()) for e in b.costs.values()))


__all__ = ["MONTHS", "MUSD", "alternatives", "pareto_frontier"]
