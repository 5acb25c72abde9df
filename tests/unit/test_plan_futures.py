"""Futures for the planner (critmin.plan.futures): project schedules and the simulator's futures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmin.plan.futures import model_inputs, online_fractions
from critmin.plan.spec import parse_plan


def _projects(**cols: list[float]) -> pd.DataFrame:
    base = {
        "lead_low_years": [0.0, 2.0],
        "lead_mode_years": [0.0, 2.0],
        "lead_high_years": [0.0, 2.0],
        "ramp_years": [0.0, 1.0],
        "cofinance_pull_years": [0.0, 1.0],
    }
    base.update(cols)
    return pd.DataFrame(base, index=["operating", "two-years"])


def test_online_fractions_by_hand() -> None:
    """An operating plant is at nameplate throughout. A plant starting after exactly 2 years and
    ramping over 1 year averages 0 in years 1-2, 0.5 in year 3 (linear ramp), 1 after; co-financed
    (pulled 1 year) it averages 0.5 in year 2; with a floor (tail cut at the mode) it is unchanged."""
    on = online_fractions(_projects(), (2027, 2028, 2029, 2030), futures=3, seed=0)
    assert on.shape == (3, 3, 4, 2)
    assert np.allclose(on[:, :, :, 0], 1.0)
    assert np.allclose(on[0, :, :, 1], [0.0, 0.0, 0.5, 1.0])
    assert np.allclose(on[1, :, :, 1], [0.0, 0.5, 1.0, 1.0])
    assert np.allclose(on[2, :, :, 1], on[0, :, :, 1])


def test_online_fractions_seeded_and_ordered() -> None:
    """Random lead times: equal seeds give equal draws; co-financing never delays a project and
    a floor never delays it either (per future, per year)."""
    p = _projects(lead_low_years=[0.0, 1.0], lead_mode_years=[0.0, 2.0], lead_high_years=[0.0, 6.0])
    a = online_fractions(p, tuple(range(2027, 2037)), futures=50, seed=7)
    b = online_fractions(p, tuple(range(2027, 2037)), futures=50, seed=7)
    c = online_fractions(p, tuple(range(2027, 2037)), futures=50, seed=8)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert (a[1] >= a[0] - 1e-9).all()
    assert (a[2] >= a[0] - 1e-9).all()
    assert ((a >= 0) & (a <= 1)).all()


@pytest.mark.slow
def test_model_inputs_from_the_simulator() -> None:
    spec = parse_plan(
        "name: t\nfutures: 4\nseed: 3\nyears: {start: 2027, end: 2029}\n"
        "buyers: [{region: USA}, {region: JPN}]\n"
    )
    inp, version = model_inputs(spec)
    again, _ = model_inputs(spec)
    assert version
    assert inp.demand_t.shape == (4, 3, 3, 2)
    assert np.array_equal(inp.china_avail, again.china_avail)
    assert ((inp.china_avail >= 0) & (inp.china_avail <= 1)).all()
    assert (inp.spot_usd_per_kg > 0).all()
    assert (inp.china_usd_per_kg > 0).all()
    assert (inp.demand_t > 0).all()
    assert len(inp.projects) >= 30
    assert set(inp.projects["product"]) == set(spec.products)
    assert inp.online.shape == (3, 4, 3, len(inp.projects))
