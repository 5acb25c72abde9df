"""critmin.report.document: self-contained HTML (nothing fetched), figures, tables, labels; xlsx."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from critmin.data.load import load_dataset
from critmin.errors import DataError
from critmin.report.document import (
    ReportRun,
    comparison_table,
    headline_table,
    html_table,
    report_figures,
    report_html,
    report_tables,
    write_report,
)
from critmin.report.labels import metric_label, product_label, region_label
from critmin.simulate import simulate
from critmin.store.runs import RunStore

SNAKE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")


@pytest.fixture(scope="module")
def runs() -> tuple[ReportRun, ReportRun]:
    ds = load_dataset()
    a = simulate("controls-reimposed-2026-11", paths=8, seed=1, dataset=ds)
    b = simulate("truce-holds", paths=8, seed=1, dataset=ds)
    return ReportRun.from_result(a, run_id="sim-a"), ReportRun.from_result(b)


@pytest.fixture(scope="module")
def page(runs: tuple[ReportRun, ReportRun]) -> str:
    return report_html(runs[0], runs[1], load_dataset())


def test_labels_are_human() -> None:
    assert region_label("USA") == "United States"
    assert region_label("exCHN") == "All regions outside China"
    assert product_label("ndfeb_magnets:ev_traction") == "NdFeB magnets: ev traction"
    assert product_label("ndpr_oxide") == "NdPr oxide"
    assert metric_label("peak_shortfall_pct") == "Peak shortfall (% of demand)"
    assert metric_label("some_new_metric") == "Some new metric"


def test_html_fetches_nothing(page: str) -> None:
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page)
    assert tags  # the inlined plotly.js script at least
    for tag in tags:
        assert not re.search(r"(?:src|href)\s*=", tag), tag
    assert "cdn.plot.ly" not in page.split("</script>", 1)[1]  # nothing after the inlined library
    assert page.count("<script") >= 2


def test_html_has_the_figures_and_their_traces(page: str, runs: tuple[ReportRun, ReportRun]) -> None:
    figs = report_figures(runs[0], runs[1])
    kinds = [(f.layout.meta["critmin_figure"], f.layout.meta.get("metric")) for f in figs]
    assert ("run_fan", "shortfall_pct_ex_china") in kinds
    assert ("run_fan", "price_ratio_ex_china") in kinds
    assert ("region_fans", None) in kinds
    first = figs[0]
    names = [t.name for t in first.data]
    assert "median: controls-reimposed-2026-11" in names
    assert "median: truce-holds" in names  # the comparison overlaid
    assert "p5-p95: truce-holds" in names
    for text in ("Plotly.newPlot", "median: truce-holds", "NdFeB magnets: shortfall outside China"):
        assert text in page, text
    assert page.count('class="fig"') == len(figs)
    region = next(f for f in figs if f.layout.meta["critmin_figure"] == "region_fans")
    titles = [a.text for a in region.layout.annotations]
    assert "United States" in titles
    assert "Japan" in titles
    assert "China" not in titles


def test_html_has_the_tables_with_human_headers(page: str) -> None:
    for ident in ("headline", "events", "summary", "comparison", "assumptions", "sources", "metadata"):
        assert f'<table id="{ident}">' in page
    headers = re.findall(r"<th>(.*?)</th>", page)
    assert "Region" in headers
    assert "Metric" in headers
    assert "p50" in headers
    assert any("difference" in h for h in headers)
    for h in headers:
        assert not SNAKE.search(h), h
    assert "Peak shortfall (% of demand)" in page
    assert "United States" in page
    assert "data version" in page.lower()
    assert "seed" in page.lower()
    assert "sim-a" in page  # the stored run id


def test_sources_and_assumptions_are_resolved(runs: tuple[ReportRun, ReportRun]) -> None:
    ds = load_dataset()
    t = report_tables(runs[0], None, ds)
    src = t["Sources"]
    cited = [s for s in runs[0].source_ids if not s.startswith("assumption:")]
    assert src["Source"].tolist() == cited
    usgs = src.loc[src["Source"] == "usgs-mcs2025-rare-earths"].iloc[0]
    assert "Geological Survey" in usgs["Publisher"]
    ass = t["Assumptions"]
    assert len(ass) == len(runs[0].assumption_ids)
    assert (ass["Title"] != "").all()
    assert "Comparison" not in t


def test_comparison_is_b_minus_a(runs: tuple[ReportRun, ReportRun]) -> None:
    a, b = runs
    c = comparison_table(a, b)
    diff = next(col for col in c.columns if col.startswith("p50 difference"))
    pa = next(col for col in c.columns if col == f"p50: {a.label}")
    pb = next(col for col in c.columns if col == f"p50: {b.label}")
    assert ((c[pb] - c[pa] - c[diff]).abs().fillna(0) < 1e-9).all()
    row = c.loc[
        (c["Region"] == "United States")
        & (c["Metric"] == "Peak shortfall (% of demand)")
        & (c["Product"] == "NdFeB magnets")
    ].iloc[0]
    sa = a.tables["summary"]
    sb = b.tables["summary"]
    key = (
        (sa["region"] == "USA") & (sa["product"] == "ndfeb_magnets") & (sa["metric"] == "peak_shortfall_pct")
    )
    keyb = (
        (sb["region"] == "USA") & (sb["product"] == "ndfeb_magnets") & (sb["metric"] == "peak_shortfall_pct")
    )
    assert row[diff] == pytest.approx(float(sb.loc[keyb, "p50"].iloc[0]) - float(sa.loc[key, "p50"].iloc[0]))


def test_html_table_escapes_and_formats() -> None:
    out = html_table(pd.DataFrame({"Name": ["<b>x</b>"], "Value": [12345.6], "Small": [0.012345]}))
    assert "&lt;b&gt;x&lt;/b&gt;" in out
    assert "<b>x" not in out
    assert "12,346" in out
    assert "0.0123" in out


def test_a_stored_run_gives_the_same_tables(tmp_path: Path) -> None:
    result = simulate("truce-holds", paths=4, seed=5)
    store = RunStore.open(tmp_path)
    rid = store.save_simulation(result)
    stored = ReportRun.from_stored(*store.get(rid))
    fresh = ReportRun.from_result(result, run_id=rid)
    ds = load_dataset()
    for name in ("Summary", "Events", "Sources", "Assumptions"):
        pd.testing.assert_frame_equal(
            report_tables(stored, None, ds)[name], report_tables(fresh, None, ds)[name]
        )
    assert stored.chains == fresh.chains
    assert stored.months == fresh.months


def test_xlsx_sheets_and_neutralised_cells(tmp_path: Path, runs: tuple[ReportRun, ReportRun]) -> None:
    a, b = runs
    from dataclasses import replace

    hostile = replace(a, name='=HYPERLINK("http://x")', description="+1")
    path = write_report(tmp_path / "r.xlsx", hostile, b, load_dataset())
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == [
        "Headline",
        "Summary",
        "By sector",
        "Comparison",
        "Events",
        "Assumptions",
        "Sources",
        "Metadata",
    ]
    meta = list(book["Metadata"].iter_rows(values_only=True))
    assert meta[0] == ("Field", "Value")
    values = {r[0]: r[1] for r in meta[1:]}
    assert values["Scenario (run A)"] == '\'=HYPERLINK("http://x")'  # neutralised, not a formula
    header = next(book["Summary"].iter_rows(values_only=True))
    assert header == ("Product", "Region", "Metric", "p5", "p50", "p95")
    comp_header = next(book["Comparison"].iter_rows(values_only=True))
    assert any("difference" in str(h) for h in comp_header)
    assert not list(tmp_path.glob(".r.xlsx.*"))  # no temporary file left


def test_write_report_refuses_other_suffixes_and_leaves_nothing(
    tmp_path: Path, runs: tuple[ReportRun, ReportRun]
) -> None:
    with pytest.raises(DataError, match="suffix"):
        write_report(tmp_path / "r.pdf", runs[0])
    with pytest.raises(DataError, match="does not exist"):
        write_report(tmp_path / "missing" / "r.html", runs[0])
    assert list(tmp_path.iterdir()) == []


def test_a_plan_run_is_not_a_report(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path)
    rid = store.save_plan({"name": "p", "rows": [{"a": 1}]})
    with pytest.raises(DataError, match="simulation"):
        ReportRun.from_stored(*store.get(rid))


def test_headline_is_the_ex_china_totals(runs: tuple[ReportRun, ReportRun]) -> None:
    a, b = runs
    h = headline_table(a, b)
    assert list(h.columns) == ["Product", "Outside China", a.label, b.label]
    s = a.tables["summary"]
    row = s.loc[
        (s["region"] == "exCHN")
        & (s["product"] == "ndfeb_magnets")
        & (s["metric"] == "cumulative_shortfall_t")
    ]
    want = float(row["p50"].iloc[0])
    got = h.loc[
        (h["Product"] == "NdFeB magnets") & (h["Outside China"] == "Cumulative shortfall (t)"), a.label
    ]
    assert got.iloc[0].startswith(f"{want:,.0f} [" if abs(want) >= 100 else f"{want:.3g} [")
