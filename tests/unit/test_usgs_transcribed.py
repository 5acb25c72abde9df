"""Transcribed MCS 2025/2026 Rare Earths chapter tables (abridged fixtures, and the real files)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from critmin.data.build.usgs_transcribed import (
    build_usgs_transcribed,
    read_world_production,
    transcribed_source,
)
from critmin.data.catalogue import Source
from critmin.data.schemas import (
    ImportRelianceSchema,
    ImportSourceSchema,
    ProductionSchema,
    SalientSchema,
)
from critmin.errors import DataError

Built = dict[str, tuple[pd.DataFrame, list[Source]]]

FIX_RAW = Path(__file__).resolve().parents[1] / "fixtures" / "usgs" / "raw"


def _value(frame: pd.DataFrame, country: str, measure: str, year: int, vintage: int) -> pd.Series:
    sel = frame[
        (frame.country == country)
        & (frame.measure == measure)
        & (frame.year == year)
        & (frame.vintage == vintage)
    ]
    assert len(sel) == 1, sel
    return sel.iloc[0]


@pytest.fixture(scope="module")
def built() -> Built:
    return build_usgs_transcribed(FIX_RAW)


def test_tables_and_sources(built: Built) -> None:
    assert set(built) == {"production", "salient", "import_sources", "import_reliance"}
    schemas = {
        "production": ProductionSchema,
        "salient": SalientSchema,
        "import_sources": ImportSourceSchema,
        "import_reliance": ImportRelianceSchema,
    }
    for name, (frame, sources) in built.items():
        schemas[name].validate(frame)
        assert set(frame.source_id) <= {s.id for s in sources}
        assert set(frame.commodity) == {"rare_earths"}
    src25, src26 = transcribed_source(2025), transcribed_source(2026)
    assert src25.url == "https://pubs.usgs.gov/periodicals/mcs2025/mcs2025-rare-earths.pdf"
    assert src25.via == "GitHub NSSAC/dpi.RAG@f570faa55a7ff8a638ec7f7712e487715094c6a1 (marker OCR)"
    assert (src25.priority, src26.priority) == (2025, 2026)
    assert src26.doi == "10.5066/P1WKQ63T"
    assert src26.url == "https://pubs.usgs.gov/periodicals/mcs2026/mcs2026-rare-earths.pdf"


def test_production_years_estimates_and_bounds(built: Built) -> None:
    prod = built["production"][0]
    assert set(prod.stage) == {"mining"}
    assert set(prod.unit) == {"t"}
    aus25 = _value(prod, "AUS", "production", 2024, 2025)
    assert (aus25.value, aus25.estimated) == (13000.0, True)
    assert aus25.note == "footnote 12;13; fn13: JORC"
    aus26 = _value(prod, "AUS", "production", 2024, 2026)
    assert (aus26.value, bool(aus26.estimated)) == (29000.0, False)
    assert bool(_value(prod, "AUS", "production", 2025, 2026).estimated)
    wld25 = _value(prod, "WLD", "reserves", 2024, 2025)  # reserves year = the edition's estimate year
    assert (wld25.value, wld25.qualifier) == (90_000_000.0, "over")


def test_audit_corrections_applied_to_pre_v13_values(built: Built) -> None:
    prod = built["production"][0]
    bra = _value(prod, "BRA", "reserves", 2025, 2026)
    assert bra.value == 11_000_000.0
    assert "corrected from 21000000 to 11000000" in bra.note
    wld = _value(prod, "WLD", "reserves", 2025, 2026)
    assert (wld.value, wld.qualifier) == (75_000_000.0, "over")
    assert "corrected from >85000000 to >75000000" in wld.note


def test_unexpected_value_in_corrected_cell_is_an_error(tmp_path: Path) -> None:
    src = FIX_RAW / "transcribed" / "usgs_mcs2026_rare_earths_world_production_reserves.csv"
    bad = tmp_path / src.name
    bad.write_text(src.read_text(encoding="utf-8").replace("21000000", "31000000"), encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_world_production(bad, 2026)
    assert (info.value.line, info.value.column) == (3, "reserves")
    assert str(bad) in str(info.value)


def test_nir_rows_go_to_import_reliance_with_bounds(built: Built) -> None:
    nir = built["import_reliance"][0]
    compounds = nir[(nir.vintage == 2025) & nir.note.str.contains("compounds and metals")].sort_values("year")
    assert compounds[["year", "value", "bound", "as_printed"]].values.tolist() == [
        [2020, 1.0, "eq", "100"],
        [2021, 0.95, "gt", ">95"],
        [2022, 0.95, "gt", ">95"],
        [2023, 0.95, "gt", ">95"],
        [2024, 0.8, "eq", "80"],
    ]
    concentrates = nir[nir.note.str.contains("mineral concentrates")]
    assert set(concentrates.bound) == {"net_exporter"}
    assert concentrates.value.isna().all()
    assert _nir(nir, 2026, 2023) == (0.9, "gt")
    salient = built["salient"][0]
    assert not salient.item.str.contains("import_reliance").any()


def _nir(nir: pd.DataFrame, vintage: int, year: int) -> tuple[float, str]:
    row = nir[(nir.vintage == vintage) & (nir.year == year)].iloc[0]
    return float(row.value), str(row.bound)


def test_salient_and_import_sources(built: Built) -> None:
    salient = built["salient"][0]
    conc = salient[(salient.item == "production_mineral_concentrates") & (salient.year == 2024)].iloc[0]
    assert (conc.value, conc.unit, bool(conc.estimated)) == (45000.0, "t", True)
    ndpr = salient[(salient.item == "price_ndpr_oxide") & (salient.year == 2025)].iloc[0]
    assert (ndpr.value, ndpr.unit) == (69.0, "usd_per_kg")
    sources = built["import_sources"][0]
    china = sources[(sources.vintage == 2025) & (sources.partner == "CHN")].iloc[0]
    assert (china.share, china.period) == (0.7, "2020-23")
    assert set(sources.partner) == {"CHN", "OTH", "MYS"}


@pytest.mark.raw
def test_real_mcs2026_rare_earth_mining_2024(raw_dir: Path) -> None:
    tables = build_usgs_transcribed(raw_dir)
    prod = tables["production"][0]
    assert _value(prod, "CHN", "production", 2024, 2026).value == 270000.0
    assert _value(prod, "WLD", "production", 2024, 2026).value == 380000.0
    assert _value(prod, "AUS", "production", 2024, 2026).value == 29000.0
    assert _value(prod, "AUS", "production", 2024, 2025).value == 13000.0  # MCS2025 estimate, superseded
    # The real MCS 2026 file already carries the v1.3 values (AUDIT.md correction 1): no note added.
    bra = _value(prod, "BRA", "reserves", 2025, 2026)
    assert bra.value == 11_000_000.0
    assert pd.isna(bra.note) or "corrected" not in bra.note
    assert _value(prod, "WLD", "reserves", 2025, 2026).value == 75_000_000.0
    nir = tables["import_reliance"][0]
    assert _nir(nir, 2025, 2024) == (0.8, "eq")
    assert _nir(nir, 2026, 2024) == (0.53, "eq")
    assert not math.isnan(_nir(nir, 2026, 2025)[0])
