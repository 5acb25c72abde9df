"""Jobs in worker processes (critmin.server.procs): they run outside the server process, report
progress, stop on cancel within a simulated month, keep an error's field and fix, and a dead
worker fails only its own job."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from critmin.server.jobs import JobQueue
from critmin.server.procs import ProcessRunner
from critmin.server.state import Settings
from critmin.simulate import load_scenario

pytestmark = pytest.mark.slow


HOME: list[Path] = []


@pytest.fixture(scope="module")
def queue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobQueue]:
    HOME[:] = [tmp_path_factory.mktemp("home")]
    runner = ProcessRunner(Settings(home=HOME[0], workers=1), workers=1)
    q = JobQueue(runner, workers=1, max_pending=4)
    try:
        yield q
    finally:
        q.close()
        runner.close()


def _scenario(end: str = "2025-12"):  # type: ignore[no-untyped-def]
    sc = load_scenario("baseline")
    return type(sc).model_validate({**sc.model_dump(), "end": end})


def test_a_job_runs_in_another_process_and_equals_the_library(queue: JobQueue) -> None:
    from critmin.simulate import simulate

    job = queue.submit({"scenario": "baseline"}, payload=(_scenario(), 1, 0, True))
    done = queue.wait(job.id, 180)
    assert done.status == "done", done.error
    assert done.worker_pid is not None
    assert done.worker_pid != os.getpid()
    assert done.done == done.total > 0
    assert done.run_id is not None
    want = simulate(_scenario(), paths=1, seed=0).to_dict()["summary"]
    assert done.outputs["result"]["summary"] == want
    assert done.outputs["report"].run_id == done.run_id  # the report view came back too
    from critmin.store.runs import RunStore

    assert done.run_id in [r.run_id for r in RunStore.open(HOME[0]).list()]  # stored by the worker


def test_an_error_keeps_its_field_and_fix_across_processes(queue: JobQueue) -> None:
    job = queue.submit({"scenario": "baseline"}, payload=(_scenario(), 10**9, 0, False))
    done = queue.wait(job.id, 120)
    assert done.status == "failed"
    assert done.error is not None
    assert done.error["field"] == "paths"
    assert done.error["fix"]
    assert "\n" not in done.error["error"]


def test_progress_arrives_and_a_cancel_stops_within_a_month(queue: JobQueue) -> None:
    job = queue.submit({"scenario": "baseline"}, payload=(_scenario("2035-12"), 400, 0, True))
    end = time.monotonic() + 120
    while job.done == 0 and time.monotonic() < end:
        time.sleep(0.05)
    assert job.status == "running"
    assert 0 < job.done < job.total  # relayed from the worker process
    seen = job.done
    queue.cancel(job.id)
    t0 = time.monotonic()
    assert queue.wait(job.id, 60).status == "cancelled"
    assert time.monotonic() - t0 < 15
    assert job.run_id is None
    assert job.done >= seen


def test_a_killed_worker_fails_its_job_and_the_next_job_runs(queue: JobQueue) -> None:
    job = queue.submit({"scenario": "baseline"}, payload=(_scenario("2035-12"), 400, 0, False))
    end = time.monotonic() + 120
    while job.done == 0 and time.monotonic() < end:
        time.sleep(0.05)
    first = queue.submit({"scenario": "baseline"}, payload=(_scenario(), 1, 0, False))
    pid = job.worker_pid  # relayed with the progress
    assert pid is not None
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    failed = queue.wait(job.id, 60)
    assert failed.status == "failed"
    assert failed.error is not None
    assert "worker process died" in failed.error["error"]
    after = queue.wait(first.id, 180)
    assert after.status == "done", after.error
    assert after.worker_pid != pid


def test_close_stops_a_busy_worker_promptly(tmp_path: Path) -> None:
    runner = ProcessRunner(Settings(home=tmp_path, workers=1), workers=1)
    q = JobQueue(runner, workers=1, max_pending=2)
    job = q.submit({"scenario": "baseline"}, payload=(_scenario("2035-12"), 400, 0, True))
    end = time.monotonic() + 120
    while job.done == 0 and time.monotonic() < end:
        time.sleep(0.05)
    assert job.status == "running"
    t0 = time.monotonic()
    q.close()
    runner.close(grace_s=5)
    assert time.monotonic() - t0 < 15
    assert job.status == "cancelled"
