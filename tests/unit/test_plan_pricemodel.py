"""The fitted NdPr price model (critmin.plan.pricemodel): OLS fit, fallback, seeded paths."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from critmin.errors import DataError
from critmin.plan.pricemodel import (
    FALLBACK_HALF_LIFE_MONTHS,
    OUModel,
    fit_ou,
    fitted_model,
    month_index,
    month_label,
    monthly_series,
    simulate_paths,
)


def months(n: int, start: str = "2020-01") -> list[str]:
    s = month_index(start)
    return [month_label(s + i) for i in range(n)]


def test_ols_recovers_a_simulated_ou() -> None:
    true = OUModel(mu=math.log(60.0), kappa=0.1, sigma=0.08, x0=math.log(60.0), origin="2019-12")
    m = months(600)
    p = simulate_paths(true, m, 1, seed=4)[:, 0]
    fit = fit_ou(pd.Series(p, index=m))
    assert fit.fit is not None
    assert not fit.fit.fallback
    assert fit.fit.n_pairs == 599
    assert fit.kappa == pytest.approx(0.1, abs=0.04)
    assert fit.sigma == pytest.approx(0.08, rel=0.1)
    assert math.exp(fit.mu) == pytest.approx(60.0, rel=0.1)


def test_ols_by_hand_on_an_exact_ar1() -> None:
    """x[t+1] = 0.5 x[t] + 2 exactly: b = 0.5, a = 2, mu = 4, kappa = ln 2, residuals 0."""
    x = [1.0]
    for _ in range(9):
        x.append(0.5 * x[-1] + 2.0)
    m = fit_ou(pd.Series(np.exp(x), index=months(10)))
    assert m.fit is not None
    assert not m.fit.fallback
    assert m.fit.ols_b == pytest.approx(0.5)
    assert m.fit.ols_a == pytest.approx(2.0)
    assert m.mu == pytest.approx(4.0)
    assert m.kappa == pytest.approx(math.log(2.0))
    assert m.sigma == pytest.approx(0.0, abs=1e-6)


def test_thin_or_trending_sample_falls_back() -> None:
    s = pd.Series([50.0, 55.0, 70.0], index=["2024-01", "2024-02", "2024-05"])
    m = fit_ou(s)
    assert m.fit is not None
    assert m.fit.fallback
    assert m.fit.n_pairs == 1
    assert m.half_life_months == pytest.approx(FALLBACK_HALF_LIFE_MONTHS)
    # sigma from all gaps: mean((dx)^2/dt)
    dx = np.diff(np.log(s.to_numpy()))
    assert m.sigma == pytest.approx(math.sqrt(np.mean(dx**2 / np.array([1, 3]))))
    assert m.mu == pytest.approx(np.mean(np.log(s.to_numpy())))
    assert any("fallback" in c for c in m.fit.caveats)


def test_bundled_fit_reports_its_sample() -> None:
    from critmin.data.load import load_dataset

    prices = load_dataset().tables["prices"]
    series, sources, n_obs = monthly_series(prices)
    assert n_obs >= series.size >= 10
    assert all(s.startswith("web:smm") for s in sources)
    # SMM Dec 2024 ~397,000 CNY/t incl. VAT is about US$49/kg ex-VAT (Lynas reported US$49/kg)
    assert 45 < series["2024-12"] < 52
    m = fitted_model(prices)
    assert m.fit is not None
    assert m.origin == series.index[-1]
    assert m.sigma > 0
    d = m.to_dict()
    assert d["fit"]["source_ids"]
    assert d["half_life_months"] > 0


def test_paths_are_seeded_and_use_history_up_to_the_origin() -> None:
    m = OUModel(math.log(60), 0.05, 0.1, math.log(80), "2025-12", history={"2025-10": 60.0, "2025-12": 80.0})
    span = ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02"]
    a = simulate_paths(m, span, 50, seed=1)
    assert np.array_equal(a, simulate_paths(m, span, 50, seed=1))
    assert not np.array_equal(a, simulate_paths(m, span, 50, seed=2))
    assert a[0].tolist() == pytest.approx([60.0] * 50)
    assert a[1, 0] == pytest.approx(math.sqrt(60 * 80))  # log-linear between the observations
    assert a[2].tolist() == pytest.approx([80.0] * 50)
    assert a[3].std() > 0


def test_bad_inputs() -> None:
    with pytest.raises(DataError):
        OUModel(0.0, -0.1, 0.1, 0.0, "2025-01")
    with pytest.raises(DataError):
        month_index("2025/01")
    with pytest.raises(DataError):
        fit_ou(pd.Series([1.0], index=["2025-01"]))
    m = OUModel(0.0, 0.0, 0.1, 0.0, "2025-01")
    with pytest.raises(DataError):
        simulate_paths(m, ["2025-02", "2025-04"], 2, 0)
    with pytest.raises(DataError):
        simulate_paths(m, ["2025-02"], 0, 0)
