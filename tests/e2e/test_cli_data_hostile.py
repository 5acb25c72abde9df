"""``critmin data ...`` and ``critmin exposure`` through the real entry point, with hostile input.

Each refusal: exit code 2, exactly one stderr line naming the file (and line/field where there
is one) with "Fix:", no traceback, and the store unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from tests.e2e.cli import run_cli, run_main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "usgs"
HEADER = "commodity,stage,measure,country,year,value,unit,source_id,source_title,source_url,note\n"


def _store_bytes(home: Path) -> bytes | None:
    p = home / "critmin.duckdb"
    return p.read_bytes() if p.exists() else None


def _refused(proc: object, *needles: str) -> str:
    rc, err = proc.returncode, proc.stderr  # type: ignore[attr-defined]
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert "Fix:" in lines[0]
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def _mining_hhi(home: Path, commodity: str = "nickel") -> float:
    out = run_cli("exposure", "--commodity", commodity, "--format", "json", home=home).stdout
    stages = json.loads(out)["stages"]
    return float(next(s["hhi"] for s in stages if s["stage"] == "mining"))


def test_reimporting_the_bundled_edition_keeps_hhi(tmp_path: Path) -> None:
    before = _mining_hhi(tmp_path)
    assert round(before) == 2756
    f = FIXTURES / "reimport" / "mcs2024-nicke_world.csv"
    out = run_cli("data", "import", "usgs-mcs", str(f), home=tmp_path).stdout
    assert "imported" in out
    assert "(source usgs-mcs2024)" in out
    assert _mining_hhi(tmp_path) == pytest.approx(before)
    show = run_cli(
        "data", "show", "production", "--commodity", "nickel", "--stage", "mining", "--year", "2023",
        "--format", "csv", home=tmp_path,
    ).stdout  # fmt: skip
    countries = [r["country"] for r in csv.DictReader(io.StringIO(show))]
    assert len(countries) == len(set(countries))  # nobody listed twice


def test_import_prints_the_data_version_the_store_then_has(tmp_path: Path) -> None:
    f = FIXTURES / "reimport" / "mcs2024-nicke_world.csv"
    out = run_cli("data", "import", "usgs-mcs", str(f), home=tmp_path).stdout
    version = out.strip().splitlines()[-1].removeprefix("data_version: ")
    info = json.loads(run_cli("data", "info", "--format", "json", home=tmp_path).stdout)
    assert info["data_version"] == version


@pytest.mark.parametrize(
    "cmd", [("data", "validate"), ("data", "import", "overlay"), ("data", "import", "usgs-mcs")]
)
@pytest.mark.parametrize("what", ["folder", "fifo", "dev-zero", "missing"])
def test_every_path_argument_refuses_non_files(tmp_path: Path, cmd: tuple[str, ...], what: str) -> None:
    home = tmp_path / "home"
    run_main("data", "import", "usgs-mcs", str(FIXTURES / "reimport" / "mcs2024-nicke_world.csv"), home=home)
    before = _store_bytes(home)
    if what == "folder":
        target = tmp_path / "mcs2024-nicke_world.csv"
        target.mkdir()
    elif what == "fifo":
        target = tmp_path / "pipe.csv"
        os.mkfifo(target)
    elif what == "dev-zero":
        target = Path("/dev/zero")
    else:
        target = tmp_path / "nope.csv"
    runner = run_cli if what == "fifo" else run_main  # the others in-process (critmin.cli.main)
    proc = runner(*cmd, str(target), home=home, ok=False, timeout=60)
    _refused(proc, str(target))
    assert _store_bytes(home) == before


@pytest.mark.parametrize("damage", ["truncate", "garble"])
@pytest.mark.parametrize(
    "cmd",
    [("exposure", "--commodity", "nickel"), ("data", "imports"), ("data", "info"), ("data", "remove", "x")],
)
def test_a_damaged_store_is_one_line_with_the_recovery(
    tmp_path: Path, damage: str, cmd: tuple[str, ...]
) -> None:
    run_main(
        "data", "import", "usgs-mcs", str(FIXTURES / "reimport" / "mcs2024-nicke_world.csv"), home=tmp_path
    )
    store = tmp_path / "critmin.duckdb"
    data = bytearray(store.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 3]
    else:
        for i in range(12288, len(data) - 200, 4096):
            data[i + 100 : i + 200] = b"\xab" * 100
    store.write_bytes(bytes(data))
    runner = run_cli if cmd[0] == "exposure" else run_main  # the others in-process (critmin.cli.main)
    line = _refused(
        runner(*cmd, home=tmp_path, ok=False), str(store), "damaged", "move it aside", "imports.tsv"
    )
    assert "_duckdb" not in line
    assert store.read_bytes() == bytes(data)


def test_a_home_that_cannot_be_created_still_runs_reading_commands(tmp_path: Path) -> None:
    # Running as root, chmod cannot make a folder unwritable; a home below a regular file cannot
    # be created by anybody, which is what a read-only CRITMIN_HOME looks like to critmin.
    blocker = tmp_path / "file"
    blocker.write_text("x")
    home = blocker / "home"
    assert round(_mining_hhi(home)) == 2756
    assert json.loads(run_cli("data", "imports", "--format", "json", home=home).stdout)["rows"] == []
    proc = run_cli(
        "data",
        "import",
        "usgs-mcs",
        str(FIXTURES / "reimport" / "mcs2024-nicke_world.csv"),
        home=home,
        ok=False,
    )
    _refused(proc, "cannot create the store folder")


def test_user_text_prints_verbatim_and_csv_safe(tmp_path: Path) -> None:
    title = "=cmd|' /C calc'!A0 [/bold]Atlantis"
    note = "[link=https://evil.example]x[/link] +1"
    f = tmp_path / "[bold]ov=1.csv"
    f.write_text(
        HEADER + f'rare_earths,mining,production,AUS,2024,5,t,my-est,"{title}",https://ex.org/a,"{note}"\n',
        encoding="utf-8",
    )
    run_cli("data", "import", "overlay", str(f), home=tmp_path)
    table = run_cli("data", "imports", home=tmp_path).stdout
    assert "[bold]ov=1.csv" in table.replace("\n", "").replace("│", "").replace(" ", "") or "[bold]" in table
    as_csv = run_cli("data", "imports", "--format", "csv", home=tmp_path).stdout
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert rows[0]["path"].endswith("[bold]ov=1.csv")
    src_csv = run_cli("data", "sources", "--format", "csv", home=tmp_path).stdout
    mine = next(r for r in csv.DictReader(io.StringIO(src_csv)) if r["id"] == "my-est")
    assert mine["title"] == "'" + title  # neutralised: a spreadsheet shows the text, never runs it
    src_json = json.loads(run_cli("data", "sources", "--format", "json", home=tmp_path).stdout)
    assert any(
        s.get("title") == title for s in (src_json if isinstance(src_json, list) else src_json["rows"])
    )
    show = run_cli(
        "data", "show", "production", "--commodity", "rare_earths", "--stage", "mining", "--year", "2024",
        "--country", "AUS", "--format", "csv", home=tmp_path,
    ).stdout  # fmt: skip
    aus = next(csv.DictReader(io.StringIO(show)))
    assert aus["note"] == note
    assert not any(v.startswith(("=", "+", "-", "@")) for v in aus.values() if v)
    shown = run_cli(
        "data", "show", "production", "--commodity", "rare_earths", "--stage", "mining", "--year", "2024",
        "--country", "AUS", home=tmp_path,
    ).stdout  # fmt: skip
    assert "[link=https://evil.example]" in shown.replace("\n", "")
