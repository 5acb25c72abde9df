"""Checks over the whole bundled dataset (what users get on a fresh machine)."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.data.dataset import Dataset
from critmin.data.schemas import TABLES
from critmin.model.commodities import registry
from critmin.model.countries import WORLD, is_known_code


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset.bundled()


def test_every_table_present_and_sourced(ds: Dataset) -> None:
    assert set(ds.tables) == set(TABLES)
    for name, df in ds.tables.items():
        assert len(df) > 0, name
        assert df["source_id"].isin(list(ds.sources)).all(), name


def test_version_is_a_content_hash(ds: Dataset) -> None:
    assert len(ds.version) == 12
    assert int(ds.version, 16) >= 0


def test_codes_commodities_and_stages_known(ds: Dataset) -> None:
    reg = registry()
    for name in ("production", "stage_shares"):
        df = ds.tables[name]
        assert df["country"].map(is_known_code).all(), df.loc[
            ~df["country"].map(is_known_code), "country"
        ].unique()
        for (com, stage), _ in df.groupby(["commodity", "stage"]):
            assert reg.get(com).has_stage(stage), (name, com, stage)
    for name in ("import_reliance", "salient", "import_sources"):
        assert ds.tables[name]["commodity"].isin(reg.ids).all(), name


def test_no_negative_quantities(ds: Dataset) -> None:
    assert (ds.tables["production"]["value"].dropna() >= 0).all()
    assert (ds.tables["projects"]["capacity"].dropna() >= 0).all()


def test_missing_values_are_flagged(ds: Dataset) -> None:
    p = ds.tables["production"]
    missing = p.loc[p["value"].isna(), "qualifier"]
    assert missing.isin(["withheld", "not_available", "not_applicable"]).all()


def test_country_rows_never_exceed_world_total(ds: Dataset) -> None:
    p = ds.tables["production"]
    keys = ["commodity", "stage", "measure", "year", "source_id", "series"]
    w = p.loc[p["country"] == WORLD]
    note = w["note"].fillna("").str.lower()
    ex_us = w.loc[note.str.contains("exclud") & note.str.contains(r"u\.s\.|united states"), keys]
    world = w.groupby(keys)["value"].max()
    parts_rows = p.loc[p["country"] != WORLD]
    # "World total ... excluding U.S. production": the US row is not part of that total.
    drop = parts_rows.merge(ex_us, on=keys, how="left", indicator=True)["_merge"].eq("both").to_numpy()
    parts = parts_rows.loc[~(drop & (parts_rows["country"] == "USA").to_numpy())].groupby(keys)["value"].sum()
    both = pd.concat([world.rename("world"), parts.rename("parts")], axis=1).dropna()
    both = both.loc[both["world"] > 0]
    # USGS rounds world totals ("World total (rounded)"): zeolites 2022 (MCS 2024) is 5.2% over.
    ratio = both["parts"] / both["world"]
    assert (ratio <= 1.06).all(), both.loc[ratio > 1.06].head()


def test_published_shares_per_stage_sum_to_at_most_one(ds: Dataset) -> None:
    s = ds.tables["stage_shares"]
    single = s.loc[~s["country"].str.contains(r"\+", regex=True)]
    totals = single.groupby(["commodity", "stage", "year", "source_id", "scope"])["share"].sum()
    assert (totals <= 1.0 + 0.02).all(), totals.loc[totals > 1.02]


def test_assumptions_carry_a_rationale(ds: Dataset) -> None:
    s = ds.tables["stage_shares"]
    for sid in s.loc[s["is_assumption"], "source_id"].unique():
        src = ds.sources[sid]
        assert src.kind == "assumption"
        assert src.rationale


def test_wgi_2023_six_indicators(ds: Dataset) -> None:
    w = ds.tables["wgi"]
    assert set(w["year"]) == {2023}
    chn = w.loc[w["country"] == "CHN"].set_index("indicator")["estimate"]
    assert set(chn.index) == {"va", "pv", "ge", "rq", "rl", "cc"}
    assert w["country"].isin(["ROU", "COD", "XKX"]).sum() == 18


def test_rare_earth_mining_2024_mcs2026(ds: Dataset) -> None:
    sh = ds.shares("rare_earths", "mining", 2024).set_index("country")
    assert sh.loc["CHN", "value"] == 270_000
    assert sh.loc["CHN", "share"] == pytest.approx(270_000 / 380_000)
    assert sh.loc["AUS", "value"] == 29_000
    assert sh.loc["USA", "value"] == 45_500


def test_us_rare_earth_import_reliance_keeps_bounds(ds: Dataset) -> None:
    nir = ds.tables["import_reliance"]
    ree = nir.loc[(nir["commodity"] == "rare_earths") & (nir["importer"] == "USA")]
    assert set(ree["bound"]) >= {"gt", "eq"}
    gt = ree.loc[ree["bound"] == "gt"].iloc[0]
    assert gt["as_printed"].startswith(">")
    assert gt["value"] == pytest.approx(float(gt["as_printed"].lstrip(">")) / 100)
