"""Benchmark: ``critmin screen`` (read + screen a BOM) on a generated 1,000,000-row BOM.

Target (issue 11, speed under load): "A 1M-row BOM takes 522 s: screening should be vectorised
(seconds)." The BOM is generated (:func:`make_bom`: about 8 rows per product, 125,000 products
at 1M rows, the bundled rules' elements and origins, some rows with ``element_value_usd``) and
is valid under every hardening check, so both implementations screen all of it.

Timed: :func:`critmin.trace.screen.read_bom` then :func:`~critmin.trace.screen.screen` against
both bundled rules (``all``) on 2027-01-01, from the CSV file on disk, in this process.

Baseline, measured in the same run: ``benchmarks/screen_baseline.py``, the implementation
before vectorising (a Python call per row, a per-product x per-rule pandas loop). It is linear
in the rows, so it runs at ``--baseline-rows`` (default 100,000, to keep the run short: about a
minute) and the ratio is taken per row: baseline seconds x (rows / baseline rows) / new seconds.
Both are run on the same baseline-sized BOM too, and their per-product tables are compared
(they must be equal).

Usage: python benchmarks/bench_screen_1m.py [--rows 1000000] [--baseline-rows 100000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from critmin.trace.screen import load_rules, read_bom, screen

sys.path.insert(0, str(Path(__file__).resolve().parent))
import screen_baseline

HEADER = "product_id,product_value_usd,component_id,element,element_mass_kg,origin_country,element_value_usd"
ELEMENTS = ("Nd", "Pr", "Dy", "Tb", "Sm", "Gd", "Y", "Ce", "La", "Eu", "Sc", "Lu", "Ho")
PRICED = {"La", "Ce", "Pr", "Nd", "Sm", "Eu", "Gd", "Tb", "Dy", "Y", "Sc"}
ORIGINS = ("CHN", "CHN", "CHN", "JPN", "VNM", "AUS", "USA", "MYS", "Vietnam", "china")
AS_OF = date(2027, 1, 1)


def make_bom(rows: int, seed: int = 0) -> str:
    """A valid BOM CSV of ``rows`` rows (about 8 per product), deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 16, size=rows // 4 + 16)
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), rows)) + 1]
    sizes[-1] -= int(sizes.sum()) - rows
    product = np.repeat(np.arange(len(sizes)), sizes)
    comp = np.concatenate([np.arange(s) for s in sizes])
    elem = rng.choice(np.array(ELEMENTS), size=rows)
    origin = rng.choice(np.array(ORIGINS), size=rows)
    mass = np.round(rng.lognormal(-4.0, 1.5, size=rows), 6)
    given = rng.random(rows) < 0.1
    unpriced = ~np.isin(elem, list(PRICED))
    given |= unpriced
    evalue = np.round(rng.lognormal(0.0, 1.5, size=rows), 4)
    # product value: rare-earth content at about 0.01% to 10% of it, so every product is valid
    content = np.where(given, evalue, mass * 3000.0)
    per_product = np.bincount(product, weights=content)
    pvalue = np.round(per_product * 10 ** rng.uniform(1, 4, size=len(sizes)) + 1.0, 2).tolist()
    lines = [HEADER]
    for p, c, e, o, m, g, v in zip(
        product.tolist(),
        comp.tolist(),
        elem.tolist(),
        origin.tolist(),
        mass.tolist(),
        given.tolist(),
        evalue.tolist(),
        strict=True,
    ):
        mass_cell = "" if g and c % 2 else repr(m)
        value_cell = repr(v) if g else ""
        lines.append(f"prod-{p},{pvalue[p]!r},part-{c},{e},{mass_cell},{o},{value_cell}")
    return "\n".join(lines) + "\n"


def time_new(path: Path) -> tuple[float, float, pd.DataFrame]:
    """(read seconds, screen seconds, products) of the current implementation."""
    rules = load_rules("all")
    t0 = time.perf_counter()
    frame = read_bom(path)
    t1 = time.perf_counter()
    result = screen(frame, rules, as_of=AS_OF)
    return t1 - t0, time.perf_counter() - t1, result.products


def time_old(path: Path) -> tuple[float, float, pd.DataFrame]:
    """(read seconds, screen seconds, products) of the baseline."""
    rules = load_rules("all")
    t0 = time.perf_counter()
    frame = screen_baseline.read_bom(path)
    t1 = time.perf_counter()
    result = screen_baseline.screen(frame, rules, as_of=AS_OF)
    return t1 - t0, time.perf_counter() - t1, result.products


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--baseline-rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "bom_small.csv"
        small.write_text(make_bom(args.baseline_rows, args.seed), encoding="utf-8")
        o_read, o_screen, o_products = time_old(small)
        n_read_s, n_screen_s, n_products = time_new(small)
        pd.testing.assert_frame_equal(n_products, o_products)
        old_total = o_read + o_screen
        print(
            f"baseline (before vectorising) at {args.baseline_rows:,} rows: read {o_read:.2f} s + "
            f"screen {o_screen:.2f} s = {old_total:.2f} s"
        )
        print(
            f"current at {args.baseline_rows:,} rows: read {n_read_s:.2f} s + screen {n_screen_s:.2f} s "
            f"= {n_read_s + n_screen_s:.2f} s; per-product results equal to the baseline's"
        )
        big = Path(tmp) / "bom.csv"
        big.write_text(make_bom(args.rows, args.seed), encoding="utf-8")
        n_read, n_screen, products = time_new(big)
        new_total = n_read + n_screen
        size_mb = big.stat().st_size / 1024**2
        scaled = old_total * args.rows / args.baseline_rows
        print(
            f"current at {args.rows:,} rows ({len(products):,} products, {size_mb:.0f} MB): read "
            f"{n_read:.2f} s + screen {n_screen:.2f} s = {new_total:.2f} s"
        )
        print(
            f"baseline scaled linearly to {args.rows:,} rows: {scaled:.1f} s; "
            f"ratio {scaled / new_total:.1f}x faster (same-size ratio at {args.baseline_rows:,} rows: "
            f"{old_total / (n_read_s + n_screen_s):.1f}x)"
        )


if __name__ == "__main__":
    main()
