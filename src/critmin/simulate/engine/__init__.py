"""The monthly engine: one month's step for all paths, its inputs and outputs, mass balance,
trade rules and the end-use sector split.

The public engine API is re-exported here (:func:`run_engine`, :class:`EngineParams`,
:class:`Feed`, :class:`PathMetrics`, :class:`Trace`, :class:`MassBalanceError`).
"""

from critmin.simulate.engine.balance import BALANCE_RTOL, MassBalanceError
from critmin.simulate.engine.step import BLOCK_PATHS, run_engine
from critmin.simulate.engine.types import EngineParams, Feed, PathMetrics, Trace

__all__ = [
    "BALANCE_RTOL",
    "BLOCK_PATHS",
    "EngineParams",
    "Feed",
    "MassBalanceError",
    "PathMetrics",
    "Trace",
    "run_engine",
]
