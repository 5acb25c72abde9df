"""``critmin floor`` and ``critmin stockpile`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli import run_cli, run_main
from tests.hostile import assert_one_line


def test_floor_json_through_the_console_script(tmp_path: Path) -> None:
    out = tmp_path / "floor.json"
    proc = run_cli(
        "floor", "--product", "ndpr_oxide", "--floor", "110", "--volume-t", "1000", "--years", "10",
        "--paths", "500", "--seed", "3", "--format", "json", "--out", str(out), home=tmp_path,
    )  # fmt: skip
    doc = json.loads(proc.stdout)
    assert doc == json.loads(out.read_text())
    assert doc["spec"]["floor_usd_per_kg"] == 110
    assert doc["price_model"] == "fitted-ou"
    assert doc["seed"] == 3
    s = doc["npv_usd"]
    assert 0 <= s["p5"] <= s["p50"] <= s["p95"] <= s["cvar95"]
    # close to its closed form (Black-76 strip) within Monte Carlo error
    assert abs(s["mean"] - doc["analytic_expected_npv_usd"]["net"]) < 4 * s["se"]


def test_floor_example_table(tmp_path: Path) -> None:
    proc = run_main("floor", "--example", "dod-mp", "--paths", "300", home=tmp_path)
    assert "dod-mp: US$110/kg on 1,294 t/yr" in proc.stdout
    assert "CVaR95" in proc.stdout
    assert "Black-76" in proc.stdout
    csv = run_main("floor", "--example", "dod-mp", "--paths", "300", "--format", "csv", home=tmp_path)
    assert csv.stdout.splitlines()[0].startswith("leg,mean_musd")


def test_floor_upside_share_lowers_the_cost(tmp_path: Path) -> None:
    args = (
        "floor",
        "--floor",
        "110",
        "--volume-t",
        "1000",
        "--years",
        "10",
        "--paths",
        "400",
        "--format",
        "json",
    )
    plain = json.loads(run_main(*args, home=tmp_path).stdout)
    shared = json.loads(
        run_main(*args, "--upside-share", "0.3", "--upside-strike", "100", home=tmp_path).stdout
    )
    assert shared["npv_usd"]["mean"] < plain["npv_usd"]["mean"]
    assert shared["put_leg_usd"] == plain["put_leg_usd"]  # same seed, same prices


@pytest.mark.slow
def test_floor_on_scenario_paths(tmp_path: Path) -> None:
    proc = run_main(
        "floor", "--example", "dod-mp", "--scenario", "controls-reimposed-2026-11", "--paths", "8",
        "--format", "json", home=tmp_path,
    )  # fmt: skip
    doc = json.loads(proc.stdout)
    assert doc["price_model"] == "scenario"
    assert doc["model"]["scenario"] == "controls-reimposed-2026-11"
    assert doc["model"]["anchor_usd_per_kg"] == 55.0


@pytest.mark.parametrize(
    ("args", "column", "needle"),
    [
        (("--floor", "-5", "--volume-t", "1000", "--years", "10"), "floor", "out of range"),
        (("--floor", "110", "--volume-t", "1000", "--years", "0"), "years", "out of range"),
        (
            ("--floor", "110", "--volume-t", "1000", "--years", "10", "--product", "unobtainium"),
            "product",
            "unknown",
        ),
        (
            ("--floor", "110", "--volume-t", "1000", "--years", "10", "--start", "2025-13"),
            "start",
            "not a month",
        ),
        (
            ("--floor", "110", "--volume-t", "1000", "--years", "10", "--upside-share", "2"),
            "upside-share",
            "range",
        ),
        (("--volume-t", "1000", "--years", "10"), "--floor", "missing --floor"),
        (("--example", "nope"), "example", "unknown floor example"),
    ],
)
def test_floor_bad_input_one_line_exit_2(
    tmp_path: Path, args: tuple[str, ...], column: str, needle: str
) -> None:
    proc = run_main("floor", *args, home=tmp_path, ok=False)
    assert proc.returncode == 2
    assert_one_line(proc.stderr, "", column, needle)


def test_floor_unknown_scenario(tmp_path: Path) -> None:
    proc = run_cli(
        "floor", "--floor", "110", "--volume-t", "1000", "--years", "10", "--scenario", "no-such",
        home=tmp_path, ok=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert_one_line(proc.stderr, "", None, "unknown scenario 'no-such'")


def test_floor_bad_out_path(tmp_path: Path) -> None:
    proc = run_main("floor", "--example", "dod-mp", "--out", str(tmp_path / "x.csv"), home=tmp_path, ok=False)
    assert proc.returncode == 2
    assert ".json" in proc.stderr


@pytest.mark.parametrize(
    ("args", "column", "needle"),
    [
        (("--product", "unobtainium"), "product", "unknown product"),
        (("--region", "ATL"), "region", "unknown region 'ATL'"),
        (("--confidence", "1.5"), "confidence", "out of range"),
        (("--confidence", "0"), "confidence", "out of range"),
        (("--target-shortfall", "-3"), "target-shortfall", "out of range"),
        (("--metric", "mean"), "metric", "unknown metric"),
        (("--product", "dy_tb"), "product", "not sized yet"),
    ],
)
def test_stockpile_bad_input_one_line_exit_2(
    tmp_path: Path, args: tuple[str, ...], column: str, needle: str
) -> None:
    base = {
        "--scenario": "controls-reimposed-2026-11",
        "--region": "USA",
        "--product": "ndfeb_magnets",
        "--target-shortfall": "10",
        "--confidence": "0.9",
        "--paths": "2",
    }
    given = dict(zip(args[::2], args[1::2], strict=True))
    argv = [x for k, v in {**base, **given}.items() for x in (k, v)]
    proc = run_main("stockpile", *argv, home=tmp_path, ok=False)
    assert proc.returncode == 2
    assert_one_line(proc.stderr, "", column, needle)


def test_stockpile_unknown_scenario(tmp_path: Path) -> None:
    proc = run_cli(
        "stockpile", "--scenario", "no-such", "--region", "USA", "--target-shortfall", "10",
        "--confidence", "0.9", home=tmp_path, ok=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert_one_line(proc.stderr, "", None, "unknown scenario 'no-such'")


@pytest.mark.slow
def test_stockpile_end_to_end(tmp_path: Path) -> None:
    proc = run_cli(
        "stockpile", "--scenario", "controls-reimposed-2026-11", "--region", "USA", "--product", "magnets",
        "--target-shortfall", "10", "--confidence", "0.75", "--paths", "6", "--seed", "2",
        "--end", "2028-06", "--fill-months", "6", "--format", "json", home=tmp_path,
    )  # fmt: skip
    doc = json.loads(proc.stdout)
    assert doc["reached"]
    assert doc["probability_at_size"] >= 0.75
    fails = [t for t in doc["tried"] if t["size_t"] == doc["next_smaller_t"]]
    assert fails
    assert not fails[0]["passes"]
    assert len(doc["fill_schedule"]) == 6
    table = run_main(
        "stockpile", "--scenario", "controls-reimposed-2026-11", "--region", "USA",
        "--target-shortfall", "10", "--confidence", "0.75", "--paths", "6", "--seed", "2",
        "--end", "2028-06", "--fill-months", "6", home=tmp_path,
    )  # fmt: skip
    assert "smallest stockpile:" in table.stdout
    assert "monotone in size: yes" in table.stdout
