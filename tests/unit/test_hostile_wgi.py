"""Hostile input for the WGI reader (and the sha256 every reader result carries)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from critmin.data.importers.usgs_mcs import read_world_csv
from critmin.data.importers.usgs_trends import read_nir_figure
from critmin.data.importers.wgi import read_wgi_csv

FIX = Path(__file__).resolve().parents[1] / "fixtures"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_reader_result_carries_the_sha256_of_the_bytes_parsed() -> None:
    wgi = FIX / "wgi" / "wgi_quirks.csv"
    got = read_wgi_csv(wgi)
    frame, source = got  # the old two-tuple unpacking keeps working
    assert got.sha256 == _sha(wgi)
    assert got.frame is frame
    assert got.source is source
    world = FIX / "usgs" / "mcs2024-nicke_world.csv"
    assert read_world_csv(world).sha256 == _sha(world)
    nir = FIX / "usgs" / "MCS2024_Fig2_Net_Import_Reliance.csv"
    assert read_nir_figure(nir).attrs["sha256"] == _sha(nir)


def test_overlay_result_carries_the_sha256(tmp_path: Path) -> None:
    from critmin.data.catalogue import Source
    from critmin.data.importers.overlay import read_overlay_csv

    p = tmp_path / "o.csv"
    p.write_bytes(
        b"commodity,stage,measure,country,year,value,unit,source_id,source_title,source_url\r\n"
        b"rare_earths,mining,production,AUS,2024,5,kt,my-est,Mine,https://ex.org/a\r\n"
    )
    assert read_overlay_csv(p, dict[str, Source]()).sha256 == _sha(p)
