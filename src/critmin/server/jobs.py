"""Jobs (simulations, plan solves, stockpile sizings): a bounded queue served by a small pool of
worker threads, each job cancellable.

``JobQueue(run, workers=2, max_pending=16)``: :meth:`JobQueue.submit` queues a job and returns
it at once (its id is ``job-<16 hex>``); ``workers`` threads take jobs in order and call
``run(job)``. At most ``max_pending`` jobs wait or run at a time: one more is refused with a
429 (nothing queued), so a burst of requests cannot exhaust memory. :meth:`JobQueue.cancel`
removes a queued job, or asks a running one to stop: the run checks the job's flag after every
simulated month (:class:`ProgressExecutor` passes ``on_month`` to the engine) and stops with
:class:`JobCancelled`; nothing is stored for a cancelled run. Finished jobs are kept (the
newest ``keep``) so their status and results can be read.

``run`` runs the job in the calling worker thread, or hands it to a worker process and waits
(:class:`critmin.server.procs.ProcessRunner`, what the app uses by default): the job's flag,
progress and outputs then cross the process boundary, and a failure there comes back as
:class:`JobFailed` with its JSON error document.

Every job has a ``kind`` (``simulation``, ``plan``, ``stockpile``): one queue and one bound
serve them all, and :meth:`JobQueue.get` with a kind answers 404 for a job of another kind (a
plan job id is not a simulation). Progress of a simulation is counted in block-months: a run
of B path blocks, C chains and T months has B x C x T steps (``done``/``total``); a plan job
counts its steps (futures, solve, frontier points, replay) and says the current one in
``phase``.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from critmin.errors import CritminError
from critmin.server.errors import ApiError, error_body
from critmin.simulate.engine.step import run_engine
from critmin.simulate.engine.types import EngineResult
from critmin.simulate.executors import RunOptions

if TYPE_CHECKING:
    from critmin.simulate.assemble import PathBlock, RunInputs

log = logging.getLogger("critmin.server")

STATES = ("queued", "running", "done", "failed", "cancelled")


class JobCancelled(Exception):
    """Raised inside a run when its job was cancelled."""


class JobFailed(Exception):
    """A run that failed elsewhere (a worker process) with ``body``, its JSON error document."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        super().__init__(body.get("error"))


@dataclass
class Job:
    """One job: its kind, request, state and (when done) its outputs."""

    id: str
    request: dict[str, Any]
    kind: str = "simulation"
    status: str = "queued"
    done: int = 0
    total: int = 0
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    error: dict[str, Any] | None = None
    run_id: str | None = None
    #: What the job is doing now, in words (plan jobs: "solving", "frontier point 3 of 8", ...).
    phase: str = ""
    #: What the run's result endpoints serve (the ``simulate --format json`` document ...).
    outputs: dict[str, Any] = field(default_factory=dict, repr=False)
    payload: Any = field(default=None, repr=False)
    #: The process that ran the job (a worker process of :mod:`critmin.server.procs`, or this one).
    worker_pid: int | None = field(default=None, repr=False)
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)

    def check(self) -> None:
        """Raise :class:`JobCancelled` when the job was cancelled."""
        if self.cancel_event.is_set():
            raise JobCancelled

    def to_dict(self) -> dict[str, Any]:
        """Status as JSON: kind, state, progress (fraction 0-1), phase, times (UNIX s), error, run id."""
        return {
            "job_id": self.id,
            "kind": self.kind,
            "status": self.status,
            "phase": self.phase,
            "progress": {
                "done": self.done,
                "total": self.total,
                "fraction": (self.done / self.total)
                if self.total
                else (1.0 if self.status == "done" else 0.0),
            },
            "request": self.request,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "run_id": self.run_id,
        }


class ProgressExecutor:
    """A :class:`critmin.simulate.executors.Executor`: blocks in order in this thread, reporting each
    simulated month to ``job`` and stopping when it is cancelled (same results as ``InProcess``).

    ``count=False``: only the cancellation check (a job made of several simulations, such as a
    stockpile sizing, counts its own progress)."""

    def __init__(self, job: Job, *, count: bool = True) -> None:
        self.job = job
        self.count = count

    def run_blocks(
        self,
        inputs: RunInputs,
        blocks: Sequence[PathBlock],
        options: RunOptions,
        on_block: Callable[[int, int], object] | None = None,
    ) -> list[tuple[EngineResult, ...]]:
        job = self.job
        count = self.count
        if count:
            job.total = len(blocks) * len(inputs.chains) * len(inputs.months)

        def month(_: int) -> None:
            if count:
                job.done += 1
            job.check()

        out = []
        for i, block in enumerate(blocks):
            job.check()
            results = []
            for c, ei in enumerate(inputs.engine_inputs(block)):
                results.append(
                    run_engine(
                        ei,
                        keep_trace=options.keep_trace and c == 0,
                        check_balance=options.check_balance,
                        block_paths=block.n,
                        on_month=month,
                    )
                )
            out.append(tuple(results))
            if on_block is not None:
                on_block(i + 1, len(blocks))
        return out


class JobQueue:
    """The bounded job queue of the module docstring."""

    def __init__(
        self, run: Callable[[Job], None], *, workers: int = 2, max_pending: int = 16, keep: int = 200
    ) -> None:
        if workers < 1 or max_pending < 1:
            raise ValueError("workers and max_pending must be at least 1")
        self._run = run
        self.workers = workers
        self.max_pending = max_pending
        self.keep = keep
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._work, name=f"critmin-job-{i}", daemon=True) for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    # ------------------------------------------------------------------ API
    def submit(self, request: dict[str, Any], payload: Any = None, *, kind: str = "simulation") -> Job:
        """Queue a job of ``kind`` (429 when ``max_pending`` jobs of any kind already wait or run)."""
        with self._lock:
            pending = sum(1 for j in self._jobs.values() if j.status in ("queued", "running"))
            if pending >= self.max_pending:
                raise ApiError(
                    429,
                    f"{pending} jobs (simulations and plans) are queued or running; the server takes "
                    f"at most {self.max_pending} at a time",
                    fix="wait for a job to finish (GET /api/v1/simulations, GET /api/v1/plans) or "
                    "cancel one, then resubmit",
                )
            job = Job(id=f"job-{secrets.token_hex(8)}", request=request, kind=kind, payload=payload)
            self._jobs[job.id] = job
            self._trim()
        self._queue.put(job)
        return job

    def get(self, job_id: str, kinds: tuple[str, ...] | None = None) -> Job:
        """The job ``job_id`` (404 when unknown, or not of one of ``kinds`` when given)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or (kinds is not None and job.kind not in kinds):
            what = "simulation" if kinds is None or "simulation" in kinds else "plan"
            route = "simulations" if what == "simulation" else "plans"
            raise ApiError(
                404,
                f"unknown {what} job {job_id!r}",
                field="job_id",
                fix=f"use an id from GET /api/v1/{route} (finished jobs are kept for a while; "
                "their runs stay in /api/v1/runs)",
            )
        return job

    def list(self, kinds: tuple[str, ...] | None = None) -> list[Job]:
        """Every kept job (of ``kinds`` when given), oldest first."""
        with self._lock:
            return [j for j in self._jobs.values() if kinds is None or j.kind in kinds]

    def cancel(self, job_id: str, kinds: tuple[str, ...] | None = None) -> Job:
        """Cancel a queued or running job (a finished one is left as it is)."""
        job = self.get(job_id, kinds)
        with self._lock:
            if job.status == "queued":
                job.status = "cancelled"
                job.finished_at = time.time()
            if job.status in ("queued", "running", "cancelled"):
                job.cancel_event.set()
        return job

    def close(self) -> None:
        """Cancel every job and stop the workers (waits briefly for them)."""
        for job in self.list():
            job.cancel_event.set()
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=5)

    def wait(self, job_id: str, timeout: float = 60.0) -> Job:
        """Block until the job finishes (tests and benchmarks) or ``timeout`` s pass."""
        end = time.monotonic() + timeout
        job = self.get(job_id)
        while job.status in ("queued", "running") and time.monotonic() < end:
            time.sleep(0.02)
        return job

    # ------------------------------------------------------------------ internals
    def _trim(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.status not in ("queued", "running")]
        for k in finished[: max(0, len(finished) - self.keep)]:
            del self._jobs[k]

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                if job.status != "queued":
                    continue
                job.status = "running"
                job.started_at = time.time()
            try:
                self._run(job)
            except JobCancelled:
                status, error = "cancelled", None
            except JobFailed as exc:
                status, error = "failed", exc.body
            except CritminError as exc:
                from critmin.server.errors import from_critmin

                status, error = "failed", _json_of(from_critmin(exc).body)
            except MemoryError:
                status, error = "failed", error_body("out of memory", fix="run fewer paths")
            except Exception as exc:
                log.exception("%s job %s failed", job.kind, job.id)
                status, error = (
                    "failed",
                    error_body(f"internal error ({type(exc).__name__})", fix="see the server log"),
                )
            else:
                status, error = (
                    ("cancelled", None)
                    if job.cancel_event.is_set() and job.run_id is None
                    else ("done", None)
                )
            with self._lock:
                job.status, job.error, job.finished_at = status, error, time.time()
                job.payload = None


def _json_of(body: bytes | memoryview) -> dict[str, Any]:
    import json

    out: dict[str, Any] = json.loads(bytes(body))
    return out
