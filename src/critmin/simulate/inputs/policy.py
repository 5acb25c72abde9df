"""Compile a scenario's policy timeline into what the engine reads each month.

For month t and stage k the engine asks:

* :meth:`PolicyPath.ban_share` [R, R]: fraction of each exporter -> destination flow that is
  banned (outright bans, destination bans, end-user denial of the defence share);
* :meth:`PolicyPath.licence_share` [P, R, R]: fraction under a licence regime: China's exports
  to the destinations of every regime in force (the element list's ``controlled_share``), plus,
  under an extraterritorial rule, the Chinese-origin part of other regions' exports;
* :meth:`PolicyPath.approval` [P]: the approval rate of licence applications processed now;
* :meth:`PolicyPath.stockpile_add` [R]: strategic-stockpile additions this month.

The engine does not call the two share methods every month: :meth:`PolicyPath.stage_controls`
evaluates them once per distinct set of regimes in force and keeps only the flows they can
touch (:class:`StageControls`), so a month costs O(P x edges) instead of O(P x R x R).

An event is in force from its date (the month containing it) until a ``lift`` of it, and not
while a ``suspend`` covers the month. A suspension is itself an event: lifting it (or
suspending it) ends its effect from that month. Monthly resolution: an event dated within a
month counts from that month (a documented approximation). A stockpile event adds to its
country's model region in its month (in the first month if dated before the start).
``approval_rate`` events apply to every licence regime in force (their ``targets`` are
informational), the latest-dated one winning where several are in force; one with
``destinations`` sets the rate of applications for those destinations only, over any
all-destination rate (:meth:`PolicyPath.edge_approval`). ``general_licence`` events let a share
of the licensed flow to their destinations ship without review (:meth:`PolicyPath.general_share`).
Only China is modelled as a controlling exporter: a ban or licence event with another ``exporter`` is
refused rather than silently treated as China's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from critmin.errors import DataError
from critmin.simulate.chains.network import Network, region_of
from critmin.simulate.inputs.events import (
    CONTROL_TYPES,
    ApprovalRateEvent,
    ControlEvent,
    EndUserDenialEvent,
    Event,
    GeneralLicenceEvent,
    LicenceEvent,
    LiftEvent,
    OfftakeEvent,
    PriceFloorEvent,
    StockpileEvent,
    SuspendEvent,
    stages_of,
    targets_of,
)
from critmin.simulate.inputs.params import draw
from critmin.simulate.inputs.regimes import RegimeDraws, RegimeSpec, regime_draws


class PolicyParameters(Protocol):
    """What the policy reads of the engine's per-path parameters
    (:class:`critmin.simulate.engine.types.EngineParams` has these fields): the licensed share
    of the users' product and of upstream products, and the approval rate, each [P]."""

    @property
    def controlled_share_last_stage(self) -> npt.NDArray[np.float64]: ...
    @property
    def controlled_share_upstream(self) -> npt.NDArray[np.float64]: ...
    @property
    def approval_rate(self) -> npt.NDArray[np.float64]: ...


STAGES = ("mining", "separation", "metal_alloy", "magnet")


def _month_index(d: dt.date, start: dt.date) -> int:
    return (d.year - start.year) * 12 + (d.month - start.month)


@dataclass
class _Regime:
    event: ControlEvent
    active: npt.NDArray[np.bool_]  # [T]
    dest: npt.NDArray[np.bool_]  # [R]
    stages: tuple[int, ...]
    share: npt.NDArray[np.float64] | None  # [P] or None (use the parameter)


@dataclass(frozen=True)
class StageControls:
    """One stage's controls for the whole horizon, restricted to the flows they can touch.

    An *edge* e is an exporter -> destination pair (``src[e]`` -> ``dst[e]``, never a region to
    itself) with a positive baseline shipping share ``weight[e]`` (``net.ship[k]``) that some
    regime in the horizon bans or licenses; every other flow is always delivered. ``key[t]``
    indexes the set of regimes in force in month t into ``ban`` ([E] banned fraction of the
    flow, equal for all paths) and ``licence`` ([P, E] licensed fraction of what is not banned).
    The values are exactly those of :meth:`PolicyPath.ban_share` and
    :meth:`PolicyPath.licence_share` on the edges.
    """

    src: npt.NDArray[np.intp]
    dst: npt.NDArray[np.intp]
    weight: npt.NDArray[np.float64]
    key: npt.NDArray[np.intp]
    ban: tuple[npt.NDArray[np.float64], ...]
    licence: tuple[npt.NDArray[np.float64], ...]

    @property
    def n_edges(self) -> int:
        """Number of controllable edges E."""
        return int(self.src.shape[0])


@dataclass(frozen=True)
class Offtake:
    """A contract: ``buyer`` takes up to ``t_month`` of ``seller``'s stage-``stage`` output first."""

    id: str
    stage: int
    seller: int
    buyer: int
    t_month: float
    active: npt.NDArray[np.bool_]  # [T]


@dataclass(frozen=True)
class PriceFloor:
    """A price floor in force: ``payer`` tops covered producers' revenue up to ``usd_per_kg``."""

    id: str
    payer: int  # region index of the floor's owner (the event's ``region``)
    usd_per_kg: float
    active: npt.NDArray[np.bool_]  # [T]
    #: covered output (kg/month) when the event gives it; else the run's ``FloorTerms``
    covered_kg_per_month: float | None = None


@dataclass(frozen=True)
class StockpileRules:
    """Release rules of each region's public stockpile, arrays [R] by owner (stockpile events;
    ``critmin.simulate.engine.inventory``): release when unmet demand of the served regions
    reaches ``short_at`` of their demand (inf: never on shortage) or the ex-China price ratio
    reaches ``price_at`` (inf: never on price), at most ``share_cap`` of the content (NaN: the
    parameter ``stockpile.release_per_month``) and ``t_cap`` t a month, to the regions
    ``serve[owner]`` (owner and allies); ``replenish`` t/month bought back from surplus."""

    short_at: npt.NDArray[np.float64]
    price_at: npt.NDArray[np.float64]
    share_cap: npt.NDArray[np.float64]
    t_cap: npt.NDArray[np.float64]
    serve: npt.NDArray[np.bool_]  # [R, R]
    replenish: npt.NDArray[np.float64]
    ever: npt.NDArray[np.bool_]  # [R] regions some stockpile event names


def _stockpile_rules(events: list[StockpileEvent], regions: tuple[str, ...]) -> StockpileRules:
    """Merge the stockpile events' rules per owner region, later given fields overriding."""
    r_n = len(regions)
    given: list[dict[str, float]] = [{} for _ in range(r_n)]
    allies: list[set[int]] = [set() for _ in range(r_n)]
    for e in sorted(events, key=lambda ev: ev.date):
        o = regions.index(region_of(e.region, regions))
        for name in (
            "release_when_short",
            "release_when_price",
            "release_share_per_month",
            "release_t_per_month",
            "replenish_t_per_month",
        ):
            if getattr(e, name) is not None:
                given[o][name] = getattr(e, name)
        allies[o] |= {regions.index(region_of(a, regions)) for a in e.release_to}
    short_at, price_at = np.zeros(r_n), np.full(r_n, np.inf)
    share_cap, t_cap, replenish = np.full(r_n, np.nan), np.full(r_n, np.inf), np.zeros(r_n)
    serve = np.eye(r_n, dtype=bool)
    for o, g in enumerate(given):
        if "release_when_short" in g or "release_when_price" in g:
            short_at[o] = float(g.get("release_when_short", np.inf))
            price_at[o] = float(g.get("release_when_price", np.inf))
        share_cap[o] = float(g.get("release_share_per_month", np.nan))
        t_cap[o] = float(g.get("release_t_per_month", np.inf))
        replenish[o] = float(g.get("replenish_t_per_month", 0.0))
        serve[o, list(allies[o])] = True
    ever = np.zeros(r_n, dtype=bool)
    for e in events:
        ever[regions.index(region_of(e.region, regions))] = True
    return StockpileRules(short_at, price_at, share_cap, t_cap, serve, replenish, ever)


@dataclass(frozen=True)
class StagePile:
    """Public stockpiles of an intermediate stage's product (stockpile events with ``stage``):
    ``add`` [T, R] t arriving from outside the market, ``buy`` [T, R] t to buy from the
    region's stock of the product, ``rules`` their release rules by owner region (released to
    the next stage of the regions served when it lacks input; engine/inventory.py)."""

    stage: int
    add: npt.NDArray[np.float64]
    buy: npt.NDArray[np.float64]
    rules: StockpileRules


def stockpile_stage(e: StockpileEvent, stages: tuple[str, ...]) -> int:
    """Index of the chain stage whose product stockpile event ``e`` holds (the last by default);
    a DataError naming the event when the chain has no such stage."""
    if e.stage is None:
        return len(stages) - 1
    if e.stage.value not in stages:
        raise DataError(
            f"stockpile {e.id!r} holds {e.stage.value!r} but the chain has stages {list(stages)}",
            column="stage",
            fix=f"give `stage:` from {list(stages)} (or leave it out: the users' product)",
        )
    return stages.index(e.stage.value)


def fill_schedule(e: StockpileEvent, start: dt.date, n_months: int) -> list[tuple[int, float, bool]]:
    """(month, t, bought on the market) parts of a stockpile event: ``amount_t`` in
    ``fill_months`` equal parts from its month; parts before the start are there at the start
    (bought before the run: from outside), parts after the horizon are dropped."""
    m0 = _month_index(e.date, start)
    part = e.amount_t / e.fill_months
    out = []
    for i in range(e.fill_months):
        m = m0 + i
        if m >= n_months:
            break
        out.append((max(m, 0), part, e.fill_from == "market" and m >= 0))
    return out


@dataclass
class PolicyPath:
    """Compiled policy for one scenario, all paths (see the module docstring)."""

    months: int
    regions: tuple[str, ...]
    licences: list[_Regime] = field(default_factory=list)
    bans: list[_Regime] = field(default_factory=list)
    approval_override: npt.NDArray[np.float64] | None = None  # [T, P] NaN = use parameter
    stockpile: npt.NDArray[np.float64] | None = None  # [T, R]
    floor: npt.NDArray[np.float64] | None = None  # [T] guaranteed NdPr price (usd/kg), 0 = none
    floors: list[PriceFloor] = field(default_factory=list)  # each floor, for its payer's cost
    #: [T, K, R] producers a price floor keeps at full capacity (the floor event's region/stages)
    floor_cover: npt.NDArray[np.bool_] | None = None
    offtakes: list[Offtake] = field(default_factory=list)  # in timeline order = priority
    defence_share: float = 0.03
    stockpile_rules: StockpileRules | None = None  # release rules by owner region
    #: destination-specific approval rates, latest-dated last: ([T] in force, [R] dest, [P] rate)
    dest_approval: list[tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.float64]]] = field(
        default_factory=list
    )
    #: the regime Markov chain's draws (inputs/regimes.py), None when it is off
    regime: RegimeDraws | None = None
    #: general licences: ([T] in force, [R] dest, stage indices, [P] share without review)
    general: list[
        tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], tuple[int, ...], npt.NDArray[np.float64]]
    ] = field(default_factory=list)
    #: [T, R] users'-stage stockpile purchases from the market (``fill_from: market``), or None
    stockpile_buy: npt.NDArray[np.float64] | None = None
    #: stockpiles of intermediate stages' products, one per stage some event names
    stage_piles: tuple[StagePile, ...] = ()

    def edge_approval(
        self, t: int, base: npt.NDArray[np.float64], dst: npt.NDArray[np.intp], rows: slice
    ) -> npt.NDArray[np.float64]:
        """[P, E] (or [P, 1] when no destination-specific rate is in force) approval rate of
        applications on edges with destinations ``dst``; ``base`` [P] is the all-destination
        rate of paths ``rows``."""
        out = base[:, None]
        for on, dest, rate in self.dest_approval:
            if on[t]:
                hit = dest[dst]
                if hit.any():
                    out = np.where(hit[None, :], rate[rows, None], out)
        return out

    def halted(self, t: int) -> npt.NDArray[np.bool_]:
        """[R] destinations whose destination-specific approval rate in month t is 0 on every
        path (halted reviews: the regime chain's embargo)."""
        out = np.zeros(len(self.regions), dtype=bool)
        for on, dest, rate in self.dest_approval:
            if on[t]:
                out = np.where(dest, bool((rate == 0).all()), out)
        return out

    def general_share(
        self, t: int, k: int, dst: npt.NDArray[np.intp], rows: slice
    ) -> npt.NDArray[np.float64] | None:
        """[P, E] share of the licensed flow on edges to ``dst`` shipped under a general
        licence at stage k in month t (the largest in force), or None."""
        out = None
        for on, dest, at, share in self.general:
            if on[t] and k in at:
                g = share[rows, None] * dest[dst][None, :]
                out = g if out is None else np.maximum(out, g)
        return out

    def regimes_in_force(self, t: int, k: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Indices of the licence regimes and bans in force at stage k in month t."""
        lic = tuple(i for i, reg in enumerate(self.licences) if reg.active[t] and k in reg.stages)
        ban = tuple(i for i, b in enumerate(self.bans) if b.active[t] and k in b.stages)
        return lic, ban

    def ban_share(self, t: int, k: int) -> npt.NDArray[np.float64]:
        """[R, R] banned fraction of each flow (exporter China only)."""
        r = len(self.regions)
        out = np.zeros((r, r))
        c = self.regions.index("CHN")
        for b in self.bans:
            if b.active[t] and k in b.stages:
                frac = self.defence_share if isinstance(b.event, EndUserDenialEvent) else 1.0
                out[c] = np.maximum(out[c], b.dest * frac)
        np.fill_diagonal(out, 0.0)
        return out

    def licence_share(
        self, t: int, k: int, params: PolicyParameters, net: Network
    ) -> npt.NDArray[np.float64]:
        """[P, R, R] fraction of each flow that needs a licence.

        China's row: max over regimes in force of ``share_p x dest_j``; under an
        extraterritorial regime (stages >= metal/alloy) also ``share_p x origin_i x dest_j``
        for every exporter i, ``origin_i`` being the Chinese-origin part of i's output.
        """
        p = params.approval_rate.shape[0]
        r = len(self.regions)
        out = np.zeros((p, r, r))
        c = self.regions.index("CHN")
        for reg in self.licences:
            if not (reg.active[t] and k in reg.stages):
                continue
            last = net.ship.shape[0] - 1
            default = params.controlled_share_last_stage if k == last else params.controlled_share_upstream
            share = reg.share if reg.share is not None else default
            row = share[:, None] * reg.dest[None, :]
            out[:, c, :] = np.maximum(out[:, c, :], row)
            ext = isinstance(reg.event, LicenceEvent) and reg.event.extraterritorial
            if ext and k >= net.extraterritorial_from:
                origin = net.china_origin[k][None, :, None]  # [1, R_exp, 1]
                out = np.maximum(out, share[:, None, None] * origin * reg.dest[None, None, :])
        idx = np.arange(r)
        out[:, idx, idx] = 0.0
        return out

    def stage_controls(self, k: int, params: PolicyParameters, net: Network) -> StageControls:
        """Precompile stage k's controls over the horizon (see :class:`StageControls`).

        :meth:`ban_share` and :meth:`licence_share` are evaluated once per distinct set of
        regimes in force (a handful per scenario), not once per month.
        """
        keys: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
        key = np.zeros(self.months, dtype=np.intp)
        first: list[int] = []
        for t in range(self.months):
            s = self.regimes_in_force(t, k)
            if s not in keys:
                keys[s] = len(keys)
                first.append(t)
            key[t] = keys[s]
        bans = [self.ban_share(t, k) for t in first]
        lics = [self.licence_share(t, k, params, net) for t in first]
        r = len(self.regions)
        touched = np.zeros((r, r), dtype=bool)
        for b, lic in zip(bans, lics, strict=True):
            touched |= (b > 0) | (lic > 0).any(axis=0)
        touched &= net.ship[k] > 0
        np.fill_diagonal(touched, False)
        src, dst = np.nonzero(touched)
        return StageControls(
            src=src.astype(np.intp),
            dst=dst.astype(np.intp),
            weight=net.ship[k][src, dst].astype(np.float64),
            key=key,
            ban=tuple(np.ascontiguousarray(b[src, dst]) for b in bans),
            licence=tuple(np.ascontiguousarray(lic[:, src, dst]) for lic in lics),
        )

    def approval(self, t: int, params: PolicyParameters) -> npt.NDArray[np.float64]:
        """[P] approval rate of applications processed in month t (the same at every stage)."""
        if self.approval_override is None:
            return params.approval_rate
        o = self.approval_override[t]
        return np.where(np.isnan(o), params.approval_rate, o)

    def price_floor(self, t: int) -> float:
        """Guaranteed NdPr oxide price in month t (usd/kg), 0 when no floor is in force."""
        return 0.0 if self.floor is None else float(self.floor[t])

    def stockpile_add(self, t: int) -> npt.NDArray[np.float64]:
        """[R] stockpile additions in month t (t)."""
        if self.stockpile is None:
            return np.zeros(len(self.regions))
        return self.stockpile[t]


def in_force(
    events: tuple[Event, ...], start: dt.date, n_months: int, *, known: frozenset[str] | None = None
) -> dict[str, npt.NDArray[np.bool_]]:
    """[T] in-force mask of every event: from its month, until a lift, outside suspensions.

    A suspension's own mask (so a lift or suspension of it) decides whether it bites. A target
    must be an event of ``events`` or of ``known`` (the whole timeline, when ``events`` are one
    chain's: a suspension of several chains' events then skips the other chains' targets).
    """
    t_idx = np.arange(n_months)
    by_id = {e.id: e for e in events}
    base = {e.id: t_idx >= _month_index(e.date, start) for e in events}
    suspenders: dict[str, list[SuspendEvent]] = {e.id: [] for e in events}
    for e in events:
        if not isinstance(e, LiftEvent | SuspendEvent):
            continue
        unknown = [tid for tid in e.targets if tid not in by_id and (known is None or tid not in known)]
        if unknown:
            raise DataError(
                f"event {e.id!r} targets unknown event(s) {unknown}",
                column="events",
                fix="name the id of an event in the scenario or its history",
            )
        for tid in (t for t in e.targets if t in by_id):
            if isinstance(e, LiftEvent):
                base[tid] &= t_idx < _month_index(e.date, start)
            else:
                suspenders[tid].append(e)
    done: dict[str, npt.NDArray[np.bool_]] = {}

    def resolve(eid: str, stack: tuple[str, ...]) -> npt.NDArray[np.bool_]:
        if eid in done:
            return done[eid]
        if eid in stack:
            raise DataError(
                f"suspensions form a cycle: {' -> '.join((*stack, eid))}",
                column="events",
                fix="remove one of the mutually suspending events",
            )
        mask = base[eid].copy()
        for s in suspenders[eid]:
            end = _month_index(s.until, start) if s.until else n_months
            window = (t_idx >= _month_index(s.date, start)) & (t_idx < end)
            mask &= ~(resolve(s.id, (*stack, eid)) & window)
        done[eid] = mask
        return mask

    return {e.id: resolve(e.id, ()) for e in events}


def events_for(events: tuple[Event, ...], commodity: str) -> tuple[Event, ...]:
    """The events of a timeline that apply to ``commodity``.

    An event applies to the commodities it lists (``commodities``); a ``suspend``, ``lift`` or
    ``approval_rate`` event with targets applies where one of its targets applies (so the
    suspension of a rare-earth licence never reaches gallium), or by its own list where none
    of its targets is in the timeline (the engine then reports the unknown target).
    """
    by_id = {e.id: e for e in events}

    def applies(e: Event, seen: frozenset[str]) -> bool:
        targets = [by_id[t] for t in targets_of(e) if t in by_id and t not in seen]
        if targets:
            return any(applies(t, seen | {e.id}) for t in targets)
        return commodity in e.commodities

    return tuple(e for e in events if applies(e, frozenset()))


def compile_policy(
    events: tuple[Event, ...],
    start_month: str,
    n_months: int,
    regions: tuple[str, ...],
    n_paths: int,
    rng: np.random.Generator | None,
    *,
    defence_share: float,
    stages: tuple[str, ...] = STAGES,
    commodity: str = "rare_earths",
    rows: slice | None = None,
    regime: RegimeSpec | None = None,
) -> PolicyPath:
    """Turn dated events into monthly arrays (see :class:`PolicyPath`).

    Only the events that apply to ``commodity`` are compiled (:func:`events_for`); an event's
    ``stages`` are matched by name against the chain's ``stages`` (upstream first), and stages
    the chain lacks are ignored. Random draws (controlled shares, approval rates) are taken
    from ``rng`` in timeline order, one vector of ``n_paths`` per event, so equal seeds give
    equal policies; ``rows`` are the paths of the run they are (for per-path designs).
    ``regime`` configures the regime Markov chain (:mod:`critmin.simulate.inputs.regimes`;
    default groups and start); its uniforms are drawn last.
    """
    known = frozenset(e.id for e in events)
    for e in events:  # unknown targets are an error in every chain, not only the listed ones
        unknown = [t for t in targets_of(e) if t not in known]
        if isinstance(e, SuspendEvent | LiftEvent) and unknown:
            raise DataError(
                f"event {e.id!r} targets unknown event(s) {unknown}",
                column="events",
                fix="name the id of an event in the scenario or its history",
            )
    events = events_for(events, commodity)
    for e in events:
        at_stages = stages_of(e)
        if isinstance(e, (*CONTROL_TYPES, OfftakeEvent, GeneralLicenceEvent)) and not any(
            st.value in stages for st in at_stages
        ):
            raise DataError(
                f"event {e.id!r} acts at {[st.value for st in at_stages]} but the {commodity} chain has "
                f"stages {list(stages)}",
                column="stages",
                fix=f"give the event `stages:` from {list(stages)}",
            )
    if "CHN" not in regions:
        raise DataError("regions must include CHN", column="regions", fix="add CHN to the regions")
    if not 0.0 <= defence_share <= 1.0:
        raise DataError(
            f"defence share {defence_share} outside [0, 1]",
            column="sector.defence_share",
            fix="use a fraction",
        )
    start = dt.date.fromisoformat(start_month + "-01")
    active = in_force(events, start, n_months, known=known)
    pol = PolicyPath(n_months, regions, defence_share=defence_share)
    approval = np.full((n_months, n_paths), np.nan)
    stock = np.zeros((n_months, len(regions)))
    pile_add: dict[int, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = {}
    floor = np.zeros(n_months)
    cover = np.zeros((n_months, len(stages), len(regions)), dtype=bool)
    dated: list[
        tuple[dt.date, int, tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.float64]]]
    ] = []
    for e in events:  # in timeline order: the random draws' order
        if isinstance(e, CONTROL_TYPES):
            dest = np.array([e.destinations == "all" or r in e.destinations for r in regions])
            at = tuple(stages.index(s.value) for s in e.stages if s.value in stages)
            share = None
            if isinstance(e, LicenceEvent) and e.controlled_share is not None:
                share = np.clip(draw(e.controlled_share, rng, n_paths, rows=rows), 0.0, 1.0)
            (pol.licences if isinstance(e, LicenceEvent) else pol.bans).append(
                _Regime(e, active[e.id], dest, at, share)
            )
        elif isinstance(e, ApprovalRateEvent):
            on = active[e.id]
            rate = np.clip(draw(e.approval_rate, rng, n_paths, rows=rows), 0.0, 1.0)
            if e.destinations == "all":
                approval[on] = rate[None, :]
            else:
                dest_r = np.array([r in e.destinations for r in regions])
                dated.append((e.date, len(dated), (on, dest_r, rate)))
        elif isinstance(e, GeneralLicenceEvent):
            dest_g = np.array([e.destinations == "all" or r in e.destinations for r in regions])
            at_g = tuple(stages.index(s.value) for s in e.stages if s.value in stages)
            share_g = np.clip(draw(e.share, rng, n_paths, rows=rows), 0.0, 1.0)
            pol.general.append((active[e.id], dest_g, at_g, share_g))
        elif isinstance(e, StockpileEvent):
            # A stockpile built before the start is there at the start; a country that is not
            # a model region adds to its region (EU member -> EU27, others -> ROW).
            k = stockpile_stage(e, stages)
            add_k, buy_k = pile_add.setdefault(k, (np.zeros_like(stock), np.zeros_like(stock)))
            if k == len(stages) - 1:
                add_k = stock
            o = regions.index(region_of(e.region, regions))
            for m, part, market in fill_schedule(e, start, n_months):
                (buy_k if market else add_k)[m, o] += part
    for e in events:
        if isinstance(e, PriceFloorEvent):
            floor = np.where(active[e.id], np.maximum(floor, e.price_usd_per_kg), floor)
            r = regions.index(region_of(e.region, regions))
            covered = None if e.covered_t_per_year is None else e.covered_t_per_year * 1000.0 / 12.0
            pol.floors.append(PriceFloor(e.id, r, float(e.price_usd_per_kg), active[e.id], covered))
            for k in (stages.index(s.value) for s in e.stages if s.value in stages):
                cover[:, k, r] |= active[e.id]
        elif isinstance(e, OfftakeEvent):
            at_stage = [stages.index(s.value) for s in e.stages if s.value in stages]
            seller = region_of(e.seller, regions)
            buyer = region_of(e.region, regions)
            if not at_stage or seller == buyer:  # a stage the chain lacks, or within one region
                continue
            if seller == "CHN":
                raise DataError(
                    f"offtake {e.id!r}: seller {e.seller!r} falls in region CHN",
                    column="seller",
                    fix="offtakes are from producers outside China",
                )
            pol.offtakes.append(
                Offtake(
                    e.id,
                    at_stage[0],
                    regions.index(seller),
                    regions.index(buyer),
                    e.volume_t_per_year / 12.0,
                    active[e.id],
                )
            )
    pol.dest_approval = [x for _, _, x in sorted(dated, key=lambda d: (d[0], d[1]))]
    pol.regime = regime_draws(regime, events, start, n_months, regions, n_paths, rng)
    pol.floor_cover = cover
    pol.approval_override = approval
    pol.stockpile = stock
    last = len(stages) - 1
    piles = [e for e in events if isinstance(e, StockpileEvent)]
    pol.stockpile_rules = _stockpile_rules([e for e in piles if stockpile_stage(e, stages) == last], regions)
    if last in pile_add and pile_add[last][1].any():
        pol.stockpile_buy = pile_add[last][1]
    staged = []
    for k in sorted(k for k in pile_add if k != last):
        at_k = [e for e in piles if stockpile_stage(e, stages) == k]
        refill = [e.id for e in at_k if e.replenish_t_per_month]
        if refill:
            raise DataError(
                f"stockpile {refill[0]!r}: replenishment is modelled for stockpiles of the users' "
                f"product only, not of {stages[k]!r}",
                column="replenish_t_per_month",
                fix="leave replenish_t_per_month out, or hold the users' product (no `stage:`)",
            )
        staged.append(StagePile(k, pile_add[k][0], pile_add[k][1], _stockpile_rules(at_k, regions)))
    pol.stage_piles = tuple(staged)
    pol.floor = floor
    return pol
