"""NdPr oxide's own price path for the planner (critmin.plan.oxide) and its use in the futures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.data.load import load_dataset
from critmin.errors import DataError
from critmin.plan.economics import load_economics
from critmin.plan.oxide import OxideBasis, china_anchor, ndpr_prices, premium


def test_hand_worked_prices() -> None:
    """P0 = 80, p_c = 0.9, a = 0.5, premiums 3% and 70%: China 72, ex-China 72 x 1.365."""
    ex, chn = ndpr_prices([0.9], [0.5], anchor_usd_per_kg=80.0, normal_premium=0.03, control_premium=0.70)
    assert chn[0] == pytest.approx(72.0)
    assert ex[0] == pytest.approx(72.0 * (1.0 + 0.03 + 0.67 * 0.5))
    # full supply: the normal premium; a full cut-off: the control premium
    ex, _ = ndpr_prices(
        np.ones(2), [1.0, 0.0], anchor_usd_per_kg=50.0, normal_premium=0.03, control_premium=0.7
    )
    np.testing.assert_allclose(ex, [51.5, 85.0])


@given(
    a=st.lists(st.floats(-0.5, 1.5), min_size=2, max_size=6),
    normal=st.floats(0.0, 0.5),
    extra=st.floats(0.0, 3.0),
)
def test_premium_never_rises_with_supply_and_stays_between_its_ends(
    a: list[float], normal: float, extra: float
) -> None:
    control = normal + extra
    arr = np.sort(np.array(a))
    p = premium(arr, normal, control)
    assert (np.diff(p) <= 1e-12).all()
    assert (p >= normal - 1e-12).all()
    assert (p <= control + 1e-12).all()


def test_bad_inputs_are_data_errors() -> None:
    with pytest.raises(DataError, match="not a positive price"):
        ndpr_prices([1.0], [1.0], anchor_usd_per_kg=0.0, normal_premium=0.0, control_premium=0.0)
    with pytest.raises(DataError, match="China price index"):
        ndpr_prices([np.nan], [1.0], anchor_usd_per_kg=1.0, normal_premium=0.0, control_premium=0.0)
    with pytest.raises(DataError, match="premiums"):
        premium(np.ones(1), np.inf, 0.0)


def test_china_anchor_is_the_bundled_smm_quotation_of_the_month_or_the_latest_before() -> None:
    prices = load_dataset().table("prices")
    p0, month, sources = china_anchor(prices, "2026-01")
    # 672,500 CNY/t on 22 Jan 2026, ex-VAT at 7.2 CNY/US$ and 13% VAT
    assert month == "2026-01"
    assert p0 == pytest.approx(672_500 / 1000 / 7.2 / 1.13)
    assert "web:smm-shanghai-metals-market:60443772" in sources
    p1, m1, _ = china_anchor(prices, "2025-11")  # no November quotation: September's last
    assert m1 == "2025-09"
    assert p1 == pytest.approx(np.mean([596_500, 552_000, 562_500]) / 1000 / 7.2 / 1.13)
    _, m2, _ = china_anchor(prices, "2020-01")  # before the series: its first month
    assert m2 == "2024-11"
    with pytest.raises(DataError):
        china_anchor(pd.DataFrame(columns=prices.columns), "2026-01")


def test_the_premiums_come_cited_from_the_instruments() -> None:
    econ = load_economics()
    assert econ.control_premium["ndpr_oxide"] == pytest.approx(0.70)
    assert econ.sources["control_premium.ndpr_oxide"] == "web:smm-shanghai-metals-market:1b3dd2a7"
    assert econ.spot_premium["ndpr_oxide"] == pytest.approx(0.03)
    b = OxideBasis(82.7, "2026-01", 0.03, 0.70, ())
    assert "not the magnet price index" in b.words()


@pytest.mark.slow
def test_futures_price_ndpr_oxide_on_its_own_path_not_the_magnet_index() -> None:
    """Under the reimposed controls (8 futures), every year's NdPr oxide price is the annual
    mean of its monthly path, stays within US$40-250/kg (the magnet index put the 2027 median
    at US$324/kg and its p95 above US$1,000/kg) and between 1.03 and 1.70 times China's."""
    from critmin.plan.futures import sample_futures

    f = sample_futures("controls-reimposed-2026-11", 3, 8, 2027, 2028)
    assert f.ndpr_monthly_usd_per_kg is not None
    ox = f.spot_usd_per_kg[:, :, 0]
    assert (ox > 40).all()
    assert (ox < 250).all()
    monthly = f.ndpr_monthly_usd_per_kg.reshape(3, 12, -1).mean(axis=1)[1:].T
    np.testing.assert_allclose(ox, monthly)
    assert (f.spot_usd_per_kg[:, :, 0] <= f.china_usd_per_kg[:, :, 0] * 1.70 + 1e-9).all()
    assert (f.spot_usd_per_kg[:, :, 0] >= f.china_usd_per_kg[:, :, 0] * 1.03 - 1e-9).all()
    assert "SMM China domestic" in f.ndpr_basis
