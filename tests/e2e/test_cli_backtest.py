"""``critmin backtest`` and ``critmin calibrate``: the real entry point, and the Typer functions.

The Typer functions are also tested through a small app of their own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from critmin.cli.backtest import backtest_cmd, calibrate_cmd
from critmin.errors import DataError
from tests.e2e.cli import run_cli as run
from tests.e2e.cli import run_main

SERIES = "month,value_t\n2025-01,6357\n2025-02/2025-03,8909\n2025-04,2628\n2025-05,1238\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def series(tmp_path: Path) -> Path:
    p = tmp_path / "series.csv"
    p.write_text(SERIES, "utf-8")
    return p


def _app() -> typer.Typer:
    small = typer.Typer()
    small.command("backtest")(backtest_cmd)
    small.command("calibrate")(calibrate_cmd)
    return small


# ----------------------------------------------------------------------------- entry point


def test_backtest_json(home: Path) -> None:
    doc = json.loads(run("backtest", "--format", "json", home=home).stdout)
    assert doc["scenario"] == "backtest-2025-04"
    assert doc["months"] == ["2025-01", "2026-06"]
    partners = {r["partner"] for r in doc["series"]}
    assert partners >= {"World", "USA", "EU27", "JPN", "KOR", "VNM"}
    assert "CHN" not in partners
    rows = {(r["partner"], r["month"]): r for r in doc["series"]}
    assert len(rows) == len(partners) * 18
    assert doc["chain"] == "rare_earths"
    assert rows[("World", "2025-05")]["observed_t"] == 1238
    assert rows[("World", "2026-06")]["observed_t"] is None
    assert rows[("World", "2026-06")]["modelled_t"] > 0
    assert set(doc["mape"]) == {"World", "USA", "overall"}
    assert doc["fit_until"] == "2025-05"
    assert doc["calibration"] is None


def test_calibrate_json(home: Path, series: Path) -> None:
    doc = json.loads(
        run("calibrate", "backtest-2025-04", "--observed", str(series), "--format", "json", home=home).stdout
    )
    assert doc["fit_until"] == "2025-05"
    names = [p["name"] for p in doc["parameters"]]
    assert names == ["licence.dead_time_months", "licence.mean_lag_months"]
    assert doc["mape"] <= doc["prior_mape"] + 1e-12
    assert len(doc["rows"]) == 4


def test_backtest_gallium_chain_json(home: Path) -> None:
    doc = json.loads(run_main("backtest", "--chain", "gallium", "--format", "json", home=home).stdout)
    assert doc["chain"] == "gallium"
    assert doc["scenario"] == "backtest-2023-08-gallium"
    rows = {(r["partner"], r["month"]): r for r in doc["series"]}
    assert rows[("World", "2023-10")]["observed_t"] == pytest.approx(
        0.25
    )  # 100 kg wrought + 150 kg unwrought
    assert rows[("World", "2023-11")]["observed_t"] == pytest.approx(1.53)
    assert rows[("World", "2023-08")]["observed_t"] == 0
    # every modelled month is gallium-sized (a few t), not magnet-sized (thousands of t)
    assert max(r["modelled_t"] for r in doc["series"] if r["partner"] == "World") < 50


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("backtest", "--scenario", "backtest-2023-08-gallium"), "--chain gallium"),
        (("backtest", "--chain", "gallium", "--scenario", "backtest-2025-04"), "--chain rare_earths"),
        (("backtest", "--chain", "tin"), "no observed export series for chain 'tin'"),
    ],
)
def test_backtest_refuses_a_scenario_of_another_chain(home: Path, args: tuple[str, ...], needle: str) -> None:
    proc = run_main(*args, home=home, ok=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert needle in lines[0]


def test_calibrate_refuses_a_series_of_another_chain(home: Path, tmp_path: Path) -> None:
    ga = tmp_path / "ga.csv"
    ga.write_text("month,value_t,product,unit\n2023-10,250,gallium,kg\n2023-11,1530,gallium,kg\n", "utf-8")
    proc = run_main("calibrate", "backtest-2025-04", "--observed", str(ga), home=home, ok=False)
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "ga.csv" in line
    assert "--chain gallium" in line
    # the same file fits the gallium chain (kg converted to t)
    doc = json.loads(
        run_main(
            "calibrate",
            "--chain",
            "gallium",
            "--observed",
            str(ga),
            "--param",
            "licence.approval_rate",
            "--format",
            "json",
            home=home,
        ).stdout
    )
    assert [r["observed_t"] for r in doc["rows"]] == pytest.approx([0.25, 1.53])


# ----------------------------------------------------------------------------- Typer functions


def test_typer_backtest_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    # a console of fixed width: the shared one may have fixed its width earlier in this process
    from rich.console import Console

    monkeypatch.setattr("critmin.cli.backtest.console", Console(markup=False, width=200))
    runner = CliRunner(env={"COLUMNS": "200"})
    res = runner.invoke(_app(), ["backtest", "--calibrated"])
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "2025-02..2025-03 total" in out
    assert "prior MAPE" in out
    assert "licence.dead_time_months" in out
    assert "forecast" in out
    assert "econotimes" in out.lower()
    res = runner.invoke(_app(), ["backtest", "--format", "csv", "--paths", "8"])
    assert res.exit_code == 0, res.output
    header = res.stdout.splitlines()[0]
    assert header.startswith("partner,month,observed_t,modelled_t,modelled_p5_t,modelled_p95_t")


def test_typer_calibrate_table(series: Path) -> None:
    res = CliRunner().invoke(_app(), ["calibrate", "backtest-2025-04", "--observed", str(series)])
    assert res.exit_code == 0, res.output
    assert "held at prior" in res.stdout
    assert "RMSE" in res.stdout


def test_typer_calibrate_bad_csv_raises_data_error(tmp_path: Path) -> None:
    # Through the real entry point, critmin.cli.main turns this into one line and exit code 2.
    bad = tmp_path / "bad.csv"
    bad.write_text("month,value_t\n2025-01,-1\n", "utf-8")
    res = CliRunner().invoke(_app(), ["calibrate", "backtest-2025-04", "--observed", str(bad)])
    assert isinstance(res.exception, DataError)
    assert f"{bad}:2: column 'value_t'" in str(res.exception)


def test_calibrate_joint_json(home: Path) -> None:
    doc = json.loads(run_main("calibrate", "--joint", "--format", "json", home=home).stdout)
    fitted = {p["name"]: p["fitted"] for p in doc["parameters"]}
    se = {p["name"]: p["std_error"] for p in doc["parameters"]}
    # chains.yaml's Ga/Ge/Sb medians are the joint fit: the dead time stays there; the lag is
    # barely identified (the objective is flat in it), so the fit stays within one s.e.
    assert fitted["licence.dead_time_months"] == pytest.approx(2.57, abs=0.1)
    assert abs(fitted["licence.mean_lag_months"] - 5.0) < min(0.1, se["licence.mean_lag_months"])
    assert doc["rmse_index"] <= doc["prior_rmse_index"] + 1e-9
    chains = {r["chain"] for r in doc["rows"]}
    assert chains == {"gallium", "germanium", "antimony", "rare_earths"}
    assert all(not r["fitted"] for r in doc["rows"] if r["period"] > "2025-05")


def test_calibrate_without_observed_or_joint_is_one_line(home: Path) -> None:
    proc = run_main("calibrate", home=home, ok=False)
    assert proc.returncode == 2
    assert "--observed is required" in proc.stderr
