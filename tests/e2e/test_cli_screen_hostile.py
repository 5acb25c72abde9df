"""Hostile input to ``critmin screen`` and ``critmin trace country`` through the real entry point.

Each case: exit code 2, exactly one stderr line (``error: path:line: column 'c': ... Fix: ...``),
no traceback, nothing on stdout, and nothing written under ``CRITMIN_HOME``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.cli import run_cli, run_main

HEADER = "product_id,product_value_usd,component_id,element,element_mass_kg,origin_country,element_value_usd"
OK_ROW = "p,1000,m0,Tb,0.1,CHN,"
RULE_61 = Path(__file__).resolve().parents[2] / "src/critmin/trace/rules/mofcom-2025-61.yaml"


def _bom(*rows: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / "bom.csv"
        path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        return path

    return make


def _bytes(data: bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / "bom.csv"
        path.write_bytes(data)
        return path

    return make


def _fifo(tmp: Path) -> Path:
    path = tmp / "pipe.csv"
    os.mkfifo(path)
    return path


def _folder(tmp: Path) -> Path:
    path = tmp / "boms"
    path.mkdir()
    return path


CASES = {
    "mass-1e308": (_bom(OK_ROW, "p,1000,m,Dy,1e308,CHN,"), ":3: column 'element_mass_kg'"),
    "mass-nan": (_bom(OK_ROW, "p,1000,m,Dy,nan,CHN,"), ":3: column 'element_mass_kg'"),
    "mass-negative": (_bom(OK_ROW, "p,1000,m,Dy,-0.5,CHN,"), ":3: column 'element_mass_kg'"),
    "mass-absurd": (_bom(OK_ROW, "p,1000,m,Dy,5e9,CHN,"), ":3: column 'element_mass_kg'"),
    "value-inf": (_bom(OK_ROW, "p,1000,m,Dy,,CHN,inf"), ":3: column 'element_value_usd'"),
    "price-absurd": (_bom("p,1e300,m,Dy,0.5,CHN,"), ":2: column 'product_value_usd'"),
    "identical-rows": (_bom(OK_ROW, "p,1000,m1,Dy,0.5,CHN,", OK_ROW), ":4: column 'component_id'"),
    "controlled-above-value": (_bom("p,10,m,Dy,,CHN,26000"), ":2: column 'element_value_usd'"),
    "grams-as-kg": (_bom("speaker,25,magnet,Dy,10,CHN,"), ":2: column 'element_mass_kg'"),
    "huge-field": (_bom(OK_ROW, f"p,1000,m,{'D' * 200_000},0.5,CHN,"), ":3: column 'element'"),
    "utf16": (_bytes((HEADER + "\n" + OK_ROW + "\n").encode("utf-16")), ":1: the file is UTF-16"),
    "latin1": (_bytes((HEADER + "\np\xe9,1000,m,Dy,0.5,CHN,\n").encode("latin-1")), ":2: not UTF-8"),
    "binary": (_bytes(b"\x00\xff" * 64), ":1: the file is binary"),
    "fifo": (_fifo, ": BOM file is a FIFO"),
    "folder": (_folder, ": BOM file is a folder"),
    "short-row": (_bom(OK_ROW, "p,1000,m,Dy"), ":3: expected 7 fields, found 4"),
}


JSON_TOO = ("mass-1e308", "identical-rows", "controlled-above-value")


def _one_error_line(proc_stderr: str) -> str:
    assert "Traceback" not in proc_stderr
    lines = proc_stderr.strip().splitlines()
    assert len(lines) == 1, proc_stderr
    assert lines[0].startswith("error: ")
    assert "Fix:" in lines[0]
    return lines[0]


def _home_untouched(home: Path) -> None:
    assert not home.exists() or not any(home.rglob("*")), list(home.rglob("*"))


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_bom_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, case: str) -> None:
    make, where = CASES[case]
    path = make(tmp_path)
    home = tmp_path / "home"
    for fmt in ("table", "json") if case in JSON_TOO else ("table",):
        # The first case goes through the installed script, the others through critmin.cli.main
        # in this process (the same entry point, without a second of interpreter start-up each).
        runner = run_cli if case == next(iter(CASES)) else run_main
        proc = runner(
            "screen", str(path), "--as-of", "2027-01-01", "-f", fmt, home=home, ok=False, timeout=60
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""
        line = _one_error_line(proc.stderr)
        assert f"error: {path}{where}" in line, line
    _home_untouched(home)


def _rules(text: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / "rules.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return make


RULE_CASES = {
    "duplicate-key": (_rules(RULE_61.read_text() + "threshold_share: 0.5\n"), "given twice"),
    "5000-digit-int": (_rules("threshold_share: " + "9" * 5000 + "\n"), "a value cannot be read"),
    "bad-date": (_rules("effective_date: 2026-02-30\n"), "a value cannot be read"),
    "nan-threshold": (
        _rules(RULE_61.read_text().replace("threshold_share: 0.001", "threshold_share: .nan")),
        "threshold_share",
    ),
    "utf16": (lambda tmp: _bytes_rules(tmp, RULE_61.read_text().encode("utf-16")), "UTF-16"),
    "fifo": (lambda tmp: _fifo_rules(tmp), "rules file is a FIFO"),
}


def _bytes_rules(tmp: Path, data: bytes) -> Path:
    path = tmp / "rules.yaml"
    path.write_bytes(data)
    return path


def _fifo_rules(tmp: Path) -> Path:
    path = tmp / "rules.yaml"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("case", list(RULE_CASES))
def test_hostile_rules_file_is_one_line_exit_2(tmp_path: Path, case: str) -> None:
    make, pattern = RULE_CASES[case]
    rules = make(tmp_path)
    bom = _bom(OK_ROW)(tmp_path)
    home = tmp_path / "home"
    proc = run_cli("screen", str(bom), "--rules", str(rules), home=home, ok=False, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    line = _one_error_line(proc.stderr)
    assert f"error: {rules}" in line, line
    assert pattern in line, line
    _home_untouched(home)


@pytest.mark.parametrize("year", ["-5", "0", "99999", "100000000000000000000"])
def test_trace_country_absurd_year_is_one_line_exit_2(tmp_path: Path, year: str) -> None:
    home = tmp_path / "home"
    proc = run_cli("trace", "country", "--year", year, "-f", "json", home=home, ok=False, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    line = _one_error_line(proc.stderr)
    assert f"column 'year': year {year} is outside 1900-2100" in line
