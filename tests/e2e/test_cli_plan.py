"""End-to-end: ``critmin plan`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli import run_cli, run_main

TOY = """\
name: toy-e2e
scenario: controls-reimposed-2026-11
futures: 4
seed: 1
years: {start: 2027, end: 2028}
products: [ndfeb_magnet]
projects: [vulcan-benson, neo-narva-p2]
buyers:
  - {region: USA, payer: DoD}
constraints:
  concentration:
    - {region: USA, stage: magnet, max_share: 0.8, from_year: 2028}
"""


def test_plan_bad_yaml_names_file_line_and_key(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(TOY.replace("max_share: 0.8", "max_share: 1.8"))
    proc = run_main("plan", str(p), home=tmp_path, ok=False)
    assert proc.returncode == 2
    err = proc.stderr
    assert "bad.yaml:12" in err
    assert "constraints.concentration.0.max_share" in err
    assert "Traceback" not in err


def test_plan_unknown_key_and_unknown_region(tmp_path: Path) -> None:
    p = tmp_path / "typo.yaml"
    p.write_text(TOY.replace("futures: 4", "futurs: 4"))
    proc = run_main("plan", str(p), home=tmp_path, ok=False)
    assert proc.returncode == 2
    assert "unknown key 'futurs'" in proc.stderr
    assert "typo.yaml:3" in proc.stderr
    p.write_text(TOY.replace("region: USA, stage", "region: JPN, stage"))
    proc = run_main("plan", str(p), home=tmp_path, ok=False)
    assert proc.returncode == 2
    assert "not a buyer of the plan" in proc.stderr


def test_plan_unknown_name_and_missing_file(tmp_path: Path) -> None:
    proc = run_main("plan", "atlantis", home=tmp_path, ok=False)
    assert proc.returncode == 2
    assert "unknown plan 'atlantis'" in proc.stderr
    assert "us" in proc.stderr
    proc = run_main("plan", str(tmp_path / "none.yaml"), home=tmp_path, ok=False)
    assert proc.returncode == 2
    assert "no such plan file" in proc.stderr


def test_plan_list(tmp_path: Path) -> None:
    proc = run_cli("plan", "--list", home=tmp_path)
    assert proc.stdout.split() == ["allied", "eu", "us"]


@pytest.mark.slow
def test_plan_toy_json_and_xlsx(tmp_path: Path) -> None:
    p = tmp_path / "toy.yaml"
    p.write_text(TOY)
    out = tmp_path / "plan.xlsx"
    proc = run_cli("plan", str(p), "--format", "json", "--out", str(out), home=tmp_path)
    doc = json.loads(proc.stdout)
    assert doc["status"] == "optimal"
    assert doc["futures"] == 4
    assert doc["seed"] == 1
    assert doc["plan_resolved"]["name"] == "toy-e2e"
    assert doc["data_version"]
    assert doc["objective_musd"] > 0
    assert out.exists()
    table = run_main("plan", str(p), home=tmp_path)
    assert "Portfolio" in table.stdout
    assert "expected NPV cost" in table.stdout


@pytest.mark.slow
def test_plan_frontier_and_verify_go_to_out(tmp_path: Path) -> None:
    """``--frontier --verify`` writes the frontier (8 points), the alternatives and the closed
    loop (every decision replayed, per target in-sample vs out-of-sample) to the --out file."""
    p = tmp_path / "toy.yaml"
    p.write_text(TOY)
    out = tmp_path / "plan.json"
    run_main("plan", str(p), "--frontier", "--verify", "--paths", "4", "--out", str(out), home=tmp_path)
    doc = json.loads(out.read_text())
    assert [f["cutoff_months"] for f in doc["frontier"]] == [0, 1, 3, 6, 9, 12, 18, 24]
    assert [a["portfolio"] for a in doc["alternatives"]] == ["least cost", "stockpile-heavy", "project-heavy"]
    ver = doc["verification"]
    assert ver["paths"] == 4
    kinds = {i["instrument"] for i in doc["portfolio"]}
    assert set(ver["replayed"]) == kinds
    [target] = ver["targets"]
    assert target["target"].startswith("USA: China share of magnet consumption <= 80%")
    assert target["in_sample"] == 1.0
    assert 0.0 <= target["out_of_sample"] <= 1.0
