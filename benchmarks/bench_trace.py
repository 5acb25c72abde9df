"""Benchmark: firm-level origin tracing (``critmin.trace.trace_firms``) on synthetic networks.

Target (issue: firm-level networks): 1,000,000 firms and 5,000,000 edges in under 20 s and
6 GB on a 2-core machine. Each size runs in a fresh subprocess so that its peak RSS
(``resource.getrusage``) is its own. The peak includes the generated network, which any user
holds in memory too. The timing is read-free: the frames are in memory and ``trace_firms``
validates, solves and builds the long table.

Baseline, measured in the same run where it finishes (``--baseline-max``): a plain networkx
propagation. It builds a ``DiGraph`` with summed quantities, takes its condensation in
topological order and runs a per-node Python loop of dicts, with Gauss-Seidel passes inside
cycles until the largest change is below 1e-12. Both give the same shares (checked; the
largest absolute difference is printed).

Usage: python benchmarks/bench_trace.py [--sizes 10000 100000 1000000] [--baseline-max 100000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

import networkx as nx
import pandas as pd

from critmin.trace import UNKNOWN, synth_network, trace_firms


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is KiB on Linux


def networkx_baseline(firms: pd.DataFrame, edges: pd.DataFrame, stage: str) -> dict[str, dict[str, float]]:
    """Input content per firm by origin country, by path propagation on a networkx DiGraph."""
    G = nx.DiGraph()
    G.add_nodes_from(firms["firm_id"])
    for s, c, q in zip(edges["supplier_id"], edges["customer_id"], edges["quantity"], strict=True):
        if q > 0:
            if G.has_edge(s, c):
                G[s][c]["q"] += q
            else:
                G.add_edge(s, c, q=float(q))
    country = dict(zip(firms["firm_id"], firms["country"], strict=True))
    origin = {f for f, st in zip(firms["firm_id"], firms["stage"], strict=True) if st == stage}
    w_in: dict[str, list[tuple[str, float]]] = {}
    for f in G.nodes:
        preds = [(s, G[s][f]["q"]) for s in G.predecessors(f)]
        total = sum(q for _, q in preds)
        w_in[f] = [(s, q / total) for s, q in preds] if total > 0 else []
    y: dict[str, dict[str, float]] = {f: {} for f in G.nodes}

    def mix(f: str) -> dict[str, float]:
        acc: dict[str, float] = defaultdict(float)
        for s, w in w_in[f]:
            for k, v in y[s].items():
                acc[k] += w * v
        return acc

    cond = nx.condensation(G)
    for comp in nx.topological_sort(cond):
        members = list(cond.nodes[comp]["members"])
        for _ in range(100_000):
            change = 0.0
            for f in members:
                new = {country[f]: 1.0} if f in origin else mix(f)
                old = y[f]
                change = max(
                    change, *(abs(new.get(k, 0.0) - old.get(k, 0.0)) for k in new.keys() | old.keys()), 0.0
                )
                y[f] = new
            if change < 1e-12 or (len(members) == 1 and not G.has_edge(members[0], members[0])):
                break
    return {f: mix(f) for f in G.nodes}


def _max_diff(shares: pd.DataFrame, base: dict[str, dict[str, float]]) -> float:
    got: dict[str, dict[str, float]] = defaultdict(dict)
    for f, o, s in zip(shares["firm_id"], shares["origin"].astype(str), shares["share"], strict=True):
        if o != UNKNOWN:
            got[f][o] = s
    worst = 0.0
    for f, b in base.items():
        g = got.get(f, {})
        for k in b.keys() | g.keys():
            worst = max(worst, abs(b.get(k, 0.0) - g.get(k, 0.0)))
    return worst


def child(n: int, edges_per_firm: int, stage: str, seed: int, baseline: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    firms, edges = synth_network(n, edges_per_firm * n, seed)
    synth_s = time.perf_counter() - t0
    rss_inputs = _rss_gb()
    w0, c0 = time.perf_counter(), time.process_time()
    res = trace_firms(firms, edges, stage)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    out: dict[str, Any] = {
        "firms": n,
        "edges": len(edges),
        "synth_s": synth_s,
        "trace_s": wall,
        "trace_cpu_s": cpu,
        "rss_inputs_gb": rss_inputs,
        "peak_rss_gb": _rss_gb(),
        "rows": len(res.shares),
        "known_mass_share": res.coverage["known_mass_share"],
        "firms_in_cycles": res.coverage["firms_in_cycles"],
        "sweeps": res.coverage["max_sweeps"],
    }
    if baseline:
        b0 = time.perf_counter()
        base = networkx_baseline(firms, edges, stage)
        out["baseline_s"] = time.perf_counter() - b0
        out["max_abs_diff"] = _max_diff(res.shares, base)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument(
        "--baseline-max", type=int, default=100_000, help="largest size given the networkx baseline"
    )
    ap.add_argument("--edges-per-firm", type=int, default=5)
    ap.add_argument("--origin-stage", default="separation")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        r = child(
            args.child, args.edges_per_firm, args.origin_stage, args.seed, args.child <= args.baseline_max
        )
        print(json.dumps(r))
        return
    print(
        f"critmin trace firms: origin stage {args.origin_stage}, {args.edges_per_firm} edges per firm, "
        f"seed {args.seed}; time excludes file reading; peak RSS includes the network in memory"
    )
    head = (
        f"{'firms':>10} {'edges':>10} {'trace s':>8} {'cpu s':>7} {'peak GB':>8} {'inputs GB':>9} "
        f"{'in cycles':>9} {'sweeps':>6} {'networkx s':>10} {'speed-up':>8} {'max|diff|':>9}"
    )
    print(head)
    results = []
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--child", str(n), "--baseline-max", str(args.baseline_max)]
        cmd += ["--edges-per-firm", str(args.edges_per_firm), "--origin-stage", args.origin_stage]
        cmd += ["--seed", str(args.seed)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        base = (
            f"{r['baseline_s']:10.2f} {r['baseline_s'] / r['trace_s']:7.0f}x {r['max_abs_diff']:9.1e}"
            if "baseline_s" in r
            else f"{'(skipped)':>10} {'':>8} {'':>9}"
        )
        print(
            f"{r['firms']:>10,} {r['edges']:>10,} {r['trace_s']:8.2f} {r['trace_cpu_s']:7.2f} "
            f"{r['peak_rss_gb']:8.2f} {r['rss_inputs_gb']:9.2f} {r['firms_in_cycles']:>9,} "
            f"{r['sweeps']:>6} {base}",
            flush=True,
        )
    big = [r for r in results if r["firms"] >= 1_000_000]
    for r in big:
        ok = r["trace_s"] < 20 and r["peak_rss_gb"] < 6
        print(f"target at {r['firms']:,} firms: < 20 s and < 6 GB: {'OK' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
