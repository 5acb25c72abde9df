"""Licence processing on the controllable edges of one stage: dead time, review, cancellation.

Each controllable edge e (exporter -> destination, :class:`~critmin.simulate.inputs.policy.StageControls`)
holds applications in two places, per path (section 5.5 of docs/model.md):

* the **dead-time queue**: an application filed in month t is not reviewed before a dead time
  D (months, per path; MOFCOM's review term of ~45 working days). With D = d + f (d integer,
  0 <= f < 1) and a month's applications filed evenly over the month, a share 1 - f of them
  becomes reviewable in month t + d and f in month t + d + 1;
* the **review pool**: reviewable applications are decided at rate 1/lag a month (geometric);
  a share a (the approval rate, per path and edge) of what is decided is approved and shipped,
  the rest refused and returned to the exporter.

Month t's application joins the pool and can be decided in the same month when it matures
(so D = 1 is exactly the former rule "decided from the month after filing at rate 1/lag").
When a ban (or an embargo state of the regime process, :mod:`critmin.simulate.engine.regimes`)
comes into force on an edge, the banned fraction c of everything pending there (queue and
pool) goes back to the exporter: ``cancelled = c x pending``, booked with the refused flow.

State is [P, E] (pool) and [L, P, E] (queue, a ring buffer of L = floor(max D) + 2 slots,
slot-major so that each slot is one contiguous [P, E] block); filing touches only the slots
some path's dead time reaches, so a month costs a few [P, E] operations.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F = npt.NDArray[np.float64]


def dead_time_weights(dead: F) -> F:
    """[P, L] share of a month's applications that becomes reviewable j months later.

    ``dead`` [P] >= 0 (months); ``w[p, d] = 1 - f`` and ``w[p, d + 1] = f`` for
    ``dead[p] = d + f``. Rows sum to 1.
    """
    dead = np.asarray(dead, dtype=np.float64)
    if (dead < 0).any() or not np.isfinite(dead).all():
        raise ValueError("dead time must be finite and >= 0 months")
    d = np.floor(dead).astype(np.intp)
    f = dead - d
    n_slots = int(d.max(initial=0)) + 2
    w = np.zeros((dead.shape[0], n_slots))
    rows = np.arange(dead.shape[0])
    w[rows, d] = 1.0 - f
    w[rows, d + 1] += f
    return w


class LicenceBook:
    """Pending applications of one stage's E edges for P paths (module docstring)."""

    def __init__(self, n_paths: int, n_edges: int, dead: F, lag: F) -> None:
        self.w = dead_time_weights(dead)  # [P, L]
        self.n_slots = self.w.shape[1]
        self.queue = np.zeros((self.n_slots, n_paths, n_edges))
        self.pool = np.zeros((n_paths, n_edges))
        self.head = 0
        self.rate = 1.0 / np.asarray(lag, dtype=np.float64).reshape(-1, 1)  # [P, 1]
        # the slots j some path files into, with their weights as [P, 1] columns
        self._filing = [(j, self.w[:, j : j + 1].copy()) for j in range(self.n_slots) if self.w[:, j].any()]

    def pending(self) -> F:
        """[P, E] everything applied for and not yet decided (queue + pool), t."""
        return self.pool + self.queue.sum(axis=0)

    def month(self, apply_: F, approval: F, cancel: F | None = None) -> tuple[F, F, F]:
        """One month: cancel, file ``apply_`` [P, E], mature, decide.

        ``approval`` broadcasts to [P, E]; ``cancel`` ([E] or [P, E], in [0, 1]) is the share
        of what is pending that goes back to the exporter before this month's filing.
        Returns (approved, refused, cancelled), each [P, E].
        """
        if cancel is not None:
            keep = 1.0 - cancel
            cancelled = self.pending() * cancel
            self.pool = self.pool * keep
            self.queue *= np.broadcast_to(keep, self.pool.shape)[None, :, :]
        else:
            cancelled = np.zeros_like(self.pool)
        for j, w_j in self._filing:
            self.queue[(self.head + j) % self.n_slots] += apply_ * w_j
        self.pool = self.pool + self.queue[self.head]
        self.queue[self.head] = 0.0
        self.head = (self.head + 1) % self.n_slots
        processed = self.pool * self.rate
        self.pool = self.pool - processed
        approved = processed * approval
        return approved, processed - approved, cancelled


def ban_cancel(prev: F, now: F) -> F | None:
    """[E] share of pending applications a ban rising from ``prev`` to ``now`` cancels.

    A banned fraction b of a flow gets no licence: of what is pending under the old fraction
    b0, the part (b - b0)^+ / (1 - b0) is now banned. None when no ban rose.
    """
    rise = now - prev
    if not (rise > 0).any():
        return None
    room = 1.0 - prev
    return np.divide(np.maximum(rise, 0.0), room, out=np.ones_like(rise), where=room > 0)
