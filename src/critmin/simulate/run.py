"""Run a scenario: resolve parameters, sample paths, simulate, summarise.

``simulate(scenario, paths=N, seed=S)`` draws every uncertain parameter once per path from
``numpy.random.default_rng(SeedSequence(seed))`` (children spawned for parameters and policy),
so equal seeds give equal results; ``paths=1`` uses the medians and is deterministic.
Network-level quantities (world volumes, the US share of China's magnet exports) are taken at
their medians for all paths.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin._version import __version__
from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.simulate.chains import build_chain_network, chain_spec, chain_value_usd_per_kg
from critmin.simulate.engine import EngineParams, Feed, PathMetrics, Trace, run_engine
from critmin.simulate.heavy import (
    FEED_ID,
    FeedNetwork,
    build_feed_network,
    feed_parameters,
    feed_timeline,
)
from critmin.simulate.network import Network, build_network
from critmin.simulate.params import Value, draw, parameter_table
from critmin.simulate.policy import compile_policy, events_for
from critmin.simulate.scenario import Scenario, load_scenario
from critmin.simulate.sectors import growth_factors, heavy_grade_path, sector_shares

METRICS = (
    "peak_shortfall_pct",
    "cumulative_shortfall_t",
    "months_below_90pct",
    "peak_price_ratio",
    "output_at_risk_usd",
)
PRODUCT = "ndfeb_magnets"  # the rare-earth chain's product
#: Display names of the summary rows' products (tables, figure titles).
PRODUCT_TITLES = {
    "ndfeb_magnets": "NdFeB magnets",
    "gallium_metal": "Gallium metal",
    "germanium_metal": "Germanium metal",
    "processed_graphite": "Processed (anode-grade) graphite",
    "refined_antimony": "Refined antimony",
    "tungsten": "Tungsten",
    "dy_tb_oxide": "Dy + Tb oxide for magnet makers (heavy rare-earth feed)",
}


@dataclass(frozen=True)
class ChainRun:
    """One commodity chain's outcome within a run (``SimulationResult.chains``)."""

    commodity: str
    product: str
    metrics: PathMetrics
    bands: pd.DataFrame
    source_ids: tuple[str, ...]
    assumption_ids: tuple[str, ...]


#: Keep full monthly series only below this many path x month x region cells.
TRACE_LIMIT = 2_000_000


@dataclass(frozen=True)
class SimulationResult:
    """Outcome of :func:`simulate`: summaries, monthly bands and provenance.

    ``summary``: region x product x metric percentiles (p5/p50/p95 across paths), one
    ``product`` per commodity chain of the scenario; ``bands``: per month p5/p50/p95 of the
    ex-China shortfall (% of demand) and price ratio; ``metrics``: per-path values; ``trace``:
    full monthly series when small (``None`` otherwise). ``bands``, ``metrics`` and ``trace``
    are those of the primary (first) chain; ``chains`` holds every chain's metrics and bands.
    """

    scenario: Scenario
    paths: int
    seed: int
    data_version: str
    months: tuple[str, ...]
    summary: pd.DataFrame
    bands: pd.DataFrame
    metrics: PathMetrics
    parameters: dict[str, Any]
    source_ids: tuple[str, ...]
    assumption_ids: tuple[str, ...]
    trace: Trace | None = field(default=None, repr=False)
    package_version: str = __version__
    chains: dict[str, ChainRun] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The ``critmin simulate --format json`` document."""
        rows = [
            {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in self.summary.to_dict(orient="records")
        ]
        return {
            "scenario": self.scenario.name,
            "paths": self.paths,
            "seed": self.seed,
            "data_version": self.data_version,
            "critmin_version": self.package_version,
            "months": [self.months[0], self.months[-1]],
            "summary": rows,
            "source_ids": list(self.source_ids),
            "assumption_ids": list(self.assumption_ids),
        }

    def write(self, path: Path | str) -> Path:
        """Write summary, bands and (if kept) per path x month series to parquet or csv, atomically.

        The resolved scenario is saved beside the result (``<name>.scenario.json``).
        """
        p = Path(path)
        frames = {"summary": self.summary, "bands": self.bands}
        if self.trace is not None:
            frames["series"] = self.series()
        long = pd.concat([f.assign(table=name) for name, f in frames.items()], ignore_index=True)
        tmp = p.with_name(f".{p.name}.tmp")
        if p.suffix == ".parquet":
            long.to_parquet(tmp, index=False)
        else:
            long.to_csv(tmp, index=False)
        tmp.replace(p)
        meta = {
            **self.to_dict(),
            "scenario_resolved": json.loads(self.scenario.model_dump_json()),
            "parameters": self.parameters,
        }
        p.with_name(p.stem + ".scenario.json").write_text(
            json.dumps(meta, indent=2, default=str), encoding="utf-8"
        )
        return p

    def series(self) -> pd.DataFrame:
        """Per path x month x region series (needs ``trace``)."""
        if self.trace is None:
            return pd.DataFrame()
        tr = self.trace
        p_n = tr.demand.shape[1]
        idx = pd.MultiIndex.from_product(
            [self.months, range(p_n), self.scenario.regions], names=["month", "path", "region"]
        )
        return pd.DataFrame(
            {
                "demand_t": tr.demand.reshape(-1),
                "consumption_t": tr.consumption.reshape(-1),
                "shortfall_t": tr.shortfall.reshape(-1),
                "inventory_t": tr.inventory.reshape(-1),
                "stockpile_t": tr.stockpile.reshape(-1),
            },
            index=idx,
        ).reset_index()


def _resolve(scenario: Scenario, commodity: str = "rare_earths") -> dict[str, Value]:
    """Parameter values of one chain: table defaults < scenario values < the chain's own.

    A single chain's ``parameters`` in ``chains.yaml`` (US stockpile, recycling: magnet
    quantities in parameters.yaml) win over the scenario's, which target the rare-earth chain.
    """
    table = parameter_table()
    out: dict[str, Value] = {name: spec.default for name, spec in table.items()}
    out.update(scenario.parameters)
    if commodity != "rare_earths":
        out.update(chain_spec(commodity).parameters)
    return out


def _median(v: Value) -> float:
    return float(draw(v, None, 1)[0])


def _engine_params(
    values: dict[str, Value], net: Network, scenario: Scenario, n: int, rng: np.random.Generator | None
) -> EngineParams:
    def d(name: str) -> npt.NDArray[np.float64]:
        return draw(values[name], rng, n)

    start_year = int(scenario.start[:4])
    start_m = int(scenario.start[5:7])
    proj = net.projects
    q = len(proj)
    announced = (proj["start_year"].to_numpy() - start_year) * 12 - (start_m - 1)
    delay = np.stack([d("capacity.project_delay_months") for _ in range(max(q, 1))], axis=1)[:, :q]
    mine_extra = np.stack([d("capacity.mine_extra_delay_months") for _ in range(max(q, 1))], axis=1)[:, :q]
    is_mine = np.array([net.stages[k] == "mining" for k in proj["stage"]], dtype=bool)[None, :]
    project_start = announced[None, :] + delay + mine_extra * is_mine
    stock0 = np.zeros((n, len(scenario.regions)))
    if "USA" in scenario.regions:
        stock0[:, scenario.regions.index("USA")] = d("stockpile.usa_t")
    return EngineParams(
        headroom=d("capacity.headroom"),
        cap_growth=d("capacity.growth_per_year"),
        growth=d("demand.growth_per_year"),
        elasticity=d("demand.price_elasticity"),
        subst_cap=d("demand.substitution_cap"),
        subst_lag=np.maximum(d("demand.substitution_lag_months"), 1.0),
        cover=np.maximum(d("inventory.cover_months"), 0.0),
        restock=np.maximum(d("inventory.restock_months"), 1.0),
        release_rate=np.clip(d("stockpile.release_per_month"), 0.0, 1.0),
        approval=np.clip(d("licence.approval_rate"), 0.0, 1.0),
        lag=np.maximum(d("licence.mean_lag_months"), 1.0),
        share_magnets=np.clip(d("licence.controlled_share_magnets"), 0.0, 1.0),
        share_oxides=np.clip(d("licence.controlled_share_oxides"), 0.0, 1.0),
        supply_elasticity=np.maximum(d("price.supply_elasticity"), 0.05),
        smoothing=np.clip(d("price.smoothing"), 0.0, 0.99),
        recycling=np.clip(d("recycling.share_of_demand"), 0.0, 1.0),
        value_per_kg=d("value.output_usd_per_kg_magnet"),
        project_start=project_start,
        ramp=np.maximum(d("capacity.ramp_months"), 1.0),
        stockpile0=stock0,
        allied_trade=np.clip(d("trade.allied_rebalancing_share"), 0.0, 1.0),
    )


def simulate(
    scenario: Scenario | str,
    *,
    paths: int = 1000,
    seed: int = 0,
    dataset: Dataset | None = None,
    keep_trace: bool | None = None,
    check_balance: bool = False,
    on_month: Any = None,
) -> SimulationResult:
    """Simulate ``scenario`` (a :class:`Scenario`, bundled name or YAML path) over ``paths`` paths.

    Each commodity chain of the scenario (``commodities``) runs on its own network with the
    events that apply to it. Seeds: the first chain draws from ``SeedSequence(seed).spawn(2)``
    (parameters, policy), each further chain from the next two children, so adding a chain
    never changes the first chain's draws.
    """
    from critmin.data.load import load_dataset

    sc = load_scenario(scenario) if isinstance(scenario, str) else scenario
    ds = dataset if dataset is not None else load_dataset()
    if paths < 1:
        raise DataError("paths must be at least 1", column="paths", fix="e.g. --paths 1000")
    feed_on = "rare_earths" in sc.commodities and _median(_resolve(sc)["heavy.grade_share"]) > 0
    orphans = [e.id for e in sc.events if FEED_ID in e.commodities and not feed_on]
    if orphans:
        raise DataError(
            f"event(s) {orphans} act on the Dy + Tb feed, which this run does not simulate",
            column="commodities",
            fix="include rare_earths in the scenario's commodities and keep heavy.grade_share above 0",
        )
    ss = np.random.SeedSequence(seed)
    months = sc.months()
    keep = keep_trace if keep_trace is not None else paths * len(months) * len(sc.regions) <= TRACE_LIMIT
    runs: dict[str, ChainRun] = {}
    frames = []
    primary: tuple[PathMetrics, pd.DataFrame, Trace | None, dict[str, Value]] | None = None
    timeline = sc.timeline()
    for i, commodity in enumerate(sc.commodities):
        child_params, child_policy = ss.spawn(2)
        rng = None if paths == 1 else np.random.default_rng(child_params)
        rng_pol = None if paths == 1 else np.random.default_rng(child_policy)
        values = _resolve(sc, commodity)
        net = _network(ds, sc, values, commodity)
        params = _engine_params(values, net, sc, paths, rng)
        if commodity != "rare_earths":
            usd_kg, price_src = chain_value_usd_per_kg(ds, commodity)
            params = replace(params, value_per_kg=np.full(paths, usd_kg))
            net = replace(net, source_ids=tuple(sorted({*net.source_ids, price_src})))
        policy = compile_policy(
            timeline,
            sc.start,
            len(months),
            sc.regions,
            paths,
            rng_pol,
            defence_share=_median(values["sector.defence_share"]),
            stages=net.stages,
            commodity=commodity,
        )
        floor_terms = None
        sectors = None
        feed = None
        sector_growth = None
        if commodity == "rare_earths":
            feed = _feed(ds, sc, net, values, timeline, paths, child_policy)
            split = sector_shares(
                ds,
                sc.regions,
                parameters={k: _median(values[k]) for k in ("sector.defence_share", "sector.ev_share")},
            )
            sectors = (split.shares, split.priority)
            sector_names = split.sectors
            sector_growth = growth_factors(
                split.sectors,
                {f"sector_growth.{s}": _median(values[f"sector_growth.{s}"]) for s in split.sectors},
                len(months),
            )
            if feed is not None and sector_growth is not None:
                weights = net.demand0 / net.demand0.sum()
                path = heavy_grade_path(split.shares, weights, split.heavy_grade, sector_growth, len(months))
                feed = replace(feed, grade_path=np.minimum(path, 1.0 / feed.grade_share))
            net = replace(
                net,
                source_ids=tuple(sorted({*net.source_ids, *split.source_ids})),
                assumption_ids=tuple(sorted({*net.assumption_ids, *split.assumption_ids})),
            )
            floor_terms = (
                draw(values["price.ndpr_usd_per_kg"], rng, paths),
                draw(values["price_floor.covered_t_per_year"], rng, paths) * 1000.0 / 12.0,
            )
        metrics, bands, trace = run_engine(
            net,
            params,
            policy,
            len(months),
            keep_trace=keep and i == 0,
            check_balance=check_balance,
            on_month=on_month if i == 0 else None,
            floor_terms=floor_terms,
            sectors=sectors,
            feed=feed,
            sector_growth=sector_growth,
        )
        feed_bands = {k[len("feed_") :]: v for k, v in bands.items() if k.startswith("feed_")}
        band_df = pd.DataFrame(
            {"month": months, **{k: v for k, v in bands.items() if not k.startswith("feed_")}}
        )
        frames.append(_summarise(metrics, sc.regions, net.product))
        if metrics.by_sector is not None:
            frames.append(_summarise_sectors(metrics.by_sector, sc.regions, net.product, sector_names))
        events = {e.source_id for e in events_for(timeline, commodity) if e.source_id}
        runs[commodity] = ChainRun(
            commodity,
            net.product,
            metrics,
            band_df,
            tuple(sorted(set(net.source_ids) | events)),
            net.assumption_ids,
        )
        if feed is not None and metrics.feed is not None:
            frames.append(_summarise(metrics.feed, sc.regions, feed.net.product))
            f_events = {e.source_id for e in events_for(feed_timeline(timeline), FEED_ID) if e.source_id}
            runs[FEED_ID] = ChainRun(
                FEED_ID,
                feed.net.product,
                metrics.feed,
                pd.DataFrame({"month": months, **feed_bands}),
                tuple(sorted(set(feed.net.source_ids) | f_events)),
                feed.net.assumption_ids,
            )
        if primary is None:
            primary = (metrics, band_df, trace, values)
    assert primary is not None  # a scenario has at least one chain (validated)
    metrics, band_df, trace, values = primary
    resolved = {
        k: (v if isinstance(v, float | int) else v.model_dump(by_alias=True)) for k, v in values.items()
    }
    return SimulationResult(
        sc,
        paths,
        seed,
        ds.version,
        tuple(months),
        pd.concat(frames, ignore_index=True),
        band_df,
        metrics,
        resolved,
        tuple(sorted({s for r in runs.values() for s in r.source_ids})),
        tuple(sorted({a for r in runs.values() for a in r.assumption_ids})),
        trace,
        chains=runs,
    )


def _feed(
    ds: Dataset,
    sc: Scenario,
    net: Network,
    values: dict[str, Value],
    timeline: tuple[Any, ...],
    paths: int,
    parent: np.random.SeedSequence,
    fnet: FeedNetwork | None = None,
) -> Feed | None:
    """The heavy rare-earth (Dy + Tb) feed of the magnet stage, or None when turned off.

    Its draws come from two children of the rare-earth chain's policy seed, so the feed never
    shifts the seeds of the chains after it. Parameters: the rare-earth chain's values with
    the feed's own (``heavy.yaml``) on top. ``fnet``: the feed network, when the caller has
    built it already (:func:`feed_network`; :class:`~critmin.simulate.calibrate.ExportModel`
    caches it across runs).
    """
    if fnet is None:
        fnet = feed_network(ds, net, values)
    if fnet is None:
        return None
    fvalues = {**values, **feed_parameters()}
    ss_params, ss_policy = parent.spawn(2)
    rng = None if paths == 1 else np.random.default_rng(ss_params)
    rng_pol = None if paths == 1 else np.random.default_rng(ss_policy)
    params = _engine_params(fvalues, fnet.net, sc, paths, rng)
    params = replace(params, value_per_kg=np.full(paths, fnet.usd_per_kg))
    policy = compile_policy(
        feed_timeline(timeline),
        sc.start,
        len(sc.months()),
        sc.regions,
        paths,
        rng_pol,
        defence_share=_median(values["sector.defence_share"]),
        stages=fnet.net.stages,
        commodity=FEED_ID,
    )
    return Feed(fnet.net, params, policy, fnet.stage, fnet.grade_share, fnet.intensity)


def feed_network(ds: Dataset, net: Network, values: dict[str, Value]) -> FeedNetwork | None:
    """The Dy + Tb feed network of ``net`` at the parameters' medians (None when turned off)."""
    h = _median(values["heavy.grade_share"])
    if h <= 0.0:
        return None
    return build_feed_network(
        ds, net, dy_tb_t_per_year=_median(values["heavy.dy_tb_t_per_year"]), grade_share=h
    )


def _network(ds: Dataset, sc: Scenario, values: dict[str, Value], commodity: str) -> Network:
    """The baseline network of one chain (network-level quantities at their medians)."""
    if commodity != "rare_earths":
        return build_chain_network(ds, commodity, sc.regions)
    return build_network(
        ds,
        sc.regions,
        mining_t_per_year=_median(values["volume.mining_t_per_year"]),
        magnet_t_per_year=_median(values["volume.magnet_t_per_year"]),
        china_exports_t_per_year=_median(values["volume.china_magnet_exports_t_per_year"]),
        us_share_of_exports=_median(values["trade.us_share_of_china_magnet_exports"]),
    )


def _summarise(m: PathMetrics, regions: tuple[str, ...], product: str = PRODUCT) -> pd.DataFrame:
    rows = []
    if m.price_floor_cost_usd is not None and m.price_floor_cost_usd.any():
        q = np.percentile(m.price_floor_cost_usd, [5, 50, 95])
        rows.append(
            {
                "region": "USA",
                "product": "ndpr_oxide",
                "metric": "price_floor_cost_usd",
                "p5": float(q[0]),
                "p50": float(q[1]),
                "p95": float(q[2]),
            }
        )
    for name in METRICS:
        arr = getattr(m, name)
        q = np.percentile(arr, [5, 50, 95], axis=0)
        for r, region in enumerate(regions):
            rows.append(
                {
                    "region": region,
                    "product": product,
                    "metric": name,
                    "p5": float(q[0, r]),
                    "p50": float(q[1, r]),
                    "p95": float(q[2, r]),
                }
            )
        world_ex = [r for r, reg in enumerate(regions) if reg != "CHN"]
        if name in ("cumulative_shortfall_t", "output_at_risk_usd"):
            tot = arr[:, world_ex].sum(axis=1)
            qq = np.percentile(tot, [5, 50, 95])
            rows.append(
                {
                    "region": "exCHN",
                    "product": product,
                    "metric": name,
                    "p5": float(qq[0]),
                    "p50": float(qq[1]),
                    "p95": float(qq[2]),
                }
            )
    return pd.DataFrame(rows)


def _summarise_sectors(
    by_sector: dict[str, npt.NDArray[np.float64]],
    regions: tuple[str, ...],
    product: str,
    sectors: tuple[str, ...],
) -> pd.DataFrame:
    """Region x sector percentiles; ``product`` is ``<product>:<sector>`` (e.g. ``ndfeb_magnets:wind``)."""
    rows = []
    for name in ("peak_shortfall_pct", "cumulative_shortfall_t", "months_below_90pct", "output_at_risk_usd"):
        arr = by_sector.get(name)
        if arr is None:
            continue
        q = np.percentile(arr, [5, 50, 95], axis=0)  # [3, R, S]
        for r, region in enumerate(regions):
            for j, sec in enumerate(sectors):
                rows.append(
                    {
                        "region": region,
                        "product": f"{product}:{sec}",
                        "metric": name,
                        "p5": float(q[0, r, j]),
                        "p50": float(q[1, r, j]),
                        "p95": float(q[2, r, j]),
                    }
                )
    return pd.DataFrame(rows)
