"""Load test of ``critmin serve``: 50 concurrent clients on loopback for 30 s.

Starts ``python -m critmin serve`` in a subprocess on a free loopback port (its own empty
CRITMIN_HOME, so the stored runs go to a temp store), waits for the dataset to load, then
runs for ``--seconds``:

* ``--exposure-clients`` (default 40) clients, each in a loop: GET /api/v1/exposure with one
  of five commodities (the server caches a computed report per data version);
* ``--sim-clients`` (default 10) clients, each in a loop: POST a deterministic 1-path
  simulation of ``--scenario`` (default baseline, 2024-01 to 2035-12), poll its status every
  50 ms until done; latency is submit to done (queueing included: the server runs
  ``--workers`` jobs at a time).

Reports p50/p95 latency of each kind, request counts, errors (any non-2xx answer or failed
job: must be zero), the server's resident memory (VmRSS) after start-up and at the end (with
its job worker processes, when jobs run in processes), and the load average before and after.
The load starts once the server answers and, when its jobs run in worker processes (the
default), once every worker is warm (``GET /api/v1/health``: ``workers.warm``).

Usage: python benchmarks/bench_serve.py [--seconds 30] [--exposure-clients 40] [--sim-clients 10]
       [--workers 2] [--job-threads]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

COMMODITIES = ("rare_earths", "gallium", "germanium", "antimony", "graphite")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (the forkserver and the job workers), from /proc."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants in MB."""
    total = 0.0
    for p in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            total += rss_mb(p)
    return total


async def exposure_client(
    c: httpx.AsyncClient, end: float, i: int, lat: list[float], errors: list[str]
) -> None:
    k = i
    while time.monotonic() < end:
        t0 = time.perf_counter()
        r = await c.get("/api/v1/exposure", params={"commodity": COMMODITIES[k % len(COMMODITIES)]})
        lat.append(time.perf_counter() - t0)
        if r.status_code != 200:
            errors.append(f"exposure {r.status_code}: {r.text[:200]}")
        k += 1


async def sim_client(
    c: httpx.AsyncClient, end: float, body: dict[str, Any], lat: list[float], errors: list[str]
) -> None:
    while time.monotonic() < end:
        t0 = time.perf_counter()
        r = await c.post("/api/v1/simulations", json=body)
        if r.status_code != 202:
            errors.append(f"submit {r.status_code}: {r.text[:200]}")
            await asyncio.sleep(0.5)
            continue
        job = r.json()["job_id"]
        while True:
            s = await c.get(f"/api/v1/simulations/{job}")
            doc = s.json()
            if s.status_code != 200:
                errors.append(f"status {s.status_code}: {s.text[:200]}")
                break
            if doc["status"] not in ("queued", "running"):
                if doc["status"] != "done":
                    errors.append(f"job {doc['status']}: {doc.get('error')}")
                break
            await asyncio.sleep(0.05)
        res = await c.get(f"/api/v1/simulations/{job}/result")
        lat.append(time.perf_counter() - t0)
        if res.status_code != 200:
            errors.append(f"result {res.status_code}")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def drive(base: str, args: argparse.Namespace) -> dict[str, Any]:
    exp_lat: list[float] = []
    sim_lat: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=args.exposure_clients + args.sim_clients + 5)
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as c:
        # warm the cache of each commodity once (a cold report is computed, not measured)
        for com in COMMODITIES:
            await c.get("/api/v1/exposure", params={"commodity": com})
        end = time.monotonic() + args.seconds
        body = {"scenario": args.scenario, "paths": 1, "seed": 0}
        t0 = time.perf_counter()
        await asyncio.gather(
            *(exposure_client(c, end, i, exp_lat, errors) for i in range(args.exposure_clients)),
            *(sim_client(c, end, body, sim_lat, errors) for _ in range(args.sim_clients)),
        )
        wall = time.perf_counter() - t0
    return {
        "seconds": round(wall, 1),
        "clients": args.exposure_clients + args.sim_clients,
        "exposure": {
            "requests": len(exp_lat),
            "p50_ms": round(1000 * pct(exp_lat, 50), 1),
            "p95_ms": round(1000 * pct(exp_lat, 95), 1),
            "per_s": round(len(exp_lat) / wall, 1),
        },
        "simulation_1_path": {
            "runs": len(sim_lat),
            "p50_s": round(pct(sim_lat, 50), 2),
            "p95_s": round(pct(sim_lat, 95), 2),
        },
        "errors": len(errors),
        "first_errors": errors[:5],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--exposure-clients", type=int, default=40)
    ap.add_argument("--sim-clients", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2, help="server's simulation workers")
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--job-threads", action="store_true", help="the server runs jobs in threads")
    args = ap.parse_args()
    port = free_port()
    home = tempfile.mkdtemp(prefix="critmin-bench-serve-")
    env = {**os.environ, "CRITMIN_HOME": home}
    cmd = [
        sys.executable,
        "-m",
        "critmin",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--max-jobs",
        str(max(16, args.sim_clients + 2)),
        *(["--job-threads"] if args.job_threads else []),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                h = httpx.get(base + "/api/v1/health", timeout=2)
                w = (h.json().get("workers") or {}) if h.status_code == 200 else None
                if w is not None and w.get("warm", 0) >= w.get("workers", 0):
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    "server did not start: " + (proc.stderr.read().decode() if proc.stderr else "")
                )
            time.sleep(0.2)
        before, tree_before = rss_mb(proc.pid), tree_rss_mb(proc.pid)
        load_before = os.getloadavg()
        out = asyncio.run(drive(base, args))
        out["server_rss_mb"] = {"after_start": round(before, 1), "after_load": round(rss_mb(proc.pid), 1)}
        out["with_workers_rss_mb"] = {
            "after_start": round(tree_before, 1),
            "after_load": round(tree_rss_mb(proc.pid), 1),
        }
        out["jobs_in"] = "threads" if args.job_threads else "processes"
        out["workers"] = args.workers
        out["load_average_1m"] = {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)}
        out["cpus"] = os.cpu_count()
        print(json.dumps(out, indent=2))
        if out["errors"]:
            raise SystemExit(1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
