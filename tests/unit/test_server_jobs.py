"""The job queue on its own: bounded, in order, cancellable (queued and running), errors kept."""

from __future__ import annotations

import threading

import pytest

from critmin.errors import DataError
from critmin.server.errors import ApiError
from critmin.server.jobs import Job, JobQueue


def _runner(gate: threading.Event, started: list[str]):
    def run(job: Job) -> None:
        started.append(job.id)
        job.total = 10
        while not gate.wait(0.01):
            job.check()  # a cancelled job stops here
        if job.request.get("fail"):
            raise DataError("bad input", column="x", fix="change x")
        job.done = 10
        job.run_id = "sim-x"

    return run


def test_bounded_in_order_and_cancellable() -> None:
    gate, started = threading.Event(), []
    q = JobQueue(_runner(gate, started), workers=1, max_pending=2)
    try:
        a = q.submit({"n": 1})
        for _ in range(500):
            if started:
                break
            threading.Event().wait(0.01)
        assert a.status == "running"
        b = q.submit({"n": 2})
        with pytest.raises(ApiError) as exc:
            q.submit({"n": 3})
        assert exc.value.status == 429
        assert q.cancel(b.id).status == "cancelled"  # queued: never starts
        c = q.submit({"n": 4})  # the cancelled one freed a place
        q.cancel(a.id)  # running: stops at its next check
        assert q.wait(a.id, 10).status == "cancelled"
        gate.set()
        assert q.wait(c.id, 10).status == "done"
        assert started == [a.id, c.id]
        assert c.to_dict()["progress"] == {"done": 10, "total": 10, "fraction": 1.0}
        assert a.run_id is None
    finally:
        q.close()


def test_errors_are_kept_as_json() -> None:
    gate, started = threading.Event(), []
    gate.set()
    q = JobQueue(_runner(gate, started), workers=1, max_pending=4)
    try:
        j = q.wait(q.submit({"fail": True}).id, 10)
        assert j.status == "failed"
        assert j.error == {"error": "column 'x': bad input. Fix: change x", "field": "x", "fix": "change x"}
        with pytest.raises(ApiError) as exc:
            q.get("job-nope")
        assert exc.value.status == 404
    finally:
        q.close()


def test_keeps_only_the_newest_finished_jobs() -> None:
    gate = threading.Event()
    gate.set()
    q = JobQueue(_runner(gate, []), workers=1, max_pending=4, keep=2)
    try:
        ids = []
        for i in range(4):
            ids.append(q.submit({"n": i}).id)
            q.wait(ids[-1], 10)
        kept = [j.id for j in q.list()]
        assert ids[-1] in kept
        assert ids[0] not in kept
        assert len(kept) <= 3
    finally:
        q.close()


def test_one_bound_for_every_kind_and_kinds_keep_to_their_routes() -> None:
    gate = threading.Event()
    q = JobQueue(_runner(gate, []), workers=1, max_pending=2)
    try:
        sim = q.submit({"n": 1})
        plan = q.submit({"n": 2}, kind="plan")
        with pytest.raises(ApiError) as exc:
            q.submit({"n": 3}, kind="stockpile")  # the bound counts jobs of every kind
        assert exc.value.status == 429
        assert "simulations and plans" in str(exc.value)
        assert sim.kind == "simulation"
        assert plan.to_dict()["kind"] == "plan"
        assert q.get(plan.id, ("plan", "stockpile")) is plan
        with pytest.raises(ApiError, match="unknown simulation job") as exc:
            q.get(plan.id, ("simulation",))  # a plan job is not a simulation
        assert exc.value.status == 404
        with pytest.raises(ApiError, match="unknown plan job"):
            q.cancel(sim.id, ("plan", "stockpile"))
        assert [j.id for j in q.list(("plan",))] == [plan.id]
        assert q.cancel(plan.id, ("plan",)).status == "cancelled"
        gate.set()
        assert q.wait(sim.id, 10).status == "done"
    finally:
        q.close()
