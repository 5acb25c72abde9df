"""USGS MCS net import reliance, critical-minerals salient table and per-commodity salient files.

The fixtures are abridged copies of the MCS 2024 release files; the molybdenum "E" row of the
Fig. 2 fixture is synthetic (no real MCS 2024 Fig. 2 entry is "E") to exercise the net-exporter bound.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from critmin.data.importers.usgs_trends import (
    parse_nir,
    read_critical_salient_nir,
    read_critical_salient_table,
    read_nir_figure,
    read_salient_csv,
    usgs_commodity_id,
)
from critmin.errors import DataError
from critmin.model.commodities import registry

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "usgs"


@pytest.mark.parametrize(
    ("text", "value", "bound"),
    [
        ("100", 1.0, "eq"),
        ("46", 0.46, "eq"),
        (">95", 0.95, "gt"),
        ("> 50", 0.5, "gt"),
        ("<25", 0.25, "lt"),
        ("E", math.nan, "net_exporter"),
        ("NA", math.nan, "not_available"),
    ],
)
def test_parse_nir(text: str, value: float, bound: str) -> None:
    got_value, got_bound = parse_nir(text)
    assert got_bound == bound
    assert (math.isnan(got_value) and math.isnan(value)) or got_value == pytest.approx(value)


@pytest.mark.parametrize("text", ["about 40", "120", "95%%"])
def test_parse_nir_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="net import reliance"):
        parse_nir(text)


def test_nir_figure() -> None:
    frame = read_nir_figure(FIX / "MCS2024_Fig2_Net_Import_Reliance.csv")
    assert set(frame.importer) == {"USA"}
    assert set(frame.year) == {2023}
    assert set(frame.vintage) == {2024}
    assert set(frame.source_id) == {"usgs-mcs2024"}
    got = {r.commodity: (r.value, r.bound, r.as_printed) for r in frame.itertuples()}
    assert got["arsenic"] == (1.0, "eq", "100")
    assert got["rare_earths"] == (0.95, "gt", ">95")
    assert got["germanium"] == (0.5, "gt", ">50")
    assert got["silicon"] == (0.5, "lt", "<50")
    assert got["copper"] == (0.46, "eq", "46")
    assert got["mica_sheet"][:2] == (1.0, "eq")
    assert frame[frame.commodity == "molybdenum"].value.isna().all()
    assert got["molybdenum"][1:] == ("net_exporter", "E")
    ree = frame[frame.commodity == "rare_earths"].iloc[0]
    assert ree.note.startswith("commodity as printed: RARE EARTHS, compounds and metals")
    assert "China, Malaysia, Japan, Estonia" in ree.note


def test_nir_unknown_commodity_names_file_line_column() -> None:
    path = FIX / "MCS2024_Fig2_bad_commodity.csv"
    with pytest.raises(DataError) as info:
        read_nir_figure(path)
    assert (info.value.path, info.value.line, info.value.column) == (str(path), 3, "Commodity")
    assert "UNOBTAINIUM" in str(info.value)


@pytest.mark.parametrize(
    ("label", "cid"),
    [
        ("GRAPHITE (NATURAL)", "graphite"),
        ("MICA (NATURAL), scrap and flake", "mica_scrap_flake"),
        ("ABRASIVES, crude silicon carbide", "silicon_carbide"),
        ("TITANIUM, sponge metal", "titanium"),
        ("TITANIUM MINERAL CONCENTRATES", "titanium_mineral_concentrates"),
        ("Aluminum (bauxite)", "aluminum"),
        ("ZINC, refined", "zinc"),
        ("NIOBIUM (COLUMBIUM)", "niobium"),
        ("STONE (DIMENSION)", "dimension_stone"),
    ],
)
def test_commodity_labels(label: str, cid: str) -> None:
    assert usgs_commodity_id(label) == cid


def test_critical_salient_table() -> None:
    frame = read_critical_salient_table(FIX / "MCS2024_T5_Critical_Minerals_Salient.csv")
    assert set(frame.year) == {2023}
    assert frame.estimated.all()
    al = frame[frame.commodity == "aluminum"].set_index("item")
    assert al.loc["primary_production", "qualifier"] == "withheld"
    assert al.loc["apparent_consumption", "value"] == 1_800_000.0
    assert al.loc["apparent_consumption", "country"] == "USA"
    assert (
        al.loc["leading_country_production", "country"],
        al.loc["leading_country_production", "value"],
    ) == (
        "AUS",
        98_000_000.0,
    )
    assert (al.loc["world_production", "country"], al.loc["world_production", "value"]) == (
        "WLD",
        400_000_000.0,
    )
    share = al.loc["leading_country_share"]
    assert (share.country, share.value, share.unit) == ("AUS", 0.25, "fraction")
    assert set(al.unit) == {"t", "fraction"}
    zr = frame[frame.commodity == "zirconium"].set_index("item")
    assert (zr.loc["primary_production", "value"], zr.loc["primary_production", "qualifier"]) == (
        100000.0,
        "under",
    )
    # Zinc has no leading country ("NA"): no leading-country rows; world production is NA.
    zn = frame[frame.commodity == "zinc"].set_index("item")
    assert "leading_country_production" not in zn.index
    assert zn.loc["world_production", "qualifier"] == "not_available"


def test_critical_salient_nir() -> None:
    frame = read_critical_salient_nir(FIX / "MCS2024_T5_Critical_Minerals_Salient.csv")
    got = {r.commodity: (r.value, r.bound) for r in frame.itertuples()}
    assert got == {"aluminum": (0.75, "gt"), "zinc": (0.77, "eq"), "zirconium": (0.25, "lt")}
    assert "primary import source: Jamaica (Average 2019 to 2022.)" in frame.note.iloc[0]


def test_salient_csv_quirks() -> None:
    frame = read_salient_csv(FIX / "light_ree_mcs2024-raree_salient.csv", "rare_earths")
    assert set(frame.country) == {"USA"}
    assert set(frame.year) == {2022, 2023}
    assert not frame.label.str.startswith("Unnamed").any()
    by = {(r.item, r.year): r for r in frame.itertuples()}
    conc = by[("production_concentrate", 2023)]  # "e43000"
    assert (conc.value, conc.unit, conc.estimated) == (43000.0, "t", True)
    imports = by[("imports_compounds", 2022)]  # fused unit "Compoundskg", quoted "10,700"
    assert (imports.value, imports.unit) == (10700.0, "kg")
    assert by[("imports_compounds", 2023)].qualifier == "withheld"
    less = by[("consumption_compounds_metals", 2023)]
    assert (less.value, less.qualifier) == (0.5, "under")
    assert (by[("price_nd2o3", 2023)].value, by[("price_nd2o3", 2023)].unit) == (80.0, "usd_per_kg")
    assert by[("price_wo3", 2022)].unit == "usd_per_t"  # fused "WO3dt"
    assert (by[("employment", 2023)].value, by[("employment", 2023)].unit) == (450.0, "count")
    nir = by[("net_import_reliance_compounds_metals", 2023)]
    assert (nir.value, nir.unit, nir.qualifier) == (0.95, "fraction", "over")
    conc_nir = by[("net_import_reliance_concentrate", 2023)]
    assert frame[frame.item == "net_import_reliance_concentrate"].value.isna().all()
    assert conc_nir.note == "E: net exporter"


def test_salient_unknown_commodity() -> None:
    with pytest.raises(DataError, match="unknown commodity"):
        read_salient_csv(FIX / "light_ree_mcs2024-raree_salient.csv", "rare_earth")


@pytest.mark.raw
def test_real_trend_files(raw_dir: Path) -> None:
    reg = set(registry().ids)
    for edition, n_rows, year in ((2023, 65, 2022), (2024, 63, 2023)):
        frame = read_nir_figure(
            raw_dir / f"usgs_mcs{edition}" / "trends" / f"MCS{edition}_Fig2_Net_Import_Reliance.csv"
        )
        assert len(frame) == n_rows
        assert set(frame.year) == {year}
        assert set(frame.commodity) <= reg
        ree = frame[frame.commodity == "rare_earths"].iloc[0]
        assert (ree.value, ree.bound) == (0.95, "gt")
    t5 = raw_dir / "usgs_mcs2024" / "trends" / "MCS2024_T5_Critical_Minerals_Salient.csv"
    table = read_critical_salient_table(t5)
    assert set(table.commodity) <= reg
    ga = table[(table.commodity == "gallium") & (table.item == "leading_country_share")].iloc[0]
    assert (ga.country, ga.value) == ("CHN", 0.98)
    assert len(read_critical_salient_nir(t5)) == 31


@pytest.mark.raw
def test_all_real_salient_files(raw_dir: Path) -> None:
    not_in_codes = {"scandi": "scandium", "yttri": "yttrium", "tellu": "tellurium"}
    files = sorted((raw_dir / "usgs_mcs2023" / "salient").glob("*.csv"))
    files += sorted((raw_dir / "usgs_mcs2024" / "salient").glob("*.csv"))
    assert len(files) == 91
    frames = []
    for path in files:
        match = re.search(r"mcs\d{4}-?([a-z\-]+)_salient", path.name)
        assert match
        code = match.group(1)
        cid = not_in_codes.get(code) or registry().by_usgs_code(code)[0].id
        frames.append(read_salient_csv(path, cid))
    both = pd.concat(frames, ignore_index=True)
    assert len(both) > 4000
    assert (both.unit == "unspecified").sum() <= 10  # feste Exports_Total, tungs Stocks_
    gallium = read_salient_csv(
        raw_dir / "usgs_mcs2024" / "salient" / "gallium_mcs2024-galli_salient.csv", "gallium"
    )
    consumption = gallium[(gallium.item == "consumption") & (gallium.year == 2019)].iloc[0]
    assert (consumption.value, consumption.unit) == (14900.0, "kg")  # header says _g
