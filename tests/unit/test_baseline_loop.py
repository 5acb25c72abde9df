"""``benchmarks/baseline_loop.py``, the per-path Python loop, reproduces the vectorised engine.

The loop is an independent implementation of the equations of docs/model.md section 5 (plain
Python floats, paths then months then stages then every exporter x destination pair), and it
reads the policy's regimes directly rather than the engine's precompiled control edges, so it
also checks the policy compilation. ``check_against_engine`` runs both on the same inputs and
asserts equal metrics (rtol 1e-8) and bands (rtol 1e-8). The second group of tests proves that
this comparison can fail: the loop is handed inputs that differ from the engine's in one place.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from critmin.simulate.chains.network import Network
from critmin.simulate.engine import EngineParams
from critmin.simulate.inputs.policy import PolicyPath

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCENARIO = "controls-reimposed-2026-11"
PATHS = 3

Inputs = tuple[Network, EngineParams, PolicyPath, int]


@pytest.fixture(scope="module")
def loop() -> Iterator[ModuleType]:
    """The benchmark module, imported from ``benchmarks/`` (not a package)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import baseline_loop

        yield baseline_loop
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def inputs(loop: ModuleType) -> Inputs:
    """The rare-earth chain's engine inputs of ``simulate(SCENARIO, paths=3, seed=0)``."""
    out: Inputs = loop.inputs(SCENARIO, PATHS, 0)
    return out


def test_loop_reproduces_the_engine_on_three_paths(loop: ModuleType, inputs: Inputs) -> None:
    net, params, policy, n_months = inputs
    assert params.demand_growth_per_year.shape == (PATHS,)
    assert n_months == 144
    # the three paths differ (drawn parameters), and the scenario's controls bind
    assert len(set(params.cover_months.tolist())) == PATHS
    result = loop.run_loop(net, params, policy, n_months)
    assert (result["metrics"]["cumulative_shortfall_t"][:, net.regions.index("EU27")] > 0).all()
    worst = loop.check_against_engine(net, params, policy, n_months)
    assert worst < 1e-10  # README: "reproduces the engine to 3e-15"


def _one_path(values: np.ndarray, factor: float) -> np.ndarray:
    out = values.copy()
    out[1] *= factor
    return out


#: What the loop is handed instead of the engine's inputs: one parameter of one path moved by
#: a relative 1e-6 (well below any tolerance a reader would notice, far above rtol 1e-8), or
#: the policy without its last licence regime (the loop reads regimes directly).
PERTURBATIONS: dict[str, Callable[[EngineParams, PolicyPath], tuple[EngineParams, PolicyPath]]] = {
    "price_elasticity of path 1 x (1 + 1e-6)": lambda p, pol: (
        dataclasses.replace(p, price_elasticity=_one_path(p.price_elasticity, 1 + 1e-6)),
        pol,
    ),
    "cover_months of path 1 x (1 + 1e-6)": lambda p, pol: (
        dataclasses.replace(p, cover_months=_one_path(p.cover_months, 1 + 1e-6)),
        pol,
    ),
    "the last licence regime left out": lambda p, pol: (
        p,
        dataclasses.replace(pol, licences=pol.licences[:-1]),
    ),
}


@pytest.mark.parametrize("name", list(PERTURBATIONS))
def test_the_comparison_can_fail(
    loop: ModuleType, inputs: Inputs, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    net, params, policy, n_months = inputs
    assert policy.licences  # the scenario has licence regimes to leave out
    loop_params, loop_policy = PERTURBATIONS[name](params, policy)
    original = loop.run_loop

    def perturbed(net: Network, params: EngineParams, policy: PolicyPath, n_months: int) -> Any:
        return original(net, loop_params, loop_policy, n_months)

    # check_against_engine calls the module's run_loop: the engine keeps the true inputs
    monkeypatch.setattr(loop, "run_loop", perturbed)
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        loop.check_against_engine(net, params, policy, n_months)
