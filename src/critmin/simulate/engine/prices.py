"""US$ price levels and substitution by route (docs/model.md 5.8, 5.9).

**US$ per kg.** The engine's prices are indices per market (ex-China ``p_x``, China ``p_c``)
that start at 1; a chain's anchor ``P0`` (``price.usd_per_kg``: the 2024 China export unit
value of NdFeB magnets, or a single chain's USGS salient price) turns them into US$/kg:

    P_usd[m](t) = P0 p_m(t)

**Substitution by route.** Outside China a premium ``pi = clip(p_x - 1, 0, 1)`` moves demand
to substitutes along J routes, each with its own cap ``c_j`` and time constant ``L_j``:

    s_j[r] <- clip( s_j[r] + (c_j pi ex[r] - s_j[r]) / L_j, 0, c_j ),    subst[r] = sum_j s_j[r]

The magnet chain's routes (``substitution.*`` rows) are ferrite in low-performance uses,
Ce-rich NdFeB grades (both fast: months) and motor redesign (induction or wound-rotor
motors; slow: years, ``demand.substitution_lag_months``). A chain without routes (the single
chains, the Dy + Tb feed, a scenario that sets ``demand.substitution_cap``) has one route with
``demand.substitution_cap`` and ``demand.substitution_lag_months``: the rule before issue 12.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F = npt.NDArray[np.float64]


def usd_per_kg(index: F, anchor_usd_per_kg: F) -> F:
    """US$/kg of a price index: ``P0 p`` (``index`` [P] or [P, R], ``anchor`` [P])."""
    a = np.asarray(anchor_usd_per_kg, dtype=np.float64)
    return index * (a if index.ndim == 1 else a[:, None])


def premium(price_x: F) -> F:
    """The ex-China premium that drives substitution, ``clip(p_x - 1, 0, 1)``."""
    return np.clip(price_x - 1.0, 0.0, 1.0)


class SubstitutionRoutes:
    """Substitution state of J routes (module docstring).

    ``caps`` and ``lags`` are [P, J]: each route's largest share of demand and its time
    constant in months. :meth:`step` returns the total share substituted, [P, R].

    Every region outside China sees the same premium and starts unsubstituted, so their
    states are equal and China's stays 0: the state is kept once per path, [P, J], and
    spread over the regions by the 0/1 mask ``exf`` (the same numbers as a [P, R, J] state).
    """

    def __init__(self, caps: F, lags: F, n_regions: int) -> None:
        if caps.shape != lags.shape or caps.ndim != 2:
            raise ValueError(f"route caps {caps.shape} and lags {lags.shape} must both be [P, J]")
        self.caps = caps
        self.lags = lags
        self.n_regions = n_regions
        self.state = np.zeros(caps.shape)
        self._mask: F | None = None  # the last mask checked (the engine passes the same one)

    def step(self, price_x: F, exf: F) -> F:
        """One month: move each route towards ``c_j pi`` by 1/L_j; returns ``ex sum_j s_j``."""
        if exf is not self._mask:
            if exf.shape != (self.n_regions,) or not np.isin(exf, (0.0, 1.0)).all():
                raise ValueError("exf must be the [R] 0/1 mask of the regions outside China")
            self._mask = exf
        aim = self.caps * premium(price_x)[:, None]
        s = self.state + (aim - self.state) / self.lags
        self.state = np.clip(s, 0.0, self.caps)
        total: F = self.state.sum(axis=1)[:, None] * exf[None, :]
        return total


def route_terms(
    substitution_cap: F,
    substitution_lag: F,
    ferrite: F | None,
    ce_grades: F | None,
    redesign: F | None,
    fast_lag: F | None,
) -> tuple[F, F]:
    """[P, J] caps and lags: the three routes when all are given, else the single cap."""
    if ferrite is None or ce_grades is None or redesign is None or fast_lag is None:
        return substitution_cap[:, None], substitution_lag[:, None]
    caps = np.stack([ferrite, ce_grades, redesign], axis=1)
    lags = np.stack([fast_lag, fast_lag, substitution_lag], axis=1)
    return caps, lags
