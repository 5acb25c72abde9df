"""`critmin simulate` on multi-commodity scenarios, through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.cli import run_cli as run

PRODUCTS = {"ndfeb_magnets", "gallium_metal", "germanium_metal", "refined_antimony"}
METRICS = {
    "peak_shortfall_pct",
    "cumulative_shortfall_t",
    "months_below_90pct",
    "peak_price_ratio",
    "output_at_risk_usd",
    "peak_price_usd_per_kg",
}


def test_us_embargo_json_has_every_chain(tmp_path: Path) -> None:
    args = ("simulate", "us-embargo", "--paths", "20", "--seed", "0", "--format", "json")
    doc = json.loads(run(*args, home=tmp_path).stdout)
    assert doc["scenario"] == "us-embargo"
    assert doc["paths"] == 20
    assert doc["seed"] == 0
    rows = doc["summary"]
    # sector rows ("ndfeb_magnets:<sector>"), the price-floor row ("ndpr_oxide") and the
    # magnet makers' Dy + Tb feed ("dy_tb_oxide") aside
    assert {r["product"].split(":")[0] for r in rows} == PRODUCTS | {"ndpr_oxide", "dy_tb_oxide"}
    for product in PRODUCTS:
        usa = {r["metric"]: r for r in rows if r["product"] == product and r["region"] == "USA"}
        assert set(usa) == METRICS, product
    ga = [
        r
        for r in rows
        if r["product"] == "gallium_metal" and r["region"] == "USA" and r["metric"] == "peak_shortfall_pct"
    ]
    assert len(ga) == 1
    assert 0 < ga[0]["p5"] <= ga[0]["p50"] <= ga[0]["p95"] <= 100.0 + 1e-9
    assert "assumption:sim-chain-china-demand-gallium" in doc["assumption_ids"]
    assert "web:mulemstudies-com:97e32b68" in doc["source_ids"]  # MOFCOM 2023 No.23 (Ga, Ge)


def test_unknown_commodity_in_scenario_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncommodities: [unobtainium]\n", encoding="utf-8")
    proc = run("simulate", str(bad), "--paths", "2", home=tmp_path, ok=False)
    assert proc.returncode == 2
    assert f"{bad}:2" in proc.stderr
    assert "commodities" in proc.stderr
    assert "unobtainium" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_commodity_in_event(tmp_path: Path) -> None:
    bad = tmp_path / "bad-event.yaml"
    bad.write_text(
        "name: x\n"
        "commodities: [gallium]\n"
        "events:\n"
        "  - {id: b, date: 2026-12-01, kind: ban, stages: [separation], commodities: [galium]}\n",
        encoding="utf-8",
    )
    proc = run("simulate", str(bad), "--paths", "2", home=tmp_path, ok=False)
    assert proc.returncode == 2
    assert f"{bad}:4" in proc.stderr
    assert "events.0.commodities" in proc.stderr
    assert "galium" in proc.stderr


@pytest.fixture(scope="module")
def embargo_table(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], pd.DataFrame]:
    """The table output and the written summary of one deterministic us-embargo run."""
    home = tmp_path_factory.mktemp("chains")
    out = home / "run.csv"
    proc = run("simulate", "us-embargo", "--paths", "1", "--out", str(out), home=home)
    # one record type per file (issue 14): the summary is run.summary.csv
    return proc.stdout.splitlines(), pd.read_csv(home / "run.summary.csv")


@pytest.mark.parametrize(
    ("product", "title"),
    [
        ("ndfeb_magnets", "NdFeB magnets:"),
        ("gallium_metal", "Gallium metal:"),
        ("germanium_metal", "Germanium metal:"),
        ("refined_antimony", "Refined antimony:"),
    ],
)
def test_table_shows_each_chain_under_its_own_title(
    embargo_table: tuple[list[str], pd.DataFrame], product: str, title: str
) -> None:
    # Regression: the table was keyed by (region, metric), so the last chain's values
    # (antimony, 29%) appeared under the NdFeB magnet title (94%).
    lines, summary = embargo_table
    row = summary.loc[
        (summary["product"] == product)
        & (summary["region"] == "USA")
        & (summary["metric"] == "peak_shortfall_pct")
    ]
    expected = f"{float(row['p50'].iloc[0]):.0f}"
    at = next(i for i, line in enumerate(lines) if line.startswith(title))
    usa = next(line for line in lines[at:] if line.strip("│┃ ").startswith("USA"))
    assert usa.split("│")[2].strip() == expected  # region, then peak shortfall %


def test_commodity_option_picks_chains(tmp_path: Path) -> None:
    args = ("simulate", "us-embargo", "--commodity", "gallium", "--commodity", "graphite")
    doc = json.loads(run(*args, "--paths", "5", "--format", "json", home=tmp_path).stdout)
    assert {r["product"] for r in doc["summary"]} == {"gallium_metal", "processed_graphite"}
    proc = run(
        "simulate", "us-embargo", "--commodity", "unobtainium", "--paths", "2", home=tmp_path, ok=False
    )
    assert proc.returncode == 2
    assert "commodities" in proc.stderr
    assert "unobtainium" in proc.stderr
