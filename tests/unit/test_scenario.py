"""Scenario YAML: validation errors name file, line and key; overrides compose; history applies."""

from __future__ import annotations

from pathlib import Path

import pytest

from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.simulate.inputs.params import Beta, parameter_table
from critmin.simulate.inputs.scenario import (
    EventKind,
    Scenario,
    assumption_texts,
    bundled_scenarios,
    history_events,
    load_scenario,
)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_bundled_scenarios_load() -> None:
    names = set(bundled_scenarios())
    assert {
        "baseline",
        "truce-holds",
        "controls-reimposed-2026-11",
        "us-embargo",
        "allied-acceleration",
        "backtest-2025-04",
    } <= names
    for n in names:
        sc = load_scenario(n)
        assert sc.months()[0] == sc.start


def test_unknown_key_names_line_and_key(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "name: x\nstart: 2025-01\nevents:\n  - id: a\n    date: 2026-01-01\n    kind: ban\n"
        "    stagez: [magnet]\n",
    )
    with pytest.raises(DataError) as exc:
        Scenario.from_yaml(p)
    err = exc.value
    assert err.line == 7
    assert "stagez" in str(err)
    assert str(p) in str(err)


def test_bad_distribution_and_unknown_parameter(tmp_path: Path) -> None:
    p = _write(tmp_path, "name: x\nparameters:\n  licence.approval_rate: {dist: beta, a: -1, b: 2}\n")
    with pytest.raises(DataError) as exc:
        Scenario.from_yaml(p)
    assert exc.value.line == 3
    p2 = _write(tmp_path, "name: x\nparameters:\n  licence.aproval_rate: 0.5\n")
    with pytest.raises(DataError, match="unknown parameter"):
        Scenario.from_yaml(p2)


def test_bad_date_and_yaml_syntax(tmp_path: Path) -> None:
    p = _write(tmp_path, "name: x\nevents:\n  - {id: a, date: 2026-13-01, kind: ban}\n")
    with pytest.raises(DataError) as exc:
        Scenario.from_yaml(p)
    assert exc.value.line == 3
    with pytest.raises(DataError, match="not valid YAML"):
        Scenario.from_yaml(_write(tmp_path, "name: [x\n"))


def test_overrides_compose(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "name: x\noverrides:\n  fast: {parameters: {licence.approval_rate: 0.9}}\n"
        "  slow-lag: {parameters: {licence.mean_lag_months: 4}}\nscenarios:\n  both: [fast, slow-lag]\n",
    )
    sc = Scenario.from_yaml(p, variant="both")
    assert sc.parameters == {"licence.approval_rate": 0.9, "licence.mean_lag_months": 4}
    assert sc.name == "x:both"
    with pytest.raises(DataError, match="unknown scenario variant"):
        Scenario.from_yaml(p, variant="nope")


def test_extends_inherits_events() -> None:
    sc = load_scenario("us-embargo")
    ids = {e.id for e in sc.events}
    assert {"approvals-tighten-2026-11", "us-ree-ban-2026-12"} <= ids
    assert any(e.kind is EventKind.BAN for e in sc.timeline())


def test_history_is_in_every_timeline_unless_excluded() -> None:
    hist = {e.id for e in history_events()}
    assert {"mofcom-2025-18", "suspension-no70"} <= hist
    assert hist <= {e.id for e in load_scenario("truce-holds").timeline()}
    assert not hist & {e.id for e in load_scenario("baseline").timeline()}


def test_parameter_table_has_provenance_that_resolves() -> None:
    ds = Dataset.bundled()
    table = parameter_table()
    assert isinstance(table["licence.approval_rate"].default, Beta)
    for spec in table.values():
        assert spec.source or spec.rationale
        if spec.source and not spec.source.startswith("web:adamas-intelligence-china-custom"):
            assert spec.source in ds.sources, spec.name


def test_assumption_ids_resolve() -> None:
    from critmin.simulate import simulate

    r = simulate("baseline", paths=1, dataset=Dataset.bundled())
    known = set(assumption_texts()) | {
        k for k, s in Dataset.bundled().sources.items() if s.kind == "assumption"
    }
    assert set(r.assumption_ids) <= known
