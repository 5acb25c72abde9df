"""The Benders decomposition of the planning model (critmin.plan.benders): the split, the cuts'
validity, hand-worked toys solved by decomposition, and agreement with the monolithic solve on
random toy plans (hypothesis)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.plan import benders
from critmin.plan.benders_lp import Subproblems
from critmin.plan.model import build_model
from critmin.plan.result import Status
from critmin.plan.solve import solve_built, solve_plan
from critmin.plan.toy import toy_inputs, toy_spec

warnings.filterwarnings("ignore", module="linopy")

CAP = {"concentration": [{"region": "USA", "stage": "magnet", "max_share": 0.65, "from_year": 2027}]}
DECOMP = {"mip_gap": 0.0, "threads": 1, "method": "decomposition"}


def _two_futures() -> tuple[object, object]:
    """Two futures, two years: China supplies everything in future 0 and is cut off in year 2 of
    future 1; one ex-China project that produces only when co-financed in future 1."""
    inp = toy_inputs(
        years=(2027, 2028),
        futures=2,
        projects=[{"id": "a", "contract": 20, "capex": 4.0, "cofinance_share": 0.5}],
        china_avail=np.array([[1.0, 1.0], [1.0, 0.0]]).reshape(2, 2, 1, 1),
        other_exchina_t=np.array([[0.0, 0.0], [100.0, 0.0]]).reshape(2, 2, 1, 1),
        online=np.array([[[1.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [0.0, 0.0]]])[
            ..., None
        ],
        holding=0.5,
    )
    spec = toy_spec(years={"start": 2027, "end": 2028}, futures=2, solver=DECOMP)
    return spec, inp


def test_split_puts_each_column_and_row_in_its_stage() -> None:
    spec, inp = _two_futures()
    b = build_model(spec, inp)  # type: ignore[arg-type]
    s = benders.split_model(b.model, 2)
    m = b.model
    n_first = sum(
        int((m.variables[n].labels.values >= 0).sum())
        for n in m.variables
        if "future" not in m.variables[n].dims
    )
    assert len(s.first) == n_first
    assert set(np.unique(s.col_future[s.second])) == {0, 1}
    # every second-stage row reads only its own future's columns (checked by split_model) and
    # the first-stage rows read no second-stage column
    rows1 = np.flatnonzero(s.row_future < 0)
    assert s.A[rows1][:, s.second].nnz == 0


def test_cuts_are_valid_lower_bounds_everywhere() -> None:
    """Q_f is convex in the first stage: the cut at one point never exceeds Q_f at another."""
    spec, inp = _two_futures()
    s = benders.split_model(build_model(spec, inp).model, 2)  # type: ignore[arg-type]
    sub = Subproblems(s, 1)
    rng = np.random.default_rng(0)
    lo, up = s.col_lower[s.first], np.minimum(s.col_upper[s.first], 200.0)
    points = [lo + rng.random(len(lo)) * (up - lo) for _ in range(6)]
    evals = [sub.solve(x)[:3] for x in points]
    for x, (st0, q, G) in zip(points, evals, strict=True):
        assert st0 == "Optimal"
        for y, (_, q2, _) in zip(points, evals, strict=True):
            assert np.all(q + G @ (y - x) <= q2 + 1e-7 * np.maximum(1.0, np.abs(q2)))


def test_chunks_solved_side_by_side_equal_the_chunks_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The subproblems in many chunks, solved two at a time on threads, give the same costs,
    cuts and duals as one chunk at a time (each chunk is its own LP)."""
    from critmin.plan import benders_lp

    monkeypatch.setattr(benders_lp, "CHUNK_ROWS", 4)
    spec, inp = _two_futures()
    s = benders.split_model(build_model(spec, inp).model, 2)  # type: ignore[arg-type]
    one, two = Subproblems(s, 1), Subproblems(s, 2)
    assert len(two.chunks) == 2
    assert two.workers == 2
    x = s.col_lower[s.first] + 10.0
    try:
        a, b = one.solve(x), two.solve(x)
    finally:
        two.close()
    assert a[0] == b[0] == "Optimal"
    for u, v in zip(a[1:], b[1:], strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(one.last_pi, two.last_pi, rtol=1e-9, atol=1e-9)


def test_theta_bounds_are_finite_and_below_every_future_cost() -> None:
    spec, inp = _two_futures()
    s = benders.split_model(build_model(spec, inp).model, 2)  # type: ignore[arg-type]
    lb = benders.theta_lower_bounds(s)
    assert np.all(np.isfinite(lb))
    sub = Subproblems(s, 1)
    _, q, _, _ = sub.solve(s.col_lower[s.first])
    assert np.all(lb <= q + 1e-9)


def test_hand_worked_toy_by_decomposition() -> None:
    """The two-supplier toy of test_plan_model (US$1.175 m, 35 t offtake, shadow US$0.005 m a
    point) with two identical futures, solved by decomposition."""
    inp = toy_inputs(futures=2, projects=[{"id": "a", "contract": 15}])
    r = solve_plan(toy_spec(constraints=CAP, futures=2, solver=DECOMP), inp)
    assert r.status is Status.OPTIMAL
    assert r.objective_musd == pytest.approx(1.175, abs=1e-6)
    off = r.portfolio[r.portfolio.instrument == "offtake"]
    assert off["amount"].tolist() == pytest.approx([35.0], abs=1e-6)
    (sh,) = r.shadows
    assert sh.marginal_musd == pytest.approx(0.005, rel=1e-5)


@pytest.mark.parametrize(("capex", "expected", "chosen"), [(10.0, 7.0, True), (40.0, 20.0, False)])
def test_binary_choice_by_decomposition(capex: float, expected: float, chosen: bool) -> None:
    """The co-financing toy of test_plan_model (US$7 m chosen at capex 10, US$20 m of rationing
    at capex 40), through the MILP phase of the decomposition."""
    inp = toy_inputs(
        futures=2,
        projects=[{"id": "a", "contract": 20, "capex": capex, "cofinance_share": 0.5}],
        china_avail=0.0,
        online=np.array([0.0, 1.0, 0.0]).reshape(3, 1, 1, 1),
    )
    r = solve_plan(toy_spec(futures=2, solver=DECOMP), inp)
    assert r.status is Status.OPTIMAL
    assert r.objective_musd == pytest.approx(expected, abs=1e-5)
    assert ("cofinance" in set(r.portfolio.get("instrument", []))) is chosen


@pytest.mark.slow
def test_infeasible_plan_falls_back_and_names_the_conflict() -> None:
    """A cut-off target that no budget can meet: the decomposition finds no first stage that
    every future meets without slack, falls back to the monolith, which names the conflict."""
    inp = toy_inputs(
        years=(2027, 2028), futures=2, other_exchina_t=100.0, priority_share=0.4, projects=[{"id": "a"}]
    )
    spec = toy_spec(
        years={"start": 2027, "end": 2028},
        futures=2,
        buyers=[{"region": "USA", "payer": "DoD", "budget_musd_per_year": 0.1}],
        instruments={"offtake": {"allowed": False}},
        constraints={
            "cutoff": [{"months": 12, "min_priority_share": 0.5, "regions": ["USA"], "from_year": 2027}]
        },
        solver=DECOMP,
    )
    r = solve_plan(spec, inp)
    assert r.status is Status.INFEASIBLE
    assert any("12-month cut-off of CHN" in c for c in r.conflicts)


@st.composite
def toy_plans(draw: st.DrawFn) -> tuple[object, object]:
    n_f = draw(st.integers(2, 4))
    n_y = 2
    avail = np.array(draw(st.lists(st.sampled_from([0.0, 0.3, 1.0]), min_size=n_f * n_y, max_size=n_f * n_y)))
    online = np.array(
        draw(st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=3 * n_f * n_y, max_size=3 * n_f * n_y))
    )
    online = online.reshape(3, n_f, n_y, 1)
    online[1] = np.maximum(online[1], online[0])  # co-financing never delays
    demand = draw(st.floats(50.0, 150.0))
    contract = draw(st.floats(11.0, 40.0))
    capex = draw(st.floats(0.0, 5.0))
    holding = draw(st.floats(0.1, 2.0))
    cap = draw(st.booleans())
    inp = toy_inputs(
        years=(2027, 2028),
        futures=n_f,
        demand_t=demand,
        projects=[
            {"id": "a", "contract": contract, "capex": capex, "capacity": 80.0, "cofinance_share": 0.5}
        ],
        china_avail=avail.reshape(n_f, n_y, 1, 1),
        online=online,
        other_exchina_t=20.0,
        holding=holding,
        spot_usd_per_kg=12.0,
        market_share=0.5,
    )
    spec = toy_spec(years={"start": 2027, "end": 2028}, futures=n_f, constraints=CAP if cap else {})
    return spec, inp


@pytest.mark.slow
@settings(max_examples=10)
@given(toy_plans())
def test_decomposition_agrees_with_the_monolith(plan: tuple[object, object]) -> None:
    """Random two-stage toys (co-financing binary, stockpile, China cut-offs, a cap): the
    decomposition's optimum equals the deterministic equivalent's."""
    spec, inp = plan
    b1 = build_model(spec, inp)  # type: ignore[arg-type]
    s1 = solve_built(b1, method="monolithic")
    b2 = build_model(spec, inp)  # type: ignore[arg-type]
    s2 = solve_built(b2, method="decomposition")
    assert s1 is s2 is Status.OPTIMAL
    v1, v2 = float(b1.model.objective.value), float(b2.model.objective.value)
    assert v2 == pytest.approx(v1, rel=1e-5, abs=1e-6)
    # the solution written back is complete and satisfies the stock bounds
    stock = b2.model.variables["stock"].solution.values
    assert np.all(np.nan_to_num(stock) >= -1e-7)


def _first_stage_only(rows: list[list[float]], lo: list[float], up: list[float]) -> benders.Split:
    """A split with two first-stage columns (z, x) and the rows ``rlo <= a z + b x <= rup``
    given as [a, b, rlo, rup]; one future with one empty second-stage column."""
    import scipy.sparse as sp

    a = np.array([[r[0], r[1], 0.0] for r in rows])
    return benders.Split(
        A=sp.csr_array(a),
        row_lower=np.array([r[2] for r in rows]),
        row_upper=np.array([r[3] for r in rows]),
        col_lower=np.array([*lo, 0.0]),
        col_upper=np.array([*up, 1.0]),
        cost=np.zeros(3),
        integer=np.array([True, False, False]),
        col_future=np.array([-1, -1, 0]),
        row_future=np.full(len(rows), -1),
        vlabels=np.arange(3),
        clabels=np.arange(len(rows)),
        n_labels_var=3,
        n_labels_con=len(rows),
        n_futures=1,
    )


@pytest.mark.parametrize(("z", "expected"), [(0.0, 0.0), (1.0, 4.0)])
def test_nearest_point_with_the_binaries_rounded(z: float, expected: float) -> None:
    """x <= 10 z (a McCormick row): from the LP point (z, x) = (0.5, 4), rounding z down forces
    x to 0; rounding it up keeps x = 4."""
    s = _first_stage_only([[-10.0, 1.0, -np.inf, 0.0]], [0.0, 0.0], [1.0, 100.0])
    x = benders.nearest_point(s, np.array([0.5, 4.0]), np.array([0]), np.array([z]), threads=1)
    assert x is not None
    np.testing.assert_allclose(x, [z, expected], atol=1e-9)


def test_nearest_point_is_none_when_the_rounded_binaries_break_a_row() -> None:
    """z >= 0.5 cannot hold with z rounded to 0."""
    s = _first_stage_only([[1.0, 0.0, 0.5, np.inf]], [0.0, 0.0], [1.0, 100.0])
    assert benders.nearest_point(s, np.array([0.5, 4.0]), np.array([0]), np.array([0.0]), threads=1) is None


class _Stub:
    """A HiGHS stand-in whose solves end in the given statuses, one per run (the last repeats)."""

    def __init__(self, *states: str) -> None:
        self.states, self.runs, self.cleared = list(states), 0, 0

    def run(self) -> None:
        self.runs += 1

    def getModelStatus(self) -> str:
        return self.states[min(self.runs, len(self.states)) - 1]

    def modelStatusToString(self, st: str) -> str:
        return st

    def clearSolver(self) -> None:
        self.cleared += 1


@pytest.mark.parametrize(
    ("states", "answer", "cleared"),
    [
        (("Optimal",), "Optimal", 0),
        (("Infeasible", "Optimal"), "Optimal", 1),  # a warm start misjudged as infeasible
        (("Infeasible", "Infeasible"), "Infeasible", 1),  # truly infeasible: said after one retry
        (("Time limit reached",), "Time limit reached", 0),  # a limit is not retried
    ],
)
def test_a_bad_warm_start_is_solved_once_more_from_scratch(
    states: tuple[str, ...], answer: str, cleared: int
) -> None:
    from critmin.plan.benders_lp import run_checked

    h = _Stub(*states)
    assert run_checked(h, "Optimal") == answer
    assert h.cleared == cleared
    assert h.runs == 1 + cleared


def test_the_first_solve_seeded_with_future_0s_basis_gives_the_same_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks started from future 0's optimal basis reach the same costs, cuts and duals as
    chunks started cold (the basis only changes the path)."""
    from critmin.plan import benders_lp

    monkeypatch.setattr(benders_lp, "CHUNK_ROWS", 4)
    spec, inp = _two_futures()
    s = benders.split_model(build_model(spec, inp).model, 2)  # type: ignore[arg-type]
    cold, seeded = Subproblems(s, 1, seed_basis=False), Subproblems(s, 1)
    assert len(seeded.chunks) == 2
    x = s.col_lower[s.first] + 10.0
    a, b = cold.solve(x), seeded.solve(x)
    assert a[0] == b[0] == "Optimal"
    for u, v in zip(a[1:], b[1:], strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-9)


def test_duals_written_for_named_constraints_equal_the_full_write_back() -> None:
    """``duals_for`` writes the named constraints' duals as the full write-back does."""
    spec, inp = _two_futures()
    full, some = build_model(spec, inp), build_model(spec, inp)  # type: ignore[arg-type]
    a = benders.solve_linopy(full.model, 2, gap=0.0, time_limit=60, threads=1)
    b = benders.solve_linopy(some.model, 2, gap=0.0, time_limit=60, threads=1, duals_for=["balance"])
    assert a.status == b.status == "optimal"
    got, want = some.model.constraints["balance"].dual, full.model.constraints["balance"].dual
    np.testing.assert_allclose(got.values, want.values, atol=1e-9)
    np.testing.assert_allclose(
        some.model.variables["offtake"].solution.values, full.model.variables["offtake"].solution.values
    )


def test_a_cell_has_the_same_key_in_every_future() -> None:
    """The split keys each second-stage column and row by its cell over the other dimensions:
    once each per future, none in the first stage, and future 1 (China cut off in its second
    year, so that year's China column is left out) holds future 0's keys less that one."""
    spec, inp = _two_futures()
    s = benders.split_model(build_model(spec, inp).model, 2)  # type: ignore[arg-type]
    for key, fut, missing in ((s.col_key, s.col_future, 1), (s.row_key, s.row_future, 0)):
        assert (key[fut < 0] == -1).all()
        k0, k1 = key[fut == 0], key[fut == 1]
        assert len(np.unique(k0)) == len(k0)
        assert len(np.unique(k1)) == len(k1)
        assert np.isin(k1, k0).all()
        assert len(k0) - len(k1) == missing
