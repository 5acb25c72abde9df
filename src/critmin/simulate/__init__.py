"""The monthly disruption simulation: scenarios, engine, Monte Carlo runs."""

from __future__ import annotations

from critmin.simulate.run import SimulationResult, simulate
from critmin.simulate.scenario import Event, EventKind, Scenario, load_scenario

__all__ = ["Event", "EventKind", "Scenario", "SimulationResult", "load_scenario", "simulate"]
