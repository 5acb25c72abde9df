"""Toy planning problems with optima worked out by hand (critmin.plan.model / solve)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from critmin.plan.model import build_model
from critmin.plan.result import Status
from critmin.plan.solve import objective_value, solve_built, solve_plan
from critmin.plan.toy import toy_inputs, toy_spec

warnings.filterwarnings("ignore", module="linopy")

CAP = {"concentration": [{"region": "USA", "stage": "magnet", "max_share": 0.65, "from_year": 2027}]}


def test_two_suppliers_and_a_concentration_cap() -> None:
    """Demand 100 t; China can supply it all at US$10/kg, an ex-China project 100 t at a
    US$15/kg contract. With China capped at 65%: 65 t from China (US$0.65 m) and a 35 t offtake
    (US$0.525 m), total US$1.175 m. One point less China (64%) moves 1 t from US$10 to US$15:
    the shadow price is US$5,000 = US$0.005 m per point."""
    r = solve_plan(toy_spec(constraints=CAP), toy_inputs(projects=[{"id": "a", "contract": 15}]))
    assert r.status is Status.OPTIMAL
    assert r.objective_musd == pytest.approx(1.175, abs=1e-6)
    off = r.portfolio[r.portfolio.instrument == "offtake"]
    assert off["amount"].tolist() == pytest.approx([35.0], abs=1e-6)
    (s,) = r.shadows
    assert s.kind == "concentration"
    assert s.marginal_musd == pytest.approx(0.005, rel=1e-6)
    assert "one more point of independence from China at the magnet stage" in s.statement
    assert r.in_sample["China share USA magnet <= 65%"] == 1.0


def test_without_the_cap_china_supplies_everything() -> None:
    """No cap: all 100 t from China at US$10/kg = US$1.0 m, no offtake, no binding target."""
    r = solve_plan(toy_spec(), toy_inputs(projects=[{"id": "a", "contract": 15}]))
    assert r.objective_musd == pytest.approx(1.0, abs=1e-6)
    assert r.portfolio.empty
    assert r.shadows == ()


@pytest.mark.parametrize(("capex", "expected", "chosen"), [(10.0, 7.0, True), (40.0, 20.0, False)])
def test_binary_project_choice(capex: float, expected: float, chosen: bool) -> None:
    """China is cut off; a project produces only if co-financed (online 0 without, 1 with).
    Without it 100 t go short at US$200/kg: US$20 m. Co-financing half of its capex plus a
    100 t offtake at US$20/kg (US$2 m) costs 0.5 x capex + 2: US$7 m at capex 10 (chosen), US$22 m
    at capex 40 (rejected: US$20 m of rationing instead)."""
    inp = toy_inputs(
        projects=[{"id": "a", "contract": 20, "capex": capex, "cofinance_share": 0.5}],
        china_avail=0.0,
        online=np.array([0.0, 1.0, 0.0]).reshape(3, 1, 1, 1),
    )
    r = solve_plan(toy_spec(), inp)
    assert r.status is Status.OPTIMAL
    assert r.objective_musd == pytest.approx(expected, abs=1e-6)
    assert ("cofinance" in set(r.portfolio.get("instrument", []))) is chosen


def test_stockpile_against_a_known_cutoff() -> None:
    """Two years, 100 t/yr of demand. Year 1: China supplies 100 t at US$10/kg and 100 t more is
    on the ex-China spot market at US$10/kg; year 2: China is cut off and nothing is for sale.
    Best: buy 100 t extra in year 1 into a 100 t stockpile and release it in year 2. Cost:
    US$1 m (consumption) + US$1 m (the fill) + holding US$1/kg/yr x 100 t x 2 yr = US$0.2 m:
    US$2.2 m, against US$1 m + 100 t x US$200/kg = US$21 m without a stockpile."""
    inp = toy_inputs(
        years=(2027, 2028),
        china_avail=np.array([1.0, 0.0]).reshape(1, 2, 1, 1),
        other_exchina_t=np.array([100.0, 0.0]).reshape(1, 2, 1, 1),
        holding=1.0,
    )
    spec = toy_spec(years={"start": 2027, "end": 2028})
    r = solve_plan(spec, inp)
    assert r.objective_musd == pytest.approx(2.2, abs=1e-6)
    row = r.portfolio[r.portfolio.instrument == "stockpile"].iloc[0]
    assert row["amount"] == pytest.approx(100.0, abs=1e-6)
    assert "2027: 100" in row["detail"]
    costs = r.costs.set_index("instrument")["expected_npv_musd"]
    assert costs["stockpile"] == pytest.approx(1.2, abs=1e-6)  # fill US$1 m + holding US$0.2 m
    assert costs.sum() == pytest.approx(r.objective_musd, abs=1e-6)  # the rows add up


def test_cutoff_target_and_its_shadow_price() -> None:
    """A 12-month cut-off must leave 50% of priority demand (priority share 0.4 of 100 t) met
    from stocks: a 20 t stockpile, filled in year 1 from ex-China spot at US$10/kg (US$0.2 m),
    holding US$1/kg/yr x 20 t x 2 yr (US$0.04 m), the 20 t valued at US$10/kg at the end
    (-US$0.2 m, no discounting). One more point of priority demand (0.4 t more stock) costs
    the holding, 0.4 t x US$1/kg x 2 yr = US$0.0008 m."""
    inp = toy_inputs(years=(2027, 2028), other_exchina_t=100.0, holding=1.0, priority_share=0.4)
    spec = toy_spec(
        years={"start": 2027, "end": 2028},
        constraints={
            "cutoff": [{"months": 12, "min_priority_share": 0.5, "regions": ["USA"], "from_year": 2027}]
        },
    )
    r = solve_plan(spec, inp)
    assert r.status is Status.OPTIMAL
    # 200 t consumed from China over two years (US$2 m) + the stock's holding (0.04)
    assert r.objective_musd == pytest.approx(2.04, abs=1e-6)
    (s,) = r.shadows
    assert s.kind == "cutoff"
    assert s.marginal_musd == pytest.approx(0.0008, rel=1e-4)


@pytest.mark.slow
def test_infeasible_plan_names_the_conflicting_targets() -> None:
    """A budget of US$0.1 m a year cannot hold the 20 t stockpile the cut-off target needs
    (US$0.2 m of fill at the expected spot price): the budget and the cut-off are named, the
    unrelated China cap is not."""
    inp = toy_inputs(years=(2027, 2028), other_exchina_t=100.0, priority_share=0.4, projects=[{"id": "a"}])
    spec = toy_spec(
        years={"start": 2027, "end": 2028},
        buyers=[{"region": "USA", "payer": "DoD", "budget_musd_per_year": 0.1}],
        instruments={"offtake": {"allowed": False}},
        constraints={
            "cutoff": [{"months": 12, "min_priority_share": 0.5, "regions": ["USA"], "from_year": 2027}],
            **CAP,
        },
    )
    r = solve_plan(spec, inp)
    assert r.status is Status.INFEASIBLE
    text = " | ".join(r.conflicts)
    assert "DoD's budget of US$0 m a year" in text or "DoD's budget" in text
    assert "12-month cut-off of CHN" in text
    assert "China from 2027" not in text
    assert len(r.conflicts) == 2


@pytest.mark.parametrize(
    ("start_every", "tenor", "expected", "years"),
    [
        (2, 10, 5.3, "2029-2030"),
        (1, 10, 5.3, "2029-2030"),
        (2, 2, 5.3, "2029-2030"),
        (4, 10, 6.6, "2027-2030"),
    ],
)
def test_offtakes_are_fixed_volume_contracts_on_a_ladder(
    start_every: int, tenor: int, expected: float, years: str
) -> None:
    """2027-2030; China (US$10/kg) is cut off in 2029-2030; a project offers 100 t/yr at a
    US$15/kg contract with a 10% take-or-pay fee; a tonne short costs US$200/kg; no stockpile.
    With contracts
    that can start in 2029 (every 2 or every year): China in 2027-28 (2 x US$1.0 m) and a 100 t
    contract for 2029-30 (2 x US$1.5 m delivered + 2 x US$0.15 m fee) = US$5.3 m. When the only
    contract starts in 2027 it must run all four years (free disposal of the surplus):
    4 x (1.5 + 0.15) = US$6.6 m, still far below rationing (2 x US$20 m)."""
    inp = toy_inputs(
        years=(2027, 2028, 2029, 2030),
        projects=[{"id": "a", "contract": 15}],
        china_avail=np.array([1.0, 1.0, 0.0, 0.0]).reshape(1, 4, 1, 1),
    )
    spec = toy_spec(
        years={"start": 2027, "end": 2030},
        instruments={
            "offtake": {"reservation_share": 0.1, "start_every_years": start_every, "max_tenor_years": tenor},
            "stockpile": {"allowed": False},
        },
    )
    r = solve_plan(spec, inp)
    assert r.status is Status.OPTIMAL
    assert r.objective_musd == pytest.approx(expected, abs=1e-6)
    off = r.portfolio[r.portfolio.instrument == "offtake"]
    assert off["years"].tolist() == [years]
    assert off["amount"].tolist() == pytest.approx([100.0], abs=1e-6)


def test_the_yearly_volume_is_the_sum_of_the_running_contracts() -> None:
    """Tranches start every 2 years and run 3: 2027 covers 2027-29, 2029 covers 2029-31, 2031
    covers 2031 (the horizon ends); ``Built.yearly`` adds the contracts running each year."""
    from critmin.plan.model import build_model
    from critmin.plan.solve import solve_built

    inp = toy_inputs(years=tuple(range(2027, 2032)), projects=[{"id": "a", "contract": 5}])
    spec = toy_spec(
        years={"start": 2027, "end": 2031},
        instruments={
            "offtake": {"reservation_share": 0.0, "start_every_years": 2, "max_tenor_years": 3},
            "stockpile": {"allowed": False},
        },
    )
    b = build_model(spec, inp)
    assert list(b.coords["tranche"]) == [2027, 2029, 2031]
    assert b.tranche_years.tolist() == [[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [0, 0, 0, 0, 1]]
    solve_built(b)
    # the contract (US$5/kg) beats China (US$10/kg), but the contracts running in 2029 share the
    # project's 100 t: 100 t in the 2027 and 2031 contracts and China in 2030 (4 x 0.5 + 1.0 =
    # US$3.0 m) beats 100 t in the 2029 contract and China in 2027-28 (3 x 0.5 + 2 x 1.0 = 3.5)
    assert b.yearly("offtake")[0, 0].tolist() == pytest.approx([100.0, 100.0, 100.0, 0.0, 100.0], abs=1e-6)
    assert float(b.model.objective.value) == pytest.approx(3.0, abs=1e-6)


def _reciprocal_toy(share: float) -> tuple[object, object]:
    """Three parties, 2027-28. Only the USA has budget for a stockpile; 100 t of magnets are for
    sale in 2027 (no demand), nothing in 2028, when each party needs 100 t. The USA's shortfall
    costs US$100/kg, its allies' US$200/kg."""
    regions = ("USA", "JPN", "EU27")
    dem = np.zeros((1, 2, 1, 3))
    dem[0, 1] = 100.0
    inp = toy_inputs(
        years=(2027, 2028),
        regions=regions,
        demand_t=dem,
        china_avail=0.0,
        other_exchina_t=np.array([1000.0, 0.0]).reshape(1, 2, 1, 1),
        voll_other=np.array([[100.0, 200.0, 200.0]]),
    )
    spec = toy_spec(
        years={"start": 2027, "end": 2028},
        buyers=[
            {"region": "USA", "payer": "DoD"},
            {"region": "JPN", "payer": "JOGMEC", "budget_musd_per_year": 0},
            {"region": "EU27", "payer": "EU", "budget_musd_per_year": 0},
        ],
        constraints={
            "reciprocal": [{"regions": list(regions), "products": ["ndfeb_magnet"], "share": share}]
        },
    )
    return spec, inp


@pytest.mark.parametrize(("share", "given", "expected"), [(0.25, 25.0, 38.5), (0.0, 0.0, 41.0)])
def test_a_reciprocal_share_is_of_the_givers_stock_in_all(
    share: float, given: float, expected: float
) -> None:
    """The USA fills a 100 t stockpile in 2027 (US$1 m). In 2028 it may give ``share`` of it to
    its two allies in all, not ``share`` to each: 25 t, saving US$200/kg there against US$100/kg
    at home. The USA keeps 75 t, so 25 t go short at home (US$2.5 m) and 175 t abroad
    (US$35 m): US$38.5 m with the fill (a share per partner would give 50 t for US$36 m). With
    a share of 0 the stock stays at home: US$1 m + 200 t x US$200/kg = US$41 m."""
    spec, inp = _reciprocal_toy(share)
    b = build_model(spec, inp)
    assert solve_built(b) is Status.OPTIMAL
    assert objective_value(b) == pytest.approx(expected, abs=1e-6)
    if share:
        v = b.model.variables
        assert float(v["transfer_out"].solution.fillna(0.0).sum()) == pytest.approx(given, abs=1e-6)
        assert float(v["transfer_in"].solution.fillna(0.0).sum()) == pytest.approx(given, abs=1e-6)
        gift = v["transfer_out"].solution.fillna(0.0).sel(year=2028)
        assert float(gift.sel(party="0:USA:ndfeb_magnet").sum()) == pytest.approx(given, abs=1e-6)


def test_the_model_holds_no_column_or_row_that_can_only_be_void() -> None:
    """China cut off in one future, no priority demand, a project that can be co-financed but
    not floored: no rationing-of-priority column, no China column in the cut-off future, no
    floor McCormick row, and a project's capacity row once per set of running contracts
    (contracts start in 2027, 2029 and 2031 and run ten years: three sets over five years)."""
    inp = toy_inputs(
        years=tuple(range(2027, 2032)),
        futures=2,
        projects=[{"id": "a", "floor_ok": False}],
        china_avail=np.array([1.0, 0.0]).reshape(2, 1, 1, 1),
    )
    spec = toy_spec(
        years={"start": 2027, "end": 2031},
        instruments={"offtake": {"reservation_share": 0.0, "start_every_years": 2}},
    )
    m = build_model(spec, inp).model
    assert int((m.variables["short_pri"].labels.values >= 0).sum()) == 0
    china = m.variables["spot_chn"].labels
    assert (china.sel(future=1).values < 0).all()
    assert (china.sel(future=0).values >= 0).all()
    for name in ("mc_q1", "mc_q2", "mc_q3"):
        assert int((m.constraints[name].labels.values >= 0).sum()) == 0
    n_wz = int((m.variables["o_cofin"].labels.values >= 0).sum())
    assert n_wz > 0
    assert int((m.constraints["mc_z1"].labels.values >= 0).sum()) == n_wz
    cap = m.constraints["offtake_capacity"]
    assert list(cap.labels.coords["year"].values) == [2027, 2029, 2031]
