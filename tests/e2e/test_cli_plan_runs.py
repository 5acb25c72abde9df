"""End-to-end: `critmin plan` and `critmin stockpile` store their runs, and `critmin runs` lists,
shows, compares and removes them (issue 14)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.cli import run_cli, run_main
from tests.e2e.test_cli_plan import TOY

pytestmark = pytest.mark.slow

PLAN_ID = re.compile(r"stored run (plan-\d{8}T\d{6}-[0-9a-f]{8})")
STOCK_ID = re.compile(r"stored run (stock-\d{8}T\d{6}-[0-9a-f]{8})")


def _plan(home: Path, text: str, *extra: str) -> str:
    p = home / "plan.yaml"
    p.write_text(text)
    proc = run_main("plan", str(p), "--format", "json", *extra, home=home)
    m = PLAN_ID.search(proc.stderr)
    assert m, proc.stderr
    return m.group(1)


def test_plan_runs_are_stored_listed_shown_compared_and_removed(tmp_path: Path) -> None:
    a = _plan(tmp_path, TOY, "--verify", "--paths", "6")
    b = _plan(tmp_path, TOY.replace("max_share: 0.8", "max_share: 0.6"))
    listed = json.loads(run_cli("runs", "list", "--format", "json", home=tmp_path).stdout)["rows"]
    assert [(r["run_id"], r["kind"], r["name"], r["seed"], r["paths"]) for r in listed] == [
        (a, "plan", "toy-e2e", 1, 4),
        (b, "plan", "toy-e2e", 1, 4),
    ]
    table = run_main("runs", "list", home=tmp_path).stdout
    assert "plan" in table

    shown = json.loads(run_main("runs", "show", a, "--format", "json", home=tmp_path).stdout)
    assert shown["kind"] == "plan"
    assert "name: toy-e2e" in shown["spec_yaml"]
    assert {"portfolio", "costs", "in_sample", "verification"} <= set(shown["tables"])
    assert shown["meta"]["status"] == "optimal"
    assert shown["data_version"]
    text = run_main("runs", "show", a, home=tmp_path).stdout
    assert "portfolio" in text
    assert "expected NPV cost" in text
    assert "closed loop" in text
    csv = run_main("runs", "show", a, "--format", "csv", home=tmp_path).stdout
    assert csv.splitlines()[0].startswith("instrument,buyer,payer,project")

    comp = json.loads(run_main("runs", "compare", a, b, "--format", "json", home=tmp_path).stdout)
    assert comp["kind"] == "plan"
    total = comp["tables"]["costs"][-1]
    assert total["instrument"] == "total"
    assert total["diff_musd"] == pytest.approx(total["musd_b"] - total["musd_a"])
    assert total["diff_musd"] > 0  # the tighter cap costs more
    for row in comp["tables"]["portfolio"]:
        assert row["diff_amount"] == pytest.approx(row["amount_b"] - row["amount_a"])
    out = run_main("runs", "compare", a, b, home=tmp_path).stdout
    assert "portfolio: amount B - A" in out
    csv = run_main("runs", "compare", a, b, "--format", "csv", home=tmp_path).stdout
    assert csv.splitlines()[0].startswith("table,")

    assert "removed" in run_main("runs", "remove", a, home=tmp_path).stdout
    left = json.loads(run_main("runs", "list", "--format", "json", home=tmp_path).stdout)["rows"]
    assert [r["run_id"] for r in left] == [b]


def test_plan_no_store_and_stockpile_runs(tmp_path: Path) -> None:
    p = tmp_path / "plan.yaml"
    p.write_text(TOY)
    proc = run_main("plan", str(p), "--no-store", "--format", "json", home=tmp_path)
    assert "stored run" not in proc.stderr
    assert json.loads(run_main("runs", "list", "--format", "json", home=tmp_path).stdout)["rows"] == []
    args = ["stockpile", "--scenario", "us-embargo", "--region", "USA", "--product", "gallium_metal"]
    args += ["--target-shortfall", "10", "--confidence", "0.6", "--fill-months", "3", "--end", "2027-12"]
    proc = run_main(*args, "--paths", "6", "--seed", "1", "--format", "json", home=tmp_path)
    sid = STOCK_ID.search(proc.stderr)
    assert sid, proc.stderr
    doc = json.loads(proc.stdout)
    shown = json.loads(run_main("runs", "show", sid.group(1), "--format", "json", home=tmp_path).stdout)
    assert shown["kind"] == "stockpile"
    assert shown["name"] == "us-embargo USA gallium_metal"
    assert (shown["seed"], shown["paths"]) == (1, 6)
    size = next(r for r in shown["tables"]["results"] if r["measure"] == "size_t")
    assert size["value"] == pytest.approx(doc["size_t"])
    proc = run_main(*args, "--paths", "6", "--seed", "1", "--no-store", "--format", "json", home=tmp_path)
    assert "stored run" not in proc.stderr
    plan_id = _plan(tmp_path, TOY)
    bad = run_main("runs", "compare", plan_id, sid.group(1), home=tmp_path, ok=False)
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "is a plan run and run" in lines[0]
    assert "Traceback" not in bad.stderr
