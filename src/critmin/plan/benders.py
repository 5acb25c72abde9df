"""Benders (L-shaped) decomposition of the planning model, solved with HiGHS.

The planning model is a two-stage stochastic program: the first stage (offtakes, co-financing,
floors, stockpile capacity and fills) is the same in every future and the second stage (spot
purchases, drawdown, transfers, rationing) is one block per future, linked to the others only
through the first stage. Its deterministic equivalent grows with the number of futures and its
first-stage columns are dense (each enters every future's rows), which makes a monolithic
simplex slow (a few tens of thousands of pivots, each over those dense columns).

This module splits the linopy model by the ``future`` dimension, at the matrix level, and
solves it by the multi-cut L-shaped method (Van Slyke and Wets 1969; Birge and Louveaux 1988):

* master: ``min c1 x + sum_f theta_f`` over the first-stage rows and the cuts, with the plan's
  integrality (an LP phase first, with the binaries relaxed, then the MILP);
* subproblems: every future's block in one HiGHS LP (block diagonal, so its factorisation stays
  sparse), re-solved warm by dual simplex as the first stage changes only its row bounds;
* optimality cuts ``theta_f >= Q_f(x_k) + g_f (x - x_k)`` with ``g_f = -T_f' pi_f`` from the row
  duals ``pi`` of future ``f``'s rows (HiGHS's sign convention: the row dual is the derivative of
  the objective with respect to the row's active bound);
* feasibility: every second-stage inequality row gets an elastic slack at a cost far above any
  price in the model, so the subproblems are always feasible and their cuts are valid lower
  bounds; a first stage whose futures need a slack is not an incumbent. If the slacks are still
  needed at convergence the caller falls back to the monolithic model (which diagnoses an
  infeasible plan).

The solution is exact to the relative gap asked for: the lower bound is the master's
(a relaxation of the deterministic equivalent, with the master's own MIP dual bound), the upper
bound the best first stage evaluated in every future.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from critmin.plan.benders_lp import CHUNK_ROWS, PENALTY, Master, Subproblems, highs, pass_lp
from critmin.plan.split import Split, group_futures, split_model, theta_lower_bounds

F = npt.NDArray[np.float64]
I = npt.NDArray[np.intp]  # noqa: E741


@dataclass
class BendersResult:
    """The outcome: ``status`` is optimal, time_limit, infeasible (slacks still needed at the
    best point) or failed; ``x`` the full column vector (matrices order), ``row_dual`` every
    row's dual (matrices order), bounds and a log line per iteration."""

    status: str
    objective: float = float("nan")
    lower_bound: float = float("-inf")
    x: F = field(default_factory=lambda: np.zeros(0))
    row_dual: F = field(default_factory=lambda: np.zeros(0))
    iterations: int = 0
    cuts: int = 0
    log: list[str] = field(default_factory=list)
    times_s: dict[str, float] = field(default_factory=dict)
    #: the duals are those of the LP with the integers fixed at the incumbent (or of an LP)
    duals_fixed_lp: bool = False


@dataclass
class _Run:
    """The state the phases of :func:`solve` share."""

    master: Master
    sub: Subproblems
    t0: float
    time_limit: float
    best_ub: float = np.inf
    best_x1: F | None = None
    lb: float = -np.inf
    #: the best point of an LP relaxation phase (not an incumbent of the MILP)
    lp_best_x: F | None = None
    it: int = 0
    log: list[str] = field(default_factory=list)
    times: dict[str, float] = field(default_factory=lambda: {"master": 0.0, "sub": 0.0})

    def left(self) -> float:
        return self.time_limit - (time.perf_counter() - self.t0)


def _phase(
    run: _Run,
    *,
    name: str,
    integral: bool,
    gap: float,
    stabilise: float,
    purge_every: int,
    max_iterations: int,
    core: F | None = None,
) -> str:
    """Iterate master and subproblems until the relative gap is ``gap`` (``integral``: the
    master's points are first stages of the problem itself, so they update the incumbent;
    otherwise only the phase's own bound is tracked, as for the LP relaxation of a MILP).
    Returns optimal, infeasible (no cut left but slacks needed), time_limit, failed or
    iterations."""
    master, sub = run.master, run.sub
    s = sub.s
    c1 = s.cost[s.first]
    lam = stabilise
    phase_ub = run.best_ub if integral else np.inf
    for _ in range(max_iterations):
        if run.left() <= 0:
            return "time_limit"
        run.it += 1
        ta = time.perf_counter()
        mst, xm, theta, mobj, mlb = master.solve(gap=gap / 4, time_left=run.left())
        run.times["master"] += time.perf_counter() - ta
        if mst not in ("Optimal", "Time limit reached"):
            run.log.append(f"master: {mst}")
            if "Time limit" in mst:
                return "time_limit"
            return "infeasible" if "nfeasible" in mst else "failed"
        phase_lb = mlb
        if name not in ("polish", "round"):
            run.lb = max(run.lb, mlb)  # the master is a relaxation of the whole problem
        # in-out stabilisation (Ben-Ameur and Neto 2007): separate at a point between the
        # master's solution and a core point (the running average of the master's solutions)
        if core is None:
            core = xm.copy()
        xs = lam * xm + (1 - lam) * core
        tb = time.perf_counter()
        sst, q, G, slack = sub.solve(xs)
        run.times["sub"] += time.perf_counter() - tb
        if sst != "Optimal":
            run.log.append(f"subproblem: {sst}")
            return "failed"
        ub = float(c1 @ xs + q.sum())
        feasible_here = float(slack.max(initial=0.0)) <= 1e-7
        if feasible_here:
            if not integral and ub < phase_ub:
                run.lp_best_x = xs.copy()
            phase_ub = min(phase_ub, ub)
            if integral and ub < run.best_ub:
                run.best_ub, run.best_x1 = ub, xs.copy()
        est = q + G @ (xm - xs)  # the new cuts at the master's point
        viol = np.flatnonzero(est - theta > 1e-9 * np.maximum(1.0, np.abs(est)))
        if purge_every and run.it % purge_every == 0:
            master.purge(1e-4)  # keep the master small (cuts slack at its last optimum)
        master.add_cuts(viol, q, G, xs, sub)
        core = 0.5 * core + 0.5 * xm
        rel = (phase_ub - phase_lb) / max(1.0, abs(phase_ub))
        run.log.append(
            f"{run.it:3d} {name:7s} master {mobj:12.4f} point {ub:12.4f} best {phase_ub:12.4f} "
            f"gap {rel:8.2e} lam {lam:.2f} pivots {master.last_iters:5d} cuts +{len(viol):3d} "
            f"slack {float(slack.sum()):.1e} {time.perf_counter() - run.t0:6.2f}s"
        )
        if rel <= gap:
            return "optimal"
        if len(viol) == 0:
            if lam < 1:
                lam = 1.0  # the stabilised point gives nothing new: separate at the master's
                continue
            return "optimal" if feasible_here else "infeasible"
    return "iterations"


def warm_point(s: Split, k: int = 10, threads: int = 2) -> F | None:
    """A first stage to start from: the LP of the first stage with ``k`` of the futures (evenly
    spaced, their costs scaled up to stand for all), a small sample-average problem solved in
    one go. None when that LP is not optimal (the decomposition then starts from the master)."""
    nf = s.n_futures
    if k >= nf:
        return None
    pick = np.unique(np.linspace(0, nf - 1, k).round().astype(np.intp))
    in_f = np.isin(s.col_future, pick) | (s.col_future < 0)
    rows = np.flatnonzero(np.isin(s.row_future, pick) | (s.row_future < 0))
    cols = np.flatnonzero(in_f)
    A = sp.csc_array(s.A[rows][:, cols])
    cost = s.cost[cols] * np.where(s.col_future[cols] >= 0, nf / len(pick), 1.0)
    h = highs(threads)
    # primal simplex: measured 1.5-2x faster than dual on these sample-average LPs (their dense
    # first-stage columns make the dual's row-wise pricing dear)
    h.setOptionValue("simplex_strategy", 4)
    pass_lp(h, cost, s.col_lower[cols], s.col_upper[cols], A, s.row_lower[rows], s.row_upper[rows])
    h.run()
    if h.modelStatusToString(h.getModelStatus()) != "Optimal":
        return None
    x = np.asarray(h.getSolution().col_value)
    return np.asarray(x[np.flatnonzero(s.col_future[cols] < 0)], dtype=float)


def nearest_point(s: Split, target: F, fix: I, values: F, threads: int = 2) -> F | None:
    """The first stage nearest ``target`` (in relative L1 distance) that meets the first-stage
    rows with the columns ``fix`` (positions among the first-stage columns) at ``values``: a
    small LP. It turns the LP relaxation's best point into a feasible point of the portfolio
    with its binaries rounded (the round phase's stabilisation centre). None if there is none."""
    rows = np.flatnonzero(s.row_future < 0)
    n = len(s.first)
    A1 = sp.csc_array(s.A[rows][:, s.first])
    eye = sp.identity(n, format="csc")
    # columns [x, d+, d-]: first-stage rows on x; x - d+ + d- = target
    A = sp.vstack(
        [sp.hstack([A1, sp.csc_array((len(rows), 2 * n))]), sp.hstack([eye, -eye, eye])], format="csc"
    )
    w = 1.0 / np.maximum(1.0, np.abs(target))
    lo = np.concatenate([s.col_lower[s.first], np.zeros(2 * n)])
    up = np.concatenate([s.col_upper[s.first], np.full(2 * n, np.inf)])
    lo[fix], up[fix] = values, values
    h = highs(threads)
    pass_lp(
        h,
        np.concatenate([np.zeros(n), w, w]),
        lo,
        up,
        A,
        np.concatenate([s.row_lower[rows], target]),
        np.concatenate([s.row_upper[rows], target]),
    )
    h.run()
    if h.modelStatusToString(h.getModelStatus()) != "Optimal":
        return None
    return np.asarray(h.getSolution().col_value, dtype=float)[:n]


def solve(
    s: Split,
    *,
    gap: float = 1e-4,
    time_limit: float = 120.0,
    threads: int = 2,
    relax: bool = False,
    max_iterations: int = 500,
    stabilise: float = 0.3,
    purge_every: int = 5,
    polish_gap: float = 1e-4,
    warm: bool = True,
    cut_groups: int | None = None,
) -> BendersResult:
    """Solve the split model by the multi-cut L-shaped method (module docstring).

    ``gap``: relative gap between the bounds at which to stop; ``relax``: ignore integrality.
    A MILP is solved in three phases: its LP relaxation (cuts that stay valid), the MILP master
    with the slack cuts dropped, then a polish with the integers fixed at the incumbent to
    ``polish_gap`` (its duals are the shadow prices of that portfolio, as a monolithic solve
    would report them after fixing the binaries)."""
    t0 = time.perf_counter()
    if cut_groups is not None:
        s = group_futures(s, cut_groups)
    lb_theta = theta_lower_bounds(s)
    if not np.all(np.isfinite(lb_theta)):
        return BendersResult("failed", log=["a future's cost is unbounded below on its column bounds"])
    run = _Run(Master(s, threads, lb_theta), Subproblems(s, threads), t0, time_limit)
    run.times["setup"] = time.perf_counter() - t0
    try:
        return _solve_run(
            run,
            s,
            gap=gap,
            threads=threads,
            relax=relax,
            max_iterations=max_iterations,
            stabilise=stabilise,
            purge_every=purge_every,
            polish_gap=polish_gap,
            warm=warm,
        )
    finally:
        run.sub.close()


def _solve_run(
    run: _Run,
    s: Split,
    *,
    gap: float,
    threads: int,
    relax: bool,
    max_iterations: int,
    stabilise: float,
    purge_every: int,
    polish_gap: float,
    warm: bool,
) -> BendersResult:
    """The phases of :func:`solve` on its master and subproblems."""
    t0 = run.t0
    master = run.master
    has_int = bool(s.integer[s.first].any()) and not relax
    master.set_integer(False)
    gap = max(float(gap), 1e-7)  # float noise: an exact gap of 0 would never close
    common: dict[str, Any] = {"purge_every": purge_every, "max_iterations": max_iterations}
    polished = not has_int
    core = None
    tw = time.perf_counter()
    if warm:
        x0 = warm_point(s, threads=threads)
        if x0 is not None:
            sst, q, G, _slack = run.sub.solve(x0)
            if sst == "Optimal":
                master.add_cuts(np.arange(s.n_futures), q, G, x0, run.sub)
                core = x0
                run.log.append(f"    warm start: cuts at the {min(10, s.n_futures)}-future solution")
    run.times["warm"] = time.perf_counter() - tw
    if has_int:
        st = _phase(run, name="LP", integral=False, gap=gap / 2, stabilise=stabilise, core=core, **common)
        fix = np.flatnonzero(s.integer[s.first])
        f32 = fix.astype(np.int32)
        lo0, up0 = s.col_lower[s.first][fix], s.col_upper[s.first][fix]
        if st in ("optimal", "iterations") and run.lp_best_x is not None:
            # round the LP relaxation's binaries and solve the rest: if that portfolio is within
            # the gap of the LP bound (a bound on the MILP too), it is optimal as it stands
            lp_lb = run.lb
            val = np.round(run.lp_best_x[fix])
            frac = int(np.sum(np.abs(run.lp_best_x[fix] - val) > 1e-6))
            run.log.append(f"    LP relaxation: {frac} of {len(fix)} binaries fractional; rounded")
            master.h.changeColsBounds(len(fix), f32, val, val)
            # stabilise about the LP's best point made feasible with the rounded binaries (the
            # master's first point with them fixed can be far from it)
            centre = nearest_point(s, run.lp_best_x, fix, val, threads) if frac else run.lp_best_x
            rst = _phase(
                run, name="round", integral=True, gap=polish_gap, stabilise=stabilise, core=centre, **common
            )
            closed = np.isfinite(run.best_ub) and (run.best_ub - lp_lb) / max(1.0, abs(run.best_ub)) <= gap
            run.log.append(f"    rounded LP portfolio: {rst}, {'within' if closed else 'outside'} the gap")
            if rst == "optimal" and closed:
                st, polished = "optimal", True
            else:
                master.h.changeColsBounds(len(fix), f32, lo0, up0)
                master.set_integer(True)
                st = _phase(run, name="MILP", integral=True, gap=gap, stabilise=1.0, **common)
                if st == "optimal" and run.best_x1 is not None:
                    val = np.round(run.best_x1[fix])
                    master.set_integer(False)
                    master.h.changeColsBounds(len(fix), f32, val, val)
                    run.best_x1[fix] = val
                    pst = _phase(
                        run,
                        name="polish",
                        integral=True,
                        gap=polish_gap,
                        stabilise=stabilise,
                        core=run.best_x1.copy(),
                        **common,
                    )
                    run.log.append(f"    polish: {pst}")
                    polished = pst == "optimal"
    else:
        st = _phase(run, name="LP", integral=True, gap=gap, stabilise=stabilise, core=core, **common)
    run.times["total"] = time.perf_counter() - t0
    run.log.append(
        "    times: setup {setup:.2f}s, warm start {warm:.2f}s, master {master:.2f}s, "
        "subproblems {sub:.2f}s, total {total:.2f}s".format(**run.times)
    )
    if run.best_x1 is None:
        return BendersResult(
            "infeasible" if st in ("optimal", "infeasible") else st,
            iterations=run.it,
            cuts=master.n_cuts,
            log=run.log,
            times_s=run.times,
        )
    if st not in ("optimal", "time_limit"):
        st = "time_limit" if st == "iterations" else st
    # the full solution at the best first stage, and every row's dual there
    sub = run.sub
    sub.solve(run.best_x1)
    y, pi = sub.last_y, sub.last_pi
    x = np.zeros(len(s.cost))
    x[s.first] = run.best_x1
    x[s.second] = y
    duals = np.zeros(len(s.row_lower))
    duals[sub.rows] = pi
    if polished:
        # the LP master once more (integers fixed), for duals aligned with its current cuts
        master.solve(gap=0.0, time_left=max(1.0, run.left()))
        full = master.full_duals(sub)
        if full is not None:
            duals[sub.rows] = full
        if len(master.rows):
            duals[master.rows] = master.row_duals()
    return BendersResult(
        st,
        objective=float(s.cost @ x) + s.constant,
        lower_bound=run.lb + s.constant,
        x=x,
        row_dual=duals,
        iterations=run.it,
        cuts=master.n_cuts,
        log=run.log,
        times_s=run.times,
        duals_fixed_lp=polished,
    )


def solve_linopy(
    m: Any,
    n_futures: int,
    *,
    gap: float,
    time_limit: float,
    threads: int = 2,
    duals_for: Collection[str] | None = None,
) -> BendersResult:
    """Split ``m``, solve it by decomposition and, when a first stage was found that every
    future can meet without the elastic slacks, write the solution and the duals back onto the
    linopy model (as a monolithic solve would; ``duals_for``: only those constraints' duals,
    which saves most of the write-back on a large model). ``status`` ``failed``/``infeasible``:
    nothing was written; the caller should solve the monolithic model instead."""
    from linopy.constants import Result, Solution
    from linopy.constants import Status as LinopyStatus

    t0 = time.perf_counter()
    try:
        s = split_model(m, n_futures)
    except ValueError as e:
        return BendersResult("failed", log=[str(e)])
    t_split = time.perf_counter() - t0
    has_int = bool(s.integer.any())
    r = solve(
        s, gap=gap if has_int else min(gap, 1e-5), time_limit=max(1.0, time_limit - t_split), threads=threads
    )
    r.times_s["split"] = t_split
    r.log.append(f"    split of the linopy model by future: {t_split:.2f}s")
    if r.status not in ("optimal", "time_limit") or len(r.x) == 0:
        return r
    primal = np.full(s.n_labels_var, np.nan)
    primal[s.vlabels] = r.x
    dual = np.full(s.n_labels_con, np.nan)
    dual[s.clabels] = r.row_dual
    term = "optimal" if r.status == "optimal" else "time_limit"
    status = LinopyStatus.from_termination_condition(term)
    if duals_for is None:
        m.assign_result(Result(status, Solution(primal, dual, r.objective)))
        return r
    m.assign_result(Result(status, Solution(primal, np.zeros(0), r.objective)))
    import xarray as xr

    obj_scale = float(getattr(m.objective, "scaling", 1.0))
    for name in duals_for:
        if name not in m.constraints:
            continue
        con = m.constraints[name]
        lab = np.asarray(con.labels.values)
        vals = np.where(lab >= 0, dual[np.maximum(lab, 0)], np.nan)
        scale = getattr(con, "scaling", None)  # row scaling (linopy >= 0.10), as assign_result
        if scale is not None:
            vals = vals * np.asarray(getattr(scale, "values", scale))
        vals = vals / obj_scale
        con.dual = xr.DataArray(vals, {d: con.coords[d] for d in con.coord_dims}, dims=con.coord_dims)
    return r


__all__ = [
    "CHUNK_ROWS",
    "PENALTY",
    "BendersResult",
    "Split",
    "group_futures",
    "nearest_point",
    "solve",
    "solve_linopy",
    "split_model",
    "theta_lower_bounds",
    "warm_point",
]
