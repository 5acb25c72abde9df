"""BGS World Mineral Statistics JSON -> production rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from critmin.data.build.bgs import BGS_FILES, BGS_NOTE, BGS_PRIORITY, build_bgs, read_bgs_json
from critmin.data.catalogue import Source
from critmin.data.schemas import ProductionSchema
from critmin.errors import DataError
from critmin.model.countries import is_known_code

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "bgs" / "bgs_quirks.json"


def _read(path: Path = FIX) -> tuple[pd.DataFrame, Source]:
    return read_bgs_json(path, commodity="cobalt", stage="separation")


def test_rows_values_and_constant_columns() -> None:
    frame, _ = _read()
    ProductionSchema.validate(frame)
    # 3 + 4 + 2 country entries, years unsorted in the file, sorted in the output.
    assert len(frame) == 9
    assert list(frame["year"]) == sorted(frame["year"])
    chn = frame.set_index(["country", "year"])["value"]
    assert chn[("CHN", 2023)] == 900.0
    assert chn[("AUS", 2023)] == 12.25
    assert chn[("AUS", 2024)] == 0.0  # a reported zero is kept
    assert set(frame["measure"]) == {"production"}
    assert set(frame["qualifier"]) == {"exact"}
    assert not frame["estimated"].any()
    assert set(frame["vintage"]) == {2024}  # latest year in the file
    assert set(frame["unit"]) == {"t"}
    assert (frame["commodity"] == "cobalt").all()
    assert (frame["stage"] == "separation").all()
    assert frame["note"].str.startswith(BGS_NOTE).all()


def test_historic_codes() -> None:
    frame, _ = _read()
    y1991 = frame.loc[frame["year"] == 1991].set_index("country")
    assert "ZAR" not in y1991.index
    assert y1991.loc["COD", "value"] == 50.0
    assert "mapped to COD" in y1991.loc["COD", "note"]
    # Dissolved states keep their ISO 3166-3 code, never split between successors.
    assert y1991.loc["SUN", "value"] == 100.0
    assert "USSR" in y1991.loc["SUN", "note"]
    assert y1991.loc["CSK", "value"] == 2.0


def test_drop_year_removes_whole_years_with_a_dissolved_state() -> None:
    frame, _ = read_bgs_json(FIX, commodity="cobalt", stage="separation", historic="drop_year")
    # 1991 has SUN and CSK: the whole year goes (also its COD and CHN rows), 2023 and 2024 stay.
    assert sorted(set(frame["year"])) == [2023, 2024]
    assert len(frame) == 5
    assert set(frame["vintage"]) == {2024}


def test_source_is_bgs_below_usgs_priority() -> None:
    frame, source = _read()
    assert set(frame["source_id"]) == {source.id}
    assert source.id == "bgs:wms:bgs_quirks"
    assert source.publisher == "British Geological Survey"
    assert source.title == "World Mineral Statistics"
    assert source.url == "https://www2.bgs.ac.uk/mineralsuk/statistics/wms.cfc"
    assert source.via == "GitHub JacopoOttaviani/mineral.watch@1b63a33d7dcd28f9a697814b8d9290d8fcf43e80"
    assert "acknowledgement" in source.licence
    # USGS vintages use their edition year as priority; BGS must lose to them.
    assert source.priority == BGS_PRIORITY < 2023


def _write(tmp_path: Path, obj: object) -> Path:
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(obj), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("obj", "column"),
    [
        ({"Production": {"2024": {"CHN": -1.0}}}, "Production/2024/CHN"),
        ({"Production": {"2024": {"CHN": "12"}}}, "Production/2024/CHN"),
        ({"Production": {"2024": {"XYZ": 1.0}}}, "Production/2024/XYZ"),
        ({"Production": {"1991": {"ZAR": 1.0, "COD": 2.0}}}, "Production/1991/COD"),
        ({"Production": {"twenty": {"CHN": 1.0}}}, "Production/twenty"),
        ({"Imports": {}}, "Production"),
        ({"Production": {}}, "Production"),
    ],
)
def test_bad_json_raises_with_key_path(tmp_path: Path, obj: object, column: str) -> None:
    p = _write(tmp_path, obj)
    with pytest.raises(DataError) as info:
        _read(p)
    assert info.value.path == str(p)
    assert info.value.column == column


def test_stage_must_belong_to_the_commodity() -> None:
    with pytest.raises(DataError, match="no stage"):
        read_bgs_json(FIX, commodity="gallium", stage="mining")


def test_build_bgs_maps_each_file_to_its_commodity_and_stage(tmp_path: Path) -> None:
    (tmp_path / "bgs_wms").mkdir()
    for name in BGS_FILES:
        shutil.copy(FIX, tmp_path / "bgs_wms" / name)
    out = build_bgs(tmp_path)
    assert list(out) == ["production"]
    frame, sources = out["production"]
    pairs = frame.groupby(["commodity", "stage"]).size().to_dict()
    # build_bgs drops years with dissolved states (1991 here): 5 rows per file remain.
    assert pairs == {
        ("rare_earths", "mining"): 5,
        ("gallium", "separation"): 5,
        ("cobalt", "separation"): 5,
        ("graphite", "mining"): 5,
    }
    assert frame["country"].map(is_known_code).all()
    assert {s.id for s in sources} == set(frame["source_id"])
    assert len(sources) == 4
