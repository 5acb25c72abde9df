"""What the app holds between requests: settings, the dataset (loaded once), caches, the job queue."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from critmin.data.dataset import Dataset
    from critmin.server.jobs import JobQueue
    from critmin.store.runs import RunStore

#: Most paths one API simulation may run (the CLI allows more; a shared server should not).
DEFAULT_MAX_PATHS = 20_000
#: Most futures one API plan solve may optimise on (the CLI allows 5,000; the bundled plans use 200).
DEFAULT_MAX_PLAN_FUTURES = 500
#: Most paths of a plan's closed-loop replay or of each run of a stockpile sizing.
DEFAULT_MAX_PLAN_PATHS = 2_000
#: Longest HiGHS time limit (s) a plan sent to the server may set (the bundled plans: 300 to 600).
DEFAULT_MAX_PLAN_SOLVE_S = 600.0


@dataclass(frozen=True)
class Settings:
    """How the app was started: ``token`` (None: loopback only), limits and the job pool."""

    token: str | None = None
    home: Path | None = None
    upload_limit: int = 64 * 1024 * 1024
    body_limit: int = 8 * 1024 * 1024
    workers: int = 2
    max_pending: int = 16
    max_paths: int = DEFAULT_MAX_PATHS
    store_runs: bool = True
    max_plan_futures: int = DEFAULT_MAX_PLAN_FUTURES
    max_plan_paths: int = DEFAULT_MAX_PLAN_PATHS
    max_plan_solve_s: float = DEFAULT_MAX_PLAN_SOLVE_S
    #: Run jobs in worker processes (:mod:`critmin.server.procs`); False: in threads of the server.
    job_processes: bool = True


@dataclass
class AppState:
    """Per-app state (``app.state.critmin``)."""

    settings: Settings
    jobs: JobQueue | None = None
    #: How jobs run: ``{"mode": "processes", "workers": n, "warm": k}`` or ``{"mode": "threads", ...}``.
    job_mode: Callable[[], dict[str, Any]] | None = None
    _dataset: Dataset | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cache: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock)

    def dataset(self) -> Dataset:
        """The dataset (bundled + store imports), loaded on first use; restart to see new imports."""
        with self._lock:
            if self._dataset is None:
                from critmin.data.load import load_dataset

                self._dataset = load_dataset(self.settings.home)
            return self._dataset

    def runs(self) -> RunStore:
        """The run store of ``settings.home``."""
        from critmin.store.runs import RunStore

        return RunStore.open(self.settings.home)

    def cached(self, key: tuple[Any, ...], make: Callable[[], Any], size: int = 256) -> Any:
        """``make()`` once per ``key`` (an LRU of ``size`` entries); errors are not cached."""
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = make()
        with self._cache_lock:
            self._cache[key] = value
            while len(self._cache) > size:
                self._cache.popitem(last=False)
        return value
