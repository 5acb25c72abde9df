"""Capacity that follows demand and responds to sustained high prices (docs/model.md 5.2).

Two parts, both per path and vectorised over paths:

1. **Existing capacity tracks demand.** Existing producers' capacity grows at

       g_eff = rho g_dem + (1 - rho) g_cap

   with ``rho`` = ``capacity.demand_tracking``: producers expand with the market they serve
   (China's mining quota rose with demand, 210 kt REO in 2022 to 270 kt in 2024, USGS), and
   the independent draw ``g_cap`` keeps a mismatch of (1 - rho)(g_cap - g_dem) per year. With
   rho = 0 the engine is the one before issue 12 (capacity growth drawn independently of
   demand growth, which let the demand of fast-growth paths outrun capacity by up to
   (1.10 / 1.04)^12 = 1.96x: the cause of the exploding ``baseline`` prices).

2. **New capacity from a sustained premium** (:class:`CapacityResponse`). Each market m
   (ex-China, China) smooths its price index,

       s_m(t) = s_m(t-1) + (p_m(t) - s_m(t-1)) / M

   and orders new capacity at each stage k at the yearly rate

       o_m(t) = min( beta (s_m(t) - 1 - theta)^+ , b_max )      (fraction of S_k,m per year)

   which arrives ``L_k`` months later (no ramp: the lead time includes it):

       A_k[r](t) = sum_{tau <= t - L_k} o_m(tau) / 12  S_k,m  w_k,m[r]

   ``S_k,m`` is the market's scale at stage k, the larger of its baseline output and its
   users' demand in stage-k units (so a market with little output can still build plants for
   its users), ``w_k,m`` splits it among the market's regions (by baseline output at the stage,
   or by demand where the market has none). China's capacity answers China's price, the rest
   of the world's answers the ex-China price. ``theta`` = ``capacity.response_threshold``,
   ``beta`` = ``capacity.response_per_year``, ``b_max`` = ``capacity.build_cap_per_year``,
   ``M`` = ``capacity.signal_months``; ``L_k`` is ``capacity.lead_months_mine`` (mining),
   ``capacity.lead_months_refine`` (separation, refining) or ``capacity.lead_months_fab``
   (metal/alloy and magnets), rounded to whole months.

Rejected: a capacity stock adjusted towards a price-implied target (a first-order lag). It
adds capacity from the first month of a premium, which a plant cannot do; a pure delay of
the order is what the lead-time studies measure (time from decision to output).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from critmin.simulate.engine.types import EngineParams

F = npt.NDArray[np.float64]

#: Which lead time each stage takes: 0 mine, 1 refining (separation), 2 fabrication.
LEAD_KIND = {"mining": 0, "separation": 1, "metal_alloy": 2, "magnet": 2}


def tracked_growth(demand_growth: F, capacity_growth: F, tracking: F | None) -> F:
    """Yearly growth of existing capacity, ``rho g_dem + (1 - rho) g_cap`` (``tracking`` = rho;
    ``None``: ``capacity_growth`` unchanged)."""
    if tracking is None:
        return capacity_growth
    return tracking * demand_growth + (1.0 - tracking) * capacity_growth


def smoothed(signal: F, price: F, months: F) -> F:
    """One month of exponential smoothing, ``s + (p - s) / M``."""
    return signal + (price - signal) / months


def order_rate(signal: F, threshold: F, response: F, build_cap: F) -> F:
    """Yearly order rate ``min(beta (s - 1 - theta)^+, b_max)`` (fraction of the market's scale)."""
    return np.minimum(response * np.maximum(signal - 1.0 - threshold, 0.0), build_cap)


def market_weights(base: F, demand_stage: F, chn: int) -> F:
    """[K, 2, R] ``S_k,m w_k,m[r]`` (t/month): the capacity one year of orders at rate 1 adds,
    by stage, market (0 ex-China, 1 China) and region.

    ``base`` [K, R] baseline output, ``demand_stage`` [K, R] users' demand expressed in each
    stage's product (t/month). The scale is the larger of the market's output and demand; the
    weights follow output, or demand where the market has no output at that stage.
    """
    k_n, r_n = base.shape
    ex = np.ones(r_n, dtype=bool)
    ex[chn] = False
    out = np.zeros((k_n, 2, r_n))
    for k in range(k_n):
        for m, mask in enumerate((ex, ~ex)):
            b = np.where(mask, base[k], 0.0)
            d = np.where(mask, demand_stage[k], 0.0)
            scale = max(b.sum(), d.sum())
            w = b if b.sum() > 0 else d
            if scale > 0 and w.sum() > 0:
                out[k, m] = scale * w / w.sum()
    return out


class CapacityResponse:
    """The order book of price-driven capacity for a block of paths (module docstring, part 2).

    ``step(t, price_x, price_c)`` books this month's orders and returns the capacity added so
    far, [P, K, R] t/month (what arrived by month t). Orders of month t arrive at t + L_k, so
    a premium in month t first adds capacity at month t + L_k.
    """

    def __init__(
        self,
        weights: F,
        lead_months: npt.NDArray[np.intp],
        *,
        signal_months: F,
        threshold: F,
        response: F,
        build_cap: F,
    ) -> None:
        self.weights = weights  # [K, 2, R]
        self.lead = lead_months  # [P, K]
        n, k_n = lead_months.shape
        # ring buffer of the yearly order rates booked each month (longer than any lead time)
        self.slots = int(lead_months.max(initial=0)) + 1
        self.orders = np.zeros((self.slots, n, 2))
        self.signal = np.ones((n, 2))
        self.added = np.zeros((n, k_n, weights.shape[2]))
        self.months, self.threshold = signal_months[:, None], threshold[:, None]
        self.response, self.build_cap = response[:, None], build_cap[:, None]
        self._rows = np.arange(n)

    def step(self, t: int, price_x: F, price_c: F) -> F:
        """Book month t's orders from the prices of month t - 1 and return the capacity that
        has arrived by month t, [P, K, R] t/month."""
        prices = np.stack([price_x, price_c], axis=1)
        self.signal = smoothed(self.signal, prices, self.months)
        self.orders[t % self.slots] = order_rate(self.signal, self.threshold, self.response, self.build_cap)
        for k in range(self.lead.shape[1]):
            src = t - self.lead[:, k]
            ok = src >= 0
            if not ok.any():
                continue
            arriving = self.orders[np.maximum(src, 0) % self.slots, self._rows] * ok[:, None] / 12.0
            if not arriving.any():  # no orders arrive on any path: nothing to add
                continue
            w = self.weights[k]
            self.added[:, k, :] += arriving[:, :1] * w[0] + arriving[:, 1:] * w[1]
        return self.added


def lead_months(stages: tuple[str, ...], mine: F, refine: F, fab: F) -> npt.NDArray[np.intp]:
    """[P, K] whole-month lead time of each stage (mining, refining or fabrication lead)."""
    by_kind = np.stack([mine, refine, fab], axis=1)
    kinds = [LEAD_KIND.get(s, 1) for s in stages]
    return np.rint(by_kind[:, kinds]).astype(np.intp)


def capacity_response(weights: F, stages: tuple[str, ...], p: EngineParams) -> CapacityResponse | None:
    """The order book for a block's parameters ``p``, or None when any response term is unset."""
    need = (
        p.capacity_signal_months,
        p.capacity_response_threshold,
        p.capacity_response_per_year,
        p.capacity_build_cap_per_year,
        p.capacity_lead_months_mine,
        p.capacity_lead_months_refine,
        p.capacity_lead_months_fab,
    )
    if any(a is None for a in need):
        return None
    signal, theta, beta, cap, mine, refine, fab = (np.asarray(a) for a in need)
    return CapacityResponse(
        weights,
        lead_months(stages, mine, refine, fab),
        signal_months=signal,
        threshold=theta,
        response=beta,
        build_cap=cap,
    )
