"""Output safety through the real entry point: user text is printed verbatim, never run.

* Rich markup in user text (``[/bold]Atlantis``, ``[link=...]``, regex character classes) must
  neither crash the error printer nor be eaten by it: the error line quotes the value as given.
* CSV outputs neutralise cells a spreadsheet would run as formulas (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from critmin.cells import FORMULA_START
from tests.e2e.cli import run_cli

HOSTILE_TEXT = ["[/bold]Atlantis", "[link=https://evil.example]Atlantis[/link]", "^[a-z]*$", "[bold red]x"]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_markup_in_an_unknown_country_is_quoted_verbatim(text: str, tmp_path: Path) -> None:
    proc = run_cli("exposure", "--importer", text, home=tmp_path, ok=False)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert text in lines[0]
    assert "Traceback" not in proc.stderr


def test_markup_in_a_scenario_is_quoted_verbatim(tmp_path: Path) -> None:
    bad = tmp_path / "s.yaml"
    bad.write_text("name: x\nregions: [CHN, ROW, '[/bold]Atlantis']\n", "utf-8")
    proc = run_cli("simulate", str(bad), "--paths", "2", home=tmp_path, ok=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "[/bold]Atlantis" in proc.stderr


def test_table_output_shows_markup_like_values_verbatim(tmp_path: Path) -> None:
    sc = tmp_path / "s.yaml"
    sc.write_text(
        "name: '[bold]x[/bold] ^[a-z]*$'\nextends: controls-reimposed-2026-11\n"
        "start: 2026-12\nend: 2027-03\n",
        "utf-8",
    )
    proc = run_cli("simulate", str(sc), "--paths", "2", home=tmp_path)
    assert "[bold]x[/bold] ^[a-z]*$" in proc.stdout


def test_csv_outputs_carry_no_formula_cells(tmp_path: Path) -> None:
    sc = tmp_path / "s.yaml"
    sc.write_text(
        "name: '=HYPERLINK(\"http://evil.example\")'\nextends: controls-reimposed-2026-11\n"
        "start: 2026-12\nend: 2027-03\n",
        "utf-8",
    )
    proc = run_cli("simulate", str(sc), "--paths", "2", "--format", "csv", home=tmp_path)
    cells = [c for row in csv.reader(io.StringIO(proc.stdout)) for c in row]
    assert cells, proc.stdout
    assert not [c for c in cells if c.startswith(FORMULA_START) and not _number(c)]


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (("exposure", "--year", "9" * 5000), "Invalid value for '--year'"),
        (("exposure", "--yeer", "3"), "No such option: --yeer"),
        (("trace", "synth", "--firms", "2"), "greater than or equal to 6 (given '2')"),
        (("simulate", "--paths", "abc", "x.yaml"), "Invalid value for '--paths'"),
        (("data", "show"), "Missing argument 'table'"),
        (("nosuch",), "No such command 'nosuch'"),
    ],
)
def test_usage_errors_are_one_line_with_the_fix(args: tuple[str, ...], expect: str, tmp_path: Path) -> None:
    proc = run_cli(*args, home=tmp_path, ok=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert expect in lines[0]
    assert "Fix: see `critmin" in lines[0]
    assert "set_int_max_str_digits" not in lines[0]
