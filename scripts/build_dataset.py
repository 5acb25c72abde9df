"""Rebuild critmin's bundled dataset from the raw public files (maintainers only).

Usage: python scripts/build_dataset.py --raw ../shared/data/raw [--out src/critmin/data/bundled]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from critmin.data.build.orchestrate import build_dataset
from critmin.errors import CritminError

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--raw", type=Path, default=ROOT.parent / "shared" / "data" / "raw")
    ap.add_argument("--out", type=Path, default=ROOT / "src" / "critmin" / "data" / "bundled")
    args = ap.parse_args()
    try:
        ds = build_dataset(args.raw, args.out)
    except CritminError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, n in ds.summary()["tables"].items():
        print(f"{name:16s} {n:7d} rows")
    print(f"sources: {len(ds.sources)}; data_version: {ds.version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
