"""Regenerate the regression golden files of the bundled scenarios and print what changed.

Reruns the fixed runs of ``tests/regression/golden.py`` (200 paths at seed 0 with the
mass-balance check, and the medians run) for every bundled scenario, or the ones named, and
prints each row that moved: the row, ``p50 old -> new`` and any other percentile that moved.
Golden files of scenarios that are no longer bundled are reported (and removed when writing).

Usage: python scripts/regen_golden.py [--check] [SCENARIO ...]

``--check`` writes nothing and exits 1 when any golden file differs from a fresh run (0 when
all match). Without it the changed files are rewritten. Commit a regenerated file with a
message that says why the results moved.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the golden definitions live with the tests

from tests.regression import golden  # noqa: E402


def _shown(p: Path) -> str:
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", help="bundled scenario names (default: all)")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 on any difference")
    args = ap.parse_args(argv)
    bundled = golden.scenarios()
    unknown = sorted(set(args.scenarios) - set(bundled))
    if unknown:
        print(
            f"error: unknown scenario(s) {', '.join(unknown)}; bundled: {', '.join(bundled)}", file=sys.stderr
        )
        return 2
    names = args.scenarios or bundled
    differs = False
    for name in names:
        new = golden.compute(name)
        if not golden.path(name).exists():
            differs = True
            print(f"{name}: no golden file yet ({len(golden.rows(new))} rows)")
        else:
            old = golden.load(name)
            changes = golden.compare(old, new)
            if not changes:
                print(f"{name}: unchanged ({len(golden.rows(new))} rows)")
                if old == new:
                    continue
                # rows within tolerance but not bit-identical (or a new data version): rewrite
            else:
                differs = True
                print(golden.report(name, old, new, changes))
        if not args.check:
            golden.GOLDEN_DIR.mkdir(exist_ok=True)
            golden.path(name).write_text(golden.dumps(new), encoding="utf-8")
            print(f"  wrote {_shown(golden.path(name))}")
    if not args.scenarios:
        for stale in sorted(golden.GOLDEN_DIR.glob("*.json")):
            if stale.stem not in bundled:
                differs = True
                print(f"{stale.stem}: golden file of a scenario that is no longer bundled")
                if not args.check:
                    stale.unlink()
                    print(f"  removed {_shown(stale)}")
    if args.check and differs:
        print(f"golden files differ from fresh runs; regenerate with {golden.REGENERATE}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
