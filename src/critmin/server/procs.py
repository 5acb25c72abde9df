"""Jobs in worker processes: the simulations, plan solves and stockpile sizings of the API run in
a :class:`~concurrent.futures.ProcessPoolExecutor`, so they never hold the server's GIL.

:class:`ProcessRunner` is the job queue's runner (:class:`critmin.server.jobs.JobQueue` keeps its
bound, order, 429 and cancel semantics; each of its worker threads hands one job at a time to
the pool and waits, which costs the server nothing). Per worker slot:

* **cancellation**: a byte of shared memory (``multiprocessing.RawArray``, given to each worker
  process when it starts); the waiting thread sets it when the job is cancelled, and the job,
  in its process, reads it after every simulated month (:class:`ProgressExecutor`) or between a
  plan's steps, exactly as in a thread;
* **progress**: a reporter thread in the worker process sends the job's ``done``/``total``/
  ``phase`` (and the worker's pid) through a ``multiprocessing`` queue every 0.1 s while they
  change; a relay thread in the server copies them onto the :class:`~critmin.server.jobs.Job`.

A job's outcome comes back as a plain document (status, outputs, run id, or the error's JSON
body), so a :class:`~critmin.errors.CritminError` keeps its field and fix across the process
boundary. A worker process that dies (killed for memory, a crash) fails its job with one line
and the pool is started again. Processes start from a ``forkserver`` (``spawn`` where there is
none) that has imported critmin's simulator and planner once; each loads the dataset on its
first job (``preload`` at server start warms every worker). Finished runs are stored by the
worker process (the store's file lock serialises writers across processes).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import queue
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from critmin.server.errors import error_body
from critmin.server.jobs import Job, JobCancelled, JobFailed
from critmin.server.state import AppState, Settings

log = logging.getLogger("critmin.server")

#: Modules the forkserver imports once, so a new worker process starts with them loaded.
PRELOAD = (
    "critmin.server.procs",
    "critmin.server.api_sim",
    "critmin.server.plan_jobs",
    "critmin.simulate.run",
)
_REPORT_S = 0.1
_POLL_S = 0.05


def context() -> Any:
    """The multiprocessing context of the pool: ``forkserver`` where available, else ``spawn``."""
    try:
        ctx = mp.get_context("forkserver")
    except ValueError:  # pragma: no cover - platforms without forkserver (Windows)
        return mp.get_context("spawn")
    with contextlib.suppress(Exception):  # only before the forkserver starts; harmless after
        ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


# ---------------------------------------------------------------------------- in the worker
class _SharedFlag:
    """``threading.Event``'s ``is_set`` over one byte of shared memory (set by the server)."""

    def __init__(self, flags: Any, slot: int) -> None:
        self.flags = flags
        self.slot = slot

    def is_set(self) -> bool:
        return bool(self.flags[self.slot])

    def set(self) -> None:
        self.flags[self.slot] = 1


_CHILD: dict[str, Any] = {}


def _child_init(settings: Settings, flags: Any, progress: Any, preload: bool, server_pid: int = 0) -> None:
    """Worker process start: the app state (its own dataset), the progress reporter and the
    watchdog that ends this process when the server is gone."""
    st = AppState(settings)
    _CHILD.update(state=st, flags=flags, progress=progress, job=None, lock=threading.Lock())
    threading.Thread(target=_report, name="critmin-progress", daemon=True).start()
    if server_pid:
        name = "critmin-watchdog"
        threading.Thread(target=_watch_server, args=(server_pid,), name=name, daemon=True).start()
    if preload:
        st.dataset()


def _report() -> None:
    """Send the current job's progress to the server while it changes (every 0.1 s)."""
    last: tuple[Any, ...] | None = None
    while True:
        time.sleep(_REPORT_S)
        with _CHILD["lock"]:
            job = _CHILD.get("job")
            now = None if job is None else (job.id, job.done, job.total, job.phase, job.worker_pid)
        if now is not None and now != last:
            with contextlib.suppress(Exception):
                _CHILD["progress"].put(now)
            last = now


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's process has that pid now
        return False
    return True


def _watch_server(server_pid: int, every_s: float = 0.5) -> None:
    """End this worker process when the server that started it is gone (a server killed, or
    stopped before its pool's workers had started, would otherwise leave them waiting for work
    forever, holding the server's stdout). A worker's parent is the forkserver, not the
    server, so the server's pid is watched."""
    while _alive(server_pid):
        time.sleep(every_s)
    os._exit(0)


def _warm() -> int:
    """A no-op task that makes the pool start a worker (whose initializer loads the dataset)."""
    time.sleep(0.2)
    return mp.current_process().pid or 0


def run_in_child(job_id: str, kind: str, request: dict[str, Any], payload: Any, slot: int) -> dict[str, Any]:
    """Run one job in this worker process; its outcome as a plain document (module docstring)."""
    from critmin.errors import CritminError
    from critmin.server.errors import from_critmin
    from critmin.server.plan_jobs import run_any

    st: AppState = _CHILD["state"]
    flag = _SharedFlag(_CHILD["flags"], slot)
    pid = os.getpid()
    job = Job(id=job_id, request=request, kind=kind, status="running", payload=payload, worker_pid=pid)
    job.cancel_event = flag  # type: ignore[assignment]  # duck-typed: is_set() and set()
    with _CHILD["lock"]:
        _CHILD["job"] = job
    try:
        run_any(st, job)
    except JobCancelled:
        return {"status": "cancelled", "pid": pid}
    except CritminError as exc:
        import json

        return {"status": "failed", "error": json.loads(bytes(from_critmin(exc).body)), "pid": pid}
    except MemoryError:
        return {"status": "failed", "error": error_body("out of memory", fix="run fewer paths"), "pid": pid}
    except Exception as exc:
        log.exception("%s job %s failed in its worker process", kind, job_id)
        return {
            "status": "failed",
            "error": error_body(f"internal error ({type(exc).__name__})", fix="see the server log"),
            "pid": pid,
        }
    finally:
        with _CHILD["lock"]:
            _CHILD["job"] = None
    return {
        "status": "done",
        "pid": pid,
        "outputs": job.outputs,
        "run_id": job.run_id,
        "done": job.done,
        "total": job.total,
        "phase": job.phase,
    }


# ---------------------------------------------------------------------------- in the server
class ProcessRunner:
    """The job queue's runner that runs each job in a worker process (module docstring)."""

    def __init__(self, settings: Settings, *, workers: int, preload: bool = False) -> None:
        self.settings = settings
        self.workers = workers
        self.preload = preload
        self._ctx = context()
        self._flags = self._ctx.RawArray("b", workers)
        self._progress: Any = self._ctx.Queue()
        self._slots: queue.Queue[int] = queue.Queue()
        for i in range(workers):
            self._slots.put(i)
        self._running: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = self._new_pool()
        self._closed = False
        self.ready = 0
        self._relay = threading.Thread(target=self._read_progress, name="critmin-progress-relay", daemon=True)
        self._relay.start()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self._ctx,
            initializer=_child_init,
            initargs=(self.settings, self._flags, self._progress, self.preload, os.getpid()),
        )

    def warm(self) -> None:
        """Start every worker process now (each loads the dataset when ``preload``); ``ready``
        counts those that have."""
        # under the lock: the pool starts its processes in submit, so a close() that comes during
        # the warm-up waits for them to exist and then stops them (none is left behind)
        with self._lock:
            if self._closed:
                return
            futures = [self._pool.submit(_warm) for _ in range(self.workers)]
        for f in futures:
            with contextlib.suppress(Exception):
                f.result(timeout=300)
                self.ready += 1

    def describe(self) -> dict[str, Any]:
        """``{"mode": "processes", "workers": n, "warm": k}`` for the health route."""
        return {"mode": "processes", "workers": self.workers, "warm": self.ready}

    def __call__(self, job: Job) -> None:
        """Run ``job`` in a worker process; raise as a thread runner would (JobCancelled, JobFailed)."""
        slot = self._slots.get()
        try:
            self._flags[slot] = 0
            with self._lock:
                self._running[job.id] = job
                pool = self._pool
            try:
                fut = pool.submit(run_in_child, job.id, job.kind, job.request, job.payload, slot)
                out = self._wait(fut, job, slot)
            except BrokenProcessPool:
                self._restart(pool)
                raise JobFailed(
                    error_body(
                        "the job's worker process died (out of memory or killed)",
                        fix="run fewer paths or futures, then resubmit",
                    )
                ) from None
        finally:
            with self._lock:
                self._running.pop(job.id, None)
            self._flags[slot] = 0
            self._slots.put(slot)
        job.worker_pid = out.get("pid")
        status = out["status"]
        if status == "cancelled":
            raise JobCancelled
        if status == "failed":
            raise JobFailed(out["error"])
        job.done, job.total, job.phase = out["done"], out["total"], out["phase"]
        job.outputs = out["outputs"]
        job.run_id = out["run_id"]

    def _wait(self, fut: Any, job: Job, slot: int) -> dict[str, Any]:
        while True:
            try:
                out: dict[str, Any] = fut.result(timeout=_POLL_S)
                return out
            except FutureTimeout:
                if job.cancel_event.is_set():
                    self._flags[slot] = 1  # the job reads it after its next simulated month

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken and not self._closed:
                self._pool = self._new_pool()
        with contextlib.suppress(Exception):
            broken.shutdown(wait=False, cancel_futures=True)

    def _read_progress(self) -> None:
        while True:
            try:
                msg = self._progress.get()
            except (EOFError, OSError, ValueError):
                return
            if msg is None:
                return
            job_id, done, total, phase, pid = msg
            with self._lock:
                job = self._running.get(job_id)
            if job is not None:
                job.done, job.total, job.phase, job.worker_pid = done, total, phase, pid

    def close(self, grace_s: float = 10.0) -> None:
        """Stop the worker processes: every running job is asked to stop (it does within a
        simulated month, or after its current solve); a worker still busy after ``grace_s``
        seconds (a long HiGHS solve) is terminated, so a server shutdown never hangs."""
        with self._lock:
            self._closed = True
            pool = self._pool
        for i in range(self.workers):
            self._flags[i] = 1
        # the pool's processes: stdlib-internal, but the only handle on them before Python 3.14
        procs = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        end = time.monotonic() + grace_s
        for p in procs:
            p.join(timeout=max(0.0, end - time.monotonic()))
            if p.is_alive():
                log.warning("terminating job worker %s (still busy at shutdown)", p.pid)
                p.terminate()
                p.join(timeout=5)
        with contextlib.suppress(Exception):
            self._progress.put(None)
        self._relay.join(timeout=5)
        with contextlib.suppress(Exception):
            self._progress.close()


__all__ = ["PRELOAD", "ProcessRunner", "context", "run_in_child"]
