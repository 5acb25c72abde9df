"""Benchmark: ``exposure`` on a store holding a large overlay (issue 11: 3.7M rows, 9.8 s, 3.4 GB).

Builds a store with one overlay of ``--rows`` generated production rows spread over every
commodity, stage, measure, country and year (inserted straight through ``Store.add_import``, so
the figure does not depend on the overlay reader's speed), then times, each in a fresh
interpreter so that peak RSS is that command's alone:

* ``lazy``: what ``critmin exposure --commodity rare_earths`` does now (``load_dataset`` reads
  the catalogue; the rare-earth rows are fetched from DuckDB with a commodity filter);
* ``eager`` (baseline, kept here): the old loading, every import's rows read and validated into
  the in-memory tables before the same exposure call.

Both give the same stage table (checked). Prints seconds, peak RSS and the ratios.

Usage: python benchmarks/bench_overlay_exposure.py [--rows 3700000] [--commodity rare_earths]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, home, commodity = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
sys.path.insert(0, sys.argv[4])
t0 = time.perf_counter()
import bench_overlay_exposure as b
from critmin.metrics.exposure import exposure
ds = b.eager_load(home) if mode == "eager" else b.lazy_load(home)
rep = exposure(commodity, dataset=ds)
dt = time.perf_counter() - t0
# VmHWM, not ru_maxrss: ru_maxrss survives exec and would report the parent's size.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")]
rss = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"s": dt, "rss_mb": rss, "stages": rep.stages.drop(columns=["source_ids"]).to_json()}))
"""


def lazy_load(home: Path):  # type: ignore[no-untyped-def]
    """What every command does now."""
    from critmin.data.load import load_dataset

    return load_dataset(home)


def eager_load(home: Path):  # type: ignore[no-untyped-def]
    """Baseline: the loading before issue 11 (every import's rows read, validated, concatenated)."""
    from dataclasses import replace

    from critmin.data.dataset import Dataset, chained_version, validate_table
    from critmin.store.duckdb_store import Store

    ds = Dataset.bundled()
    store = Store.open(home)
    recs, sources = store.catalogue()
    tables = dict(ds.tables)
    srcs = dict(ds.sources)
    for rec in recs:
        for name in ("production", "stage_shares"):
            rows = store.rows(name, [rec.import_id]).drop(columns=["import_id"])
            if len(rows):
                rows = validate_table(rows, name).assign(_overlay=True)
                tables[name] = pd.concat([tables[name], rows], ignore_index=True)
        srcs.update({s.id: s for s in sources[rec.import_id]})
    version = chained_version(ds.version, [r.import_id for r in recs])
    return replace(
        ds, tables=tables, sources=srcs, version=version, overlays=tuple(r.import_id for r in recs)
    )


def generate(n_rows: int) -> pd.DataFrame:
    """``n_rows`` distinct production rows over every commodity x stage x measure x country x year."""
    from critmin.data.dataset import Dataset
    from critmin.model.commodities import registry

    countries = sorted(set(Dataset.bundled().tables["production"]["country"]) - {"WLD", "OTH"})
    cs = [(c.id, s.value, c.unit) for c in registry().commodities for s in c.stages]
    measures = ["production", "reserves", "capacity"]
    per_year = len(cs) * len(measures) * len(countries)
    n_years = -(-n_rows // per_year)
    years = np.arange(2024 - n_years + 1, 2025)
    idx = np.arange(n_rows)
    cc = idx % len(countries)
    rest = idx // len(countries)
    mm = rest % len(measures)
    rest //= len(measures)
    ss = rest % len(cs)
    yy = rest // len(cs)
    com = np.array([c for c, _, _ in cs], dtype=object)
    stg = np.array([s for _, s, _ in cs], dtype=object)
    unit = np.array([u for _, _, u in cs], dtype=object)
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "source_id": "bench-overlay",
            "commodity": com[ss],
            "stage": stg[ss],
            "measure": np.array(measures, dtype=object)[mm],
            "country": np.array(countries, dtype=object)[cc],
            "year": years[yy],
            "value": rng.uniform(1, 1e5, n_rows).round(1),
            "unit": unit[ss],
            "qualifier": "exact",
            "estimated": False,
            "vintage": 2024,
            "series": None,
            "note": None,
        }
    )


def build(home: Path, n_rows: int) -> float:
    from critmin.data.catalogue import Source
    from critmin.store.duckdb_store import Store

    src = Source(
        id="bench-overlay", kind="dataset", publisher="bench", title="generated", url="https://ex.org",
        licence="CC0", priority=0,
    )  # fmt: skip
    frame = generate(n_rows)
    t0 = time.perf_counter()
    Store.open(home).add_import(
        kind="overlay", path=home / "bench.csv", tables={"production": frame}, sources=[src]
    )
    return time.perf_counter() - t0


def measure(mode: str, home: Path, commodity: str) -> dict[str, float | str]:
    here = str(Path(__file__).resolve().parent)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(home), commodity, here],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    got: dict[str, float | str] = json.loads(out.stdout.strip().splitlines()[-1])
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=3_700_000)
    ap.add_argument("--commodity", default="rare_earths")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        t_insert = build(home, args.rows)
        size = (home / "critmin.duckdb").stat().st_size / 1e6
        print(f"store: {args.rows:,} overlay rows, {size:,.0f} MB, inserted in {t_insert:.1f} s")
        lazy = measure("lazy", home, args.commodity)
        eager = measure("eager", home, args.commodity)
        same = json.loads(str(lazy["stages"])) == json.loads(str(eager["stages"]))
        for name, r in (("eager (old, baseline)", eager), ("lazy (now)", lazy)):
            print(
                f"exposure --commodity {args.commodity}, {name}: {r['s']:.2f} s, "
                f"peak RSS {r['rss_mb']:,.0f} MB"
            )
        print(
            f"speed-up {float(eager['s']) / float(lazy['s']):.1f}x, memory "
            f"{float(eager['rss_mb']) / float(lazy['rss_mb']):.1f}x less; same stage table: {same}"
        )
        if not same:
            raise SystemExit("the two loadings disagree")


if __name__ == "__main__":
    main()
