"""Sensitivity: quantiles against scipy, the tornado on a small scenario, the documented parameter table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from typer.testing import CliRunner

from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.simulate import SimulationResult, simulate
from critmin.simulate.analysis.sensitivity import (
    PARAMETER_TABLE_END,
    PARAMETER_TABLE_START,
    parameter_table_markdown,
    quantile,
    replace_parameter_table,
    tornado,
    uncertain_parameters,
)
from critmin.simulate.inputs.params import Beta, Normal, Triangular, Uniform, parameter_table, parse_value
from critmin.simulate.inputs.scenario import Scenario
from tests.unit.helpers import small_scenario

MODEL_DOC = Path(__file__).resolve().parents[2] / "docs" / "model.md"
QS = [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0]

# The five distribution types and the scipy distribution each should match.
CASES: list[tuple[Any, Any]] = [
    (Uniform(dist="uniform", low=12, high=48), stats.uniform(loc=12, scale=36)),
    (Triangular(dist="triangular", low=0.04, mode=0.07, high=0.10), stats.triang(0.5, loc=0.04, scale=0.06)),
    (Triangular(dist="triangular", low=1.0, mode=1.5, high=3.0), stats.triang(0.25, loc=1.0, scale=2.0)),
    (Triangular(dist="triangular", low=0.0, mode=0.0, high=2.0), stats.triang(0.0, loc=0.0, scale=2.0)),
    (Triangular(dist="triangular", low=0.0, mode=2.0, high=2.0), stats.triang(1.0, loc=0.0, scale=2.0)),
    (Normal(dist="normal", mean=3.0, sd=0.5), stats.norm(3.0, 0.5)),
    (parse_value({"dist": "lognormal", "median": 12, "sigma": 0.6}), stats.lognorm(s=0.6, scale=12)),
    (Beta(dist="beta", a=6, b=4), stats.beta(6, 4)),
    (Beta(dist="beta", a=0.5, b=0.5), stats.beta(0.5, 0.5)),
]


@pytest.mark.parametrize(("value", "ref"), CASES, ids=lambda v: getattr(v, "dist", ""))
def test_quantile_matches_scipy_ppf(value: Any, ref: Any) -> None:
    for q in QS:
        want = float(ref.ppf(q))
        got = quantile(value, q)
        if np.isinf(want):
            assert got == want
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (value, q)
    # The median is the 0.5-quantile, as paths=1 uses it.
    assert quantile(value, 0.5) == pytest.approx(value.median(), rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    low=st.floats(-100, 100),
    width=st.floats(0.01, 100),
    c=st.floats(0, 1),
    q=st.floats(0, 1),
)
def test_triangular_quantile_property(low: float, width: float, c: float, q: float) -> None:
    tri = Triangular(dist="triangular", low=low, mode=low + c * width, high=low + width)
    got = quantile(tri, q)
    assert low - 1e-9 <= got <= low + width + 1e-9
    assert got == pytest.approx(float(stats.triang(c, loc=low, scale=width).ppf(q)), abs=1e-7 * width)


def test_quantile_of_a_number_and_bad_q() -> None:
    assert quantile(0.25, 0.05) == 0.25
    with pytest.raises(DataError, match="outside"):
        quantile(Uniform(dist="uniform", low=0, high=1), 1.5)


def test_quantile_draws_agree_with_samplers() -> None:
    """The quantile function describes what the engine samples (empirical percentiles)."""
    rng = np.random.default_rng(1)
    for value, _ in CASES:
        draws = value.sample(rng, 200_000)
        for q in (0.05, 0.5, 0.95):
            spread = quantile(value, 0.99) - quantile(value, 0.01)
            assert np.quantile(draws, q) == pytest.approx(quantile(value, q), abs=0.01 * spread)


# --------------------------------------------------------------------------- tornado
#: All parameter-table distributions pinned to their medians except a few, so the tornado is
#: small: one the engine samples per path, one it holds at the median for all paths (network),
#: one with no effect on shortfall, and one on a scenario event.
VARIED = (
    "demand.growth_per_year",
    "trade.us_share_of_china_magnet_exports",
    "value.output_usd_per_kg_magnet",
)


def _small(varied: tuple[str, ...] = VARIED) -> Scenario:
    return small_scenario("small-tornado", varied)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset.bundled()


@pytest.fixture(scope="module")
def small() -> Scenario:
    return _small()


@pytest.fixture(scope="module")
def batch(small: Scenario, ds: Dataset) -> pd.DataFrame:
    return tornado(small, dataset=ds)


@pytest.fixture(scope="module")
def median_run(small: Scenario, ds: Dataset) -> SimulationResult:
    return simulate(small, paths=1, dataset=ds)


def test_tornado_lists_every_uncertain_parameter(batch: pd.DataFrame, small: Scenario) -> None:
    names = {p.name for p in uncertain_parameters(small)}
    assert names == {*VARIED, "event:approvals-tighten.approval_rate"}
    assert set(batch["parameter"]) == names
    assert len(batch) == len(names)


def test_tornado_rows_are_consistent(batch: pd.DataFrame) -> None:
    assert (batch["value_low"] <= batch["value_median"]).all()
    assert (batch["value_median"] <= batch["value_high"]).all()
    assert (batch["swing"] >= 0).all()
    np.testing.assert_allclose(batch["swing"], (batch["outcome_high"] - batch["outcome_low"]).abs())
    assert list(batch["swing"]) == sorted(batch["swing"], reverse=True)
    assert batch[["outcome_low", "outcome_high", "outcome_base"]].notna().all().all()
    rows = batch.set_index("parameter")
    # More licences approved -> less shortfall; faster demand growth -> more.
    assert (
        rows.loc["event:approvals-tighten.approval_rate", "outcome_high"]
        < rows.loc["event:approvals-tighten.approval_rate", "outcome_low"]
    )
    assert (
        rows.loc["demand.growth_per_year", "outcome_high"] > rows.loc["demand.growth_per_year", "outcome_low"]
    )
    # The value of output per kg does not change tonnes short.
    assert rows.loc["value.output_usd_per_kg_magnet", "swing"] == 0.0
    # The US share is applied when the network is built (one value for all paths): rerun apart.
    assert rows.loc["trade.us_share_of_china_magnet_exports", "swing"] > 0.0
    assert batch.attrs["metric"] == "cumulative_shortfall_t"
    assert batch.attrs["region"] == "exCHN"


def test_tornado_base_is_the_median_run(batch: pd.DataFrame, median_run: SimulationResult) -> None:
    s = median_run.summary
    row = (
        (s["region"] == "exCHN")
        & (s["metric"] == "cumulative_shortfall_t")
        & (s["product"] == "ndfeb_magnets")
    )
    want = s.loc[row, "p50"].item()
    assert batch.attrs["outcome_base"] == pytest.approx(want, rel=1e-12)
    assert (batch["outcome_base"] == batch.attrs["outcome_base"]).all()


def test_batched_equals_separate_runs(ds: Dataset) -> None:
    """One vectorised run with per-path designs gives what separate simulate() calls give.

    (Network-level parameters are rerun separately in both methods, so one table parameter and
    one event parameter are enough here.)
    """
    sc = _small(varied=("demand.growth_per_year",))
    batch = tornado(sc, dataset=ds)
    serial = tornado(sc, dataset=ds, method="serial")
    assert len(batch) == 2
    a = batch.set_index("parameter").sort_index()
    b = serial.set_index("parameter").sort_index()
    cols = ["value_low", "value_high", "outcome_low", "outcome_high", "swing"]
    np.testing.assert_allclose(a[cols].to_numpy(), b[cols].to_numpy(), rtol=1e-9, atol=1e-6)
    assert a.attrs["outcome_base"] == pytest.approx(b.attrs["outcome_base"], rel=1e-12)


def test_tornado_with_paths_uses_common_random_numbers(small: Scenario, ds: Dataset) -> None:
    t = tornado(small, "peak_shortfall_pct", "exCHN", paths=3, seed=7, dataset=ds)
    rows = t.set_index("parameter")
    # Same draws in every case: a parameter with no effect has exactly zero swing.
    assert rows.loc["value.output_usd_per_kg_magnet", "outcome_low"] == t.attrs["outcome_base"]
    assert rows.loc["value.output_usd_per_kg_magnet", "swing"] == 0.0
    assert (t["swing"] >= 0).all()
    assert t.attrs["paths"] == 3


def test_ex_china_peak_matches_the_fan_band(median_run: SimulationResult, ds: Dataset) -> None:
    # Same medians as `small`, with only the event's approval rate uncertain (one batched run).
    t = tornado(_small(varied=()), "peak_shortfall_pct", "exCHN", dataset=ds)
    assert list(t["parameter"]) == ["event:approvals-tighten.approval_rate"]
    band = median_run.bands["shortfall_pct_ex_china_p50"].max()
    assert t.attrs["outcome_base"] == pytest.approx(band, rel=1e-9)


def test_tornado_rejects_bad_input(small: Scenario, ds: Dataset) -> None:
    with pytest.raises(DataError, match="unknown metric"):
        tornado(small, "nope", dataset=ds)
    with pytest.raises(DataError, match="region 'XXX'"):
        tornado(small, region="XXX", dataset=ds)
    with pytest.raises(DataError, match="quantiles"):
        tornado(small, low=0.9, high=0.1, dataset=ds)


def test_sensitivity_cli_json(tmp_path: Path) -> None:
    from critmin.cli.sensitivity import sensitivity_cmd

    sc = _small()
    params = dict(sc.parameters)
    for name in VARIED:
        params[name] = parameter_table()[name].default.median()  # type: ignore[union-attr]
    path = tmp_path / "one.yaml"
    doc = json.loads(sc.model_copy(update={"parameters": params}).model_dump_json(exclude_defaults=True))
    path.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML
    app = typer.Typer()
    app.command()(sensitivity_cmd)
    res = CliRunner().invoke(app, [str(path), "--format", "json", "--region", "USA"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["region"] == "USA"
    assert [r["parameter"] for r in out["rows"]] == ["event:approvals-tighten.approval_rate"]


# --------------------------------------------------------------------------- parameter table
def test_parameter_table_markdown_has_every_parameter() -> None:
    text = parameter_table_markdown()
    lines = text.strip().splitlines()
    assert len(lines) == 2 + len(parameter_table())
    for name in parameter_table():
        assert f"`{name}`" in text
    assert "triangular(0.04, 0.07, 0.1); median 0.07, p5-p95 0.04949-0.09051" in text


def test_model_doc_parameter_table_is_current() -> None:
    doc = MODEL_DOC.read_text("utf-8")
    assert PARAMETER_TABLE_START in doc
    assert PARAMETER_TABLE_END in doc
    assert replace_parameter_table(doc) == doc, (
        "docs/model.md's parameter table is out of date with parameters.yaml. Regenerate it with:\n"
        '  python -c "import pathlib; '
        "from critmin.simulate.analysis.sensitivity import replace_parameter_table as r; "
        "p = pathlib.Path('docs/model.md'); p.write_text(r(p.read_text()))\""
    )
