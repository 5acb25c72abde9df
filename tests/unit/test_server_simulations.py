"""API tests of scenarios, simulation jobs (submit, progress, result, cancel, queue bound) and runs."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from critmin.simulate import simulate
from tests.unit.server_helpers import assert_error, client, wait


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with client(tmp_path_factory.mktemp("home"), workers=1, max_pending=3) as c:
        yield c


def test_scenarios_list_show_validate(api: TestClient) -> None:
    names = [s["name"] for s in api.get("/api/v1/scenarios").json()["scenarios"]]
    assert "baseline" in names
    assert "us-embargo" in names
    doc = api.get("/api/v1/scenarios/us-embargo").json()
    assert doc["yaml"].startswith("name: us-embargo")
    assert doc["resolved"]["commodities"] == ["rare_earths", "gallium", "germanium", "antimony"]
    d = assert_error(api.get("/api/v1/scenarios/basline"), 404, "unknown scenario 'basline'")
    assert "did you mean 'baseline'" in d["fix"]
    ok = api.post("/api/v1/scenarios/validate", json={"scenario": "baseline", "end": "2026-12"}).json()
    assert ok["valid"]
    assert ok["months"] == 36


def test_validate_reports_the_line_of_a_bad_yaml(api: TestClient) -> None:
    text = "name: x\nstart: 2024-01\nend: 2025-13\n"
    d = assert_error(
        api.post("/api/v1/scenarios/validate", json={"scenario_yaml": text}), 400, "scenario.yaml:3"
    )
    assert "critmin-upload-" not in d["error"]
    assert_error(
        api.post("/api/v1/scenarios/validate", json={"scenario": "../../etc/passwd"}), 404, "unknown scenario"
    )
    assert_error(api.post("/api/v1/scenarios/validate", json={}), 400, "give a scenario")
    assert_error(
        api.post("/api/v1/scenarios/validate", json={"scenario": "baseline", "parameters": {"nope.x": 1}}),
        400,
        "nope.x",
    )
    assert_error(
        api.post("/api/v1/scenarios/validate", json={"scenario": "baseline", "drop_events": ["zz"]}),
        400,
        "no event 'zz'",
    )
    assert_error(
        api.post("/api/v1/scenarios/validate", json={"scenario": "baseline", "colour": 1}), 422, "colour"
    )


def test_event_fields_go_through_the_loader(api: TestClient) -> None:
    body = {
        "scenario": "controls-reimposed-2026-11",
        "event_fields": {"approvals-tighten-2026-11": {"approval_rate": 2}},
    }
    d = assert_error(api.post("/api/v1/scenarios/validate", json=body), 400, "approval_rate")
    assert "edited-scenario.yaml" in d["error"]
    body["event_fields"] = {"approvals-tighten-2026-11": {"approval_rate": 0.3}}
    doc = api.post("/api/v1/scenarios/validate", json=body).json()
    assert doc["resolved"]["events"][0]["approval_rate"] == 0.3


def test_malformed_json_is_a_422(api: TestClient) -> None:
    r = api.post(
        "/api/v1/simulations",
        content=b'{"scenario": "baseline",',
        headers={"content-type": "application/json"},
    )
    assert_error(r, 422, "not valid JSON")
    assert_error(api.post("/api/v1/simulations", json={"scenario": "baseline", "paths": "5"}), 422, "paths")
    assert_error(api.post("/api/v1/simulations", json={"scenario": "baseline", "paths": True}), 422, "paths")


def test_limits_are_the_clis(api: TestClient) -> None:
    assert_error(
        api.post("/api/v1/simulations", json={"scenario": "baseline", "paths": 0}),
        400,
        "paths must be a whole number",
    )
    assert_error(
        api.post("/api/v1/simulations", json={"scenario": "baseline", "seed": -1}),
        400,
        "seed must be a whole number",
    )
    assert_error(
        api.post("/api/v1/simulations", json={"scenario": "baseline", "paths": 10**9}),
        400,
        "paths must be a whole number",
    )
    assert_error(
        api.post("/api/v1/simulations", json={"scenario": "baseline", "paths": 50_000}), 400, "server's limit"
    )


def test_one_path_job_equals_the_library_and_is_stored(api: TestClient) -> None:
    r = api.post("/api/v1/simulations", json={"scenario": "baseline", "paths": 1, "end": "2025-12"})
    assert r.status_code == 202, r.text
    job = wait(api, r.json()["job_id"])
    assert job["status"] == "done", job
    assert job["progress"]["done"] == job["progress"]["total"] > 0
    res = api.get(f"/api/v1/simulations/{job['job_id']}/result").json()
    sc_want = simulate(_edited("baseline", "2025-12"), paths=1, seed=0)
    assert res["summary"] == sc_want.to_dict()["summary"]
    runs = api.get("/api/v1/runs").json()["runs"]
    assert job["run_id"] in [x["run_id"] for x in runs]
    shown = api.get(f"/api/v1/runs/{job['run_id']}", params={"tables": ["summary", "bands"]}).json()
    assert len(shown["tables"]["summary"]) == len(res["summary"])
    fan = api.get(f"/api/v1/runs/{job['run_id']}/figures/fan").json()
    assert [t["name"] for t in fan["data"]][-1].startswith("median")
    region = api.get(f"/api/v1/simulations/{job['job_id']}/figures/fan", params={"region": "USA"}).json()
    assert region["layout"]["meta"]["region"] == "USA"
    assert_error(api.get(f"/api/v1/runs/{job['run_id']}/figures/fan", params={"region": "ATL"}), 400, "ATL")
    assert_error(
        api.get(f"/api/v1/runs/{job['run_id']}/figures/fan", params={"metric": "x"}), 400, "metric 'x'"
    )
    assert_error(api.get(f"/api/v1/runs/{job['run_id']}", params={"tables": "nope"}), 400, "no table 'nope'")


def _edited(name: str, end: str):  # the scenario the API ran: the bundled one up to `end`
    from critmin.simulate import load_scenario

    sc = load_scenario(name)
    return type(sc).model_validate({**sc.model_dump(), "end": end})


def test_compare_two_runs_with_knobs(api: TestClient) -> None:
    ids = []
    for rate in (0.9, 0.2):
        r = api.post(
            "/api/v1/simulations",
            json={
                "scenario": "controls-reimposed-2026-11",
                "paths": 1,
                "end": "2027-12",
                "parameters": {"licence.approval_rate": rate},
                "event_fields": {"approvals-tighten-2026-11": {"approval_rate": rate}},
            },
        )
        ids.append(wait(api, r.json()["job_id"]))
    assert all(j["status"] == "done" for j in ids), ids
    a, b = ids[0]["run_id"], ids[1]["run_id"]
    rows = api.get("/api/v1/runs/compare", params={"a": a, "b": b}).json()["rows"]
    peak = [
        x
        for x in rows
        if x["region"] == "exCHN"
        and x["metric"] == "cumulative_shortfall_t"
        and x["product"] == "ndfeb_magnets"
    ]
    assert peak
    assert peak[0]["p50_b"] > peak[0]["p50_a"]
    assert peak[0]["region_label"] == "All regions outside China"
    assert "_" not in peak[0]["metric_label"]  # fewer approvals, more shortfall
    fan = api.get(f"/api/v1/runs/{a}/figures/fan", params={"other": b}).json()
    assert sum(1 for t in fan["data"] if t["name"].startswith("median")) == 2


def test_unknown_ids_are_404(api: TestClient) -> None:
    assert_error(api.get("/api/v1/simulations/job-0000"), 404, "unknown simulation job")
    assert_error(api.delete("/api/v1/simulations/job-0000"), 404)
    assert_error(api.get("/api/v1/simulations/job-0000/result"), 404)
    assert_error(api.get("/api/v1/runs/sim-20990101T000000-deadbeef"), 404)
    assert_error(api.get("/api/v1/runs/compare", params={"a": "x", "b": "y"}), 404)


def test_queue_is_bounded_and_jobs_cancel(api: TestClient) -> None:
    before = {r["run_id"] for r in api.get("/api/v1/runs").json()["runs"]}
    long = {"scenario": "baseline", "paths": 2000}
    first = api.post("/api/v1/simulations", json=long).json()["job_id"]
    queued = [api.post("/api/v1/simulations", json=long).json()["job_id"] for _ in range(2)]
    assert_error(api.post("/api/v1/simulations", json=long), 429, "at most 3")
    assert api.get(f"/api/v1/simulations/{queued[1]}").json()["status"] == "queued"
    assert api.delete(f"/api/v1/simulations/{queued[1]}").json()["status"] == "cancelled"
    assert_error(api.get(f"/api/v1/simulations/{queued[1]}/result"), 409, "cancelled")
    # the running one stops within a month of the cancel
    end = time.monotonic() + 60
    while api.get(f"/api/v1/simulations/{first}").json()["progress"]["done"] == 0 and time.monotonic() < end:
        time.sleep(0.05)
    assert_error(api.get(f"/api/v1/simulations/{first}/result"), 409, "running")
    api.delete(f"/api/v1/simulations/{first}")
    api.delete(f"/api/v1/simulations/{queued[0]}")
    for j in (first, queued[0]):
        assert wait(api, j)["status"] == "cancelled"
    after = {r["run_id"] for r in api.get("/api/v1/runs").json()["runs"]}
    assert after == before  # nothing stored for a cancelled run
    assert api.get("/api/v1/health").json()["jobs"] == {"queued": 0, "running": 0}
