"""``critmin screen`` through the installed console script (the real entry point)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).parent / "critmin"
BOM = Path(__file__).resolve().parents[1] / "fixtures" / "bom"


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRITMIN_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [str(EXE), "screen", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_screen_json_threshold_and_suspension(home: Path) -> None:
    after = run(
        str(BOM / "threshold.csv"),
        "--rules",
        "mofcom-2025-61",
        "--as-of",
        "2026-11-11",
        "--format",
        "json",
        home=home,
    )
    assert after.returncode == 0, after.stderr
    doc = json.loads(after.stdout)
    assert doc["as_of"] == "2026-11-11"
    assert doc["rules"] == ["mofcom-2025-61"]
    got = {p["product_id"]: p["licence_required"] for p in doc["products"]}
    assert got == {"at-threshold": True, "below-threshold": False, "above-threshold": True}
    inside = run(
        str(BOM / "threshold.csv"),
        "--rules",
        "mofcom-2025-61",
        "--as-of",
        "2026-11-10",
        "-f",
        "json",
        home=home,
    )
    assert not any(p["licence_required"] for p in json.loads(inside.stdout)["products"])


def test_screen_table_with_swap_and_both_rules(home: Path) -> None:
    proc = run(
        str(BOM / "example.csv"),
        "--rules",
        "all",
        "--as-of",
        "2027-01-01",
        "--swap",
        "rotor-magnet=AUS",
        home=home,
    )
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if "ev-motor" in ln)
    assert "REQUIRED" not in line
    assert "mofcom-2025-61" in proc.stdout
    assert "IN FORCE" in proc.stdout


def test_screen_bad_input_is_one_line_exit_2_and_nothing_on_stdout(tmp_path: Path, home: Path) -> None:
    bad = tmp_path / "bom.csv"
    bad.write_text(
        "product_id,product_value_usd,component_id,element,element_mass_kg,origin_country\n"
        "p,1000,m,Xx,0.5,CHN\n"
    )
    proc = run(str(bad), "--as-of", "2026-01-01", home=home)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert f"{bad}:2: column 'element': 'Xx' is not a rare-earth element" in proc.stderr
    assert "Fix:" in proc.stderr
    swap = run(str(BOM / "example.csv"), "--swap", "no-such-part=AUS", home=home)
    assert swap.returncode == 2
    assert "'no-such-part'" in swap.stderr
