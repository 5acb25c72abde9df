"""Single-chain commodity models (gallium, germanium, graphite, antimony, tungsten).

* :func:`balanced_shipping` on hand-computed toy cases and as a hypothesis property;
* :func:`build_chain_network` on the bundled dataset against figures read by hand from the
  USGS Mineral Commodity Summaries rows it cites (world output, US demand) and from
  ``simulate/chains/chains.yaml`` (China's demand share, labelled refinery shares);
* which events apply to which chain (:func:`events_for`), and the scenario errors that name
  the file, line and key;
* the engine on single chains (mass balance, a ban's shortfall, stricter controls) and on
  several chains at once (``us-embargo``; adding a chain leaves the first one unchanged).

The run-level tests use few paths (1 = deterministic medians, 20 or 50).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from critmin.data.dataset import Dataset
from critmin.data.load import load_dataset
from critmin.errors import DataError
from critmin.model.stages import Stage
from critmin.simulate import simulate
from critmin.simulate.chains.network import EXPORT_WEIGHTS, EXPORT_WEIGHTS_ASSUMPTION, Network
from critmin.simulate.chains.registry import CHAIN_IDS, chain_info
from critmin.simulate.chains.single import (
    DEMAND_WEIGHTS_ASSUMPTION,
    DYNAMICS_ASSUMPTION,
    balanced_shipping,
    build_chain_network,
)
from critmin.simulate.inputs.events import make_event
from critmin.simulate.inputs.policy import compile_policy, events_for
from critmin.simulate.inputs.scenario import (
    DEFAULT_REGIONS,
    EventKind,
    Scenario,
    assumption_texts,
    history_events,
    load_scenario,
)
from critmin.simulate.result import SimulationResult

F = npt.NDArray[np.float64]
SINGLE = ("gallium", "germanium", "graphite", "antimony", "tungsten")


@cache
def dataset() -> Dataset:
    return load_dataset()


@cache
def network(commodity: str, regions: tuple[str, ...] = DEFAULT_REGIONS) -> Network:
    return build_chain_network(dataset(), commodity, regions)


@cache
def chains_yaml() -> dict[str, Any]:
    """``simulate/chains/chains.yaml`` read directly, independently of :func:`chain_spec`."""
    text = resources.files("critmin.simulate.chains").joinpath("chains.yaml").read_text("utf-8")
    raw: dict[str, Any] = yaml.safe_load(text)
    return raw


def idx(region: str, regions: tuple[str, ...] = DEFAULT_REGIONS) -> int:
    return regions.index(region)


# --------------------------------------------------------------------------- balanced_shipping
# Worked by hand from own = min(s, n), surplus S = s - own, deficit D = n - own,
# flow_ij = own_i [i = j] + S_i D_j / sum(D), each row divided by s_i.
HAND_CASES = [
    pytest.param(
        # own = (.2, .3, .1); S = (.4, 0, 0); D = (0, .2, .2): region 0 keeps .2 and sends
        # .2 to each deficit, so its row is (.2, .2, .2) / .6.
        [0.6, 0.3, 0.1],
        [0.2, 0.5, 0.3],
        [[1 / 3, 1 / 3, 1 / 3], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        id="one-surplus-two-deficits",
    ),
    pytest.param(
        # own = (.1, .1, .2, 0); S = (.4, .2, 0, 0); D = (0, 0, .2, .4), sum D = .6.
        # Row 0: (.1, 0, .4/3, .8/3) / .5 = (1/5, 0, 4/15, 8/15);
        # row 1: (0, .1, .2/3, .4/3) / .3 = (0, 1/3, 2/9, 4/9); region 3 makes nothing: eye.
        [0.5, 0.3, 0.2, 0.0],
        [0.1, 0.1, 0.4, 0.4],
        [[1 / 5, 0.0, 4 / 15, 8 / 15], [0.0, 1 / 3, 2 / 9, 4 / 9], [0, 0, 1, 0], [0, 0, 0, 1]],
        id="two-surpluses-two-deficits",
    ),
    pytest.param(
        # need (1, 1, 0) is scaled to supply's total 4: (2, 2, 0). own = (2, 0, 0);
        # region 2's surplus 2 all goes to region 1; region 1 makes nothing: eye.
        [2.0, 0.0, 2.0],
        [1.0, 1.0, 0.0],
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]],
        id="need-scaled-to-supply",
    ),
]


@pytest.mark.parametrize(("supply", "need", "expected"), HAND_CASES)
def test_balanced_shipping_hand_cases(
    supply: list[float], need: list[float], expected: list[list[float]]
) -> None:
    ship = balanced_shipping(np.array(supply), np.array(need))
    np.testing.assert_allclose(ship, np.array(expected, dtype=float), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ship.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    s, n = np.array(supply), np.array(need)
    np.testing.assert_allclose(s @ ship, n * s.sum() / n.sum(), rtol=0, atol=1e-12)


@st.composite
def supply_need(draw: st.DrawFn) -> tuple[F, F]:
    n = draw(st.integers(1, 8))
    # zeros and magnitudes of shares to tonnages; totals near the float limits (~1e-308)
    # overflow the scaling (see test_balanced_shipping_rejects_non_finite)
    value = st.one_of(st.just(0.0), st.floats(1e-9, 1e6))
    s = np.array(draw(st.lists(value, min_size=n, max_size=n)), dtype=float)
    d = np.array(draw(st.lists(value, min_size=n, max_size=n)), dtype=float)
    assume(s.sum() > 0 and d.sum() > 0)
    return s, d


@settings(max_examples=300, deadline=None)
@given(supply_need())
def test_balanced_shipping_meets_need_exactly(pair: tuple[F, F]) -> None:
    s, n = pair
    ship = balanced_shipping(s, n)
    n_scaled = n * s.sum() / n.sum()
    tol = 1e-9 * max(1.0, s.sum())
    assert ship.shape == (len(s), len(s))
    assert (ship >= 0).all()
    np.testing.assert_allclose(ship.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # every region receives exactly its (scaled) need ...
    np.testing.assert_allclose(s @ ship, n_scaled, rtol=0, atol=tol)
    # ... and supplies itself first: what it keeps is min(s, n_scaled)
    np.testing.assert_allclose(s * np.diag(ship), np.minimum(s, n_scaled), rtol=0, atol=tol)


@pytest.mark.parametrize(
    ("supply", "need"),
    [
        pytest.param([0.5, -0.1, 0.6], [0.3, 0.3, 0.4], id="negative-supply"),
        pytest.param([0.5, 0.5], [1.2, -0.2], id="negative-need"),
        pytest.param([0.0, 0.0], [0.5, 0.5], id="zero-supply"),
        pytest.param([0.5, 0.5], [0.0, 0.0], id="zero-need"),
    ],
)
def test_balanced_shipping_rejects_bad_input(supply: list[float], need: list[float]) -> None:
    with pytest.raises(DataError, match="non-negative with positive totals"):
        balanced_shipping(np.array(supply), np.array(need))


@pytest.mark.parametrize(
    ("supply", "need"),
    [
        pytest.param([np.nan, 1.0], [1.0, 1.0], id="nan-supply"),
        pytest.param([1.0, 1.0], [np.inf, 1.0], id="inf-need"),
    ],
)
def test_balanced_shipping_rejects_non_finite(supply: list[float], need: list[float]) -> None:
    with pytest.raises(DataError):
        balanced_shipping(np.array(supply), np.array(need))


# --------------------------------------------------------------------------- build_chain_network
# Read by hand from the bundled rows the chains cite (t/yr): world output of the chain's first
# stage in 2023 (USGS MCS 2024; germanium: the 140 t of assumption:sim-chain-germanium-refinery)
# and US primary demand from the salient statistics (sum of items minus `minus`).
FIGURES: dict[str, dict[str, Any]] = {
    "gallium": {
        "world_t": 610.0,  # separation, WLD 2023
        "us_t": 19_000 / 1000,  # consumption 2023: 19,000 kg
        # + the US route via third countries (simulate/chains/trade.yaml)
        "sources": {"usgs-mcs2024", "reuters:2025-07-09-transshipment"},
    },
    "germanium": {
        "world_t": 140.0,
        "us_t": 30_000 / 1000,  # consumption 2022: 30,000 kg (MCS 2023)
        "sources": {"usgs-mcs2023", "reuters:2025-07-09-transshipment"},
    },
    "graphite": {
        "world_t": 1_600_000.0,  # mining, WLD 2023
        "us_t": 76_000.0,  # consumption 2023
        # processing shares (CHN "over 90%") from the IEA summary row of stage_shares
        "sources": {"usgs-mcs2024", "web:social-media-repost-summarising-:991f1788"},
    },
    "antimony": {
        "world_t": 83_000.0,  # mining, WLD 2023
        "us_t": 22_000.0 - 4_000.0,  # apparent consumption minus secondary production, 2023
        "sources": {"usgs-mcs2024", "reuters:2025-07-09-transshipment"},
    },
    "tungsten": {
        "world_t": 78_000.0,  # mining, WLD 2023
        "us_t": 1_500.0 + 10_000.0 - 550.0 - 3_300.0,  # net imports of concentrate and other, 2023
        "sources": {"usgs-mcs2024"},
    },
}


def test_every_single_chain_has_figures() -> None:
    assert set(FIGURES) == set(SINGLE) == set(CHAIN_IDS) - {"rare_earths"}
    assert set(chains_yaml()["chains"]) == set(SINGLE)


@pytest.mark.parametrize("commodity", SINGLE)
def test_chain_network_is_balanced(commodity: str) -> None:
    net = network(commodity)
    k_n = len(chains_yaml()["chains"][commodity]["stages"])
    assert net.share.shape == (k_n, len(DEFAULT_REGIONS))
    assert net.ship.shape == (k_n, len(DEFAULT_REGIONS), len(DEFAULT_REGIONS))
    np.testing.assert_allclose(net.share.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (net.share >= 0).all()
    assert (net.ship >= 0).all()
    np.testing.assert_allclose(net.ship.sum(axis=2), 1.0, rtol=0, atol=1e-12)
    # each stage's flows deliver exactly the next stage's input shares
    for k in range(k_n - 1):
        np.testing.assert_allclose(net.share[k] @ net.ship[k], net.share[k + 1], rtol=0, atol=1e-12)
    assert net.commodity == commodity
    assert net.stages == tuple(chains_yaml()["chains"][commodity]["stages"])
    assert net.product == chain_info(commodity).product
    assert net.projects.empty


@pytest.mark.parametrize("commodity", SINGLE)
def test_chain_volumes_and_demand_match_the_data(commodity: str) -> None:
    net = network(commodity)
    fig = FIGURES[commodity]
    monthly = fig["world_t"] / 12.0
    np.testing.assert_allclose(net.volume, monthly, rtol=1e-12)
    assert net.demand0.sum() == pytest.approx(monthly, rel=1e-12)
    china = chains_yaml()["chains"][commodity]["china_demand_share"]["value"]
    assert net.demand0[idx("CHN")] / monthly == pytest.approx(china, rel=1e-12)
    assert net.demand0[idx("USA")] / monthly == pytest.approx(fig["us_t"] / fig["world_t"], rel=1e-12)
    # the rest of the world's demand follows the export-destination weights
    rest = 1.0 - china - fig["us_t"] / fig["world_t"]
    weights = sum(EXPORT_WEIGHTS[r] for r in DEFAULT_REGIONS if r not in ("CHN", "USA"))
    for region in ("EU27", "KOR", "ROW", "MMR"):
        expected = rest * EXPORT_WEIGHTS[region] / weights
        assert net.demand0[idx(region)] / monthly == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_gallium_china_output_share_mcs2024() -> None:
    # MCS 2024: China 600 t of 610 t of primary gallium in 2023 (98.4%)
    assert network("gallium").share[0, idx("CHN")] == pytest.approx(600 / 610, abs=1e-3)


def test_labelled_refinery_shares() -> None:
    ge = network("germanium").share[0]
    assert ge[idx("CHN")] == pytest.approx(0.70)
    assert ge[idx("ROW")] == pytest.approx(0.30)
    sb = network("antimony").share[1]  # Belgium's 10% lands in EU27
    expected = {"CHN": 0.65, "EU27": 0.10, "IND": 0.05, "ROW": 0.20}
    assert {r: sb[idx(r)] for r in expected} == pytest.approx(expected)
    assert sb.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("commodity", ["graphite", "antimony"])
def test_china_keeps_its_ore_when_it_refines_more_than_it_mines(commodity: str) -> None:
    # China mines 77% (graphite) / 48% (antimony) but processes 90% / 65%: it is short of
    # ore, so it ships none abroad and no other refiner's input is of Chinese origin.
    net = network(commodity)
    c = idx("CHN")
    assert net.share[0, c] < net.share[1, c]
    assert net.ship[0, c, c] == pytest.approx(1.0)
    expected = np.zeros(len(DEFAULT_REGIONS))
    expected[c] = 1.0
    np.testing.assert_allclose(net.china_origin[1], expected, atol=1e-12)


@pytest.mark.parametrize("commodity", SINGLE)
def test_chain_provenance(commodity: str) -> None:
    net = network(commodity)
    assert set(net.source_ids) == FIGURES[commodity]["sources"]
    for sid in net.source_ids:
        dataset().source(sid)  # raises DataError for an uncatalogued id
    china = chains_yaml()["chains"][commodity]["china_demand_share"]["assumption"]
    assert {china, DEMAND_WEIGHTS_ASSUMPTION, DYNAMICS_ASSUMPTION, EXPORT_WEIGHTS_ASSUMPTION} <= set(
        net.assumption_ids
    )
    for stage in (chains_yaml()["chains"][commodity].get("shares") or {}).values():
        assert stage["assumption"] in net.assumption_ids
    missing = set(net.assumption_ids) - set(assumption_texts())
    assert not missing, f"assumption ids without a text: {missing}"


def test_chain_network_on_coarse_regions() -> None:
    # Japan's and Korea's gallium fold into ROW; every demand outside CHN/USA goes to ROW.
    regions = ("CHN", "USA", "ROW")
    net = network("gallium", regions)
    full = network("gallium")
    folded = sum(full.share[0, idx(r)] for r in DEFAULT_REGIONS if r not in ("CHN", "USA"))
    assert net.share[0, 2] == pytest.approx(folded)
    monthly = 610 / 12
    # China keeps 0.88 (chains.yaml, set from Jan-Jul 2023 customs exports; calib, issue 12)
    assert net.demand0 / monthly == pytest.approx([0.88, 19 / 610, 0.12 - 19 / 610])
    # without a USA region, US demand is part of the rest (ROW)
    no_us = network("gallium", ("CHN", "ROW"))
    assert no_us.demand0 / monthly == pytest.approx([0.88, 0.12])


def test_chain_network_errors() -> None:
    with pytest.raises(DataError, match="unobtainium") as err:
        build_chain_network(dataset(), "unobtainium", DEFAULT_REGIONS)
    assert err.value.column == "commodities"
    with pytest.raises(DataError) as err:
        build_chain_network(dataset(), "gallium", ("USA", "ROW"))
    assert err.value.column == "regions"


# --------------------------------------------------------------------------- events per chain
D = dt.date(2026, 12, 1)
GA_BAN = make_event(
    id="ga-ban", date=D, kind=EventKind.BAN, commodities=("gallium",), stages=(Stage.SEPARATION,)
)
GR_LIC = make_event(
    id="gr-lic",
    date=D,
    kind=EventKind.LICENCE,
    commodities=("graphite",),
    stages=(Stage.MINING, Stage.SEPARATION),
)
RE_LIC = make_event(id="re-lic", date=D, kind=EventKind.LICENCE)
SUSP = make_event(id="susp", date=dt.date(2027, 1, 1), kind=EventKind.SUSPEND, targets=("ga-ban", "gr-lic"))
LIFT = make_event(id="lift", date=dt.date(2027, 6, 1), kind=EventKind.LIFT, targets=("susp",))
RATE = make_event(id="rate", date=D, kind=EventKind.APPROVAL_RATE, approval_rate=0.2, targets=("gr-lic",))
TIMELINE = (GA_BAN, GR_LIC, RE_LIC, SUSP, LIFT, RATE)


@pytest.mark.parametrize(
    ("commodity", "ids"),
    [
        ("gallium", ["ga-ban", "susp", "lift"]),
        ("graphite", ["gr-lic", "susp", "lift", "rate"]),
        ("rare_earths", ["re-lic"]),
        ("germanium", []),
    ],
)
def test_events_for_follows_targets(commodity: str, ids: list[str]) -> None:
    # The suspension lists no commodities (default rare_earths) but its targets are a gallium
    # ban and a graphite licence: it applies to both chains and not to rare earths; the lift
    # of the suspension and the approval rate follow their targets the same way.
    assert [e.id for e in events_for(TIMELINE, commodity)] == ids


def test_event_commodities_default_to_rare_earths() -> None:
    assert RE_LIC.commodities == ("rare_earths",)
    # a suspension whose targets are not in the timeline applies by its own list
    orphan = make_event(id="orphan", date=D, kind=EventKind.SUSPEND, targets=("nowhere",))
    assert events_for((orphan,), "rare_earths") == (orphan,)
    assert events_for((orphan,), "gallium") == ()


def test_history_events_per_chain() -> None:
    hist = history_events()
    ga = {e.id for e in events_for(hist, "gallium")}
    assert ga == {
        "mofcom-2023-23",
        "mofcom-2024-46-us-ban",
        "suspension-2024-46-clause2",
        "mofcom-2026-1-japan",
    }
    gr = {e.id for e in events_for(hist, "graphite")}
    assert gr == {
        "mofcom-2023-39-graphite",
        "mofcom-2024-46-graphite-review",
        "suspension-2024-46-clause2",
        "mofcom-2026-1-japan",
    }
    assert {e.id for e in events_for(hist, "tungsten")} == {"mofcom-2025-10-tungsten", "mofcom-2026-1-japan"}
    re_ = {e.id for e in events_for(hist, "rare_earths")}
    assert "suspension-2024-46-clause2" not in re_
    assert {"mofcom-2025-18", "london-framework-2025-06", "suspension-no70"} <= re_
    assert {"general-licences-2025-12", "mofcom-2026-1-japan", "japan-heavy-re-reviews-halted"} <= re_


def test_compiled_gallium_ban_follows_its_suspension() -> None:
    # controls-reimposed-2026-11, from 2024-01: the US-only ban (2024-12-03, month 11) is
    # suspended from 2025-11-09 (month 22) until 2026-11-27 (month 34, exclusive), so it is in
    # force in months 11-21 and from 34 on. The graphite target of the same suspension is
    # skipped for gallium, not reported as unknown.
    sc = load_scenario("controls-reimposed-2026-11")
    n = len(sc.months())
    pol = compile_policy(
        sc.timeline(),
        sc.start,
        n,
        sc.regions,
        1,
        None,
        defence_share=0.03,
        stages=("separation",),
        commodity="gallium",
    )
    assert [b.event.id for b in pol.bans] == ["mofcom-2024-46-us-ban", "mofcom-2026-1-japan"]
    assert [lic.event.id for lic in pol.licences] == ["mofcom-2023-23"]
    expected = np.zeros(n, dtype=bool)
    expected[11:22] = True
    expected[34:] = True
    np.testing.assert_array_equal(pol.bans[0].active, expected)
    assert pol.bans[0].stages == (0,)
    assert pol.bans[0].dest.tolist() == [r == "USA" for r in sc.regions]
    # the rare-earth approval-rate events do not reach gallium: no override in any month
    assert pol.approval_override is not None
    assert np.isnan(pol.approval_override).all()


def test_event_stages_map_to_chain_stages() -> None:
    pol = compile_policy(
        (GR_LIC,),
        "2026-01",
        24,
        DEFAULT_REGIONS,
        1,
        None,
        defence_share=0.03,
        stages=("mining", "separation"),
        commodity="graphite",
    )
    assert pol.licences[0].stages == (0, 1)
    ga = make_event(
        id="ga",
        date=D,
        kind=EventKind.BAN,
        commodities=("gallium",),
        stages=(Stage.SEPARATION, Stage.METAL_ALLOY, Stage.MAGNET),
    )
    pol = compile_policy(
        (ga,),
        "2026-01",
        24,
        DEFAULT_REGIONS,
        1,
        None,
        defence_share=0.03,
        stages=("separation",),
        commodity="gallium",
    )
    assert pol.bans[0].stages == (0,)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "scenario.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_unknown_scenario_commodity_names_file_line_and_key(tmp_path: Path) -> None:
    p = _write(tmp_path, "name: x\ncommodities: [gallium, unobtainium]\n")
    with pytest.raises(DataError) as err:
        Scenario.from_yaml(p)
    e = err.value
    assert (e.path, e.line, e.column) == (str(p), 2, "commodities")
    assert "unobtainium" in e.message
    assert f"{p}:2" in str(e)


def test_unknown_event_commodity_names_file_line_and_key(tmp_path: Path) -> None:
    text = (
        "name: x\n"
        "events:\n"
        "  - id: b\n"
        "    date: 2026-12-01\n"
        "    kind: ban\n"
        "    commodities: [gallium, unobtainium]\n"
    )
    p = _write(tmp_path, text)
    with pytest.raises(DataError) as err:
        Scenario.from_yaml(p)
    e = err.value
    assert (e.path, e.line, e.column) == (str(p), 6, "events.0.commodities")
    assert "unobtainium" in e.message


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("[]", "give a list of commodity chains"), ("[gallium, gallium]", "must not repeat")],
)
def test_bad_scenario_commodity_lists(tmp_path: Path, value: str, fragment: str) -> None:
    p = _write(tmp_path, f"name: x\ncommodities: {value}\n")
    with pytest.raises(DataError, match=fragment) as err:
        Scenario.from_yaml(p)
    assert err.value.column == "commodities"


@pytest.mark.parametrize("value", ["", "5"])
def test_null_or_scalar_commodities_is_a_data_error(tmp_path: Path, value: str) -> None:
    p = _write(tmp_path, f"name: x\ncommodities: {value}\n")
    with pytest.raises(DataError) as err:
        Scenario.from_yaml(p)
    assert err.value.column == "commodities"


# --------------------------------------------------------------------------- engine on chains
def chain_scenario(commodities: list[str], events: list[dict[str, Any]], **extra: Any) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "chain-test",
            "commodities": commodities,
            "include_history": False,
            "events": events,
            **extra,
        }
    )


def gallium_ban(destinations: str | list[str], enforcement: float = 0.0) -> dict[str, Any]:
    return {
        "id": "ga-ban",
        "date": "2026-12-01",
        "kind": "ban",
        "commodities": ["gallium"],
        "stages": ["separation"],
        "destinations": destinations,
        "enforcement": enforcement,
    }


@cache
def gallium_runs() -> dict[str, SimulationResult]:
    """Gallium alone, no history: no events, a US-only ban (rerouted, or enforced with no
    rerouting), a ban on all destinations; the dated bans hold to the end (no regime chain,
    which would ease them: tests/unit/test_regimes.py)."""
    cases = {
        "none": [],
        "usa": [gallium_ban(["USA"])],
        "usa_enforced": [gallium_ban(["USA"], enforcement=1.0)],
        "all": [gallium_ban("all")],
    }
    frozen = {"regime": {"stochastic": False}}
    return {
        name: simulate(chain_scenario(["gallium"], ev, **frozen), paths=20, seed=3, check_balance=True)
        for name, ev in cases.items()
    }


def test_gallium_yaml_scenario_balances(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "name: ga-yaml\n"
        "commodities: [gallium]\n"
        "end: 2028-12\n"
        "events:\n"
        "  - {id: ga-ban, date: 2026-12-01, kind: ban, commodities: [gallium],\n"
        "     stages: [separation], destinations: [USA]}\n",
    )
    r = simulate(str(p), paths=20, seed=0, check_balance=True)  # raises MassBalanceError if not
    assert list(r.chains) == ["gallium"]
    assert set(r.summary["product"]) == {"gallium_metal"}
    assert r.trace is not None
    assert np.nanmax(r.trace.balance_residual) < 1e-6
    # the history's licence (2023) and US ban reach gallium and are cited
    assert "web:mulemstudies-com:97e32b68" in r.chains["gallium"].source_ids
    assert "web:news-devevil-com:5a12e4c5" in r.source_ids


def test_gallium_without_controls_has_no_shortfall() -> None:
    m = gallium_runs()["none"].chains["gallium"].metrics
    assert m.peak_shortfall_pct.max() < 1e-6
    assert m.cumulative_shortfall_t.max() < 1e-6


def test_enforced_gallium_us_ban_creates_a_us_shortfall() -> None:
    m = gallium_runs()["usa_enforced"].chains["gallium"].metrics
    usa = idx("USA")
    # China makes 98% of the metal and every other producer is short itself: with the ban
    # enforced (no rerouting via third countries) only what other ex-China users sell on from
    # their stocks (prices up, their demand down) reaches the US.
    assert (m.peak_shortfall_pct[:, usa] > 30.0).all()
    assert np.median(m.peak_shortfall_pct[:, usa]) > 60.0
    assert (m.cumulative_shortfall_t[:, usa] > 0).all()
    assert m.cumulative_shortfall_t[:, idx("CHN")].max() < 1e-6


def test_gallium_us_ban_is_mostly_rerouted_through_third_countries() -> None:
    runs = gallium_runs()
    usa = idx("USA")
    loose = runs["usa"].chains["gallium"].metrics.cumulative_shortfall_t[:, usa]
    enforced = runs["usa_enforced"].chains["gallium"].metrics.cumulative_shortfall_t[:, usa]
    # 75% of US Chinese-origin gallium already came via Japan/Germany/Canada and half the
    # rest (leakage, median) is transshipped: the unenforced ban costs far less.
    assert (loose <= enforced + 1e-9).all()
    assert np.median(loose) < 0.25 * np.median(enforced)
    tr = runs["usa"].trace
    assert tr is not None
    after = slice(36, None)  # from Dec 2026 (the run starts 2024-01)
    # China's customs record no exports to the US after the ban; the routed flow shows at the hub
    assert tr.exports_chn[after, :, usa].max() < 1e-9
    assert (tr.exports_chn[after, :, idx("JPN")].sum(axis=0) > 0).all()


def test_stricter_gallium_ban_never_raises_ex_china_supply() -> None:
    runs = gallium_runs()
    looser, stricter = runs["usa"], runs["all"]
    assert looser.trace is not None
    assert stricter.trace is not None
    supply_loose = looser.trace.supply_ex_china.sum(axis=0)  # [P], t over the horizon
    supply_strict = stricter.trace.supply_ex_china.sum(axis=0)
    assert (supply_strict <= supply_loose * (1 + 1e-9)).all()
    ex = [i for i, r in enumerate(DEFAULT_REGIONS) if r != "CHN"]
    short_loose = looser.chains["gallium"].metrics.cumulative_shortfall_t[:, ex].sum(axis=1)
    short_strict = stricter.chains["gallium"].metrics.cumulative_shortfall_t[:, ex].sum(axis=1)
    assert (short_strict >= short_loose - 1e-6).all()
    assert (short_strict > short_loose).any()  # the ban on all destinations does bite


@pytest.mark.parametrize("commodity", ["graphite", "antimony"])
def test_two_stage_chain_balances_under_history(commodity: str) -> None:
    base = load_scenario("controls-reimposed-2026-11")
    # without rerouting or resale among ex-China users (both balance-checked below)
    closed = {"trade.leakage_share": 0.0, "trade.magnet_trade_share": 0.0}
    for params in ({}, closed):
        sc = Scenario.model_validate(
            {**base.model_dump(), "commodities": [commodity], "parameters": base.parameters | params}
        )
        r = simulate(sc, paths=20, seed=0, check_balance=True)
        assert r.trace is not None
        assert np.nanmax(r.trace.balance_residual) < 1e-6
        m = r.chains[commodity].metrics
        assert m.cumulative_shortfall_t[:, idx("CHN")].max() < 1e-6
    # the US-only licence regime of MOFCOM 2024 No.46 (graphite) / the US ban (antimony)
    # returns in November 2026 and, with no third-country route, cuts US supply
    assert np.median(m.cumulative_shortfall_t[:, idx("USA")]) > 0


def test_suspension_extension_reaches_gallium() -> None:
    # truce-holds extends the suspension of the US ban to the end of the horizon; in
    # controls-reimposed-2026-11 the ban returns in November 2026.
    def us_cum(name: str) -> float:
        base = load_scenario(name)
        # no leakage and no resale among ex-China users, so the ban months show (the
        # Japanese/German/Canadian route, via share 0.75, still runs; rerouting is tested above)
        closed = base.parameters | {"trade.leakage_share": 0.0, "trade.magnet_trade_share": 0.0}
        sc = Scenario.model_validate({**base.model_dump(), "commodities": ["gallium"], "parameters": closed})
        return float(simulate(sc, paths=1).chains["gallium"].metrics.cumulative_shortfall_t[0, idx("USA")])

    truce, reimposed = us_cum("truce-holds"), us_cum("controls-reimposed-2026-11")
    # the 2024-25 ban months count in both (covered by stocks and the third-country route)
    assert 0 <= truce < reimposed


def test_unknown_suspension_target_is_reported_in_any_chain() -> None:
    susp = {"id": "s", "date": "2026-01-01", "kind": "suspend", "targets": ["mofcom-2024-46-us-bna"]}
    sc = chain_scenario(["gallium"], [susp], end="2024-06")
    with pytest.raises(DataError, match="unknown event"):
        simulate(sc, paths=1)


# --------------------------------------------------------------------------- several chains
@pytest.fixture(scope="module")
def embargo() -> SimulationResult:
    return simulate("us-embargo", paths=50, seed=1, check_balance=True)


def test_us_embargo_runs_every_chain(embargo: SimulationResult) -> None:
    order = ["rare_earths", "gallium", "germanium", "antimony"]
    assert list(embargo.scenario.commodities) == order
    # the magnet makers' Dy + Tb feed runs inside the rare-earth chain and reports after it
    assert list(embargo.chains) == ["rare_earths", "dy_tb", *order[1:]]
    products = {"ndfeb_magnets", "dy_tb_oxide", "gallium_metal", "germanium_metal", "refined_antimony"}
    # "ndfeb_magnets:<sector>" rows split the magnet chain by end use; "ndpr_oxide" is the
    # price-floor cost row of the rare-earth chain
    base = set(embargo.summary["product"].str.split(":").str[0])
    assert base == products | {"ndpr_oxide"}
    assert {c: run.product for c, run in embargo.chains.items()} == {
        "rare_earths": "ndfeb_magnets",
        "dy_tb": "dy_tb_oxide",
        "gallium": "gallium_metal",
        "germanium": "germanium_metal",
        "antimony": "refined_antimony",
    }
    # every product has every metric (five, and its peak price in US$/kg) for every region
    rows = embargo.summary.loc[embargo.summary["region"].isin(DEFAULT_REGIONS)]
    counts = rows.groupby("product").size()
    assert (counts.loc[sorted(products)] == 6 * len(DEFAULT_REGIONS)).all()
    # the primary chain's metrics are the rare-earth ones
    assert embargo.metrics is embargo.chains["rare_earths"].metrics


def test_us_embargo_chain_provenance(embargo: SimulationResult) -> None:
    ga = embargo.chains["gallium"]
    assert "assumption:sim-chain-china-demand-gallium" in ga.assumption_ids
    assert "web:mulemstudies-com:97e32b68" in ga.source_ids  # MOFCOM 2023 No.23
    assert "web:mulemstudies-com:97e32b68" not in embargo.chains["rare_earths"].source_ids
    # every assumption has a text: the simulation's own, or a dataset source of kind assumption
    for a in embargo.assumption_ids:
        assert a in assumption_texts() or dataset().source(a).kind == "assumption", a
    assert set(ga.source_ids) <= set(embargo.source_ids)


def test_us_embargo_us_gallium_shortfall(embargo: SimulationResult) -> None:
    s = embargo.summary
    row = s.loc[
        (s["product"] == "gallium_metal") & (s["region"] == "USA") & (s["metric"] == "peak_shortfall_pct")
    ]
    assert len(row) == 1
    assert row["p5"].iloc[0] <= row["p50"].iloc[0] <= row["p95"].iloc[0]
    # Before rerouting the US lost ~100% for 121 months. Now 75% of its Chinese-origin gallium
    # comes via Japan, Germany and Canada (a US-only ban leaves it) and half the rest leaks via
    # third countries (median): the US-only ban costs it little beyond what the licence regime
    # costs everyone (the EU, not banned, peaks about as high under the licences' dead time).
    eu = s.loc[
        (s["product"] == "gallium_metal") & (s["region"] == "EU27") & (s["metric"] == "peak_shortfall_pct")
    ]
    assert row["p50"].iloc[0] < eu["p50"].iloc[0] + 25.0
    months = s.loc[
        (s["product"] == "gallium_metal") & (s["region"] == "USA") & (s["metric"] == "months_below_90pct")
    ]
    assert months["p50"].iloc[0] < 30.0


def test_equal_seeds_give_equal_multi_chain_results(embargo: SimulationResult) -> None:
    again = simulate("us-embargo", paths=50, seed=1)
    pd.testing.assert_frame_equal(again.summary, embargo.summary)
    for c, run in embargo.chains.items():
        for field in ("peak_shortfall_pct", "cumulative_shortfall_t", "output_at_risk_usd"):
            np.testing.assert_array_equal(
                getattr(again.chains[c].metrics, field), getattr(run.metrics, field)
            )
        pd.testing.assert_frame_equal(again.chains[c].bands, run.bands)


def test_different_seeds_give_different_chain_results() -> None:
    sc = chain_scenario(["gallium"], [gallium_ban("all")], end="2028-12")
    a = simulate(sc, paths=20, seed=1).chains["gallium"].metrics.cumulative_shortfall_t
    b = simulate(sc, paths=20, seed=2).chains["gallium"].metrics.cumulative_shortfall_t
    assert not np.array_equal(a, b)


def _with(name: str, commodities: list[str], **extra: Any) -> Scenario:
    base = load_scenario(name)
    return Scenario.model_validate({**base.model_dump(), "commodities": commodities, **extra})


def test_adding_a_chain_leaves_the_first_unchanged() -> None:
    short = {"end": "2029-12"}
    alone = simulate(_with("controls-reimposed-2026-11", ["rare_earths"], **short), paths=20, seed=5)
    both = simulate(
        _with("controls-reimposed-2026-11", ["rare_earths", "gallium"], **short), paths=20, seed=5
    )
    re_rows = both.summary.loc[~both.summary["product"].str.startswith("gallium_metal")]
    pd.testing.assert_frame_equal(re_rows.reset_index(drop=True), alone.summary)
    pd.testing.assert_frame_equal(both.bands, alone.bands)
    np.testing.assert_array_equal(both.metrics.cumulative_shortfall_t, alone.metrics.cumulative_shortfall_t)
    assert set(both.summary["product"]) - set(alone.summary["product"]) == {"gallium_metal"}
    # and the other way round: gallium first, then rare earths
    ga_alone = simulate(_with("controls-reimposed-2026-11", ["gallium"], **short), paths=20, seed=5)
    ga_first = simulate(
        _with("controls-reimposed-2026-11", ["gallium", "rare_earths"], **short), paths=20, seed=5
    )
    for field in ("peak_shortfall_pct", "cumulative_shortfall_t", "peak_price_ratio"):
        np.testing.assert_array_equal(
            getattr(ga_first.chains["gallium"].metrics, field),
            getattr(ga_alone.chains["gallium"].metrics, field),
        )
