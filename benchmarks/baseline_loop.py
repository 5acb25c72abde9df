"""Baseline for ``bench_simulate.py``: the disruption engine as a plain per-path Python loop.

The same equations as :func:`critmin.simulate.engine.step.run_engine` (see its module docstring),
written the straightforward way. It loops over paths, then months, then stages, then every
exporter x destination pair, with Python floats (arrays are turned into lists first, so no
NumPy scalar arithmetic). It reads the policy's regimes directly rather than the engine's
precompiled edges, so it also checks the policy compilation independently.
:func:`check_against_engine` asserts that both give the same metrics and bands.

Usage: python benchmarks/baseline_loop.py [--paths 3] [--scenario controls-reimposed-2026-11]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from typing import Any

import numpy as np

from critmin.simulate.chains.network import Network
from critmin.simulate.engine import EngineParams, run_engine
from critmin.simulate.engine.trade import held_origin, preference_weights
from critmin.simulate.engine.types import EngineInputs
from critmin.simulate.inputs.policy import PolicyPath
from critmin.simulate.inputs.scenario import EventKind

METRICS = ("peak_shortfall_pct", "cumulative_shortfall_t", "months_below_90pct", "peak_price_ratio")


def _trade(
    stock: list[float], req: list[float], share: float, w: list[list[float]], mov: list[float], c: int
) -> None:
    """Surplus to deficit outside China by preference w (docs/model.md 5.5b), in place."""
    r_n = len(stock)
    sur = [max(stock[r] - req[r], 0.0) * mov[r] if r != c else 0.0 for r in range(r_n)]
    dfc = [max(req[r] - stock[r], 0.0) if r != c else 0.0 for r in range(r_n)]
    s_tot, d_tot = sum(sur), sum(dfc)
    traded = share * min(s_tot, d_tot)
    per_w = [0.0] * r_n
    for i in range(r_n):
        reach = sum(w[i][j] * dfc[j] for j in range(r_n))
        offer = sur[i] * traded / s_tot if s_tot > 0 else 0.0
        per_w[i] = offer / reach if reach > 0 else 0.0
    offered = [dfc[j] * sum(per_w[i] * w[i][j] for i in range(r_n)) for j in range(r_n)]
    cut = [dfc[j] / offered[j] if offered[j] > dfc[j] else 1.0 for j in range(r_n)]
    sent = [per_w[i] * sum(w[i][j] * dfc[j] * cut[j] for j in range(r_n)) for i in range(r_n)]
    for r in range(r_n):
        stock[r] += offered[r] * cut[r] - sent[r]


def _enforcement(policy: PolicyPath, net: Network, t: int, k: int) -> float:
    """E_t of docs/model.md 5.5d: the bans' enforcement, 1 under an extraterritorial rule."""
    e = 0.0
    for b in policy.bans:
        if b.active[t] and k in b.stages and b.event.kind is EventKind.BAN:
            e = max(e, float(b.event.enforcement))
    for reg in policy.licences:
        if (
            reg.active[t]
            and k in reg.stages
            and reg.event.extraterritorial
            and k >= net.extraterritorial_from
        ):
            e = 1.0
    return e


def _controls(
    policy: PolicyPath, net: Network, params: EngineParams, p: int, t: int, k: int
) -> tuple[list[list[float]], list[list[float]]]:
    """Banned and licensed fractions [R][R] for path p, month t, stage k (policy.py semantics)."""
    r_n = len(net.regions)
    c = net.chn
    ban = [[0.0] * r_n for _ in range(r_n)]
    lic = [[0.0] * r_n for _ in range(r_n)]
    for b in policy.bans:
        if b.active[t] and k in b.stages:
            frac = policy.defence_share if b.event.kind is EventKind.END_USER_DENIAL else 1.0
            for j in range(r_n):
                if b.dest[j] and j != c:
                    ban[c][j] = max(ban[c][j], frac)
    for reg in policy.licences:
        if not (reg.active[t] and k in reg.stages):
            continue
        if reg.share is not None:
            share = float(reg.share[p])
        else:
            share = float(
                params.controlled_share_last_stage[p] if k == 3 else params.controlled_share_upstream[p]
            )
        for j in range(r_n):
            if not reg.dest[j]:
                continue
            if j != c:
                lic[c][j] = max(lic[c][j], share)
            if reg.event.extraterritorial and k >= 2:
                for i in range(r_n):
                    if i != j:
                        lic[i][j] = max(lic[i][j], share * float(net.china_origin[k][i]))
    return ban, lic


def _response(
    net: Network,
    params: EngineParams,
    p: int,
    base: list[list[float]],
    d0: list[float],
    vol: list[float],
    c: int,
) -> tuple[float, float, float, float, list[int], list[list[list[float]]]] | None:
    """Path p's capacity-response terms (signal months, threshold, slope, build cap, whole-month
    lead per stage, [K][market][R] capacity per unit yearly order rate), or None when off."""
    names = ("signal_months", "response_threshold", "response_per_year", "build_cap_per_year")
    leads = ("lead_months_mine", "lead_months_refine", "lead_months_fab")
    arrays = [getattr(params, f"capacity_{n}") for n in names + leads]
    if any(a is None for a in arrays):
        return None
    v = [float(a[p]) for a in arrays]
    kind = {"mining": 4, "separation": 5, "metal_alloy": 6, "magnet": 6}
    stage_lead = [round(v[kind[s]]) for s in net.stages]
    weights = []
    for k in range(len(base)):
        per_market = []
        for in_market in (lambda r: r != c, lambda r: r == c):
            b = [base[k][r] if in_market(r) else 0.0 for r in range(len(d0))]
            d = [d0[r] * vol[k] / vol[-1] if in_market(r) else 0.0 for r in range(len(d0))]
            scale, w = max(sum(b), sum(d)), (b if sum(b) > 0 else d)
            per_market.append([scale * x / sum(w) if scale > 0 and sum(w) > 0 else 0.0 for x in w])
        weights.append(per_market)
    return v[0], v[1], v[2], v[3], stage_lead, weights


def run_loop(net: Network, params: EngineParams, policy: PolicyPath, n_months: int) -> dict[str, Any]:
    """Simulate every path one after the other; returns per-path metrics [P, R] and bands [T]."""
    n_paths = params.demand_growth_per_year.shape[0]
    r_n, c, k_n = len(net.regions), net.chn, 4
    vol = net.volume.tolist()
    conv = [1.0] + [vol[k] / vol[k - 1] for k in range(1, k_n)]
    base = [[float(net.share[k][r]) * vol[k] for r in range(r_n)] for k in range(k_n)]
    ship = net.ship.tolist()
    d0 = net.demand0.tolist()
    d0_sum = float(net.demand0.sum())
    proj = [
        (int(k), int(r), float(q))
        for k, r, q in zip(
            net.projects["stage"], net.projects["region"], net.projects["capacity_t_month"], strict=True
        )
    ]
    pref = preference_weights(net.regions).tolist()
    movable = held_origin(net, policy).tolist()  # [T][K][R]
    hub_row = net.regions.index("ROW") if "ROW" in net.regions else c
    hub = [hub_row] * r_n if net.via_hub is None else [int(x) for x in net.via_hub]
    via = [[0.0] * r_n for _ in range(k_n)] if net.via_share is None else net.via_share.tolist()
    out = {m: np.zeros((n_paths, r_n)) for m in METRICS}
    series = {
        "shortfall_pct_ex_china": np.zeros((n_months, n_paths)),
        "price_ratio_ex_china": np.zeros((n_months, n_paths)),
    }
    for p in range(n_paths):
        g, h, cg = (
            float(params.demand_growth_per_year[p]),
            float(params.capacity_headroom[p]),
            float(params.capacity_growth_per_year[p]),
        )
        eps, cover, restock = (
            float(params.price_elasticity[p]),
            float(params.cover_months[p]),
            float(params.restock_months[p]),
        )
        lag, se, lam = (
            float(params.licence_lag_months[p]),
            float(params.supply_elasticity[p]),
            float(params.price_smoothing[p]),
        )
        s_cap, s_lag, rec = (
            float(params.substitution_cap[p]),
            float(params.substitution_lag_months[p]),
            float(params.recycling_share[p]),
        )
        rel_rate, ramp = float(params.stockpile_release_per_month[p]), float(params.ramp_months[p])
        allied = (
            0.0
            if params.allied_trade_share is None
            else min(max(float(params.allied_trade_share[p]), 0.0), 1.0)
        )
        users_share = (
            0.0
            if params.users_trade_share is None
            else min(max(float(params.users_trade_share[p]), 0.0), 1.0)
        )
        leak = 0.0 if params.leakage_share is None else float(params.leakage_share[p])
        starts = params.project_start_month[p].tolist()
        rho = params.capacity_demand_tracking
        if rho is not None:  # existing capacity tracks demand growth (engine/capacity.py)
            cg = float(rho[p]) * g + (1.0 - float(rho[p])) * cg
        response = _response(net, params, p, base, d0, vol, c)
        route_fields = (
            params.substitution_cap_ferrite,
            params.substitution_cap_ce_grades,
            params.substitution_cap_redesign,
            params.substitution_fast_lag_months,
        )
        if any(a is None for a in route_fields):
            routes = [(s_cap, s_lag)]
        else:
            fer, ce, red, fast = (float(a[p]) for a in route_fields if a is not None)
            routes = [(fer, fast), (ce, fast), (red, s_lag)]
        by_route = [[0.0] * len(routes) for _ in range(r_n)]
        signal, booked = [1.0, 1.0], []
        built = [[0.0] * r_n for _ in range(k_n)]
        stock = [[base[k + 1][r] / conv[k + 1] for r in range(r_n)] for k in range(k_n - 1)]
        # users' firm classes (engine/inventory.py): weights w, covers cover x rel
        if params.inventory_class_share is None or params.inventory_class_cover is None:
            w, cov_n = [1.0], [cover]
        else:
            sh, cv = params.inventory_class_share[p].tolist(), params.inventory_class_cover[p].tolist()
            w = [x / sum(sh) for x in sh]
            mean = sum(wi * ci for wi, ci in zip(w, cv, strict=True))
            cov_n = [cover * (ci / mean if mean > 0 else 1.0) for ci in cv]
        n_cls = len(w)
        cls = [[d0[r] * w[n] * cov_n[n] for n in range(n_cls)] for r in range(r_n)]
        cls_orders = [[0.0] * n_cls for _ in range(r_n)]
        stock.append([sum(cls[r]) for r in range(r_n)])
        rules = policy.stockpile_rules
        owners = [
            r
            for r in range(r_n)
            if params.stockpile0_t[:, r].max() > 0
            or (policy.stockpile is not None and policy.stockpile[:, r].max() > 0)
            or (rules is not None and bool(rules.ever[r]))
        ]
        sp_size = [0.0] * r_n
        backlog = [[[0.0] * r_n for _ in range(r_n)] for _ in range(k_n)]
        ban_prev = [[[0.0] * r_n for _ in range(r_n)] for _ in range(k_n)]
        stockpile = params.stockpile0_t[p].tolist()
        px, pc = 1.0, 1.0
        subst = [0.0] * r_n
        peak, cum, below, peak_price = [0.0] * r_n, [0.0] * r_n, [0.0] * r_n, [1.0] * r_n
        for t in range(n_months):
            years = t / 12.0
            demand, target, orders = [0.0] * r_n, [0.0] * r_n, [0.0] * r_n
            for r in range(r_n):
                price = pc if r == c else px
                demand[r] = d0[r] * (1.0 + g) ** years * price ** (-eps) * (1.0 - subst[r])
                target[r] = cover * demand[r]
                if r == c:
                    orders[r] = max(demand[r] + (target[r] - stock[3][r]) / restock, 0.0)
                else:
                    orders[r] = demand[r] + max(target[r] - stock[3][r], 0.0) / restock
                for n in range(n_cls):
                    dn = demand[r] * w[n]
                    tau_n = restock * cov_n[n] / cover if cover > 0 else 0.0
                    gap_n = max(cov_n[n] * dn - cls[r][n], 0.0)
                    cls_orders[r][n] = dn + (gap_n / tau_n if tau_n > 0 else 0.0)
            u = sum(orders) / d0_sum
            add = [[0.0] * r_n for _ in range(k_n)]
            for q, (k, r, capacity) in enumerate(proj):
                add[k][r] += min(max((t - starts[q]) / ramp, 0.0), 1.0) * capacity
            if response is not None:  # orders from the smoothed premium arrive after the lead
                months, theta, beta, b_max, leads, weights = response
                for m, price in enumerate((px, pc)):
                    signal[m] += (price - signal[m]) / months
                booked.append([min(beta * max(s_m - 1.0 - theta, 0.0), b_max) for s_m in signal])
                for k in range(k_n):
                    if t - leads[k] >= 0:
                        rate = booked[t - leads[k]]
                        for r in range(r_n):
                            built[k][r] += (rate[0] * weights[k][0][r] + rate[1] * weights[k][1][r]) / 12.0
                for k in range(k_n):
                    for r in range(r_n):
                        add[k][r] += built[k][r]
            cap_f = (1.0 + h) * (1.0 + cg) ** years
            extra = [[0.0] * r_n for _ in range(k_n)]
            for r in range(r_n):
                if r != c:
                    extra[3][r] = max(target[r] - stock[3][r], 0.0)  # the inventory gap (engine 5.3)
            if users_share > 0:  # makers with spare capacity make for other regions' gaps (5.5b)
                room = [
                    max(base[3][r] * cap_f + add[3][r] - base[3][r] * u, 0.0) if r != c else 0.0
                    for r in range(r_n)
                ]
                left = sum(extra[3][r] - min(extra[3][r], room[r]) for r in range(r_n))
                free = [max(room[r] - extra[3][r], 0.0) for r in range(r_n)]
                f_tot = sum(free)
                scale = min(left / f_tot, 1.0) if f_tot > 0 else 0.0
                for r in range(r_n):
                    extra[3][r] += users_share * free[r] * scale
            for r in range(r_n):
                if r != c:
                    for k in range(k_n - 1, 0, -1):
                        extra[k - 1][r] = max(extra[k][r] / conv[k] - stock[k - 1][r], 0.0)
            approval = float(policy.approval(t, params)[p])
            wants = [[0.0] * r_n for _ in range(k_n)]
            for k in range(k_n):
                for r in range(r_n):
                    cap = base[k][r] * cap_f + add[k][r]
                    wants[k][r] = min(cap, base[k][r] * u + extra[k][r])
                    if policy.floor_cover is not None and policy.floor_cover[t, k, r]:
                        wants[k][r] = cap  # a price floor keeps covered producers at capacity
            for k in range(k_n):
                prod = [0.0] * r_n
                for r in range(r_n):
                    want = wants[k][r]
                    if k == 0:
                        prod[r] = want
                    else:
                        inp = min(want / conv[k], stock[k - 1][r])
                        prod[r] = inp * conv[k]
                        stock[k - 1][r] -= inp
                ban, lic = _controls(policy, net, params, p, t, k)
                enf = _enforcement(policy, net, t, k)
                receipts = [0.0] * r_n
                for i in range(r_n):
                    for j in range(r_n):
                        x = prod[i] * ship[k][i][j]
                        home = x * ban[i][j]
                        apply_ = (x - home) * lic[i][j]
                        # a ban rising on this flow sends the share it newly covers of what is
                        # pending back to the exporter (licences.ban_cancel)
                        b0, b1 = ban_prev[k][i][j], ban[i][j]
                        ban_prev[k][i][j] = b1
                        cancel = 0.0 if b1 <= b0 else ((b1 - b0) / (1.0 - b0) if b0 < 1.0 else 1.0)
                        cancelled = backlog[k][i][j] * cancel
                        backlog[k][i][j] -= cancelled
                        processed = backlog[k][i][j] / lag
                        approved = processed * approval
                        backlog[k][i][j] += apply_ - processed
                        receipts[j] += x - home - apply_ + approved
                        receipts[i] += home + processed - approved + cancelled
                        h_j = hub[j]
                        if i == c and j != c and h_j != j and h_j != c and ban[c][h_j] < 1.0:
                            # rerouted via the hub (5.5d): leaves China, reaches j this month
                            r_share = (via[k][j] + leak * (1.0 - via[k][j])) * (1.0 - enf)
                            # a cancelled application is not rerouted: it returns to the exporter
                            moved = (home + processed - approved) * min(max(r_share, 0.0), 1.0)
                            receipts[j] += moved
                            receipts[i] -= moved
                for r in range(r_n):
                    stock[k][r] += receipts[r]
                if k < k_n - 1 and allied > 0:
                    # trade outside China: surplus of stage-k product to deficits by preference
                    req = [wants[k + 1][r] / conv[k + 1] for r in range(r_n)]
                    _trade(stock[k], req, allied, pref, movable[t][k], c)
                elif k == k_n - 1 and users_share > 0:
                    # users' stage: magnets beyond a region's need (demand + target cover)
                    need = [target[r] + demand[r] for r in range(r_n)]
                    _trade(stock[k], need, users_share, pref, movable[t][k], c)
            sp_add = policy.stockpile_add(t)
            need_x = have_x = short_x = demand_x = 0.0
            use = [0.0] * r_n
            for r in range(r_n):
                stockpile[r] += float(sp_add[r])
                if r != c:
                    stock[3][r] += rec * demand[r]
                    need_x += target[r] + demand[r]
                    have_x += stock[3][r]
            need_c, have_c = target[c] + demand[c], stock[3][c]
            gaps = [0.0] * r_n
            for r in range(r_n):
                sp_size[r] = max(sp_size[r], stockpile[r])
                delta = stock[3][r] - sum(cls[r])  # receipts split by class orders, losses by stock
                if delta >= 0:
                    o_tot = sum(cls_orders[r])
                    for n in range(n_cls):
                        cls[r][n] += delta * (cls_orders[r][n] / o_tot if o_tot > 0 else 1.0 / n_cls)
                else:
                    s_tot = sum(cls[r])
                    keep = 1.0 - min(-delta / s_tot, 1.0) if s_tot > 0 else 0.0
                    for n in range(n_cls):
                        cls[r][n] = max(cls[r][n] * keep, 0.0)
                gaps[r] = sum(max(demand[r] * w[n] - cls[r][n], 0.0) for n in range(n_cls))
            release, left, trig = [0.0] * r_n, list(gaps), [False] * r_n
            for o in owners:
                served = [o] if rules is None else [j for j in range(r_n) if rules.serve[o][j]]
                if rules is None:
                    on, cap_o = left[o] > 0, rel_rate * stockpile[o]
                else:
                    short_s = sum(left[j] for j in served)
                    dem_s = max(sum(demand[j] for j in served), 1e-12)
                    on = (short_s > 0 and short_s >= rules.short_at[o] * dem_s) or px >= rules.price_at[o]
                    share_o = rel_rate if np.isnan(rules.share_cap[o]) else float(rules.share_cap[o])
                    cap_o = min(share_o * stockpile[o], float(rules.t_cap[o]))
                cap_o = min(cap_o, stockpile[o]) if on else 0.0
                trig[o] = on
                own = min(cap_o, left[o])
                left[o] -= own
                release[o] += own
                rest, g_tot = cap_o - own, sum(left[j] for j in served if j != o)
                give = min(rest, g_tot)
                sent = 0.0
                for j in served:
                    if j != o and g_tot > 0:
                        part = min(left[j] * give / g_tot, left[j])
                        left[j] -= part
                        release[j] += part
                        sent += part
                stockpile[o] -= own + sent
            for r in range(r_n):
                g_r = sum(max(demand[r] * w[n] - cls[r][n], 0.0) for n in range(n_cls))
                short_r = 0.0
                for n in range(n_cls):
                    dn = demand[r] * w[n]
                    gn = max(dn - cls[r][n], 0.0)
                    avail = cls[r][n] + (release[r] * gn / g_r if g_r > 0 else 0.0)
                    used = min(dn, avail)
                    cls[r][n] = avail - used
                    short_r += dn - used
                use[r] = demand[r] - min(short_r, demand[r])
                refill = 0.0
                if rules is not None and r in owners and rules.replenish[r] > 0 and not trig[r]:
                    surplus = sum(cls[r]) - target[r]
                    refill = max(min(rules.replenish[r], sp_size[r] - stockpile[r], surplus), 0.0)
                    s_tot = sum(cls[r])
                    keep = 1.0 - min(refill / s_tot, 1.0) if s_tot > 0 else 0.0
                    for n in range(n_cls):
                        cls[r][n] = max(cls[r][n] * keep, 0.0)
                stockpile[r] += refill
                stock[3][r] = sum(cls[r])
            ratio_x = min(max(need_x / max(have_x, 1e-9), 0.2), 10.0)
            ratio_c = min(max(need_c / max(have_c, 1e-9), 0.2), 10.0)
            px = px**lam * (ratio_x ** (1.0 / se)) ** (1.0 - lam)
            pc = pc**lam * (ratio_c ** (1.0 / se)) ** (1.0 - lam)
            premium = min(max(px - 1.0, 0.0), 1.0)
            for r in range(r_n):
                total = 0.0
                for j, (cap_j, lag_j) in enumerate(routes):  # substitution by route (engine/prices.py)
                    aim = cap_j * premium if r != c else 0.0
                    by_route[r][j] = min(max(by_route[r][j] + (aim - by_route[r][j]) / lag_j, 0.0), cap_j)
                    total += by_route[r][j]
                subst[r] = total
                short = demand[r] - use[r]
                peak[r] = max(peak[r], short / demand[r] if demand[r] > 0 else 0.0)
                cum[r] += short
                below[r] += use[r] < 0.9 * demand[r]
                peak_price[r] = max(peak_price[r], pc if r == c else px)
                if r != c:
                    short_x += short
                    demand_x += demand[r]
            series["shortfall_pct_ex_china"][t, p] = short_x / max(demand_x, 1e-9) * 100.0
            series["price_ratio_ex_china"][t, p] = px
        out["peak_shortfall_pct"][p] = [100.0 * v for v in peak]
        out["cumulative_shortfall_t"][p], out["months_below_90pct"][p] = cum, below
        out["peak_price_ratio"][p] = peak_price
    bands = {}
    for name, s in series.items():
        pct = np.percentile(s, [5, 50, 95], axis=1)
        for i, tag in enumerate(("p5", "p50", "p95")):
            bands[f"{name}_{tag}"] = pct[i]
    return {"metrics": out, "bands": bands}


def check_against_engine(net: Network, params: EngineParams, policy: PolicyPath, n_months: int) -> float:
    """Assert that the loop and the vectorised engine agree; returns the largest relative gap."""
    loop = run_loop(net, params, policy, n_months)
    res = run_engine(EngineInputs(network=net, params=params, policy=policy, n_months=n_months))
    metrics, bands = res.metrics, res.bands()
    worst = 0.0
    for name in METRICS:
        a, b = getattr(metrics, name), loop["metrics"][name]
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-6, err_msg=name)
        worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0))))
    for name, b in loop["bands"].items():
        np.testing.assert_allclose(bands[name], b, rtol=1e-8, atol=1e-8, err_msg=name)
    return worst


def inputs(scenario: str, paths: int, seed: int) -> tuple[Network, EngineParams, PolicyPath, int]:
    """The primary chain's engine inputs of ``simulate(scenario, paths=paths, seed=seed)``, from
    the run-assembly layer (one block of at most ``BLOCK_PATHS`` paths; the loop leaves out the
    Dy + Tb feed and the sector split)."""
    from critmin.simulate.assemble import BLOCK_PATHS, RunInputs

    if paths > BLOCK_PATHS:
        raise SystemExit(f"the loop takes at most {BLOCK_PATHS} paths (one block)")
    run_inputs = RunInputs.build(scenario, seed=seed, paths=paths)
    ei = run_inputs.engine_inputs(run_inputs.blocks()[0])[0]
    # The loop does not implement the licence review dead time, the regime Markov chain,
    # destination-specific approval rates or general licences (issue 12, engine/licences.py and
    # engine/regimes.py, checked by their own toy tests): the comparison runs both with them off
    # (a one-month dead time, the engine's rule before issue 12).
    off = dict.fromkeys(("licence_dead_time_months", *(f"regime_p_{x}" for x in REGIME_RATES)))
    params = dataclasses.replace(ei.params, **off)
    policy = dataclasses.replace(ei.policy, regime=None, dest_approval=[], general=[])
    return ei.network, params, policy, ei.n_months


#: the regime chain's transition rates (EngineParams.regime_p_<x>)
REGIME_RATES = ("suspend", "tighten", "reimpose", "ease")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=3)
    ap.add_argument("--scenario", default="controls-reimposed-2026-11")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    net, params, policy, n_months = inputs(a.scenario, a.paths, a.seed)
    t0 = time.perf_counter()
    run_loop(net, params, policy, n_months)
    dt = time.perf_counter() - t0
    per = dt / (a.paths * n_months) * 1e3
    print(f"loop: {a.paths} paths x {n_months} months in {dt:.2f} s ({per:.3f} ms per path-month)")
    worst = check_against_engine(net, params, policy, n_months)
    print(f"same metrics and bands as the vectorised engine (largest relative gap {worst:.1e})")
    assert math.isfinite(worst)


if __name__ == "__main__":
    main()
