"""``project`` events: a pipeline project's schedule moved or a missing project added (issue 13)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.errors import DataError
from critmin.simulate.assemble import RunInputs, engine_params, resolve_values
from critmin.simulate.chains.registry import chain_info
from critmin.simulate.inputs.events import parse_event
from critmin.simulate.inputs.projects import reschedule, with_added_projects
from critmin.simulate.inputs.scenario import Scenario
from tests.unit import helpers

REGIONS = ("CHN", "USA", "AUS", "ROW")


def network() -> Any:
    """Four regions, four stages; two pipeline projects: a US magnet plant announced for 2026
    and an Australian mine announced for 2027 (it gets the mines' extra delay too)."""
    share = np.array([[1.0, 0.0, 0.0, 0.0]] * 4)
    ship = np.stack([np.eye(4)] * 4)
    ship[3, 0] = [0.0, 1.0, 0.0, 0.0]
    volume = np.full(4, 100.0)
    demand0 = (share[3] * volume[3]) @ ship[3]
    projects = pd.DataFrame(
        {
            "project": ["US magnets", "AUS mine"],
            "stage": [3, 0],
            "region": [1, 2],
            "capacity_t_month": [10.0, 20.0],
            "start_year": [2026.0, 2027.0],
            "source_id": ["s1", "s2"],
        }
    )
    return helpers.toy_network(
        share, ship, volume, demand0, np.array([[1.0, 0.0, 0.0, 0.0]] * 4), regions=REGIONS, projects=projects
    )


def scenario() -> Scenario:
    return Scenario.model_validate({"name": "t", "start": "2025-01", "end": "2030-12", "regions": REGIONS})


def ev(**kw: Any) -> Any:
    return parse_event({"id": kw.pop("id", "p"), "kind": "project", "date": kw.pop("date", "2025-01"), **kw})


def params(events: tuple[Any, ...] = (), n: int = 50, seed: int = 3) -> Any:
    sc = scenario()
    values = resolve_values(sc, chain_info("rare_earths"))
    net = with_added_projects(network(), events, "toy")
    return engine_params(values, net, sc, n, np.random.default_rng(seed), events=events)


# announced months from 2025-01: the US plant 12 (2026-01), the mine 24; delay medians 12 and
# 12 + 30 (capacity.project_delay_months median 12; mine extra uniform 12-48, median 30)
ANNOUNCED = np.array([12.0, 24.0])
MEDIAN = np.array([12.0, 42.0])


def test_without_events_nothing_moves() -> None:
    a, b = params(), params(())
    for f in dataclasses.fields(a):
        np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name))


def test_co_financing_pulls_the_start_forward_and_halves_the_spread() -> None:
    """start' = announced + M + (D - M) / 2 - 6, never before the event's month (here 2025-01)."""
    base = params().project_start_month
    moved = params((ev(project="US magnets", pull_months=6.0, delay_spread=0.5),)).project_start_month
    d = base[:, 0] - ANNOUNCED[0]
    want = np.maximum(ANNOUNCED[0] + MEDIAN[0] + 0.5 * (d - MEDIAN[0]) - 6.0, 0.0)
    np.testing.assert_allclose(moved[:, 0], want)
    np.testing.assert_array_equal(moved[:, 1], base[:, 1])  # the other project is untouched
    assert np.std(moved[:, 0]) == pytest.approx(0.5 * np.std(base[:, 0]))


def test_a_cut_tail_caps_the_delay_at_its_median_and_a_new_start_replaces_the_announced() -> None:
    base = params().project_start_month
    cut = params((ev(project="AUS mine", delay_tail="cut"),)).project_start_month
    np.testing.assert_allclose(cut[:, 1], np.minimum(base[:, 1], ANNOUNCED[1] + MEDIAN[1]))
    assert (cut[:, 1] <= base[:, 1]).all()
    assert (cut[:, 1] < base[:, 1]).any()
    later = params((ev(project="US magnets", start="2028-01"),)).project_start_month
    np.testing.assert_allclose(later[:, 0], base[:, 0] - ANNOUNCED[0] + 36.0)


def test_no_output_before_the_decision() -> None:
    """Decided in 2027-01 (month 24) with a 100-month pull: first output in month 24."""
    moved = params((ev(project="US magnets", date="2027-01", pull_months=100.0),)).project_start_month
    np.testing.assert_allclose(moved[:, 0], 24.0)


def test_an_added_project_draws_last_and_leaves_every_other_draw_alone() -> None:
    add = ev(project="New plant", stage="magnet", country="USA", capacity_t_per_year=1200.0, start="2026-07")
    a, b = params(), params((add,))
    for f in dataclasses.fields(a):
        if f.name != "project_start_month":
            np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name))
    np.testing.assert_array_equal(b.project_start_month[:, :2], a.project_start_month)
    assert b.project_start_month.shape == (50, 3)
    assert (b.project_start_month[:, 2] >= 18.0).all()  # announced 2026-07 = month 18, plus a delay >= 0
    net = with_added_projects(network(), (add,), "toy")
    row = net.projects.iloc[-1]
    assert (row["project"], row["stage"], row["region"]) == ("New plant", 3, 1)
    assert row["capacity_t_month"] == pytest.approx(100.0)
    assert row["start_year"] == pytest.approx(2026.5)
    assert bool(row["added"])


def test_bad_project_events_are_one_line_errors() -> None:
    unknown = r"'US magnet' is not in the toy chain's pipeline.*did you mean 'US magnets'"
    with pytest.raises(DataError, match=unknown):
        with_added_projects(network(), (ev(project="US magnet"),), "toy")
    again = ev(project="US magnets", stage="magnet", country="USA", capacity_t_per_year=1.0)
    with pytest.raises(DataError, match="already in the toy chain's pipeline"):
        with_added_projects(network(), (again,), "toy")
    with pytest.raises(DataError, match="has no 'component' stage"):
        with_added_projects(
            network(), (ev(project="x", stage="component", country="USA", capacity_t_per_year=1.0),), "toy"
        )
    with pytest.raises(Exception, match="needs stage, country and capacity_t_per_year"):
        ev(project="x", stage="magnet")


def test_a_scenario_file_with_a_half_new_project_names_its_line(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(
        "name: s\nevents:\n  - id: p1\n    date: 2027-01\n    kind: project\n    project: X\n"
        "    country: USA\n"
    )
    with pytest.raises(DataError) as err:
        Scenario.from_yaml(p)
    assert "needs stage, country and capacity_t_per_year" in str(err.value)
    assert err.value.line is not None


@given(
    d=st.lists(st.floats(0, 200), min_size=1, max_size=8),
    spread=st.floats(0, 1),
    pull=st.floats(0, 60),
    cut=st.booleans(),
)
def test_rescheduling_never_delays_a_project_and_never_starts_before_the_decision(
    d: list[float], spread: float, pull: float, cut: bool
) -> None:
    """With a delay spread <= 1 and a pull >= 0, a project whose drawn delay is at least its
    median never starts later; and no start is before the event's month."""
    net = network()
    delay = np.array(d)[:, None] * np.ones((1, 2))
    first = ANNOUNCED[None, :] + delay
    e = ev(project="US magnets", date="2026-01", delay_spread=spread, pull_months=pull,
           delay_tail="cut" if cut else "keep")  # fmt: skip
    out = reschedule(first, delay, MEDIAN, net, (e,), "2025-01")
    assert (out[:, 0] >= 12.0 - 1e-9).all()
    late = delay[:, 0] >= MEDIAN[0]
    assert (out[late, 0] <= np.maximum(first[late, 0], 12.0) + 1e-9).all()
    np.testing.assert_array_equal(out[:, 1], first[:, 1])


def test_a_real_pipeline_project_moves_in_a_bundled_run() -> None:
    """Iluka's light-RE refinery in the rare-earth chain, and its heavy-RE circuit in the Dy + Tb
    feed, pulled 12 months forward from 2025-01 (delay spread 1: every path 12 months earlier,
    unless that would be before 2025-01)."""
    base = Scenario.model_validate({"name": "b", "start": "2025-01", "end": "2026-12"})
    events = [
        {"id": "pull-lre", "date": "2025-01", "kind": "project", "pull_months": 12,
         "project": "Eneabba rare earths refinery - light RE"},
        {"id": "pull-hre", "date": "2025-01", "kind": "project", "pull_months": 12,
         "commodities": ["dy_tb"], "project": "Eneabba rare earths refinery - heavy RE"},
    ]  # fmt: skip
    moved = base.model_copy(update={"name": "m", "events": tuple(parse_event(e) for e in events)})
    a = RunInputs.build(base, seed=1, paths=6)
    b = RunInputs.build(moved, seed=1, paths=6)
    ea, eb = a.engine_inputs(a.blocks()[0])[0], b.engine_inputs(b.blocks()[0])[0]
    names = list(ea.network.projects["project"])
    j = names.index("Eneabba rare earths refinery - light RE")
    pa, pb = ea.params.project_start_month, eb.params.project_start_month
    np.testing.assert_allclose(pb[:, j], np.maximum(pa[:, j] - 12.0, 0.0))
    np.testing.assert_array_equal(np.delete(pb, j, axis=1), np.delete(pa, j, axis=1))
    assert ea.feed is not None
    assert eb.feed is not None
    fn = list(ea.feed.net.projects["project"])
    h = fn.index("Eneabba rare earths refinery - heavy RE")
    fa, fb = ea.feed.params.project_start_month, eb.feed.params.project_start_month
    np.testing.assert_allclose(fb[:, h], np.maximum(fa[:, h] - 12.0, 0.0))
    assert dt.date(2025, 1, 1) == parse_event(events[0]).date
