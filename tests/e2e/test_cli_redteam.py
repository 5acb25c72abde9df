"""Red-team regressions: hostile inputs that still got through after issue 11, one test each.

Each input is refused with one line ``error: ... Fix: ...`` and exit code 2 (nothing written or
imported), or, where it is valid, handled without a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import run_cli, run_main

OVERLAY_HEAD = "commodity,stage,measure,country,year,value,unit,source_id,source_title,source_url\n"
SRC = ",analyst-2026,Our note,https://example.org/n\n"
HEAD = "name: t\ndescription: x\nstart: 2025-01\nend: 2025-06\n"
FIRMS = "firm_id,country,stage\nM1,AUS,mining\nS1,CHN,separation\nG,DEU,magnet\n"
EDGES = "supplier_id,customer_id,quantity\nM1,S1,10\nS1,G,4\n"


def _one_error(proc: object, *needles: str) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)  # type: ignore[attr-defined]
    err = proc.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Fix:" in lines[0], err
    for n in needles:
        assert n in lines[0], err
    return lines[0]


# --- a world total below a country's figure (shares of 675%, HHI 478,527 with exit 0) --------------


def test_overlay_world_total_below_the_bundled_countries_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text(OVERLAY_HEAD + "rare_earths,mining,production,World,2024,40,kt" + SRC, "utf-8")
    proc = run_main("data", "import", "overlay", str(f), home=tmp_path / "h", ok=False)
    _one_error(proc, f"{f}: column 'value'", "CHN would hold 675%", "world total of 40,000 t")
    assert not (tmp_path / "h" / "critmin.duckdb").exists()


def test_overlay_world_total_below_its_own_country_row_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    rows = [
        "rare_earths,mining,production,World,2024,1,kt",
        "rare_earths,mining,production,China,2024,300,kt",
    ]
    f.write_text(OVERLAY_HEAD + "".join(r + SRC for r in rows), "utf-8")
    proc = run_main("data", "import", "overlay", str(f), home=tmp_path / "h", ok=False)
    _one_error(proc, "CHN would hold 30000%")


def test_usgs_world_total_below_a_country_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "mcs2024-nicke_world.csv"
    t = '"Mine production - nickel, metric tons contained"'
    f.write_text(
        "Source,Country,Type,Prod_t_2022,Prod_t_est_2023,Reserves_t\n"
        f"MCS2024,Australia,{t},500,600,1\nMCS2024,World total (rounded),{t},5,6,1\n",
        "utf-8",
    )
    proc = run_main("data", "import", "usgs-mcs", str(f), home=tmp_path / "h", ok=False)
    _one_error(proc, "AUS would hold 10000%", "nickel mining production in 2022")
    assert not (tmp_path / "h" / "critmin.duckdb").exists()


def test_an_overlay_with_a_consistent_world_total_still_imports(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text(OVERLAY_HEAD + "rare_earths,mining,production,World,2024,500,kt" + SRC, "utf-8")
    run_main("data", "import", "overlay", str(f), home=tmp_path / "h")


# --- scenario YAML ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        ("parameters:\n  demand.growth_per_year: true\n", ("parameters.demand.growth_per_year", "yes/no")),
        (
            "parameters:\n  demand.growth_per_year: {dist: uniform, low: false, high: 0.1}\n",
            ("parameters.demand.growth_per_year.low", "yes/no"),
        ),
        (
            "events:\n  - {id: s1, date: 2025-03-01, kind: stockpile, region: USA, amount_t: true}\n",
            ("events.0.amount_t", "yes/no"),
        ),
        ("parameters:\n  capacity.ramp_months: 1:30\n", (":6:", "base-60")),
        (
            "events:\n  - {id: b1, date: 2025-03-01, kind: ban, destinations: []}\n",
            ("events.0.destinations", "empty list of destinations"),
        ),
    ],
    ids=["bool parameter", "bool distribution field", "bool event amount", "sexagesimal", "no destinations"],
)
def test_scenario_values_that_yaml_reads_silently_are_refused(
    tmp_path: Path, body: str, needles: tuple[str, ...]
) -> None:
    s = tmp_path / "s.yaml"
    s.write_text(HEAD + body, "utf-8")
    proc = run_main("simulate", str(s), "--paths", "2", home=tmp_path, ok=False)
    _one_error(proc, f"{s}:", *needles)


@pytest.mark.parametrize(
    ("start", "needle"),
    [
        ("20250115", "'20250115' is not a month YYYY-MM"),  # was a traceback (month '2025011')
        ("2025-W05", "'2025-W05' is not a month YYYY-MM"),
        ("0001-01", "year 1 is outside 1900-2100"),
    ],
)
def test_scenario_months_in_other_forms_or_years_are_refused(tmp_path: Path, start: str, needle: str) -> None:
    s = tmp_path / "s.yaml"
    s.write_text(f"name: t\ndescription: x\nstart: {start}\nend: 2026-06\n", "utf-8")
    _one_error(run_main("simulate", str(s), "--paths", "2", home=tmp_path, ok=False), needle)
    proc = run_main("simulate", "baseline", "--paths", "2", "--start", start, home=tmp_path, ok=False)
    _one_error(proc, needle)


@pytest.mark.parametrize("name", ["[/bold]x", "{task.x}", "{0}"])
def test_scenario_name_with_markup_or_braces_runs(tmp_path: Path, name: str) -> None:
    """The progress bar showed the name through markup and str.format (MarkupError, KeyError)."""
    s = tmp_path / "s.yaml"
    s.write_text(f"name: '{name}'\ndescription: x\nstart: 2025-01\nend: 2025-03\n", "utf-8")
    proc = run_cli("simulate", str(s), "--paths", "2", home=tmp_path, ok=False)
    assert proc.returncode == 0, proc.stderr
    assert f"{name}: 2025-01 to 2025-03" in proc.stdout


# --- outputs and options ---------------------------------------------------------------------------


def test_trace_firms_out_equal_to_an_input_is_refused(tmp_path: Path) -> None:
    firms, edges = tmp_path / "f.csv", tmp_path / "e.csv"
    firms.write_text(FIRMS, "utf-8")
    edges.write_text(EDGES, "utf-8")
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(edges)
    for out in (edges, tmp_path / "sub" / ".." / "link.csv"):
        proc = run_main(
            "trace", "firms", str(firms), str(edges), "--origin-stage", "mining", "--out", str(out),
            home=tmp_path, ok=False,
        )  # fmt: skip
        _one_error(proc, "is the input file", "would be overwritten")
    assert edges.read_text("utf-8") == EDGES


@pytest.mark.parametrize("seed", ["-1", "9" * 30])
def test_trace_synth_seed_out_of_range_is_refused(tmp_path: Path, seed: str) -> None:
    proc = run_main(
        "trace", "synth", "--firms", "20", "--seed", seed, "--out-dir", str(tmp_path / "o"),
        home=tmp_path, ok=False,
    )  # fmt: skip
    _one_error(proc, "seed must be a whole number from 0 to 2^63 - 1")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("criticality", "--year", "0"), "greater than or equal to 1900 (given '0')"),
        (("criticality", "--top", "-1"), "greater than or equal to 1 (given '-1')"),
        (
            ("screen", "tests/fixtures/bom/example.csv", "--as-of", "0001-01-01"),
            "--as-of '0001-01-01' is outside 1900-2100",
        ),
    ],
)
def test_absurd_option_values_are_refused(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    _one_error(run_main(*args, home=tmp_path, ok=False), needle)


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html;charset=utf-8", "file:///etc/passwd", "ftp.example"]
)
def test_overlay_source_url_must_be_a_web_address(tmp_path: Path, url: str) -> None:
    p = tmp_path / "ov.csv"
    p.write_text(
        "commodity,stage,measure,country,year,value,unit,source_id,source_title,source_url\n"
        f"rare_earths,mining,production,Burma,2024,40,kt,an-2026,Our note,{url}\n",
        encoding="utf-8",
    )
    _one_error(run_main("data", "import", "overlay", str(p), home=tmp_path, ok=False), "not a web address")
    assert run_main("data", "imports", "--format", "json", home=tmp_path).stdout.count("overlay") == 0
