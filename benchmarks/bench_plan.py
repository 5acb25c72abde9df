"""Benchmark of ``critmin plan``: model size, build and solve time of the bundled plans, and the
same model with 1,000 futures.

    PYTHONPATH=src python benchmarks/bench_plan.py [--plans us,eu,allied] [--big us] [--big-futures 1000]
        [--baseline-time-limit 300] [--no-baseline]

Prints one line per plan: futures, variables, constraints, binaries, the time to sample the
futures from the simulator, to build the linopy model and to solve it by decomposition
(``solver.method: decomposition``, critmin.plan.benders) and, as the baseline in the same run,
the monolithic HiGHS solve of the same model, with their ratio and both objectives.
Times are wall-clock on this machine, as measured; nothing is extrapolated.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings


def bench(name: str, futures: int | None, baseline_limit: float | None) -> dict[str, object]:
    """Sample, build and solve one bundled plan (decomposition, then the monolithic baseline)."""
    from critmin.plan.futures import model_inputs
    from critmin.plan.model import build_model
    from critmin.plan.solve import model_size, objective_value, solve_built
    from critmin.plan.spec import load_plan

    spec = load_plan(name)
    if futures is not None:
        spec = spec.with_changes(futures=futures)
    t0 = time.perf_counter()
    inputs, _ = model_inputs(spec)
    t1 = time.perf_counter()
    b = build_model(spec, inputs)
    t2 = time.perf_counter()
    status = solve_built(b, method="decomposition")
    t3 = time.perf_counter()
    out: dict[str, object] = {
        "plan": name,
        "futures": spec.futures,
        **model_size(b),
        "sample_s": round(t1 - t0, 2),
        "build_s": round(t2 - t1, 2),
        "solve_s": round(t3 - t2, 2),
        "status": status.value,
        "iterations": sum(1 for line in b.solver_log if line[:4].strip().isdigit()),
        "objective_musd": round(objective_value(b), 1) if status.value in ("optimal", "time_limit") else None,
    }
    if baseline_limit:
        mono = build_model(spec, inputs)
        t4 = time.perf_counter()
        st2 = solve_built(mono, method="monolithic", time_limit=baseline_limit)
        t5 = time.perf_counter()
        out["monolithic_s"] = round(t5 - t4, 2)
        out["monolithic_status"] = st2.value
        out["monolithic_objective_musd"] = (
            round(objective_value(mono), 1) if st2.value in ("optimal", "time_limit") else None
        )
        out["speed_up"] = round((t5 - t4) / max(t3 - t2, 1e-9), 1)
    return out


def main() -> None:
    """Run the benchmark (module docstring)."""
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--plans", default="us,eu,allied")
    ap.add_argument("--big", default="us", help="plan to run with --big-futures futures ('' to skip)")
    ap.add_argument("--big-futures", type=int, default=1000)
    ap.add_argument("--baseline-time-limit", type=float, default=300.0)
    ap.add_argument("--no-baseline", action="store_true")
    a = ap.parse_args()
    limit = None if a.no_baseline else a.baseline_time_limit
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    for name in [p for p in a.plans.split(",") if p]:
        print(bench(name, None, limit), flush=True)
    if a.big:
        print(bench(a.big, a.big_futures, None), flush=True)


if __name__ == "__main__":
    main()
