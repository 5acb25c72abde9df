"""Run a scenario: assemble, run its path blocks on an executor, merge, summarise.

``simulate(scenario, paths=N, seed=S)`` is :meth:`RunInputs.build` followed by :func:`run`.
Each block of paths (:data:`~critmin.simulate.assemble.BLOCK_PATHS`) draws its parameters and
policy from seeds of its own (:func:`~critmin.simulate.assemble.block_seeds`) and runs every
chain of the scenario; block results merge exactly (per-path metrics and series concatenate,
bands are percentiles of the merged series), so a run gives byte-identical summaries whether
its blocks run in this process (the default), on a local Dask cluster (``workers=N``) or on a
Dask cluster elsewhere (``scheduler="tcp://host:8786"``): see :mod:`critmin.simulate.executors`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from critmin.data.dataset import Dataset
from critmin.simulate.assemble import NetworkCache, RunInputs
from critmin.simulate.budget import check_run
from critmin.simulate.engine.types import EngineResult
from critmin.simulate.executors import Executor, InProcess, RunOptions
from critmin.simulate.inputs.params import PathValues
from critmin.simulate.inputs.policy import events_for, in_force
from critmin.simulate.inputs.scenario import Scenario
from critmin.simulate.result import (
    TRACE_LIMIT,
    ChainRun,
    SimulationResult,
    band_frame,
    join_results,
    summarise,
    summarise_sectors,
)


def run(
    inputs: RunInputs,
    *,
    keep_trace: bool | None = None,
    check_balance: bool = False,
    executor: Executor | None = None,
    on_block: Callable[[int, int], object] | None = None,
) -> SimulationResult:
    """Run ``inputs`` and merge its blocks into a :class:`SimulationResult`.

    ``keep_trace`` (default: when paths x months x regions <= ``TRACE_LIMIT``) keeps the
    primary chain's full monthly series; ``executor`` runs the blocks (default: in this
    process, in order); ``on_block(done, total)`` reports progress. A run whose estimated
    memory exceeds the limit is refused first (:func:`critmin.simulate.budget.check_run`).
    """
    sc = inputs.scenario
    keep = (
        keep_trace
        if keep_trace is not None
        else inputs.paths * len(inputs.months) * len(sc.regions) <= TRACE_LIMIT
    )
    # refuse, before any block runs, a run whose kept results would not fit memory
    check_run(sc.commodities, len(inputs.months), len(sc.regions), inputs.paths, keep_trace=keep)
    options = RunOptions(keep_trace=keep, check_balance=check_balance)
    ex = executor if executor is not None else InProcess()
    per_block = ex.run_blocks(inputs, inputs.blocks(), options, on_block)
    return merge(inputs, [join_results([b[i] for b in per_block]) for i in range(len(inputs.chains))])


def merge(inputs: RunInputs, results: Sequence[EngineResult]) -> SimulationResult:
    """The run's result from each chain's merged engine result."""
    sc = inputs.scenario
    start = pd.Timestamp(sc.start + "-01").date()
    n_months = len(inputs.months)
    runs: dict[str, ChainRun] = {}
    frames = []
    for ch, res in zip(inputs.chains, results, strict=True):
        m = res.metrics
        frames.append(summarise(m, sc.regions, ch.product))
        if m.by_sector is not None and ch.sectors is not None:
            frames.append(summarise_sectors(m.by_sector, sc.regions, ch.product, ch.sectors.sectors))
        events = ch.events
        runs[ch.id] = ChainRun(
            ch.id,
            ch.product,
            m,
            band_frame(inputs.months, res, feed=False),
            ch.source_ids,
            ch.assumption_ids,
            events,
            in_force(events, start, n_months, known=frozenset(e.id for e in ch.timeline)),
        )
        if ch.feed is not None and m.feed is not None:
            fs = ch.feed
            fevents = events_for(fs.timeline, fs.info.id)
            frames.append(summarise(m.feed, sc.regions, fs.info.product))
            f_sources = {e.source_id for e in fevents if e.source_id}
            runs[fs.info.id] = ChainRun(
                fs.info.id,
                fs.info.product,
                m.feed,
                band_frame(inputs.months, res, feed=True),
                tuple(sorted(set(fs.network.net.source_ids) | f_sources)),
                fs.network.net.assumption_ids,
                fevents,
                in_force(fevents, start, n_months, known=frozenset(e.id for e in fs.timeline)),
            )
    primary = inputs.chains[0]
    first = results[0]
    resolved = {k: _dump(v) for k, v in primary.values.items()}
    return SimulationResult(
        sc,
        inputs.paths,
        inputs.seed,
        inputs.data_version,
        inputs.months,
        pd.concat(frames, ignore_index=True),
        runs[primary.id].bands,
        first.metrics,
        resolved,
        tuple(sorted({s for r in runs.values() for s in r.source_ids})),
        tuple(sorted({a for r in runs.values() for a in r.assumption_ids})),
        first.trace,
        chains=runs,
    )


def _dump(v: Any) -> Any:
    if isinstance(v, float | int):
        return v
    if isinstance(v, PathValues):
        return v.model_dump()
    return v.model_dump(by_alias=True)


def simulate(
    scenario: Scenario | str,
    *,
    paths: int = 1000,
    seed: int = 0,
    dataset: Dataset | None = None,
    keep_trace: bool | None = None,
    check_balance: bool = False,
    executor: Executor | None = None,
    on_block: Callable[[int, int], object] | None = None,
    cache: NetworkCache | None = None,
) -> SimulationResult:
    """Simulate ``scenario`` (a :class:`Scenario`, bundled name or YAML path) over ``paths`` paths.

    Each commodity chain of the scenario (``commodities``) runs on its own network with the
    events that apply to it; seeds are described in :mod:`critmin.simulate.assemble`. The same
    as ``run(RunInputs.build(scenario, dataset, seed=seed, paths=paths), ...)``.
    """
    inputs = RunInputs.build(scenario, dataset, seed=seed, paths=paths, cache=cache)
    return run(
        inputs, keep_trace=keep_trace, check_balance=check_balance, executor=executor, on_block=on_block
    )
