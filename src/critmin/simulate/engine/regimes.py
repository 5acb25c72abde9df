"""The regime Markov chain per path and destination group, and its effect on licensed edges.

States and inputs: :mod:`critmin.simulate.inputs.regimes`. From the chain's first month t0,
each path's state s[p, g] moves monthly with its per-path rates, by the inverse of each
state's next-state distribution (states ordered open < throttled < embargo) at the month's
uniform u:

    open:      -> throttled if u >= 1 - p_reimpose
    throttled: -> open if u < p_suspend; -> embargo if u >= 1 - p_tighten
    embargo:   -> throttled if u < p_ease

With p_reimpose + p_suspend <= 1 and p_ease + p_tighten <= 1 (the defaults are far inside)
this is a monotone coupling: of two paths with the same uniforms, one that starts in a
stricter state is never in a looser one later, which keeps "a stricter control never raises
ex-China supply" (section 5.10 of docs/model.md) for a fixed ``regime.start``.

The tightening rate of group g is p_tighten x w_g (``regime.tighten_weight``; 0.1 for the
``rest`` group: China's 2023-2026 embargoes each named one country).

In month t0 the state is that of the dated timeline then: embargo where a destination ban
(banned fraction 1) is in force on one of the group's edges or a destination-specific
approval rate of 0 (halted reviews), throttled where a licence is, open otherwise.
A halted destination's rate belongs to the chain: out of the embargo the group's
applications get the all-destination rate. The chain owns the controls in force at t0
(ban0, lic0); controls dated later apply on top. On an edge e to a destination of group g, from t0 on:

    open:      licence share 0 where lic0 > 0 (else the dated one); bans of ban0 lifted
    throttled: the dated licence share where there is one, else the strictest share the
               timeline ever imposes on the edge; bans of ban0 lifted
    embargo:   banned fraction 1 on every edge the timeline ever controls

A path entering an embargo has its pending applications on the edge returned to the exporter
(through the ban rule of :mod:`critmin.simulate.engine.licences`). Cost: O(P x G) a month,
O(P x E) per stage.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from critmin.simulate.inputs.policy import StageControls
from critmin.simulate.inputs.regimes import EMBARGO, OPEN, THROTTLED, RegimeDraws

F = npt.NDArray[np.float64]


def transition(
    state: npt.NDArray[np.int8], u: npt.NDArray[np.float32], rates: tuple[F, F, F, F]
) -> npt.NDArray[np.int8]:
    """Next state [P, G] from ``state`` and uniforms ``u`` [P, G]; ``rates`` = per-path [P]
    (p_suspend, p_tighten, p_reimpose, p_ease); module docstring."""
    sus, tig, rei, eas = (r if r.ndim == 2 else r[:, None] for r in rates)
    nxt = state.copy()
    thr = state == THROTTLED
    nxt[thr & (u < sus)] = OPEN
    nxt[thr & (u >= 1.0 - tig)] = EMBARGO
    nxt[(state == OPEN) & (u >= 1.0 - rei)] = THROTTLED
    nxt[(state == EMBARGO) & (u < eas)] = THROTTLED
    return nxt


class RegimeChain:
    """One block's regime states (module docstring)."""

    def __init__(
        self, draws: RegimeDraws, rows: slice, ctls: list[StageControls], rates: tuple[F, F, F, F]
    ) -> None:
        self.t0 = draws.t0
        self.u = draws.u[:, rows]
        w = draws.tighten_weight if draws.tighten_weight is not None else np.ones(draws.n_groups)
        self.rates = (rates[0], rates[1][:, None] * w[None, :], rates[2], rates[3])
        self.g_n = draws.n_groups
        self.group = draws.group
        self.owned: list[npt.NDArray[np.bool_]] = [np.zeros(c.n_edges, dtype=bool) for c in ctls]
        self.edge_group = [draws.group[c.dst] for c in ctls]  # [E] per stage
        # strictest licence share the timeline ever imposes per edge, and the edges it controls
        self.ref = [
            np.max(np.stack([lic[rows] for lic in c.licence]), axis=0) if c.n_edges else None for c in ctls
        ]
        self.controlled = [
            (np.max(np.stack(c.ban), axis=0)[None, :] > 0) | (ref > 0) if ref is not None else None
            for c, ref in zip(ctls, self.ref, strict=True)
        ]
        self.state: npt.NDArray[np.int8] | None = None
        self.ban0: list[F] = [np.zeros(c.n_edges) for c in ctls]  # dated controls at t0
        self.lic0: list[F] = [np.zeros((self.u.shape[1], c.n_edges)) for c in ctls]

    def on(self, t: int) -> bool:
        """Whether the chain decides month t."""
        return t >= self.t0

    def advance(
        self, t: int, ctls: list[StageControls], licence: list[list[F]], halted: npt.NDArray[np.bool_]
    ) -> None:
        """Set month t's state: the dated one at t0, a transition after. ``halted`` [R]: regions
        with a destination-specific approval rate in force (0 on every path: an embargo)."""
        if t < self.t0:
            return
        if self.state is None or t == self.t0:
            n = self.u.shape[1]
            emb = np.zeros((n, self.g_n), dtype=bool)
            thr = np.zeros((n, self.g_n), dtype=bool)
            for k, c in enumerate(ctls):
                if not c.n_edges:
                    continue
                key = c.key[t]
                self.ban0[k], self.lic0[k] = c.ban[key], licence[k][key]
                for g in range(self.g_n):
                    e = self.edge_group[k] == g
                    if e.any():
                        emb[:, g] |= bool((c.ban[key][e] >= 1.0).any())
                        thr[:, g] |= (licence[k][key][:, e] > 0).any(axis=1)
            owned = np.zeros(self.g_n, dtype=bool)
            for g in range(self.g_n):
                owned[g] = bool(halted[self.group == g].any())
            self.owned = [owned[eg] for eg in self.edge_group]  # [E] per stage
            emb |= (owned & thr.any(axis=0))[None, :]
            self.state = np.where(emb, EMBARGO, np.where(thr, THROTTLED, OPEN)).astype(np.int8)
        else:
            self.state = transition(self.state, self.u[t - self.t0], self.rates)

    def edges(self, k: int, ban: F, lic: F) -> tuple[F, F]:
        """(banned fraction [P, E], licensed fraction [P, E]) on stage k's edges this month,
        from the dated ``ban`` [E] and ``lic`` [P, E]."""
        ref, controlled = self.ref[k], self.controlled[k]
        assert self.state is not None
        assert ref is not None
        assert controlled is not None
        s = self.state[:, self.edge_group[k]]  # [P, E]
        lifted = np.where(self.ban0[k] >= 1.0, 0.0, ban)[None, :]
        ban_eff = np.where((s == EMBARGO) & controlled, 1.0, lifted)
        opened = np.where(self.lic0[k] > 0, 0.0, lic)
        lic_eff = np.where(s == OPEN, opened, np.where(lic > 0, lic, ref))
        return ban_eff, lic_eff

    def approval(self, k: int, dated: F, base: F) -> F:
        """[P, E] approval rate on stage k's edges: ``base`` [P] where the chain owns a
        destination's rate (in force at t0), else the ``dated`` one ([P, E] or [P, 1])."""
        if not self.owned[k].any():
            return dated
        return np.where(self.owned[k][None, :], base[:, None], dated)
