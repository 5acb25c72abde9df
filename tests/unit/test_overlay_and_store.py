"""Overlay CSV parsing (hostile input) and the transactional DuckDB store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from critmin.data.catalogue import Source
from critmin.data.importers.overlay import read_overlay_csv
from critmin.errors import DataError
from critmin.store.duckdb_store import Store

HEADER = "commodity,stage,measure,country,year,value,unit,source_id,source_title,source_url\n"
KNOWN = {
    "usgs-mcs2024": Source(
        id="usgs-mcs2024",
        kind="dataset",
        publisher="USGS",
        title="MCS 2024",
        url="https://doi.org/10.5066/P144BA54",
        licence="US public domain",
    )
}


def _write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    p = tmp_path / "overlay.csv"
    p.write_text(header + body, encoding="utf-8")
    return p


def test_overlay_parses_and_converts_units(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "rare_earths,mining,production,Burma,2024,31.5,kt,my-est,My estimate,https://ex.org/a\n"
        "rare_earths,separation,share,CHN,2024,91,pct,my-est,,\n",
    )
    got = read_overlay_csv(p, KNOWN)
    prod = got.tables["production"]
    assert prod.loc[0, "country"] == "MMR"
    assert prod.loc[0, "value"] == pytest.approx(31_500)
    assert prod.loc[0, "unit"] == "t"
    assert got.tables["stage_shares"].loc[0, "share"] == pytest.approx(0.91)
    assert [s.id for s in got.sources] == ["my-est"]


@pytest.mark.parametrize(
    ("row", "line", "column", "needle"),
    [
        ("rare_earths,mining,capacity,AUS,2024,-5,t,usgs-mcs2024,,\n", 2, "value", "negative"),
        ("rare_earths,minning,production,AUS,2024,5,t,usgs-mcs2024,,\n", 2, "stage", "unknown stage"),
        ("rare_earth,mining,production,AUS,2024,5,t,usgs-mcs2024,,\n", 2, "commodity", "rare_earths"),
        ("rare_earths,mining,production,Atlantis,2024,5,t,usgs-mcs2024,,\n", 2, "country", "Atlantis"),
        ("rare_earths,mining,production,AUS,2024,5,furlong,usgs-mcs2024,,\n", 2, "unit", "furlong"),
        ("rare_earths,mining,production,AUS,2024,5x,t,usgs-mcs2024,,\n", 2, "value", "not a number"),
        ("rare_earths,mining,production,AUS,2024,5,t,nobody,,\n", 2, "source_id", "not a bundled source"),
        ("gallium,mining,production,AUS,2024,5,t,usgs-mcs2024,,\n", 2, "stage", "has no stage"),
        ("rare_earths,separation,share,CHN,2024,1.5,fraction,usgs-mcs2024,,\n", 2, "value", "exceeds 1"),
    ],
)
def test_overlay_errors_name_line_column_and_fix(
    tmp_path: Path, row: str, line: int, column: str, needle: str
) -> None:
    p = _write(tmp_path, row)
    with pytest.raises(DataError) as exc:
        read_overlay_csv(p, KNOWN)
    err = exc.value
    assert err.line == line
    assert err.column == column
    assert needle in str(err)
    assert err.fix
    assert str(p) in str(err)


def test_overlay_error_on_a_later_line(tmp_path: Path) -> None:
    body = "rare_earths,mining,production,AUS,2024,5,t,usgs-mcs2024,,\n" * 1
    body += "rare_earths,mining,production,CHN,2024,-1,t,usgs-mcs2024,,\n"
    with pytest.raises(DataError) as exc:
        read_overlay_csv(_write(tmp_path, body), KNOWN)
    assert exc.value.line == 3


def test_overlay_duplicate_and_missing_column(tmp_path: Path) -> None:
    row = "rare_earths,mining,production,AUS,2024,5,t,usgs-mcs2024,,\n"
    with pytest.raises(DataError, match="duplicate"):
        read_overlay_csv(_write(tmp_path, row + row), KNOWN)
    with pytest.raises(DataError, match="missing column"):
        read_overlay_csv(_write(tmp_path, "AUS,5\n", header="country,value\n"), KNOWN)


def test_store_round_trip_and_replace(tmp_path: Path) -> None:
    p = _write(tmp_path, "rare_earths,mining,production,AUS,2024,5,t,usgs-mcs2024,,\n")
    ov = read_overlay_csv(p, KNOWN)
    store = Store.open(tmp_path / "home")
    rec = store.add_import(kind="overlay", path=p, tables=ov.tables, sources=list(ov.sources))
    assert rec.n_rows == 1
    tables, _ = store.import_tables(rec.import_id)
    assert tables["production"].loc[0, "value"] == 5
    # Re-importing the same path replaces the earlier import.
    p.write_text(HEADER + "rare_earths,mining,production,AUS,2024,7,t,usgs-mcs2024,,\n", encoding="utf-8")
    ov2 = read_overlay_csv(p, KNOWN)
    rec2 = store.add_import(kind="overlay", path=p, tables=ov2.tables, sources=[])
    assert [r.import_id for r in store.imports()] == [rec2.import_id]
    assert store.remove_import(rec2.import_id)
    assert store.imports() == []


def test_store_write_is_atomic(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "home")
    bad = pd.DataFrame({"source_id": ["x"]})  # lacks the schema's columns -> fails mid-transaction
    with pytest.raises(KeyError):
        store.add_import(kind="overlay", path=tmp_path / "nofile.csv", tables={"production": bad}, sources=[])
    assert store.imports() == []
