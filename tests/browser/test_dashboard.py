"""The dashboard in headless Chromium: every page renders its figures from the API, a scenario
runs with a knob changed and its fan charts draw, a BOM upload gives the verdict table, two
runs compare, and no request leaves 127.0.0.1. Each page is also saved as a screenshot: to
``$CRITMIN_SCREENSHOTS`` when set (``CRITMIN_SCREENSHOTS=docs/screenshots`` refreshes the
README's images), else to a temporary folder, so a test run never changes tracked files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("CRITMIN_SCREENSHOTS") or tempfile.mkdtemp(prefix="critmin-shots-"))
BOM = ROOT / "tests" / "fixtures" / "bom" / "example.csv"


def traces(page: Any, div: str) -> list[dict[str, Any]]:
    """Type and name of each trace plotted in ``div`` (read from the plotly div's data)."""
    out: list[dict[str, Any]] = page.evaluate(
        "id => (document.getElementById(id).data || [])"
        ".map(t => ({type: t.type || 'scatter', name: t.name || ''}))",
        div,
    )
    return out


def wait_plot(page: Any, div: str, timeout: float = 60_000) -> list[dict[str, Any]]:
    page.wait_for_function(
        "id => (document.getElementById(id).data || []).length > 0", arg=div, timeout=timeout
    )
    return traces(page, div)


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def done(page: Any) -> None:
    assert page.left_loopback == [], page.left_loopback
    assert not [e for e in page.console_errors if "favicon" not in e], page.console_errors
    if page.locator("#status").count():
        assert page.locator("#status").inner_text().strip() == ""


def test_overview(page: Any, server: str) -> None:
    page.goto(server + "/#overview")
    map_traces = wait_plot(page, "ov-map")
    assert map_traces[0]["type"] == "choropleth"
    assert all(t["type"] == "bar" for t in wait_plot(page, "ov-bars"))
    page.wait_for_selector("#ov-table tr:nth-child(2)")
    assert "Separation" in page.locator("#ov-table").inner_text()
    # knob: another stage redraws the map
    page.select_option("#ov-stage", "mining")
    page.click("#ov-go")
    page.wait_for_function(
        "() => (document.getElementById('ov-map').layout.title.text || '').toLowerCase().includes('min')"
    )
    page.wait_for_timeout(800)  # the map's topojson comes from /assets/ (checked by the route)
    shot(page, "overview")
    done(page)


def test_flows(page: Any, server: str) -> None:
    page.goto(server + "/#flows")
    t = wait_plot(page, "fl-sankey")
    assert t[0]["type"] == "sankey"
    labels = page.evaluate("() => document.getElementById('fl-sankey').data[0].node.label")
    assert "Mining: China" in labels
    assert any(x.startswith("End use: ") for x in labels)
    assert not any("_" in x for x in labels)
    shot(page, "flows")
    done(page)


def test_projects(page: Any, server: str) -> None:
    page.goto(server + "/#projects")
    names = {t["name"] for t in wait_plot(page, "pj-gantt")}
    assert "Operating" in names
    assert any(n.startswith("Delay band") for n in names)
    shot(page, "projects")
    done(page)


def test_screening(page: Any, server: str) -> None:
    page.goto(server + "/#screening")
    page.set_input_files("#scr-file", str(BOM))
    page.fill("#scr-date", "2026-01-15")
    page.click("#scr-go")
    page.wait_for_selector("#scr-table tr:nth-child(2)")
    text = page.locator("#scr-table").inner_text()
    assert "ev-motor" in text
    assert "REQUIRED" in text
    assert "mofcom-2025-18" in page.locator("#scr-rules").inner_text()
    shot(page, "screening")
    done(page)


def test_scenarios_run_and_compare(page: Any, server: str) -> None:
    page.goto(server + "/#scenarios")
    page.wait_for_function("() => document.getElementById('sc-name').options.length > 0")
    page.select_option("#sc-name", "controls-reimposed-2026-11")
    page.fill("#sc-end", "2028-12")
    page.fill("#sc-paths", "1")
    page.click("#sc-run")
    page.wait_for_function("() => document.body.dataset.runs === '1'", timeout=120_000)
    names = [t["name"] for t in wait_plot(page, "sc-fan-shortfall")]
    assert names == [
        "p95: controls-reimposed-2026-11",
        "p5-p95: controls-reimposed-2026-11",
        "median: controls-reimposed-2026-11",
    ]
    assert [t["name"] for t in wait_plot(page, "sc-fan-price")][-1] == "median: controls-reimposed-2026-11"
    assert page.evaluate("() => document.getElementById('sc-progress').value") == 1
    # a knob: fewer licence approvals, then the second run against the first
    page.fill("#sc-approval", "0.1")
    page.click("#sc-run")
    page.wait_for_function(
        "() => document.body.dataset.job === 'running' || document.body.dataset.job === 'done'"
    )
    page.wait_for_function("() => document.body.dataset.job === 'done'", timeout=120_000)
    # one region's fan
    page.select_option("#sc-region", "USA")
    page.wait_for_function(
        "() => ((document.getElementById('sc-fan-shortfall').layout.meta || {}).region) === 'USA'"
    )
    shot(page, "scenarios")
    page.wait_for_function("() => document.getElementById('cmp-a').options.length >= 2")
    page.click("#cmp-go")
    page.wait_for_selector("#cmp-table tr:nth-child(2)")
    medians = [t["name"] for t in traces(page, "cmp-fan-a") if t["name"].startswith("median")]
    assert len(medians) == 2
    assert "Difference B - A" in page.locator("#cmp-table").inner_text()
    # the knob moved the result: the second run's median shortfall differs from the first's
    med = page.evaluate(
        "() => document.getElementById('cmp-fan-a').data"
        ".filter(t => t.name.startsWith('median')).map(t => t.y)"
    )
    assert med[0] != med[1]
    page.locator("#cmp-table").scroll_into_view_if_needed()
    shot(page, "compare")
    done(page)


def test_api_docs_page_is_local(page: Any, server: str) -> None:
    page.goto(server + "/api/v1/docs")
    page.wait_for_selector("#endpoints table")
    assert "/api/v1/simulations" in page.locator("#endpoints").inner_text()
    shot(page, "api-docs")
    done(page)


def test_plans_page_solves_a_small_plan(page: Any, server: str) -> None:
    page.goto(server + "/#plans")
    page.wait_for_function("() => document.getElementById('pl-name').options.length >= 3")
    page.select_option("#pl-name", "us")
    assert "United States" in page.locator("#pl-name").inner_text()
    page.fill("#pl-futures", "4")  # the us plan at 4 futures: seconds, not the plan's 200
    page.check("#pl-verify")
    page.fill("#pl-paths", "10")
    page.click("#pl-run")
    page.wait_for_function(
        "() => document.body.dataset.planJob === 'running' || document.body.dataset.planJob === 'done'"
    )
    page.wait_for_function("() => document.body.dataset.plans === '1'", timeout=120_000)
    assert page.evaluate("() => document.getElementById('pl-progress').value") == 1
    assert page.locator("#pl-phase").inner_text() == "done"
    # the portfolio table with human labels: project names, regions, products in words
    page.wait_for_selector("#pl-portfolio tr:nth-child(2)")
    text = page.locator("#pl-portfolio").inner_text()
    assert "Offtake contract" in text
    assert "United States" in text
    assert "NdFeB magnets" in text or "NdPr oxide" in text
    cells = page.evaluate(
        "() => [...document.querySelectorAll('#pl-portfolio td:nth-child(-n+5)')].map(td => td.textContent)"
    )
    assert cells
    assert not [c for c in cells if "_" in c]  # no snake_case ids
    # the cost chart: bars by instrument, one segment per payer
    bars = wait_plot(page, "pl-costs")
    assert bars
    assert all(t["type"] == "bar" for t in bars)
    assert "Payer" in str(page.evaluate("() => document.getElementById('pl-costs').layout.legend.title.text"))
    assert page.locator("#pl-shadows li").count() >= 1
    # the closed-loop table: in-sample vs out-of-sample shares
    head = page.locator("#pl-verification tr").first.inner_text()
    assert "In-sample" in head
    assert "Out-of-sample" in head
    assert page.locator("#pl-verification tr").count() >= 2
    assert "Stored as run plan-" in page.locator("#pl-headline").inner_text()
    shot(page, "plans")
    done(page)


def test_plans_page_draws_the_frontier(page: Any, server: str) -> None:
    page.goto(server + "/#plans")
    page.wait_for_function("() => document.getElementById('pl-name').options.length >= 3")
    page.select_option("#pl-name", "us")
    page.fill("#pl-futures", "3")
    page.check("#pl-frontier")
    page.fill("#pl-months", "0, 12")
    assert page.locator("#pl-frontier-box").is_hidden()
    page.click("#pl-run")
    page.wait_for_function("() => document.body.dataset.planJob === 'done'", timeout=180_000)
    line = wait_plot(page, "pl-frontier-fig")
    assert line[0]["type"] == "scatter"
    xs = page.evaluate("() => document.getElementById('pl-frontier-fig').data[0].x")
    assert list(xs) == [0, 12]
    assert page.locator("#pl-frontier-box").is_visible()
    assert page.locator("#pl-alternatives tr").count() == 4  # header + three portfolios
    assert "stockpile-heavy" in page.locator("#pl-alternatives").inner_text()
    # without the closed-loop check the table shows the in-sample shares only
    assert "Out-of-sample" not in page.locator("#pl-verification").inner_text()
    done(page)
