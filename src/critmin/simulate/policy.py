"""Compile a scenario's policy timeline into what the engine reads each month.

For month t and stage k the engine asks:

* :meth:`PolicyPath.ban_share` [R, R]: fraction of each exporter -> destination flow that is
  banned (outright bans, destination bans, end-user denial of the defence share);
* :meth:`PolicyPath.licence_share` [P, R, R]: fraction under a licence regime: China's exports
  to the destinations of every regime in force (the element list's ``controlled_share``), plus,
  under an extraterritorial rule, the Chinese-origin part of other regions' exports;
* :meth:`PolicyPath.approval` [P]: the approval rate of licence applications processed now;
* :meth:`PolicyPath.stockpile_add` [R]: strategic-stockpile additions this month.

An event is in force from its date (the month containing it) until a ``lift`` of it, and not
while a ``suspend`` covers the month. Monthly resolution: an event dated within a month counts
from that month (a documented approximation).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from critmin.simulate.params import draw
from critmin.simulate.scenario import Event, EventKind

if TYPE_CHECKING:
    from critmin.simulate.engine import EngineParams
    from critmin.simulate.network import Network

STAGES = ("mining", "separation", "metal_alloy", "magnet")


def _month_index(d: dt.date, start: dt.date) -> int:
    return (d.year - start.year) * 12 + (d.month - start.month)


@dataclass
class _Regime:
    event: Event
    active: npt.NDArray[np.bool_]  # [T]
    dest: npt.NDArray[np.bool_]  # [R]
    stages: tuple[int, ...]
    share: npt.NDArray[np.float64] | None  # [P] or None (use the parameter)


@dataclass
class PolicyPath:
    """Compiled policy for one scenario, all paths (see the module docstring)."""

    months: int
    regions: tuple[str, ...]
    licences: list[_Regime] = field(default_factory=list)
    bans: list[_Regime] = field(default_factory=list)
    approval_override: npt.NDArray[np.float64] | None = None  # [T, P] NaN = use parameter
    stockpile: npt.NDArray[np.float64] | None = None  # [T, R]
    defence_share: float = 0.03

    def ban_share(self, t: int, k: int) -> npt.NDArray[np.float64]:
        """[R, R] banned fraction of each flow (exporter China only)."""
        r = len(self.regions)
        out = np.zeros((r, r))
        c = self.regions.index("CHN")
        for b in self.bans:
            if b.active[t] and k in b.stages:
                frac = self.defence_share if b.event.kind is EventKind.END_USER_DENIAL else 1.0
                out[c] = np.maximum(out[c], b.dest * frac)
        np.fill_diagonal(out, 0.0)
        return out

    def licence_share(self, t: int, k: int, params: EngineParams, net: Network) -> npt.NDArray[np.float64]:
        """[P, R, R] fraction of each flow that needs a licence."""
        p = params.growth.shape[0]
        r = len(self.regions)
        out = np.zeros((p, r, r))
        c = self.regions.index("CHN")
        for reg in self.licences:
            if not (reg.active[t] and k in reg.stages):
                continue
            default = params.share_magnets if k == 3 else params.share_oxides
            share = reg.share if reg.share is not None else default
            row = share[:, None] * reg.dest[None, :]
            out[:, c, :] = np.maximum(out[:, c, :], row)
            if reg.event.extraterritorial and k >= 2:
                origin = net.china_origin[k][None, :, None]  # [1, R_exp, 1]
                out = np.maximum(out, share[:, None, None] * origin * reg.dest[None, None, :])
        idx = np.arange(r)
        out[:, idx, idx] = 0.0
        return out

    def approval(self, t: int, k: int, params: EngineParams) -> npt.NDArray[np.float64]:
        """[P] approval rate of applications processed in month t."""
        if self.approval_override is None:
            return params.approval
        o = self.approval_override[t]
        return np.where(np.isnan(o), params.approval, o)

    def stockpile_add(self, t: int) -> npt.NDArray[np.float64]:
        """[R] stockpile additions in month t (t)."""
        if self.stockpile is None:
            return np.zeros(len(self.regions))
        return self.stockpile[t]


def compile_policy(
    events: tuple[Event, ...],
    start_month: str,
    n_months: int,
    regions: tuple[str, ...],
    n_paths: int,
    rng: np.random.Generator | None,
    *,
    defence_share: float,
) -> PolicyPath:
    """Turn dated events into monthly arrays (see :class:`PolicyPath`)."""
    start = dt.date.fromisoformat(start_month + "-01")
    t_idx = np.arange(n_months)
    active: dict[str, npt.NDArray[np.bool_]] = {}
    for e in events:
        active[e.id] = t_idx >= _month_index(e.date, start)
    for e in events:
        if e.kind is EventKind.LIFT:
            for tid in e.targets:
                if tid in active:
                    active[tid] &= t_idx < _month_index(e.date, start)
        elif e.kind is EventKind.SUSPEND:
            end = _month_index(e.until, start) if e.until else n_months
            for tid in e.targets:
                if tid in active:
                    active[tid] &= ~((t_idx >= _month_index(e.date, start)) & (t_idx < end))
    pol = PolicyPath(n_months, regions, defence_share=defence_share)
    approval = np.full((n_months, n_paths), np.nan)
    stock = np.zeros((n_months, len(regions)))
    for e in events:
        dest = np.array([e.destinations == "all" or r in e.destinations for r in regions])
        stages = tuple(STAGES.index(s.value) for s in e.stages if s.value in STAGES)
        share = draw(e.controlled_share, rng, n_paths) if e.controlled_share is not None else None
        if e.kind is EventKind.LICENCE:
            pol.licences.append(_Regime(e, active[e.id], dest, stages, share))
        elif e.kind in (EventKind.BAN, EventKind.END_USER_DENIAL):
            pol.bans.append(_Regime(e, active[e.id], dest, stages, share))
        elif e.kind is EventKind.APPROVAL_RATE and e.approval_rate is not None:
            on = active[e.id]
            approval[on] = draw(e.approval_rate, rng, n_paths)[None, :]
        elif e.kind is EventKind.STOCKPILE and e.region in regions and e.amount_t is not None:
            m = _month_index(e.date, start)
            if 0 <= m < n_months:
                stock[m, regions.index(e.region)] += e.amount_t
    pol.approval_override = approval
    pol.stockpile = stock
    return pol
