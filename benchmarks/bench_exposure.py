"""Benchmark: concentration metrics for every commodity x stage x year x measure.

Target (issue #3): all metrics for all cross-sections in under 1 s on a 2-core machine.
Baseline, measured in the same run: a plain-Python loop over the same resolved rows calling
the pure metric functions section by section. Both produce the same numbers (checked).

Usage: python benchmarks/bench_exposure.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
import pandas as pd

from critmin.data.dataset import SECTION_KEY, Dataset, with_shares
from critmin.metrics.concentration import hhi, hhi_wgi, n_minus_1_coverage, n_to_reach, top_share
from critmin.metrics.exposure import concentration_table
from critmin.metrics.governance import wgi_scaled
from critmin.model.countries import is_country

MEASURES = ("production", "reserves", "capacity")


def prepare(ds: Dataset) -> dict[str, pd.DataFrame]:
    """Resolution + world shares (shared by both methods; timed separately)."""
    return {m: with_shares(ds.resolved(m)) for m in MEASURES}


def vectorised(ds: Dataset, wgi: pd.Series, prepared: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(
        [concentration_table(ds, m, wgi=wgi, rows=prepared[m]) for m in MEASURES], ignore_index=True
    )


def python_loop(ds: Dataset, wgi: pd.Series, prepared: dict[str, pd.DataFrame]) -> pd.DataFrame:
    w = wgi.to_dict()
    out = []
    for m in MEASURES:
        rows = prepared[m]
        sections: dict[tuple[object, ...], dict[str, float]] = defaultdict(dict)
        for rec in rows.itertuples(index=False):
            share = rec.share
            if is_country(rec.country) and share == share and share > 0:
                sec = sections[tuple(getattr(rec, k) for k in SECTION_KEY)]
                sec[rec.country] = sec.get(rec.country, 0.0) + float(share)
        for key, by_country in sections.items():
            pairs = list(by_country.items())
            shares = [s for _, s in pairs]
            out.append(
                {
                    **dict(zip(SECTION_KEY, key, strict=True)),
                    "hhi": hhi(shares),
                    "hhi_wgi": hhi_wgi({c: s for c, s in pairs if c in w}, w),
                    "top1_share": top_share(shares, 1),
                    "top3_share": top_share(shares, 3),
                    "n_to_80pct": n_to_reach(shares, 0.8),
                    "n_minus_1_coverage": n_minus_1_coverage(shares),
                }
            )
    return pd.DataFrame(out)


def _best(fn, repeat: int) -> tuple[float, pd.DataFrame]:  # type: ignore[no-untyped-def]
    best, res = float("inf"), pd.DataFrame()
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t0)
    return best, res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    ds = Dataset.bundled()
    load = time.perf_counter() - t0
    wgi = wgi_scaled(ds)
    tp, prepared = _best(lambda: prepare(ds), args.repeat)
    tv, v = _best(lambda: vectorised(ds, wgi, prepared), args.repeat)
    tb, b = _best(lambda: python_loop(ds, wgi, prepared), args.repeat)
    key = [*SECTION_KEY]
    both = v.merge(b, on=key, suffixes=("", "_b"))
    assert len(both) == len(v) == len(b), (len(v), len(b))
    for col in ("hhi", "hhi_wgi", "top1_share", "top3_share", "n_minus_1_coverage"):
        assert np.allclose(both[col].astype(float), both[col + "_b"].astype(float), equal_nan=True), col
    print(f"dataset load (once, cached)       : {load:7.3f} s")
    print(f"cross-sections                    : {len(v)}")
    print(f"resolve vintages + world shares   : {tp:7.3f} s (shared by both)")
    print(f"metrics, python loop baseline     : {tb:7.3f} s")
    print(f"metrics, critmin (vectorised)     : {tv:7.3f} s   speed-up {tb / tv:5.1f}x")
    total = tp + tv
    print(
        f"all metrics, end to end           : {total:7.3f} s   target < 1 s: "
        f"{'OK' if total < 1 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
