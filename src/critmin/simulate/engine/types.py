"""The engine's inputs and outputs (:mod:`critmin.simulate.engine.step`) and their validation.

``EngineParams`` (per-path parameter vectors), ``Feed`` (a chain feeding one stage),
``PathMetrics`` (streamed per-path summaries) and ``Trace`` (full monthly series), with the
checks :func:`~critmin.simulate.engine.step.run_engine` runs once before its monthly loop. All are
re-exported by :mod:`critmin.simulate.engine.step`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from critmin.errors import DataError
from critmin.simulate.chains.network import Network
from critmin.simulate.inputs.params import parameter_table
from critmin.simulate.inputs.policy import PolicyPath

F = npt.NDArray[np.float64]


@dataclass(frozen=True)
class EngineParams:
    """Per-path parameter vectors (shape [P]) the engine reads, one field per ``engine.<field>``
    row of the parameter table (``parameters.yaml``, which gives each one's unit and bounds)."""

    capacity_headroom: F  # fraction of baseline output
    capacity_growth_per_year: F  # fraction / yr
    demand_growth_per_year: F  # fraction / yr
    price_elasticity: F  # of users' demand, absolute value
    substitution_cap: F  # fraction of demand
    substitution_lag_months: F
    cover_months: F  # users' target inventory, months of demand
    restock_months: F
    stockpile_release_per_month: F  # fraction of the stockpile
    approval_rate: F  # share of licence applications approved
    licence_lag_months: F  # mean processing time
    controlled_share_last_stage: F  # of the users' product's exports under a licence regime
    controlled_share_upstream: F  # of the other stages' exports
    supply_elasticity: F
    price_smoothing: F  # weight of last month's price
    recycling_share: F  # of demand outside China
    output_usd_per_kg: F  # value of end-product output per kg of the users' product
    project_start_month: F  # [P, n_projects] month index of first output
    ramp_months: F
    stockpile0_t: F  # [P, R] strategic stockpile at the start
    allied_trade_share: F | None = None  # [P] of ex-China intermediate surplus traded to ex-China deficits
    licence_dead_time_months: F | None = None  # [P] review dead time before any decision (None: 1)
    # monthly transition probabilities of the regime chain (engine/regimes.py); None: no chain
    regime_p_suspend: F | None = None  # throttled -> open
    regime_p_tighten: F | None = None  # throttled -> embargo
    regime_p_reimpose: F | None = None  # open -> throttled
    regime_p_ease: F | None = None  # embargo -> throttled
    users_trade_share: F | None = None  # [P] of ex-China users' surplus (magnets) sold to ex-China deficits
    leakage_share: F | None = None  # [P] of a banned or refused direct flow rerouted via a third country
    #: [P, N] share of a region's demand taken by each firm class (inventory.class_share.*)
    inventory_class_share: F | None = None
    #: [P, N] each class's cover, months (inventory.class_cover.*), scaled to mean cover_months
    inventory_class_cover: F | None = None
    # --- prices (issue 12): capacity response (engine/capacity.py) and the US$ anchor
    capacity_demand_tracking: F | None = None  # rho: share of demand growth existing capacity follows
    capacity_signal_months: F | None = None  # smoothing of the price signal for new capacity
    capacity_response_threshold: F | None = None  # premium above which new capacity is ordered
    capacity_response_per_year: F | None = None  # order rate per unit premium above it, 1/yr
    capacity_build_cap_per_year: F | None = None  # largest order rate, fraction of scale / yr
    capacity_lead_months_mine: F | None = None
    capacity_lead_months_refine: F | None = None
    capacity_lead_months_fab: F | None = None
    price_usd_per_kg: F | None = None  # US$/kg of the users' product at price index 1
    # substitution by route (engine/prices.py); all None: the single substitution_cap
    substitution_cap_ferrite: F | None = None  # fraction of demand
    substitution_cap_ce_grades: F | None = None
    substitution_cap_redesign: F | None = None  # its lag is substitution_lag_months
    substitution_fast_lag_months: F | None = None  # lag of the ferrite and Ce-grade routes


@dataclass
class Trace:
    """Full monthly series (only kept when small enough), arrays [T, P, R] unless noted."""

    demand: F
    consumption: F
    shortfall: F
    supply_ex_china: F  # [T, P] magnets received by users outside China
    price_x: F  # [T, P]
    price_c: F  # [T, P]
    inventory: F
    stockpile: F
    #: [T] largest absolute mass-balance residual over nodes and paths (t); NaN when the run
    #: was not checked (``check_balance=False``), inf where a stock went negative.
    balance_residual: F
    exports_chn: F  # [T, P, R] magnets leaving China for each destination (delivered + approved)
    #: [T, P, K, R] public stockpiles of intermediate products (t of each stage's), when any
    stage_stockpile: F | None = None

    @classmethod
    def empty(cls, t_n: int, p_n: int, r_n: int, k_n: int | None = None) -> Trace:
        """Zeroed series for ``t_n`` months, ``p_n`` paths and ``r_n`` regions; ``k_n`` stages of
        intermediate stockpiles (None: none)."""
        z3 = np.zeros((t_n, p_n, r_n))
        z2 = np.zeros((t_n, p_n))
        piles = None if k_n is None else np.zeros((t_n, p_n, k_n, r_n))
        return cls(
            z3.copy(), z3.copy(), z3.copy(), z2.copy(), z2.copy(), z2.copy(), z3.copy(), z3.copy(),
            np.full(t_n, np.nan), z3.copy(), piles,
        )  # fmt: skip


@dataclass(frozen=True)
class PathMetrics:
    """Per-path, per-region summaries (arrays [P, R]), accumulated while simulating."""

    peak_shortfall_pct: F
    cumulative_shortfall_t: F
    months_below_90pct: F
    peak_price_ratio: F
    output_at_risk_usd: F
    #: [P, R] cumulative cost of price-floor top-ups, charged to each floor's payer region
    price_floor_cost_usd: F | None = None
    #: floor event id -> [P] cumulative cost of that floor's top-ups
    price_floor_cost_by_floor: dict[str, F] | None = None
    #: metric -> [P, R, S] per end-use sector (:mod:`critmin.simulate.engine.sectors`), when asked for
    by_sector: dict[str, F] | None = None
    #: the feed chain's own metrics (its users are the fed stage's makers), when there is one
    feed: PathMetrics | None = None
    #: [P, R] peak price of each region's market in US$/kg (peak ratio x ``price_usd_per_kg``)
    peak_price_usd_per_kg: F | None = None


@dataclass(frozen=True)
class SectorInputs:
    """End-use sectors of users' demand (:mod:`critmin.simulate.engine.sectors`).

    ``shares`` [R, S] split each region's demand, ``priority`` [S] tiers (higher served first,
    pro rata within one), ``growth`` [T, S] optional relative growth of each sector's demand
    (:func:`~critmin.simulate.engine.sectors.growth_factors`): region r's demand is then
    multiplied by sum_s shares[r, s] growth[t, s] and its shares follow.
    """

    shares: F
    priority: npt.NDArray[np.intp]
    growth: F | None = None
    #: [S] end-product output at risk per kg of magnet short (US$/kg); None: one flat value
    usd_per_kg: F | None = None


@dataclass(frozen=True)
class FloorTerms:
    """What a price floor's cost needs, per path: baseline NdPr price (US$/kg) and covered
    output (kg/month). Each month a floor f in force pays (f - p0 x price ratio)^+ x covered
    (section 5.8b of docs/model.md), charged to its payer."""

    baseline_usd_per_kg: F
    covered_kg_per_month: F


@dataclass(frozen=True)
class Feed:
    """A chain whose product one stage of the main chain needs (:mod:`critmin.simulate.chains.heavy`).

    Stage ``stage``'s makers are the feed chain's users. Each month, with F_r what they can
    make from their main input, they need ``grade_share`` x ``intensity`` x F_r of the feed
    (before the feed's thrifting); with a_r the share of that need met they make
    F_r (1 - grade_share (1 - a_r)). ``net``, ``params`` and ``policy`` are the feed chain's,
    on the main chain's regions and paths.
    """

    net: Network
    params: EngineParams
    policy: PolicyPath
    stage: int
    grade_share: float
    #: t of feed per t of the grades that need it: one value, or [R] by region
    intensity: float | F
    #: [T] multiplier of ``grade_share`` by month (the heavy-grade sectors' share of demand
    #: moving with their growth paths, :func:`critmin.simulate.engine.sectors.heavy_grade_path`)
    grade_path: F | None = None


@dataclass(frozen=True, kw_only=True)
class EngineInputs:
    """Everything one engine run reads: a chain's network, per-path parameters and compiled
    policy over ``n_months``, and its optional parts (a feed chain coupled to one stage,
    end-use sectors, price-floor costing)."""

    network: Network
    params: EngineParams
    policy: PolicyPath
    n_months: int
    feed: Feed | None = None
    sectors: SectorInputs | None = None
    floor: FloorTerms | None = None


#: Names of the per-path monthly series the engine returns (ex-China aggregates).
SERIES = ("shortfall_pct_ex_china", "price_ratio_ex_china")


@dataclass(frozen=True)
class EngineResult:
    """Outcome of :func:`~critmin.simulate.engine.step.run_engine`.

    ``series``: name -> [T, P] per-path monthly ex-China shortfall (% of demand) and price
    ratio (the feed's with the prefix ``feed_``), from which :meth:`bands` takes percentiles;
    ``trace``: the full monthly series when asked for.
    """

    metrics: PathMetrics
    series: dict[str, F]
    trace: Trace | None = None

    def bands(self) -> dict[str, F]:
        """Per month p5/p50/p95 across paths of each series (``<name>_p5`` ...)."""
        return bands_of(self.series)


def bands_of(series: dict[str, F]) -> dict[str, F]:
    """Per month p5/p50/p95 across paths ([T, P] arrays) of each series."""
    out: dict[str, F] = {}
    for name, arr in series.items():
        q = np.percentile(arr, [5, 50, 95], axis=1)
        for i, lab in enumerate(("p5", "p50", "p95")):
            out[f"{name}_{lab}"] = q[i]
    return out


def field_bounds() -> dict[str, tuple[float, float]]:
    """Inclusive bounds of each :class:`EngineParams` field: those of the parameter-table row
    that sets it (``sets: engine.<field>``). They lie inside what the invariants need (demand,
    capacity and stocks non-negative, backlog and stockpile draining at most fully), which a
    test checks."""
    return {s.engine_field: s.bounds for s in parameter_table().values() if s.engine_field is not None}


def check_inputs(net: Network, params: EngineParams, policy: PolicyPath, n_months: int) -> int:
    """Validate shapes and ranges once, before the loop; returns the number of paths."""
    n_paths = params.demand_growth_per_year.shape[0]
    r_n = len(net.regions)
    if n_paths < 1 or n_months < 1:
        raise DataError("need at least one path and one month", column="paths", fix="e.g. --paths 1000")
    bounds = field_bounds()
    for f in fields(params):
        a = getattr(params, f.name)
        if a is None:  # optional inputs (allied_trade)
            continue
        n_cls = a.shape[-1] if f.name.startswith("inventory_class_") else 0
        want = {
            "project_start_month": (n_paths, len(net.projects)),
            "stockpile0_t": (n_paths, r_n),
            "inventory_class_share": (n_paths, max(n_cls, 1)),
            "inventory_class_cover": (n_paths, max(n_cls, 1)),
        }.get(f.name, (n_paths,))
        if a.shape != want:
            raise DataError(f"shape {a.shape}, expected {want}", column=f.name, fix="one value per path")
        if f.name != "project_start_month" and not np.isfinite(a).all():
            raise DataError("non-finite value", column=f.name, fix="use finite numbers")
        if f.name in bounds and f.name not in ("project_start_month", "stockpile0_t"):
            lo, hi = bounds[f.name]
            if (a < lo).any() or (a > hi).any():
                raise DataError(
                    f"value outside [{lo:g}, {hi:g}]",
                    column=f.name,
                    fix="see `critmin simulate --list-parameters` for its bounds",
                )
    cls_s, cls_c = params.inventory_class_share, params.inventory_class_cover
    mismatch = cls_s is not None and cls_c is not None and cls_s.shape != cls_c.shape
    if (cls_s is None) != (cls_c is None) or mismatch:
        raise DataError(
            "inventory class shares and covers must be given together, one column per class",
            column="inventory.class_share",
            fix="give one inventory.class_share.<c> and one inventory.class_cover.<c> row per class",
        )
    if (params.stockpile0_t < 0).any():
        raise DataError("negative stockpile", column="stockpile0_t", fix="use 0 for none")
    ship = net.ship
    if (
        ship.ndim != 3
        or ship.shape[0] < 1
        or ship.shape[1:] != (r_n, r_n)
        or (ship < 0).any()
        or not np.allclose(ship.sum(axis=2), 1.0)
    ):
        raise DataError(
            "shipping shares must be non-negative [K >= 1, R, R] rows summing to 1",
            column="ship",
            fix="normalise each exporter's row",
        )
    if (net.volume <= 0).any() or (net.share < 0).any() or (net.demand0 < 0).any():
        raise DataError("volumes must be positive, shares and demand non-negative", column="network")
    cover = policy.floor_cover
    if cover is not None and cover.shape[1:] != (ship.shape[0], r_n):
        raise DataError(
            f"price-floor cover shape {cover.shape[1:]}, expected {(ship.shape[0], r_n)}",
            column="policy",
            fix="compile the policy with the network's stages (compile_policy(stages=net.stages))",
        )
    if policy.regions != net.regions or policy.months < n_months:
        raise DataError(
            "policy compiled for other regions or a shorter horizon",
            column="policy",
            fix="compile the policy with the network's regions and at least n_months months",
        )
    return n_paths


def check_feed(net: Network, feed: Feed, n_paths: int, n_months: int) -> None:
    """The feed chain must share the main chain's regions and paths and feed one of its stages."""
    if check_inputs(feed.net, feed.params, feed.policy, n_months) != n_paths:
        raise DataError(
            "the feed chain has another number of paths", column="feed", fix="draw one value per path"
        )
    if feed.net.regions != net.regions:
        raise DataError("the feed chain has other regions", column="feed", fix="build it on the main network")
    if not 0 <= feed.stage < net.ship.shape[0]:
        raise DataError(f"feed stage {feed.stage} outside the chain", column="feed.stage")
    q = np.asarray(feed.intensity, dtype=np.float64)
    if not (
        0.0 <= feed.grade_share <= 1.0
        and q.shape in ((), (len(net.regions),))
        and np.isfinite(q).all()
        and (q >= 0).all()
        and q.max() > 0
    ):
        raise DataError(
            "feed grade share must be in [0, 1] and intensity non-negative "
            "(one value or one per region, not all 0)",
            column="feed",
            fix="see heavy.grade_share in parameters.yaml",
        )
    path = feed.grade_path
    if path is not None and (
        path.shape != (n_months,)
        or not np.isfinite(path).all()
        or (path < 0).any()
        or (feed.grade_share * path > 1.0 + 1e-12).any()
    ):
        raise DataError(
            f"feed grade path of shape {path.shape} must be [{n_months}] with 0 <= h x path <= 1",
            column="feed.grade_path",
            fix="use critmin.simulate.engine.sectors.heavy_grade_path",
        )
