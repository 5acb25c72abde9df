"""API tests of the data endpoints: each answers the CLI's JSON, bad input gets the CLI's message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from critmin.cli.exposure import gap_lines
from critmin.data.load import load_dataset
from critmin.metrics.exposure import exposure
from tests.unit.server_helpers import BOM, assert_error, client


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with client(tmp_path_factory.mktemp("home")) as c:
        yield c


def test_health_loads_nothing(api: TestClient) -> None:
    r = api.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["token_required"] is False
    assert r.json()["workers"] == {"mode": "processes", "workers": 2, "warm": 0}  # none started yet


def test_dataset_and_sources(api: TestClient) -> None:
    ds = load_dataset(user_data=False)
    doc = api.get("/api/v1/dataset").json()
    assert doc["data_version"] == ds.version
    assert "rare_earths" in {c["id"] for c in doc["commodities"]}
    src = api.get("/api/v1/sources", params={"kind": "assumption"}).json()["sources"]
    assert src
    assert all(s["kind"] == "assumption" for s in src)
    assert_error(
        api.get("/api/v1/sources", params={"kind": "nope"}), 400, "kind 'nope' is not a known source kind"
    )


def test_exposure_equals_the_library(api: TestClient) -> None:
    ds = load_dataset(user_data=False)
    want = exposure("rare_earths", None, "USA", dataset=ds)
    doc = api.get("/api/v1/exposure", params={"commodity": "rare_earths", "importer": "United States"}).json()
    assert doc["chokepoint"] == want.chokepoint
    assert [s["stage"] for s in doc["stages"]] == list(want.stages["stage"])
    assert doc["notes"] == gap_lines(want.gaps, "rare_earths", None)
    assert json.loads(json.dumps(doc)) == doc  # strict JSON (no NaN)


def test_exposure_bad_input_has_the_cli_message(api: TestClient) -> None:
    doc = assert_error(
        api.get("/api/v1/exposure", params={"commodity": "nope"}), 400, "unknown commodity 'nope'"
    )
    assert doc["field"] == "commodity"
    assert doc["fix"]
    assert_error(api.get("/api/v1/exposure", params={"importer": "Atlantis"}), 400, "Atlantis")
    doc = assert_error(api.get("/api/v1/exposure", params={"year": "abc"}), 422, "year")
    assert doc["field"] == "year"
    assert_error(api.get("/api/v1/exposure", params={"year": 3000}), 422, "year")


def test_criticality_both_methods(api: TestClient) -> None:
    eu = api.get("/api/v1/criticality").json()
    assert eu["method"] == "eu"
    usgs = api.get("/api/v1/criticality", params={"method": "usgs"}).json()
    assert usgs["method"] == "usgs"
    assert_error(api.get("/api/v1/criticality", params={"method": "xx"}), 400, "xx")
    fig = api.get("/api/v1/figures/criticality").json()
    assert fig["data"]


def test_trace_country(api: TestClient) -> None:
    doc = api.get("/api/v1/trace/country", params={"country": "China"}).json()
    assert [o["country"] for o in doc["origins"]] == ["CHN"]
    assert abs(sum(doc["origins"][0]["origins"].values()) - 1) < 1e-6
    assert_error(
        api.get("/api/v1/trace/country", params={"stage": "magnett"}), 400, "unknown stage 'magnett'"
    )
    assert_error(
        api.get("/api/v1/trace/country", params={"country": "USA"}),
        400,
        "United States (USA) has no magnet output",
    )


def test_figures_are_plotly_json_with_human_labels(api: TestClient) -> None:
    sankey = api.get("/api/v1/figures/flows").json()
    node = sankey["data"][0]["node"]["label"]
    assert "Mining: China" in node
    assert any(x.startswith("End use: ") for x in node)
    assert not any("_" in x for x in node)
    gantt = api.get("/api/v1/figures/projects").json()
    assert {t["name"] for t in gantt["data"]} >= {"Operating"}
    mp = api.get("/api/v1/figures/choropleth", params={"stage": "separation"}).json()
    assert mp["data"][0]["type"] == "choropleth"
    bars = api.get("/api/v1/figures/stage-bars").json()
    assert all(t["type"] == "bar" for t in bars["data"])
    assert_error(api.get("/api/v1/figures/choropleth", params={"stage": "nowhere"}), 400, "nowhere")


def test_projects_and_parameters(api: TestClient) -> None:
    rows = api.get("/api/v1/projects").json()["projects"]
    assert len(rows) == len(load_dataset(user_data=False).table("projects"))
    params = {p["name"]: p for p in api.get("/api/v1/parameters").json()["parameters"]}
    assert params["licence.approval_rate"]["label"]
    assert "_" not in params["licence.approval_rate"]["label"]


def test_screen_upload_multipart_and_raw(api: TestClient) -> None:
    data = BOM.read_bytes()
    r = api.post(
        "/api/v1/screen", params={"as_of": "2026-01-15"}, files={"bom": ("example.csv", data, "text/csv")}
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert {v["product_id"] for v in doc["verdicts"]} >= {"ev-motor"}
    assert doc["bom"] == "uploaded BOM"
    raw = api.post(
        "/api/v1/screen", params={"as_of": "2026-01-15"}, content=data, headers={"content-type": "text/csv"}
    )
    assert raw.json()["verdicts"] == doc["verdicts"]


def test_screen_bad_input(api: TestClient) -> None:
    data = BOM.read_bytes()
    assert_error(
        api.post(
            "/api/v1/screen",
            params={"as_of": "15/01/2026"},
            content=data,
            headers={"content-type": "text/csv"},
        ),
        400,
        "--as-of '15/01/2026' is not a date",
    )
    assert_error(
        api.post(
            "/api/v1/screen",
            params={"rules": "/etc/passwd"},
            content=data,
            headers={"content-type": "text/csv"},
        ),
        400,
        "unknown rules '/etc/passwd'",
    )
    doc = assert_error(
        api.post("/api/v1/screen", content=b"not,a,bom\n1,2,3\n", headers={"content-type": "text/csv"}), 400
    )
    assert "critmin-upload-" not in json.dumps(doc)  # the private folder is never shown
    assert_error(
        api.post("/api/v1/screen", files={"other": ("x.csv", data, "text/csv")}),
        400,
        "unexpected file field 'other'",
    )
    assert_error(
        api.post(
            "/api/v1/screen",
            content=b"--x\r\nbroken",
            headers={"content-type": "multipart/form-data; boundary=x"},
        ),
        400,
    )


def test_trace_firms_upload(api: TestClient, tmp_path: Path) -> None:
    from critmin.trace.synth import synth_network, write_network

    firms, edges = synth_network(60, 300, 1)
    fp, ep = write_network(firms, edges, tmp_path, "csv")
    r = api.post(
        "/api/v1/trace/firms",
        params={"origin_stage": "mining"},
        files={"firms": ("firms.csv", fp.read_bytes()), "edges": ("edges.csv", ep.read_bytes())},
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["coverage"]["firms"] == 60
    assert doc["rows_total"] >= len(doc["rows"]) > 0
    assert_error(
        api.post(
            "/api/v1/trace/firms",
            params={"origin_stage": "mining"},
            files={"firms": ("firms.csv", fp.read_bytes())},
        ),
        400,
        "missing file field(s) edges",
    )
    assert_error(
        api.post(
            "/api/v1/trace/firms",
            params={"origin_stage": "moon"},
            files={"firms": ("f.csv", b"x"), "edges": ("e.csv", b"y")},
        ),
        400,
        "moon",
    )


def test_unknown_route_and_method(api: TestClient) -> None:
    assert_error(api.get("/api/v1/nothing"), 404)
    assert_error(api.delete("/api/v1/exposure"), 405)


def test_openapi_and_docs_are_local(api: TestClient) -> None:
    spec = api.get("/api/v1/openapi.json").json()
    assert "/api/v1/exposure" in spec["paths"]
    assert "/api/v1/simulations" in spec["paths"]
    page = api.get("/api/v1/docs").text
    assert "openapi.json" in page
    assert "cdn" not in page.lower()
    assert "https://" not in page
    assert api.get("/docs", follow_redirects=False).status_code in (302, 307)


def test_plans_floor_equals_the_cli_library(api: TestClient) -> None:
    from critmin.plan.floor import example_spec, value_floor

    doc = api.post("/api/v1/plans/floor", json={"example": "dod-mp", "paths": 200, "seed": 3}).json()
    want = value_floor(example_spec("dod-mp"), paths=200, seed=3, example="dod-mp").to_dict()
    assert doc["npv_usd"] == pytest.approx(want["npv_usd"])
    assert doc["paths"] == 200
    assert_error(api.post("/api/v1/plans/floor", json={"paths": 10}), 400, "missing --floor")
    assert_error(api.post("/api/v1/plans/floor", json={"example": "nope"}), 400, "nope")
    assert_error(
        api.post("/api/v1/plans/floor", json={"example": "dod-mp", "paths": 10**6}), 400, "server's limit"
    )
    assert_error(
        api.post("/api/v1/plans/floor", json={"example": "dod-mp", "floor_usd_per_kg": -1}), 400, "floor"
    )
