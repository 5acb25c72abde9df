"""API tests of the longer plan and stockpile jobs: a plan's frontier points (each a solve) and
a stockpile sizing (the simulator, run several times), stored and cancelled."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.unit.server_helpers import TOY_PLAN as TOY
from tests.unit.server_helpers import assert_error, client, post, wait_plan

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with client(tmp_path_factory.mktemp("home"), workers=1, max_pending=3) as c:
        yield c


@pytest.mark.slow
def test_frontier_points_are_steps_and_figure(api: TestClient) -> None:
    r = post(api, {"plan_yaml": TOY, "frontier": True, "frontier_months": [12, 0], "store": False})
    job = r.json()
    assert job["request"]["frontier_months"] == [0, 12]
    doc = wait_plan(api, job["job_id"])
    assert doc["status"] == "done", doc
    assert doc["progress"]["total"] == 5  # futures, solve, two points, alternatives
    assert doc["run_id"] is None  # store: false
    res = api.get(f"/api/v1/plans/{job['job_id']}/result").json()
    assert [p["cutoff_months"] for p in res["frontier"]] == [0, 12]
    assert [a["portfolio"] for a in res["alternatives"]] == ["least cost", "stockpile-heavy", "project-heavy"]
    assert res["view"]["has_frontier"]
    fig = api.get(f"/api/v1/plans/{job['job_id']}/figures/frontier").json()
    assert list(fig["data"][0]["x"]) == [0, 12]
    costs = [p["expected_cost_musd"] for p in res["frontier"]]
    assert costs[1] >= costs[0] - 1e-6  # a harder target never costs less


@pytest.mark.slow
def test_a_stockpile_job_sizes_stores_and_cancels(api: TestClient) -> None:
    body = {
        "scenario": "us-embargo",
        "region": "USA",
        "product": "gallium_metal",
        "target_shortfall_pct": 10.0,
        "confidence": 0.6,
        "fill_months": 3,
        "end": "2027-12",
        "paths": 6,
        "seed": 1,
    }
    job = post(api, body, "/api/v1/plans/stockpile").json()
    assert job["kind"] == "stockpile"
    doc = wait_plan(api, job["job_id"])
    assert doc["status"] == "done", doc
    res = api.get(f"/api/v1/plans/{job['job_id']}/result").json()
    assert res["kind"] == "stockpile"
    assert res["reached"] is True
    assert res["size_t"] > 0
    assert doc["progress"]["done"] == doc["progress"]["total"] == 25  # at most 24 sizes and the plain run
    rec = api.get(f"/api/v1/runs/{res['run_id']}", params={"tables": ["results"]}).json()
    assert rec["run"]["kind"] == "stockpile"
    size = next(x for x in rec["tables"]["results"] if x["measure"] == "size_t")
    assert size["value"] == pytest.approx(res["size_t"])
    assert_error(api.get(f"/api/v1/plans/{job['job_id']}/figures/costs"), 400, "is a stockpile job")
    # a long sizing stops within a simulated month of its cancel
    heavy = {**body, "scenario": "controls-reimposed-2026-11", "product": "ndfeb_magnets", "paths": 400}
    big = post(api, {**heavy, "end": None, "fill_months": 12}, "/api/v1/plans/stockpile").json()
    end = time.monotonic() + 60
    while api.get(f"/api/v1/plans/{big['job_id']}").json()["status"] != "running" and time.monotonic() < end:
        time.sleep(0.05)
    t0 = time.monotonic()
    api.delete(f"/api/v1/plans/{big['job_id']}")
    assert wait_plan(api, big["job_id"], 30)["status"] == "cancelled"
    assert time.monotonic() - t0 < 20
