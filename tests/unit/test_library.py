"""critmin.simulate as a library: the import graph, the registry, the run-assembly layer,
block seeding and executors, the parameter table's bounds."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from critmin.errors import DataError
from critmin.jsonsafe import dumps
from critmin.simulate import InProcess, NetworkCache, RunInputs, Scenario, run, simulate
from critmin.simulate.assemble import BLOCK_PATHS, block_seeds
from critmin.simulate.chains import registry
from critmin.simulate.executors import executor_for
from critmin.simulate.inputs.params import parameter_frame, parameter_table
from critmin.simulate.inputs.scenario import load_scenario

SRC = Path(__file__).resolve().parents[2] / "src" / "critmin"


def _module_graph() -> tuple[dict[str, set[str]], list[str]]:
    """critmin's import graph (module -> critmin modules it imports, TYPE_CHECKING blocks left
    out) and every import of another module's private (single-underscore) name."""
    mods: dict[str, Path] = {}
    for p in SRC.rglob("*.py"):
        parts = p.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = p
    graph: dict[str, set[str]] = {m: set() for m in mods}
    private: list[str] = []
    for m, p in mods.items():
        tree = ast.parse(p.read_text("utf-8"))
        skip: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
                skip |= {id(n) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("critmin"):
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    graph[m].add(full if full in mods else node.module)
                    if a.name.startswith("_") and not a.name.startswith("__") and node.module != m:
                        private.append(f"{m} imports {node.module}.{a.name}")
            elif isinstance(node, ast.Import):
                graph[m] |= {a.name for a in node.names if a.name in mods}
    return graph, private


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_import_graph_has_no_cycle_and_no_private_import() -> None:
    graph, private = _module_graph()
    assert len(graph) > 80  # the scan found the package
    assert _cycles(graph) == []
    assert private == []


def test_the_cycle_finder_can_fail() -> None:
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_registry_is_a_leaf() -> None:
    graph, _ = _module_graph()
    assert {m for m in graph["critmin.simulate.chains.registry"] if m.startswith("critmin")} == set()


def test_registry_lists_every_chain_and_resolves_builders() -> None:
    assert registry.CHAIN_IDS == ("rare_earths", "gallium", "germanium", "graphite", "antimony", "tungsten")
    assert registry.is_feed("dy_tb")
    assert not registry.is_feed("gallium")
    assert registry.host_of("dy_tb") is registry.chain_info("rare_earths")
    assert registry.product_title("ndfeb_magnets:ev_traction") == "NdFeB magnets: ev traction"
    for cid in registry.CHAINS:
        assert callable(registry.builder(cid))
    with pytest.raises(registry.UnknownChainError, match="unknown chain 'nickel'"):
        registry.chain_info("nickel")


def test_no_chain_name_branches_outside_the_registry() -> None:
    offenders = []
    for p in (SRC / "simulate").rglob("*.py"):
        if p.name == "registry.py":
            continue
        for node in ast.walk(ast.parse(p.read_text("utf-8"))):
            if isinstance(node, ast.Compare):
                consts = [c.value for c in ast.walk(node) if isinstance(c, ast.Constant)]
                if any(v in registry.CHAINS or v == "ndfeb_magnets" for v in consts):
                    offenders.append(f"{p.name}:{node.lineno}")
    assert offenders == []


def test_parameter_table_rows_carry_bounds_and_what_they_set() -> None:
    table = parameter_table()
    frame = parameter_frame()
    assert list(frame["name"]) == list(table)
    for spec in table.values():
        assert spec.check(spec.default) is None, spec.name
    fields = {s.engine_field for s in table.values() if s.engine_field}
    from dataclasses import fields as dc_fields

    from critmin.simulate.engine import EngineParams

    assert fields == {f.name for f in dc_fields(EngineParams)}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (20, r"licence.approval_rate 20 outside the bounds \[0, 1\]"),
        (-0.2, r"-0.2 outside the bounds"),
        ({"dist": "uniform", "low": 0.5, "high": 1.5}, r"ranges over \[0.5, 1.5\]"),
    ],
)
def test_out_of_range_parameters_are_refused_with_file_and_line(
    tmp_path: Path, value: object, message: str
) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(
        "name: s\nstart: 2026-01\nend: 2026-12\nparameters:\n  licence.approval_rate: "
        + json.dumps(value)
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=message) as err:
        load_scenario(str(p))
    assert "s.yaml" in str(err.value)
    assert ":5" in str(err.value)


def test_block_seeds_keep_the_one_block_children_for_block_zero() -> None:
    ss = np.random.SeedSequence(7)
    a, b = ss.spawn(2)
    p0, q0 = block_seeds(7, 0, 0)
    assert (p0.spawn_key, q0.spawn_key) == (a.spawn_key, b.spawn_key) == ((0,), (1,))
    assert block_seeds(7, 3, 1)[0].spawn_key == (2, 3)


class _Reversed(InProcess):
    """Runs blocks last to first (results must not depend on the order)."""

    def run_blocks(self, inputs, blocks, options, on_block=None):  # type: ignore[no-untyped-def]
        out = [super(_Reversed, self).run_blocks(inputs, [b], options)[0] for b in reversed(blocks)]
        return out[::-1]


def _small(name: str = "lib") -> Scenario:
    return load_scenario("controls-reimposed-2026-11").model_copy(update={"end": "2027-06", "name": name})


def test_block_results_merge_whatever_the_order() -> None:
    inputs = RunInputs.build(_small(), seed=5, paths=70, block_paths=32)
    assert [b.n for b in inputs.blocks()] == [32, 32, 6]
    a = run(inputs, keep_trace=True)
    b = run(inputs, keep_trace=True, executor=_Reversed())
    assert dumps(a.to_dict()) == dumps(b.to_dict())
    assert a.trace is not None
    assert b.trace is not None
    np.testing.assert_array_equal(a.trace.shortfall, b.trace.shortfall)
    assert a.metrics.cumulative_shortfall_t.shape == (70, len(a.scenario.regions))


def test_one_block_run_equals_simulate_and_network_cache_is_reused() -> None:
    cache = NetworkCache()
    a = simulate(_small(), paths=40, seed=2, cache=cache)
    builds = cache.builds
    b = run(RunInputs.build(_small(), seed=2, paths=40, cache=cache))
    assert cache.builds == builds  # nothing rebuilt
    assert dumps(a.to_dict()) == dumps(b.to_dict())
    assert BLOCK_PATHS >= 40


def test_results_carry_their_compiled_timeline() -> None:
    r = simulate(_small(), paths=4, seed=0)
    ree = r.chains["rare_earths"]
    ids = {e.id for e in ree.events}
    assert {e.id for e in r.scenario.events} <= ids  # the scenario's own events are there
    for eid, mask in ree.in_force.items():
        assert eid in ids
        assert mask.shape == (len(r.months),)
        assert mask.dtype == bool
    assert r.status.value == "ok"
    assert "dy_tb" in r.chains
    assert r.chains["dy_tb"].events


def test_price_floor_cost_goes_to_its_payer() -> None:
    sc = Scenario.model_validate(
        {
            "name": "eu-floor",
            "start": "2026-01",
            "end": "2026-12",
            "include_history": False,
            "events": [
                {
                    "id": "eu-floor",
                    "date": "2026-01-01",
                    "kind": "price_floor",
                    "region": "EU27",
                    "stages": ["separation"],
                    "price_usd_per_kg": 500,
                }
            ],
        }
    )
    r = simulate(sc, paths=1)
    rows = r.summary.loc[r.summary["metric"] == "price_floor_cost_usd"]
    assert set(rows["region"]) == {"EU27"}
    assert r.metrics.price_floor_cost_by_floor is not None
    assert r.metrics.price_floor_cost_by_floor["eu-floor"][0] > 0


def test_executor_for_checks_its_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRITMIN_DASK_SCHEDULER", raising=False)
    assert isinstance(executor_for(None, None), InProcess)
    with pytest.raises(DataError, match="not a Dask address"):
        executor_for(None, "localhost:8786")
    with pytest.raises(DataError, match="either --workers"):
        executor_for(2, "tcp://127.0.0.1:8786")


@pytest.mark.slow
def test_dask_local_cluster_gives_byte_identical_summaries() -> None:
    from critmin.simulate.executors import DaskExecutor

    inputs = RunInputs.build(_small("dask"), seed=11, paths=1200)
    assert len(inputs.blocks()) == 2
    local = run(inputs)
    with DaskExecutor.local(2) as ex:
        two = run(inputs, executor=ex)
    with DaskExecutor.local(1) as ex:
        one = run(inputs, executor=ex)
    assert dumps(local.to_dict()) == dumps(two.to_dict()) == dumps(one.to_dict())


def test_table_bounds_lie_inside_the_engine_invariants() -> None:
    """Demand, capacity and stocks stay non-negative and backlogs drain at most fully when every
    engine field keeps to its table bounds (the engine checks them, field_bounds)."""
    from critmin.simulate.engine.types import field_bounds

    b = field_bounds()
    for name in ("capacity_headroom", "capacity_growth_per_year", "demand_growth_per_year"):
        assert b[name][0] > -1.0
    for name in ("substitution_cap", "stockpile_release_per_month", "approval_rate", "recycling_share"):
        assert 0.0 <= b[name][0] <= b[name][1] <= 1.0
    for name in ("licence_lag_months", "substitution_lag_months", "restock_months", "ramp_months"):
        assert b[name][0] >= 1.0
    assert b["supply_elasticity"][0] > 0.0
    assert b["price_smoothing"][1] < 1.0
