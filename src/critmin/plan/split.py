"""The planning model in matrix form, split by its ``future`` dimension into the first stage
and one block per future (what :mod:`critmin.plan.benders` decomposes)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

F = npt.NDArray[np.float64]
I = npt.NDArray[np.intp]  # noqa: E741
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
    #: a second-stage column's (row's) cell over the dimensions other than ``future``: the
    #: same key in every future (-1 in the first stage; empty when not known)
    col_key: I = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    row_key: I = field(default_factory=lambda: np.zeros(0, dtype=np.intp))

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


def _template_key(labels: npt.NDArray[np.int64], dims: tuple[Any, ...]) -> npt.NDArray[np.int64]:
    """For each label of a variable or constraint with a ``future`` dimension, its position
    over the other dimensions (the same cell in every future); -1 without that dimension."""
    if FUTURE not in dims:
        return np.full(labels.shape, -1, dtype=np.int64)
    n_f = int(labels.shape[dims.index(FUTURE)])
    moved = np.moveaxis(np.arange(labels.size).reshape(labels.shape), dims.index(FUTURE), 0)
    flat = moved.reshape(n_f, -1)  # [future, cell]: each cell's flat position
    out = np.empty(labels.size, dtype=np.int64)
    out[flat] = np.arange(flat.shape[1])[None, :]
    return out.reshape(labels.shape)


def _by_label(items: Any, n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each label of linopy's variables (or constraints) ``items``: its future (-1 in the
    first stage) and its cell key, unique across ``items`` and the same in every future."""
    fut = np.full(n, -1, dtype=np.int64)
    key = np.full(n, -1, dtype=np.int64)
    base = 0
    for _, v in items:
        lab = v.labels.values
        dims = tuple(v.labels.dims)
        cell = _template_key(lab, dims)
        ok = lab >= 0
        fut[lab[ok]] = _future_index(lab, dims)[ok]
        key[lab[ok]] = np.where(cell[ok] >= 0, cell[ok] + base, -1)
        base += int(cell.max(initial=-1)) + 1
    return fut, key


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
    fut_of_var, key_of_var = _by_label(m.variables.items(), n_var)
    fut_of_con, key_of_con = _by_label(m.constraints.items(), n_con)
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
        col_key=key_of_var[vl].astype(np.intp),
        row_key=key_of_con[cl].astype(np.intp),
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

    empty = np.zeros(0, dtype=np.intp)  # a group's futures share their cells' keys
    return replace(
        s,
        col_future=regroup(s.col_future),
        row_future=regroup(s.row_future),
        n_futures=n,
        col_key=empty,
        row_key=empty,
    )


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


__all__ = ["FUTURE", "Split", "group_futures", "split_model", "theta_lower_bounds"]
