"""The ex-China plant table, the stage shares it sets and China's magnet export destinations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmin.data.load import load_dataset
from critmin.model.countries import is_country
from critmin.simulate.chains.destinations import bundled_destinations, destination_weights, read_partner_rows
from critmin.simulate.chains.network import region_of
from critmin.simulate.chains.plants import (
    CHINA_MAGNET_T_2024,
    STAGES,
    pipeline,
    plant_table,
    reconciled_shares,
    residual_shares,
    world_magnet_t,
)
from critmin.simulate.chains.rare_earths import build_network
from critmin.simulate.inputs.params import median, parameter_table

REGIONS = ("CHN", "USA", "EU27", "JPN", "KOR", "IND", "AUS", "MYS", "VNM", "BRA", "MMR", "ROW")


@pytest.fixture(scope="module")
def ds():  # type: ignore[no-untyped-def]
    return load_dataset(user_data=False)


@pytest.fixture(scope="module")
def plants(ds) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return plant_table(ds)


@pytest.fixture(scope="module")
def net(ds, plants):  # type: ignore[no-untyped-def]
    return build_network(
        ds,
        REGIONS,
        mining_t_per_year=390_000.0,
        magnet_t_per_year=world_magnet_t(plants),
        china_exports_t_per_year=58_152.0,
        us_share_of_exports=bundled_destinations().us_share,
    )


def test_residual_shares_split_row_over_unnamed_plants() -> None:
    pub = pd.Series({"CHN": 0.9, "ROW": 0.1})
    got = residual_shares(pub, pd.Series({"EST": 3.0, "IND": 1.0}))
    assert got.to_dict() == pytest.approx({"CHN": 0.9, "EST": 0.075, "IND": 0.025})
    # a named country keeps its published share; ROW stays ROW when no unnamed plant exists
    got = residual_shares(pd.Series({"CHN": 0.9, "MYS": 0.05, "ROW": 0.05}), pd.Series({"MYS": 10.0}))
    assert got.to_dict() == pytest.approx({"CHN": 0.9, "MYS": 0.05, "ROW": 0.05})


def test_reconciled_shares_from_volumes() -> None:
    got = reconciled_shares(90.0, pd.Series({"JPN": 6.0, "USA": 4.0, "KOR": 0.0}))
    assert got.to_dict() == pytest.approx({"CHN": 0.9, "JPN": 0.06, "USA": 0.04})


def test_plant_table_schema(ds, plants) -> None:  # type: ignore[no-untyped-def]
    assert set(plants["stage"]) <= set(STAGES)
    assert all(is_country(c) for c in plants["country"]), sorted(set(plants["country"]))
    assert "CHN" not in set(plants["country"])
    assert set(plants["source_id"]) <= set(ds.sources), "every row cited"
    cap = plants.loc[plants["role"] != "excluded", "capacity_t_yr"]
    assert (cap > 0).all()
    assert np.isfinite(cap).all()
    assert set(plants["role"]) == {"base", "pipeline", "excluded"}


def test_no_operating_plant_is_lost(plants) -> None:  # type: ignore[no-untyped-def]
    op = plants.loc[plants["status"].str.contains("operating", case=False)]
    lost = op.loc[
        (op["role"] == "excluded") & ~op["reason"].str.contains("Dy \\+ Tb|SmCo|company's cited row")
    ]
    assert lost.empty, lost[["project", "reason"]].to_string()
    # the plants the review named as missing or dropped
    role = plants.set_index("project")["role"]
    assert role["La Rochelle rare earths plant - magnet RE line"] == "pipeline"  # opened Apr 2025
    assert role["Narva sintered magnet plant Phase 1"] == "pipeline"  # opened Sep 2025
    assert role["Independence facility (Fort Worth, Texas) - magnets"] == "pipeline"
    assert role["JS Link Yesan plant"] == "pipeline"
    assert role["Pela Ema ionic clay deposit Phase I (Minacu, Goias)"] == "base"  # Serra Verde
    assert role["Kalgoorlie Rare Earths Processing Facility"] == "base"


def test_pipeline_holds_every_pipeline_plant(plants) -> None:  # type: ignore[no-untyped-def]
    pipe = pipeline(plants, REGIONS, region_of)
    want = plants.loc[plants["role"] == "pipeline"]
    assert len(pipe) == len(want)
    assert pipe["capacity_t_month"].sum() * 12 == pytest.approx(want["capacity_t_yr"].sum())
    narva = pipe.loc[pipe["project"] == "Narva sintered magnet plant Phase 1"].iloc[0]
    assert REGIONS[int(narva["region"])] == "EU27"
    assert narva["stage"] == 3
    assert narva["start_year"] == 2025


def test_stage_shares_sum_to_one_and_japan_makes_magnets(net) -> None:  # type: ignore[no-untyped-def]
    np.testing.assert_allclose(net.share.sum(axis=1), 1.0, atol=1e-12)
    jpn = REGIONS.index("JPN")
    assert net.share[3, jpn] == pytest.approx(12_400 / 320_900)
    assert net.share[2, jpn] > 0
    # China's magnet share is the volume reconciliation, 300,000 / 320,900
    assert net.share[3, 0] == pytest.approx(CHINA_MAGNET_T_2024 / 320_900.0)
    assert round(float(net.share[3, 0]), 3) == 0.935
    # ROW no longer pools Japan, Vietnam, Korea, the US or Germany at the magnet stage
    row = REGIONS.index("ROW")
    assert net.share[3, row] == pytest.approx(1_800 / 320_900)  # Thailand's Magnequench powder


def test_no_metal_shipped_into_china(net) -> None:  # type: ignore[no-untyped-def]
    """The old 40% of ROW metal to China is gone: ex-China metal serves ex-China magnet makers."""
    c = 0
    others = [i for i in range(len(REGIONS)) if i != c and net.share[2, i] > 0]
    assert others
    assert float(net.ship[2, others, c].max()) == 0.0


def test_magnet_parameter_default_is_the_reconciled_world_output(plants) -> None:  # type: ignore[no-untyped-def]
    spec = parameter_table()["volume.magnet_t_per_year"]
    assert median(spec.default) == pytest.approx(world_magnet_t(plants))


def test_destination_weights_match_the_table(net) -> None:  # type: ignore[no-untyped-def]
    t = bundled_destinations()
    assert sum(t.weights.values()) == pytest.approx(1.0)
    assert t.weights["EU27"] == pytest.approx(0.405, abs=0.001)
    assert t.weights["USA"] == pytest.approx(0.122, abs=0.001)
    # Metalnomist: Germany + Korea + US were 42% of Jan-Jul 2024 exports
    rows = read_partner_rows()
    deu = destination_weights(rows.loc[rows["month"].str.startswith("2024")]).weights["DEU"]
    assert deu + t.weights["KOR"] + t.weights["USA"] == pytest.approx(0.42, abs=0.01)
    e = 1.0 - net.ship[3, 0, 0]
    got = {r: float(net.ship[3, 0, i]) / e for i, r in enumerate(REGIONS) if i}
    for r, w in t.weights.items():
        if r in got:
            assert got[r] == pytest.approx(w, rel=1e-9), r
    spec = parameter_table()["trade.us_share_of_china_magnet_exports"]
    assert median(spec.default) == pytest.approx(t.us_share, abs=0.01)


def test_destination_sources_are_bundled(ds) -> None:  # type: ignore[no-untyped-def]
    assert set(bundled_destinations().source_ids) <= set(ds.sources)


def test_destination_weights_toy() -> None:
    rows = pd.DataFrame(
        {
            "month": ["2024-01", "2024-01", "2024-01", "2024-02", "2024-02", "2025-07", "2025-07"],
            "partner": ["World", "USA", "DEU", "World", "USA", "EU27", "DEU"],
            "value_t": [100.0, 10.0, 20.0, 200.0, 30.0, 300.0, 150.0],
            "source_id": ["a"] * 7,
        }
    )
    w = destination_weights(rows).weights
    assert w["USA"] == pytest.approx((0.10 + 0.15) / 2)
    assert w["EU27"] == pytest.approx(0.20 * 2.0)  # Germany's share x EU27/DEU ratio
    assert w["ROW"] == pytest.approx(1.0 - 0.125 - 0.4 - 0.06)
