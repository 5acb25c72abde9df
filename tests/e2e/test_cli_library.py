"""The simulate library through the real entry point: the parameter table, bounds, executors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli import run_cli


def test_list_parameters_prints_the_table_with_bounds(tmp_path: Path) -> None:
    proc = run_cli("simulate", "--list-parameters", "--format", "json", home=tmp_path)
    rows = {r["name"]: r for r in json.loads(proc.stdout)["parameters"]}
    assert rows["licence.approval_rate"]["bounds"] == "[0, 1]"
    assert rows["licence.approval_rate"]["sets"] == "engine.approval_rate"
    table = run_cli("simulate", "--list-parameters", home=tmp_path).stdout
    assert "inventory.cover_months" in table


@pytest.mark.parametrize("value", ["20", "-0.2"])
def test_out_of_range_rate_is_one_line_and_exit_2(tmp_path: Path, value: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(f"name: bad\nparameters:\n  licence.approval_rate: {value}\n", encoding="utf-8")
    proc = run_cli("simulate", str(p), "--paths", "2", home=tmp_path, ok=False)
    assert proc.returncode == 2
    assert f"{p}:3" in proc.stderr
    assert "outside the bounds [0, 1]" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_scheduler_address_is_one_line(tmp_path: Path) -> None:
    proc = run_cli(
        "simulate", "baseline", "--paths", "2", "--scheduler", "localhost:1", home=tmp_path, ok=False
    )
    assert proc.returncode == 2
    assert "not a Dask address" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_workers_2_gives_the_in_process_json(tmp_path: Path) -> None:
    args = (
        "simulate",
        "truce-holds",
        "--paths",
        "1100",
        "--seed",
        "4",
        "--end",
        "2026-12",
        "--format",
        "json",
    )
    local = run_cli(*args, home=tmp_path).stdout
    dask = run_cli(*args, "--workers", "2", home=tmp_path).stdout
    assert json.loads(local) == json.loads(dask)
    assert local == dask
