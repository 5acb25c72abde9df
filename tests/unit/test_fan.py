"""The fan chart of a simulation (traces equal the bands, events marked, caption) and the tornado chart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import typer
from typer.testing import CliRunner

from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.report.fan import fan_chart, policy_marks, tornado_chart
from critmin.report.figures import write_figure
from critmin.simulate import SimulationResult, simulate
from critmin.simulate.inputs.events import parse_event
from critmin.simulate.inputs.scenario import Scenario, history_events


def _scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "name": "fan-test",
            "start": "2025-01",
            "end": "2027-06",
            "events": [
                {
                    "id": "approvals-tighten",
                    "date": "2026-11-10",
                    "kind": "approval_rate",
                    "approval_rate": {"dist": "beta", "a": 4, "b": 6},
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    return simulate(_scenario(), paths=40, seed=3, dataset=Dataset.bundled())


def _trace(fig: go.Figure, name: str) -> go.Scatter:
    found = [t for t in fig.data if t.name == name]
    assert len(found) == 1, [t.name for t in fig.data]
    return found[0]


def caption_text(fig: go.Figure) -> str:
    notes = [a for a in fig.layout.annotations if a.name == "caption"]
    assert len(notes) == 1
    return str(notes[0].text)


@pytest.mark.parametrize("metric", ["shortfall_pct_ex_china", "price_ratio_ex_china"])
def test_fan_traces_match_bands(result: SimulationResult, metric: str) -> None:
    fig = fan_chart(result, metric=metric)  # type: ignore[arg-type]
    b = result.bands
    for q in ("p5", "p95"):
        np.testing.assert_allclose(np.asarray(_trace(fig, q).y, dtype=float), b[f"{metric}_{q}"])
    median = _trace(fig, "median (p50)")
    np.testing.assert_allclose(np.asarray(median.y, dtype=float), b[f"{metric}_p50"])
    assert list(median.x) == [f"{m}-01" for m in result.months]
    # The band is filled between p95 and p5, and the band's p95 is never below its p5.
    assert _trace(fig, "p5").fill == "tonexty"
    assert (b[f"{metric}_p95"] >= b[f"{metric}_p5"] - 1e-12).all()
    assert fig.layout.meta["metric"] == metric


def test_fan_marks_policy_events(result: SimulationResult) -> None:
    fig = fan_chart(result)
    marks = policy_marks(result.scenario.timeline(), list(result.months))
    lines = [s for s in fig.layout.shapes if s.type == "line" and s.x0 == s.x1]
    assert len(lines) == len(marks)
    assert sorted(str(s.x0) for s in lines) == sorted(f"{m.month}-01" for m in marks)
    labels = [m.label for m in marks]
    # History (6 rare-earth events in 2025, incl. the DoD-MP price floor and the Dec 2025
    # general licences; 2 in Jan 2026: MOFCOM 2026 No.1 and the halted Japan reviews) + the
    # approval event + the suspension's end in 2026-11.
    assert len(marks) == 10
    assert any("mofcom-2025-18" in lab for lab in labels)
    assert any("dod-mp-price-floor" in lab for lab in labels)
    assert any(lab.startswith("suspension-no70 ends") for lab in labels)
    dotted = [m for m in marks if m.dash == "dot"]
    assert [m.month for m in dotted] == ["2025-12"]  # the October package, dated while suspended
    numbers = [a.text for a in fig.layout.annotations if str(a.name).startswith("event ")]
    assert numbers == [f"<b>{m.number}</b>" for m in marks]


def test_fan_caption_has_provenance(result: SimulationResult) -> None:
    text = caption_text(fan_chart(result))
    flat = " ".join(text.split("<br>"))
    assert "fan-test" in flat
    assert "40 paths" in flat
    assert "seed 3" in flat
    assert result.data_version in flat
    # the chain's own provenance: the rare-earth chain's, not the Dy + Tb feed's
    for aid in result.chains["rare_earths"].assumption_ids:
        assert aid in flat.replace("<br>", " ")
    assert "assumption:sim-heavy-grade-share" not in flat
    feed = " ".join(caption_text(fan_chart(result, chain="dy_tb")).split("<br>"))
    assert "assumption:sim-heavy-grade-share" in feed


def test_fan_of_the_dy_tb_feed(result: SimulationResult) -> None:
    """``chain="dy_tb"``: the feed's own bands, title and the controls that reach it."""
    fig = fan_chart(result, metric="price_ratio_ex_china", chain="dy_tb")
    b = result.chains["dy_tb"].bands
    np.testing.assert_allclose(
        np.asarray(_trace(fig, "median (p50)").y, dtype=float), b["price_ratio_ex_china_p50"]
    )
    assert "Dy + Tb oxide" in fig.layout.title.text
    assert fig.layout.meta["chain"] == "dy_tb"
    labels = fig.layout.meta["events"]
    assert any("mofcom-2025-18" in lab for lab in labels)  # No.18 lists Dy and Tb
    assert not any("dod-mp-price-floor" in lab for lab in labels)  # a floor on NdPr, not Dy/Tb
    with pytest.raises(DataError, match="no chain"):
        fan_chart(result, chain="gallium")


def test_fan_rejects_unknown_metric(result: SimulationResult) -> None:
    with pytest.raises(DataError, match="unknown fan-chart metric"):
        fan_chart(result, metric="nope")  # type: ignore[arg-type]


def test_policy_marks_follow_suspensions_and_extensions() -> None:
    months = [f"{y}-{m:02d}" for y in (2025, 2026, 2027) for m in range(1, 13)]
    hist = list(history_events())
    extension = parse_event(
        {
            "id": "suspension-extended",
            "date": "2026-11-10",
            "kind": "suspend",
            "targets": ["mofcom-2025-oct-package"],
            "until": "2036-01-01",
        }
    )
    marks = policy_marks(tuple(sorted([*hist, extension], key=lambda e: (e.date, e.id))), months)
    assert not any("ends" in m.label for m in marks)  # the truce holds: nothing comes back
    only_2026 = policy_marks(tuple(hist), [f"2026-{m:02d}" for m in range(1, 13)])
    # the Japan measures of Jan 2026, then the suspension's end
    assert [m.month for m in only_2026] == ["2026-01", "2026-01", "2026-11"]
    assert only_2026[-1].date == dt.date(2026, 11, 10)
    assert policy_marks(tuple(hist), []) == []


def test_tornado_chart_bars() -> None:
    t = pd.DataFrame(
        {
            "parameter": ["a", "b"],
            "value_low": [0.1, 1.0],
            "value_high": [0.9, 3.0],
            "outcome_low": [150.0, 90.0],
            "outcome_high": [50.0, 120.0],
            "swing": [100.0, 30.0],
        }
    )
    t.attrs.update(
        {"scenario": "toy", "metric": "cumulative_shortfall_t", "region": "exCHN", "outcome_base": 100.0}
    )
    t.attrs.update({"low": 0.05, "high": 0.95, "paths": 1, "seed": 0, "data_version": "abc"})
    fig = tornado_chart(t)
    lo, hi = fig.data
    assert list(lo.y) == ["b", "a"]  # largest swing drawn at the top
    np.testing.assert_allclose(np.asarray(lo.base) + np.asarray(lo.x), [90.0, 150.0])
    np.testing.assert_allclose(np.asarray(hi.base) + np.asarray(hi.x), [120.0, 50.0])
    assert "abc" in caption_text(fig)
    with pytest.raises(DataError, match="lacks column"):
        tornado_chart(t.drop(columns=["swing"]))


def test_simulate_cli_writes_the_fan_chart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from critmin.cli.simulate import simulate_cmd
    from critmin.report import export

    monkeypatch.setattr(export, "png_export_problem", lambda: "no PNG in this test")
    path = tmp_path / "scenario.yaml"
    path.write_text("name: cli-fan\nstart: 2026-09\nend: 2027-03\n", encoding="utf-8")
    app = typer.Typer()
    app.command()(simulate_cmd)
    out = tmp_path / "fan.html"
    res = CliRunner().invoke(app, [str(path), "--paths", "5", "--plot", str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    text = out.read_text("utf-8")
    assert "cli-fan" in text
    assert text.startswith("<!DOCTYPE html>")
    assert not out.with_suffix(".png").exists()
    feed = tmp_path / "dy.html"
    args = [str(path), "--paths", "5", "--plot", str(feed), "--plot-chain", "dy_tb", "--format", "json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "Dy + Tb oxide" in feed.read_text("utf-8")
    res = CliRunner().invoke(app, [*args[:4], str(tmp_path / "x.html"), "--plot-chain", "tin"])
    assert isinstance(res.exception, DataError)
    assert "no chain 'tin'" in str(res.exception)


def test_write_fan_html(result: SimulationResult, tmp_path: Path) -> None:
    written = write_figure(fan_chart(result), tmp_path / "f.html", png_sibling=False)
    assert written == [tmp_path / "f.html"]
    assert "median (p50)" in written[0].read_text("utf-8")
