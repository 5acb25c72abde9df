"""Origin tracing: where a product's content really comes from.

Submodules: :mod:`critmin.trace.country` (country level, along the bundled chain),
:mod:`critmin.trace.screen` (rule screening), :mod:`critmin.trace.firms` (firm-level networks,
user data) and :mod:`critmin.trace.synth` (synthetic firm networks).

Firm level::

    from critmin.trace import read_network, trace_firms
    firms, edges = read_network("firms.csv", "edges.csv")
    result = trace_firms(firms, edges, "separation")
    result.shares      # firm_id, origin, share (origin ISO3 or "unknown"; shares sum to 1)
    result.coverage    # firms, edges, known_mass_share, firms_fully_unknown, ...

The names below, and the submodules themselves (``critmin.trace.country`` after a bare
``import critmin``), load on first use (:func:`critmin.lazy.lazy_submodules`), so importing
one submodule does not import the others (and their scipy/pyarrow dependencies).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from critmin.lazy import lazy_submodules

if TYPE_CHECKING:
    from critmin.trace.firms import UNKNOWN, TraceResult, read_network, trace_files, trace_firms, write_table
    from critmin.trace.synth import synth_network, write_network

__getattr__, __dir__ = lazy_submodules(
    __name__,
    {
        "UNKNOWN": "critmin.trace.firms",
        "TraceResult": "critmin.trace.firms",
        "read_network": "critmin.trace.firms",
        "trace_files": "critmin.trace.firms",
        "trace_firms": "critmin.trace.firms",
        "write_table": "critmin.trace.firms",
        "synth_network": "critmin.trace.synth",
        "write_network": "critmin.trace.synth",
    },
)

__all__ = [
    "UNKNOWN",
    "TraceResult",
    "read_network",
    "synth_network",
    "trace_files",
    "trace_firms",
    "write_network",
    "write_table",
]
