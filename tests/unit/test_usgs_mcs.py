"""USGS MCS world tables: every format quirk on hand-written fixtures, hostile files, all real files."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from critmin.data.importers.usgs_mcs import (
    NMIC_URL,
    mcs_source,
    parse_value,
    read_world_csv,
    read_world_folder,
    series_rules,
)
from critmin.data.schemas import ProductionSchema
from critmin.errors import DataError
from critmin.model.commodities import registry

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "usgs"
HOSTILE = FIX / "hostile"


def _row(frame: pd.DataFrame, country: str, measure: str, year: int, **extra: str) -> pd.Series:
    sel = (frame.country == country) & (frame.measure == measure) & (frame.year == year)
    for key, value in extra.items():
        sel &= frame[key] == value
    rows = frame[sel]
    assert len(rows) == 1, rows
    return rows.iloc[0]


@pytest.fixture(scope="module")
def nickel() -> pd.DataFrame:
    return read_world_csv(FIX / "mcs2024-nicke_world.csv").frame


def test_quirks_fixture_shape_and_source(nickel: pd.DataFrame) -> None:
    imported = read_world_csv(FIX / "mcs2024-nicke_world.csv")
    # 7 data rows x 3 value columns; blank rows, trailing empty columns and the BOM leave no trace.
    assert len(nickel) == 21
    assert list(nickel.columns) == list(ProductionSchema.to_schema().columns)
    assert set(nickel.commodity) == {"nickel"}
    assert set(nickel.stage) == {"mining"}
    assert set(nickel.unit) == {"t"}
    assert set(nickel.vintage) == {2024}
    assert set(nickel.source_id) == {"usgs-mcs2024"}
    assert set(nickel.series) == {"Mine production - nickel, metric tons contained"}
    src = imported.source
    assert src.id == "usgs-mcs2024"
    assert src.doi == "10.5066/P144BA54"
    assert src.url == "https://doi.org/10.5066/P144BA54"
    assert src.title == "Mineral Commodity Summaries 2024 Data Release (ver. 2.0, March 2024)"
    assert src.priority == 2024
    assert src.via == "GitHub Redliana/cmm-data@d780c5b7ff41bef8906fe1518a4cb2e1b549785a"


def test_values_years_and_estimates(nickel: pd.DataFrame) -> None:
    usa_2022 = _row(nickel, "USA", "production", 2022)  # "United<NBSP>States", "17,500"
    assert (usa_2022.value, usa_2022.qualifier, usa_2022.estimated) == (17500.0, "exact", False)
    usa_2023 = _row(nickel, "USA", "production", 2023)  # W in Prod_t_est_2023
    assert math.isnan(usa_2023.value)
    assert (usa_2023.qualifier, usa_2023.estimated) == ("withheld", True)
    # Reserves have no year in the header: the edition's estimate year (2023).
    usa_res = _row(nickel, "USA", "reserves", 2023)
    assert (usa_res.value, usa_res.note) == (340000.0, "Revised.")
    assert _row(nickel, "AUS", "production", 2023).value == 160000.0  # "  160000 "
    aus_res = _row(nickel, "AUS", "reserves", 2023)
    assert math.isnan(aus_res.value)
    assert aus_res.qualifier == "not_available"
    assert _row(nickel, "CAN", "production", 2022).value == 0.0  # "--"
    assert _row(nickel, "CAN", "production", 2023).value == 0.0  # em dash
    assert _row(nickel, "CAN", "reserves", 2023).qualifier == "not_applicable"  # XX


def test_country_labels_footnotes_and_bounds(nickel: pd.DataFrame) -> None:
    ncl = _row(nickel, "NCL", "reserves", 2023)  # "New Caledonia11"
    assert (ncl.value, ncl.note) == (7100000.0, "footnote 11")
    rus = _row(nickel, "RUS", "production", 2022)  # "Russiae" and "e5,000"
    assert (rus.value, rus.estimated) == (5000.0, True)
    assert _row(nickel, "RUS", "reserves", 2023).estimated  # the country's e marks every value
    oth = _row(nickel, "OTH", "production", 2022)  # "Less than ½ unit."
    assert (oth.value, oth.qualifier) == (0.5, "under")
    assert _row(nickel, "OTH", "reserves", 2023).qualifier == "over"  # ">9,100,000"
    wld = _row(nickel, "WLD", "reserves", 2023)  # "World total (rounded)10", ">130,000,000"
    assert (wld.value, wld.qualifier) == (130000000.0, "over")
    assert wld.note == "footnote 10; as printed: >130,000,000"


def test_capacity_columns_and_unit_conversion() -> None:
    frame = read_world_csv(FIX / "mcs2024-galli_world.csv").frame
    assert set(frame.commodity) == {"gallium"}
    assert set(frame.stage) == {"separation"}
    assert set(frame.unit) == {"t"}  # kg in the file, t in the registry
    assert _row(frame, "CHN", "production", 2022).value == 600.0
    cap = _row(frame, "CHN", "capacity", 2023)
    assert (cap.value, cap.estimated, cap.note) == (1000.0, False, "Estimated capacity")
    assert "reserves" not in set(frame.measure)


def test_product_tags_route_columns_to_stages() -> None:
    frame = read_world_csv(FIX / "mcs2023-titan_world.csv").frame
    sponge = _row(frame, "JPN", "production", 2021)
    assert (sponge.commodity, sponge.stage, sponge.value, sponge.estimated) == (
        "titanium",
        "metal_alloy",
        49200.0,
        True,
    )
    assert _row(frame, "JPN", "capacity", 2021, stage="metal_alloy").value == 68800.0
    assert _row(frame, "JPN", "capacity", 2021, stage="separation").value == 322000.0
    # Germany has only pigment capacity; its empty sponge cells produce no rows.
    assert frame[frame.country == "DEU"][["stage", "measure", "value"]].values.tolist() == [
        ["separation", "capacity", 472000.0]
    ]


def test_type_column_named_after_its_text_and_est_spelling() -> None:
    frame = read_world_csv(FIX / "mcs2024-fluor_world.csv").frame
    row = _row(frame, "MEX", "production", 2023)
    assert (row.commodity, row.estimated, row.series) == ("fluorspar", True, "Mine production, fluorspar")


def test_million_ton_reserves_and_two_bases() -> None:
    frame = read_world_csv(FIX / "mcs2024-feore_world.csv").frame
    ore = _row(frame, "AUS", "reserves", 2023, commodity="iron_ore")
    fe = _row(frame, "AUS", "reserves", 2023, commodity="iron")
    assert (ore.value, ore.unit) == (58_000_000.0, "kt")  # Reserves_mt: million metric tons -> kt
    assert fe.value == 27_000_000.0
    assert _row(frame, "AUS", "production", 2022, commodity="iron").value == 584000.0


def test_same_country_twice_gets_qualified_series() -> None:
    frame = read_world_csv(FIX / "mcs2024-heliu_world.csv").frame
    usa = frame[(frame.country == "USA") & (frame.year == 2022) & (frame.measure == "production")]
    assert sorted(zip(usa.series, usa.value, strict=True)) == [
        ("Mine production, helium [extracted from natural gas]", 65.0),
        ("Mine production, helium [from Cliffside Field]", 12.0),
    ]
    zaf = _row(frame, "ZAF", "production", 2023)
    assert (zaf.value, zaf.qualifier, zaf.unit) == (0.5, "under", "Mm3")


def test_explicit_arguments_override_the_file() -> None:
    imported = read_world_csv(FIX / "mcs2024-galli_world.csv", source_id="my-copy", vintage=2031)
    assert set(imported.frame.source_id) == {"my-copy"}
    assert set(imported.frame.vintage) == {2031}
    assert imported.source.doi is None
    assert imported.source.url == NMIC_URL
    assert mcs_source(2023).doi == "10.5066/P9WCYUI6"


@pytest.mark.parametrize(
    ("text", "value", "qualifier", "estimated"),
    [
        ("1,234", 1234.0, "exact", False),
        (" 12 ", 12.0, "exact", False),
        ("e20,000", 20000.0, "exact", True),
        ("<100", 100.0, "under", False),
        ("NA", math.nan, "not_available", False),
        ("W", math.nan, "withheld", False),
        ("XX", math.nan, "not_applicable", False),
        ("Included with ilmenite", math.nan, "not_available", False),
        ("Less than 1/2 unit", 0.5, "under", False),
    ],
)
def test_parse_value(text: str, value: float, qualifier: str, estimated: bool) -> None:
    cell = parse_value(text)
    assert cell is not None
    assert cell.qualifier == qualifier
    assert cell.estimated is estimated
    assert (math.isnan(cell.value) and math.isnan(value)) or cell.value == value


def test_parse_value_empty_and_bad() -> None:
    assert parse_value("   ") is None
    with pytest.raises(ValueError, match="negative"):
        parse_value("-5")
    with pytest.raises(ValueError, match="malformed"):
        parse_value("12,3x4")


def _error(name: str, **kwargs: object) -> DataError:
    path = HOSTILE / name
    with pytest.raises(DataError) as info:
        read_world_csv(path, **kwargs)  # type: ignore[arg-type]
    err = info.value
    assert err.path == str(path)
    assert name in str(err)
    assert err.fix
    return err


def test_unknown_country_names_file_line_column() -> None:
    err = _error("unknown_country.csv", code="nicke", vintage=2024)
    assert (err.line, err.column) == (3, "Country")
    assert "Atlantis" in str(err)
    assert "unknown_country.csv:3: column 'Country'" in str(err)


def test_bad_number_names_file_line_column() -> None:
    err = _error("bad_number.csv", code="nicke", vintage=2024)
    assert (err.line, err.column) == (2, "Prod_t_2022")
    assert "12,3x4" in str(err)


def test_negative_value_is_an_error() -> None:
    err = _error("negative.csv", code="nicke", vintage=2024)
    assert (err.line, err.column) == (3, "Prod_t_est_2023")
    assert "negative" in str(err)


def test_missing_country_column() -> None:
    err = _error("no_country.csv", code="nicke", vintage=2024)
    assert (err.line, err.column) == (1, "Country")


def test_missing_value_columns() -> None:
    err = _error("no_values.csv", code="nicke", vintage=2024)
    assert err.line == 1
    assert err.column == "Production"


def test_unknown_type_and_unknown_code() -> None:
    err = _error("unknown_type.csv", code="nicke", vintage=2024)
    assert (err.line, err.column) == (3, "Type")
    assert "Smelter production" in str(err)
    err = _error("mcs2024-zzzzz_world.csv")
    assert (err.line, err.column) == (2, "Type")
    assert "zzzzz" in str(err)


def test_duplicate_row_is_an_error() -> None:
    err = _error("duplicate.csv", code="nicke", vintage=2024)
    assert (err.line, err.column) == (3, "Country")
    assert "line 2" in str(err)


def test_number_without_header_is_an_error() -> None:
    err = _error("stray_value.csv", code="nicke", vintage=2024)
    assert (err.line, err.column) == (2, "column 9")
    assert "777" in str(err)


def test_every_rule_names_a_registry_commodity_and_stage() -> None:
    reg = registry()
    rules = series_rules()
    assert len(rules) > 90
    for rule in rules:
        assert reg.get(rule.commodity).has_stage(rule.stage)
        for code in rule.codes:
            assert rule.commodity in {c.id for c in reg.by_usgs_code(code)}, (code, rule.commodity)


@pytest.mark.raw
def test_all_real_world_files_import(raw_dir: Path) -> None:
    frames = []
    for edition in (2023, 2024):
        folder = raw_dir / f"usgs_mcs{edition}" / "world"
        frame, sources = read_world_folder(folder)
        assert [s.id for s in sources] == [f"usgs-mcs{edition}"]
        assert set(frame.vintage) == {edition}
        assert frame.commodity.nunique() > 80
        frames.append(frame)
    both = pd.concat(frames, ignore_index=True)
    assert len(both) == 6983
    reg = registry()
    for cid, unit in both[["commodity", "unit"]].drop_duplicates().itertuples(index=False):
        assert reg.get(cid).unit == unit
    key = ["vintage", "commodity", "stage", "measure", "country", "year", "series"]
    assert not both.duplicated(key).any()
    nan_ok = both.qualifier.isin(["withheld", "not_available", "not_applicable"])
    assert both.value.notna().eq(~nan_ok).all()


@pytest.mark.raw
def test_real_values_and_header_unit_fixes(raw_dir: Path) -> None:
    ree = read_world_csv(raw_dir / "usgs_mcs2024" / "world" / "mcs2024-raree_world.csv").frame
    assert _row(ree, "CHN", "production", 2023).value == 240000.0
    assert _row(ree, "WLD", "reserves", 2023).value == 110_000_000.0
    nickel = read_world_csv(raw_dir / "usgs_mcs2024" / "world" / "mcs2024-nicke_world.csv").frame
    assert _row(nickel, "WLD", "reserves", 2023).qualifier == "over"
    # MCS2023 rhenium prints Reserves_kt over kilogram values (MCS2024: Reserves_kg, same numbers).
    rhenium = read_world_csv(raw_dir / "usgs_mcs2023" / "world" / "mcs2023-rheni_world.csv").frame
    chile = _row(rhenium, "CHL", "reserves", 2022)
    assert (chile.value, chile.unit) == (1_300_000.0, "kg")
    assert "unit_fixes" in chile.note
    # Platinum vs palladium rows of one file; the world rows of a Type with "World" map to WLD.
    pgm = read_world_csv(raw_dir / "usgs_mcs2024" / "world" / "mcs2024-plati_world.csv").frame
    assert _row(pgm, "WLD", "production", 2023, commodity="palladium").value == 210000.0
    assert _row(pgm, "ZAF", "production", 2023, commodity="platinum").value == 120000.0
