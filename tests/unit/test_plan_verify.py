"""The closed loop's translation of a portfolio into simulator events (critmin.plan.verify)."""

from __future__ import annotations

import pandas as pd

from critmin.plan.result import PlanResult, Status
from critmin.plan.spec import parse_plan
from critmin.plan.verify import Verification, plan_events
from critmin.simulate.inputs.events import parse_event

SPEC = parse_plan(
    "name: t\nbuyers: [{region: USA}]\ninstruments: {floor: {allowed: true, strike_usd_per_kg: 110}}\n"
)


def _result(rows: list[dict[str, object]]) -> PlanResult:
    return PlanResult(SPEC, Status.OPTIMAL, 1.0, "v", 0, 2, pd.DataFrame(rows), pd.DataFrame())


def test_portfolio_to_events() -> None:
    rows = [
        {"instrument": "stockpile", "buyer": "USA", "project": "", "product": "ndfeb_magnet", "host": "USA",
         "amount": 300.0, "detail": "fill t: 2027: 100, 2029: 1,200"},
        {"instrument": "stockpile", "buyer": "USA", "project": "", "product": "ndpr_oxide", "host": "USA",
         "amount": 50.0, "detail": "fill t: 2027: 50"},
        {"instrument": "offtake", "buyer": "USA", "project": "a", "product": "ndfeb_magnet", "host": "VNM",
         "amount": 200.0, "detail": ""},
        {"instrument": "offtake", "buyer": "USA", "project": "b", "product": "ndfeb_magnet", "host": "VNM",
         "amount": 100.0, "detail": ""},
        {"instrument": "offtake", "buyer": "USA", "project": "c", "product": "ndfeb_magnet", "host": "USA",
         "amount": 900.0, "detail": ""},
        {"instrument": "floor", "buyer": "USA", "project": "d", "product": "ndpr_oxide", "host": "USA",
         "amount": 1000.0, "detail": ""},
    ]  # fmt: skip
    events = plan_events(_result(rows))
    kinds = [e["kind"] for e in events]
    assert kinds == [
        "stockpile",
        "stockpile",
        "offtake",
        "price_floor",
    ]  # no oxide stock, no own-region offtake
    assert [e["amount_t"] for e in events[:2]] == [100.0, 1200.0]
    off = events[2]
    assert off["seller"] == "VNM"
    assert off["volume_t_per_year"] == 300.0
    assert off["stages"] == ["magnet"]
    assert events[3]["price_usd_per_kg"] == 110
    assert events[3]["covered_t_per_year"] == 1000.0
    for e in events:  # every event is valid for the simulator
        parse_event(e)


def test_verification_table() -> None:
    v = Verification(10, 1, (), ({"target": "x", "in_sample": 1.0, "out_of_sample": 0.8, "gap": 0.2},))
    t = v.table()
    assert list(t.columns) == ["target", "in_sample", "out_of_sample", "gap"]
    assert t.gap.iloc[0] == 0.2
    assert v.to_dict()["targets"][0]["out_of_sample"] == 0.8
