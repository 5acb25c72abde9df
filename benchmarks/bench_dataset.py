"""Benchmark: loading and validating the bundled dataset, against a plain CSV read baseline.

Prints wall times and the ratio (validated load / plain ``pandas.read_csv`` of the same files),
both measured in this run. Usage: python benchmarks/bench_dataset.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time
from importlib import resources
from pathlib import Path

import pandas as pd

from critmin.data.dataset import Dataset
from critmin.data.schemas import TABLES


def _best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    root = Path(str(resources.files("critmin.data").joinpath("bundled")))

    def baseline() -> None:
        for fname, _ in TABLES.values():
            pd.read_csv(root / fname)

    def critmin_load() -> None:
        Dataset.from_dir(root)

    def query() -> None:
        ds = Dataset.from_dir(root)
        for year in (2022, 2023, 2024, 2025):
            ds.shares("rare_earths", "mining", year)

    b = _best(baseline, args.repeat)
    c = _best(critmin_load, args.repeat)
    q = _best(query, args.repeat)
    print(f"plain read_csv of all tables : {b * 1000:8.1f} ms (baseline)")
    print(f"Dataset.from_dir (validated) : {c * 1000:8.1f} ms  ratio {c / b:5.2f}x baseline")
    print(f"load + 4 share queries       : {q * 1000:8.1f} ms  ratio {q / b:5.2f}x baseline")


if __name__ == "__main__":
    main()
