"""Offtake contracts and price floors on a hand-built one-stage toy chain.

Regions CHN, AUS, JPN, USA; one stage (separated oxide, what users consume). China and
Australia each make 50 t/month (headroom 0: no spare capacity unless a test gives some);
China ships everything to the USA, Australia everything to Japan, so US and Japanese demand
are 50 t/month each and users start with two months of cover (100 t). Demand, prices and
substitution are frozen (elasticities 0), so shortfalls can be worked out by hand.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import yaml

from critmin.errors import DataError
from critmin.model.stages import Stage
from critmin.simulate.chains.network import Network
from critmin.simulate.engine import EngineParams
from critmin.simulate.inputs.events import parse_event
from critmin.simulate.inputs.policy import compile_policy
from critmin.simulate.inputs.scenario import Event, EventKind, Scenario
from tests.unit.helpers import engine_run, frozen_params, no_projects, toy_network

REGIONS = ("CHN", "AUS", "JPN", "USA")
CHN, AUS, JPN, USA = range(4)
T = 12
STAGES = ("separation",)


def network() -> Network:
    share = np.array([[0.5, 0.5, 0.0, 0.0]])
    ship = np.zeros((1, 4, 4))
    ship[0, CHN, USA] = 1.0
    ship[0, AUS, JPN] = 1.0
    ship[0, JPN, JPN] = 1.0
    ship[0, USA, USA] = 1.0
    volume = np.array([100.0])
    projects = no_projects()
    demand0 = (share[0] * volume[0]) @ ship[0]
    origin = np.array([[1.0, 0.0, 0.0, 0.0]])
    return toy_network(
        share,
        ship,
        volume,
        demand0,
        origin,
        regions=REGIONS,
        projects=projects,
        stages=STAGES,
        product="oxide",
    )


def params(n: int = 1, **over: float) -> EngineParams:
    """Frozen toy parameters; every exported tonne is under a licence regime when one is in force."""
    return frozen_params(
        n, 4, **{"controlled_share_last_stage": 1.0, "controlled_share_upstream": 1.0, **over}
    )


def ev(kind: EventKind, month: int, ident: str, **kw: object) -> Event:
    """An event dated month ``month``; kinds that act at a stage act at separation."""
    staged = kind not in (EventKind.LIFT, EventKind.SUSPEND, EventKind.APPROVAL_RATE, EventKind.STOCKPILE)
    stages = {"stages": [Stage.SEPARATION]} if staged else {}
    return parse_event({"id": ident, "date": dt.date(2024, 1 + month, 1), "kind": kind, **stages, **kw})


US_BAN = ev(EventKind.BAN, 3, "ban", destinations=["USA"])
OFFTAKE = ev(EventKind.OFFTAKE, 3, "aus-us", region="USA", seller="AUS", volume_t_per_year=360.0)


def run(events: list[Event], **over: float):  # type: ignore[no-untyped-def]
    pol = compile_policy(tuple(events), "2024-01", T, REGIONS, 1, None, defence_share=0.03, stages=STAGES)
    metrics, _, trace = engine_run(network(), params(**over), pol, T, keep_trace=True, check_balance=True)
    assert trace is not None
    assert np.nanmax(trace.balance_residual) < 1e-9  # every node balances, offtakes included
    return metrics, trace


def test_ban_without_offtake_leaves_the_us_short_after_two_months_of_cover() -> None:
    """No receipts from month 3: 100 t cover lasts to month 4; months 5-11 short 50 t each."""
    m, tr = run([US_BAN])
    np.testing.assert_allclose(tr.shortfall[:, 0, USA], [0] * 5 + [50.0] * 7, atol=1e-9)
    assert m.cumulative_shortfall_t[0, USA] == pytest.approx(350.0)
    assert m.cumulative_shortfall_t[0, JPN] == pytest.approx(0.0, abs=1e-9)


def test_offtake_is_served_before_the_baseline_shipments() -> None:
    """30 t/month from Australia to the USA first; Japan gets the remaining 20 t/month.

    USA: inventory 100 falls by 20 a month from month 3 (130-50, ...) and is empty after
    month 7, so months 8-11 are short 20 t: 80 t. Japan: inventory falls by 30 a month
    (120-50, 90-50, 60-50), month 6 has 10 + 20 = 30 (short 20), months 7-11 short 30: 170 t.
    """
    m, tr = run([US_BAN, OFFTAKE])
    np.testing.assert_allclose(tr.shortfall[:, 0, USA], [0] * 8 + [20.0] * 4, atol=1e-9)
    np.testing.assert_allclose(tr.shortfall[:, 0, JPN], [0] * 6 + [20.0] + [30.0] * 5, atol=1e-9)
    assert m.cumulative_shortfall_t[0, USA] == pytest.approx(80.0)
    assert m.cumulative_shortfall_t[0, JPN] == pytest.approx(170.0)
    # an offtake moves supply, it creates none: what users outside China consumed plus what
    # they hold at the end is the same with and without the contract
    _, base = run([US_BAN])
    ex = [JPN, USA]
    got = tr.consumption[:, 0, ex].sum() + tr.inventory[-1, 0, ex].sum()
    assert got == pytest.approx(base.consumption[:, 0, ex].sum() + base.inventory[-1, 0, ex].sum())


def test_offtake_is_capped_by_the_sellers_output_and_served_in_timeline_order() -> None:
    """Two contracts of 40 t/month each on 50 t/month: the first gets 40, the second 10."""
    first = ev(EventKind.OFFTAKE, 0, "a-first", region="USA", seller="AUS", volume_t_per_year=480.0)
    second = ev(EventKind.OFFTAKE, 0, "b-second", region="CHN", seller="AUS", volume_t_per_year=480.0)
    _, tr = run([first, second])
    # Japan receives nothing from Australia: it burns its 100 t cover in two months.
    np.testing.assert_allclose(tr.shortfall[:, 0, JPN], [0, 0] + [50.0] * 10, atol=1e-9)
    # The USA gets China's 50 plus 40 contracted: never short.
    assert tr.shortfall[:, 0, USA].max() == pytest.approx(0.0, abs=1e-9)


def test_offtake_inactive_outside_its_dates() -> None:
    ended = ev(EventKind.OFFTAKE, 3, "short-deal", region="USA", seller="AUS", volume_t_per_year=360.0)
    lift = ev(EventKind.LIFT, 5, "deal-ends", targets=["short-deal"])
    _, tr = run([US_BAN, ended, lift])
    # the contract runs in months 3 and 4 only: 2 x 30 t more for the USA than with no deal
    m_no, _ = run([US_BAN])
    got = tr.shortfall[:, 0, USA].sum()
    assert got == pytest.approx(m_no.cumulative_shortfall_t[0, USA] - 60.0)


def test_price_floor_keeps_covered_producers_at_capacity() -> None:
    """Headroom 0.5: Australia can make 75 t/month but the market asks for 50 t.

    A floor covering Australia from month 2 makes it run at 75: Japan's inventory grows by
    25 t a month (it only consumes 50), 10 months x 25 = 250 t by month 11.
    """
    floor = ev(EventKind.PRICE_FLOOR, 2, "floor", price_usd_per_kg=110.0, region="AUS")
    _, base = run([], capacity_headroom=0.5)
    _, tr = run([floor], capacity_headroom=0.5)
    gain = tr.inventory[-1, 0, JPN] - base.inventory[-1, 0, JPN]
    assert gain == pytest.approx(250.0)
    # China is not covered: its output, hence US receipts and stocks, do not change
    assert tr.inventory[-1, 0, USA] == pytest.approx(base.inventory[-1, 0, USA])


def test_floor_without_region_changes_no_supply() -> None:
    floor = ev(EventKind.PRICE_FLOOR, 2, "floor", price_usd_per_kg=110.0)
    _, base = run([], capacity_headroom=0.5)
    _, tr = run([floor], capacity_headroom=0.5)
    np.testing.assert_allclose(tr.inventory, base.inventory)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"seller": "AUS", "volume_t_per_year": 10},
            "column 'events.0.region': missing required key 'region'",
        ),
        (
            {"region": "USA", "volume_t_per_year": 10},
            "column 'events.0.seller': missing required key 'seller'",
        ),
        ({"region": "USA", "seller": "USA", "volume_t_per_year": 10}, "the seller 'USA' is the buyer"),
        ({"region": "USA", "seller": "CHN", "volume_t_per_year": 10}, "offtakes from CHN"),
        ({"region": "USA", "seller": "XXX", "volume_t_per_year": 10}, "unknown seller"),
        ({"region": "USA", "seller": "AUS", "volume_t_per_year": -1}, "greater than or equal to 0"),
    ],
)
def test_bad_offtake_events_name_the_problem(tmp_path: Path, extra: dict[str, object], message: str) -> None:
    ev_yaml = {"id": "deal", "date": "2027-01-01", "kind": "offtake", "stages": ["separation"], **extra}
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump({"name": "bad", "events": [ev_yaml]}), encoding="utf-8")
    with pytest.raises(DataError) as err:
        Scenario.from_yaml(p)
    text = str(err.value)
    assert message in text
    assert "bad.yaml" in text
    assert "events" in text


def test_offtake_within_one_region_is_skipped() -> None:
    """A seller in the buyer's own model region moves nothing between regions: no contract
    (Germany and France are both in ROW here; a seller equal to the buyer is refused outright)."""
    same = ev(EventKind.OFFTAKE, 0, "intra", region="FRA", seller="DEU", volume_t_per_year=100.0)
    pol = compile_policy((same,), "2024-01", T, REGIONS, 1, None, defence_share=0.03, stages=STAGES)
    assert pol.offtakes == []
    deal = ev(EventKind.OFFTAKE, 0, "deal", region="USA", seller="AUS", volume_t_per_year=120.0)
    pol = compile_policy((deal,), "2024-01", T, REGIONS, 1, None, defence_share=0.03, stages=STAGES)
    assert [(o.seller, o.buyer, o.t_month) for o in pol.offtakes] == [(AUS, USA, 10.0)]


def test_bundled_allied_acceleration_offtakes_reach_the_engine() -> None:
    from critmin.simulate import simulate

    res = simulate("allied-acceleration", paths=1, seed=0)
    ids = {e.id for e in res.scenario.timeline() if e.kind is EventKind.OFFTAKE}
    assert ids, "allied-acceleration bundles offtake contracts"
    assert all(e.source_id or e.note for e in res.scenario.timeline() if e.kind is EventKind.OFFTAKE)
