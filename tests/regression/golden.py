"""Golden files of the bundled scenarios: what they hold, how they are made and compared.

``tests/regression/golden/<scenario>.json`` holds, for each bundled scenario
(:func:`~critmin.simulate.inputs.scenario.bundled_scenarios`), the results of the small fixed
runs of :data:`RUNS`, as rows of p5, p50 and p95 (strict JSON, one row per line, so that a
regeneration shows in ``git diff`` row by row):

* ``summary`` rows: every row of ``SimulationResult.summary`` (region, product, metric);
* ``bands`` rows (the 200-path run): each chain's ex-China percentile bands, every
  :data:`BAND_STEP` months and the last month (chain, series, month).

:func:`compare` matches rows by their key and reports every row that moved by more than
``rtol`` = 1e-9 (relative) and ``atol`` = 1e-9 (absolute, in the row's unit: t, %, ratio or
US$; it only matters for values that should be 0 and carry rounding residue), appeared or
disappeared. ``tests/regression/test_golden.py`` reruns the runs; ``scripts/regen_golden.py``
regenerates the files and prints what changed.

A change of a golden file is a change of the model's results: its commit says why.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from critmin import jsonsafe
from critmin.simulate import SimulationResult, simulate
from critmin.simulate.inputs.scenario import bundled_scenarios

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
RTOL = 1e-9
ATOL = 1e-9
#: Bands are kept every BAND_STEP months of the horizon (and the last month).
BAND_STEP = 6
VALUES = ("p5", "p50", "p95")
REGENERATE = "python scripts/regen_golden.py"


@dataclass(frozen=True)
class Run:
    """One fixed run of a scenario: ``simulate(name, paths=paths, seed=seed, ...)``."""

    paths: int
    seed: int
    bands: bool  # keep the percentile bands (meaningless for one path)
    check_balance: bool  # the engine raises MassBalanceError on a leak

    @property
    def label(self) -> str:
        return "medians (1 path)" if self.paths == 1 else f"{self.paths} paths, seed {self.seed}"


#: A 200-path Monte Carlo run with the mass-balance check, and the deterministic run at the
#: parameters' medians (``paths=1``). About 1.5 s per scenario on one core.
RUNS = (Run(200, 0, bands=True, check_balance=True), Run(1, 0, bands=False, check_balance=False))

Key = tuple[str, ...]
Values = tuple[float, float, float]


def scenarios() -> list[str]:
    """The bundled scenarios, in name order."""
    return list(bundled_scenarios())


def path(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.json"


def _band_rows(res: SimulationResult) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for chain, run in res.chains.items():
        bands = run.bands
        n = len(bands)
        keep = sorted({*range(0, n, BAND_STEP), n - 1})
        series = sorted({c.rsplit("_", 1)[0] for c in bands.columns if c != "month"})
        for s in series:
            for i in keep:
                row: dict[str, Any] = {"chain": chain, "series": s, "month": str(bands["month"].iloc[i])}
                row |= {v: float(bands[f"{s}_{v}"].iloc[i]) for v in VALUES}
                rows.append(row)
    return rows


def compute(name: str) -> dict[str, Any]:
    """The golden document of bundled scenario ``name``, from fresh runs."""
    runs = []
    data_version = None
    for spec in RUNS:
        res = simulate(name, paths=spec.paths, seed=spec.seed, check_balance=spec.check_balance)
        data_version = res.data_version
        summary = [
            {"region": r.region, "product": r.product, "metric": r.metric}
            | {v: float(getattr(r, v)) for v in VALUES}
            for r in res.summary.itertuples(index=False)
        ]
        doc: dict[str, Any] = {"run": spec.label, "paths": spec.paths, "seed": spec.seed, "summary": summary}
        if spec.bands:
            doc["bands"] = _band_rows(res)
        runs.append(doc)
    return {"scenario": name, "data_version": data_version, "regenerate": REGENERATE, "runs": runs}


def dumps(doc: dict[str, Any]) -> str:
    """``doc`` as strict JSON with one row per line."""
    out = ["{"]
    head = [k for k in doc if k != "runs"]
    out += [f"  {json.dumps(k)}: {jsonsafe.dumps(doc[k])}," for k in head]
    out.append('  "runs": [')
    for i, run in enumerate(doc["runs"]):
        out.append("    {")
        tables = [k for k in run if isinstance(run[k], list)]
        out += [f"      {json.dumps(k)}: {jsonsafe.dumps(run[k])}," for k in run if k not in tables]
        for j, table in enumerate(tables):
            out.append(f"      {json.dumps(table)}: [")
            rows = [f"        {jsonsafe.dumps(r)}" for r in run[table]]
            out.append(",\n".join(rows))
            out.append("      ]" + ("," if j < len(tables) - 1 else ""))
        out.append("    }" + ("," if i < len(doc["runs"]) - 1 else ""))
    out += ["  ]", "}", ""]
    return "\n".join(out)


def load(name: str) -> dict[str, Any]:
    """The stored golden document of ``name`` (strict JSON: NaN or Infinity tokens raise)."""
    text = path(name).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text, parse_constant=_refuse)
    return doc


def _refuse(token: str) -> None:
    raise ValueError(f"{token} is not JSON")


def rows(doc: dict[str, Any]) -> dict[Key, Values]:
    """Every row of ``doc`` by its key (run, table, then the row's identifying fields)."""
    out: dict[Key, Values] = {}
    for run in doc["runs"]:
        for table in ("summary", "bands"):
            for r in run.get(table, []):
                key = (run["run"], table, *(str(v) for k, v in r.items() if k not in VALUES))
                vals = tuple(math.nan if r[v] is None else float(r[v]) for v in VALUES)
                out[key] = (vals[0], vals[1], vals[2])
    return out


@dataclass(frozen=True)
class Change:
    """A row that moved (``old`` and ``new`` set), appeared (``old`` None) or went (``new`` None)."""

    key: Key
    old: Values | None
    new: Values | None

    def relative(self) -> float:
        """The largest relative change of the row's values (inf for an added or removed row)."""
        if self.old is None or self.new is None:
            return math.inf
        return max(
            abs(b - a) / max(abs(a), 1e-300) if a != b else 0.0
            for a, b in zip(self.old, self.new, strict=True)
        )

    def describe(self) -> str:
        """One line: the row, then ``p50 old -> new`` and any other value that moved."""
        what = " ".join(self.key)
        if self.old is None:
            return f"{what}: new row (p50 {self.new[1]:.10g})" if self.new else what
        if self.new is None:
            return f"{what}: row gone (p50 was {self.old[1]:.10g})"
        parts = [_moved("p50", self.old[1], self.new[1])]
        for i, v in ((0, "p5"), (2, "p95")):
            if not _close(self.old[i], self.new[i]):
                parts.append(_moved(v, self.old[i], self.new[i]))
        return f"{what}: " + "; ".join(parts)


def _moved(name: str, a: float, b: float) -> str:
    rel = f" ({(b - a) / abs(a):+.2e})" if a not in (0.0, b) and math.isfinite(a) else ""
    return f"{name} {a:.10g} -> {b:.10g}{rel}"


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(b - a) <= ATOL + RTOL * abs(a)


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The rows of ``new`` that differ from ``old`` (see the module docstring), in ``new``'s order
    and then the rows that went."""
    a, b = rows(old), rows(new)
    out = []
    for key, vals in b.items():
        if key not in a:
            out.append(Change(key, None, vals))
        elif not all(_close(x, y) for x, y in zip(a[key], vals, strict=True)):
            out.append(Change(key, a[key], vals))
    out += [Change(key, vals, None) for key, vals in a.items() if key not in b]
    return out


def report(
    name: str, old: dict[str, Any], new: dict[str, Any], changes: list[Change], limit: int = 40
) -> str:
    """A readable account of ``changes`` to scenario ``name``'s golden file."""
    n_rows = len(rows(new))
    lines = [f"{name}: {len(changes)} of {n_rows} rows moved (rtol {RTOL:g}, atol {ATOL:g})"]
    if old.get("data_version") != new.get("data_version"):
        lines.append(f"  data version {old.get('data_version')} -> {new.get('data_version')}")
    worst = sorted(changes, key=Change.relative, reverse=True)
    lines += [f"  {c.describe()}" for c in worst[:limit]]
    if len(changes) > limit:
        lines.append(f"  ... and {len(changes) - limit} more (largest changes first)")
    return "\n".join(lines)
