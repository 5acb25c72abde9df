"""`critmin simulate` and `critmin trace country` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.cli import run_cli as run


def test_simulate_json_document_and_seed_reproducibility(tmp_path: Path) -> None:
    args = ("simulate", "controls-reimposed-2026-11", "--paths", "40", "--seed", "7", "--format", "json")
    a = json.loads(run(*args, home=tmp_path).stdout)
    b = json.loads(run(*args, home=tmp_path).stdout)
    assert a == b
    assert {"scenario", "paths", "seed", "data_version", "summary"} <= set(a)
    assert a["paths"] == 40
    metrics = {r["metric"] for r in a["summary"]}
    assert metrics >= {
        "peak_shortfall_pct",
        "cumulative_shortfall_t",
        "months_below_90pct",
        "peak_price_ratio",
        "output_at_risk_usd",
    }
    usa = {r["metric"]: r for r in a["summary"] if r["region"] == "USA" and r["product"] == "ndfeb_magnets"}
    assert (
        usa["peak_shortfall_pct"]["p5"]
        <= usa["peak_shortfall_pct"]["p50"]
        <= usa["peak_shortfall_pct"]["p95"]
    )
    assert usa["peak_shortfall_pct"]["p50"] > 0


def test_simulate_out_parquet_with_resolved_scenario(tmp_path: Path) -> None:
    out = tmp_path / "run.parquet"
    run("simulate", "truce-holds", "--paths", "5", "--out", str(out), "--format", "csv", home=tmp_path)
    # one record type per file (issue 14): run.summary.parquet, run.bands.parquet, run.series.parquet
    assert not out.exists()
    summary = pd.read_parquet(tmp_path / "run.summary.parquet")
    assert list(summary.columns) == ["region", "product", "metric", "p5", "p50", "p95"]
    assert "month" in pd.read_parquet(tmp_path / "run.bands.parquet").columns
    assert {"month", "path", "region"} <= set(pd.read_parquet(tmp_path / "run.series.parquet").columns)
    meta = json.loads(out.with_name("run.scenario.json").read_text())
    assert meta["scenario_resolved"]["name"] == "truce-holds"


def test_simulate_bad_scenario_file_is_clear(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nevents:\n  - {id: a, date: 2026-01-01, kind: embargo}\n", encoding="utf-8")
    proc = run("simulate", str(bad), "--paths", "2", home=tmp_path, ok=False)
    assert proc.returncode == 2
    assert f"{bad}:3" in proc.stderr
    assert "kind" in proc.stderr


@pytest.mark.parametrize("name", ["nope-scenario"])
def test_unknown_bundled_scenario(tmp_path: Path, name: str) -> None:
    proc = run("simulate", name, home=tmp_path, ok=False)
    assert proc.returncode == 2
    assert "controls-reimposed-2026-11" in proc.stderr


def test_trace_country_json(tmp_path: Path) -> None:
    out = json.loads(
        run(
            "trace",
            "country",
            "--stage",
            "separation",
            "--origin-stage",
            "mining",
            "--format",
            "json",
            home=tmp_path,
        ).stdout
    )
    by_country = {o["country"]: o["origins"] for o in out["origins"]}
    assert by_country["MYS"] == {"AUS": pytest.approx(1.0)}
    assert "assumption:ree-chain-domestic-first" in out["assumption_ids"]
    assert len(out["data_version"]) == 12
