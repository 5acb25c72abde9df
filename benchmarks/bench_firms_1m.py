"""Benchmark: firm tracing on a million-firm ring, chain and synthetic network (issue 11).

Issue 11 measured one 1M-firm cycle at 276 s (100k: 28 s) and a 1M-firm chain at 37 s, against
7.7 s for the synthetic network: the level-by-level solver took one Python step per level of
the condensation and per level of a cycle's forward edges. ``critmin.trace.firms`` now solves
deep networks with one sparse LU per run of components (and triangular-factor sweeps inside
deep cycles); shallow ones are still solved level by level.

Networks (time: ``trace_firms`` on frames in memory: validation, solve, long table):

* **ring**: a separator ``S`` (CHN) and a trader ``X`` (no inputs) both sell to ``F1``;
  ``F1 -> F2 -> ... -> Fn -> F1`` is one strongly connected component of ``n`` firms (every
  ring firm is exactly half CHN, half unknown: checked);
* **chain**: ``S -> F1 -> ... -> Fn`` (every firm 100% CHN: checked);
* **synth**: :func:`critmin.trace.synth_network` with 5 edges per firm, origin separation.

Baseline, in the same run: the old solver, frozen in ``benchmarks/firms_solver_v1.py``, swapped
in for ``critmin.trace.firms.solve_Y``. On the ring and the chain it is measured at
``--old-size`` (default 100,000: the old ring takes ~30 s there and ~10x that at 1M, linear
in n), so the ratio printed for them is at that size; the new solver is timed at both sizes.
On the synthetic network the old solver runs at the full size. Where both run, the largest
absolute difference between their shares is printed.

Usage: python benchmarks/bench_firms_1m.py [--size 1000000] [--old-size 100000] [--only ring chain synth]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import critmin.trace.firms as tf
from critmin.trace import synth_network, trace_firms

sys.path.insert(0, str(Path(__file__).resolve().parent))
import firms_solver_v1


def ring(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = [f"F{i}" for i in range(1, n + 1)]
    firms = pd.DataFrame(
        {"firm_id": ["S", "X", *ids], "country": "JPN", "stage": ["separation", *["metal_alloy"] * (n + 1)]}
    )
    firms.loc[0, "country"] = "CHN"
    edges = pd.DataFrame(
        {"supplier_id": ["S", "X", *ids], "customer_id": ["F1", "F1", *ids[1:], "F1"], "quantity": 1.0}
    )
    return firms, edges


def chain(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = ["S", *(f"F{i}" for i in range(1, n + 1))]
    firms = pd.DataFrame({"firm_id": ids, "country": "CHN", "stage": ["separation", *["metal_alloy"] * n]})
    return firms, pd.DataFrame({"supplier_id": ids[:-1], "customer_id": ids[1:], "quantity": 2.0})


def synth(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return synth_network(n, 5 * n, seed=0)


def _check(name: str, shares: pd.DataFrame) -> None:
    """The analytic answers of the ring and the chain."""
    body = shares[shares["firm_id"].astype(str).str.startswith("F")]
    want = 0.5 if name == "ring" else 1.0
    assert np.allclose(body["share"], want, atol=1e-12), f"{name}: shares are not {want}"


def timed(solver: Callable[..., Any], firms: pd.DataFrame, edges: pd.DataFrame) -> tuple[float, Any]:
    saved = tf.solve_Y
    tf.solve_Y = solver
    try:
        t0 = time.perf_counter()
        res = trace_firms(firms, edges, "separation")
        return time.perf_counter() - t0, res
    finally:
        tf.solve_Y = saved


def max_diff(a: pd.DataFrame, b: pd.DataFrame) -> float:
    key = ["firm_id", "origin"]
    m = a.merge(b, on=key, how="outer", suffixes=("_a", "_b")).fillna({"share_a": 0.0, "share_b": 0.0})
    return float((m["share_a"] - m["share_b"]).abs().max()) if len(m) else 0.0


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--old-size", type=int, default=100_000, help="size the old solver runs at (ring, chain)")
    ap.add_argument(
        "--only", nargs="+", choices=["ring", "chain", "synth"], default=["ring", "chain", "synth"]
    )
    args = ap.parse_args()
    print(
        f"critmin trace firms, new solver vs the level-by-level one (benchmarks/firms_solver_v1.py); "
        f"size {args.size:,}, old solver on ring/chain at {args.old_size:,}"
    )
    print(
        f"{'network':<8} {'firms':>10} {'edges':>10} {'new s':>8} {'levels':>7} {'sweeps':>6} "
        f"{'old at':>10} {'old s':>8} {'new s':>8} {'speed-up':>8} {'max|diff|':>9}"
    )
    for name in args.only:
        make = {"ring": ring, "chain": chain, "synth": synth}[name]
        firms, edges = make(args.size)
        new_s, res = timed(tf.solve_Y, firms, edges)
        if name != "synth":
            _check(name, res.shares)
        cov = res.coverage
        old_n = args.size if name == "synth" else min(args.old_size, args.size)
        if old_n != args.size:
            small_f, small_e = make(old_n)
            new_small, res_small = timed(tf.solve_Y, small_f, small_e)
        else:
            small_f, small_e, new_small, res_small = firms, edges, new_s, res
        old_s, old_res = timed(firms_solver_v1.solve_Y, small_f, small_e)
        diff = max_diff(res_small.shares, old_res.shares)
        levels = "-" if cov["levels"] is None else str(cov["levels"])
        print(
            f"{name:<8} {cov['firms']:>10,} {cov['edges']:>10,} {new_s:8.2f} {levels:>7} "
            f"{cov['max_sweeps']:>6} {old_n:>10,} {old_s:8.2f} {new_small:8.2f} "
            f"{old_s / new_small:7.0f}x {diff:9.1e}",
            flush=True,
        )
    print(f"peak RSS {_rss_gb():.2f} GB (whole run; levels '-' = deeper than the level cap: sparse LU)")


if __name__ == "__main__":
    main()
