"""`critmin runs` and `critmin report` through the real entry point (issue 14)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from tests.e2e.cli import run_cli, run_main

RUN_ID = re.compile(r"stored run (sim-\d{8}T\d{6}-[0-9a-f]{8})")


def _one_line_error(proc: object, *needles: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)  # type: ignore[attr-defined]
    err = proc.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for n in needles:
        assert n in lines[0], (n, lines[0])


def _simulate(home: Path, scenario: str = "truce-holds", *extra: str) -> str:
    proc = run_main("simulate", scenario, "--paths", "6", "--format", "json", *extra, home=home)
    m = RUN_ID.search(proc.stderr)
    assert m, proc.stderr
    return m.group(1)


def test_simulate_stores_a_run_and_runs_lists_shows_compares_removes(tmp_path: Path) -> None:
    a = _simulate(tmp_path)
    b = _simulate(tmp_path, "controls-reimposed-2026-11")
    listed = json.loads(run_cli("runs", "list", "--format", "json", home=tmp_path).stdout)["rows"]
    assert [r["run_id"] for r in listed] == [a, b]
    assert listed[0]["name"] == "truce-holds"
    assert listed[0]["paths"] == 6
    assert listed[0]["seed"] == 0
    csv = run_main("runs", "list", "--format", "csv", home=tmp_path).stdout
    assert csv.splitlines()[0].startswith("run_id,kind,name,created_at")
    table = run_main("runs", "list", home=tmp_path).stdout
    assert a in table
    assert b in table

    shown = json.loads(run_main("runs", "show", a, "--format", "json", home=tmp_path).stdout)
    assert shown["run_id"] == a
    assert "name: truce-holds" in shown["spec_yaml"]
    assert {"summary", "bands", "events"} <= set(shown["tables"])
    assert "summary" in run_main("runs", "show", a, home=tmp_path).stdout

    comp = json.loads(run_main("runs", "compare", a, b, "--format", "json", home=tmp_path).stdout)["rows"]
    row = next(
        r
        for r in comp
        if (r["region"], r["product"], r["metric"]) == ("USA", "ndfeb_magnets", "peak_shortfall_pct")
    )
    assert row["diff_p50"] == pytest.approx(row["p50_b"] - row["p50_a"])

    assert "removed" in run_main("runs", "remove", a, home=tmp_path).stdout
    left = json.loads(run_main("runs", "list", "--format", "json", home=tmp_path).stdout)["rows"]
    assert [r["run_id"] for r in left] == [b]


def test_no_store_stores_nothing(tmp_path: Path) -> None:
    proc = run_main("simulate", "truce-holds", "--paths", "3", "--no-store", "--format", "csv", home=tmp_path)
    assert "stored run" not in proc.stderr
    assert json.loads(run_main("runs", "list", "--format", "json", home=tmp_path).stdout)["rows"] == []


def test_an_unwritable_store_warns_once_and_the_simulation_succeeds(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    proc = run_main("simulate", "truce-holds", "--paths", "3", "--format", "json", home=blocker / "home")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["scenario"] == "truce-holds"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("warning: the run was not stored"), proc.stderr


def test_simulate_out_csv_is_one_record_type_per_file(tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    run_main("simulate", "truce-holds", "--paths", "3", "--out", str(out), "--no-store", home=tmp_path)
    summary = pd.read_csv(tmp_path / "x.summary.csv")
    bands = pd.read_csv(tmp_path / "x.bands.csv")
    series = pd.read_csv(tmp_path / "x.series.csv")
    assert list(summary.columns) == ["region", "product", "metric", "p5", "p50", "p95"]
    assert "table" not in bands.columns
    assert bands.columns[0] == "month"
    assert {"month", "path", "region", "shortfall_t"} <= set(series.columns)
    for frame in (summary, bands, series):
        text = frame.astype(str)
        assert not text.apply(lambda c: c.str.startswith("[")).any().any()  # no Python list reprs
    assert (tmp_path / "x.scenario.json").exists()


def test_report_html_and_xlsx_and_from_run(tmp_path: Path) -> None:
    html_out = tmp_path / "r.html"
    proc = run_cli(
        "report",
        "controls-reimposed-2026-11",
        "--compare",
        "truce-holds",
        "--paths",
        "6",
        "--seed",
        "3",
        "--out",
        str(html_out),
        home=tmp_path,
    )
    assert f"wrote {html_out}" in proc.stdout
    page = html_out.read_text("utf-8")
    assert "<h2>Comparison: truce-holds minus controls-reimposed-2026-11</h2>" in page
    assert not re.search(r"<script[^>]*\bsrc\s*=", page)
    assert "Plotly.newPlot" in page
    ids = RUN_ID.findall(proc.stderr)
    assert len(ids) == 2  # the report's runs are stored
    xlsx = tmp_path / "r.xlsx"
    run_main("report", "--from-run", ids[0], "--compare-run", ids[1], "--out", str(xlsx), home=tmp_path)
    book = load_workbook(xlsx, read_only=True)
    assert {"Summary", "Comparison", "Events", "Sources", "Metadata"} <= set(book.sheetnames)
    meta = {r[0]: r[1] for r in book["Metadata"].iter_rows(values_only=True)}
    assert meta["Stored run (run A)"] == ids[0]
    assert meta["Seed (run A)"] == "3"


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("report", "nope-scenario", "--paths", "3"), ("nope-scenario", "truce-holds")),
        (("report", "--from-run", "sim-nope"), ("sim-nope", "critmin runs list")),
        (("report", "truce-holds", "--compare-run", "sim-nope", "--paths", "3"), ("sim-nope",)),
    ],
)
def test_report_bad_input_is_one_line(
    tmp_path: Path, args: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    proc = run_main(*args, "--out", str(tmp_path / "r.html"), home=tmp_path, ok=False)
    _one_line_error(proc, *needles)
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    ("out", "needle"),
    [
        ("r.pdf", "suffix '.pdf'"),
        ("missing/r.html", "does not exist"),
        ("a-file/r.html", "is a file, not a folder"),
    ],
)
def test_report_bad_out_is_one_line_before_any_run(tmp_path: Path, out: str, needle: str) -> None:
    (tmp_path / "a-file").write_text("x")
    proc = run_main("report", "truce-holds", "--out", str(tmp_path / out), home=tmp_path, ok=False)
    _one_line_error(proc, needle)
    assert "stored run" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("runs", "show", "sim-nope"),
        ("runs", "remove", "sim-nope"),
        ("runs", "compare", "sim-nope", "sim-nope2"),
    ],
)
def test_unknown_run_ids_are_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    _one_line_error(run_main(*args, home=tmp_path, ok=False), "sim-nope", "critmin runs list")


def test_runs_list_of_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = run_main("runs", "list", home=home)
    assert "no stored runs" in proc.stdout
    assert not home.exists()


def test_a_damaged_store_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "critmin.duckdb").write_bytes(b"garbage" * 1000)
    _one_line_error(run_main("runs", "list", home=tmp_path, ok=False), "damaged", "Fix:")
