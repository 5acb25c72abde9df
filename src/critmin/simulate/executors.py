"""Where a run's path blocks are computed: in this process, or on a Dask cluster.

The unit of work is a block of paths (:class:`~critmin.simulate.assemble.PathBlock`), seeded
by its index alone, so an executor only decides *where* blocks run; the merged result is the
same (byte-identical JSON summaries) in-process, with one Dask worker or with many. Scaling
out uses Dask's ``distributed`` scheduler rather than a home-made one:

* :class:`InProcess` (default): blocks in order, in this process;
* :class:`DaskExecutor`: ``DaskExecutor.local(workers=N)`` starts a
  ``distributed.LocalCluster`` of N single-threaded worker processes for the run;
  ``DaskExecutor.connect("tcp://HOST:8786")`` sends blocks to an existing cluster (started with
  ``dask scheduler`` and ``dask worker tcp://HOST:8786`` on each machine, with critmin installed
  there). The run's inputs are scattered once to every worker, then one task per block.

:func:`executor_for` turns the CLI's ``--workers`` / ``--scheduler`` (or the
``CRITMIN_DASK_SCHEDULER`` environment variable) into an executor.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from critmin.errors import DataError
from critmin.simulate.engine.step import run_engine
from critmin.simulate.engine.types import EngineResult

if TYPE_CHECKING:
    from critmin.simulate.assemble import PathBlock, RunInputs

#: Environment variable naming a Dask scheduler address to send blocks to.
SCHEDULER_ENV = "CRITMIN_DASK_SCHEDULER"


def max_workers() -> int:
    """Most local Dask workers one run may start: 4 per CPU core (each is a process)."""
    return 4 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class RunOptions:
    """How a run is carried out (not what it computes): ``keep_trace`` keeps the primary
    chain's full monthly series, ``check_balance`` checks every node's mass balance."""

    keep_trace: bool = False
    check_balance: bool = False


def run_block(inputs: RunInputs, block: PathBlock, options: RunOptions) -> tuple[EngineResult, ...]:
    """Every chain's engine result for one block of paths (the unit of work of an executor)."""
    out = []
    for i, ei in enumerate(inputs.engine_inputs(block)):
        out.append(
            run_engine(
                ei,
                keep_trace=options.keep_trace and i == 0,
                check_balance=options.check_balance,
                block_paths=block.n,
            )
        )
    return tuple(out)


class Executor(Protocol):
    """Runs a run's blocks and returns each block's per-chain results, in block order."""

    def run_blocks(
        self,
        inputs: RunInputs,
        blocks: Sequence[PathBlock],
        options: RunOptions,
        on_block: Callable[[int, int], object] | None = None,
    ) -> list[tuple[EngineResult, ...]]: ...


class InProcess:
    """Blocks in order, in this process."""

    def run_blocks(
        self,
        inputs: RunInputs,
        blocks: Sequence[PathBlock],
        options: RunOptions,
        on_block: Callable[[int, int], object] | None = None,
    ) -> list[tuple[EngineResult, ...]]:
        out = []
        for i, b in enumerate(blocks):
            out.append(run_block(inputs, b, options))
            if on_block is not None:
                on_block(i + 1, len(blocks))
        return out


class DaskExecutor:
    """Blocks as tasks on a Dask ``distributed`` cluster (module docstring).

    ``client`` is a ``distributed.Client``; :meth:`local` and :meth:`connect` make one. Use as
    a context manager to close a cluster the executor started.
    """

    def __init__(self, client: Any, *, owns: bool = False) -> None:
        self.client = client
        self._owns = owns

    @classmethod
    def local(cls, workers: int) -> DaskExecutor:
        """A ``LocalCluster`` of ``workers`` single-threaded processes, closed with the executor."""
        if workers < 1:
            raise DataError("workers must be at least 1", column="workers", fix="e.g. --workers 2")
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        )
        return cls(Client(cluster), owns=True)

    @classmethod
    def connect(cls, address: str) -> DaskExecutor:
        """The Dask cluster whose scheduler listens at ``address`` (``tcp://HOST:PORT``)."""
        from distributed import Client

        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise DataError(
                f"cannot reach the Dask scheduler at {address!r}: {exc}",
                column="scheduler",
                fix="start one with `dask scheduler` and give its tcp://HOST:PORT",
            ) from None
        return cls(client)

    def run_blocks(
        self,
        inputs: RunInputs,
        blocks: Sequence[PathBlock],
        options: RunOptions,
        on_block: Callable[[int, int], object] | None = None,
    ) -> list[tuple[EngineResult, ...]]:
        from distributed import as_completed

        shared = self.client.scatter(inputs, broadcast=True)
        futures = [self.client.submit(run_block, shared, b, options, pure=False) for b in blocks]
        for done, _ in enumerate(as_completed(futures), start=1):
            if on_block is not None:
                on_block(done, len(blocks))
        results: list[tuple[EngineResult, ...]] = self.client.gather(futures)
        return results

    def close(self) -> None:
        """Close the client (and the cluster, when this executor started it)."""
        cluster = getattr(self.client, "cluster", None)
        self.client.close()
        if self._owns and cluster is not None:
            cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def executor_for(workers: int | None = None, scheduler: str | None = None) -> InProcess | DaskExecutor:
    """The executor the CLI options ask for: ``scheduler`` (or ``$CRITMIN_DASK_SCHEDULER``) an
    existing cluster, ``workers`` a local one (1 to :func:`max_workers`), neither this process."""
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address and workers:
        raise DataError(
            "give either --workers (a local cluster) or --scheduler (an existing one), not both",
            column="workers",
            fix=f"drop one (or unset {SCHEDULER_ENV})",
        )
    if address:
        if not address.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise DataError(
                f"scheduler address {address!r} is not a Dask address",
                column="scheduler",
                fix="use tcp://HOST:PORT (the address `dask scheduler` prints)",
            )
        return DaskExecutor.connect(address)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= max_workers()
    ):
        raise DataError(
            f"--workers must be from 1 to {max_workers()} (4 per CPU core; got {workers!r})",
            column="workers",
            fix=f"e.g. --workers {os.cpu_count() or 1}, or --scheduler for a cluster elsewhere",
        )
    if workers:
        return DaskExecutor.local(workers)
    return InProcess()
