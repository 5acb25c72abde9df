"""Rerouting through third countries (critmin.simulate.engine.reroute), by hand.

Toy chain: CHN makes 100 t/month of magnets (one stage) and ships 50 t to the USA and 50 t
to ROW, whose users need 50 t/month each (cover 2 months). A US-only ban from month 3 keeps
the 50 t home; with leakage L, L x 50 t leaves China for ROW (China's customs: ROW) and goes
on to the USA the same month.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from critmin.errors import DataError
from critmin.model.stages import Stage
from critmin.simulate.engine.reroute import reroute_share
from critmin.simulate.inputs.events import parse_event
from critmin.simulate.inputs.policy import compile_policy
from critmin.simulate.inputs.scenario import Event, EventKind, load_scenario
from tests.unit import helpers
from tests.unit.helpers import engine_run, frozen_params

REGIONS = ("CHN", "USA", "ROW")
C, US, ROW = 0, 1, 2
T = 8


def net(via_us: float = 0.0) -> helpers.Network:
    share = np.array([[1.0, 0.0, 0.0]])
    ship = np.array([[[0.0, 0.5, 0.5], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    volume = np.array([100.0])
    demand0 = (share[0] * volume[0]) @ ship[0]
    n = helpers.toy_network(
        share, ship, volume, demand0, np.array([[1.0, 0.0, 0.0]]), regions=REGIONS, stages=("magnet",)
    )
    if not via_us:
        return n
    import dataclasses

    via = np.zeros((1, 3))
    via[0, US] = via_us
    return dataclasses.replace(n, via_share=via, via_hub=np.array([ROW, ROW, ROW]))


def ban(destinations: object = ("USA",), enforcement: float = 0.0) -> Event:
    return parse_event(
        {
            "id": "ban",
            "date": dt.date(2024, 4, 1),
            "kind": EventKind.BAN,
            "stages": (Stage.MAGNET,),
            "destinations": destinations,
            "enforcement": enforcement,
        }
    )


def run(events: list[Event], leak: float, via_us: float = 0.0):  # type: ignore[no-untyped-def]
    params = frozen_params(1, 3, leakage_share=leak)
    pol = compile_policy(
        tuple(events), "2024-01", T, REGIONS, 1, None, defence_share=0.03, stages=("magnet",)
    )
    _, _, tr = engine_run(net(via_us), params, pol, T, keep_trace=True, check_balance=True)
    assert tr is not None
    assert np.nanmax(tr.balance_residual) < 1e-9  # the rerouted flow is booked
    return tr


def test_leakage_routes_exactly_its_share_of_a_banned_flow_via_the_hub() -> None:
    """L = 0.3: from month 3 China's customs show 0 t to the USA and 50 + 15 t to ROW; the US
    gets 15 t/month: its 100 t of cover lasts 100 / 35 months, then it is 35 t short."""
    tr = run([ban()], 0.3)
    np.testing.assert_allclose(tr.exports_chn[3:, 0, US], 0.0, atol=1e-12)
    np.testing.assert_allclose(tr.exports_chn[3:, 0, ROW], 65.0)
    np.testing.assert_allclose(tr.exports_chn[:3, 0, US], 50.0)
    # US: 100 t stock at month 3 start; +15 -50 a month -> 65, 30, then 0 with 5 t short
    np.testing.assert_allclose(tr.inventory[3:6, 0, US], [65.0, 30.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(tr.shortfall[5:, 0, US], [5.0, 35.0, 35.0], atol=1e-9)
    assert tr.shortfall[:, 0, ROW].max() == pytest.approx(0.0)


def test_enforcement_shrinks_the_leakage() -> None:
    """Enforcement 0.5 halves it: 7.5 t a month reach the USA (ROW's customs row 57.5 t)."""
    tr = run([ban(enforcement=0.5)], 0.3)
    np.testing.assert_allclose(tr.exports_chn[3:, 0, ROW], 57.5)
    np.testing.assert_allclose(tr.shortfall[-1, 0, US], 42.5)


def test_no_route_when_the_hub_is_banned_too() -> None:
    tr = run([ban("all")], 0.9)
    np.testing.assert_allclose(tr.shortfall[-1, 0, US], 50.0)
    np.testing.assert_allclose(tr.exports_chn[3:, 0, ROW], 0.0, atol=1e-12)


def test_baseline_route_is_recorded_at_the_hub_and_survives_a_destination_ban() -> None:
    """via 0.6: before the ban China's customs show 20 t to the USA and 30 + 50 = 80 t to ROW;
    after it (no leakage) the 30 t via ROW still arrive, the direct 20 t stop: the US draws
    20 t a month from its 100 t of cover."""
    tr = run([ban()], 0.0, via_us=0.6)
    np.testing.assert_allclose(tr.exports_chn[:3, 0, US], 20.0)
    np.testing.assert_allclose(tr.exports_chn[:3, 0, ROW], 80.0)
    np.testing.assert_allclose(tr.exports_chn[3:, 0, US], 0.0, atol=1e-12)
    np.testing.assert_allclose(tr.exports_chn[3:, 0, ROW], 80.0)
    np.testing.assert_allclose(tr.inventory[3:, 0, US], [80.0, 60.0, 40.0, 20.0, 0.0], atol=1e-9)


def test_reroute_share_by_hand() -> None:
    via = np.array([0.0, 0.6, 0.6])
    leak = np.array([[0.3], [0.5]])
    r = reroute_share(via, leak, 0.0, np.array([True, True, False]))
    np.testing.assert_allclose(r, [[0.3, 0.72, 0.0], [0.5, 0.8, 0.0]])  # 0.6 + L x 0.4
    np.testing.assert_allclose(reroute_share(via, leak, 1.0, np.ones(3, dtype=bool)), 0.0)


def test_enforcement_out_of_range_is_refused() -> None:
    with pytest.raises(ValidationError, match="enforcement"):
        ban(enforcement=1.5)


def test_enforcement_out_of_range_in_a_scenario_file_is_a_data_error(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(
        "name: bad\ncommodities: [gallium]\nevents:\n"
        "  - {id: b, date: 2026-12-01, kind: ban, commodities: [gallium], stages: [separation],\n"
        "     destinations: [USA], enforcement: 1.5}\n"
    )
    with pytest.raises(DataError, match="enforcement"):
        load_scenario(str(p))
