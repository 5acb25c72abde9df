"""Concentration of supply across countries.

Pure functions on a vector of country shares (fractions of the world total). Residual rows
("Other countries") count in the world total but are not passed in as one country.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt


def _arr(shares: Iterable[float]) -> npt.NDArray[np.float64]:
    a = np.asarray(list(shares), dtype=float)
    a = a[~np.isnan(a)]
    if (a < 0).any():
        msg = "shares must be non-negative"
        raise ValueError(msg)
    return a


def hhi(shares: Iterable[float]) -> float:
    """Herfindahl-Hirschman Index on the 0-10,000 scale.

    HHI = sum_c (100 * s_c)^2 with s_c the country's share of the world total (a fraction).
    One supplier with everything gives 10,000. Source: U.S. DOJ/FTC Horizontal Merger
    Guidelines (2023), section 2.3; EU CRM method (Blengini et al. 2017, EUR 28654) uses the
    same index on 0-1 shares scaled here to 0-10,000.
    """
    a = _arr(shares)
    return float(np.sum((100.0 * a) ** 2))


def top_share(shares: Iterable[float], k: int = 1) -> float:
    """Sum of the ``k`` largest shares (top-1, top-3 concentration ratios)."""
    a = np.sort(_arr(shares))[::-1]
    return float(a[:k].sum())


def n_to_reach(shares: Iterable[float], threshold: float = 0.8) -> int | None:
    """Smallest number of countries whose shares sum to at least ``threshold``.

    ``None`` if all listed countries together stay below it (the rest sits in residual rows).
    """
    a = np.sort(_arr(shares))[::-1]
    cum = np.cumsum(a)
    hit = np.nonzero(cum >= threshold - 1e-12)[0]
    return int(hit[0]) + 1 if hit.size else None
