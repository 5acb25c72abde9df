"""The monthly disruption simulation: scenarios, chains, the engine, runs and analyses.

One way in: :func:`simulate` (or :meth:`RunInputs.build` then :func:`run`, to reuse inputs or
pick an executor). Subpackages follow the flow: :mod:`~critmin.simulate.inputs` (parameter
table, scenarios, policy), :mod:`~critmin.simulate.chains` (registry and network builders),
:mod:`~critmin.simulate.engine` (the monthly step), :mod:`~critmin.simulate.analysis`
(sensitivity, Sobol', calibration, backtest); :mod:`~critmin.simulate.assemble`,
:mod:`~critmin.simulate.run`, :mod:`~critmin.simulate.executors` and
:mod:`~critmin.simulate.result` assemble, run and return runs.
"""

from __future__ import annotations

from critmin.lazy import lazy_submodules
from critmin.simulate.assemble import BLOCK_PATHS, NetworkCache, RunInputs
from critmin.simulate.executors import DaskExecutor, InProcess, executor_for
from critmin.simulate.inputs.scenario import Event, EventKind, Scenario, bundled_scenarios, load_scenario
from critmin.simulate.result import ChainRun, RunStatus, SimulationResult
from critmin.simulate.run import run, simulate

__getattr__, __dir__ = lazy_submodules(__name__)

__all__ = [
    "BLOCK_PATHS",
    "ChainRun",
    "DaskExecutor",
    "Event",
    "EventKind",
    "InProcess",
    "NetworkCache",
    "RunInputs",
    "RunStatus",
    "Scenario",
    "SimulationResult",
    "bundled_scenarios",
    "executor_for",
    "load_scenario",
    "run",
    "simulate",
]
