"""End-use sectors: the bundled split, allocation under shortage, streamed sector metrics.

Toy cases are worked by hand in the comments; the invariants of :func:`allocate` (bounds, mass
balance, tier order, pro rata within a tier) are checked by hypothesis over random inputs.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.simulate.engine.sectors import (
    SectorAccumulator,
    SectorShares,
    allocate,
    load_sectors,
    sector_shares,
)
from critmin.simulate.inputs.params import parameter_table

REGIONS = ("CHN", "USA", "EU27", "JPN", "KOR", "IND", "AUS", "MYS", "VNM", "BRA", "MMR", "ROW")
#: Toy split: defence, ev_traction, wind, industrial, electronics, other.
TOY_SHARES = np.array([[0.05, 0.40, 0.10, 0.15, 0.20, 0.10]])


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset.bundled()


@pytest.fixture(scope="module")
def bundled(ds: Dataset) -> SectorShares:
    return sector_shares(ds, REGIONS)


def _median(name: str) -> float:
    d = parameter_table()[name].default
    return float(d) if isinstance(d, int | float) else d.median()


def _assumption_ids() -> set[str]:
    text = resources.files("critmin.simulate.inputs").joinpath("assumptions.yaml").read_text("utf-8")
    return {a["id"] for a in yaml.safe_load(text)["assumptions"]}


# --------------------------------------------------------------------------- hand-worked allocation
def test_defence_first_then_pro_rata() -> None:
    # demand 100, use 70: defence (tier 0) gets its 5 t in full; the other 95 t of demand share
    # the remaining 65 t pro rata, i.e. each gets 65/95 = 13/19 of its demand.
    got = allocate(np.array([[100.0]]), np.array([[70.0]]), TOY_SHARES, [0, 1, 1, 1, 1, 1])
    f = 13 / 19
    want = [5.0, 40 * f, 10 * f, 15 * f, 20 * f, 10 * f]
    np.testing.assert_allclose(got[0, 0], want, rtol=1e-12)
    assert got[0, 0, 1] == pytest.approx(27.368421052631579)
    assert got.sum() == pytest.approx(70.0)


def test_three_tiers() -> None:
    # tiers: defence 0, EV 1, the rest 2. use 30: defence 5, EV 25 of its 40, the rest nothing.
    # use 70: defence 5, EV 40, the rest 25 of 55 -> each 25/55 of its demand.
    pri = [0, 1, 2, 2, 2, 2]
    demand = np.array([[100.0], [100.0]])
    got = allocate(demand, np.array([[30.0], [70.0]]), TOY_SHARES, pri)
    np.testing.assert_allclose(got[0, 0], [5.0, 25.0, 0.0, 0.0, 0.0, 0.0], atol=1e-12)
    f = 25 / 55
    np.testing.assert_allclose(got[1, 0], [5.0, 40.0, 10 * f, 15 * f, 20 * f, 10 * f], rtol=1e-12)


def test_priority_values_need_not_be_consecutive_and_order_is_lowest_first() -> None:
    # priority 7 for defence and 3 for the rest: the rest (3) is served first.
    got = allocate(np.array([[100.0]]), np.array([[95.0]]), TOY_SHARES, [7, 3, 3, 3, 3, 3])
    np.testing.assert_allclose(got[0, 0], [0.0, 40.0, 10.0, 15.0, 20.0, 10.0], atol=1e-12)


def test_full_supply_and_no_supply() -> None:
    demand = np.array([[100.0, 0.0, 50.0]])
    shares = np.repeat(TOY_SHARES, 3, axis=0)
    full = allocate(demand, demand, shares, [0, 1, 1, 1, 1, 1])
    np.testing.assert_allclose(full, demand[:, :, None] * shares[None], rtol=1e-12)
    none = allocate(demand, np.zeros_like(demand), shares, [0, 1, 1, 1, 1, 1])
    assert (none == 0).all()


def test_single_tier_is_plain_pro_rata() -> None:
    got = allocate(np.array([[200.0]]), np.array([[50.0]]), TOY_SHARES, [1] * 6)
    np.testing.assert_allclose(got[0, 0], 50.0 * TOY_SHARES[0], rtol=1e-12)


@pytest.mark.parametrize(
    ("demand", "use", "shares", "priority"),
    [
        ([[100.0]], [[101.0]], TOY_SHARES, [0, 1, 1, 1, 1, 1]),  # use > demand
        ([[100.0]], [[-1.0]], TOY_SHARES, [0, 1, 1, 1, 1, 1]),  # negative use
        ([[100.0]], [[50.0]], TOY_SHARES * 1.1, [0, 1, 1, 1, 1, 1]),  # rows sum to 1.1
        ([[100.0]], [[50.0]], TOY_SHARES, [0, 1, 1]),  # wrong priority length
        ([[100.0]], [[50.0]], TOY_SHARES, [0.0, 1, 1, 1, 1, 1.5]),  # non-integer priority
        ([[100.0, 1.0]], [[50.0, 1.0]], TOY_SHARES, [0, 1, 1, 1, 1, 1]),  # 2 regions, 1 row of shares
        ([[np.nan]], [[0.0]], TOY_SHARES, [0, 1, 1, 1, 1, 1]),
    ],
)
def test_allocate_rejects_bad_input(demand: list, use: list, shares: np.ndarray, priority: list) -> None:
    with pytest.raises(DataError):
        allocate(np.array(demand), np.array(use), shares, priority)


# --------------------------------------------------------------------------- invariants (hypothesis)
@st.composite
def _cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    p = draw(st.integers(1, 4))
    r = draw(st.integers(1, 3))
    s = draw(st.integers(1, 6))
    floats = st.floats(0.0, 1e4, allow_nan=False, allow_infinity=False)
    demand = draw(hnp.arrays(np.float64, (p, r), elements=floats))
    frac = draw(
        hnp.arrays(np.float64, (p, r), elements=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0)))
    )
    raw = draw(hnp.arrays(np.float64, (r, s), elements=st.one_of(st.just(0.0), st.floats(0.01, 1.0))))
    raw[raw.sum(axis=1) == 0] = 1.0
    shares = raw / raw.sum(axis=1, keepdims=True)
    shares[:, -1] = 1.0 - shares[:, :-1].sum(axis=1)  # exact row sums
    shares = np.maximum(shares, 0.0)
    priority = draw(hnp.arrays(np.intp, (s,), elements=st.integers(0, 3)))
    return demand, demand * frac, shares, priority


@settings(max_examples=300, deadline=None)
@given(_cases())
def test_allocation_invariants(case: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
    demand, use, shares, priority = case
    got = allocate(demand, use, shares, priority)
    d_s = demand[:, :, None] * shares[None]
    tol = 1e-9 * max(1.0, float(demand.max()))
    # bounds and mass balance
    assert (got >= 0).all()
    assert (got <= d_s + tol).all()
    np.testing.assert_allclose(got.sum(axis=2), use, rtol=1e-9, atol=tol)
    levels = np.unique(priority)
    tier_d = np.stack([d_s[:, :, priority == k].sum(axis=2) for k in levels], axis=2)
    tier_u = np.stack([got[:, :, priority == k].sum(axis=2) for k in levels], axis=2)
    # earlier tiers are full before a later tier gets anything
    for i in range(len(levels)):
        short = tier_u[:, :, i] < tier_d[:, :, i] - tol
        later = tier_u[:, :, i + 1 :].sum(axis=2)
        assert (later[short] <= tol).all()
    # pro rata within a tier: u_a d_b == u_b d_a for sectors a, b of one tier
    for k in levels:
        idx = np.flatnonzero(priority == k)
        for a in idx:
            for b in idx:
                np.testing.assert_allclose(
                    got[:, :, a] * d_s[:, :, b], got[:, :, b] * d_s[:, :, a], rtol=1e-9, atol=tol * 1e4
                )


@settings(max_examples=100, deadline=None)
@given(_cases())
def test_accumulator_totals_match_region_totals(case: tuple[np.ndarray, ...]) -> None:
    # Summed over sectors, the streamed shortfall equals the region's demand - use, month by month.
    demand, use, shares, priority = case
    acc = SectorAccumulator(shares, priority, n_paths=demand.shape[0])
    acc.update(demand, use)
    acc.update(demand * 2.0, use)
    m = acc.metrics()
    tol = 1e-8 * max(1.0, float(demand.max()))
    np.testing.assert_allclose(m["cumulative_shortfall_t"].sum(axis=2), 3 * demand - 2 * use, atol=tol)
    np.testing.assert_allclose(m["cumulative_demand_t"].sum(axis=2), 3 * demand, atol=tol)
    assert ((m["peak_shortfall_pct"] >= 0) & (m["peak_shortfall_pct"] <= 100 + 1e-9)).all()


# --------------------------------------------------------------------------- accumulator, by hand
def test_accumulator_three_months_by_hand() -> None:
    # One region, sectors (defence 10%, civil 90%), defence first; path 0 is short, path 1 never.
    # month 1: D 100, U 100 -> defence 10/10, civil 90/90
    # month 2: D 100, U  55 -> defence 10/10, civil 45/90 (short 45, 50%, below 90%)
    # month 3: D 200, U  15 -> defence 15/20 (short 5, 25%, below), civil 0/180 (short 180, 100%)
    shares = np.array([[0.1, 0.9]])
    acc = SectorAccumulator(shares, [0, 1], n_paths=2, usd_per_t_by_sector=[1000.0, 10.0])
    for d, u in ((100.0, 100.0), (100.0, 55.0), (200.0, 15.0)):
        acc.update(np.array([[d], [d]]), np.array([[u], [d]]))
    m = acc.metrics()
    np.testing.assert_allclose(m["peak_shortfall_pct"][0, 0], [25.0, 100.0])
    np.testing.assert_allclose(m["cumulative_shortfall_t"][0, 0], [5.0, 225.0])
    np.testing.assert_array_equal(m["months_below_90pct"][0, 0], [1.0, 2.0])
    np.testing.assert_allclose(m["cumulative_demand_t"][0, 0], [40.0, 360.0])
    np.testing.assert_allclose(m["output_at_risk_usd"][0, 0], [5000.0, 2250.0])
    for key, arr in m.items():
        assert arr.shape == (2, 1, 2), key
        if key != "cumulative_demand_t":
            assert (arr[1] == 0).all(), key
    assert acc.months == 3


def test_accumulator_below_90_is_strict() -> None:
    # exactly 90% of demand served is not "below 90%", as in the engine (use < 0.9 demand)
    acc = SectorAccumulator(np.array([[1.0]]), [0], n_paths=1)
    acc.update(np.array([[100.0]]), np.array([[90.0]]))
    assert acc.metrics()["months_below_90pct"][0, 0, 0] == 0.0
    assert acc.metrics()["peak_shortfall_pct"][0, 0, 0] == pytest.approx(10.0)


def test_accumulator_blocks_join_to_the_whole() -> None:
    rng = np.random.default_rng(7)
    n_p, n_r = 10, 3
    shares = rng.dirichlet(np.ones(6), size=n_r)
    pri = np.array([0, 1, 1, 2, 1, 1])
    value = rng.uniform(1e3, 1e5, size=(n_p, 6))
    whole = SectorAccumulator(shares, pri, n_p, usd_per_t_by_sector=value)
    blocks = [
        SectorAccumulator(shares, pri, 4, usd_per_t_by_sector=value[:4]),
        SectorAccumulator(shares, pri, 6, usd_per_t_by_sector=value[4:]),
    ]
    for _ in range(5):
        demand = rng.uniform(0, 100, size=(n_p, n_r))
        use = demand * rng.uniform(0, 1, size=(n_p, n_r))
        whole.update(demand, use)
        blocks[0].update(demand[:4], use[:4])
        blocks[1].update(demand[4:], use[4:])
    joined = SectorAccumulator.join(blocks)
    assert joined.keys() == whole.metrics().keys()
    for key, arr in whole.metrics().items():
        np.testing.assert_allclose(joined[key], arr, rtol=1e-12, err_msg=key)


def test_accumulator_rejects_bad_shapes() -> None:
    with pytest.raises(DataError):
        SectorAccumulator(TOY_SHARES, [0] * 6, n_paths=2, usd_per_t_by_sector=np.ones((3, 6)))
    acc = SectorAccumulator(TOY_SHARES, [0] * 6, n_paths=2)
    with pytest.raises(DataError):
        acc.update(np.ones((3, 1)), np.ones((3, 1)))
    with pytest.raises(DataError):
        SectorAccumulator.join([])


# --------------------------------------------------------------------------- the bundled split
def test_bundled_split_sums_to_one_and_cites_known_sources(ds: Dataset, bundled: SectorShares) -> None:
    assert bundled.sectors == (
        "ev_traction",
        "wind",
        "industrial_motors",
        "consumer_electronics",
        "defence",
        "other",
    )
    assert bundled.shares.shape == (len(REGIONS), 6)
    np.testing.assert_allclose(bundled.shares.sum(axis=1), 1.0, atol=1e-12)
    assert (bundled.shares > 0).all()
    assert bundled.source_ids
    assert set(bundled.source_ids) <= set(ds.sources)
    assert set(bundled.assumption_ids) <= _assumption_ids()
    # every end_uses row cited is an NdFeB volume share
    t = ds.table("end_uses")
    cited = t.loc[t["source_id"].isin(bundled.source_ids) & t["share"].notna()]
    assert {"consumer electronics", "wind turbines"} <= set(
        cited.loc[cited["scope"] == "NdFeB magnets", "end_use"]
    )


def test_bundled_split_values(ds: Dataset, bundled: SectorShares) -> None:
    t = ds.table("end_uses")
    nd = t.loc[t["scope"] == "NdFeB magnets"].set_index("end_use")["share"]
    row = dict(zip(bundled.sectors, bundled.shares[REGIONS.index("USA")], strict=True))
    assert row["defence"] == pytest.approx(_median("sector.defence_share"))
    assert row["ev_traction"] == pytest.approx(_median("sector.ev_share"))
    assert row["consumer_electronics"] == pytest.approx(nd["consumer electronics"])
    assert row["wind"] == pytest.approx(nd["wind turbines"])
    assert row["industrial_motors"] == pytest.approx(0.15)
    assert row["other"] == pytest.approx(0.12)
    # same split in every region (assumption:sim-sector-uniform-regions)
    np.testing.assert_array_equal(bundled.shares, np.tile(bundled.shares[0], (len(REGIONS), 1)))
    assert "assumption:sim-sector-uniform-regions" in bundled.assumption_ids
    # defence alone in the first tier
    assert bundled.priority[bundled.index("defence")] == 0
    assert (np.delete(bundled.priority, bundled.index("defence")) == 1).all()


def test_bundled_priority_serves_defence_in_a_deep_shortage(bundled: SectorShares) -> None:
    demand = np.full((1, len(REGIONS)), 1000.0)
    got = allocate(demand, demand * 0.2, bundled.shares, bundled.priority)
    d = bundled.index("defence")
    np.testing.assert_allclose(got[0, :, d], 1000.0 * bundled.shares[:, d])
    civil = np.delete(got[0], d, axis=1) / np.delete(1000.0 * bundled.shares, d, axis=1)
    np.testing.assert_allclose(civil, (200.0 - 30.0) / 970.0)


def test_parameter_override_moves_the_residual(ds: Dataset) -> None:
    got = sector_shares(ds, ("USA", "CHN"), parameters={"sector.defence_share": 0.05})
    assert got.shares[0, got.index("defence")] == pytest.approx(0.05)
    assert got.shares[0, got.index("other")] == pytest.approx(0.10)


def _write_spec(tmp_path: Path, regions: dict) -> Path:
    raw = yaml.safe_load(
        resources.files("critmin.simulate.engine").joinpath("sectors.yaml").read_text("utf-8")
    )
    raw["regions"] = regions
    path = tmp_path / "sectors.yaml"
    path.write_text(yaml.safe_dump(raw), "utf-8")
    return path


def test_region_override(ds: Dataset, tmp_path: Path) -> None:
    path = _write_spec(
        tmp_path,
        {
            "CHN": {"shares": {"wind": 0.10}, "assumption": "assumption:sim-sector-uniform-regions"},
            "XYZ": {"shares": {"wind": 0.5}, "assumption": "assumption:sim-sector-uniform-regions"},
        },
    )
    got = sector_shares(ds, ("CHN", "USA"), spec=path)
    w, o = got.index("wind"), got.index("other")
    assert got.shares[0, w] == pytest.approx(0.10)
    assert got.shares[0, o] == pytest.approx(0.09)
    assert got.shares[1, w] == pytest.approx(0.07)
    assert got.shares[1, o] == pytest.approx(0.12)
    np.testing.assert_allclose(got.shares.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "regions",
    [
        {"CHN": {"shares": {"wind": 0.5}, "assumption": "assumption:x"}},  # sums above 1
        {"CHN": {"shares": {"wind": 0.1}, "source": "no-such-source"}},  # unknown source
        {"CHN": {"shares": {"wind": 0.1}}},  # no provenance
        {"CHN": {"shares": {"other": 0.1}, "assumption": "assumption:x"}},  # residual set
        {"CHN": {"shares": {"nuclear": 0.1}, "assumption": "assumption:x"}},  # unknown sector
    ],
)
def test_bad_overrides_are_rejected(ds: Dataset, tmp_path: Path, regions: dict) -> None:
    with pytest.raises(DataError):
        sector_shares(ds, ("CHN", "USA"), spec=_write_spec(tmp_path, regions))


def test_bad_share_spec_is_rejected(tmp_path: Path) -> None:
    raw = yaml.safe_load(
        resources.files("critmin.simulate.engine").joinpath("sectors.yaml").read_text("utf-8")
    )
    raw["sectors"][0]["share"]["value"] = 0.3  # now both a parameter and a value
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), "utf-8")
    with pytest.raises(DataError, match=r"bad\.yaml.*exactly one"):
        load_sectors(path)


def test_packaged_file_loads_through_importlib_resources() -> None:
    assert resources.files("critmin.simulate.engine").joinpath("sectors.yaml").is_file()
    cfg = load_sectors()
    assert [s.id for s in cfg.sectors if s.share.residual] == ["other"]
    frame = sector_shares(Dataset.bundled(), ("USA",)).to_frame()
    assert list(frame.columns) == ["region", "sector", "share", "priority"]
    assert frame["share"].sum() == pytest.approx(1.0)
