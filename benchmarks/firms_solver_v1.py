"""The firm solver as it was before issue 11 (level by level), frozen as a reference.

``critmin.trace.firms.solve_Y`` replaced it: this copy is what ``benchmarks/bench_firms_1m.py``
times the new solver against, and what tests/unit/test_hostile_firms.py compares results with
on random networks (cycles included). Same interface: ``solve_Y(M, origin_idx, origin_k, K,
rank)`` returns an object with ``Yp`` (live firms in solve order), ``inv`` and ``facts``.
Not part of the package; do not edit (it is the baseline).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.sparse.linalg import splu

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

_DIRECT_MAX = 200
_TOL = 1e-13
_MAX_SWEEPS = 10_000


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


def _kahn(G: sp.csr_array, seeds: npt.NDArray[np.bool_]) -> tuple[Ints, npt.NDArray[np.bool_]]:
    """Longest-path level of each node of the DAG ``G`` (row -> column edges), by a vectorised
    Kahn sort, and whether a ``seeds`` node reaches it. One numpy step per level."""
    nc = G.shape[0]
    indeg = np.bincount(G.indices, minlength=nc)
    level = np.zeros(nc, dtype=np.int64)
    reached = seeds.copy()
    frontier = np.flatnonzero(indeg == 0)
    depth = 0
    while frontier.size:
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


def _supply_graph(u: Ints, v: Ints, n: int) -> sp.csr_array:
    """Adjacency ``G[u, v] = 1`` (duplicates merged)."""
    G = sp.csr_array((np.ones(len(u), dtype=np.int8), (u, v)), shape=(n, n))
    G.sum_duplicates()
    return G


def _sweeps(Q: sp.csr_array, rhs: Floats, rank: Ints) -> tuple[Floats, int]:
    """Solve ``(I - Q) Z = rhs`` on one large strongly connected component (Gauss-Seidel).

    Firms are ordered by ``rank`` (stage order: most supply edges then point forward), then by
    BFS distance from the entry firms. Edges forward in that order form a DAG; its levels are
    solved one sparse product each, so a sweep is an exact Gauss-Seidel sweep and only the
    backward edges (recycling, some traders) lag by one sweep.
    """
    s = Q.shape[0]
    entries = np.flatnonzero(rhs.any(axis=1))
    if entries.size == 0:
        return np.zeros_like(rhs), 0
    dist = dijkstra(Q.T.tocsr(), directed=True, indices=entries, unweighted=True, min_only=True)
    first = np.lexsort((np.arange(s), dist, rank))
    inv = np.empty(s, dtype=np.int64)
    inv[first] = np.arange(s)
    rows = np.repeat(np.arange(s), np.diff(Q.indptr))
    cols = Q.indices.astype(np.int64)
    fwd = inv[cols] < inv[rows]
    level, _ = _kahn(_supply_graph(cols[fwd], rows[fwd], s), np.zeros(s, dtype=bool))
    order = np.lexsort((inv, level))
    inv[order] = np.arange(s)
    Qo = _remap_cols(Q[order], inv, s)
    ro = rhs[order]
    cuts = [0, *(np.flatnonzero(np.diff(level[order])) + 1).tolist(), s]
    blocks = [(a, b, Qo[a:b]) for a, b in itertools.pairwise(cuts)]
    Z = np.zeros_like(ro)
    prev = np.inf
    sweep = 0
    while sweep < _MAX_SWEEPS:
        sweep += 1
        delta = 0.0
        for a, b, block in blocks:
            new = block @ Z
            new += ro[a:b]
            delta = max(delta, float(np.abs(new - Z[a:b]).max()))
            Z[a:b] = new
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
    facts: dict[str, int]


def solve_Y(M: sp.csr_array, origin_idx: Ints, origin_k: Ints, K: int, rank: Ints | None = None) -> _Solution:
    """Minimal non-negative solution of ``Y = M Y + B`` (see the module docstring).

    ``B`` has a 1 at ``(origin_idx[i], origin_k[i])``; ``rank`` (e.g. each firm's stage order)
    orders firms inside large cycles for the Gauss-Seidel sweeps.
    """
    n = M.shape[0]
    nc, label_ = connected_components(M, directed=True, connection="strong")
    label = label_.astype(np.int64)
    size = np.bincount(label, minlength=nc)
    rows = np.repeat(np.arange(n), np.diff(M.indptr))
    u, v = label[M.indices], label[rows]  # supply direction: supplier component -> customer
    seeds = np.zeros(nc, dtype=bool)
    seeds[label[origin_idx]] = True
    level, live = _kahn(_supply_graph(u[u != v], v[u != v], nc), seeds)
    node_level, node_live = level[label], live[label]
    cyclic, big = size[label] > 1, size[label] > _DIRECT_MAX
    key = (((~node_live * (node_level.max(initial=0) + 1) + node_level) * 2 + cyclic) * 2 + big) * nc
    perm = np.argsort(key + label * big, kind="stable")
    n_live = int(node_live.sum())
    inv = np.empty(n, dtype=np.int64)
    inv[perm] = np.arange(n)
    Mp = _remap_cols(M[perm[:n_live]], inv, n_live)  # live firms in solve order
    Yp = np.zeros((n_live, K))
    Yp[inv[origin_idx], origin_k] = 1.0
    seg = np.stack([node_level, cyclic, big, label * big])[:, perm[:n_live]]
    cuts = [0, *(np.flatnonzero(np.any(np.diff(seg, axis=1) != 0, axis=0)) + 1).tolist(), n_live]
    max_sweeps = 0
    for a, b in itertools.pairwise(cuts if n_live else []):
        lvl, cyc, large = seg[0, a], seg[1, a], seg[2, a]
        if lvl == 0:  # only origin firms are live at level 0; their rows are B
            continue
        block = Mp[a:b]
        ext = block @ Yp  # columns inside [a, b) are still zero, so this is the inflow only
        if not cyc:
            Yp[a:b] = ext
            continue
        inner = block[:, a:b]
        if large:
            firms = perm[a:b]
            Yp[a:b], used = _sweeps(inner, ext, np.zeros(b - a, np.int64) if rank is None else rank[firms])
            max_sweeps = max(max_sweeps, used)
        else:
            Yp[a:b] = splu((sp.eye_array(b - a, format="csc") - inner).tocsc()).solve(ext)
    in_cycles = size[size > 1]
    facts = {
        "levels": int(level.max(initial=-1)) + 1,
        "cyclic_components": int(in_cycles.size),
        "firms_in_cycles": int(in_cycles.sum()),
        "largest_cycle": int(in_cycles.max(initial=0)),
        "max_sweeps": max_sweeps,
    }
    return _Solution(Yp=Yp, inv=inv, facts=facts)
