"""Frontier and near-optimal alternatives (critmin.plan.frontier) on a toy stockpile problem."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from critmin.plan.frontier import alternatives, pareto_frontier
from critmin.plan.solve import solve_plan
from critmin.plan.toy import toy_inputs, toy_spec

warnings.filterwarnings("ignore", module="linopy")


@pytest.mark.slow
def test_frontier_rises_with_the_target_and_alternatives_stay_within_5_percent() -> None:
    """Priority demand 40 t/yr; surviving m months with all of it met needs 40 m / 12 t in stock,
    each tonne costing US$1/kg/yr x 2 yr of holding (the end value offsets the purchase): the
    cost rises by 40 x m / 12 x 0.002 = US$0.0067 m per month of cut-off."""
    inp = toy_inputs(
        years=(2027, 2028), other_exchina_t=100.0, holding=1.0, priority_share=0.4,
        projects=[{"id": "a", "contract": 12}],
    )  # fmt: skip
    spec = toy_spec(
        years={"start": 2027, "end": 2028},
        constraints={
            "cutoff": [{"months": 12, "min_priority_share": 1.0, "regions": ["USA"], "from_year": 2027}]
        },
    )
    f = pareto_frontier(spec, inp, months=(0, 6, 12))
    cost = f["expected_cost_musd"].to_numpy()
    assert (f.status == "optimal").all()
    assert cost[1] - cost[0] == pytest.approx(40 * 6 / 12 * 0.002, rel=1e-6)
    assert cost[2] - cost[1] == pytest.approx(40 * 6 / 12 * 0.002, rel=1e-6)
    assert f["stockpile_t"].tolist() == pytest.approx([0.0, 20.0, 40.0], abs=1e-6)
    r = solve_plan(spec, inp, shadow=False)
    alt = alternatives(spec, inp, r)
    assert list(alt.portfolio) == ["least cost", "stockpile-heavy", "project-heavy"]
    best = float(alt.expected_cost_musd.iloc[0])
    assert best == pytest.approx(r.objective_musd)
    assert (alt.expected_cost_musd <= best * 1.05 + 1e-6).all()
    assert alt.stockpile_t.iloc[1] >= alt.stockpile_t.iloc[0]
    assert alt.offtake_t_per_year.iloc[2] >= alt.offtake_t_per_year.iloc[0]


def test_frontier_and_alternatives_travel_with_the_result_to_json_and_xlsx(tmp_path: Path) -> None:
    """A result's frontier and alternatives are in its JSON document and in sheets of its
    workbook, row for row; a result without them has neither."""
    from critmin.plan.result import PlanResult, Status

    spec = toy_spec(years={"start": 2027, "end": 2028})
    r = PlanResult(
        spec, Status.OPTIMAL, 1.0, "v", 0, 1, pd.DataFrame({"instrument": ["stockpile"]}), pd.DataFrame()
    )
    assert r.to_dict()["frontier"] is None
    assert "frontier" not in r.tables()
    f = pd.DataFrame({"cutoff_months": [0, 12], "status": ["optimal"] * 2, "stockpile_t": [0.0, 40.0]})
    alt = pd.DataFrame({"portfolio": ["least cost", "stockpile-heavy"], "expected_cost_musd": [1.0, 1.05]})
    r = dataclasses.replace(r, frontier=f, alternatives=alt)
    doc = json.loads(r.write(tmp_path / "plan.json").read_text())
    assert [p["cutoff_months"] for p in doc["frontier"]] == [0, 12]
    assert [p["stockpile_t"] for p in doc["frontier"]] == [0.0, 40.0]
    assert [a["portfolio"] for a in doc["alternatives"]] == ["least cost", "stockpile-heavy"]
    book = pd.read_excel(r.write(tmp_path / "plan.xlsx"), sheet_name=None)
    assert {"portfolio", "costs", "frontier", "alternatives"} <= set(book)
    assert book["frontier"]["stockpile_t"].tolist() == [0.0, 40.0]
    assert book["alternatives"]["expected_cost_musd"].tolist() == [1.0, 1.05]
