"""Origin tracing: where a product's content really comes from.

Firm level (user data)::

    from critmin.trace import read_network, trace_firms
    firms, edges = read_network("firms.csv", "edges.csv")
    result = trace_firms(firms, edges, "separation")
    result.shares      # firm_id, origin, share (origin ISO3 or "unknown"; shares sum to 1)
    result.coverage    # firms, edges, known_mass_share, firms_fully_unknown, ...

``synth_network`` writes realistic multi-tier synthetic networks for tests and benchmarks.
"""

from __future__ import annotations

from critmin.trace.firms import UNKNOWN, TraceResult, read_network, trace_firms, write_table
from critmin.trace.synth import synth_network

__all__ = ["UNKNOWN", "TraceResult", "read_network", "synth_network", "trace_firms", "write_table"]
