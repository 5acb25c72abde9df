"""Value of the stochastic solution (VSS) and expected value of perfect information (EVPI).

* RP: the plan's recourse problem (its optimum on the futures);
* EV / EEV: solve the mean-value problem (every future replaced by their average), fix its
  first-stage decisions (offtakes, co-financing, floors, stockpile capacity and fills) and
  re-solve the second stage on all futures: EEV. VSS = EEV - RP >= 0;
* WS: wait-and-see, each future solved on its own with its own first stage; EVPI = RP - WS >= 0,
  on ``evpi_futures`` evenly spaced futures (RP re-solved on the same subset; the first-stage
  rows' planning expectations are kept from all futures, so every sub-problem has the same
  first-stage feasible set and the inequalities hold up to the MIP gap).

EVPI is computed for risk-neutral plans only (a CVaR of one future is its cost, so the
wait-and-see bound does not compare).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from critmin.plan.model import FIRST_STAGE, Built, ModelInputs, build_model
from critmin.plan.result import PlanResult, Status, ValueOfInformation
from critmin.plan.solve import objective_value, solve_built
from critmin.plan.spec import PlanSpec

OK = (Status.OPTIMAL, Status.TIME_LIMIT)


def _solve(spec: PlanSpec, inputs: ModelInputs) -> tuple[Built, float | None]:
    b = build_model(spec, inputs)
    st = solve_built(b)
    return b, objective_value(b) if st in OK else None


def fix_first_stage(target: Built, source: Built) -> None:
    """Fix ``target``'s first-stage variables at ``source``'s solution."""
    for name in FIRST_STAGE:
        if name not in target.model.variables or name not in source.model.variables:
            continue
        v = target.model.variables[name]
        sol = source.model.variables[name].solution.fillna(0.0)
        if name in ("cofin", "floor"):
            sol = sol.round()
        v.fix(value=sol)
        if name in ("cofin", "floor"):
            v.relax()


def eev(spec: PlanSpec, inputs: ModelInputs) -> tuple[float | None, str]:
    """Expected cost of the mean-value plan on the futures (None and why, if it fails)."""
    b_ev, ev = _solve(spec, inputs.mean_value())
    if ev is None:
        return None, "the mean-value problem is infeasible"
    b = build_model(spec, inputs)
    fix_first_stage(b, b_ev)
    st = solve_built(b)
    if st not in OK:
        return None, "the mean-value plan cannot meet the targets in every future (VSS unbounded)"
    return objective_value(b), ""


def wait_and_see(spec: PlanSpec, inputs: ModelInputs, futures: int) -> tuple[float | None, float | None, int]:
    """(RP on the subset, WS on the subset, subset size)."""
    n = inputs.n_futures
    idx = np.unique(np.linspace(0, n - 1, min(futures, n)).round().astype(int))
    full = inputs.planning()
    _, rp_sub = _solve(spec, full.subset(idx))
    ws = []
    for i in idx:
        _, v = _solve(spec, full.subset([i]))
        if v is None:
            return rp_sub, None, len(idx)
        ws.append(v)
    return rp_sub, float(np.mean(ws)), len(idx)


def value_of_information(result: PlanResult, inputs: ModelInputs, *, evpi_futures: int = 10) -> PlanResult:
    """``result`` with :class:`ValueOfInformation` filled in."""
    spec = result.spec
    rp = result.objective_musd
    e, note = eev(spec, inputs)
    vss = None if (e is None or rp is None) else e - rp
    rp_sub = ws = evpi = None
    k = 0
    if spec.objective.risk.weight == 0:
        rp_sub, ws, k = wait_and_see(spec, inputs, evpi_futures)
        if rp_sub is not None and ws is not None:
            evpi = rp_sub - ws
    else:
        note = (note + "; " if note else "") + "EVPI not computed for a risk-averse objective"
    return replace(result, value=ValueOfInformation(rp, e, vss, ws, rp_sub, evpi, k, note))


__all__ = ["eev", "fix_first_stage", "value_of_information", "wait_and_see"]
