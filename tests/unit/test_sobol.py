"""Sobol' indices: analytic models (linear, Ishigami), the design plumbing, held-out parameters,
seeds, one batched run against separate runs, the bundled scenario and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.simulate.analysis.sensitivity import assign, outcome, quantile, quantiles, uncertain_parameters
from critmin.simulate.analysis.sobol import (
    REASON_EXCLUDED,
    REASON_MEDIAN,
    SobolResult,
    SobolStatus,
    analysed_rows,
    indices_from_outputs,
    saltelli_design,
    sobol,
    sobol_indices,
)
from critmin.simulate.inputs.params import Beta, Normal, Triangular, Uniform, parameter_table, parse_value
from critmin.simulate.inputs.scenario import Scenario
from critmin.simulate.run import simulate
from tests.unit.helpers import small_scenario

F = np.ndarray[Any, np.dtype[np.float64]]

# One input of each distribution type, with the scipy distribution that has its variance.
LINEAR: dict[str, tuple[Any, Any]] = {
    "uniform": (Uniform(dist="uniform", low=0, high=2), stats.uniform(0, 2)),
    "triangular": (
        Triangular(dist="triangular", low=0, mode=0.5, high=3),
        stats.triang(1 / 6, loc=0, scale=3),
    ),
    "normal": (Normal(dist="normal", mean=1, sd=0.5), stats.norm(1, 0.5)),
    "lognormal": (parse_value({"dist": "lognormal", "median": 1, "sigma": 0.3}), stats.lognorm(s=0.3)),
    "beta": (Beta(dist="beta", a=2, b=5), stats.beta(2, 5)),
}
COEF = np.array([1.0, 0.8, 1.5, 2.0, 4.0])


# --------------------------------------------------------------------------- analytic models
def test_linear_model_matches_analytic_indices() -> None:
    """Y = sum c_i X_i: S1_i = ST_i = c_i^2 Var(X_i) / sum_j c_j^2 Var(X_j).

    The variances differ by distribution type, so a wrong inverse CDF in the mapping from the
    unit hypercube gives wrong indices.
    """
    values = {k: v for k, (v, _) in LINEAR.items()}
    var = COEF**2 * np.array([ref.var() for _, ref in LINEAR.values()])
    want = dict(zip(LINEAR, var / var.sum(), strict=True))
    f = sobol_indices(lambda x: x @ COEF, values, n=1024, seed=0).set_index("parameter")
    for name, s in want.items():
        assert f.loc[name, "S1"] == pytest.approx(s, abs=0.03), name
        assert f.loc[name, "ST"] == pytest.approx(s, abs=0.03), name
    assert f.attrs["model_runs"] == 1024 * (5 + 2)
    assert list(f["ST"]) == sorted(f["ST"], reverse=True)


def test_ishigami_matches_analytic_indices() -> None:
    """Ishigami & Homma (1990), a = 7, b = 0.1, X_i ~ U(-pi, pi): x3 acts only with x1."""
    a, b, pi = 7.0, 0.1, math.pi
    v = a**2 / 8 + b * pi**4 / 5 + b**2 * pi**8 / 18 + 0.5
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    s1 = {"x1": v1 / v, "x2": v2 / v, "x3": 0.0}
    st = {"x1": (v1 + v13) / v, "x2": v2 / v, "x3": v13 / v}

    def ishigami(x: F) -> F:
        return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])

    u = Uniform(dist="uniform", low=-pi, high=pi)
    f = sobol_indices(ishigami, {"x1": u, "x2": u, "x3": u}, n=1024, seed=1).set_index("parameter")
    for name in s1:
        assert f.loc[name, "S1"] == pytest.approx(s1[name], abs=0.05), name
        assert f.loc[name, "ST"] == pytest.approx(st[name], abs=0.05), name
    # x3 matters only through its interaction with x1.
    assert f.loc["x3", "ST"] > f.loc["x3", "S1"] + 0.15


# --------------------------------------------------------------------------- plumbing
def test_design_layout_and_mapping() -> None:
    """Per base point: A, then A with column i from B (for each i), then B; columns mapped."""
    vals = [v for v, _ in LINEAR.values()]
    n, d = 8, len(vals)
    unit, x = saltelli_design(vals, n, seed=5)
    assert unit.shape == x.shape == (n * (d + 2), d)
    blocks = unit.reshape(n, d + 2, d)
    a, bb = blocks[:, 0, :], blocks[:, -1, :]
    for i in range(d):
        ab = blocks[:, 1 + i, :]
        np.testing.assert_array_equal(ab[:, i], bb[:, i])
        np.testing.assert_array_equal(np.delete(ab, i, axis=1), np.delete(a, i, axis=1))
    for i, v in enumerate(vals):
        np.testing.assert_allclose(x[:, i], [quantile(v, float(q)) for q in unit[:, i]], rtol=1e-12)
    np.testing.assert_array_equal(analysed_rows(2, 3, [0, 2]), [0, 1, 3, 4, 5, 6, 8, 9])


def test_vectorised_quantiles_reject_bad_q() -> None:
    with pytest.raises(DataError, match="outside"):
        quantiles(Uniform(dist="uniform", low=0, high=1), [0.5, 1.5])


def test_dropping_a_no_effect_block_leaves_the_other_indices_unchanged() -> None:
    """A held-out input gets no index, and the others' estimates (and intervals) are unchanged.

    Unchanged up to SALib's centring of Y on the mean of all rows analysed (exact arithmetic
    would not care; the sample estimator shifts in the 5th digit).
    """
    vals = {k: v for k, (v, _) in LINEAR.items()}
    n, d = 64, len(vals)
    _, x = saltelli_design(list(vals.values()), n, seed=2)
    c = COEF.copy()
    c[2] = 0.0  # "normal" has no effect: its A_B block equals A
    y = x @ c
    names = list(vals)
    full, _ = indices_from_outputs(y, names, n, seed=9)
    keep = [0, 1, 3, 4]
    part, status = indices_from_outputs(y[analysed_rows(n, d, keep)], [names[j] for j in keep], n, seed=9)
    assert status is SobolStatus.OK
    assert "normal" not in set(part["parameter"])
    a = full.set_index("parameter").drop(index="normal").sort_index()
    b = part.set_index("parameter").sort_index()
    pd.testing.assert_frame_equal(a, b, rtol=1e-3, atol=1e-4)
    assert full.set_index("parameter").loc["normal", "ST"] == 0.0


def test_constant_outcome_and_bad_input() -> None:
    f, status = indices_from_outputs(np.full(4 * 8, 3.0), ["a", "b"], 8)
    assert status is SobolStatus.CONSTANT_OUTCOME
    assert (f[["S1", "ST", "S1_conf", "ST_conf"]] == 0.0).all().all()
    with pytest.raises(DataError, match="need n"):
        indices_from_outputs(np.zeros(10), ["a", "b"], 8)
    with pytest.raises(DataError, match="not finite"):
        indices_from_outputs(np.array([np.nan] * 32), ["a", "b"], 8)
    with pytest.raises(DataError, match="power of two"):
        saltelli_design([Uniform(dist="uniform", low=0, high=1)], 100)


@pytest.mark.parametrize("seed", [0, 3])
def test_equal_seeds_give_equal_indices(seed: int) -> None:
    """Including seed 0, which SALib's bootstrap would take as 'unseeded'."""
    u = Uniform(dist="uniform", low=0, high=1)

    def model(x: F) -> F:
        return x[:, 0] + x[:, 1] ** 2 + x[:, 0] * x[:, 1]

    one = sobol_indices(model, {"a": u, "b": u}, n=64, seed=seed)
    two = sobol_indices(model, {"a": u, "b": u}, n=64, seed=seed)
    other = sobol_indices(model, {"a": u, "b": u}, n=64, seed=seed + 1)
    pd.testing.assert_frame_equal(one, two)
    assert not np.allclose(one["S1"], other["S1"])


# --------------------------------------------------------------------------- scenarios
#: Uncertain in the small scenario: one parameter the engine samples per path, one it holds at
#: the median for all paths (network), one with no effect on tonnes short, and an event's rate.
VARIED = (
    "demand.growth_per_year",
    "trade.us_share_of_china_magnet_exports",
    "value.output_usd_per_kg_magnet",
)
APPROVAL = "event:approvals-tighten.approval_rate"


def _small() -> Scenario:
    return small_scenario("small-sobol", VARIED)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset.bundled()


@pytest.fixture(scope="module")
def small_result(ds: Dataset) -> SobolResult:
    return sobol(_small(), n=32, seed=4, dataset=ds)


def test_network_parameter_is_fixed_not_indexed(small_result: SobolResult) -> None:
    r = small_result
    assert set(r.indices["parameter"]) == {
        "demand.growth_per_year",
        "value.output_usd_per_kg_magnet",
        APPROVAL,
    }
    assert list(r.fixed["parameter"]) == ["trade.us_share_of_china_magnet_exports"]
    assert list(r.fixed["reason"]) == [REASON_MEDIAN]
    assert r.fixed["value"].iloc[0] == pytest.approx(
        parameter_table()["trade.us_share_of_china_magnet_exports"].default.median()  # type: ignore[union-attr]
    )
    assert r.model_runs == 32 * (4 + 2)  # the fixed parameter's block is run, then dropped
    assert len(r.design) == 32 * (3 + 2)
    rows = r.indices.set_index("parameter")
    # The value of output per kg does not change tonnes short: exactly zero.
    assert rows.loc["value.output_usd_per_kg_magnet", "S1"] == 0.0
    assert rows.loc["value.output_usd_per_kg_magnet", "ST"] == 0.0
    assert rows.loc[APPROVAL, "ST"] > 0.2
    assert r.status is SobolStatus.OK
    assert np.isfinite(r.indices[["S1", "S1_conf", "ST", "ST_conf"]].to_numpy()).all()


def test_caller_can_hold_a_parameter_out(ds: Dataset, small_result: SobolResult) -> None:
    r = sobol(_small(), n=32, seed=4, dataset=ds, exclude=["demand.growth_per_year"])
    assert "demand.growth_per_year" not in set(r.indices["parameter"])
    fixed = r.fixed.set_index("parameter")
    assert fixed.loc["demand.growth_per_year", "reason"] == REASON_EXCLUDED
    assert r.model_runs == 32 * (3 + 2)
    with pytest.raises(DataError, match="cannot exclude 'nope'"):
        sobol(_small(), n=32, dataset=ds, exclude=["nope"])


def test_equal_seeds_give_equal_scenario_results(ds: Dataset, small_result: SobolResult) -> None:
    again = sobol(_small(), n=32, seed=4, dataset=ds)
    pd.testing.assert_frame_equal(again.indices, small_result.indices)
    pd.testing.assert_frame_equal(again.design, small_result.design)
    other = sobol(_small(), n=32, seed=5, dataset=ds)
    assert not np.allclose(other.design["outcome"], small_result.design["outcome"])


def test_batched_rows_equal_separate_runs(ds: Dataset, small_result: SobolResult) -> None:
    """Row r of the one batched simulate() call = a separate run with row r's values."""
    sc = _small()
    specs = uncertain_parameters(sc)
    design = small_result.design
    for r in (1, 2, len(design) - 1):
        row = design.iloc[r]
        vals = [float(row[s.name]) if s.name in design.columns else s.value.median() for s in specs]
        res = simulate(assign(sc, specs, vals), paths=1, dataset=ds)
        want = float(outcome(res, "cumulative_shortfall_t", "exCHN")[0])
        assert row["outcome"] == pytest.approx(want, rel=1e-9), r


def test_bundled_scenario_ranks_the_approval_rate_first(ds: Dataset) -> None:
    """The ranking, by variance: the post-November-2026 approval rate first. Below it the
    ranking is noise: the regime chain's monthly draws differ between design points, which
    raises every ST (parameters the outcome does not read reach ST 0.7; a known defect until
    the chain's draws are shared across design points, issue 12 note).

    (N = 128: at N = 32 the first-order estimates of this scenario still swing by a factor of 2.)
    """
    r = sobol("controls-reimposed-2026-11", n=128, seed=0, dataset=ds)
    f = r.indices
    assert np.isfinite(f[["S1", "S1_conf", "ST", "ST_conf"]].to_numpy()).all()
    assert (f["ST"] >= f["S1"] - 2 * (f["S1_conf"] + f["ST_conf"])).all()
    assert f["parameter"].iloc[0] == "event:approvals-tighten-2026-11.approval_rate"
    assert f["S1"].idxmax() == 0
    assert 0.5 < f["ST"].iloc[0] < 1.5
    assert "trade.us_share_of_china_magnet_exports" in set(r.fixed["parameter"])
    assert r.model_runs == 128 * (len(f) + len(r.fixed) + 2)
    assert r.data_version == ds.version


# --------------------------------------------------------------------------- CLI and chart
def test_cli_sobol_json_and_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from critmin.cli import app
    from critmin.report import export

    monkeypatch.setattr(export, "png_export_problem", lambda: "no PNG in this test (slow)")

    sc = _small()
    path = tmp_path / "small.yaml"
    path.write_text(sc.model_dump_json(exclude_defaults=True), encoding="utf-8")  # JSON is YAML
    plot = tmp_path / "sobol.html"
    args = ["sensitivity", str(path), "--method", "sobol", "--n", "16", "--seed", "2", "--format", "json"]
    res = CliRunner().invoke(app, [*args, "--plot", str(plot)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["method"] == "sobol"
    assert out["n"] == 16
    assert out["model_runs"] == 16 * 6
    assert {r["parameter"] for r in out["rows"]} == {
        "demand.growth_per_year",
        "value.output_usd_per_kg_magnet",
        APPROVAL,
    }
    assert [f["parameter"] for f in out["fixed"]] == ["trade.us_share_of_china_magnet_exports"]
    html = plot.read_text("utf-8")
    assert "Sobol" in html
    assert "trade.us_share_of_china_magnet_exports" in html

    bad = CliRunner().invoke(app, ["sensitivity", str(path), "--method", "sobol", "--n", "100"])
    assert bad.exit_code == 2
    assert "power of two" in bad.output


def test_sobol_chart_bars(small_result: SobolResult) -> None:
    from critmin.report.fan import sobol_chart

    fig = sobol_chart(small_result, top=2)
    s1, st = fig.data
    assert s1.name.startswith("first order")
    # Largest ST at the top: plotly draws the first category at the bottom.
    assert list(st.y) == list(small_result.indices["parameter"][:2])[::-1]
    np.testing.assert_allclose(st.x, small_result.indices["ST"][:2][::-1])
    np.testing.assert_allclose(st.error_x.array, small_result.indices["ST_conf"][:2][::-1])
    assert fig.layout.meta["critmin_figure"] == "sobol"
