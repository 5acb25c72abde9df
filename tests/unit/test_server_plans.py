"""API tests of plan and stockpile jobs: bundled plans, submit, progress, result, views, figures,
cancel, the shared queue bound, stored runs, and every kind of bad input (one-line messages)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.unit.server_helpers import TOY_PLAN as TOY
from tests.unit.server_helpers import assert_error, client, post, wait_plan


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with client(tmp_path_factory.mktemp("home"), workers=1, max_pending=3) as c:
        yield c


# ---------------------------------------------------------------------------- bundled plans
def test_bundled_plans_list_and_show(api: TestClient) -> None:
    plans = api.get("/api/v1/plans/bundled").json()["plans"]
    assert [p["name"] for p in plans] == ["allied", "eu", "us"]
    us = next(p for p in plans if p["name"] == "us")
    assert us["buyers"][0] == {"region": "USA", "label": "United States", "payer": us["buyers"][0]["payer"]}
    assert {"id": "ndfeb_magnet", "label": "NdFeB magnets"} in us["products"]
    doc = api.get("/api/v1/plans/bundled/us").json()
    assert doc["yaml"].startswith("name: us") or "name: us" in doc["yaml"]
    assert doc["resolved"]["name"] == "us"
    d = assert_error(api.get("/api/v1/plans/bundled/uss"), 404, "unknown plan 'uss'")
    assert "did you mean 'us'" in d["fix"]


# ---------------------------------------------------------------------------- bad input
def test_malformed_json_and_wrong_types_are_422(api: TestClient) -> None:
    r = api.post("/api/v1/plans", content=b'{"plan": "us",', headers={"content-type": "application/json"})
    assert_error(r, 422, "not valid JSON")
    assert_error(post(api, {"plan": "us", "futures": "5"}), 422, "futures")
    assert_error(post(api, {"plan": "us", "futures": True}), 422, "futures")
    assert_error(post(api, {"plan": "us", "futurs": 5}), 422, "futurs")
    r = api.post(
        "/api/v1/plans/stockpile", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(r, 422, "not valid JSON")


def test_unknown_plan_and_plan_or_text(api: TestClient) -> None:
    d = assert_error(post(api, {"plan": "atlantis"}), 404, "unknown plan 'atlantis'")
    assert "us" in d["fix"]
    assert d["field"] == "plan"
    assert_error(post(api, {}), 400, "give a plan")
    assert_error(post(api, {"plan": "us", "plan_yaml": TOY}), 400, "not both")


def test_out_of_range_knobs_name_the_limit(api: TestClient) -> None:
    d = assert_error(post(api, {"plan": "us", "futures": 1}), 400, "futures 1 is out of range")
    assert "2 to 500" in d["fix"]
    d = assert_error(post(api, {"plan": "us", "futures": 10_000}), 400, "futures 10,000 is out of range")
    assert "this server's limit" in d["fix"]
    assert "5,000" in d["fix"]  # what the CLI takes
    assert_error(post(api, {"plan": "us", "seed": -1}), 400, "seed must be a whole number")
    d = assert_error(post(api, {"plan": "us", "verify": True, "paths": 100_000}), 400, "paths 100,000")
    assert "this server's limit" in d["fix"]
    assert_error(
        post(api, {"plan": "us", "frontier": True, "frontier_months": [0, 99]}), 400, "frontier_months 99"
    )
    assert_error(post(api, {"plan": "us", "frontier": True, "frontier_months": []}), 400, "0 frontier points")


def test_a_bad_plan_text_names_its_line(api: TestClient) -> None:
    d = assert_error(
        post(api, {"plan_yaml": TOY.replace("max_share: 0.8", "max_share: 1.8")}), 400, "plan.yaml:12"
    )
    assert "constraints.concentration.0.max_share" in d["error"]
    assert_error(
        post(api, {"plan_yaml": TOY.replace("futures: 4", "futurs: 4")}), 400, "plan.yaml:3", "futurs"
    )
    assert_error(post(api, {"plan_yaml": "name: [unclosed\n"}), 400, "plan.yaml")
    assert_error(post(api, {"plan_yaml": "- a list\n"}), 400, "a plan is a mapping")
    # the plan's own futures over the server's cap: the line of `futures`
    d = assert_error(post(api, {"plan_yaml": TOY.replace("futures: 4", "futures: 5000")}), 400, "plan.yaml:3")
    assert "over this server's limit of 500" in d["error"]
    # a scenario given as a path is never read by the server
    bad = TOY.replace("scenario: controls-reimposed-2026-11", "scenario: /etc/passwd")
    d = assert_error(post(api, {"plan_yaml": bad}), 400, "plan.yaml:2", "not a bundled scenario")
    assert "/etc/passwd" in d["error"]
    slow = TOY + "solver: {time_limit_s: 36000}\n"
    assert_error(post(api, {"plan_yaml": slow}), 400, "plan.yaml:13", "time_limit_s 36000")
    unknown = TOY.replace("neo-narva-p2", "atlantis-mine")
    assert_error(post(api, {"plan_yaml": unknown}), 400, "atlantis-mine")


def test_bad_stockpile_requests(api: TestClient) -> None:
    base = {
        "scenario": "controls-reimposed-2026-11",
        "region": "USA",
        "target_shortfall_pct": 20,
        "confidence": 0.8,
    }
    p = "/api/v1/plans/stockpile"
    assert_error(post(api, {**base, "scenario": "basline"}, p), 404, "unknown scenario 'basline'")
    assert_error(post(api, {**base, "scenario": "../../etc/passwd"}, p), 404, "unknown scenario")
    assert_error(post(api, {**base, "region": "ATL"}, p), 400, "unknown region 'ATL'")
    assert_error(post(api, {**base, "confidence": 1.5}, p), 400, "confidence 1.5 is out of range")
    assert_error(post(api, {**base, "target_shortfall_pct": 120}, p), 400, "target shortfall 120%")
    assert_error(post(api, {**base, "metric": "mean"}, p), 400, "unknown metric 'mean'")
    assert_error(post(api, {**base, "product": "unobtainium"}, p), 400, "unobtainium")
    d = assert_error(post(api, {**base, "paths": 50_000}, p), 400, "paths 50,000 is out of range")
    assert "this server's limit" in d["fix"]
    assert_error(post(api, {**base, "paths": 0}, p), 400, "paths 0 is out of range")
    assert_error(post(api, {**base, "seed": -3}, p), 400, "seed must be a whole number")
    assert_error(post(api, {**base, "end": "2028-13"}, p), 400, "2028-13")
    assert_error(post(api, {k: v for k, v in base.items() if k != "region"}, p), 422, "region")


def test_unknown_job_ids_are_404(api: TestClient) -> None:
    assert_error(api.get("/api/v1/plans/job-0000"), 404, "unknown plan job 'job-0000'")
    assert_error(api.delete("/api/v1/plans/job-0000"), 404, "unknown plan job")
    assert_error(api.get("/api/v1/plans/job-0000/result"), 404, "unknown plan job")
    assert_error(api.get("/api/v1/plans/job-0000/figures/costs"), 404, "unknown plan job")
    assert_error(api.get("/api/v1/plans/plan-20990101T000000-deadbeef/view"), 404, "no stored run")
    assert_error(
        api.get("/api/v1/plans/plan-20990101T000000-deadbeef/figures/frontier"), 404, "no stored run"
    )


# ---------------------------------------------------------------------------- jobs
@pytest.mark.slow
def test_a_plan_job_solves_stores_and_shows_its_views(api: TestClient) -> None:
    r = post(api, {"plan_yaml": TOY, "verify": True, "paths": 8})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["kind"] == "plan"
    assert job["request"]["futures"] == 4
    assert job["request"]["from_text"] is True
    doc = wait_plan(api, job["job_id"])
    assert doc["status"] == "done", doc
    assert doc["progress"]["done"] == doc["progress"]["total"] == 3  # futures, solve, replay
    assert doc["phase"] == "done"
    res = api.get(f"/api/v1/plans/{job['job_id']}/result").json()
    assert res["status"] == "optimal"
    assert res["futures"] == 4
    assert res["seed"] == 1
    assert res["plan_resolved"]["name"] == "toy-api"
    assert res["verification"]["paths"] == 8
    view = res["view"]
    assert view["portfolio"]
    assert all("_" not in row["product_label"] for row in view["portfolio"])
    assert {row["host_label"] for row in view["portfolio"]} <= {"United States", "European Union (27)"}
    assert view["verification"][0]["target"].startswith("USA")
    assert view["shadow_prices"]
    # the run is stored with its tables and spec, and its views come from the store too
    run_id = res["run_id"]
    assert run_id.startswith("plan-")
    runs = {x["run_id"]: x for x in api.get("/api/v1/runs").json()["runs"]}
    assert runs[run_id]["kind"] == "plan"
    assert runs[run_id]["paths"] == 4
    shown = api.get(
        f"/api/v1/runs/{run_id}", params={"tables": ["portfolio", "costs", "verification"]}
    ).json()
    assert "name: toy-api" in shown["run"]["spec_yaml"]
    assert len(shown["tables"]["portfolio"]) == len(res["portfolio"])
    stored_view = api.get(f"/api/v1/plans/{run_id}/view").json()
    assert stored_view["portfolio"] == view["portfolio"]
    fig = api.get(f"/api/v1/plans/{run_id}/figures/costs").json()
    assert fig["data"][0]["type"] == "bar"
    assert fig["data"][0]["name"] == "DoD"
    fig_job = api.get(f"/api/v1/plans/{job['job_id']}/figures/costs").json()
    assert fig_job["data"] == fig["data"]
    assert_error(api.get(f"/api/v1/plans/{run_id}/figures/frontier"), 400, "has no frontier")
    # a plan job is not a simulation job, and a plan run has no fan chart
    assert_error(api.get(f"/api/v1/simulations/{job['job_id']}"), 404, "unknown simulation job")
    assert_error(api.get(f"/api/v1/runs/{run_id}/figures/fan"), 400, "is a plan run")
    # a tighter cap: a second run, compared with the first (portfolio and costs, B - A)
    tight = post(api, {"plan_yaml": TOY.replace("max_share: 0.8", "max_share: 0.6"), "store": True}).json()
    assert wait_plan(api, tight["job_id"])["status"] == "done"
    run_b = api.get(f"/api/v1/plans/{tight['job_id']}/result").json()["run_id"]
    cmp = api.get("/api/v1/runs/compare", params={"a": run_id, "b": run_b}).json()
    assert cmp["kind"] == "plan"
    total = next(x for x in cmp["tables"]["costs"] if x["instrument"] == "total")
    assert total["diff_musd"] == pytest.approx(total["musd_b"] - total["musd_a"])
    assert total["diff_musd"] > 0  # a tighter target costs more
    assert all("instrument_label" in x for x in cmp["tables"]["portfolio"])
    # runs of two kinds do not compare
    sims = [x for x in api.get("/api/v1/runs").json()["runs"] if x["kind"] == "simulation"]
    assert not sims
    assert_error(api.get("/api/v1/runs/compare", params={"a": run_id, "b": "sim-x"}), 404)


@pytest.mark.slow
def test_plan_jobs_share_the_queue_bound_and_cancel(api: TestClient) -> None:
    before = {r["run_id"] for r in api.get("/api/v1/runs").json()["runs"]}
    long = api.post("/api/v1/simulations", json={"scenario": "baseline", "paths": 2000}).json()["job_id"]
    queued = [post(api, {"plan_yaml": TOY}).json()["job_id"] for _ in range(2)]
    d = assert_error(post(api, {"plan_yaml": TOY}), 429, "at most 3")
    assert "/api/v1/plans" in d["fix"]
    assert api.get(f"/api/v1/plans/{queued[1]}").json()["status"] == "queued"
    assert api.delete(f"/api/v1/plans/{queued[1]}").json()["status"] == "cancelled"
    assert_error(api.get(f"/api/v1/plans/{queued[1]}/result"), 409, "cancelled")
    assert_error(api.get(f"/api/v1/plans/{queued[0]}/result"), 409, "queued")
    api.delete(f"/api/v1/simulations/{long}")
    # the next plan job starts; cancelled while running, it stops at its next step
    end = time.monotonic() + 60
    while api.get(f"/api/v1/plans/{queued[0]}").json()["status"] != "running" and time.monotonic() < end:
        time.sleep(0.05)
    api.delete(f"/api/v1/plans/{queued[0]}")
    assert wait_plan(api, queued[0])["status"] == "cancelled"
    after = {r["run_id"] for r in api.get("/api/v1/runs").json()["runs"]}
    assert after == before  # nothing stored for a cancelled job
    jobs = {j["job_id"]: j for j in api.get("/api/v1/plans").json()["jobs"]}
    assert set(queued) <= set(jobs)
    assert long not in jobs  # the simulation job is listed under /simulations only
