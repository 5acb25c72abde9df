"""The monthly disruption engine, vectorised across Monte Carlo paths (NumPy).

State per path p and region r (arrays [P, R], or [P, R, R] for exporter x destination):
``stock[k]`` (stage-k product held in region r, t), ``backlog[k]`` (licence applications for
stage-k exports, t), magnet users' inventory ``stock[3]``, strategic ``stockpile``, prices
``price_x`` (ex-China) and ``price_c`` (China), and ``subst`` (share of demand substituted).

Each month t (equations, units and sources in docs/model.md):

1. Demand  D = D0 (1+g)^(t/12) (p/p0)^(-eps) (1 - subst);  orders O = D + (cover*D - inv)^+/tau.
2. Capacity cap_k = share_k V_k (1 + headroom) + sum of started projects x ramp.
3. Production, upstream first: mining runs at baseline x demand index u; stage k >= 1 produces
   y_k = min(cap_k, stock_{k-1} conv_k, share_k V_k u) and consumes y_k / conv_k of its input.
4. Shipping X_k[i, j] = y_k[i] ship_k[i, j]. Controls on exports from China (and, under the
   extraterritorial rule, on the Chinese-origin part of other exporters' shipments) move the
   controlled part c to a licence backlog (licence regime) or keep it at home (ban).
   Backlog is processed at rate 1/lag; a share ``a`` of what is processed is approved and
   delivered, the rest is refused and returns to the exporter's stock.
5. Users consume min(D, inventory + stockpile release); shortfall = D - consumption.
6. Prices p = p_{t-1}^lambda [p0 (O/S)^(1/e)]^(1-lambda) per market; substitution follows the
   ex-China premium with a lag, capped.

Mass balance holds at every node and month by construction and is checked in the tests:
stock change = receipts - use (- shipments), backlog change = applications - processed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from critmin.simulate.network import Network
from critmin.simulate.policy import PolicyPath

F = npt.NDArray[np.float64]


@dataclass(frozen=True)
class EngineParams:
    """Per-path parameter vectors (shape [P]) the engine reads."""

    headroom: F
    cap_growth: F
    growth: F
    elasticity: F
    subst_cap: F
    subst_lag: F
    cover: F
    restock: F
    release_rate: F
    approval: F
    lag: F
    share_magnets: F
    share_oxides: F
    supply_elasticity: F
    smoothing: F
    recycling: F
    value_per_kg: F
    project_start: F  # [P, n_projects] month index of first output
    ramp: F
    stockpile0: F  # [P, R]


@dataclass
class Trace:
    """Full monthly series (only kept when small enough), arrays [T, P, R]."""

    demand: F
    consumption: F
    shortfall: F
    supply_ex_china: F  # [T, P] magnets received by users outside China
    price_x: F  # [T, P]
    price_c: F  # [T, P]
    inventory: F
    stockpile: F
    balance_residual: F  # [T] largest absolute mass-balance residual over nodes and paths
    exports_chn: F  # [T, P, R] magnets leaving China for each destination (delivered + approved)


@dataclass(frozen=True)
class PathMetrics:
    """Per-path, per-region summaries (arrays [P, R]), accumulated while simulating."""

    peak_shortfall_pct: F
    cumulative_shortfall_t: F
    months_below_90pct: F
    peak_price_ratio: F
    output_at_risk_usd: F


def run_engine(
    net: Network,
    params: EngineParams,
    policy: PolicyPath,
    n_months: int,
    *,
    keep_trace: bool = False,
    check_balance: bool = False,
    on_month: Any = None,
) -> tuple[PathMetrics, dict[str, F], Trace | None]:
    """Simulate ``n_months`` for all paths at once. Returns (metrics, monthly bands, trace).

    ``bands`` holds p5/p50/p95 across paths per month of the ex-China shortfall (% of demand)
    and the ex-China price ratio: streamed, so memory is O(P x R) whatever the horizon.
    """
    n_paths = params.growth.shape[0]
    r_n = len(net.regions)
    c = net.chn
    k_n = 4
    ex = np.ones(r_n, dtype=bool)
    ex[c] = False
    vol = net.volume
    conv = np.ones(k_n)
    conv[1:] = vol[1:] / vol[:-1]
    share = net.share
    stock = [np.zeros((n_paths, r_n)) for _ in range(k_n)]
    # Users start with their target inventory; intermediate stages with one month of input.
    for k in range(k_n - 1):
        stock[k] = np.tile(share[k + 1] * vol[k + 1] / conv[k + 1], (n_paths, 1))
    demand_base = np.tile(net.demand0, (n_paths, 1))
    stock[3] = demand_base * params.cover[:, None]
    backlog = [np.zeros((n_paths, r_n, r_n)) for _ in range(k_n)]
    stockpile = params.stockpile0.copy()
    price_x = np.ones(n_paths)
    price_c = np.ones(n_paths)
    subst = np.zeros((n_paths, r_n))
    proj = net.projects
    proj_onehot = np.zeros((len(proj), k_n * r_n))
    for q, (k, r) in enumerate(zip(proj["stage"], proj["region"], strict=True)):
        proj_onehot[q, k * r_n + r] = proj["capacity_t_month"].iloc[q]

    peak = np.zeros((n_paths, r_n))
    cum = np.zeros((n_paths, r_n))
    below = np.zeros((n_paths, r_n))
    peak_price = np.ones((n_paths, r_n))
    at_risk = np.zeros((n_paths, r_n))
    bands = {
        f"{m}_{q}": np.zeros(n_months)
        for m in ("shortfall_pct_ex_china", "price_ratio_ex_china")
        for q in ("p5", "p50", "p95")
    }
    trace = _empty_trace(n_months, n_paths, r_n) if keep_trace else None

    for t in range(n_months):
        years = t / 12.0
        growth = (1.0 + params.growth) ** years
        # 1. demand and orders
        p_reg = np.where(ex[None, :], price_x[:, None], price_c[:, None])
        demand = demand_base * growth[:, None] * p_reg ** (-params.elasticity[:, None]) * (1.0 - subst)
        target_inv = params.cover[:, None] * demand
        orders = demand + np.maximum(target_inv - stock[3], 0.0) / params.restock[:, None]
        u = orders.sum(axis=1) / (net.demand0.sum())  # world demand index
        # 2. capacity
        started = np.clip((t - params.project_start) / params.ramp[:, None], 0.0, 1.0)
        add = (started @ proj_onehot).reshape(n_paths, k_n, r_n)
        balance_max = 0.0
        # Pull: producers outside China also produce for unmet local needs (new capacity gets
        # used); computed downstream-first as the input each stage wants from the one above.
        extra = [np.zeros((n_paths, r_n)) for _ in range(k_n)]
        extra[3] = np.maximum(target_inv + demand - stock[3], 0.0) * ex[None, :]
        for k in range(k_n - 1, 0, -1):
            extra[k - 1] = np.maximum(extra[k] / conv[k] - stock[k - 1], 0.0) * ex[None, :]
        for k in range(k_n):
            cap_base = (
                share[k]
                * vol[k]
                * (1.0 + params.headroom[:, None])
                * ((1.0 + params.cap_growth) ** years)[:, None]
            )
            cap = cap_base + add[:, k, :]
            want = share[k] * vol[k] * u[:, None] + extra[k]
            # 3. production
            if k == 0:
                prod = np.minimum(cap, want)
            else:
                prod = np.minimum(np.minimum(cap, want), stock[k - 1] * conv[k])
                stock[k - 1] = stock[k - 1] - prod / conv[k]
            # 4. shipping with controls
            ship = prod[:, :, None] * net.ship[k][None, :, :]
            to_home = ship * policy.ban_share(t, k)[None]
            to_backlog = (ship - to_home) * policy.licence_share(t, k, params, net)
            delivered = ship - to_home - to_backlog
            processed = backlog[k] / params.lag[:, None, None]
            approved = processed * policy.approval(t, k, params)[:, None, None]
            refused = processed - approved
            backlog[k] = backlog[k] + to_backlog - processed
            receipts = delivered.sum(axis=1) + approved.sum(axis=1)
            returned = to_home.sum(axis=2) + refused.sum(axis=2)
            stock[k] = stock[k] + receipts + returned
            if k == 3 and trace is not None:
                trace.exports_chn[t] = delivered[:, c, :] + approved[:, c, :]
            if check_balance:
                # node balance: production = shipped (incl. to self) + to backlog + kept home
                resid = np.abs(ship.sum(axis=2) - prod).max()
                balance_max = max(balance_max, float(resid))
        stockpile = stockpile + policy.stockpile_add(t)[None, :]
        # recycling adds magnets outside China
        stock[3] = stock[3] + params.recycling[:, None] * demand * ex[None, :]
        # market balance before consumption: wanted (demand + target inventory) / on hand
        want_x = (target_inv + demand)[:, ex].sum(axis=1)
        have_x = stock[3][:, ex].sum(axis=1)
        want_c = (target_inv + demand)[:, c]
        have_c = stock[3][:, c]
        # 5. consumption, stockpile release, shortfall
        gap = np.maximum(demand - stock[3], 0.0)
        release = np.minimum(np.minimum(stockpile, params.release_rate[:, None] * stockpile), gap)
        stockpile = stockpile - release
        use = np.minimum(demand, stock[3] + release)
        stock[3] = stock[3] + release - use
        short = demand - use
        # 6. prices and substitution
        ratio_x = np.clip(want_x / np.maximum(have_x, 1e-9), 0.2, 10.0)
        ratio_c = np.clip(want_c / np.maximum(have_c, 1e-9), 0.2, 10.0)
        lam = params.smoothing
        price_x = price_x**lam * (ratio_x ** (1.0 / params.supply_elasticity)) ** (1.0 - lam)
        price_c = price_c**lam * (ratio_c ** (1.0 / params.supply_elasticity)) ** (1.0 - lam)
        premium = np.clip(price_x - 1.0, 0.0, 1.0)
        subst = (
            subst
            + (params.subst_cap[:, None] * premium[:, None] * ex[None, :] - subst) / params.subst_lag[:, None]
        )
        subst = np.clip(subst, 0.0, params.subst_cap[:, None])
        # 7. streamed metrics
        pct = np.divide(short, demand, out=np.zeros_like(short), where=demand > 0)
        peak = np.maximum(peak, pct)
        cum += short
        below += use < 0.9 * demand
        peak_price = np.maximum(peak_price, np.where(ex[None, :], price_x[:, None], price_c[:, None]))
        at_risk += short * 1000.0 * params.value_per_kg[:, None]
        ex_short = short[:, ex].sum(axis=1) / np.maximum(demand[:, ex].sum(axis=1), 1e-9) * 100.0
        for name, series in (("shortfall_pct_ex_china", ex_short), ("price_ratio_ex_china", price_x)):
            q5, q50, q95 = np.percentile(series, [5, 50, 95])
            bands[f"{name}_p5"][t], bands[f"{name}_p50"][t], bands[f"{name}_p95"][t] = q5, q50, q95
        if trace is not None:
            trace.demand[t], trace.consumption[t], trace.shortfall[t] = demand, use, short
            trace.supply_ex_china[t] = use[:, ex].sum(axis=1)
            trace.price_x[t], trace.price_c[t] = price_x, price_c
            trace.inventory[t], trace.stockpile[t] = stock[3], stockpile
            trace.balance_residual[t] = balance_max
            if any((s < -1e-9).any() for s in stock) or any((b < -1e-9).any() for b in backlog):
                trace.balance_residual[t] = np.inf
        if on_month is not None:
            on_month(t)
    metrics = PathMetrics(peak * 100.0, cum, below, peak_price, at_risk)
    return metrics, bands, trace


def _empty_trace(t_n: int, p_n: int, r_n: int) -> Trace:
    z3 = np.zeros((t_n, p_n, r_n))
    z2 = np.zeros((t_n, p_n))
    return Trace(
        z3.copy(),
        z3.copy(),
        z3.copy(),
        z2.copy(),
        z2.copy(),
        z2.copy(),
        z3.copy(),
        z3.copy(),
        np.zeros(t_n),
        z3.copy(),
    )
