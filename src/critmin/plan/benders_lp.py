"""The two HiGHS problems of the decomposition (:mod:`critmin.plan.benders`): the subproblems
(every future's block, chunked, warm started, with elastic slacks) and the master (first stage,
one theta per future, the cuts)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from critmin.plan.split import Split

F = npt.NDArray[np.float64]
I = npt.NDArray[np.intp]  # noqa: E741
#: the elastic slacks' cost, as a multiple of the largest second-stage cost coefficient
PENALTY = 1e3
#: about this many rows of subproblem per HiGHS LP (the futures are chunked to that size)
CHUNK_ROWS = 2500


def highs(threads: int) -> Any:
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("random_seed", 0)
    return h


def pass_lp(h: Any, cost: F, lo: F, up: F, A: sp.csc_array, rlo: F, rup: F, integ: Any = None) -> None:
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


def run_checked(h: Any, expect: str) -> str:
    """Run ``h`` and return its model status; a warm-started solve that ends in anything but
    ``expect`` (HiGHS's dual simplex can misjudge a warm start as infeasible, or stop in
    numerical trouble) is run once more from scratch, and that status is the answer."""
    h.run()
    st = str(h.modelStatusToString(h.getModelStatus()))
    if st != expect and st not in ("Time limit reached", "Iteration limit reached"):
        h.clearSolver()
        h.run()
        st = str(h.modelStatusToString(h.getModelStatus()))
    return st


class Subproblems:
    """All futures' second-stage blocks, with elastic slacks on inequalities, as HiGHS LPs of
    about CHUNK_ROWS rows each (a chunk of futures per LP). ``seed_basis``: the first solve
    starts every chunk from future 0's optimal basis (the same answer, fewer pivots)."""

    def __init__(self, s: Split, threads: int, *, seed_basis: bool = True) -> None:
        self.s = s
        #: chunks solved at once (HiGHS releases the GIL while it solves; each chunk is its own
        #: LP, so the result does not depend on the order they finish in)
        self.workers = max(1, int(threads))
        self._pool: ThreadPoolExecutor | None = None
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
            h = highs(threads)  # HiGHS has one scheduler per process: one thread count
            h.setOptionValue("presolve", "off")  # warm starts keep their basis
            h.setOptionValue("simplex_strategy", 1)  # serial dual simplex (chunks run side by side)
            pass_lp(h, cost[cix], clo[cix], cup[cix], sp.csc_array(full_r[rix][:, cix]), lo[rix], up[rix])
            self.chunks.append((h, rix, cix))
        self.n_cols = full.shape[1]
        self.c2 = c2
        self.big = big
        self.last_y = np.zeros(0)
        self.last_pi = np.zeros(0)
        # the subgradients' scatter: T's entries, each to its future's row of G [F, n1]
        tc = sp.coo_array(self.T)
        self._t_row, self._t_val = tc.row, tc.data
        self._t_at = fut_rows[tc.row].astype(np.int64) * self.T.shape[1] + tc.col
        fut_cols = s.col_future[cols]
        self.C = sp.csr_array((c2, (fut_cols, np.arange(len(cols)))), shape=(nf, len(cols)))
        self.slack_fut = np.concatenate([fut_rows[r_lo], fut_rows[r_up]])
        # each future's rows as a slice of one ordering (to keep a cut's duals)
        self.order = np.argsort(fut_rows, kind="stable")
        self.starts = np.searchsorted(fut_rows[self.order], np.arange(nf + 1))
        # every future's block is the same linopy cells (some masked in some futures): the
        # first solve copies future 0's optimal basis to the others cell by cell (see _seed)
        self._row_fut = fut_rows
        self._col_fut = np.concatenate([fut_cols, self.slack_fut])
        self._cold = False
        if seed_basis and len(s.col_key) == len(s.cost) and len(s.row_key) == len(s.row_lower):
            rk = s.row_key[rows]
            n_rk = int(rk.max(initial=-1)) + 1
            n_ck = int(s.col_key.max(initial=-1)) + 1
            # a slack column's cell: its row's, apart for >= and <= slacks
            self._row_cell = rk
            self._col_cell = np.concatenate([s.col_key[cols], n_ck + rk[r_lo], n_ck + n_rk + rk[r_up]])
            self._cold = bool((self._col_cell >= 0).all() and (rk >= 0).all())

    def close(self) -> None:
        """Stop the threads that solve chunks at once (a new solve starts them again)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _seed(self, done: tuple[Any, I, I], rest: list[tuple[Any, I, I]]) -> None:
        """Give the chunks ``rest`` the basis of future 0 (solved in chunk ``done``), cell by
        cell (a cell future 0 lacks starts nonbasic at its lower bound). Passed as an alien
        basis: HiGHS completes or repairs it where a future's block needs more or fewer basic
        columns."""
        import highspy

        h0, rix0, cix0 = done
        b0 = h0.getBasis()
        cs = np.fromiter((int(v) for v in b0.col_status), dtype=np.int8, count=len(cix0))
        rs = np.fromiter((int(v) for v in b0.row_status), dtype=np.int8, count=len(rix0))
        lower = int(highspy.HighsBasisStatus.kLower)
        col_t = np.full(int(self._col_cell.max(initial=-1)) + 1, lower, dtype=np.int8)
        row_t = np.full(int(self._row_cell.max(initial=-1)) + 1, lower, dtype=np.int8)
        in0 = self._col_fut[cix0] == 0
        col_t[self._col_cell[cix0][in0]] = cs[in0]
        in0 = self._row_fut[rix0] == 0
        row_t[self._row_cell[rix0][in0]] = rs[in0]
        by_code = {int(k): k for k in highspy.HighsBasisStatus.__members__.values()}
        for h, rix, cix in rest:
            b = highspy.HighsBasis()
            b.col_status = [by_code[int(v)] for v in col_t[self._col_cell[cix]]]
            b.row_status = [by_code[int(v)] for v in row_t[self._row_cell[rix]]]
            b.valid = True
            b.alien = True
            h.setBasis(b)

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

        def one(chunk: tuple[Any, I, I]) -> str:
            h, rix, cix = chunk
            n = len(rix)
            h.changeRowsBounds(n, np.arange(n, dtype=np.int32), rlo[rix], rup[rix])
            st = run_checked(h, "Optimal")
            if st == "Optimal":
                sol = h.getSolution()
                col[cix] = sol.col_value  # the chunks' rows and columns are disjoint
                pi[rix] = sol.row_dual
            return st

        chunks = self.chunks
        states: list[str] = []
        side_by_side = self.workers > 1 and len(chunks) > 1
        if side_by_side and self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="critmin-benders")
        if self._cold and len(chunks) > 1:
            # cold start: solve the chunk holding future 0, then start every other chunk from
            # its basis (about half the pivots of a cold dual simplex on these blocks); on the
            # pool's threads when there is one (HiGHS keeps one thread count per thread)
            self._cold = False
            states.append(self._pool.submit(one, chunks[0]).result() if self._pool else one(chunks[0]))
            if states[0] == "Optimal":
                self._seed(chunks[0], chunks[1:])
            chunks = chunks[1:]
        if side_by_side and self._pool is not None:
            states += list(self._pool.map(one, chunks))
        else:
            states += [one(c) for c in chunks]
        bad = [st for st in states if st != "Optimal"]
        if bad:
            return bad[0], np.zeros(0), np.zeros((0, 0)), np.zeros(0)
        y = col[: self.n_y]
        sl = col[self.n_y :]
        self.last_y, self.last_pi = y, pi
        nf = self.s.n_futures
        slack_use = np.bincount(self.slack_fut, weights=sl, minlength=nf) if len(sl) else np.zeros(nf)
        q = self.C @ y + self.big * slack_use  # the slacks' cost is part of Q_f
        n1 = self.T.shape[1]
        G = -np.bincount(self._t_at, weights=self._t_val * pi[self._t_row], minlength=nf * n1).reshape(nf, n1)
        return (
            "Optimal",
            np.asarray(q, dtype=float),
            np.asarray(G, dtype=float),
            np.asarray(slack_use, dtype=float),
        )


class Master:
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
        self.h = highs(threads)
        if A.shape[0] == 0:
            A = sp.csc_array((0, A.shape[1]))
        pass_lp(self.h, cost, lo, up, A, s.row_lower[rows], s.row_upper[rows])
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

    def add_cuts(self, futures: I, q: F, G: F, x1: F, sub: Subproblems | None = None) -> None:
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
        st = run_checked(h, "Optimal")
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

    def full_duals(self, sub: Subproblems) -> F | None:
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


__all__ = ["CHUNK_ROWS", "PENALTY", "Master", "Subproblems", "highs", "pass_lp", "run_checked"]
