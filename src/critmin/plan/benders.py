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
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

F = npt.NDArray[np.float64]
I = npt.NDArray[np.intp]  # noqa: E741
#: the elastic slacks' cost, as a multiple of the largest second-stage cost coefficient
PENALTY = 1e3
#: about this many rows of subproblem per HiGHS LP (the futures are chunked to that size)
CHUNK_ROWS = 2500
FUTURE = "future"


@dataclass(frozen=True)
class Split:
    """A linopy model in matrix form, split into its first and second stage.

    Columns and rows are positions in linopy's ``matrices`` order. ``col_future[j]`` is the
    future of second-stage column ``j`` (-1 for the first stage), likewise ``row_future``.
    """

    A: sp.csr_array
    row_lower: F
    row_upper: F
    col_lower: F
    col_upper: F
    cost: F
    integer: npt.NDArray[np.bool_]
    col_future: I
    row_future: I
    vlabels: I
    clabels: I
    n_labels_var: int
    n_labels_con: int
    n_futures: int
    constant: float = 0.0

    @property
    def first(self) -> I:
        """First-stage column positions."""
        return np.flatnonzero(self.col_future < 0)

    @property
    def second(self) -> I:
        """Second-stage column positions."""
        return np.flatnonzero(self.col_future >= 0)


def _future_index(labels: npt.NDArray[np.int64], dims: tuple[Any, ...]) -> npt.NDArray[np.int64]:
    """For each label of a variable or constraint, the index on its ``future`` dimension."""
    if FUTURE not in dims:
        return np.full(labels.shape, -1, dtype=np.int64)
    ax = dims.index(FUTURE)
    shape = [1] * labels.ndim
    shape[ax] = labels.shape[ax]
    return np.broadcast_to(np.arange(labels.shape[ax]).reshape(shape), labels.shape)


def split_model(m: Any, n_futures: int) -> Split:
    """Split the linopy model ``m`` (its ``future`` dimension has ``n_futures`` entries).

    Raises ``ValueError`` if a row without a future dimension reads a second-stage column
    (then the model is not two-stage in that dimension) or the model has quadratic terms."""
    mat = m.matrices
    if not (mat.var_scaling == 1).all():
        raise ValueError("solver scaling is not supported by the decomposition")
    vl = np.asarray(mat.vlabels, dtype=np.int64)
    cl = np.asarray(mat.clabels, dtype=np.int64)
    n_var = int(m._xCounter)
    n_con = int(m._cCounter)
    fut_of_var = np.full(n_var, -1, dtype=np.int64)
    for _, v in m.variables.items():
        lab = v.labels.values
        idx = _future_index(lab, tuple(v.labels.dims))
        ok = lab >= 0
        fut_of_var[lab[ok]] = idx[ok]
    fut_of_con = np.full(n_con, -1, dtype=np.int64)
    for _, c in m.constraints.items():
        lab = c.labels.values
        idx = _future_index(lab, tuple(c.labels.dims))
        ok = lab >= 0
        fut_of_con[lab[ok]] = idx[ok]
    col_future = fut_of_var[vl]
    row_future = fut_of_con[cl]
    A = sp.csr_array(mat.A)
    b = np.asarray(mat.b, dtype=float)
    sense = np.asarray(mat.sense)
    lo = np.where(sense == "<", -np.inf, b)
    up = np.where(sense == ">", np.inf, b)
    # a first-stage row must not read a second-stage column
    first_rows = np.flatnonzero(row_future < 0)
    sub = A[first_rows][:, np.flatnonzero(col_future >= 0)]
    if sub.nnz:
        raise ValueError("a row without a future dimension reads a second-stage variable")
    # a future's row reads only its own future's second-stage columns
    coo = A.tocoo()
    cf = col_future[coo.col]
    rf = row_future[coo.row]
    if np.any((cf >= 0) & (cf != rf)):
        raise ValueError("a row reads second-stage variables of another future")
    const = float(getattr(m.objective.expression, "const", 0.0) or 0.0)
    return Split(
        A=A,
        row_lower=lo,
        row_upper=up,
        col_lower=np.asarray(mat.lb, dtype=float),
        col_upper=np.asarray(mat.ub, dtype=float),
        cost=np.asarray(mat.c, dtype=float),
        integer=np.asarray(mat.vtypes) != "C",
        col_future=col_future.astype(np.intp),
        row_future=row_future.astype(np.intp),
        vlabels=vl.astype(np.intp),
        clabels=cl.astype(np.intp),
        n_labels_var=n_var,
        n_labels_con=n_con,
        n_futures=int(n_futures),
        constant=const,
    )


def group_futures(s: Split, n_groups: int) -> Split:
    """The same split with the futures pooled into ``n_groups`` contiguous groups: one cut and
    one ``theta`` per group instead of per future (fewer, denser-in-information rows in the
    master, at the price of more iterations; ``n_groups = n_futures`` is the multi-cut method,
    1 the single-cut one)."""
    n = int(max(1, min(n_groups, s.n_futures)))
    if n == s.n_futures:
        return s
    g_of = (np.arange(s.n_futures) * n) // s.n_futures

    def regroup(a: I) -> I:
        return np.where(a >= 0, g_of[np.maximum(a, 0)], -1).astype(np.intp)

    return replace(s, col_future=regroup(s.col_future), row_future=regroup(s.row_future), n_futures=n)


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


def _highs(threads: int) -> Any:
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("random_seed", 0)
    return h


def _pass_lp(h: Any, cost: F, lo: F, up: F, A: sp.csc_array, rlo: F, rup: F, integ: Any = None) -> None:
    import highspy

    lp = highspy.HighsLp()
    lp.num_col_ = int(A.shape[1])
    lp.num_row_ = int(A.shape[0])
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.asarray(lo, dtype=float)
    lp.col_upper_ = np.asarray(up, dtype=float)
    lp.row_lower_ = np.asarray(rlo, dtype=float)
    lp.row_upper_ = np.asarray(rup, dtype=float)
    A = sp.csc_array(A)
    A.sort_indices()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    if integ is not None:
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if f else highspy.HighsVarType.kContinuous for f in integ
        ]
    h.passModel(lp)


class _Sub:
    """All futures' second-stage blocks, with elastic slacks on inequalities, as HiGHS LPs of
    about CHUNK_ROWS rows each (a chunk of futures per LP)."""

    def __init__(self, s: Split, threads: int) -> None:
        self.s = s
        rows = np.flatnonzero(s.row_future >= 0)
        cols = s.second
        self.rows, self.cols = rows, cols
        A = s.A[rows]
        self.W = sp.csc_array(A[:, cols])
        self.T = sp.csr_array(A[:, s.first])
        lo, up = s.row_lower[rows], s.row_upper[rows]
        self.lo, self.up = lo, up
        c2 = s.cost[cols]
        big = PENALTY * max(1.0, float(np.abs(c2).max(initial=0.0)), float(np.abs(s.cost).max(initial=0.0)))
        ineq = ~np.isclose(lo, up)
        # slack columns: +1 on >= rows (raise the activity), -1 on <= rows
        has_lo = ineq & np.isfinite(lo)
        has_up = ineq & np.isfinite(up)
        r_lo = np.flatnonzero(has_lo)
        r_up = np.flatnonzero(has_up)
        n_s = len(r_lo) + len(r_up)
        S = sp.csc_array(
            (
                np.concatenate([np.ones(len(r_lo)), -np.ones(len(r_up))]),
                (np.concatenate([r_lo, r_up]), np.arange(n_s)),
            ),
            shape=(len(rows), n_s),
        )
        self.n_y = len(cols)
        self.n_slack = n_s
        full = sp.hstack([self.W, S], format="csc")
        cost = np.concatenate([c2, np.full(n_s, big)])
        clo = np.concatenate([s.col_lower[cols], np.zeros(n_s)])
        cup = np.concatenate([s.col_upper[cols], np.full(n_s, np.inf)])
        # the blocks in chunks of futures, one HiGHS LP each: the same pivots as one LP, each on
        # a far smaller basis (warm started from the last solve: only row bounds change)
        nf = s.n_futures
        fut_rows = s.row_future[rows]
        fut_slack = np.concatenate([fut_rows[r_lo], fut_rows[r_up]])
        n_chunks = int(max(1, min(nf, round(len(rows) / CHUNK_ROWS))))
        chunk_of = (np.arange(nf) * n_chunks) // nf
        row_chunk = chunk_of[fut_rows]
        col_chunk = np.concatenate([chunk_of[s.col_future[cols]], chunk_of[fut_slack]])
        full_r = sp.csr_array(full)
        self.chunks: list[tuple[Any, I, I]] = []
        for c in range(n_chunks):
            rix = np.flatnonzero(row_chunk == c)
            cix = np.flatnonzero(col_chunk == c)
            h = _highs(threads)  # HiGHS has one scheduler per process: one thread count
            h.setOptionValue("presolve", "off")  # warm starts keep their basis
            _pass_lp(h, cost[cix], clo[cix], cup[cix], sp.csc_array(full_r[rix][:, cix]), lo[rix], up[rix])
            self.chunks.append((h, rix, cix))
        self.n_cols = full.shape[1]
        self.c2 = c2
        self.big = big
        self.last_y = np.zeros(0)
        self.last_pi = np.zeros(0)
        self.R = sp.csr_array((np.ones(len(rows)), (fut_rows, np.arange(len(rows)))), shape=(nf, len(rows)))
        fut_cols = s.col_future[cols]
        self.C = sp.csr_array((c2, (fut_cols, np.arange(len(cols)))), shape=(nf, len(cols)))
        self.slack_fut = np.concatenate([fut_rows[r_lo], fut_rows[r_up]])
        # each future's rows as a slice of one ordering (to keep a cut's duals)
        self.order = np.argsort(fut_rows, kind="stable")
        self.starts = np.searchsorted(fut_rows[self.order], np.arange(nf + 1))

    def rows_of(self, f: int) -> I:
        """Positions (in this LP's rows) of future ``f``'s rows."""
        return self.order[self.starts[f] : self.starts[f + 1]]

    def solve(self, x1: F) -> tuple[str, F, F, F]:
        """At first stage ``x1``: (status, Q_f [F], subgradients G [F, n1], slack use [F]);
        the solution and row duals are kept in ``last_y`` and ``last_pi``."""
        tx = self.T @ x1
        rlo, rup = self.lo - tx, self.up - tx
        col = np.zeros(self.n_cols)
        pi = np.zeros(len(self.rows))
        for h, rix, cix in self.chunks:
            n = len(rix)
            h.changeRowsBounds(n, np.arange(n, dtype=np.int32), rlo[rix], rup[rix])
            h.run()
            st = h.modelStatusToString(h.getModelStatus())
            if st != "Optimal":
                return st, np.zeros(0), np.zeros((0, 0)), np.zeros(0)
            sol = h.getSolution()
            col[cix] = sol.col_value
            pi[rix] = sol.row_dual
        y = col[: self.n_y]
        sl = col[self.n_y :]
        self.last_y, self.last_pi = y, pi
        nf = self.s.n_futures
        slack_use = np.bincount(self.slack_fut, weights=sl, minlength=nf) if len(sl) else np.zeros(nf)
        q = self.C @ y + self.big * slack_use  # the slacks' cost is part of Q_f
        G = -(self.R @ (sp.diags(pi) @ self.T)).toarray()
        return (
            "Optimal",
            np.asarray(q, dtype=float),
            np.asarray(G, dtype=float),
            np.asarray(slack_use, dtype=float),
        )


class _Master:
    """The master problem: first-stage columns, one ``theta`` per future, the first-stage rows."""

    def __init__(self, s: Split, threads: int, theta_lower: F) -> None:
        self.s = s
        first = s.first
        self.first = first
        rows = np.flatnonzero(s.row_future < 0)
        self.rows = rows
        A1 = s.A[rows][:, first]
        nf = s.n_futures
        self.n1 = len(first)
        A = sp.hstack([A1, sp.csr_array((len(rows), nf))], format="csc")
        cost = np.concatenate([s.cost[first], np.ones(nf)])
        lo = np.concatenate([s.col_lower[first], theta_lower])
        up = np.concatenate([s.col_upper[first], np.full(nf, np.inf)])
        self.integer = np.concatenate([s.integer[first], np.zeros(nf, dtype=bool)])
        self.h = _highs(threads)
        if A.shape[0] == 0:
            A = sp.csc_array((0, A.shape[1]))
        _pass_lp(self.h, cost, lo, up, A, s.row_lower[rows], s.row_upper[rows])
        self.n_cuts = 0
        self.cut_future: list[int] = []
        self.cut_pi: list[F | None] = []

    def set_integer(self, on: bool) -> None:
        import highspy

        n = self.n1 + self.s.n_futures
        kind = np.where(
            self.integer & on, int(highspy.HighsVarType.kInteger), int(highspy.HighsVarType.kContinuous)
        ).astype(np.uint8)
        self.h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), kind)

    def add_cuts(self, futures: I, q: F, G: F, x1: F, sub: _Sub | None = None) -> None:
        """Cuts ``theta_f - G_f x >= q_f - G_f x1`` for ``futures``; with ``sub``, each cut keeps
        the duals of its future's rows that made it (see :meth:`full_duals`)."""
        if len(futures) == 0:
            return
        for f in futures:
            self.cut_future.append(int(f))
            self.cut_pi.append(sub.last_pi[sub.rows_of(int(f))].copy() if sub is not None else None)
        Gs = G[futures]
        rhs = q[futures] - Gs @ x1
        Gs = np.where(np.abs(Gs) < 1e-12 * max(1.0, float(np.abs(Gs).max(initial=0.0))), 0.0, Gs)
        blk = sp.hstack(
            [
                sp.csr_array(-Gs),
                sp.csr_array(
                    (np.ones(len(futures)), (np.arange(len(futures)), futures)),
                    shape=(len(futures), self.s.n_futures),
                ),
            ],
            format="csr",
        )
        blk.sort_indices()
        self.h.addRows(
            len(futures),
            rhs,
            np.full(len(futures), np.inf),
            int(blk.nnz),
            blk.indptr[:-1].astype(np.int32),
            blk.indices.astype(np.int32),
            blk.data.astype(float),
        )
        self.n_cuts += len(futures)

    def solve(self, *, gap: float, time_left: float) -> tuple[str, F, F, float, float]:
        """(status, x1, theta, objective, lower bound)."""
        h = self.h
        # HiGHS times a solver object over all its runs: the limit is on that running total
        h.setOptionValue("time_limit", float(h.getRunTime()) + max(1.0, float(time_left)))
        h.setOptionValue("mip_rel_gap", float(gap))
        h.run()
        st = h.modelStatusToString(h.getModelStatus())
        if st == "Unknown":  # numerical trouble in a warm start: once more from scratch
            h.clearSolver()
            h.run()
            st = h.modelStatusToString(h.getModelStatus())
        if st == "Time limit reached" and int(h.getInfo().primal_solution_status) != 2:
            st = "Time limit reached without a solution"
        if st not in ("Optimal", "Time limit reached"):
            return st, np.zeros(0), np.zeros(0), float("nan"), float("nan")
        col = np.asarray(h.getSolution().col_value)
        info = h.getInfo()
        self.last_iters = int(info.simplex_iteration_count)
        obj = float(info.objective_function_value)
        lb = obj
        if self.integer.any() and getattr(info, "mip_dual_bound", None) is not None:
            mdb = float(info.mip_dual_bound)
            if np.isfinite(mdb) and info.mip_node_count >= 0 and self._is_mip():
                lb = mdb
        return st, col[: self.n1], col[self.n1 :], obj, lb

    def purge(self, rel_tol: float = 1e-6) -> int:
        """Delete the cuts that are slack at the last solve (they do not define the current
        optimum; dropping them keeps the master small for the MILP phase). Returns how many."""
        h = self.h
        n0 = len(self.rows)
        n = int(h.getNumRow())
        if n <= n0:
            return 0
        act = np.asarray(h.getSolution().row_value)[n0:n]
        lo = np.asarray(h.getLp().row_lower_)[n0:n]
        drop = np.flatnonzero(act - lo > rel_tol * np.maximum(1.0, np.abs(lo)))
        if len(drop):
            h.deleteRows(len(drop), (drop + n0).astype(np.int32))
            gone = set(drop.tolist())
            self.cut_future = [f for i, f in enumerate(self.cut_future) if i not in gone]
            self.cut_pi = [p for i, p in enumerate(self.cut_pi) if i not in gone]
        return len(drop)

    def full_duals(self, sub: _Sub) -> F | None:
        """The second-stage rows' duals of the whole problem, from the master's last LP solve:
        each future's cuts' duals (they sum to one, the future's theta having cost one) weight
        the subproblem duals that made those cuts. LP duality of the master with its cuts makes
        this, with the first-stage rows' duals, a dual solution of the deterministic
        equivalent whose value is the master's bound. None if a cut has no duals kept."""
        n0 = len(self.rows)
        mu = np.asarray(self.h.getSolution().row_dual)[n0:]
        if len(mu) != len(self.cut_pi) or any(p is None for p in self.cut_pi):
            return None
        out = np.zeros(len(sub.rows))
        for k in np.flatnonzero(np.abs(mu) > 0):
            pi = self.cut_pi[k]
            assert pi is not None
            out[sub.rows_of(self.cut_future[k])] += mu[k] * pi
        return out

    def _is_mip(self) -> bool:
        lp = self.h.getLp()
        return bool(len(lp.integrality_)) and any(int(t) != 0 for t in lp.integrality_)

    def row_duals(self) -> F:
        """The first-stage rows' duals at the last (LP) solve."""
        return np.asarray(self.h.getSolution().row_dual)[: len(self.rows)]


def theta_lower_bounds(s: Split) -> F:
    """A valid lower bound on each future's second-stage cost from the column bounds alone
    (-inf where a column with a negative cost is unbounded above)."""
    cols = s.second
    c = s.cost[cols]
    lo, up = s.col_lower[cols], s.col_upper[cols]
    with np.errstate(invalid="ignore"):
        v = np.where(c >= 0, c * np.where(np.isfinite(lo), lo, -np.inf), c * up)
    v = np.where(c == 0, 0.0, v)
    return np.asarray(np.bincount(s.col_future[cols], weights=v, minlength=s.n_futures), dtype=float)


@dataclass
class _Run:
    """The state the phases of :func:`solve` share."""

    master: _Master
    sub: _Sub
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
    h = _highs(threads)
    _pass_lp(h, cost, s.col_lower[cols], s.col_upper[cols], A, s.row_lower[rows], s.row_upper[rows])
    h.run()
    if h.modelStatusToString(h.getModelStatus()) != "Optimal":
        return None
    x = np.asarray(h.getSolution().col_value)
    return np.asarray(x[np.flatnonzero(s.col_future[cols] < 0)], dtype=float)


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
    run = _Run(_Master(s, threads, lb_theta), _Sub(s, threads), t0, time_limit)
    master = run.master
    has_int = bool(s.integer[s.first].any()) and not relax
    master.set_integer(False)
    gap = max(float(gap), 1e-7)  # float noise: an exact gap of 0 would never close
    common: dict[str, Any] = {"purge_every": purge_every, "max_iterations": max_iterations}
    polished = not has_int
    core = None
    if warm:
        x0 = warm_point(s, threads=threads)
        if x0 is not None:
            sst, q, G, _slack = run.sub.solve(x0)
            if sst == "Optimal":
                master.add_cuts(np.arange(s.n_futures), q, G, x0, run.sub)
                core = x0
                run.log.append(f"    warm start: cuts at the {min(10, s.n_futures)}-future solution")
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
            master.h.changeColsBounds(len(fix), f32, val, val)
            rst = _phase(run, name="round", integral=True, gap=polish_gap, stabilise=stabilise, **common)
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
) -> BendersResult:
    """Split ``m``, solve it by decomposition and, when a first stage was found that every
    future can meet without the elastic slacks, write the solution and the duals back onto the
    linopy model (as a monolithic solve would). ``status`` ``failed``/``infeasible``: nothing was
    written; the caller should solve the monolithic model instead."""
    from linopy.constants import Result, Solution
    from linopy.constants import Status as LinopyStatus

    try:
        s = split_model(m, n_futures)
    except ValueError as e:
        return BendersResult("failed", log=[str(e)])
    has_int = bool(s.integer.any())
    r = solve(s, gap=gap if has_int else min(gap, 1e-5), time_limit=time_limit, threads=threads)
    if r.status not in ("optimal", "time_limit") or len(r.x) == 0:
        return r
    primal = np.full(s.n_labels_var, np.nan)
    primal[s.vlabels] = r.x
    dual = np.full(s.n_labels_con, np.nan)
    dual[s.clabels] = r.row_dual
    term = "optimal" if r.status == "optimal" else "time_limit"
    m.assign_result(
        Result(LinopyStatus.from_termination_condition(term), Solution(primal, dual, r.objective))
    )
    return r


__all__ = ["PENALTY", "BendersResult", "Split", "solve", "solve_linopy", "split_model", "theta_lower_bounds"]
