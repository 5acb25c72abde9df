"""Origin tracing on firm-level supply networks (user data), with sparse linear algebra.

Input: a firms table (``firm_id, country, stage``; extra columns kept) and an edges table
(``supplier_id, customer_id, quantity``; optional ``commodity``, ``value_usd``). Quantities
are in one physical unit of contained material throughout (e.g. t REO); only their ratios
matter, so scaling every quantity leaves every share unchanged. Reading and validating the
tables (errors that name file, line and column) is :mod:`critmin.trace.firms_io`; its public
names are re-exported here.

The model
---------
With ``q(s -> c)`` the quantity on the edges from supplier ``s`` to customer ``c`` (parallel
edges summed, self-loops kept)::

    Q[c, s] = q(s -> c)                 q_c = sum_s Q[c, s]          (total input of c)
    W[c, s] = Q[c, s] / q_c             (input-weight matrix; row c is 0 when q_c = 0)

Output content of firm ``f`` by origin country (a row vector over the K countries that have
firms at the origin stage)::

    y_f = e_country(f)                  if stage(f) is the origin stage (content starts here)
    y_f = sum_s W[f, s] y_s             otherwise (pass-through)

The answer is each firm's *input* content, for origin-stage firms too (their inputs come from
upstream, so they are unknown unless they buy from other origin-stage firms, e.g. traders)::

    x_f = sum_s W[f, s] y_s             unknown_f = 1 - sum_k x_fk

In matrix form ``Y = M Y + B``, with ``M`` = ``W`` with the rows of origin-stage firms zeroed
and ``B`` the one-hot rows of their countries. ``x_fk`` is the probability that a walk going
upstream from ``f``, picking supplier ``s`` with probability ``W[f, s]``, first meets an
origin-stage firm in country ``k`` (an absorption probability of a Markov chain; Kemeny & Snell
1960, ch. 3). Mass that never meets one, because it reaches a firm without inputs or circulates
for ever in a closed loop, is ``unknown``. So ``Y`` is the *minimal* non-negative solution,
``Y = sum_j M^j B``, and it is unique wherever ``I - M`` is non-singular.

The solver (why this one)
-------------------------
1. Self-loops are eliminated exactly: for a pass-through firm,
   ``y_f = sum_{s != f} Q[f, s] / (q_f - Q[f, f]) y_s``; a firm whose only input is its own
   output gets ``y_f = 0``.
2. Strongly connected components of ``M`` (``scipy.sparse.csgraph``, Pearce's algorithm) give the
   condensation DAG. Components that no origin-stage firm reaches (including closed loops
   without inflow) are not *live*: ``Y = 0`` there, the minimal solution, so they come out
   ``unknown`` instead of making ``I - M`` singular. Live firms are put in an order in which
   every supplier comes before its customers (cycles kept together), so ``I - M`` restricted
   to them is block lower triangular: one forward pass over the blocks solves it, every input
   of a block final when the block is solved. A live cyclic component ``S`` is irreducible
   and sub-stochastic with at least one row short of 1 (its inflow), so ``rho(M_SS) < 1`` and
   ``I - M_SS`` is a non-singular M-matrix (Berman & Plemmons 1994, ch. 6); so is the whole
   live ``I - M``.
3. The blocks. *Shallow* networks (a condensation of at most ``_LEVEL_CAP`` = 64 longest-path
   levels, found by a vectorised Kahn sort; real supply chains have tens) go level by level:
   acyclic firms of a level are one sparse product ``Y_L = M_L Y`` (exact, each edge used
   once), the small cycles of a level one sparse LU. *Deep* networks (a million-firm chain)
   are not swept level by level, one Python step per level: the components come in Pearce's
   own numbering, which closes suppliers before customers and so is a topological order
   (checked on every edge; a Kahn sort is the fallback), and each run of components between
   large cycles is one SuperLU solve of ``I - M`` in that order, without reordering or
   pivoting (stable on an M-matrix; the factors fill in only in the columns of cycles, not
   at all on a triangular run). Cycles of up to ``_DIRECT_MAX`` = 200 firms are solved inside those LU
   solves: exact. Larger ones use Gauss-Seidel sweeps with the firms ordered by stage, then
   by BFS distance from the component's entry firms (a regular splitting of an M-matrix, so
   it converges, monotonically from 0); a sweep solves the forward edges exactly (level by
   level when shallow, by their triangular SuperLU factor when deep, as in a million-firm
   ring), so only backward edges lag. Sweeps stop when the error bound ``d_k r / (1 - r)``
   (``d_k`` the largest change, ``r`` its ratio to the previous sweep) and ``d_k`` are both
   below 1e-13. After 10,000 sweeps it falls back to SuperLU of the whole component.

Alternatives rejected: ``spsolve`` on the whole ``I - M`` is singular on closed loops, and its
LU fill on a large strongly connected component (a random-graph-like tangle of recyclers and
traders) is unbounded. A global Neumann/Jacobi iteration needs ``depth + log(tol)/log(rho)``
full passes, where the scheme above touches each acyclic edge once. The cost is
``O(nnz K)`` plus, for shallow networks, one numpy step per level.
``benchmarks/bench_firms_1m.py`` times a million-firm ring, chain and synthetic network
against the level-by-level solver this replaced (``benchmarks/firms_solver_v1.py``).
Everything is deterministic. Shares below ``SHARE_EPS`` = 1e-12 count as zero.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components, dijkstra
from scipy.sparse.linalg import SuperLU, splu

from critmin._version import __version__
from critmin.model.stages import Stage
from critmin.trace.firms_io import (  # noqa: F401 - public names re-exported here
    EDGE_COLUMNS,
    FIRM_COLUMNS,
    OPTIONAL_EDGE_COLUMNS,
    CheckedNetwork,
    Floats,
    Ints,
    check_network,
    load_network,
    parse_stage,
    read_network,
    table_kind,
    write_table,
)

UNKNOWN = "unknown"
SHARE_EPS = 1e-12
_DIRECT_MAX = 200  # firms in a cyclic component solved by sparse LU; larger ones iterate
_TOL = 1e-13
_MAX_SWEEPS = 10_000
_LEVEL_CAP = 64  # deeper DAGs are solved by a triangular sparse LU, not level by level
_CHUNK = 1 << 16


@dataclass(frozen=True)
class TraceResult:
    """Input content of every firm by origin country at ``origin_stage``.

    ``shares``: long table ``firm_id, origin, share`` (``origin`` ISO3 or ``"unknown"``, a
    categorical), sorted by firm then share descending, non-zero shares only; per firm the
    shares sum to 1. ``coverage``: ``firms``, ``edges``, ``input_mass``, ``known_mass_share``
    (share of all input mass with a known origin), ``firms_fully_unknown``, ``firms_with_unknown``,
    ``firms_without_inputs``, ``parallel_edges`` (edges repeating an earlier edge's supplier and
    customer, summed with it) and ``parallel_example`` (the first, with the line it repeats, or
    ``None``), and solver facts: ``levels`` (condensation depth; ``None`` beyond 64, solved
    by sparse LU), ``solve_blocks``, ``cyclic_components``, ``firms_in_cycles``,
    ``largest_cycle``, ``max_sweeps``.
    """

    shares: pd.DataFrame
    coverage: dict[str, Any]
    origin_stage: Stage
    commodity: str | None = None
    critmin_version: str = __version__


def calc_Q(n: int, supplier: Ints, customer: Ints, quantity: Floats) -> sp.csr_array:
    """``Q[c, s]`` = total quantity from ``s`` to ``c`` (parallel edges summed, zeros dropped)."""
    Q = sp.csr_array((quantity.astype(np.float64), (customer, supplier)), shape=(n, n))
    Q.sum_duplicates()
    Q.eliminate_zeros()
    return Q


def calc_M(Q: sp.csr_array, origin: npt.NDArray[np.bool_]) -> sp.csr_array:
    """Pass-through matrix: ``M[f, s] = Q[f, s] / sum_{s' != f} Q[f, s']`` for ``s != f``.

    Rows of origin-stage firms are zero; self-loops are eliminated exactly (module docstring).
    """
    n = Q.shape[0]
    rows = np.repeat(np.arange(n), np.diff(Q.indptr))
    cols = Q.indices
    off = cols != rows
    off_total = np.bincount(rows[off], weights=Q.data[off], minlength=n)
    keep = off & ~origin[rows] & (off_total[rows] > 0)
    kept_rows = rows[keep]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(kept_rows, minlength=n))])
    data = Q.data[keep] / off_total[kept_rows]
    return sp.csr_array((data, cols[keep], indptr), shape=(n, n))


def _remap_cols(A: sp.csr_array, colmap: Ints, n_cols: int) -> sp.csr_array:
    """``A`` with column ``j`` moved to ``colmap[j]``; entries mapped to ``>= n_cols`` dropped."""
    cols = colmap[A.indices]
    keep = cols < n_cols
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))[keep]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=A.shape[0]))])
    return sp.csr_array((A.data[keep], cols[keep], indptr), shape=(A.shape[0], n_cols))


def _ranges(starts: Ints, lens: Ints) -> Ints:
    """Concatenation of ``arange(s, s + l)`` for each pair (vectorised)."""
    total = int(lens.sum())
    offsets = np.repeat(starts - (np.cumsum(lens) - lens), lens)
    return offsets + np.arange(total)


def _graph(u: Ints, v: Ints, n: int) -> sp.csr_array:
    """Adjacency ``G[u, v] = 1`` (duplicates merged)."""
    G = sp.csr_array((np.ones(len(u), dtype=np.int8), (u, v)), shape=(n, n))
    G.sum_duplicates()
    return G


def _kahn(
    G: sp.csr_array, cap: int | None = None, seeds: npt.NDArray[np.bool_] | None = None
) -> tuple[Ints, npt.NDArray[np.bool_]] | None:
    """Longest-path level of each node of the DAG ``G`` (row -> column edges), by a vectorised
    Kahn sort (one numpy step per level), and whether a ``seeds`` node reaches it; ``None``
    when the DAG has more than ``cap`` levels."""
    nc = G.shape[0]
    indeg = np.bincount(G.indices, minlength=nc)
    level = np.zeros(nc, dtype=np.int64)
    reached = np.zeros(nc, dtype=bool) if seeds is None else seeds.copy()
    frontier = np.flatnonzero(indeg == 0)
    depth = 0
    while frontier.size:
        if cap is not None and depth >= cap:
            return None
        level[frontier] = depth
        starts = G.indptr[frontier].astype(np.int64)
        lens = G.indptr[frontier + 1] - starts
        targets = G.indices[_ranges(starts, lens)]
        reached[targets[np.repeat(reached[frontier], lens)]] = True
        uniq, counts = np.unique(targets, return_counts=True)
        indeg[uniq] -= counts
        frontier = uniq[indeg[uniq] == 0]
        depth += 1
    return level, reached


def _topo_key(label: Ints, sup: Ints, cus: Ints) -> Ints:
    """A key per component that puts every supplier's component before its customers'.

    Pearce's algorithm (``connected_components``) numbers components in the order it closes
    them, sinks of the ``customer -> supplier`` graph first, so suppliers before customers:
    that numbering already is a topological order. It is checked on every edge (one vectorised
    comparison); were it ever not one, a (slower, one step per level) Kahn sort is used instead.
    """
    nc = int(label.max(initial=-1)) + 1
    if bool((sup <= cus).all()):
        return np.arange(nc, dtype=np.int64)
    between = sup != cus
    sorted_ = _kahn(_graph(sup[between], cus[between], nc))
    assert sorted_ is not None  # no cap
    return sorted_[0] * nc + np.arange(nc)


def _reached(M: sp.csr_array, seeds: Ints) -> npt.NDArray[np.bool_]:
    """Firms that an origin firm reaches along supply edges (``M[c, s]``: ``s`` supplies ``c``).

    One breadth-first search from a virtual root joined to every seed (compiled, ``O(nnz)``).
    """
    n = M.shape[0]
    T = M.T.tocsr()
    indptr = np.concatenate([T.indptr.astype(np.int64), [T.indptr[-1] + len(seeds)]])
    indices = np.concatenate([T.indices.astype(np.int64), seeds])
    G = sp.csr_array((np.ones(len(indices), np.int8), indices, indptr), shape=(n + 1, n + 1))
    found = breadth_first_order(G, n, directed=True, return_predecessors=False)
    out = np.zeros(n + 1, dtype=bool)
    out[found] = True
    return out[:n]


def _lower_lu(P: sp.csr_array) -> SuperLU:
    """SuperLU of ``I - P``, ``P`` in topological order (lower triangular but for small blocks).

    No column reordering and no pivoting: ``I - P`` is a non-singular M-matrix (module
    docstring), so elimination without pivoting is stable and its pivots stay positive, and
    the factors fill in only inside the small cyclic blocks (a triangular ``P``: no fill).
    """
    A = (sp.eye_array(P.shape[0], format="csr") - P).tocsc()
    return splu(A, permc_spec="NATURAL", diag_pivot_thresh=0.0, options={"SymmetricMode": True})


def _direct(inner: sp.csr_array, rhs: Floats) -> Floats:
    """``(I - inner)^-1 rhs``: the inflow alone where ``inner`` is empty (one acyclic level)."""
    if inner.nnz == 0:
        return rhs
    return np.asarray(_lower_lu(inner).solve(rhs), dtype=np.float64)


def _sweeps(Q: sp.csr_array, rhs: Floats, rank: Ints) -> tuple[Floats, int]:
    """Solve ``(I - Q) Z = rhs`` on one large strongly connected component (Gauss-Seidel).

    Firms are ordered by ``rank`` (stage order: most supply edges then point forward), then by
    BFS distance from the entry firms. Edges forward in that order form a DAG ``F`` and a sweep
    solves ``(I - F) Z' = R Z + rhs`` exactly (an exact Gauss-Seidel sweep), so only the
    backward edges ``R`` (recycling, some traders) lag by one sweep. A shallow ``F`` (at most
    ``_LEVEL_CAP`` levels) is solved one sparse product per level; a deep one (a long ring) by
    its triangular SuperLU factor, computed once.
    """
    s = Q.shape[0]
    entries = np.flatnonzero(rhs.any(axis=1))
    if entries.size == 0:
        return np.zeros_like(rhs), 0
    dist = dijkstra(Q.T.tocsr(), directed=True, indices=entries, unweighted=True, min_only=True)
    order = np.lexsort((np.arange(s), dist, rank))
    inv = np.empty(s, dtype=np.int64)
    inv[order] = np.arange(s)
    rows = np.repeat(np.arange(s), np.diff(Q.indptr))
    cols = Q.indices.astype(np.int64)
    fwd = inv[cols] < inv[rows]
    sorted_ = _kahn(_graph(cols[fwd], rows[fwd], s), _LEVEL_CAP)
    level = None if sorted_ is None else sorted_[0]
    if level is not None:
        order = np.lexsort((inv, level))
        inv[order] = np.arange(s)
    Qo = _remap_cols(Q[order], inv, s)
    ro = rhs[order]
    if level is not None:
        cuts = [0, *(np.flatnonzero(np.diff(level[order])) + 1).tolist(), s]
        blocks = [(a, b, Qo[a:b]) for a, b in itertools.pairwise(cuts)]

        def sweep_once(Z: Floats) -> float:  # in place, level by level
            delta = 0.0
            for a, b, block in blocks:
                new = block @ Z
                new += ro[a:b]
                delta = max(delta, float(np.abs(new - Z[a:b]).max()))
                Z[a:b] = new
            return delta

    else:
        lu = _lower_lu(sp.tril(Qo, k=-1, format="csr"))
        backward = sp.triu(Qo, k=1, format="csr")

        def sweep_once(Z: Floats) -> float:
            new = lu.solve(backward @ Z + ro)
            delta = float(np.abs(new - Z).max())
            Z[:] = new
            return delta

    Z = np.zeros_like(ro)
    prev = np.inf
    sweep = 0
    while sweep < _MAX_SWEEPS:
        sweep += 1
        delta = sweep_once(Z)
        ratio = delta / prev if prev > 0 else 0.0
        prev = delta
        if delta <= _TOL and ratio < 1 and delta * ratio / (1 - ratio) <= _TOL:
            break
    else:  # did not converge: solve exactly
        Z = splu((sp.eye_array(s, format="csc") - Qo).tocsc()).solve(ro)
    out = np.empty_like(Z)
    out[order] = Z
    return out, sweep


@dataclass(frozen=True)
class _Solution:
    Yp: Floats  # output content of live firms, in solve order
    inv: Ints  # firm -> row of Yp (>= len(Yp) for firms that are not live)
    facts: dict[str, int | None]


def solve_Y(M: sp.csr_array, origin_idx: Ints, origin_k: Ints, K: int, rank: Ints | None = None) -> _Solution:
    """Minimal non-negative solution of ``Y = M Y + B`` (see the module docstring).

    ``B`` has a 1 at ``(origin_idx[i], origin_k[i])``; ``rank`` (e.g. each firm's stage order)
    orders firms inside large cycles for the Gauss-Seidel sweeps.
    """
    n = M.shape[0]
    nc, label_ = connected_components(M, directed=True, connection="strong")
    label = label_.astype(np.int64)
    size = np.bincount(label, minlength=nc)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(M.indptr))
    u, v = label[M.indices], label[rows]  # supplier's component, customer's component
    seeds = np.zeros(nc, dtype=bool)
    seeds[label[origin_idx]] = True
    sorted_ = _kahn(_graph(u[u != v], v[u != v], nc), _LEVEL_CAP, seeds)
    if sorted_ is not None:
        level, live = sorted_[0], sorted_[1][label]
    else:
        level, live = None, _reached(M, np.asarray(origin_idx, dtype=np.int64))
    big, cyclic = size > _DIRECT_MAX, size > 1
    if level is not None:  # shallow: one block per level (acyclic firms, small cycles), big cycles apart
        comp_key = ((level * 2 + cyclic) * 2 + big) * nc + np.arange(nc) * big
    else:  # deep: runs of components in topological order between the big cycles
        comp_key = _topo_key(label, u, v)
    live_idx = np.flatnonzero(live)
    perm_live = live_idx[np.argsort(comp_key[label[live_idx]], kind="stable")]
    n_live = len(perm_live)
    perm = np.concatenate([perm_live, np.flatnonzero(~live)])
    inv = np.empty(n, dtype=np.int64)
    inv[perm] = np.arange(n)
    Mp = _remap_cols(M[perm_live], inv, n_live)  # live firms in solve order
    B = np.zeros((n_live, K))
    B[inv[origin_idx], origin_k] = 1.0
    Yp = np.zeros((n_live, K))
    lab_p = label[perm_live]
    big_p = big[lab_p]
    cut = (big_p[1:] != big_p[:-1]) | (big_p[1:] & (lab_p[1:] != lab_p[:-1]))
    if level is not None:
        key_p = comp_key[lab_p]
        cut |= key_p[1:] != key_p[:-1]
    cuts = [0, *(np.flatnonzero(cut) + 1).tolist(), n_live] if n_live else [0]
    max_sweeps = 0
    for a, b in itertools.pairwise(cuts):
        block = Mp[a:b]
        rhs = block @ Yp + B[a:b]  # columns from a on are still zero: the inflow only
        inner = block[:, a:b]
        if big_p[a]:
            firms = perm_live[a:b]
            Yp[a:b], used = _sweeps(inner, rhs, np.zeros(b - a, np.int64) if rank is None else rank[firms])
            max_sweeps = max(max_sweeps, used)
        else:
            Yp[a:b] = _direct(inner, rhs)
    in_cycles = size[cyclic]
    facts: dict[str, int | None] = {
        "levels": None if level is None else int(level.max(initial=-1)) + 1,
        "solve_blocks": len(cuts) - 1,
        "cyclic_components": int(in_cycles.size),
        "firms_in_cycles": int(in_cycles.sum()),
        "largest_cycle": int(in_cycles.max(initial=0)),
        "max_sweeps": max_sweeps,
    }
    return _Solution(Yp=Yp, inv=inv, facts=facts)


def trace_firms(
    firms: pd.DataFrame,
    edges: pd.DataFrame,
    origin_stage: Stage | str,
    *,
    commodity: str | None = None,
) -> TraceResult:
    """Input content of every firm by origin country at ``origin_stage`` (module docstring).

    ``firms`` needs ``firm_id, country, stage``; ``edges`` needs ``supplier_id, customer_id,
    quantity`` (and ``commodity`` when ``commodity`` is given, which keeps only those edges).
    Bad input raises :class:`~critmin.errors.DataError` naming the row ("firms row 3").
    """
    stage = _origin(origin_stage)
    return _trace(check_network(firms, edges, commodity), stage, commodity)


def trace_files(
    firms_path: str | Path,
    edges_path: str | Path,
    origin_stage: Stage | str,
    *,
    commodity: str | None = None,
) -> TraceResult:
    """:func:`read_network` then :func:`trace_firms`, validating once (errors name file and line)."""
    stage = _origin(origin_stage)
    return _trace(load_network(firms_path, edges_path, commodity), stage, commodity)


def _origin(origin_stage: Stage | str) -> Stage:
    if isinstance(origin_stage, Stage):
        return origin_stage
    return parse_stage(origin_stage, what="origin stage")


def _trace(net: CheckedNetwork, stage: Stage, commodity: str | None) -> TraceResult:
    """The computation on a validated network (edge ends are positions in ``net.firms``)."""
    firms, sup, cus, quantity = net.firms, net.supplier, net.customer, net.quantity
    n = len(firms)
    is_origin = (firms["stage"] == stage.value).to_numpy()
    origin_idx = np.flatnonzero(is_origin)
    countries = sorted(pd.unique(firms["country"].to_numpy()[origin_idx]).tolist())
    K = len(countries)
    origin_k = np.searchsorted(np.asarray(countries, dtype=object), firms["country"].to_numpy()[origin_idx])
    Q = calc_Q(n, sup, cus, quantity)
    q_total = np.asarray(Q.sum(axis=1), dtype=np.float64).ravel()
    rank = np.asarray(firms["stage"].map({st.value: st.order for st in Stage}), dtype=np.int64)
    sol = solve_Y(calc_M(Q, is_origin), origin_idx, origin_k.astype(np.int64), K, rank)
    n_live = sol.Yp.shape[0]
    # Input content of origin firms: x_o = W[o, :] Y (their own rows of Y are one-hot outputs).
    Qo = _remap_cols(Q[origin_idx], sol.inv, n_live)
    with np.errstate(divide="ignore", invalid="ignore"):
        Xo = (Qo @ sol.Yp) / np.where(q_total[origin_idx] > 0, q_total[origin_idx], 1.0)[:, None]
    shares, known = _long_table(firms["firm_id"], sol, Xo, origin_idx, countries)
    mass = float(q_total.sum())
    coverage: dict[str, Any] = {
        "origin_stage": stage.value,
        "commodity": commodity,
        "firms": n,
        "edges": len(quantity),
        "origin_firms": len(origin_idx),
        "origin_countries": K,
        "input_mass": mass,
        "known_mass_share": float((q_total * known).sum() / mass) if mass > 0 else None,
        "firms_fully_unknown": int((known <= 0).sum()),
        "firms_with_unknown": int((known < 1 - SHARE_EPS).sum()),
        "firms_without_inputs": int((q_total <= 0).sum()),
        "parallel_edges": net.parallel_edges,
        "parallel_example": net.parallel_example,
        **sol.facts,
    }
    return TraceResult(shares=shares, coverage=coverage, origin_stage=stage, commodity=commodity)


def _long_table(
    firm_ids: pd.Series, sol: _Solution, Xo: Floats, origin_idx: Ints, countries: list[str]
) -> tuple[pd.DataFrame, Floats]:
    """Long ``firm_id, origin, share`` table (sorted by firm, share desc) and known share per firm."""
    n, K, n_live = len(firm_ids), len(countries), sol.Yp.shape[0]
    try:
        order = firm_ids.argsort(kind="stable").to_numpy()
    except TypeError:  # mixed id types in an object column
        order = firm_ids.astype("str").argsort(kind="stable").to_numpy()
    at_origin = np.full(n, -1, dtype=np.int64)
    at_origin[origin_idx] = np.arange(len(origin_idx))
    known = np.zeros(n)
    parts: list[tuple[Ints, Ints, Floats]] = []
    for start in range(0, n, _CHUNK):
        f = order[start : start + _CHUNK]
        X = np.zeros((len(f), K))
        rows = sol.inv[f]
        is_live = rows < n_live
        X[is_live] = sol.Yp[rows[is_live]]
        po = at_origin[f]
        X[po >= 0] = Xo[po[po >= 0]]
        X[X < SHARE_EPS] = 0.0
        unknown = 1.0 - X.sum(axis=1)
        unknown[unknown < SHARE_EPS] = 0.0
        known[f] = 1.0 - unknown
        E = np.column_stack([X, unknown])
        idx = np.argsort(-E, axis=1, kind="stable")  # ties: country order, unknown last
        E = np.take_along_axis(E, idx, axis=1)
        nz = E > 0
        parts.append((np.repeat(f, nz.sum(axis=1)), idx[nz], E[nz]))
    firm_pos = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    codes = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    share = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    frame = pd.DataFrame(
        {
            "firm_id": firm_ids.take(firm_pos).reset_index(drop=True),
            "origin": pd.Categorical.from_codes(codes, categories=pd.Index([*countries, UNKNOWN])),
            "share": share,
        }
    )
    return frame, known
