"""Benchmark: the Monte Carlo disruption simulation (``critmin.simulate.simulate``).

Target (issue: monthly disruption simulation): 10,000 paths x 144 months of the full
rare-earth scenario (``controls-reimposed-2026-11``) in under 30 s and 4 GB on a 2-core
machine, and at least 50x a straightforward per-path Python loop.

The timed call is ``simulate(scenario, paths=N)`` with the dataset already loaded (loading
it is ``bench_dataset.py``'s business). The time covers parameter sampling, network,
policy, engine and summary. The engine alone is timed inside the same call. Peak RSS is the
process's ``ru_maxrss`` after the call, before the baseline runs. Wall and CPU seconds are
both printed because the machine may be shared.

Baseline, measured in the same run: ``benchmarks/baseline_loop.py``, the same engine as a
per-path loop over months, stages and exporter x destination pairs in Python floats. It is
timed on ``--baseline-paths`` paths and extrapolated per path-month. Before timing, it is
checked to give the same metrics and bands as the vectorised engine on 3 paths. The loop
runs the rare-earth chain alone; the timed ``simulate`` call also steps the Dy + Tb feed of
the magnet stage (``critmin.simulate.chains.heavy``, about 30% of the engine time), so the printed
ratios understate the speed-up for the same work.

Usage: python benchmarks/bench_simulate.py [--paths 10000] [--baseline-paths 20]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baseline_loop

import critmin.simulate.executors as run_mod
from critmin.data.load import load_dataset
from critmin.simulate import simulate


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def _timed(fn: Any, clock: dict[str, float]) -> Any:
    def wrapper(*args: Any, **kw: Any) -> Any:
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn(*args, **kw)
        # summed over calls: one per block of paths and chain
        clock["wall"] = clock.get("wall", 0.0) + time.perf_counter() - w0
        clock["cpu"] = clock.get("cpu", 0.0) + time.process_time() - c0
        return out

    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--baseline-paths", type=int, default=20)
    ap.add_argument("--scenario", default="controls-reimposed-2026-11")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2, help="Dask LocalCluster workers (0: skip)")
    a = ap.parse_args()

    ds = load_dataset()
    engine_clock: dict[str, float] = {}
    run_mod.run_engine = _timed(run_mod.run_engine, engine_clock)
    w0, c0 = time.perf_counter(), time.process_time()
    res = simulate(a.scenario, paths=a.paths, seed=a.seed, dataset=ds)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    rss = _rss_gb()
    months = len(res.months)
    pm = a.paths * months
    print(f"simulate({a.scenario!r}, paths={a.paths:,}): {months} months, {pm:,} path-months")
    print(f"  whole call   {wall:6.2f} s wall ({cpu:.2f} s CPU)   {pm / wall:12,.0f} path-months/s")
    print(
        f"  engine alone {engine_clock['wall']:6.2f} s wall ({engine_clock['cpu']:.2f} s CPU)"
        f"   {pm / engine_clock['wall']:12,.0f} path-months/s"
    )
    print(f"  peak RSS {rss:.2f} GB; full trace kept: {res.trace is not None}")

    net, params, policy, n_months = baseline_loop.inputs(a.scenario, 3, a.seed)
    gap = baseline_loop.check_against_engine(net, params, policy, n_months)
    net, params, policy, n_months = baseline_loop.inputs(a.scenario, a.baseline_paths, a.seed)
    w0 = time.perf_counter()
    baseline_loop.run_loop(net, params, policy, n_months)
    per_pm = (time.perf_counter() - w0) / (a.baseline_paths * n_months)
    print(
        f"baseline: per-path Python loop, {a.baseline_paths} paths: {per_pm * 1e3:.3f} ms per path-month"
        f" ({1 / per_pm:,.0f} path-months/s); same results as the engine on 3 paths (gap {gap:.1e})"
    )
    ratio_engine = per_pm * pm / engine_clock["wall"]
    ratio_call = per_pm * pm / wall
    print(f"ratio: {ratio_engine:.0f}x engine alone, {ratio_call:.0f}x whole simulate call (target >= 50x)")
    ok = wall < 30 and rss < 4 and ratio_call >= 50
    print(f"target at {a.paths:,} paths: < 30 s, < 4 GB, >= 50x: {'OK' if ok else 'MISSED'}")
    if a.workers:
        from critmin.jsonsafe import dumps
        from critmin.simulate.executors import DaskExecutor

        w0 = time.perf_counter()
        with DaskExecutor.local(a.workers) as ex:
            start = time.perf_counter() - w0
            w1 = time.perf_counter()
            dres = simulate(a.scenario, paths=a.paths, seed=a.seed, dataset=ds, executor=ex)
            dwall = time.perf_counter() - w1
        same = dumps(dres.to_dict(), sort_keys=True) == dumps(res.to_dict(), sort_keys=True)
        print(
            f"dask LocalCluster, {a.workers} workers: cluster start {start:.1f} s, run {dwall:.2f} s "
            f"({dwall / wall:.2f}x the in-process call); identical JSON summary: {same}"
        )


if __name__ == "__main__":
    main()
