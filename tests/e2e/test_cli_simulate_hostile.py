"""Hostile scenarios, observed series and run sizes through the installed ``critmin`` script.

A subset of ``tests/unit/test_hostile_scenario.py`` and ``test_hostile_observed.py`` (which
run every case in-process through :func:`critmin.cli.main`): exit code 2, one stderr line with
the file, line, field and a fix, no traceback, nothing written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.cli import run_cli as run
from tests.hostile import assert_one_line as _one_line

HEAD = "name: t\nstart: 2025-01\nend: 2026-12\n"

#: name -> (scenario text, line, field, words)
SCENARIOS: dict[str, tuple[str, int, str | None, str]] = {
    "approval rate .nan": (
        HEAD + "parameters:\n  licence.approval_rate: .nan\n",
        5,
        "parameters.licence.approval_rate",
        "finite",
    ),
    "beta a -1": (
        HEAD + "parameters:\n  licence.approval_rate: {dist: beta, a: -1, b: 2}\n",
        5,
        "parameters.licence.approval_rate.a",
        "greater than 0",
    ),
    "uniform high .inf": (
        HEAD + "parameters:\n  licence.approval_rate: {dist: uniform, low: 0, high: .inf}\n",
        5,
        "parameters.licence.approval_rate.high",
        "finite",
    ),
    "duplicate key": (
        HEAD + "parameters:\n  licence.approval_rate: 0.5\n  licence.approval_rate: 0.9\n",
        6,
        None,
        "repeats (lines 5 and 6)",
    ),
    "duplicate regions": (HEAD + "regions: [CHN, ROW, USA, USA]\n", 4, "regions.3", "must not repeat"),
    "horizon 1900-01 to 2100-12": ("name: t\nstart: 1900-01\nend: 2100-12\n", 3, "end", "at most 600"),
    "offtake seller is the buyer": (
        HEAD
        + "events:\n  - {id: o, date: 2025-03-01, kind: offtake, region: USA, seller: USA, "
        + "stages: [separation], volume_t_per_year: 5}\n",
        5,
        "events.0.seller",
        "is the buyer",
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_simulate_refuses_hostile_scenarios(tmp_path: Path, name: str) -> None:
    text, line, column, needle = SCENARIOS[name]
    p = tmp_path / "s.yaml"
    p.write_text(text, encoding="utf-8")
    out = tmp_path / "run.parquet"
    proc = run("simulate", str(p), "--paths", "5", "--out", str(out), home=tmp_path / "home", ok=False)
    assert proc.returncode == 2, proc.stderr
    _one_line(proc.stderr, f"{p}:{line}:", column, needle)
    assert proc.stdout == ""
    assert not out.exists()
    assert not out.with_name("run.scenario.json").exists()


def test_sensitivity_refuses_a_utf16_scenario(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_bytes(HEAD.encode("utf-16"))
    proc = run("sensitivity", str(p), home=tmp_path / "home", ok=False)
    assert proc.returncode == 2
    _one_line(proc.stderr, f"{p}:1:", None, "UTF-16")


def test_backtest_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    os.mkfifo(p)
    proc = run("backtest", "--scenario", str(p), home=tmp_path / "home", ok=False, timeout=60)
    assert proc.returncode == 2
    _one_line(proc.stderr, f"{p}:", None, "FIFO")


@pytest.mark.parametrize(
    ("text", "line", "column", "needle"),
    [
        ("month,value_t\n2025-01,5000\n2025-02,1e308\n", 3, "value_t", "above the 1e+08 t limit"),
        ("month,value_t\n2025-01,5000\n2025-01,4000\n", 3, "month", "repeats line 2"),
        ("month,value_t,partner\n2025-01,5000,Atlantis\n", 2, "partner", "unknown partner 'Atlantis'"),
        ('month,value_t\n2025-01,"' + "1" * 140_000 + '"\n', 2, "value_t", "not a finite number"),
    ],
)
def test_calibrate_refuses_hostile_observed_series(
    tmp_path: Path, text: str, line: int, column: str, needle: str
) -> None:
    p = tmp_path / "obs.csv"
    p.write_text(text, encoding="utf-8")
    proc = run("calibrate", "backtest-2025-04", "--observed", str(p), home=tmp_path / "home", ok=False)
    assert proc.returncode == 2, proc.stderr
    _one_line(proc.stderr, f"{p}:{line}:", column, needle)
    assert proc.stdout == ""


def test_calibrate_refuses_a_latin1_series(tmp_path: Path) -> None:
    p = tmp_path / "obs.csv"
    p.write_bytes("month,value_t\n2025-01,5000\n# caf\xe9\n".encode("latin-1"))
    proc = run("calibrate", "backtest-2025-04", "--observed", str(p), home=tmp_path / "home", ok=False)
    assert proc.returncode == 2
    _one_line(proc.stderr, f"{p}:3:", None, "not UTF-8")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("simulate", "baseline", "--paths", str(10**20)), "from 1 to 10,000,000"),
        (("simulate", "baseline", "--seed", "-1"), "from 0 to 2^63 - 1"),
        (("simulate", "controls-reimposed-2026-11", "--paths", "1000000"), "the limit is 256 MB"),
    ],
)
def test_run_sizes_are_bounded_before_running(
    tmp_path: Path, args: tuple[str, ...], needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRITMIN_MAX_RUN_MB", "256")  # run_cli passes the environment on
    out = tmp_path / "run.parquet"
    proc = run(*args, "--out", str(out), home=tmp_path / "home", ok=False, timeout=120)
    assert proc.returncode == 2, proc.stderr
    _one_line(proc.stderr, "error: ", None, needle)
    assert not out.exists()
