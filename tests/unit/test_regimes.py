"""The licence-regime Markov chain (inputs/regimes.py, engine/regimes.py), hand-worked.

Toy A of ``tests.unit.test_licences`` (China ships 100 t/month of magnets to the USA), two
paths, a licence on every magnet from month 3 (dead time 1, lag 1, approval 1: month t's
filing ships in month t + 1), the chain from month 6, rates p_suspend = p_tighten =
p_reimpose = p_ease = 0.1, and uniforms fixed by hand (0.5: no move; throttled -> open
below 0.1, -> embargo from 0.9; open -> throttled from 0.9; embargo -> throttled below 0.1).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pydantic import ValidationError

from critmin.errors import DataError
from critmin.simulate.engine.regimes import transition
from critmin.simulate.inputs.events import EventKind, parse_event
from critmin.simulate.inputs.policy import compile_policy
from critmin.simulate.inputs.regimes import (
    EMBARGO,
    OPEN,
    THROTTLED,
    RegimeDraws,
    RegimeSpec,
    group_of_regions,
    regime_draws,
    start_month,
)
from tests.unit.helpers import engine_run
from tests.unit.test_engine_toy import event, toy_network, toy_params
from tests.unit.test_licences import LIC

US = 1
RATES = {f"regime_p_{r}": 0.1 for r in ("suspend", "tighten", "reimpose", "ease")}


def test_transition_by_hand() -> None:
    state = np.array([[THROTTLED, THROTTLED, THROTTLED, OPEN, OPEN, EMBARGO, EMBARGO]], dtype=np.int8)
    u = np.array([[0.05, 0.95, 0.5, 0.95, 0.5, 0.05, 0.5]], dtype=np.float32)
    r = np.array([0.1])
    nxt = transition(state, u, (r, r, r, r))
    assert nxt.tolist() == [[OPEN, EMBARGO, THROTTLED, THROTTLED, OPEN, THROTTLED, EMBARGO]]


def test_transition_is_a_monotone_coupling() -> None:
    """Same uniforms: a stricter state never ends looser (rates with p_r + p_s <= 1, p_e + p_t <= 1)."""
    rng = np.random.default_rng(0)
    rates = tuple(rng.uniform(0, 0.5, 50) for _ in range(4))
    lo = np.zeros((50, 1), dtype=np.int8)
    hi = np.full((50, 1), EMBARGO, dtype=np.int8)
    for _ in range(40):
        u = rng.random((50, 1), dtype=np.float32)
        lo, hi = transition(lo, u, rates), transition(hi, u, rates)  # type: ignore[arg-type]
        assert (hi >= lo).all()


def run(u_by_month: dict[int, list[float]]) -> np.ndarray:
    """[T, 2] exports to the US with the chain from month 6 driven by ``u_by_month``."""
    pol = compile_policy(
        (event(EventKind.LICENCE, 3, **LIC),), "2024-01", 12, ("CHN", "USA"), 2, None, defence_share=0.03
    )
    u = np.full((6, 2, 1), 0.5, dtype=np.float32)
    for t, vals in u_by_month.items():
        u[t - 6, :, 0] = vals
    pol.regime = RegimeDraws(6, np.zeros(2, dtype=np.intp), 1, u)
    params = toy_params(
        2, licence_dead_time_months=1.0, approval_rate=1.0, controlled_share_last_stage=1.0, **RATES
    )
    _, _, tr = engine_run(toy_network(), params, pol, 12, keep_trace=True, check_balance=True)
    assert tr is not None
    return tr.exports_chn[:, :, US]


def test_regime_chain_suspends_and_embargoes_per_path() -> None:
    """Month 6: both paths throttled (the dated licence). Month 7: path 0 draws 0.05 < 0.1 ->
    open: its 100 t ship unlicensed plus month 6's approved filing = 200, then 100 a month.
    Path 1 draws 0.95 >= 0.9 -> embargo: month 6's pending 100 t go back to China, nothing
    ships; month 9 it draws 0.05 < p_ease -> throttled: month 9's filing ships in month 10."""
    x = run({7: [0.05, 0.95], 9: [0.5, 0.05]})
    np.testing.assert_allclose(x[:, 0], [100] * 3 + [0] + [100] * 3 + [200] + [100] * 4, atol=1e-9)
    np.testing.assert_allclose(x[:, 1], [100] * 3 + [0] + [100] * 3 + [0, 0, 0, 100, 100], atol=1e-9)


def test_open_regime_returns() -> None:
    """Path 0 opens in month 7 and the control returns in month 8 (u 0.95 >= 1 - p_reimpose):
    month 8's filing ships in month 9, so month 8 ships nothing."""
    x = run({7: [0.05, 0.5], 8: [0.95, 0.5]})
    np.testing.assert_allclose(x[6:, 0], [100, 200, 0, 100, 100, 100], atol=1e-9)
    np.testing.assert_allclose(x[:, 1], [100] * 3 + [0] + [100] * 8, atol=1e-9)


def test_no_rates_no_chain() -> None:
    """Without the rate parameters (a toy EngineParams) the dated timeline decides throughout."""
    pol = compile_policy(
        (event(EventKind.LICENCE, 3, **LIC),), "2024-01", 12, ("CHN", "USA"), 1, None, defence_share=0.03
    )
    assert pol.regime is not None
    assert pol.regime.t0 == 4
    _, _, tr = engine_run(
        toy_network(),
        toy_params(licence_dead_time_months=1.0, approval_rate=1.0, controlled_share_last_stage=1.0),
        pol,
        12,
        keep_trace=True,
    )
    assert tr is not None
    np.testing.assert_allclose(tr.exports_chn[:, 0, US], [100] * 3 + [0] + [100] * 8, atol=1e-9)


def test_draws_are_seeded_and_start_after_the_last_event() -> None:
    ev = (
        parse_event({"id": "a", "date": "2024-03-05", "kind": "licence"}),
        parse_event(
            {"id": "s", "date": "2024-05-01", "kind": "suspend", "targets": ["a"], "until": "2024-08-01"}
        ),
    )
    start = dt.date(2024, 1, 1)
    assert start_month(RegimeSpec(), ev, start, 24) == 8  # after the suspension's end (month 7)
    assert start_month(RegimeSpec(start="2025-01"), ev, start, 24) == 12
    a = regime_draws(None, ev, start, 24, ("CHN", "USA", "JPN", "EU27"), 5, np.random.default_rng(3))
    b = regime_draws(None, ev, start, 24, ("CHN", "USA", "JPN", "EU27"), 5, np.random.default_rng(3))
    assert a is not None
    assert b is not None
    np.testing.assert_array_equal(a.u, b.u)
    assert a.u.shape == (16, 5, 3)
    assert a.group.tolist() == [2, 0, 1, 2]
    assert regime_draws(RegimeSpec(stochastic=False), ev, start, 24, ("CHN", "USA"), 5, None) is None


@pytest.mark.parametrize(
    ("groups", "match"),
    [
        ({"a": ["XXX"]}, "unknown destination"),
        ({"a": ["USA"], "b": ["USA"]}, "in regime groups"),
        ({"a": "rest", "b": "rest"}, "only one group"),
        ({"a": []}, "names no destination"),
    ],
)
def test_bad_groups_are_refused(groups: object, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        RegimeSpec(groups=groups)  # type: ignore[arg-type]


def test_region_without_group_is_a_data_error() -> None:
    with pytest.raises(DataError, match="no regime group"):
        group_of_regions(RegimeSpec(groups={"us": ("USA",)}), ("CHN", "USA", "JPN"))


def test_bad_start_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a month"):
        RegimeSpec(start="2025-13")


def test_a_suspension_to_the_horizon_does_not_hold_the_chain_back() -> None:
    ev = (
        parse_event({"id": "a", "date": "2024-03-05", "kind": "licence"}),
        parse_event(
            {"id": "s", "date": "2024-05-01", "kind": "suspend", "targets": ["a"], "until": "2030-01-01"}
        ),
    )
    assert start_month(RegimeSpec(), ev, dt.date(2024, 1, 1), 24) == 5  # after the suspension's date
