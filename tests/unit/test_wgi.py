"""World Bank WGI importer: format quirks, legacy codes and hostile rows."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from critmin.data.importers.wgi import WGI_SOURCE, read_wgi_csv
from critmin.data.schemas import WGISchema
from critmin.errors import DataError, UnknownCountryError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "wgi"
HEADER = (
    "codeindyr,code,countryname,year,indicator,estimate,stddev,nsource,pctrank,pctranklower,pctrankupper\n"
)


def test_fixture_starts_with_a_bom() -> None:
    # The quirk under test must really be in the fixture.
    assert (FIX / "wgi_quirks.csv").read_bytes()[:3] == b"\xef\xbb\xbf"


@pytest.mark.parametrize(
    ("iso3", "estimate", "pctrank"),
    [
        ("ROU", 0.15, 58.5),  # ROM
        ("COD", -1.37, 5.7),  # ZAR
        ("TLS", -0.39, 40.1),  # TMP
        ("AND", 1.21, 86.3),  # ADO
        ("PSE", -0.55, 33.0),  # WBG
        ("XKX", -0.31, 41.5),  # KSV
    ],
)
def test_legacy_world_bank_codes_are_mapped(iso3: str, estimate: float, pctrank: float) -> None:
    frame, _ = read_wgi_csv(FIX / "wgi_quirks.csv")
    row = frame.loc[(frame["country"] == iso3) & (frame["indicator"] == "cc")]
    assert len(row) == 1
    assert row["year"].iloc[0] == 2023
    assert row["estimate"].iloc[0] == pytest.approx(estimate)
    assert row["pctrank"].iloc[0] == pytest.approx(pctrank)


def test_legacy_codes_do_not_survive() -> None:
    frame, _ = read_wgi_csv(FIX / "wgi_quirks.csv")
    assert not set(frame["country"]) & {"ROM", "ZAR", "TMP", "ADO", "WBG", "KSV"}


def test_missing_estimates_are_dropped_and_other_dots_become_nan() -> None:
    frame, _ = read_wgi_csv(FIX / "wgi_quirks.csv")
    # 10 data rows, American Samoa's estimate is '..'.
    assert len(frame) == 9
    assert "ASM" not in set(frame["country"])
    chn = frame.loc[(frame["country"] == "CHN") & (frame["year"] == 2023)]
    assert chn["estimate"].iloc[0] == pytest.approx(-1.60)
    assert math.isnan(chn["pctrank"].iloc[0])
    bhs = frame.loc[frame["country"] == "BHS"]  # quoted "Bahamas, The": columns stay aligned
    assert bhs["estimate"].iloc[0] == pytest.approx(0.90)
    assert math.isnan(bhs["stddev"].iloc[0])
    assert bhs["pctrank"].iloc[0] == pytest.approx(79.2)


def test_output_matches_the_schema_exactly() -> None:
    frame, source = read_wgi_csv(FIX / "wgi_quirks.csv")
    assert list(frame.columns) == [
        "country",
        "year",
        "indicator",
        "estimate",
        "stddev",
        "pctrank",
        "source_id",
    ]
    WGISchema.validate(frame)
    assert set(frame["source_id"]) == {source.id}


def test_source_is_the_world_bank_dataset() -> None:
    _, source = read_wgi_csv(FIX / "wgi_quirks.csv")
    assert source == WGI_SOURCE
    assert source.kind == "dataset"
    assert source.publisher == "World Bank"
    assert source.licence == "CC BY 4.0"
    assert source.title == "Worldwide Governance Indicators, 2024 update (1996-2023)"
    assert source.via == "GitHub lmorgans/WGIdata@05f52f816a6c09473096edbf657aa310d5c30507"


def test_years_filter_keeps_only_those_years() -> None:
    frame, _ = read_wgi_csv(FIX / "wgi_quirks.csv", years={2022})
    assert list(zip(frame["country"], frame["year"], frame["indicator"], strict=True)) == [
        ("CHN", 2022, "va")
    ]


@pytest.mark.parametrize(
    ("name", "line", "column", "error"),
    [
        ("wgi_bad_indicator.csv", 3, "indicator", DataError),
        ("wgi_unknown_code.csv", 4, "code", UnknownCountryError),
        ("wgi_bad_estimate.csv", 3, "estimate", DataError),
    ],
)
def test_hostile_rows_name_file_line_and_column(
    name: str, line: int, column: str, error: type[DataError]
) -> None:
    with pytest.raises(error) as info:
        read_wgi_csv(FIX / name)
    exc = info.value
    assert exc.path is not None
    assert exc.path.endswith(name)
    assert exc.line == line
    assert exc.column == column
    assert f"{name}:{line}" in str(exc)


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "wgi.csv"
    p.write_text(HEADER + body, encoding="utf-8")
    return p


def test_duplicate_after_legacy_mapping_is_an_error(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "ROMcc2023,ROM,Romania,2023,cc,0.15,0.14,10,58.5,50.9,64.2\n"
        "ROUcc2023,ROU,Romania,2023,cc,0.16,0.14,10,58.5,50.9,64.2\n",
    )
    with pytest.raises(DataError, match="duplicate") as info:
        read_wgi_csv(p)
    assert info.value.line == 3


def test_out_of_range_estimate_is_an_error(tmp_path: Path) -> None:
    p = _write(tmp_path, "ROUcc2023,ROU,Romania,2023,cc,7.5,0.14,10,58.5,50.9,64.2\n")
    with pytest.raises(DataError) as info:
        read_wgi_csv(p)
    assert (info.value.line, info.value.column) == (2, "estimate")


def test_hostile_row_hidden_behind_missing_estimate_is_still_caught(tmp_path: Path) -> None:
    p = _write(tmp_path, "ASMcc2023,ASM,American Samoa,2023,cc,..,abc,..,..,..,..\n")
    with pytest.raises(DataError) as info:
        read_wgi_csv(p)
    assert (info.value.line, info.value.column) == (2, "stddev")


def test_missing_column_is_reported_on_line_one(tmp_path: Path) -> None:
    p = tmp_path / "wgi.csv"
    p.write_text("code,year,indicator,estimate\nROU,2023,cc,0.1\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing column") as info:
        read_wgi_csv(p)
    assert info.value.line == 1
