"""PLAN.yaml schema (critmin.plan.spec): strict keys, cross-checks, one-line located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from critmin.errors import DataError
from critmin.plan.spec import STAGE_OF, PlanSpec, bundled_plans, load_plan, parse_plan

GOOD = """\
name: t
buyers:
  - {region: USA, payer: DoD, budget_musd_per_year: 100}
constraints:
  cutoff:
    - {months: 6, min_priority_share: 0.9, regions: [USA]}
"""


def test_defaults_and_regions() -> None:
    s = parse_plan(GOOD)
    assert s.futures == 200
    assert s.years.years == tuple(range(2027, 2037))
    assert s.regions == ("USA",)
    assert s.scenario == "controls-reimposed-2026-11"
    assert s.constraints.cutoff[0].from_year == 2028
    assert s.constraints.cutoff[0].mode == "constraint"
    assert STAGE_OF["ndfeb_magnet"] == "magnet"


@pytest.mark.parametrize(
    ("text", "line", "key", "what"),
    [
        (
            GOOD.replace("months: 6", "months: 0"),
            6,
            "constraints.cutoff.0.months",
            "greater than or equal to 1",
        ),
        (GOOD.replace("payer: DoD", "payr: DoD"), 3, "buyers.0.payr", "unknown key 'payr'"),
        (
            GOOD.replace("regions: [USA]", "regions: [JPN]"),
            6,
            "constraints.cutoff.0.regions.0",
            "not a buyer",
        ),
        (GOOD.replace("region: USA", "region: CHN"), 3, "buyers.0.region", "Input should be"),
        (GOOD + "futures: 1\n", 7, "futures", "greater than or equal to 2"),
    ],
)
def test_errors_name_line_and_key(text: str, line: int, key: str, what: str) -> None:
    with pytest.raises(DataError) as ei:
        parse_plan(text, Path("p.yaml"))
    e = ei.value
    assert e.line == line
    assert e.column == key
    assert what in str(e)
    assert "Fix:" in str(e)


def test_repeated_key_and_bad_yaml() -> None:
    with pytest.raises(DataError, match="repeats"):
        parse_plan(GOOD + "name: u\n", Path("p.yaml"))
    with pytest.raises(DataError, match="not valid YAML"):
        parse_plan("name: [", Path("p.yaml"))
    with pytest.raises(DataError, match="mapping"):
        parse_plan("- 1\n", Path("p.yaml"))


def test_years_order() -> None:
    with pytest.raises(DataError, match="before start"):
        parse_plan(GOOD + "years: {start: 2030, end: 2029}\n", Path("p.yaml"))


def test_bundled_plans_load_and_meet_the_issue_sizes() -> None:
    assert set(bundled_plans()) >= {"us", "eu", "allied"}
    for name in bundled_plans():
        s = load_plan(name)
        assert isinstance(s, PlanSpec)
        assert s.futures >= 200
        assert len(s.years.years) == 10
        assert len(s.products) == 3
    allied = load_plan("allied")
    assert len(allied.regions) == 5
    assert allied.constraints.reciprocal
    assert "IND" in allied.regions


def test_repo_plans_match_the_package_copies() -> None:
    root = Path(__file__).resolve().parents[2]
    for name in bundled_plans():
        repo = root / "plans" / f"{name}.yaml"
        pkg = root / "src" / "critmin" / "plan" / "plans" / f"{name}.yaml"
        assert repo.read_text() == pkg.read_text()


def test_load_plan_unknown() -> None:
    with pytest.raises(DataError, match="unknown plan"):
        load_plan("nope")
