"""The heavy rare-earth (Dy + Tb) feed of the magnet stage (critmin.simulate.chains.heavy).

Toy chain, worked by hand: regions CHN and USA each make 50 t/month of magnets (one stage,
headroom 0, so output stays at 50), each for its own users (two months of cover, 100 t).
The feed: China separates all 10 t/month of Dy + Tb and ships half to each region's magnet
makers (who hold two months, 10 t). Half the magnet output needs the feed (h = 0.5) at
q = 10 / (0.5 x 100) = 0.2 t per t, so each region needs 0.1 x 50 = 5 t/month. Prices,
demand growth and substitution are frozen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critmin.data.load import load_dataset
from critmin.errors import DataError
from critmin.model.stages import Stage
from critmin.simulate import RunInputs, simulate
from critmin.simulate.chains.heavy import (
    FEED_ID,
    build_feed_network,
    feed_timeline,
    feed_value_usd_per_kg,
    heavy_projects,
    is_heavy_project,
    regional_intensity,
)
from critmin.simulate.chains.network import Network
from critmin.simulate.engine import Feed
from critmin.simulate.inputs.events import parse_event
from critmin.simulate.inputs.policy import compile_policy
from critmin.simulate.inputs.scenario import Event, EventKind, Scenario, history_events, load_scenario
from tests.unit.helpers import engine_run, frozen_params, toy_network

REGIONS = ("CHN", "USA")
CHN, USA = 0, 1
T = 12


def main_net() -> Network:
    share = np.array([[0.5, 0.5]])
    ship = np.eye(2)[None, :, :]
    volume = np.array([100.0])
    demand0 = np.array([50.0, 50.0])
    origin = np.array([[1.0, 0.0]])
    return toy_network(share, ship, volume, demand0, origin, stages=("magnet",))


def feed_net() -> Network:
    share = np.array([[1.0, 0.0]])
    ship = np.array([[[0.5, 0.5], [0.0, 1.0]]])
    return toy_network(
        share,
        ship,
        np.array([10.0]),
        np.array([5.0, 5.0]),
        np.array([[1.0, 0.0]]),
        stages=("separation",),
        commodity=FEED_ID,
        product="dy_tb_oxide",
        extraterritorial_from=1,
    )


def ban(month: int, dest: list[str] | str = "all") -> Event:
    return parse_event(
        {
            "id": "dy-ban",
            "date": dt.date(2024, 1 + month, 1),
            "kind": "ban",
            "commodities": [FEED_ID],
            "stages": [Stage.SEPARATION],
            "destinations": dest,
        }
    )


def run_toy(events: list[Event], h: float = 0.5, n: int = 1, **over: float):  # type: ignore[no-untyped-def]
    main_pol = compile_policy((), "2024-01", T, REGIONS, n, None, defence_share=0.03, stages=("magnet",))
    f_pol = compile_policy(
        tuple(events),
        "2024-01",
        T,
        REGIONS,
        n,
        None,
        defence_share=0.03,
        stages=("separation",),
        commodity=FEED_ID,
    )
    fp = frozen_params(n, 2, controlled_share_last_stage=1.0, controlled_share_upstream=1.0, **over)
    feed = Feed(feed_net(), fp, f_pol, 0, h, 10.0 / (h * 100.0)) if h > 0 else None
    m, bands, tr = engine_run(
        main_net(), frozen_params(n, 2, **over), main_pol, T, keep_trace=True, check_balance=True, feed=feed
    )
    assert tr is not None
    assert np.nanmax(tr.balance_residual) < 1e-9  # both chains balance at every node and month
    return m, bands, tr


def test_a_dy_ban_stops_the_dy_bearing_half_of_us_magnets_after_the_cover_runs_out() -> None:
    """Ban from month 3: US makers' 10 t of Dy + Tb lasts months 3-4; from month 5 they get
    none and make 50 x (1 - 0.5) = 25 t. US users' 100 t of magnets then fall by 25 a month
    (75, 50, 25, 0 after months 5-8): months 9-11 are 25 t short (75 t). The feed itself is
    5 t short in each of months 5-11 (35 t). China is untouched."""
    m, _, tr = run_toy([ban(3, ["USA"])])
    np.testing.assert_allclose(tr.shortfall[:, 0, USA], [0.0] * 9 + [25.0] * 3, atol=1e-9)
    assert m.cumulative_shortfall_t[0, USA] == pytest.approx(75.0)
    assert m.cumulative_shortfall_t[0, CHN] == pytest.approx(0.0, abs=1e-9)
    assert m.feed is not None
    assert m.feed.cumulative_shortfall_t[0, USA] == pytest.approx(35.0)
    assert m.feed.months_below_90pct[0, USA] == 7
    assert m.feed.peak_shortfall_pct[0, USA] == pytest.approx(100.0)
    assert m.feed.cumulative_shortfall_t[0, CHN] == pytest.approx(0.0, abs=1e-9)


def test_all_dy_bearing_grades_gives_no_magnets_and_no_feed_no_effect() -> None:
    """h = 1: from month 5 US makers make nothing; 100 t cover lasts to month 6 (50, 0), months
    7-11 short 50 t (250 t). Without the feed (h = 0) the ban changes nothing."""
    _, _, tr = run_toy([ban(3, ["USA"])], h=1.0)
    np.testing.assert_allclose(tr.shortfall[:, 0, USA], [0.0] * 7 + [50.0] * 5, atol=1e-9)
    m0, _, _ = run_toy([ban(3, ["USA"])], h=0.0)
    assert m0.cumulative_shortfall_t[0, USA] == pytest.approx(0.0, abs=1e-9)
    assert m0.feed is None


def test_feed_bands_are_reported_beside_the_main_ones() -> None:
    _, bands, _ = run_toy([ban(3, ["USA"])])
    assert {"feed_shortfall_pct_ex_china_p50", "feed_price_ratio_ex_china_p95"} <= set(bands)
    # ex-China feed shortfall is 100% (the US is the only region outside China) from month 5
    np.testing.assert_allclose(bands["feed_shortfall_pct_ex_china_p50"][5:], 100.0)
    assert bands["feed_price_ratio_ex_china_p50"][6] > 1.0


def test_feed_must_share_regions_and_paths() -> None:
    pol = compile_policy((), "2024-01", T, REGIONS, 1, None, defence_share=0.03, stages=("magnet",))
    other = replace(feed_net(), regions=("CHN", "JPN"))
    f_pol = compile_policy(
        (), "2024-01", T, ("CHN", "JPN"), 1, None, defence_share=0.03, stages=("separation",)
    )
    with pytest.raises(DataError, match="other regions"):
        engine_run(
            main_net(), frozen_params(1, 2), pol, T, feed=Feed(other, frozen_params(1, 2), f_pol, 0, 0.5, 0.2)
        )
    f_pol = compile_policy((), "2024-01", T, REGIONS, 2, None, defence_share=0.03, stages=("separation",))
    with pytest.raises(DataError, match="number of paths"):
        engine_run(
            main_net(),
            frozen_params(1, 2),
            pol,
            T,
            feed=Feed(feed_net(), frozen_params(2, 2), f_pol, 0, 0.5, 0.2),
        )
    f_pol = compile_policy((), "2024-01", T, REGIONS, 1, None, defence_share=0.03, stages=("separation",))
    with pytest.raises(DataError, match="grade share"):
        engine_run(
            main_net(),
            frozen_params(1, 2),
            pol,
            T,
            feed=Feed(feed_net(), frozen_params(1, 2), f_pol, 0, 1.5, 0.2),
        )
    with pytest.raises(DataError, match="feed stage"):
        engine_run(
            main_net(),
            frozen_params(1, 2),
            pol,
            T,
            feed=Feed(feed_net(), frozen_params(1, 2), f_pol, 3, 0.5, 0.2),
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    h=st.floats(0.05, 1.0),
    cover=st.floats(0.0, 4.0),
    approval=st.floats(0.0, 1.0),
    lag=st.floats(1.0, 6.0),
    month=st.integers(0, T - 1),
    smoothing=st.floats(0.0, 0.9),
)
def test_property_balance_and_a_ban_never_beats_a_licence(
    h: float, cover: float, approval: float, lag: float, month: int, smoothing: float
) -> None:
    """Both chains balance (run_toy checks) and stocks stay non-negative; banning the feed
    never leaves US users with more magnets than licensing it, nor a licence more than none."""
    over = {
        "cover_months": cover,
        "approval_rate": approval,
        "licence_lag_months": lag,
        "price_smoothing": smoothing,
    }
    lic = parse_event(
        {
            "id": "dy-licence",
            "date": dt.date(2024, 1 + month, 1),
            "kind": "licence",
            "commodities": [FEED_ID],
            "stages": [Stage.SEPARATION],
        }
    )
    _, _, t_ban = run_toy([ban(month)], h=h, **over)
    _, _, t_lic = run_toy([lic], h=h, **over)
    _, _, t_none = run_toy([], h=h, **over)
    got = [tr.consumption[:, 0, USA].sum() for tr in (t_ban, t_lic, t_none)]
    assert got[0] <= got[1] + 1e-6
    assert got[1] <= got[2] + 1e-6
    assert (t_ban.inventory >= 0).all()


# ---- the bundled feed --------------------------------------------------------------------


@pytest.fixture(scope="module")
def ds():  # type: ignore[no-untyped-def]
    return load_dataset()


def test_heavy_projects_are_the_dy_tb_plants_with_feed_capacities_converted(ds) -> None:  # type: ignore[no-untyped-def]
    regions = load_scenario("baseline").regions
    p = heavy_projects(ds, regions).set_index("project")
    assert len(p) == 5
    lynas = p.loc["Lynas Malaysia heavy rare earth separation circuit"]
    assert lynas["capacity_t_month"] == pytest.approx(1500 * 0.0667 / 12)  # SEGH feed x yield
    assert lynas["start_year"] == 2025  # operating, but after the 2024 baseline
    assert p.loc["Mountain Pass heavy rare earth separation circuit", "capacity_t_month"] == pytest.approx(
        200 / 12
    )
    assert p.loc["Caremag (Lacq) - heavy RE refining", "region"] == regions.index("EU27")
    assert (p["stage"] == 0).all()
    assert not any("White Mesa" in x for x in p.index)  # an NdPr plant (with Dy, Tb by-products)
    # the rare-earth chain no longer counts them as NdPr separation capacity
    net = RunInputs.build("baseline", ds, paths=1).chains[0].network
    assert not set(p.index) & set(net.projects["project"])
    assert "Nolans (mine, beneficiation, extraction and separation)" not in set(p.index)


@pytest.mark.parametrize(
    ("stage", "product", "heavy"),
    [
        ("separation", "Dy and Tb oxides", True),
        ("separation", "DyTb oxide", True),
        ("separation", "separated HREE (Dy, Gd, Lu, Sm, Tb, Y)", True),
        ("separation", "NdPr oxide (+ Dy, Tb)", False),
        ("mining", "heavy RE (Dy, Tb), Ga, Be, Hf, Zr", False),
        ("separation", None, False),
        ("separation", float("nan"), False),
    ],
)
def test_is_heavy_project(stage: str, product: object, heavy: bool) -> None:
    assert is_heavy_project(stage, product) is heavy


def test_feed_network_sizes_need_to_magnet_output(ds) -> None:  # type: ignore[no-untyped-def]
    """Today's network (all ex-China makers in ROW): Japan's sourced 1,475 t/yr is booked to ROW,
    capped at 10 wt% of ROW's Dy-bearing grades; China takes the rest of V at one intensity."""
    sc = load_scenario("baseline")
    main = RunInputs.build(sc, ds, paths=1).chains[0].network
    f = build_feed_network(ds, main, dy_tb_t_per_year=4000.0, grade_share=0.58)
    makers = main.share[3] * main.volume[3] * 12.0  # t/yr
    c = sc.regions.index("CHN")
    assert f.net.demand0.sum() == pytest.approx(4000.0 / 12)
    jpn = sc.regions.index("JPN")
    assert makers[jpn] > 0  # Japan's makers are its own region (the plant table)
    assert f.intensity[jpn] == pytest.approx(0.10)  # 1,475 / (0.58 x Japan's output) > 10% -> cap
    assert f.net.demand0[jpn] * 12 == pytest.approx(0.10 * 0.58 * makers[jpn])
    assert f.derivation is not None
    assert f.derivation.cut_t_per_year[jpn] == pytest.approx(1475.0 - 0.10 * 0.58 * makers[jpn])
    assert "web:argus-media:8b2f5759" in f.net.source_ids
    # the USA carries MP's 0.02 t per t of magnets (also for its makers that start later)
    assert f.intensity[sc.regions.index("USA")] == pytest.approx(0.02 / 0.58)
    assert f.stage == 3
    assert f.grade_share == 0.58
    assert f.net.share[0, c] == pytest.approx(0.99)
    np.testing.assert_allclose(f.net.ship[0].sum(axis=1), 1.0)
    # shipping meets every region's need at baseline
    np.testing.assert_allclose((f.net.share[0] * f.net.volume[0]) @ f.net.ship[0], f.net.demand0)
    with pytest.raises(DataError, match="grade_share"):
        build_feed_network(ds, main, dy_tb_t_per_year=4000.0, grade_share=1.2)
    with pytest.raises(DataError, match="dy_tb_t_per_year"):
        build_feed_network(ds, main, dy_tb_t_per_year=-1.0, grade_share=0.5)
    with pytest.raises(DataError, match="no 'magnet' stage"):
        build_feed_network(ds, replace(main, stages=("mining",)), dy_tb_t_per_year=4000.0, grade_share=0.5)
    with pytest.raises(DataError, match="exceed the world volume"):
        build_feed_network(ds, main, dy_tb_t_per_year=500.0, grade_share=0.58)


def test_bundled_need_by_region_regression(ds) -> None:  # type: ignore[no-untyped-def]
    """The run's feed (bundled V = 3,100 t/yr, SMM 2024): Japan's makers (12,400 t/yr of magnets,
    the plant table) would need Jogmec's 1,475 t/yr, capped at 10 wt% of their Dy-bearing grades:
    719 t/yr; the USA 0.02 t/t of its 2,000 t; China and the rest share what is left."""
    sc = load_scenario("baseline")
    feed = RunInputs.build(sc, ds, paths=1).chains[0].feed
    assert feed is not None
    f = feed.network
    need = dict(zip(sc.regions, f.net.demand0 * 12.0, strict=True))
    assert sum(need.values()) == pytest.approx(3100.0)
    assert need["JPN"] == pytest.approx(0.10 * 0.58 * 12_400.0, abs=1.0)  # 719 t/yr
    assert need["USA"] == pytest.approx(0.02 * 2_000.0, abs=0.5)
    assert f.derivation is not None
    assert need["JPN"] + f.derivation.cut_t_per_year.sum() == pytest.approx(1475.0, abs=1.0)  # Jogmec
    assert need["CHN"] == pytest.approx(2291.0, abs=1.0)
    assert sum(v for k, v in need.items() if k != "CHN") == pytest.approx(809.0, abs=1.0)
    assert f.intensity[sc.regions.index("CHN")] == pytest.approx(0.0132, abs=1e-4)


def test_feed_network_with_japan_and_us_making_magnets(ds) -> None:  # type: ignore[no-untyped-def]
    """A toy network where JPN makes 7% and USA 1% of 333 kt: JPN gets its sourced 1,475 t/yr
    (at most 10 wt%), the USA 0.02 t per t of magnets (MP Materials), the rest share V - placed."""
    sc = load_scenario("baseline")
    main = RunInputs.build(sc, ds, paths=1).chains[0].network
    share = main.share.copy()
    r = {c: sc.regions.index(c) for c in ("CHN", "USA", "JPN", "ROW")}
    share[3] = 0.0
    share[3, r["CHN"]], share[3, r["JPN"]], share[3, r["USA"]], share[3, r["ROW"]] = 0.88, 0.07, 0.01, 0.04
    toy = replace(main, share=share)
    f = build_feed_network(ds, toy, dy_tb_t_per_year=4000.0, grade_share=0.58)
    made = share[3] * main.volume[3] * 12.0
    need = f.net.demand0 * 12.0
    # Japan: 1,475 / (0.58 x 23,310) = 10.9% -> capped at 10%: 1,352 t/yr
    assert need[r["JPN"]] == pytest.approx(0.10 * 0.58 * made[r["JPN"]])
    assert need[r["USA"]] == pytest.approx(0.02 * made[r["USA"]])  # 66.6 t/yr
    q_rest = (4000.0 - need[r["JPN"]] - need[r["USA"]]) / (0.58 * (made[r["CHN"]] + made[r["ROW"]]))
    assert f.intensity[r["CHN"]] == pytest.approx(q_rest)
    assert f.intensity[r["ROW"]] == pytest.approx(q_rest)
    assert need.sum() == pytest.approx(4000.0)
    np.testing.assert_allclose((f.net.share[0] * f.net.volume[0]) @ f.net.ship[0], f.net.demand0)


def test_regional_intensity_by_hand() -> None:
    """Known need / known output: F = (300, 100, 0) kt, N = (-, 2,000, 500) t, h = 0.5, V = 5,000."""
    got = regional_intensity(
        [300_000.0, 100_000.0, 0.0], [np.nan, 2_000.0, 500.0], grade_share=0.5, world_t_per_year=5_000.0
    )
    assert got.intensity[1] == pytest.approx(2_000.0 / 50_000.0)  # 4%
    assert got.intensity[0] == pytest.approx(3_000.0 / 150_000.0)  # 2%: the rest of V
    assert got.intensity[2] == pytest.approx(0.02)  # no output: the fallback (need 0 t)
    np.testing.assert_allclose(got.need_t_per_year, [3_000.0, 2_000.0, 0.0])
    np.testing.assert_array_equal(got.sourced, [False, True, False])
    assert got.rest_intensity == pytest.approx(0.02)
    # the cap: 4% -> 3%, the 500 t cut goes to the fallback region
    cap = regional_intensity(
        [300_000.0, 100_000.0],
        [np.nan, 2_000.0],
        grade_share=0.5,
        world_t_per_year=5_000.0,
        max_intensity=0.03,
    )
    np.testing.assert_allclose(cap.need_t_per_year, [3_500.0, 1_500.0])
    np.testing.assert_allclose(cap.cut_t_per_year, [0.0, 500.0])
    # no sourced need anywhere: one world intensity V / (h M)
    flat = regional_intensity(
        [300_000.0, 100_000.0], [np.nan, np.nan], grade_share=0.5, world_t_per_year=4_000.0
    )
    np.testing.assert_allclose(flat.intensity, 0.02)
    with pytest.raises(DataError, match="no region to use it"):
        regional_intensity([0.0, 100.0], [np.nan, 1.0], grade_share=0.5, world_t_per_year=10.0)
    with pytest.raises(DataError, match="exceed the world volume"):
        regional_intensity([100.0, 100.0], [np.nan, 20.0], grade_share=0.5, world_t_per_year=10.0)
    # a per-t intensity applies also where nothing is made yet: x / h, the need x F
    per = regional_intensity(
        [300_000.0, 100_000.0, 0.0],
        [np.nan, np.nan, np.nan],
        grade_share=0.5,
        world_t_per_year=5_000.0,
        per_t_magnet=[np.nan, 0.02, 0.01],
    )
    np.testing.assert_allclose(per.intensity, [3_000.0 / 150_000.0, 0.04, 0.02])
    np.testing.assert_allclose(per.need_t_per_year, [3_000.0, 2_000.0, 0.0])
    with pytest.raises(DataError, match="negative"):
        regional_intensity([100.0], [-1.0], grade_share=0.5, world_t_per_year=10.0)
    with pytest.raises(DataError, match="one non-negative value per region"):
        regional_intensity([100.0, -1.0], [np.nan, np.nan], grade_share=0.5, world_t_per_year=10.0)


def test_feed_value_weights_usgs_dy_and_tb_prices(ds) -> None:  # type: ignore[no-untyped-def]
    usd, src = feed_value_usd_per_kg(ds)
    assert usd == pytest.approx(0.75 * 260.0 + 0.25 * 810.0)  # USGS MCS 2025, 2024 prices
    assert src == "usgs-mcs2025-rare-earths"


def test_feed_timeline_marks_separation_controls_and_their_followers() -> None:
    tl = feed_timeline(load_scenario("controls-reimposed-2026-11").timeline())
    reach = {e.id for e in tl if FEED_ID in e.commodities}
    assert {"mofcom-2025-18", "mofcom-2025-oct-package", "london-framework-2025-06"} <= reach
    assert "approvals-tighten-2026-11" in reach
    hist = {e.id: e for e in history_events()}
    for e in tl:
        if e.id in hist and hist[e.id].kind is EventKind.PRICE_FLOOR:
            assert FEED_ID not in e.commodities  # floors and stockpiles are per product
        if FEED_ID in e.commodities and e.kind is EventKind.LICENCE:
            assert Stage.SEPARATION in e.stages
    # events of the other chains never reach the feed; one that lists rare earths as well does
    # (MOFCOM 2026 No. 1: dual-use items to Japanese military end users, every listed chain)
    assert not any(FEED_ID in e.commodities and "rare_earths" not in e.commodities for e in tl)
    assert FEED_ID in next(e for e in tl if e.id == "mofcom-2026-1-japan").commodities


def test_events_may_name_dy_tb_but_scenarios_may_not_run_it_alone() -> None:
    e = ban(0)
    assert e.commodities == (FEED_ID,)
    with pytest.raises(ValueError, match="dy_tb runs inside rare_earths"):
        Scenario.model_validate({"name": "x", "commodities": [FEED_ID]})


# ---- bundled runs ------------------------------------------------------------------------


def test_bundled_run_reports_the_feed_and_balances(ds) -> None:  # type: ignore[no-untyped-def]
    r = simulate("controls-reimposed-2026-11", paths=40, seed=1, dataset=ds, check_balance=True)
    assert list(r.chains) == ["rare_earths", FEED_ID]
    s = r.summary
    rows = s.loc[s["product"] == "dy_tb_oxide"]
    assert set(rows["metric"]) >= {"peak_shortfall_pct", "cumulative_shortfall_t", "peak_price_ratio"}
    assert (rows[["p5", "p50", "p95"]].to_numpy() >= 0).all()
    assert "assumption:sim-heavy-grade-share" in r.assumption_ids
    assert "web:chemical-engineering:62eb4a78" in r.source_ids
    bands = r.chains[FEED_ID].bands
    assert "price_ratio_ex_china_p50" in bands
    assert len(bands) == len(r.months)
    # the No.18 Dy/Tb licences of April 2025 lift the ex-China feed price
    b = bands.set_index("month")
    assert b.loc["2025-07", "price_ratio_ex_china_p50"] > 1.5 > b.loc["2025-01", "price_ratio_ex_china_p50"]


def test_grade_share_zero_is_the_chain_without_the_feed(ds) -> None:  # type: ignore[no-untyped-def]
    sc = load_scenario("us-embargo")
    off = sc.model_copy(update={"parameters": {**sc.parameters, "heavy.grade_share": 0.0}})
    r_on = simulate(sc, paths=30, seed=3, dataset=ds)
    r_off = simulate(off, paths=30, seed=3, dataset=ds)
    assert FEED_ID not in r_off.chains
    assert not (r_off.summary["product"] == "dy_tb_oxide").any()
    # the feed draws from its own seeds: the other chains' results are unchanged
    for chain in ("gallium", "germanium", "antimony"):
        a = r_on.chains[chain].metrics.cumulative_shortfall_t
        b = r_off.chains[chain].metrics.cumulative_shortfall_t
        np.testing.assert_array_equal(a, b)


def test_a_dy_tb_ban_tightens_the_feed_outside_china(ds) -> None:  # type: ignore[no-untyped-def]
    """heavy-ban-2026-12 against the same timeline without the ban (same seed): more Dy + Tb
    short outside China and a higher ex-China feed price, path by path in distribution."""
    sc = load_scenario("heavy-ban-2026-12")
    no_ban = sc.model_copy(update={"events": ()})
    on = simulate(sc, paths=100, seed=0, dataset=ds)
    off = simulate(no_ban, paths=100, seed=0, dataset=ds)

    def q(r, metric: str, region: str = "exCHN", col: str = "p95") -> float:  # type: ignore[no-untyped-def]
        s = r.summary
        row = s.loc[(s["region"] == region) & (s["product"] == "dy_tb_oxide") & (s["metric"] == metric)]
        return float(row[col].iloc[0])

    assert q(on, "cumulative_shortfall_t") > q(off, "cumulative_shortfall_t")
    assert q(on, "peak_price_ratio", "ROW", "p50") > q(off, "peak_price_ratio", "ROW", "p50")
    ex = [i for i, r in enumerate(sc.regions) if r != "CHN"]
    a = on.chains[FEED_ID].metrics.cumulative_shortfall_t[:, ex].sum(axis=1)
    b = off.chains[FEED_ID].metrics.cumulative_shortfall_t[:, ex].sum(axis=1)
    assert a.mean() > b.mean()
    # the Dy + Tb China keeps home eases China's own makers
    c = sc.regions.index("CHN")
    assert on.chains[FEED_ID].metrics.cumulative_shortfall_t[:, c].mean() <= (
        off.chains[FEED_ID].metrics.cumulative_shortfall_t[:, c].mean() + 1e-9
    )


def test_feed_price_parameter_is_the_best_of_its_grid(ds) -> None:  # type: ignore[no-untyped-def]
    """assumption:sim-heavy-price-fit: 0.85 fits the observed 3.07 (May) and 3.34 (July 2025)
    ex-China Dy + Tb price ratios better than its grid neighbours 0.80 and 0.90."""
    sc = load_scenario("backtest-2025-04")
    obs = {"2025-05": 3.07, "2025-07": 3.34}

    def err(se: float | None) -> float:
        import critmin.simulate.chains.heavy as heavy

        spec = heavy._raw()["feed"]["parameters"]
        old = spec["price.supply_elasticity"]
        try:
            if se is not None:
                spec["price.supply_elasticity"] = se
            b = simulate(sc, paths=200, seed=0, dataset=ds).chains[FEED_ID].bands.set_index("month")
        finally:
            spec["price.supply_elasticity"] = old
        return sum(np.log(b.loc[m, "price_ratio_ex_china_p50"] / v) ** 2 for m, v in obs.items())

    fitted = err(None)
    assert fitted < err(0.80)
    assert fitted < err(0.90)


def test_feed_events_without_the_feed_are_an_error(ds) -> None:  # type: ignore[no-untyped-def]
    sc = load_scenario("heavy-ban-2026-12")
    off = sc.model_copy(update={"parameters": {**sc.parameters, "heavy.grade_share": 0.0}})
    with pytest.raises(DataError, match=r"heavy-ree-ban-2026-12.*Dy \+ Tb feed"):
        simulate(off, paths=2, dataset=ds)
    ga = sc.model_copy(update={"commodities": ("gallium",)})
    with pytest.raises(DataError, match="include rare_earths"):
        simulate(ga, paths=2, dataset=ds)


def test_feed_event_at_a_stage_the_feed_lacks_is_an_error(ds) -> None:  # type: ignore[no-untyped-def]
    bad = parse_event(
        {
            "id": "dy-magnet",
            "date": "2026-12-01",
            "kind": "ban",
            "commodities": [FEED_ID],
            "stages": ["magnet"],
        }
    )
    sc = load_scenario("baseline").model_copy(update={"events": (bad,)})
    with pytest.raises(DataError, match=r"dy_tb chain has stages \['separation'\]"):
        simulate(sc, paths=2, dataset=ds)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    out=st.lists(st.floats(0.0, 1e5), min_size=2, max_size=6),
    frac=st.lists(st.one_of(st.none(), st.floats(0.0, 0.3)), min_size=6, max_size=6),
    h=st.floats(0.1, 1.0),
)
def test_regional_intensity_conserves_the_world_volume(
    out: list[float], frac: list[float | None], h: float
) -> None:
    """Whatever the outputs and sourced shares of V: needs >= 0, q <= cap where sourced, and
    the base-year need sums to V (the cap's cut goes to the fallback regions)."""
    v = 1_000.0
    f = np.array(out)
    need = np.array([np.nan if x is None else x * v for x in frac[: len(out)]])
    need[-1] = np.nan  # one fallback region at least
    total = np.nansum(need)
    if total > 0.9 * v:  # sourced needs within V (above it is a DataError, tested by hand)
        need *= 0.9 * v / total
    f[-1] = max(f[-1], 1.0)
    got = regional_intensity(f, need, grade_share=h, world_t_per_year=v, max_intensity=0.1)
    assert (got.intensity >= 0).all()
    assert (got.need_t_per_year >= 0).all()
    assert (got.intensity[got.sourced] <= 0.1 + 1e-12).all()
    assert got.need_t_per_year.sum() == pytest.approx(v, rel=1e-9)
