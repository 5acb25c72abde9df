"""NdPr oxide's own price path for the planner (issue 13), from the simulator's futures.

The simulator prices one product per chain: the rare-earth chain's users' NdFeB magnets (and
the Dy + Tb feed its oxide). It has no separation-stage price, and taking the magnet chain's
ex-China price index for NdPr oxide made the oxide as scarce as finished magnets (a median
US$324/kg in October 2027 and a p95 above US$1,000/kg under ``controls-reimposed-2026-11``,
against US$60-90/kg through 2025). NdPr oxide therefore gets a documented mapping, per future
and month t:

    P_chn(t) = P0 x p_c(t)
    P_x(t)   = P_chn(t) x (1 + pi(t)),     pi(t) = pi_n + (pi_c - pi_n) (1 - a(t))

* ``P0``: SMM's China domestic PrNd oxide quotation in the run's first month, or the latest
  before it (the bundled prices table, US$/kg ex-VAT at :data:`~critmin.plan.pricemodel.CNY_PER_USD`
  and :data:`~critmin.plan.pricemodel.CHINA_VAT`): US$82.7/kg in January 2026;
* ``p_c``: the simulated China price index (1 at the run's start), the balance of China's own
  market, where China's oxide is made into magnets;
* ``a``: China's simulated magnet exports to the regions outside China over the baseline's
  (summed over those regions, in [0, 1]): the availability the planner gives NdPr oxide, whose
  exports the October 2025 package controls with the magnets';
* ``pi_n``: the normal-times premium (``spot_premium.ndpr_oxide``, 3%: Fastmarkets, April 2024);
  ``pi_c``: the premium at a full cut-off (``control_premium.ndpr_oxide``, 70%: SMM's FOB
  quotations of 30 January 2026 over its China domestic price, a low estimate; instruments.yaml).

The China price is the simulated China index times ``P0``; the ex-China price adds a premium
that grows linearly as China's supply to ex-China buyers is cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.errors import DataError
from critmin.plan.pricemodel import month_index, monthly_series

F = npt.NDArray[np.float64]
__all__ = ["OxideBasis", "china_anchor", "ndpr_prices", "premium"]


@dataclass(frozen=True)
class OxideBasis:
    """What a path was built on: ``anchor_usd_per_kg`` (P0) observed in ``anchor_month``,
    the premiums and the source ids."""

    anchor_usd_per_kg: float
    anchor_month: str
    normal_premium: float
    control_premium: float
    source_ids: tuple[str, ...]

    def words(self) -> str:
        """One line for the result's notes."""
        return (
            f"NdPr oxide: China = US${self.anchor_usd_per_kg:.1f}/kg (SMM China domestic, "
            f"{self.anchor_month}, ex-VAT) x the simulated China price index; ex-China = China x "
            f"(1 + {self.normal_premium:.0%} + ({self.control_premium:.0%} - {self.normal_premium:.0%}) "
            "x the share of China's normal magnet exports cut off); not the magnet price index"
        )


def china_anchor(prices: pd.DataFrame, first_month: str) -> tuple[float, str, tuple[str, ...]]:
    """P0: the bundled China domestic NdPr oxide price (US$/kg ex-VAT) of ``first_month``
    (YYYY-MM) or the latest month before it (the earliest when the series starts later), its
    month and the series' source ids."""
    series, sources, _ = monthly_series(prices)
    m = month_index(first_month)
    before = [k for k in series.index if month_index(str(k)) <= m]
    at = max(before, key=lambda k: month_index(str(k))) if before else series.index[0]
    return float(series[at]), str(at), sources


def premium(avail: F, normal: float, control: float) -> F:
    """pi = normal + (control - normal) (1 - a), with ``avail`` a clipped to [0, 1]."""
    if not (np.isfinite(normal) and np.isfinite(control)) or normal < -1.0 or control < -1.0:
        raise DataError(
            f"premiums {normal} and {control} must be finite and above -1",
            column="control_premium",
            fix="see critmin/plan/data/instruments.yaml",
        )
    a = np.clip(np.nan_to_num(np.asarray(avail, dtype=np.float64), nan=1.0), 0.0, 1.0)
    out: F = normal + (control - normal) * (1.0 - a)
    return out


def ndpr_prices(
    price_c: npt.ArrayLike,
    avail: npt.ArrayLike,
    *,
    anchor_usd_per_kg: float,
    normal_premium: float,
    control_premium: float,
) -> tuple[F, F]:
    """(ex-China, China) NdPr oxide prices in US$/kg, arrays shaped like ``price_c`` (the
    simulated China price index) and ``avail`` (China's availability to ex-China buyers, 0-1):
    module docstring. Example: P0 = 80, p_c = 0.9, a = 0.5, premiums 3% and 70%:
    China 72, ex-China 72 x (1 + 0.03 + 0.67 x 0.5) = 98.28."""
    pc = np.asarray(price_c, dtype=np.float64)
    if not (np.isfinite(anchor_usd_per_kg) and anchor_usd_per_kg > 0):
        raise DataError(
            f"NdPr oxide anchor {anchor_usd_per_kg} is not a positive price",
            column="prices",
            fix="restore the bundled prices table (critmin data build)",
        )
    if (pc < 0).any() or not np.isfinite(pc).all():
        raise DataError("the China price index must be finite and >= 0", column="price_c")
    china = anchor_usd_per_kg * pc
    ex = china * (
        1.0
        + premium(
            np.broadcast_to(np.asarray(avail, dtype=np.float64), pc.shape), normal_premium, control_premium
        )
    )
    return ex, china
