"""The closed loop: a portfolio as simulator events, replayed on unseen futures (critmin.plan.verify)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmin.plan.economics import load_economics
from critmin.plan.result import PlanResult, Status
from critmin.plan.spec import parse_plan
from critmin.plan.verify import (
    Verification,
    _replay,
    plan_events,
    separation_t_per_t_ndpr,
    verify_plan,
)
from critmin.simulate.inputs.events import parse_event

SPEC = parse_plan(
    "name: t\nbuyers: [{region: USA}, {region: JPN}]\nyears: {start: 2027, end: 2030}\n"
    "instruments: {floor: {allowed: true, strike_usd_per_kg: 110}}\n"
    "constraints:\n  coverage: [{region: USA, products: [ndfeb_magnet], min_share: 0.9}]\n"
    "  reciprocal: [{regions: [USA, JPN], products: [dytb_oxide], share: 0.25}]\n"
)


def _result(rows: list[dict[str, object]], spec: object = SPEC) -> PlanResult:
    return PlanResult(
        spec,  # type: ignore[arg-type]
        Status.OPTIMAL,
        1.0,
        "v",
        0,
        2,
        pd.DataFrame(rows),
        pd.DataFrame(),
        in_sample={"coverage USA >= 90% priority": 1.0},
    )


def row(instrument: str, product: str, host: str = "USA", **kw: object) -> dict[str, object]:
    base = {"instrument": instrument, "buyer": "USA", "project": "", "product": product, "host": host,
            "years": "2027-2030", "amount": 0.0, "unit": "", "detail": ""}  # fmt: skip
    return {**base, **kw}


PORTFOLIO = [
    row("stockpile", "ndfeb_magnet", amount=1300.0, detail="fill t: 2027: 100, 2029: 1,200"),
    row("stockpile", "ndpr_oxide", amount=50.0, detail="fill t: 2027: 50"),
    row("stockpile", "dytb_oxide", amount=20.0, detail="fill t: 2028: 20"),
    # two VNM magnet contracts: 200 t/yr 2027-2030 and 100 t/yr in 2029-2030 (tenor 2 of a
    # 2-year span); one with tenor 2 spread over a 4-year span (250 t/yr -> 125 t/yr)
    row("offtake", "ndfeb_magnet", "VNM", project="a", amount=200.0, detail="contract US$61/kg, tenor 4 yr"),
    row("offtake", "ndfeb_magnet", "VNM", project="b", years="2029-2030", amount=100.0, detail="tenor 2 yr"),
    row("offtake", "ndpr_oxide", "AUS", project="c", years="2028", amount=10.0, detail="tenor 1 yr"),
    row("offtake", "dytb_oxide", "AUS", project="h", years="2027-2030", amount=250.0, detail="tenor 2 yr"),
    row("offtake", "ndfeb_magnet", "USA", project="own", amount=900.0, detail="tenor 4 yr"),
    row("cofinance", "ndfeb_magnet", project="vulcan-benson", amount=120.0),
    row("cofinance", "ndpr_oxide", project="ucore-louisiana", amount=50.0),
    row("floor", "ndpr_oxide", project="energy-fuels-phase2", amount=1000.0),
]


def by_id(events: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(e["id"]): e for e in events}


def test_every_decision_becomes_an_event() -> None:
    events, notes, replayed = plan_events(_result(PORTFOLIO))
    for e in events:  # every event is valid for the simulator
        parse_event(e)
    ev = by_id(events)
    sep = separation_t_per_t_ndpr("controls-reimposed-2026-11")
    # 0.385 kg NdPr oxide per kg magnet (2.597 kg magnet per kg) over 320,900 / 390,000 t
    assert sep == pytest.approx((1 / (0.33 * 1.166)) * 390_000 / 320_900, rel=1e-6)
    assert replayed == {"stockpile": 3, "offtake": 5, "cofinance": 2, "floor": 1}
    # stockpiles: one per fill year, bought over its 12 months on the market, released on any need
    mag = ev["plan-stockpile-usa-ndfeb-magnet-2029"]
    assert (mag["amount_t"], mag["fill_months"], mag["fill_from"]) == (1200.0, 12, "market")
    assert (mag["release_when_short"], mag["release_share_per_month"]) == (0.0, 1.0)
    assert mag["commodities"] == ["rare_earths"]
    assert "stage" not in mag  # the users' stage
    ox = ev["plan-stockpile-usa-ndpr-oxide-2027"]
    assert ox["stage"] == "separation"
    assert ox["amount_t"] == pytest.approx(50.0 * sep)
    dy = ev["plan-stockpile-usa-dytb-oxide-2028"]
    assert dy["commodities"] == ["dy_tb"]
    assert dy["release_to"] == ["JPN"]  # the reciprocal agreement on Dy+Tb
    assert mag["release_to"] == []
    # offtakes: 200 t/yr 2027-28, 300 t/yr 2029-30 from VNM; the own-region contract needs none
    assert ev["plan-offtake-usa-vnm-ndfeb-magnet-2027"]["volume_t_per_year"] == pytest.approx(200.0)
    assert ev["plan-offtake-usa-vnm-ndfeb-magnet-2027-end"]["targets"] == [
        "plan-offtake-usa-vnm-ndfeb-magnet-2027"
    ]
    assert ev["plan-offtake-usa-vnm-ndfeb-magnet-2029"]["volume_t_per_year"] == pytest.approx(300.0)
    assert "plan-offtake-usa-vnm-ndfeb-magnet-2029-end" not in ev  # runs to the horizon's end
    assert not any("usa-usa" in k for k in ev)
    nd = ev["plan-offtake-usa-aus-ndpr-oxide-2028"]
    assert nd["volume_t_per_year"] == pytest.approx(10.0 * sep)
    assert nd["stages"] == ["separation"]
    assert str(ev["plan-offtake-usa-aus-ndpr-oxide-2028-end"]["date"]) == "2029-01-01"
    h = ev["plan-offtake-usa-aus-dytb-oxide-2027"]
    assert (h["commodities"], h["volume_t_per_year"]) == (["dy_tb"], pytest.approx(125.0))
    # co-financing: the pipeline project rescheduled; a project the pipeline lacks added
    vul = ev["plan-cofinance-vulcan-benson"]
    econ = load_economics().projects.set_index("project_id")
    assert vul["project"] == econ.loc["vulcan-benson", "sim_project"]
    assert vul["pull_months"] == pytest.approx(12 * econ.loc["vulcan-benson", "cofinance_pull_years"])
    assert vul["delay_spread"] == 0.5
    uc = ev["plan-cofinance-ucore-louisiana"]
    assert (uc["stage"], uc["country"]) == ("separation", "USA")
    assert uc["capacity_t_per_year"] == econ.loc["ucore-louisiana", "capacity_t_per_year"]
    assert str(uc["start"]) == "2026-07-01"  # announced 2026.5
    assert any("ucore-louisiana" in n for n in notes)
    # floors: the price floor and the floored project's delay tail cut
    assert ev["plan-price-floor"]["covered_t_per_year"] == 1000.0
    assert ev["plan-floor-energy-fuels-phase2"]["delay_tail"] == "cut"


def test_an_empty_portfolio_has_no_events() -> None:
    assert plan_events(_result([])) == ([], [], {})


def test_verification_table() -> None:
    v = Verification(10, 1, (), ({"target": "x", "in_sample": 1.0, "out_of_sample": 0.8, "gap": 0.2},))
    t = v.table()
    assert list(t.columns) == ["target", "in_sample", "out_of_sample", "gap"]
    assert t.gap.iloc[0] == 0.2
    assert v.to_dict()["targets"][0]["out_of_sample"] == 0.8


@pytest.mark.slow
def test_replay_moves_the_cofinanced_project_and_holds_the_oxide_stock() -> None:
    """The replay's simulator sees the co-financed Vulcan plant earlier on every path (its
    schedule pulled 3 months, spread halved, never later when its delay is above the median),
    the added Ucore plant, the oxide stockpile at the separation stage and the Dy+Tb one."""
    events, _, _ = plan_events(_result(PORTFOLIO))
    inputs, res = _replay(SPEC, events, 8, 5)
    base_inputs, _ = _replay(SPEC, [], 8, 5)
    ch, ch0 = (
        inputs.engine_inputs(inputs.blocks()[0])[0],
        base_inputs.engine_inputs(base_inputs.blocks()[0])[0],
    )
    names = list(ch.network.projects["project"])
    j = names.index("Vulcan Elements magnet facility (Benson, North Carolina)")
    assert names[-1].endswith("(ucore-louisiana)")
    s, s0 = ch.params.project_start_month[:, j], ch0.params.project_start_month[:, j]
    late = s0 - s0.min() >= 0  # all paths
    assert late.all()
    assert (np.abs(s - s.mean()) <= np.abs(s0 - s0.mean()) / 2 + 3.0 + 1e-9).all()
    assert res.trace.stage_stockpile is not None
    sep = res.trace.stage_stockpile[:, :, 1, inputs.scenario.regions.index("USA")]
    assert sep[:12].max() > 0  # oxide bought in 2027 (it may be released when metal makers lack it)


@pytest.mark.slow
def test_a_large_magnet_stockpile_raises_the_share_of_futures_meeting_defence_coverage() -> None:
    """30 kt of magnets bought in 2027 for the USA: the defence coverage target holds in at least
    as many unseen futures as without it, and in more of them when it ever failed without."""
    spec = SPEC.with_changes(years={"start": 2027, "end": 2030})
    none = verify_plan(_result([], spec), paths=24)
    big = [row("stockpile", "ndfeb_magnet", amount=30000.0, detail="fill t: 2027: 30,000")]
    some = verify_plan(_result(big, spec), paths=24)
    out0 = none.verification.rows[0]["out_of_sample"]
    out1 = some.verification.rows[0]["out_of_sample"]
    assert out1 >= out0
    if out0 < 1.0:
        assert out1 > out0
    assert some.verification.rows[0]["in_sample"] == 1.0


def test_every_sim_project_is_in_the_simulators_pipeline_of_its_chain() -> None:
    """The projects table's ``sim_project`` names a pipeline project of the right chain (the
    replay reschedules it by name), and only projects that are not operating base plants."""
    from critmin.data.load import load_dataset
    from critmin.simulate.chains.heavy import heavy_projects
    from critmin.simulate.chains.plants import plant_table
    from critmin.simulate.inputs.scenario import DEFAULT_REGIONS

    ds = load_dataset()
    plants = plant_table(ds)
    light = set(plants.loc[plants["role"] == "pipeline", "project"])
    heavy = set(heavy_projects(ds, DEFAULT_REGIONS)["project"])
    econ = load_economics().projects
    named = econ[econ["sim_project"] != ""]
    assert len(named) >= 20
    for r in named.itertuples():
        assert r.sim_project in (heavy if r.product == "dytb_oxide" else light), r.project_id
