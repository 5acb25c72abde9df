"""Observed exports (bundled copy, sources), MAPE and the backtest against the observed series."""

from __future__ import annotations

import csv
import json
import math
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from critmin.data.catalogue import web_source_id
from critmin.data.dataset import Dataset
from critmin.data.observed import (
    OBSERVED_CSV,
    Basis,
    baseline_reference,
    first_url,
    magnet_observations,
    observed_exports,
    observed_sources,
)
from critmin.errors import DataError
from critmin.simulate import load_scenario, simulate
from critmin.simulate.analysis.backtest import BacktestResult, backtest
from critmin.simulate.analysis.calibrate import ExportModel, mape
from critmin.simulate.inputs.params import parameter_table

SHARED_CSV = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "observed"
    / "china_exports_to_2025-05.csv"
)


def _bundled_rows() -> list[dict[str, str]]:
    with resources.files("critmin.data").joinpath(OBSERVED_CSV).open("r", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def model() -> ExportModel:
    return ExportModel("backtest-2025-04", Dataset.bundled())


@pytest.fixture(scope="module")
def prior() -> BacktestResult:
    return backtest(dataset=Dataset.bundled())


# ----------------------------------------------------------------------------- observed data


def test_bundled_rows_equal_the_shared_file() -> None:
    if not SHARED_CSV.exists():
        pytest.skip("../shared/data/observed is not present")
    with SHARED_CSV.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        shared = list(reader)
        cols = list(reader.fieldnames or [])
    bundled = _bundled_rows()
    assert {"month", "product", "partner", "value", "unit", "period_type", "qualifier"} <= set(cols)
    assert {"source_url", "source_publisher", "notes"} <= set(cols)
    assert [{c: r[c] for c in cols} for r in bundled[: len(shared)]] == shared
    # rows added after the shared file are marked; later-than-May-2025 ones judge forecasts only
    for r in bundled[len(shared) :]:
        assert r["notes"].startswith("added (calib, issue 12)")
        assert ("forecast-judging" in r["notes"]) == (r["month"] > "2025-05")


def test_every_source_id_is_the_catalogue_id_and_resolves() -> None:
    sources = observed_sources()
    for row in _bundled_rows():
        url = first_url(row["source_url"])
        assert row["source_id"] == web_source_id(row["source_publisher"], url)
        src = sources[row["source_id"]]
        assert src.kind == "web"
        assert src.url == url
        assert src.publisher == row["source_publisher"]
        assert src.licence == "Facts cited from a public web page (no text reproduced)"
    assert set(sources) == {r["source_id"] for r in _bundled_rows()}


def test_parameter_source_for_2024_exports_resolves_here() -> None:
    # volume.china_magnet_exports_t_per_year cites the Adamas 2024 page, which is not in the
    # bundled dataset's catalogue; the observed rows carry it.
    spec = parameter_table()["volume.china_magnet_exports_t_per_year"]
    assert spec.source in observed_sources()
    t = observed_exports()
    row = t.loc[t["source_id"] == spec.source]
    assert float(row["value"].iloc[0]) == spec.default == 58152


def test_first_url() -> None:
    assert first_url(" https://a.example/x ; https://b.example/y") == "https://a.example/x"
    assert first_url("https://a.example/x") == "https://a.example/x"


def test_magnet_observations_reported_and_derived() -> None:
    obs = {(o.partner, o.period): o for o in magnet_observations("2025-01", "2025-05")}
    assert set(obs) == {
        ("World", "2025-01"),
        ("World", "2025-02/2025-03"),
        ("World", "2025-04"),
        ("World", "2025-05"),
        ("USA", "2025-05"),
    }
    assert obs[("World", "2025-01")].observed_t == 6357
    assert obs[("World", "2025-01")].basis is Basis.REPORTED
    assert obs[("World", "2025-05")].observed_t == 1238
    assert obs[("USA", "2025-05")].observed_t == 46
    april = obs[("World", "2025-04")]
    assert april.basis is Basis.DERIVED
    assert april.observed_t == round(1238 / (1 - 0.529)) == 2628
    assert "m/m" in april.rationale
    feb_mar = obs[("World", "2025-02/2025-03")]
    assert feb_mar.basis is Basis.DERIVED
    assert feb_mar.months == ("2025-02", "2025-03")
    assert feb_mar.observed_t == 19132 - 6357 - 2628 - 1238
    assert "year-to-date" in feb_mar.rationale
    assert set(feb_mar.source_ids) >= set(obs[("World", "2025-01")].source_ids)


def test_observations_stay_in_the_window() -> None:
    assert all(o.first >= "2025-01" for o in magnet_observations())
    assert magnet_observations("2026-01", "2026-06") == ()


def test_forecast_judging_magnet_months_after_may_2025() -> None:
    # Reuters / China customs, added as forecast-judging rows (never fitted)
    obs = {(o.partner, o.period): o.observed_t for o in magnet_observations("2025-06", "2026-06")}
    assert obs[("World", "2025-06")] == 3188
    assert obs[("World", "2025-07")] == 5577
    assert obs[("World", "2025-08")] == 6146
    assert obs[("USA", "2025-06")] == 353
    # Oct 2025 USA 656 t at +56.1% m/m derives September's US figure
    assert obs[("USA", "2025-09")] == round(656 / 1.561)


def test_baseline_reference() -> None:
    ref = baseline_reference().set_index("label")
    assert ref.loc["2024 annual", "t_per_month"] == pytest.approx(58152 / 12)
    mean = ref.loc["mean of printed 2024 months"]
    assert mean["n_months"] == 4
    assert mean["t_per_month"] == pytest.approx((3326 + 5278 + 4915 + 4725) / 4)
    assert ref.loc["2024 year-to-date", "t_per_month"] == pytest.approx(32812 / 7)


# ----------------------------------------------------------------------------- MAPE


def test_mape_by_hand() -> None:
    # |110-100|/100 = 0.10, |45-50|/50 = 0.10, |300-200|/200 = 0.50 -> mean 0.2333...
    assert mape([110, 45, 300], [100, 50, 200]) == pytest.approx((0.1 + 0.1 + 0.5) / 3)
    # zero observations are left out; nothing left -> NaN
    assert mape([5, 110], [0, 100]) == pytest.approx(0.1)
    assert math.isnan(mape([1.0], [0.0]))


# ----------------------------------------------------------------------------- model


def test_export_model_equals_simulate(model: ExportModel) -> None:
    ds = Dataset.bundled()
    sc = load_scenario("backtest-2025-04")
    one = simulate(sc, paths=1, dataset=ds, keep_trace=True)
    assert one.trace is not None
    np.testing.assert_array_equal(model.exports(), one.trace.exports_chn)
    some = simulate(sc, paths=4, seed=7, dataset=ds, keep_trace=True)
    assert some.trace is not None
    np.testing.assert_array_equal(model.exports(paths=4, seed=7), some.trace.exports_chn)


def test_world_excludes_what_stays_in_china(model: ExportModel) -> None:
    ex = model.exports()
    c = model.regions.index("CHN")
    world = model.partner_series(ex, "World")
    np.testing.assert_allclose(world, ex.sum(axis=2) - ex[:, :, c])
    usa = model.partner_series(ex, "USA")
    assert (usa < world).all()


# ----------------------------------------------------------------------------- backtest


def test_backtest_json_schema(prior: BacktestResult) -> None:
    doc = json.loads(json.dumps(prior.to_dict()))
    assert doc["scenario"] == "backtest-2025-04"
    assert doc["months"] == ["2025-01", "2026-06"]
    series = doc["series"]
    # World and every destination region of the scenario (all but CHN)
    destinations = [r for r in prior.scenario.regions if r != "CHN"]
    assert len(series) == (1 + len(destinations)) * 18
    assert {r["partner"] for r in series} == {"World", *destinations} >= {"EU27", "JPN", "KOR", "VNM", "USA"}
    for row in series:
        assert re.fullmatch(r"\d{4}-\d{2}", row["month"])
        assert row["observed_t"] is None or row["observed_t"] >= 0
        assert isinstance(row["modelled_t"], float)
        assert row["modelled_t"] >= 0
        assert row["fitted"] is (row["month"] <= "2025-05")
    by = {(r["partner"], r["month"]): r for r in series}
    assert by[("World", "2025-04")]["observed_t"] == 2628
    assert by[("World", "2025-04")]["basis"] == "derived"
    assert by[("World", "2025-02")]["observed_t"] is None  # only the Feb+Mar total is known
    assert by[("USA", "2025-05")]["observed_t"] == 46
    assert set(doc["mape"]) == {"World", "USA", "overall"}
    assert all(isinstance(v, float) for v in doc["mape"].values())
    agg = [o for o in doc["observations"] if o["period"] == "2025-02/2025-03"]
    assert agg[0]["modelled_t"] == pytest.approx(
        by[("World", "2025-02")]["modelled_t"] + by[("World", "2025-03")]["modelled_t"]
    )
    assert {s["id"] for s in doc["sources"]} == {s for o in doc["observations"] for s in o["source_ids"]}
    assert doc["calibration"] is None
    assert doc["prior_mape"] is None


def test_backtest_mape_by_hand(prior: BacktestResult) -> None:
    o = prior.observations.loc[prior.observations["fitted"]]
    ape = (o["modelled_t"] - o["observed_t"]).abs() / o["observed_t"]
    world = o["partner"] == "World"
    assert prior.mape["World"] == pytest.approx(ape[world].mean())
    assert prior.mape["USA"] == pytest.approx(ape[~world].mean())
    assert prior.mape["overall"] == pytest.approx(ape.mean())
    assert len(o) == 5


def test_baseline_check(prior: BacktestResult) -> None:
    # The model's pre-control export flow is set from the 2024 annual total (58,152 t).
    assert prior.baseline.model_t_per_month == pytest.approx(58152 / 12, rel=1e-9)
    ratios = prior.baseline.references.set_index("label")["model_ratio"]
    assert ratios["mean of printed 2024 months"] == pytest.approx(4846 / 4561, rel=1e-3)


def test_backtest_calibrated_reports_prior_and_fit() -> None:
    r = backtest(calibrated=True, dataset=Dataset.bundled())
    assert r.calibration is not None
    assert r.prior_mape is not None
    assert r.mape["World"] <= r.prior_mape["World"] + 1e-12
    assert r.parameters["licence.mean_lag_months"] == r.calibration.fitted["licence.mean_lag_months"]
    assert r.prior_parameters is not None
    assert r.prior_parameters["licence.dead_time_months"] == pytest.approx(r.calibration.x0[0])
    doc = json.loads(json.dumps(r.to_dict()))
    assert doc["calibration"]["parameters"][0]["name"] == "licence.dead_time_months"
    assert all("prior_t" in row for row in doc["series"])
    # the fit only sees months up to 2025-05
    assert set(r.calibration.table["month"]) <= {"2025-01", "2025-02/2025-03", "2025-04", "2025-05"}


def test_backtest_paths_give_bands() -> None:
    r = backtest(paths=16, seed=1, dataset=Dataset.bundled())
    s = r.series
    assert (s["modelled_p5_t"] <= s["modelled_t"] + 1e-9).all()
    assert (s["modelled_t"] <= s["modelled_p95_t"] + 1e-9).all()
    assert r.to_dict()["paths"] == 16


def test_backtest_without_usa_region_and_bad_arguments() -> None:
    sc = load_scenario("backtest-2025-04")
    no_usa = sc.model_validate({**sc.model_dump(), "regions": ("CHN", "EU27", "JPN", "ROW")})
    r = backtest(no_usa, dataset=Dataset.bundled())
    assert set(r.series["partner"]) == {"World", "EU27", "JPN", "ROW"}
    assert set(r.mape) == {"World", "overall"}  # no partner but World is observed
    assert len(r.observations.loc[r.observations["fitted"]]) == 4
    assert set(r.observations["partner"]) == {"World"}
    with pytest.raises(DataError, match="paths"):
        backtest(paths=0)
    with pytest.raises(DataError, match="not a month"):
        backtest(fit_until="May 2025")


# ----------------------------------------------------------------------------- other chains


@pytest.fixture(scope="module")
def gallium() -> BacktestResult:
    return backtest(chain="gallium", dataset=Dataset.bundled())


def test_gallium_2023_replay_meets_the_acceptance(gallium: BacktestResult) -> None:
    """Issue 12: Aug-Nov 2023 within 3x of the observed 1.8 t, 2024 within 25% of 69.4 t,
    and nothing delivered to the US after the 3 Dec 2024 ban."""
    s = gallium.series
    world = s.loc[s["partner"] == "World"].set_index("month")["modelled_t"]
    us = s.loc[s["partner"] == "USA"].set_index("month")["modelled_t"]
    aug_nov = world.loc["2023-08":"2023-11"].sum()
    observed = 0 + 0 + 0.25 + 1.53
    assert observed / 3 <= aug_nov <= 3 * observed
    assert world.loc["2024-01":"2024-12"].sum() == pytest.approx(69.44, rel=0.25)
    assert us.loc["2024-12":].max() <= 1e-9
    assert us.loc["2024-11"] > 0  # shipped to the US until the ban
    # the pre-control level against Jan-Jul 2023 customs (35.95 t wrought + unwrought)
    assert world.loc["2023-01":"2023-07"].sum() == pytest.approx(35.95, rel=0.10)


def test_gallium_json_has_a_partner_row_per_destination(gallium: BacktestResult) -> None:
    doc = json.loads(json.dumps(gallium.to_dict()))
    assert doc["chain"] == "gallium"
    assert "wrought + unwrought" in doc["observed_series"]
    partners = {r["partner"] for r in doc["series"]}
    assert partners == {"World", *(r for r in gallium.scenario.regions if r != "CHN")}
    by = {(r["partner"], r["month"]): r["modelled_t"] for r in doc["series"]}
    for month in ("2023-01", "2024-06"):
        total = sum(v for (p, m), v in by.items() if m == month and p != "World")
        assert by[("World", month)] == pytest.approx(total)


@pytest.mark.parametrize("chain", ["germanium", "antimony"])
def test_other_chains_backtest(chain: str) -> None:
    r = backtest(chain=chain, dataset=Dataset.bundled())
    assert r.chain == chain
    assert not r.observations.empty
    assert math.isfinite(r.mape["World"])
    assert r.baseline.model_t_per_month > 0


def test_magnet_forecast_rows_are_judged_apart(prior: BacktestResult) -> None:
    assert set(prior.forecast_mape) >= {"World", "USA"}
    fc = prior.observations.loc[~prior.observations["fitted"]]
    assert set(fc["period"]) >= {"2025-06", "2025-07", "2025-08"}
    ape = (fc["modelled_t"] - fc["observed_t"]).abs() / fc["observed_t"]
    assert prior.forecast_mape["World"] == pytest.approx(ape[fc["partner"] == "World"].mean())
