"""Benchmark: importing a large user overlay, the vectorised reader against the old per-row loop.

Generates a valid overlay of ``--rows`` rows (default 3.7M, about 200 MB: the issue's case),
then times :func:`critmin.data.importers.overlay.read_overlay_csv` and the per-row loop it
replaced (kept below as ``baseline_read_overlay_csv``, verbatim apart from its name), each in a
fresh interpreter so that the peak RSS of one does not hide the other's. Prints wall time, peak
RSS and the ratios, all measured in this run.

Usage: python benchmarks/bench_overlay_import.py [--rows N] [--skip-baseline] [--keep PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from critmin.data.catalogue import Source
from critmin.data.dataset import validate_table
from critmin.data.schemas import QUALIFIERS
from critmin.errors import CritminError, DataError
from critmin.model.commodities import registry
from critmin.model.countries import is_known_code, to_iso3
from critmin.model.stages import Stage
from critmin.units import conversion_factor

REQUIRED = ("commodity", "stage", "measure", "country", "year", "value", "unit", "source_id")
OPTIONAL = (
    "qualifier",
    "note",
    "source_title",
    "source_publisher",
    "source_url",
    "source_year",
    "source_licence",
)
MEASURES = ("production", "reserves", "capacity", "share")
HEADER = "commodity,stage,measure,country,year,value,unit,source_id,source_title,source_url\n"
COUNTRIES = [
    "AUS",
    "AUT",
    "BEL",
    "BGR",
    "BRA",
    "CAN",
    "CHE",
    "CHL",
    "CHN",
    "COD",
    "COL",
    "CZE",
    "DEU",
    "DNK",
    "ESP",
    "EST",
    "FIN",
    "FRA",
    "GAB",
    "GBR",
    "GRC",
    "HRV",
    "HUN",
    "IDN",
    "IND",
    "IRL",
    "ITA",
    "JPN",
    "KAZ",
    "KOR",
    "LTU",
    "LUX",
    "LVA",
    "MAR",
    "MDG",
    "MEX",
    "MMR",
    "MNG",
    "MOZ",
    "MYS",
    "NLD",
    "NOR",
    "NZL",
    "PER",
    "PHL",
    "POL",
    "PRT",
    "ROU",
    "RUS",
    "RWA",
    "SVK",
    "SVN",
    "SWE",
    "THA",
    "TUR",
    "UKR",
    "USA",
    "VNM",
    "ZAF",
    "ZMB",
    "ZWE",
    "ARG",
    "BOL",
    "CUB",
    "GIN",
    "IRN",
    "KGZ",
    "LAO",
    "NGA",
]


def write_overlay(path: Path, rows: int) -> int:
    """A valid overlay of ``rows`` rows (unique keys; shares small enough to sum below 1)."""
    reg = registry()
    pairs = [(c.id, s.value) for c in reg.commodities for s in c.stages]
    years = range(1900, 2101)
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        first = True
        for cid, stage in pairs:
            for measure in ("production", "reserves", "capacity", "share"):
                for country in COUNTRIES:
                    for year in years:
                        if n >= rows:
                            return n
                        if measure == "share":
                            value, unit = f"{(n % 7) * 0.01 + 0.001:.3f}", "pct"
                        else:
                            value, unit = f"{(n * 7919) % 100000 / 10:.1f}", ("kt" if n % 3 else "t")
                        extra = "My estimate,https://example.org/est" if first else ","
                        first = False
                        fh.write(f"{cid},{stage},{measure},{country},{year},{value},{unit},my-est,{extra}\n")
                        n += 1
    return n


def _old_num(text: str, *, path: Path, line: int, column: str) -> float:
    t = text.strip().replace(",", "")
    try:
        v = float(t)
    except ValueError:
        raise DataError(
            f"{text!r} is not a number",
            path=path,
            line=line,
            column=column,
            fix="write a plain number, e.g. 1200.5",
        ) from None
    if math.isnan(v) or math.isinf(v):
        raise DataError(
            f"{text!r} is not a finite number", path=path, line=line, column=column, fix="write a number"
        )
    return v


def baseline_read_overlay_csv(path: Path | str, known_sources: Mapping[str, Source]) -> int:
    """The per-row reader as it was before the hardening (commit 35bcd3f), kept as the baseline."""
    p = Path(path)
    try:
        text = p.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read overlay: {exc}", path=p, fix="give a UTF-8 CSV file") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DataError(
            f"missing column(s) {missing}",
            path=p,
            line=1,
            fix=f"the header needs {', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)})",
        )
    unknown = [h for h in header if h and h not in REQUIRED and h not in OPTIONAL]
    if unknown:
        raise DataError(
            f"unknown column(s) {unknown}", path=p, line=1, fix="remove them or fix their spelling"
        )
    reg = registry()
    prod: list[dict[str, object]] = []
    shares: list[dict[str, object]] = []
    new_sources: dict[str, Source] = {}
    seen: set[tuple[str, ...]] = set()
    for i, raw in enumerate(reader):
        line = i + 2
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        for col in REQUIRED:
            if not row.get(col):
                raise DataError("empty required value", path=p, line=line, column=col, fix=f"fill in {col}")
        try:
            com = reg.get(row["commodity"])
        except CritminError as exc:
            raise DataError(
                str(getattr(exc, "message", exc)),
                path=p,
                line=line,
                column="commodity",
                fix=getattr(exc, "fix", None),
            ) from None
        try:
            stage = Stage(row["stage"])
        except ValueError:
            raise DataError(
                f"unknown stage {row['stage']!r}",
                path=p,
                line=line,
                column="stage",
                fix=f"use one of {', '.join(s.value for s in Stage)}",
            ) from None
        if not com.has_stage(stage):
            raise DataError(
                f"commodity {com.id!r} has no stage {stage.value!r}",
                path=p,
                line=line,
                column="stage",
                fix=f"use one of {', '.join(s.value for s in com.stages)}",
            )
        measure = row["measure"]
        if measure not in MEASURES:
            raise DataError(
                f"unknown measure {measure!r}",
                path=p,
                line=line,
                column="measure",
                fix=f"use one of {', '.join(MEASURES)}",
            )
        country = to_iso3(row["country"], path=p, line=line, column="country")
        if not is_known_code(country):
            raise DataError(
                f"unknown country {row['country']!r}",
                path=p,
                line=line,
                column="country",
                fix="use ISO alpha-3, e.g. 'AUS'",
            )
        year_f = _old_num(row["year"], path=p, line=line, column="year")
        if year_f != int(year_f) or not 1900 <= year_f <= 2100:
            raise DataError(
                f"bad year {row['year']!r}", path=p, line=line, column="year", fix="a year like 2024"
            )
        year = int(year_f)
        value = _old_num(row["value"], path=p, line=line, column="value")
        if value < 0:
            raise DataError(
                f"negative {measure} {value:g}",
                path=p,
                line=line,
                column="value",
                fix="quantities and shares cannot be negative; use 0 for none",
            )
        qualifier = row.get("qualifier") or "exact"
        if qualifier not in QUALIFIERS:
            raise DataError(
                f"unknown qualifier {qualifier!r}",
                path=p,
                line=line,
                column="qualifier",
                fix=f"use one of {', '.join(QUALIFIERS)}",
            )
        sid = row["source_id"]
        if sid not in known_sources and sid not in new_sources:
            if not row.get("source_title") or not row.get("source_url"):
                raise DataError(
                    f"source_id {sid!r} is not a bundled source",
                    path=p,
                    line=line,
                    column="source_id",
                    fix="use a bundled id (`critmin data sources`) or give source_title and source_url "
                    "on its first row",
                )
            year_s = row.get("source_year")
            try:
                new_sources[sid] = Source(
                    id=sid,
                    kind="user",
                    publisher=row.get("source_publisher") or "user",
                    title=row["source_title"],
                    url=row["source_url"],
                    year=int(year_s) if year_s else None,
                    licence=row.get("source_licence") or "as stated by the user",
                    priority=0,
                )
            except ValueError as exc:
                raise DataError(
                    f"invalid source: {exc}",
                    path=p,
                    line=line,
                    column="source_id",
                    fix="ids use lowercase letters, digits and . : _ -",
                ) from None
        key = (com.id, stage.value, measure, country, str(year))
        if key in seen:
            raise DataError(f"duplicate row for {key}", path=p, line=line, fix="keep one row per key")
        seen.add(key)
        unit = row["unit"]
        if measure == "share":
            try:
                factor = conversion_factor(unit, "fraction")
            except CritminError:
                raise DataError(
                    f"unit {unit!r} is not a share",
                    path=p,
                    line=line,
                    column="unit",
                    fix="use 'fraction' or 'pct'",
                ) from None
            share = value * factor
            if share > 1 + 1e-9:
                raise DataError(
                    f"share {share:g} exceeds 1",
                    path=p,
                    line=line,
                    column="value",
                    fix="give a fraction 0..1 or use unit pct",
                )
            shares.append(
                {
                    "source_id": sid,
                    "commodity": com.id,
                    "stage": stage.value,
                    "country": country,
                    "year": year,
                    "share": share,
                    "qualifier": qualifier,
                    "scope": com.name,
                    "basis": "volume",
                    "is_projection": False,
                    "is_assumption": False,
                    "quality": "user",
                    "note": row.get("note") or None,
                }
            )
            continue
        try:
            factor = conversion_factor(unit, com.unit)
        except CritminError:
            raise DataError(
                f"unit {unit!r} does not convert to {com.unit!r}",
                path=p,
                line=line,
                column="unit",
                fix=f"give a unit of the same dimension as {com.unit!r} (t, kt, kg...)",
            ) from None
        prod.append(
            {
                "source_id": sid,
                "commodity": com.id,
                "stage": stage.value,
                "measure": measure,
                "country": country,
                "year": year,
                "value": value * factor,
                "unit": com.unit,
                "qualifier": qualifier,
                "estimated": False,
                "vintage": year,
                "series": "user overlay",
                "note": row.get("note") or None,
            }
        )
    if not prod and not shares:
        raise DataError("no data rows", path=p, fix="add at least one row under the header")
    tables: dict[str, pd.DataFrame] = {}
    if prod:
        tables["production"] = validate_table(pd.DataFrame(prod), "production", path=p)
    if shares:
        tables["stage_shares"] = validate_table(pd.DataFrame(shares), "stage_shares", path=p)
    return sum(len(f) for f in tables.values())


def _one(which: str, path: Path) -> None:
    """Run one reader in this (fresh) interpreter; print JSON with seconds, rows and peak RSS."""
    from critmin.data.importers.overlay import read_overlay_csv

    rss0 = _hwm_kb()
    t0 = time.perf_counter()
    n = read_overlay_csv(path, {}).n_rows if which == "new" else baseline_read_overlay_csv(path, {})
    dt = time.perf_counter() - t0
    rss = _hwm_kb()
    print(json.dumps({"seconds": dt, "rows": n, "peak_rss_mb": rss / 1024, "start_rss_mb": rss0 / 1024}))


def _hwm_kb() -> float:
    """This process's peak RSS in KiB: VmHWM, not ru_maxrss, which survives fork+exec and would
    report the parent's (the overlay writer's) peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return float(line.split()[1])
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _run(which: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", which, str(path)], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=3_700_000)
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--keep", type=Path, default=None, help="write the overlay here and keep it")
    ap.add_argument("--one", nargs=2, metavar=("WHICH", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        _one(args.one[0], Path(args.one[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "overlay.csv"
        n = write_overlay(path, args.rows)
        size = path.stat().st_size / 1024**2
        print(f"overlay: {n:,} rows, {size:,.1f} MB ({path})")
        new = _run("new", path)
        print(
            f"vectorised read_overlay_csv : {new['seconds']:7.1f} s, peak RSS {new['peak_rss_mb']:7,.0f} MB "
            f"(interpreter + imports {new['start_rss_mb']:,.0f} MB), {new['rows']:,.0f} rows"
        )
        if args.skip_baseline:
            return
        old = _run("old", path)
        print(
            f"old per-row loop (baseline) : {old['seconds']:7.1f} s, peak RSS {old['peak_rss_mb']:7,.0f} MB "
            f"(interpreter + imports {old['start_rss_mb']:,.0f} MB), {old['rows']:,.0f} rows"
        )
        print(
            f"speed-up {old['seconds'] / new['seconds']:.1f}x; peak RSS "
            f"{new['peak_rss_mb'] / old['peak_rss_mb']:.2f}x of the baseline"
        )


if __name__ == "__main__":
    main()
