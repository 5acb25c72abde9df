"""The run-assembly layer: from a scenario, a dataset, a seed and a number of paths to what the
engine runs, in one place for every caller (``simulate``, calibration, backtest, tornado,
Sobol', the tests and the benchmark baseline).

Two steps, so that path-independent work is done once and path blocks can run anywhere:

1. :meth:`RunInputs.build` resolves each chain's parameter values (table defaults < scenario <
   the chain's own), builds its network at the medians of network-level quantities (cached by
   :class:`NetworkCache` across runs), the feed network and the end-use sector split, and
   compiles nothing random. It is small and picklable.
2. :meth:`RunInputs.engine_inputs` draws one block of paths: per-path parameters and the
   compiled policy of every chain, from seeds that depend only on ``(seed, block index)``
   (:func:`block_seeds`), so results do not depend on how blocks are scheduled.

Seeds. Paths are cut into blocks of :data:`BLOCK_PATHS`. Chain i of block b draws its
parameters from ``SeedSequence(seed, spawn_key=(2i, b))`` and its policy from ``(2i + 1, b)``;
its feed from ``(2i + 1, b, 0)`` and ``(2i + 1, b, 1)``. Block 0 drops the trailing ``b`` (keys
``(2i,)``, ``(2i + 1,)``...), which are the children ``SeedSequence(seed).spawn`` gave before
runs were cut into blocks: a run of at most 1,024 paths draws exactly what it drew then. Adding
a chain never changes the draws of the chains before it. ``paths == 1`` uses the medians and is
deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.simulate.chains.network import Network
from critmin.simulate.chains.registry import (
    ChainInfo,
    builder,
    chain_info,
    feed_events,
    is_feed,
    own_parameters,
)
from critmin.simulate.engine.sectors import SectorShares, growth_factors, heavy_grade_path, sector_shares

if TYPE_CHECKING:
    from critmin.simulate.chains.heavy import FeedNetwork
from critmin.simulate.budget import check_paths, check_seed
from critmin.simulate.engine.types import EngineInputs, EngineParams, Feed, FloorTerms, SectorInputs
from critmin.simulate.inputs.params import Value, draw, median, parameter_table
from critmin.simulate.inputs.policy import compile_policy, events_for
from critmin.simulate.inputs.projects import reschedule, with_added_projects
from critmin.simulate.inputs.scenario import Event, Scenario

F = npt.NDArray[np.float64]
#: Paths in one block, the unit of work of every executor (and of the seeds, module docstring).
BLOCK_PATHS = 1024


def without_routes(params: EngineParams) -> EngineParams:
    """``params`` with the substitution routes off (one route: ``demand.substitution_cap``)."""
    return replace(
        params,
        substitution_cap_ferrite=None,
        substitution_cap_ce_grades=None,
        substitution_cap_redesign=None,
        substitution_fast_lag_months=None,
    )


def uses_substitution_routes(info: ChainInfo, scenario: Scenario) -> bool:
    """Whether a chain substitutes by route: one whose registry entry says so (the magnet
    chain), and only when the scenario does not set the single ``demand.substitution_cap``
    (kept for backward compatibility)."""
    return info.substitution_routes and "demand.substitution_cap" not in scenario.parameters


def resolve_values(
    scenario: Scenario, info: ChainInfo, pinned: Mapping[str, Value] | None = None
) -> dict[str, Value]:
    """Parameter values of one chain: table defaults < scenario values < the chain's own <
    ``pinned`` (values that must hold whatever the chain says: a calibration's trial values).

    A single chain's ``parameters`` in ``chains.yaml`` (US stockpile, recycling: magnet
    quantities in parameters.yaml) win over the scenario's, which target the rare-earth chain.
    """
    out: dict[str, Value] = {name: spec.default for name, spec in parameter_table().items()}
    out.update(scenario.parameters)
    out.update(own_parameters(info.id))
    out.update(pinned or {})
    return out


class NetworkCache:
    """Networks and sector splits by what they depend on (dataset version, regions, the
    medians of network-level parameters), reused across runs (calibration, tornado)."""

    def __init__(self) -> None:
        self._items: dict[Hashable, Any] = {}
        self.builds = 0

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The cached value of ``key``, built on first use."""
        if key not in self._items:
            self._items[key] = build()
            self.builds += 1
        return self._items[key]


def _medians(values: Mapping[str, Value], names: tuple[str, ...]) -> tuple[float, ...]:
    return tuple(median(values[n]) for n in names)


@dataclass(frozen=True)
class FeedSetup:
    """The feed chain of a host chain: its network, values and the events that reach it."""

    info: ChainInfo
    network: FeedNetwork
    values: dict[str, Value]
    #: the host's timeline with the events that reach the feed marked (its policy's input)
    timeline: tuple[Event, ...]
    #: [T] multiplier of the grade share (heavy-grade sectors growing at their own rates)
    grade_path: F | None = None


@dataclass(frozen=True)
class ChainSetup:
    """One chain of a run, everything but the per-path draws."""

    info: ChainInfo
    values: dict[str, Value]
    network: Network
    #: the timeline its policy is compiled from (the scenario's; for a feed, with the events
    #: that reach it marked); :attr:`events` are those that apply to the chain
    timeline: tuple[Event, ...]
    #: US$/kg of the users' product when fixed by data (single chains, feed); None: drawn
    #: from the chain's ``value_parameter``
    usd_per_kg: float | None
    feed: FeedSetup | None = None
    sectors: SectorShares | None = None
    sector_growth: F | None = None
    source_ids: tuple[str, ...] = ()
    assumption_ids: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The chain id."""
        return self.info.id

    @property
    def product(self) -> str:
        """The product its users consume."""
        return self.info.product

    @property
    def events(self) -> tuple[Event, ...]:
        """The timeline's events that apply to this chain."""
        return events_for(self.timeline, self.info.id)


@dataclass(frozen=True)
class PathBlock:
    """Paths ``start`` to ``stop`` (exclusive) of a run, block ``index``."""

    index: int
    start: int
    stop: int

    @property
    def rows(self) -> slice:
        """The block's paths as a slice."""
        return slice(self.start, self.stop)

    @property
    def n(self) -> int:
        """Number of paths in the block."""
        return self.stop - self.start


def block_seeds(seed: int, block: int, chain: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """(parameter, policy) seeds of chain ``chain`` in block ``block`` (module docstring)."""
    tail = (block,) if block else ()
    return (
        np.random.SeedSequence(seed, spawn_key=(2 * chain, *tail)),
        np.random.SeedSequence(seed, spawn_key=(2 * chain + 1, *tail)),
    )


@dataclass(frozen=True)
class RunInputs:
    """A run's path-independent inputs (module docstring); build with :meth:`build`."""

    scenario: Scenario
    data_version: str
    seed: int
    paths: int
    months: tuple[str, ...]
    #: the scenario's compiled timeline (history plus its events, by date then id)
    timeline: tuple[Event, ...]
    chains: tuple[ChainSetup, ...]
    block_paths: int = BLOCK_PATHS
    #: per chain id, values that win over the chain's own (:func:`resolve_values`)
    pinned: Mapping[str, Mapping[str, Value]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        scenario: Scenario | str,
        dataset: Dataset | None = None,
        *,
        seed: int = 0,
        paths: int = 1000,
        cache: NetworkCache | None = None,
        block_paths: int = BLOCK_PATHS,
        pinned: Mapping[str, Mapping[str, Value]] | None = None,
    ) -> RunInputs:
        """Resolve and build everything path-independent (see the module docstring)."""
        from critmin.data.load import load_dataset
        from critmin.simulate.inputs.scenario import load_scenario

        sc = load_scenario(scenario) if isinstance(scenario, str) else scenario
        ds = dataset if dataset is not None else load_dataset()
        check_paths(paths)
        check_seed(seed)
        if block_paths < 1:
            raise DataError("block_paths must be at least 1", column="block_paths", fix="e.g. 1024")
        cache = cache if cache is not None else NetworkCache()
        timeline = sc.timeline()
        months = tuple(sc.months())
        pins = {k: dict(v) for k, v in (pinned or {}).items()}
        chains = tuple(
            _chain_setup(ds, sc, cid, timeline, len(months), cache, pins.get(cid)) for cid in sc.commodities
        )
        fed = {c.info.feed for c in chains if c.feed is not None}
        orphans = [e.id for e in sc.events if any(is_feed(c) and c not in fed for c in e.commodities)]
        if orphans:
            raise DataError(
                f"event(s) {orphans} act on the Dy + Tb feed, which this run does not simulate",
                column="commodities",
                fix="include rare_earths in the scenario's commodities and keep heavy.grade_share above 0",
            )
        return cls(sc, ds.version, seed, paths, months, timeline, chains, block_paths, pins)

    def blocks(self) -> tuple[PathBlock, ...]:
        """The run's path blocks, in path order."""
        step = self.block_paths
        return tuple(
            PathBlock(i, lo, min(lo + step, self.paths)) for i, lo in enumerate(range(0, self.paths, step))
        )

    def engine_inputs(self, block: PathBlock) -> tuple[EngineInputs, ...]:
        """Each chain's engine inputs for the paths of ``block`` (drawn from its seeds)."""
        out = []
        for i, ch in enumerate(self.chains):
            ss_params, ss_policy = block_seeds(self.seed, block.index, i)
            out.append(self._chain_inputs(ch, block, ss_params, ss_policy))
        return tuple(out)

    def _rng(self, ss: np.random.SeedSequence) -> np.random.Generator | None:
        return None if self.paths == 1 else np.random.default_rng(ss)

    def _chain_inputs(
        self,
        ch: ChainSetup,
        block: PathBlock,
        ss_params: np.random.SeedSequence,
        ss_policy: np.random.SeedSequence,
    ) -> EngineInputs:
        rng = self._rng(ss_params)
        n_months = len(self.months)
        params = engine_params(
            ch.values, ch.network, self.scenario, block.n, rng, rows=block.rows, events=ch.events
        )
        if not uses_substitution_routes(ch.info, self.scenario):
            params = without_routes(params)
        if ch.usd_per_kg is not None:
            usd = np.full(block.n, ch.usd_per_kg)  # the chain's USGS price: output value and US$ anchor
            params = replace(params, output_usd_per_kg=usd, price_usd_per_kg=usd)
        policy = compile_policy(
            ch.timeline,
            self.scenario.start,
            n_months,
            self.scenario.regions,
            block.n,
            self._rng(ss_policy),
            defence_share=median(ch.values["sector.defence_share"]),
            stages=ch.network.stages,
            commodity=ch.id,
            rows=block.rows,
            regime=self.scenario.regime,
        )
        feed = None
        if ch.feed is not None:
            feed = self._feed_inputs(ch.feed, block, ss_policy)
            # The feed's demand follows its makers' output, so the capacity that tracks its
            # demand tracks the host's demand growth (engine/capacity.py).
            feed = replace(
                feed, params=replace(feed.params, demand_growth_per_year=params.demand_growth_per_year)
            )
        sectors = None
        if ch.sectors is not None:
            v = ch.sectors.usd_per_kg
            sectors = SectorInputs(
                ch.sectors.shares, ch.sectors.priority, ch.sector_growth, v if v.size else None
            )
        floor = None
        if ch.info.price_floor:
            floor = FloorTerms(
                draw(ch.values["price.ndpr_usd_per_kg"], rng, block.n, rows=block.rows),
                draw(ch.values["price_floor.covered_t_per_year"], rng, block.n, rows=block.rows)
                * 1000.0
                / 12.0,
            )
        return EngineInputs(
            network=ch.network,
            params=params,
            policy=policy,
            n_months=n_months,
            feed=feed,
            sectors=sectors,
            floor=floor,
        )

    def _feed_inputs(self, fs: FeedSetup, block: PathBlock, parent: np.random.SeedSequence) -> Feed:
        """The feed's draws: two children of its host chain's policy seed, so the feed never
        shifts the seeds of the chains after it."""
        ss_params, ss_policy = (
            np.random.SeedSequence(parent.entropy, spawn_key=(*parent.spawn_key, j)) for j in (0, 1)
        )
        fnet = fs.network
        params = engine_params(
            fs.values,
            fnet.net,
            self.scenario,
            block.n,
            self._rng(ss_params),
            rows=block.rows,
            events=events_for(fs.timeline, fs.info.id),
        )
        usd = np.full(block.n, fnet.usd_per_kg)  # the feed's USGS price: output value and US$ anchor
        # the feed thrifts along its one route (demand.substitution_cap, heavy.yaml)
        params = without_routes(replace(params, output_usd_per_kg=usd, price_usd_per_kg=usd))
        policy = compile_policy(
            fs.timeline,
            self.scenario.start,
            len(self.months),
            self.scenario.regions,
            block.n,
            self._rng(ss_policy),
            defence_share=median(fs.values["sector.defence_share"]),
            stages=fnet.net.stages,
            commodity=fs.info.id,
            rows=block.rows,
            regime=self.scenario.regime,
        )
        return Feed(fnet.net, params, policy, fnet.stage, fnet.grade_share, fnet.intensity, fs.grade_path)


def _chain_setup(
    ds: Dataset,
    sc: Scenario,
    chain_id: str,
    timeline: tuple[Event, ...],
    n_months: int,
    cache: NetworkCache,
    pinned: Mapping[str, Value] | None = None,
) -> ChainSetup:
    info = chain_info(chain_id)
    values = resolve_values(sc, info, pinned)
    build = builder(chain_id)
    key_params = _medians(values, _network_parameters(info))
    built = cache.get(
        ("chain", chain_id, ds.version, sc.regions, key_params),
        lambda: build(ds, chain_id, sc.regions, values),
    )
    net: Network = with_added_projects(built.network, events_for(timeline, chain_id), chain_id)
    sources = set(net.source_ids) | set(built.source_ids)
    assumptions = set(net.assumption_ids)
    sources |= {e.source_id for e in events_for(timeline, chain_id) if e.source_id}
    split = growth = None
    if info.sectors:
        sector_params = {k: median(values[k]) for k in ("sector.defence_share", "sector.ev_share")}
        split = cache.get(
            ("sectors", ds.version, sc.regions, tuple(sorted(sector_params.items()))),
            lambda: sector_shares(ds, sc.regions, parameters=sector_params),
        )
        growth = growth_factors(
            split.sectors,
            {f"sector_growth.{s}": median(values[f"sector_growth.{s}"]) for s in split.sectors},
            n_months,
        )
        sources |= set(split.source_ids)
        assumptions |= set(split.assumption_ids)
    feed = None
    if info.feed is not None:
        feed = _feed_setup(ds, sc, info, values, net, timeline, n_months, cache, split, growth)
    return ChainSetup(
        info=info,
        values=values,
        network=net,
        timeline=timeline,
        usd_per_kg=built.usd_per_kg,
        feed=feed,
        sectors=split,
        sector_growth=growth,
        source_ids=tuple(sorted(sources)),
        assumption_ids=tuple(sorted(assumptions)),
    )


def _network_parameters(info: ChainInfo) -> tuple[str, ...]:
    """Names of the parameters whose medians a chain's network depends on (its cache key)."""
    return info.network_parameters


def _feed_setup(
    ds: Dataset,
    sc: Scenario,
    host: ChainInfo,
    values: dict[str, Value],
    net: Network,
    timeline: tuple[Event, ...],
    n_months: int,
    cache: NetworkCache,
    split: SectorShares | None,
    growth: F | None,
) -> FeedSetup | None:
    """The host's feed, or None when turned off (its grade share at 0)."""
    assert host.feed is not None
    info = chain_info(host.feed)
    fvalues = {**values, **own_parameters(info.id)}
    if median(values["heavy.grade_share"]) <= 0.0:
        return None
    key = (
        "feed",
        info.id,
        ds.version,
        sc.regions,
        _medians(values, _network_parameters(host)),
        _medians(values, _network_parameters(info)),
    )
    fnet: FeedNetwork = cache.get(key, lambda: builder(info.id)(ds, info.id, sc.regions, values, host=net))
    marked = feed_events(info.id, timeline)
    fnet = replace(fnet, net=with_added_projects(fnet.net, events_for(marked, info.id), info.id))
    path = None
    if growth is not None and split is not None:
        weights = net.demand0 / net.demand0.sum()
        path = heavy_grade_path(split.shares, weights, split.heavy_grade, growth, n_months)
        path = np.minimum(path, 1.0 / fnet.grade_share)
    return FeedSetup(info=info, network=fnet, values=fvalues, timeline=marked, grade_path=path)


def engine_params(
    values: Mapping[str, Value],
    net: Network,
    scenario: Scenario,
    n: int,
    rng: np.random.Generator | None,
    *,
    rows: slice | None = None,
    events: tuple[Event, ...] = (),
) -> EngineParams:
    """Per-path engine parameters for ``n`` paths (``rows`` of the run, for per-path designs).

    Table-driven: every row of the parameter table that ``sets: engine.<field>`` is drawn and
    held within its bounds. Draws come in a fixed order (what seeded results depend on): the
    project delays (one vector per project, then the mine extra delays), the US stockpile, then
    every other field in :class:`EngineParams` order. Project starts are the announced start
    (months from the scenario's start) plus the delay, plus the extra delay for mines. Projects
    that project ``events`` add (``added`` in the network's pipeline) draw their delays last;
    the events then move the schedules (:mod:`critmin.simulate.inputs.projects`).
    """
    table = parameter_table()
    by_field: dict[str, list[str]] = {}
    for name, spec in table.items():
        if spec.engine_field is not None:
            by_field.setdefault(spec.engine_field, []).append(name)

    def d(name: str) -> F:
        return table[name].clip(draw(values[name], rng, n, rows=rows))

    start_year = int(scenario.start[:4])
    start_m = int(scenario.start[5:7])
    proj = net.projects
    added = proj["added"].to_numpy(dtype=bool) if "added" in proj.columns else np.zeros(len(proj), bool)
    q = int((~added).sum())  # the pipeline's own projects come first (projects.with_added_projects)
    announced = (proj["start_year"].to_numpy() - start_year) * 12 - (start_m - 1)
    delay = np.stack([d("capacity.project_delay_months") for _ in range(max(q, 1))], axis=1)[:, :q]
    mine_extra = np.stack([d("capacity.mine_extra_delay_months") for _ in range(max(q, 1))], axis=1)[:, :q]
    is_mine = np.array([net.stages[k] == "mining" for k in proj["stage"]], dtype=bool)[None, :]
    drawn: dict[str, Any] = {"project_start_month": None}  # set once every other field is drawn
    stock0 = np.zeros((n, len(scenario.regions)))
    if "USA" in scenario.regions:
        (name,) = by_field["stockpile0_t"]
        stock0[:, scenario.regions.index("USA")] = d(name)
    drawn["stockpile0_t"] = stock0
    for f in fields(EngineParams):
        if f.name in drawn or f.name in _CLASS_FIELDS:
            continue
        names = by_field.get(f.name)
        if not names or len(names) != 1:
            raise DataError(
                f"engine field {f.name!r} is set by {names or 'no'} parameter(s)",
                column="sets",
                fix="give exactly one row of parameters.yaml `sets: engine.<field>` per field",
            )
        drawn[f.name] = d(names[0])
    # Users' firm classes (engine/inventory.py): one share and one cover row per class, drawn
    # last so the other fields' draws do not move.
    share_rows, cover_rows = (by_field.get(f, []) for f in _CLASS_FIELDS)
    if [r.rsplit(".", 1)[1] for r in share_rows] != [r.rsplit(".", 1)[1] for r in cover_rows]:
        raise DataError(
            f"inventory classes {share_rows} and {cover_rows} do not match",
            column="sets",
            fix="give inventory.class_share.<c> and inventory.class_cover.<c> for the same classes",
        )
    if share_rows:
        drawn["inventory_class_share"] = np.stack([d(r) for r in share_rows], axis=1)
        drawn["inventory_class_cover"] = np.stack([d(r) for r in cover_rows], axis=1)
    # projects added by project events: their delays after every other draw
    for _ in range(len(proj) - q):
        delay = np.concatenate([delay, d("capacity.project_delay_months")[:, None]], axis=1)
        mine_extra = np.concatenate([mine_extra, d("capacity.mine_extra_delay_months")[:, None]], axis=1)
    total = delay + mine_extra * is_mine
    start = announced[None, :] + total
    if events:
        mid = median(values["capacity.project_delay_months"])
        mid_mine = median(values["capacity.mine_extra_delay_months"])
        medians = mid + mid_mine * is_mine[0]
        start = reschedule(start, total, medians, net, events, scenario.start)
    drawn["project_start_month"] = start
    return EngineParams(**drawn)


#: EngineParams fields set by one parameter row per users' firm class.
_CLASS_FIELDS = ("inventory_class_share", "inventory_class_cover")
