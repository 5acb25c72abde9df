"""Rerouting of controlled flows through third countries (transshipment and processing).

For a controlled edge e = China -> j at stage k (:class:`~critmin.simulate.inputs.policy.
StageControls`), what a ban keeps home (``home``) or a licence refusal returns (``refused``)
partly still reaches j through a third country h (the route's hub):

    moved_e = (home_e + refused_e) x r_e,   r_e = (v_j + L (1 - v_j)) (1 - E_t) [hub h open]

* v_j (``via_share``): the share of j's baseline Chinese-origin supply that already reaches it
  through a third country (refined or re-exported there; e.g. US gallium from Japan, Germany
  and Canada; simulate/chains/trade.yaml). A destination ban on j does not stop it.
* L (``leakage_share``, [P], a drawn parameter): the share of the rest (the direct flow) that is
  transshipped once banned or refused.
* E_t: enforcement in month t, the largest ``enforcement`` of the bans in force at the stage
  (event field, default 0), and 1 while an extraterritorial licence rule covers the stage (the
  re-export of Chinese-origin product then needs China's licence itself).
* [hub h open]: 0 where China's flow to the hub is itself banned in force, where the hub is
  the destination itself or where there is none (a run without ROW): no route.

The moved product leaves China as an export to h (China's customs record h, and 0 for j) and
arrives at j in the same month (:meth:`Routes.customs`). Mass: moved is taken from what
returned to China's stock and added to j's receipts (booked in engine/balance.py as
``rerouted``). Equations in docs/model.md section 5.5d.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from critmin.simulate.chains.network import Network
from critmin.simulate.inputs.events import BanEvent, LicenceEvent
from critmin.simulate.inputs.policy import PolicyPath, StageControls

F = npt.NDArray[np.float64]


def reroute_share(via: F, leak: F, enforcement: float, hub_open: npt.NDArray[np.bool_]) -> F:
    """[P, E] share of a kept-home or refused flow that reaches its destination via a hub.

    r = (v + L (1 - v)) (1 - E) [hub open]; ``via`` [E], ``leak`` [P, 1], ``hub_open`` [E].
    """
    r = (via[None, :] + leak * (1.0 - via[None, :])) * (1.0 - enforcement)
    return np.clip(r, 0.0, 1.0) * hub_open[None, :]


@dataclass(frozen=True)
class Routes:
    """One stage's routes for the controllable edges (see the module docstring)."""

    via: F  # [E] v of each edge's destination (0 for edges not leaving China)
    from_china: npt.NDArray[np.bool_]  # [E]
    shift: F  # [E, R] to_dst - to_src: moved product leaves the exporter, reaches the destination
    hub: npt.NDArray[np.intp]  # [R] hub region of each destination
    via_dest: F  # [R] v of each destination (customs view of the baseline flows)
    enforcement: F  # [T]
    hub_open: tuple[npt.NDArray[np.bool_], ...]  # per regime key, [E]

    @classmethod
    def build(cls, net: Network, ctl: StageControls, policy: PolicyPath, k: int) -> Routes:
        r_n, c = len(net.regions), net.chn
        via_dest = np.zeros(r_n) if net.via_share is None else net.via_share[k].astype(np.float64)
        rest = net.regions.index("ROW") if "ROW" in net.regions else c
        hub = np.full(r_n, rest, dtype=np.intp) if net.via_hub is None else net.via_hub.astype(np.intp)
        from_china = ctl.src == c
        via = np.where(from_china, via_dest[ctl.dst], 0.0)
        eye = np.eye(r_n)
        shift = eye[ctl.dst] - eye[ctl.src]
        t_n = policy.months
        enforcement = np.zeros(t_n)
        for b in policy.bans:
            if isinstance(b.event, BanEvent) and k in b.stages:
                enforcement = np.where(b.active, np.maximum(enforcement, b.event.enforcement), enforcement)
        for reg in policy.licences:
            ext = isinstance(reg.event, LicenceEvent) and reg.event.extraterritorial
            if ext and k in reg.stages and k >= net.extraterritorial_from:
                enforcement = np.where(reg.active, 1.0, enforcement)
        # China -> hub edge of each edge's destination, if that flow is controllable at all
        edge_of = {(int(s), int(d)): e for e, (s, d) in enumerate(zip(ctl.src, ctl.dst, strict=True))}
        hub_edge = np.array([edge_of.get((c, int(hub[d])), -1) for d in ctl.dst], dtype=np.intp)
        opens = []
        for ban in ctl.ban:
            banned = np.where(hub_edge >= 0, ban[np.maximum(hub_edge, 0)] >= 1.0, False)
            opens.append(from_china & ~banned & (hub[ctl.dst] != ctl.dst) & (hub[ctl.dst] != c))
        return cls(via, from_china, shift, hub, via_dest, enforcement, tuple(opens))

    def moved(self, home: F, refused: F, leak: F, t: int, key: int) -> F:
        """[P, E] t/month of kept-home and refused product that reaches its destination via a hub."""
        share = reroute_share(self.via, leak, float(self.enforcement[t]), self.hub_open[key])
        return (home + refused) * share

    def customs(self, from_china: F, moved_dest: F) -> F:
        """[P, R] China's exports by customs partner: the via share of each destination's
        receipts from China, and ``moved_dest`` ([P, R] rerouted, by final destination), are
        recorded at the destination's hub."""
        direct = from_china * (1.0 - self.via_dest[None, :])
        to_hub = from_china * self.via_dest[None, :] + moved_dest
        return direct + to_hub @ np.eye(self.hub.shape[0])[self.hub]  # column j -> its hub
