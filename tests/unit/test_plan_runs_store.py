"""Stored plan and stockpile runs (critmin.store.plan_runs and RunStore): what they keep and how
two compare, on hand-made results whose differences are known."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.errors import DataError, StoreError
from critmin.plan.result import PlanResult, Shadow, Status
from critmin.plan.stockpile import StockpileResult, StockpileSpec
from critmin.plan.toy import toy_spec
from critmin.plan.verify import Verification
from critmin.store.duckdb_store import STORE_FILE
from critmin.store.plan_runs import compare_plans, compare_stockpiles, plan_tables, stockpile_tables
from critmin.store.runs import RunStore

PF_COLS = ["instrument", "buyer", "payer", "project", "product", "host", "years", "amount", "unit", "detail"]


def _portfolio(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    """(instrument, project, product, amount) rows for the USA buyer."""
    unit = {"offtake": "t/yr contracted", "cofinance": "US$ m", "stockpile": "t capacity"}
    return pd.DataFrame(
        [
            (i, "USA", "DoD", p, prod, "USA", "2027", a, unit.get(i, "t/yr covered"), "")
            for i, p, prod, a in rows
        ],
        columns=PF_COLS,
    )


def _costs(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [(k, "USA", "DoD", v) for k, v in values.items()],
        columns=["instrument", "region", "payer", "expected_npv_musd"],
    )


def _plan(
    portfolio: pd.DataFrame,
    costs: pd.DataFrame,
    *,
    seed: int = 3,
    verification: Verification | None = None,
    status: Status = Status.OPTIMAL,
) -> PlanResult:
    return PlanResult(
        spec=toy_spec(seed=seed),
        status=status,
        objective_musd=float(costs["expected_npv_musd"].sum()) if len(costs) else None,
        data_version="dv1",
        seed=seed,
        futures=2,
        portfolio=portfolio,
        costs=costs,
        shadows=(Shadow("coverage_0", "coverage", "words", 2.0, "one point", "one more point costs US$2 m"),),
        in_sample={"coverage USA >= 90% priority": 1.0},
        verification=verification,
    )


A = _plan(
    _portfolio([("offtake", "p1", "ndfeb_magnet", 100.0), ("stockpile", "", "ndfeb_magnet", 50.0)]),
    _costs({"offtake": 10.0, "stockpile": 5.0}),
)
B = _plan(
    _portfolio([("offtake", "p1", "ndfeb_magnet", 150.0), ("cofinance", "p2", "ndfeb_magnet", 25.0)]),
    _costs({"offtake": 15.0, "cofinance": 25.0, "stockpile": 0.0}),
)


def test_compare_plans_by_hand() -> None:
    out = compare_plans(plan_tables(A), plan_tables(B))
    pf = out["portfolio"].set_index(["instrument", "project"])
    assert pf.loc[("offtake", "p1"), "diff_amount"] == 50.0
    assert pf.loc[("stockpile", ""), "amount_b"] == 0.0  # only A holds a stockpile
    assert pf.loc[("stockpile", ""), "diff_amount"] == -50.0
    assert pf.loc[("cofinance", "p2"), "amount_a"] == 0.0
    assert pf.loc[("cofinance", "p2"), "unit"] == "US$ m"
    # A's rows first in A's order, then B's own
    assert list(out["portfolio"]["instrument"]) == ["offtake", "stockpile", "cofinance"]
    co = out["costs"].set_index("instrument")
    assert co.loc["cofinance", "musd_a"] == 0.0
    assert co.loc["cofinance", "diff_musd"] == 25.0
    assert co.loc["stockpile", "diff_musd"] == -5.0
    assert co.loc["total", "musd_a"] == pytest.approx(15.0)
    assert co.loc["total", "musd_b"] == pytest.approx(40.0)
    assert co.loc["total", "diff_musd"] == pytest.approx(25.0)
    assert list(out["costs"]["instrument"])[-1] == "total"


def test_an_infeasible_plan_compares_as_an_empty_portfolio() -> None:
    bad = _plan(pd.DataFrame(), pd.DataFrame(), status=Status.INFEASIBLE)
    tables = plan_tables(bad)
    assert tables["portfolio"].empty
    assert "instrument" in tables["portfolio"].columns
    out = compare_plans(tables, plan_tables(B))
    assert out["portfolio"]["amount_a"].tolist() == [0.0, 0.0]
    assert out["costs"].set_index("instrument").loc["total", "diff_musd"] == pytest.approx(40.0)


amounts = st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=6)


@settings(max_examples=25)
@given(amounts, amounts)
def test_compare_plans_is_antisymmetric(xs: list[float], ys: list[float]) -> None:
    a = _plan(
        _portfolio([("offtake", f"p{i}", "ndpr_oxide", x) for i, x in enumerate(xs)]), _costs({"offtake": 1})
    )
    b = _plan(
        _portfolio([("offtake", f"p{i}", "ndpr_oxide", y) for i, y in enumerate(ys)]), _costs({"offtake": 2})
    )
    ab = compare_plans(plan_tables(a), plan_tables(b))["portfolio"].set_index("project")
    ba = compare_plans(plan_tables(b), plan_tables(a))["portfolio"].set_index("project")
    assert len(ab) == max(len(xs), len(ys))
    pd.testing.assert_series_equal(ab["diff_amount"], -ba.loc[ab.index, "diff_amount"], check_names=False)
    same = compare_plans(plan_tables(a), plan_tables(a))
    assert (same["portfolio"]["diff_amount"] == 0).all()
    assert (same["costs"]["diff_musd"] == 0).all()


def test_plan_tables_keep_shadows_in_sample_and_verification() -> None:
    ver = Verification(
        paths=10,
        seed=7,
        events=({"id": "plan-x", "date": "2027-01-01", "kind": "stockpile", "commodities": ["dy_tb"]},),
        rows=({"target": "t1", "in_sample": 1.0, "out_of_sample": 0.8, "gap": 0.2},),
        notes=("a note",),
    )
    t = plan_tables(
        _plan(A.portfolio, A.costs, verification=ver), {"frontier": pd.DataFrame({"cutoff_months": [0]})}
    )
    assert set(t) == {
        "portfolio",
        "costs",
        "shadow_prices",
        "in_sample",
        "verification",
        "verification_events",
        "frontier",
    }
    assert t["verification"].loc[0, "out_of_sample"] == 0.8
    assert t["verification_events"].loc[0, "commodities"] == '["dy_tb"]'  # JSON text, not a repr
    assert t["in_sample"].loc[0, "share"] == 1.0


def test_a_plan_run_round_trips_through_the_store(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path)
    frontier = pd.DataFrame(
        {"cutoff_months": [0, 12], "status": ["optimal"] * 2, "expected_cost_musd": [1.0, 2.0]}
    )
    ra = store.save_plan_result(A, {"frontier": frontier})
    rb = store.save_plan_result(B)
    assert ra.startswith("plan-")
    rec, tables = store.get(ra)
    assert (rec.kind, rec.name, rec.seed, rec.paths, rec.data_version) == ("plan", "toy", 3, 2, "dv1")
    assert "name: toy" in rec.spec_yaml
    assert "seed: 3" in rec.spec_yaml
    assert rec.meta is not None
    assert rec.meta["status"] == "optimal"
    assert rec.meta["objective_musd"] == 15.0
    assert rec.package_version == A.package_version
    pd.testing.assert_frame_equal(tables["frontier"], frontier)
    assert tables["portfolio"]["amount"].tolist() == [100.0, 50.0]
    kind, frames = store.compare_runs(ra, rb)
    assert kind == "plan"
    assert frames["costs"].set_index("instrument").loc["total", "diff_musd"] == pytest.approx(25.0)


def _stockpile(size: float | None, cost: float) -> StockpileResult:
    spec = StockpileSpec("controls-reimposed-2026-11", "USA", "ndfeb_magnets", 20.0, 0.8, end="2028-12")
    return StockpileResult(
        spec=spec,
        chain="rare_earths",
        product_title="NdFeB magnets",
        window=("2026-11", "2028-12"),
        size_t=size,
        next_smaller_t=None if size is None else size * 0.9,
        reached=size is not None,
        prob_at_size=None if size is None else 0.8,
        prob_without=0.5,
        metric_without={"p5": 0.0, "p50": 16.0, "p95": 57.0},
        metric_with=None if size is None else {"p5": 0.0, "p50": 0.0, "p95": 35.0},
        fill=() if size is None else (("2025-11", size / 2), ("2025-12", size / 2)),
        cost={"anchor_usd_per_kg": 52.1}
        if size is None
        else {"anchor_usd_per_kg": 52.1, "total_at_anchor": cost},
        tried=((0.0, 0.5, False), (1000.0, 0.8, True)),
        monotone=True,
        monthly_demand_t=750.0,
        paths=10,
        seed=0,
        data_version="dv2",
    )


def test_a_stockpile_run_round_trips_and_compares(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path)
    a = store.save_stockpile(_stockpile(1000.0, 5e7))
    b = store.save_stockpile(_stockpile(1500.0, 8e7))
    assert a.startswith("stock-")
    rec, tables = store.get(a)
    assert (rec.kind, rec.name, rec.paths, rec.seed) == (
        "stockpile",
        "controls-reimposed-2026-11 USA ndfeb_magnets",
        10,
        0,
    )
    assert "target_shortfall_pct: 20.0" in rec.spec_yaml
    res = tables["results"].set_index("measure")
    assert res.loc["size_t", "value"] == 1000.0
    assert res.loc["months_of_demand", "value"] == pytest.approx(1000 / 750)
    assert tables["fill_schedule"]["t"].sum() == pytest.approx(1000.0)
    kind, frames = store.compare_runs(a, b)
    assert kind == "stockpile"
    d = frames["results"].set_index("measure")
    assert d.loc["size_t", "diff"] == 500.0
    assert d.loc["cost.total_at_anchor", "diff"] == pytest.approx(3e7)


def test_an_unreached_stockpile_has_empty_values() -> None:
    t = stockpile_tables(_stockpile(None, 0.0))
    res = t["results"].set_index("measure")
    assert pd.isna(res.loc["size_t", "value"])
    assert res.loc["reached", "value"] == 0.0
    out = compare_stockpiles(t, stockpile_tables(_stockpile(1000.0, 1.0)))["results"].set_index("measure")
    assert pd.isna(out.loc["size_t", "diff"])
    assert out.loc["size_t", "value_b"] == 1000.0


def test_runs_of_two_kinds_do_not_compare(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path)
    p = store.save_plan_result(A)
    s = store.save_stockpile(_stockpile(1000.0, 1.0))
    with pytest.raises(DataError, match=r"is a plan run and run .* a stockpile run") as exc:
        store.compare_runs(p, s)
    assert "\n" not in str(exc.value)
    with pytest.raises(DataError, match="no stored run"):
        store.compare_runs(p, "plan-nope")


def test_a_damaged_store_says_the_stored_runs_live_there(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path)
    store.save_plan_result(A)
    (tmp_path / STORE_FILE).write_bytes(b"not a duckdb file" * 200)
    with pytest.raises(StoreError) as exc:
        store.list()
    msg = str(exc.value)
    assert "damaged" in msg
    assert "stored runs" in msg
    assert "critmin runs" in msg
    assert "\n" not in msg
