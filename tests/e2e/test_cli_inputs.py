"""New-user defects (issue 10) through the real ``critmin`` entry point.

Bad choices (stages, formats, methods) give one line with the nearest valid value and exit
code 2; output paths are checked before any work; ``--out run.xlsx`` is a real workbook with
the user's umask; ``critmin scenarios list|show``; commands with nothing to show say why.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from critmin.simulate import Scenario, bundled_scenarios, load_scenario
from tests.e2e.cli import EXE
from tests.e2e.cli import run_cli as run


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The single ``error: ...`` line of a refused command (exit code 2, no traceback)."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


# --------------------------------------------------------------------------- choices
@pytest.mark.parametrize(
    ("args", "nearest"),
    [
        (("data", "show", "production", "--commodity", "rare_earths", "--stage", "mine"), "mining"),
        (("data", "show", "production", "--commodity", "rare_earths", "--stage", "separaton"), "separation"),
        (("data", "show", "stage_shares", "--stage", "separaton"), "separation"),
        (("trace", "country", "--stage", "magnt"), "magnet"),
        (("trace", "country", "--origin-stage", "mine"), "mining"),
        (("trace", "firms", "f.csv", "e.csv", "--origin-stage", "refining"), "separation"),
    ],
)
def test_a_bad_stage_is_one_line_with_the_nearest_stage(
    home: Path, args: tuple[str, ...], nearest: str
) -> None:
    line = _one_line_error(run(*args, home=home, ok=False))
    assert f"did you mean {nearest!r}?" in line
    assert "valid stages: mining, separation" in line


@pytest.mark.parametrize(
    ("args", "nearest"),
    [
        (("exposure", "--format", "jsn"), "json"),
        (("criticality", "--method", "eux"), "eu"),
        (("sensitivity", "baseline", "--method", "sobl"), "sobol"),
        (("trace", "synth", "--out-dir", "x", "--format", "parqet"), "parquet"),
        (("data", "show", "production", "--commodity", "rare_earths", "--measure", "reserve"), "reserves"),
        (("data", "show", "productoin"), "production"),
        (("data", "sources", "--kind", "asumption"), "assumption"),
        (("scenarios", "show", "basline"), "baseline"),
        (("scenarios", "show", "baseline", "--format", "yml"), "yaml"),
    ],
)
def test_other_bad_choices_are_one_line_with_the_nearest_value(
    home: Path, args: tuple[str, ...], nearest: str
) -> None:
    line = _one_line_error(run(*args, home=home, ok=False))
    assert f"did you mean {nearest!r}?" in line


def test_a_stage_outside_the_traced_chain_is_named_as_such(home: Path) -> None:
    line = _one_line_error(run("trace", "country", "--stage", "end_use", home=home, ok=False))
    assert "'end_use' is not a stage here" in line
    assert "use one of mining, separation, metal_alloy, magnet" in line


# --------------------------------------------------------------------------- output paths
def test_a_missing_out_folder_fails_before_the_simulation(home: Path, tmp_path: Path) -> None:
    # 200,000 paths would run for minutes: the short timeout proves nothing was simulated.
    target = tmp_path / "nonexistent" / "dir" / "run.parquet"
    proc = run(
        "simulate", "baseline", "--paths", "200000", "--out", str(target), home=home, ok=False, timeout=60
    )
    line = _one_line_error(proc)
    assert "does not exist" in line
    assert f"mkdir -p {target.parent}" in line
    assert not target.parent.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("outdir/", "has no suffix"),  # Path() drops the separator; still refused, with the fix
        (".", "is a folder, not a file"),
        ("run.txt", "cannot write a file with suffix '.txt'"),
    ],
)
def test_bad_out_paths_are_refused_before_any_work(
    home: Path, tmp_path: Path, name: str, message: str
) -> None:
    target = f"{tmp_path}/{name}"
    proc = run("simulate", "baseline", "--paths", "200000", "--out", target, home=home, ok=False, timeout=60)
    assert message in _one_line_error(proc)
    assert not (tmp_path / "outdir").exists()


def test_other_commands_check_their_output_paths_first(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    # trace firms: --out is checked before the (absent) input files are read
    line = _one_line_error(
        run("trace", "firms", "nope-f.csv", "nope-e.csv", "--origin-stage", "mining",
            "--out", str(missing / "s.parquet"), home=home, ok=False)
    )  # fmt: skip
    assert "--out" in line
    assert "does not exist" in line
    line = _one_line_error(run("exposure", "--plot", str(tmp_path / "x.svg"), home=home, ok=False))
    assert "--plot" in line
    assert ".html, .htm, .png" in line
    line = _one_line_error(
        run("sensitivity", "baseline", "--plot", str(tmp_path / "t.pdf"), home=home, ok=False)
    )
    assert "suffix '.pdf'" in line


def _run_with_umask(umask: int, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRITMIN_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [str(EXE), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
        preexec_fn=lambda: os.umask(umask),  # the child's umask, set before exec
    )


def test_out_xlsx_is_a_real_workbook_with_the_umask_mode(home: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    target = tmp_path / "run.xlsx"
    proc = _run_with_umask(
        0o027, "simulate", "baseline", "--paths", "2", "--end", "2024-12", "--out", str(target), home=home
    )
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes()[:2] == b"PK"  # a zip (OOXML) container, not CSV text
    book = load_workbook(target, read_only=True)
    assert {"summary", "bands"} <= set(book.sheetnames)
    header = next(book["summary"].iter_rows(values_only=True))
    assert {"region", "product", "metric", "p50"} <= set(header)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # 0o666 & ~0o027, not mkstemp's 0o600
    meta = tmp_path / "run.scenario.json"
    assert json.loads(meta.read_text())["scenario"] == "baseline"


# --------------------------------------------------------------------------- scenarios
def test_scenarios_list_json_has_every_bundled_scenario(home: Path) -> None:
    doc = json.loads(run("scenarios", "list", "--format", "json", home=home).stdout)
    rows = {r["name"]: r for r in doc["scenarios"]}
    assert list(rows) == list(bundled_scenarios())
    us = rows["us-embargo"]
    assert us["chains"] == ["rare_earths", "gallium", "germanium", "antimony"]
    assert us["extends"] == "controls-reimposed-2026-11"
    assert (us["start"], us["end"]) == ("2024-01", "2035-12")
    assert rows["backtest-2025-04"]["start"] == "2025-01"
    assert rows["baseline"]["description"].startswith("Counterfactual reference")
    table = run("scenarios", "list", home=home).stdout
    for name in rows:
        assert name in table


def test_scenarios_show_prints_the_file_as_written(home: Path) -> None:
    out = run("scenarios", "show", "truce-holds", home=home).stdout
    assert out == bundled_scenarios()["truce-holds"].read_text("utf-8")


def test_scenarios_show_resolved_validates_back_to_the_same_scenario(home: Path) -> None:
    name = "allied-acceleration"  # extends controls-reimposed-2026-11
    assert "approvals-tighten-2026-11" not in bundled_scenarios()[name].read_text("utf-8")
    out = run("scenarios", "show", name, "--resolved", home=home).stdout
    doc = yaml.safe_load(out)
    assert doc.get("extends") is None  # already applied
    assert "approvals-tighten-2026-11" in {e["id"] for e in doc["events"]}  # inherited
    assert Scenario.model_validate(doc) == load_scenario(name)
    as_json = json.loads(run("scenarios", "show", name, "--resolved", "--format", "json", home=home).stdout)
    assert as_json == doc


# --------------------------------------------------------------------------- nothing to show
def test_exposure_names_the_stages_without_data_and_why(home: Path) -> None:
    proc = run("exposure", "--commodity", "germanium", home=home)
    assert "no separation data for germanium" in proc.stderr
    assert "'withheld'" in proc.stderr  # USGS prints W: the reason, not just the absence
    assert "net import reliance" in proc.stdout  # what could be computed is still shown
    assert "Who supplies each stage" not in proc.stdout  # no empty table
    doc = json.loads(run("exposure", "--commodity", "germanium", "--format", "json", home=home).stdout)
    assert [g["stage"] for g in doc["missing_stages"]] == ["separation", "end_use"]


def test_exposure_with_nothing_to_compute_exits_2_with_what_to_try(home: Path) -> None:
    line = _one_line_error(run("exposure", "--commodity", "neodymium", home=home, ok=False))
    assert "no exposure figures for neodymium" in line
    assert "try --commodity rare_earths" in line
    line = _one_line_error(run("exposure", "--year", "1990", home=home, ok=False))
    assert "covers 1992-2025" in line
    assert "try --year 2024" in line


def test_trace_country_for_a_country_outside_the_stage_says_so(home: Path) -> None:
    line = _one_line_error(run("trace", "country", "--country", "USA", home=home, ok=False))
    assert "United States (USA) has no magnet output" in line
    assert "CHN" in line
    ok = run("trace", "country", "--stage", "separation", "--country", "USA", "--format", "csv", home=home)
    assert ok.stdout.splitlines()[1:] == ["USA,USA,1.0"]
    noted = run("trace", "country", "--year", "1990", "--format", "csv", home=home)
    assert "note: no mining shares for 1990: the chain uses its latest shares" in noted.stderr
