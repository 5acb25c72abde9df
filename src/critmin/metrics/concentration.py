"""Concentration of supply across countries.

Pure functions on a vector of country shares (fractions of the world total). Residual rows
("Other countries") count in the world total but are not passed in as one country.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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


def hhi_wgi(
    shares: Mapping[str, float],
    wgi_scaled: Mapping[str, float],
    trade_factor: Mapping[str, float] | None = None,
) -> float:
    """Governance-weighted concentration, EU CRM method: HHI_WGI = sum_c s_c^2 * WGI_c * t_c.

    ``shares`` are fractions by ISO3 country; ``wgi_scaled`` the WGI average rescaled to 0-10
    (10 = worst, see :func:`critmin.metrics.governance.wgi_scaled`); ``trade_factor`` the
    optional export-restriction factor t_c (1 = none). Result on the EU scale (0-10 when one
    country with WGI 10 holds everything). A country with a share but no WGI score raises
    ``KeyError`` naming it: silently dropping it would understate risk.

    Source: Blengini et al. (2017), *Methodology for establishing the EU list of critical raw
    materials*, EUR 28654, section 3.1.
    """
    total = 0.0
    for c, s in shares.items():
        if s is None or (isinstance(s, float) and np.isnan(s)) or s == 0:
            continue
        if c not in wgi_scaled:
            msg = f"no WGI score for {c!r}"
            raise KeyError(msg)
        t = 1.0 if trade_factor is None else float(trade_factor.get(c, 1.0))
        total += float(s) ** 2 * float(wgi_scaled[c]) * t
    return total


def n_minus_1_coverage(shares: Iterable[float], spare: float = 0.0) -> float:
    """Share of demand still covered when the largest supplier is removed (IEA N-1 test).

    With supply equal to demand at a stage, coverage = 1 - s_max + spare, capped to [0, 1];
    ``spare`` is spare capacity elsewhere as a fraction of demand (default 0). Source: IEA
    *Global Critical Minerals Outlook 2024*, supply-risk "N-1" diversification indicator.
    """
    a = _arr(shares)
    if a.size == 0:
        return float("nan")
    return float(min(1.0, max(0.0, 1.0 - a.max() + spare)))
