"""The monthly disruption engine, vectorised across Monte Carlo paths (NumPy).

The chain has K >= 1 stages (network ``stages``; four in the rare-earth chain: mining,
separation, metal/alloy, magnet; one or two in the single chains of
:mod:`critmin.simulate.chains.single`); users consume the last stage's product. State per path p and
region r (arrays [P, R]): ``stock[k]`` (stage-k product held in region r, t; the last one,
``stock[K-1]``, is users' inventory), licence ``backlog[k]`` per controllable flow ([P, E_k],
t), the strategic ``stockpile``, prices ``price_x`` (ex-China) and ``price_c`` (China), and
``subst`` (share of demand substituted).

Each month t (equations, units and sources in docs/model.md):

1. Demand  D = D0 (1+g)^(t/12) (p/p0)^(-eps) (1 - subst);  orders O = D + (cover*D - inv)^+/tau
   outside China and O = (D + (cover*D - inv)/tau)^+ in China (see "Restocking" below); the
   world demand index is u = sum O / sum D0.
2. Capacity cap_k = share_k V_k (1 + headroom) (1 + g_cap)^(t/12) + sum of started projects x ramp.
3. Production, upstream first: mining runs at baseline x demand index u (plus the pull of
   unmet needs outside China); stage k >= 1 produces y_k = min(cap_k, want_k, stock_{k-1}
   conv_k) and consumes y_k / conv_k of its input. A stage with a :class:`Feed` (the magnet
   stage and its Dy + Tb, :mod:`critmin.simulate.chains.heavy`) first steps the feed chain one month
   with demand h q y_k and then makes y_k (1 - h (1 - a)), a the share of that need met.
4. Shipping X_k[i, j] = y_k[i] ship_k[i, j]. Controls on exports from China (and, under the
   extraterritorial rule, on the Chinese-origin part of other exporters' shipments) move the
   controlled part to a licence backlog (licence regime) or keep it at home (ban).
   Backlog is processed at rate 1/lag; a share ``a`` of what is processed is approved and
   delivered, the rest is refused and returns to the exporter's stock.
5. Users are firm classes (:mod:`critmin.simulate.engine.inventory`): each consumes
   min(its demand, its stock + its part of the stockpile release, by the stockpiles' rules);
   shortfall = the classes' unmet demand.
6. Prices p = p_{t-1}^lambda [p0 (O/S)^(1/e)]^(1-lambda) per market; substitution follows the
   ex-China premium with a lag, capped.

Implementation. Controls touch few flows (China's row and, under the extraterritorial rule,
the rows of regions processing Chinese-origin material), so shipping is split:
uncontrolled flows are one [P, R] x [R, R] product with the baseline shipping matrix (control
edges zeroed), controlled flows are [P, E] arrays on the E edges
(:class:`~critmin.simulate.inputs.policy.StageControls`, precompiled once per regime set). No
[P, R, R] array is built in the monthly loop; state is O(P x R) and the returned per-path
series O(T x P). Within one call, paths are stepped in blocks of ``block_paths`` (all blocks
advance month by month together): a block's [P, R] temporaries (~100 kB) stay in cache and
below glibc's mmap threshold, and the small matrix products stay below OpenBLAS's threading
threshold. At 10,000 paths in one block, page faults and thread hand-offs made the same
arithmetic ~3x slower. A run (:mod:`critmin.simulate.run`) calls the engine once per block of
:data:`~critmin.simulate.assemble.BLOCK_PATHS` paths, each through the whole horizon.

Mass balance. ``check_balance=True`` recomputes every node's accounts from dense [P, R, R]
flows (:mod:`critmin.simulate.engine.balance`, independently of the fast update), records the largest
absolute residual per month in ``Trace.balance_residual`` (t) and raises
:class:`MassBalanceError` when a residual exceeds ``BALANCE_RTOL`` of the node's throughput or
any stock, backlog or stockpile is negative. Stocks are non-negative by construction: inputs
are drawn as min(wanted input, stock), so stock - input >= 0 exactly.

Restocking and the stricter-control property. Users rebuild inventory towards ``cover x D``
over ``tau`` months, and the orders this adds raise the world demand index ``u``. China's
orders take the stock adjustment both ways, O = (D + (cover*D - inv)/tau)^+ (the
stock-management rule, Sterman 2000, ch. 17), so Chinese producers cut output while refused
or banned magnets pile up at home; elsewhere the rule is one-sided. Why, and the three known
limits (a)-(c) of "a stricter control never raises ex-China supply", are in docs/model.md
section 5.10 (``tests/property/test_engine_properties.py`` checks the property).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace

import numpy as np
import numpy.typing as npt

from critmin.errors import DataError
from critmin.simulate.engine import inventory
from critmin.simulate.engine.balance import BALANCE_RTOL, Balance, MassBalanceError
from critmin.simulate.engine.capacity import capacity_response, tracked_growth
from critmin.simulate.engine.licences import LicenceBook, ban_cancel
from critmin.simulate.engine.model import EngineModel
from critmin.simulate.engine.prices import SubstitutionRoutes, route_terms, usd_per_kg
from critmin.simulate.engine.regimes import RegimeChain
from critmin.simulate.engine.sectors import SectorAccumulator
from critmin.simulate.engine.trade import (
    export_pull,
    serve_offtakes,
    surplus_trade,
)
from critmin.simulate.engine.types import (
    SERIES,
    EngineInputs,
    EngineParams,
    EngineResult,
    Feed,
    PathMetrics,
    Trace,
    check_feed,
    check_inputs,
)

F = npt.NDArray[np.float64]
__all__ = ["BALANCE_RTOL", "BLOCK_PATHS", "MassBalanceError", "run_engine"]

#: Paths stepped together; ~1k keeps each [P, R] temporary (~100 kB) in cache and off mmap.
BLOCK_PATHS = 1024


class _Block:
    """State of a block of paths and one month's step (the equations of the module docstring)."""

    def __init__(
        self,
        m: EngineModel,
        params: EngineParams,
        rows: slice,
        check: bool,
        feed: tuple[_Block, Feed] | None = None,
    ) -> None:
        p = replace(
            params,
            **{
                f.name: getattr(params, f.name)[rows]
                for f in fields(params)
                if getattr(params, f.name) is not None
            },
        )
        n = p.demand_growth_per_year.shape[0]
        self.m, self.p, self.rows, self.n = m, p, rows, n
        # Users start with their target inventory; intermediate stages with one month of input.
        self.stock = [np.tile(m.base[k + 1] / m.conv[k + 1], (n, 1)) for k in range(m.k_n - 1)]
        # ... users with their target inventory, held by firm classes (inventory.py)
        self.inv = self._classes(p.inventory_class_share, p.inventory_class_cover)
        self.stock.append(self.inv.total())
        self.backlog = [np.zeros((n, ctl.n_edges)) for ctl in m.ctls]
        # Pending licences per edge: dead-time queue and review pool (engine/licences.py).
        dead = p.licence_dead_time_months if p.licence_dead_time_months is not None else np.ones(n)
        self.books = [LicenceBook(n, ctl.n_edges, dead, p.licence_lag_months) for ctl in m.ctls]
        self.ban_prev: list[F] = [np.zeros(ctl.n_edges) for ctl in m.ctls]
        rates = (p.regime_p_suspend, p.regime_p_tighten, p.regime_p_reimpose, p.regime_p_ease)
        draws = m.policy.regime if m.policy is not None else None
        self.regime = None  # the regime Markov chain (engine/regimes.py), when drawn and rated
        if draws is not None and all(r is not None for r in rates):
            self.regime = RegimeChain(draws, rows, m.ctls, rates)  # type: ignore[arg-type]
        self.licence = [[lic[rows] for lic in ctl.licence] for ctl in m.ctls]
        self.has_ban = [[bool(b.any()) for b in ctl.ban] for ctl in m.ctls]
        self.stockpile = p.stockpile0_t.astype(np.float64, copy=True)
        has = np.asarray((self.stockpile > 0).any(axis=0))
        if m.sp_added is not None:
            has = has | m.sp_added
        self.sps = inventory.Stockpiles(m.sp_rules, m.r_n, p.stockpile_release_per_month, has)
        self.price_x = np.ones(n)
        self.price_c = np.ones(n)
        self.subst = np.zeros((n, m.r_n))
        self.peak = np.zeros((n, m.r_n))
        self.cum = np.zeros((n, m.r_n))
        self.below = np.zeros((n, m.r_n))
        self.peak_price = np.ones((n, m.r_n))
        self.at_risk = np.zeros((n, m.r_n))
        self.bal = Balance(n, m.r_n) if check else None
        self.sect: SectorAccumulator | None = None
        if m.sectors is not None:
            shares, tiers = m.sectors
            usd = np.repeat(1000.0 * p.output_usd_per_kg[:, None], shares.shape[1], axis=1)  # [P, S]
            if m.sector_usd_per_kg is not None:  # each sector's own value; the region's is their sum
                usd = np.tile(1000.0 * m.sector_usd_per_kg, (n, 1))
            self.sect = SectorAccumulator(shares, tiers, n, usd)
        self.resid = np.nan  # this month's largest balance residual (t), when checked
        # The feed chain's block (same paths) and the coupling of section 3.8 of docs/model.md.
        self.feed = feed[0] if feed is not None else None
        self.feed_stage = feed[1].stage if feed is not None else -1
        self.feed_h = feed[1].grade_share if feed is not None else 0.0
        self.feed_q = np.asarray(feed[1].intensity if feed is not None else 0.0)  # q, or q_r [R]
        self.feed_path = feed[1].grade_path if feed is not None else None
        #: a feed chain's block: its users are the host's makers, demand comes from their output
        self.is_feed = False
        if self.feed is not None:
            self.feed.is_feed = True
            self.feed.inv = self.feed._classes(None, None)  # a feed's makers are one class
        self.met = np.ones((n, m.r_n))  # share of a demand-driven block's need met this month
        # what users outside China received from China last month (a feed's pull expects it)
        self.china_in = np.tile(m.base[-1][m.c] * m.ship[-1][m.c] * m.exf, (n, 1))
        self.series: tuple[F, F] = (np.zeros(n), np.ones(n))  # last month's ex-China shortfall %, price
        # Loop invariants, hoisted.
        self.cover = p.cover_months[:, None]
        self.restock = p.restock_months[:, None]
        self.neg_eps = -p.price_elasticity
        assert m.policy is not None
        self.policy = m.policy
        # purchases on the market (users' stage) and stockpiles of intermediate products
        self.sp_pending = np.zeros((n, m.r_n))
        self.piles = inventory.StagePiles(m.policy.stage_piles, n, m.r_n, p.stockpile_release_per_month)
        self.inv_se = 1.0 / p.supply_elasticity
        caps, lags = route_terms(
            p.substitution_cap,
            p.substitution_lag_months,
            p.substitution_cap_ferrite,
            p.substitution_cap_ce_grades,
            p.substitution_cap_redesign,
            p.substitution_fast_lag_months,
        )
        self.routes = SubstitutionRoutes(caps, lags, m.r_n)
        self.recycle = p.recycling_share[:, None] * m.exf[None, :]
        allied = p.allied_trade_share if p.allied_trade_share is not None else np.zeros(n)
        self.allied = np.clip(allied, 0.0, 1.0)[:, None]
        users = p.users_trade_share if p.users_trade_share is not None else np.zeros(n)
        # a feed's users are makers: the intermediate-trade share applies (section 3.8)
        self.users_trade = np.clip(users, 0.0, 1.0)[:, None]
        self.leak = (p.leakage_share if p.leakage_share is not None else np.zeros(n))[:, None]
        self.usd_per_t = 1000.0 * p.output_usd_per_kg[:, None]
        self.headroom1 = 1.0 + p.capacity_headroom
        self.cap_growth1 = 1.0 + tracked_growth(
            p.demand_growth_per_year, p.capacity_growth_per_year, p.capacity_demand_tracking
        )
        self.cap_resp = None if m.cap_weights is None else capacity_response(m.cap_weights, m.stages, p)
        self.usd_per_kg = p.price_usd_per_kg
        self.growth1 = 1.0 + p.demand_growth_per_year
        self.ramp = p.ramp_months[:, None]
        self.project_start = p.project_start_month[:, m.proj_order]

    def _classes(self, share: F | None, cover: F | None) -> inventory.ClassStock:
        ones = np.ones((self.n, 1))
        w, rel = inventory.class_profile(
            ones if share is None else share, ones if cover is None else cover, self.n
        )
        return inventory.ClassStock(w, rel, self.p.cover_months, self.m.demand0)

    def step(
        self,
        t: int,
        approval: F,
        sp_add: F,
        trace: Trace | None,
        feed_in: tuple[F, F] | None = None,
        demand_base: F | None = None,
    ) -> tuple[F, F]:
        """Advance one month; returns the ex-China shortfall (%) and price ratio per path.

        ``feed_in`` = (approval [P], stockpile additions [R]) of the feed chain this month.
        ``demand_base`` ([P, R], t) makes the block demand-driven (a feed chain): demand is
        ``demand_base`` x price response x (1 - substitution) instead of the growth path, and
        ``self.met`` is left holding use / demand.
        """
        m, p, stock, ex, exf = self.m, self.p, self.stock, self.m.ex, self.m.exf
        last = m.k_n - 1  # users hold the last stage's product
        years = t / 12.0
        bal = self.bal
        if bal is not None:
            bal.open(stock, self.backlog, self.stockpile)
        if self.piles:
            self.piles.open(t)
        if self.regime is not None:
            self.regime.advance(t, m.ctls, self.licence, self.policy.halted(t))
        # 1. demand and orders
        p_reg = np.where(
            ex[None, :], (self.price_x**self.neg_eps)[:, None], (self.price_c**self.neg_eps)[:, None]
        )
        if not self.is_feed:
            demand = m.demand0[None, :] * (self.growth1**years)[:, None] * p_reg * (1.0 - self.subst)
            if m.sector_growth is not None and m.sectors is not None:
                # Sectors grow at their own rates: the level and the mix of demand shift.
                mix = m.sectors[0] * m.sector_growth[t][None, :]
                level = mix.sum(axis=1)
                demand = demand * level[None, :]
                if self.sect is not None:
                    self.sect.set_shares(mix / level[:, None])
        else:
            assert demand_base is not None  # a feed block is stepped with its makers' need
            demand = demand_base * p_reg * (1.0 - self.subst)
        target_inv = self.cover * demand
        need = target_inv + demand
        stock_gap = target_inv - stock[last]
        orders = demand + np.maximum(stock_gap, 0.0) / self.restock
        # a surplus in China's market cuts its orders (module docstring)
        orders[:, m.c] = np.maximum(demand[:, m.c] + stock_gap[:, m.c] / self.restock[:, 0], 0.0)
        u = (orders.sum(axis=1) / m.demand0.sum())[:, None]  # world demand index
        self.inv.set_orders(demand, self.restock)  # firm classes' orders split receipts
        # 2. capacity
        add_flat = np.zeros((self.n, m.k_n * m.r_n))
        if m.proj_cols.size:
            started = np.clip((t - self.project_start) / self.ramp, 0.0, 1.0) * m.proj_cap
            add_flat[:, m.proj_cols] = np.add.reduceat(started, m.proj_first, axis=1)
        add = add_flat.reshape(self.n, m.k_n, m.r_n)
        if self.cap_resp is not None:  # price-driven new capacity (engine/capacity.py)
            add = add + self.cap_resp.step(t, self.price_x, self.price_c)
        cap_f = (self.headroom1 * self.cap_growth1**years)[:, None]
        # Pull: producers outside China also produce for unmet local needs (new capacity gets
        # used); computed downstream-first as the input each stage wants from the one above.
        caps = [m.base[k] * cap_f + add[:, k, :] for k in range(m.k_n)]
        extra = [demand] * m.k_n
        extra[last] = np.maximum(target_inv - stock[last], 0.0) * exf  # pull when stocks fall below target
        if self.is_feed:
            # A feed's producers outside China serve the pooled ex-China gap to this month's
            # need (use + target inventory), in proportion to their capacity (allied trade then
            # moves it to the makers short of it); section 3.8.
            w = caps[last] * exf
            w_tot = w.sum(axis=1, keepdims=True)
            # Expected receipts: from China as last month, and the region's own baseline output.
            expected = stock[last] + self.china_in + m.base[last] * u
            gap = (np.maximum(need - expected, 0.0) * exf).sum(axis=1, keepdims=True)
            extra[last] = w * np.divide(gap, w_tot, out=np.zeros_like(gap), where=w_tot > 0)
        elif self.users_trade.any():
            # makers outside China with capacity to spare also make for other ex-China
            # regions' gaps, sold on by the users' surplus trade (trade.export_pull, 5.5b)
            spare = caps[last] - m.base[last] * u
            extra[last] = extra[last] + export_pull(extra[last], spare, exf, self.users_trade)
        for k in range(m.k_n - 1, 0, -1):
            extra[k - 1] = np.maximum(extra[k] / m.conv[k] - stock[k - 1], 0.0) * exf
        inp = demand[:, :0]
        wants = [np.minimum(caps[k], m.base[k] * u + extra[k]) for k in range(m.k_n)]
        if m.floor_cover is not None and m.floor_cover[t].any():
            # A price floor keeps the covered producers at full capacity (section 5.8b).
            for kf in np.flatnonzero(m.floor_cover[t].any(axis=1)):
                wants[kf] = np.where(m.floor_cover[t, kf][None, :], caps[kf], wants[kf])
        for k, ctl in enumerate(m.ctls):
            want = wants[k]
            if k and self.piles:  # a stockpile of the input tops up what this stage lacks
                self.piles.release(k - 1, stock[k - 1], want / m.conv[k], self.price_x)
            if self.feed is not None and k == self.feed_stage:
                # Makers can turn out F from their input; the feed chain serves their need for
                # it (h q F) this month; the Dy-free grades are made in full, the rest pro rata.
                feasible = want if k == 0 else np.minimum(want, stock[k - 1] * m.conv[k])
                assert feed_in is not None
                h = self.feed_h if self.feed_path is None else self.feed_h * float(self.feed_path[t])
                self.feed.step(t, feed_in[0], feed_in[1], None, demand_base=feasible * (h * self.feed_q))
                want = feasible * (1.0 - h * (1.0 - self.feed.met))
            # 3. production: input drawn as min(wanted, stock), so stocks stay >= 0 exactly
            if k == 0:
                prod = want
            else:
                inp = np.minimum(want / m.conv[k], stock[k - 1])
                prod = inp * m.conv[k]
                stock[k - 1] -= inp
            # 4. shipping: offtakes first (section 5.5c), then uncontrolled flows in one
            # product and controlled edges apart
            flows: dict[str, F] = {}
            to_ship = prod
            if m.offtakes[k]:
                to_ship, off_out, off_in = serve_offtakes(prod, m.offtakes[k], t)
                flows["off_out"], flows["off_in"] = off_out, off_in
            receipts = to_ship @ m.free[k]
            if "off_in" in flows:
                receipts += flows["off_in"]
            if ctl.n_edges:
                key = ctl.key[t]
                x = to_ship[:, ctl.src] * ctl.weight
                ban_e, lic_e = ctl.ban[key], self.licence[k][key]
                regime_on = self.regime is not None and self.regime.on(t)
                if regime_on:  # the regime chain decides (engine/regimes.py)
                    assert self.regime is not None
                    ban_e, lic_e = self.regime.edges(k, ban_e, lic_e)
                home = x * ban_e if regime_on or self.has_ban[k][key] else np.zeros_like(x)
                apply_ = (x - home) * lic_e
                gen = self.policy.general_share(t, k, ctl.dst, self.rows)
                if gen is not None:  # general licences: shipped without review
                    apply_ = apply_ * (1.0 - gen)
                delivered = x - home - apply_
                # a ban coming into force sends what is pending on its edges back (licences.py)
                cancel = ban_cancel(self.ban_prev[k], ban_e)
                self.ban_prev[k] = ban_e
                appr_e = self.policy.edge_approval(t, approval, ctl.dst, self.rows)
                if regime_on and self.regime is not None:
                    appr_e = self.regime.approval(k, appr_e, approval)
                approved, refused, cancelled = self.books[k].month(apply_, appr_e, cancel)
                # a refusal can be rerouted; a cancelled application returns to the exporter
                # (shipping it to a third country would need a licence of its own)
                reroutable = refused
                refused = refused + cancelled  # both go back to the exporter
                self.backlog[k] = self.books[k].pending()
                receipts += (delivered + approved) @ m.to_dst[k]
                receipts += (home + refused) @ m.to_src[k]
                flows |= {"home": home, "apply": apply_, "delivered": delivered}
                flows |= {"approved": approved, "refused": refused}
                flows["reroutable"] = reroutable
            moved_dest = None
            if ctl.n_edges and m.routes:
                # Rerouting: part of what a ban kept home or a refusal returned reaches its
                # destination via a third country this month (reroute.py, section 5.5d).
                moved = m.routes[k].moved(flows["home"], flows["reroutable"], self.leak, t, ctl.key[t])
                receipts += moved @ m.routes[k].shift
                flows["rerouted"] = moved
                moved_dest = moved @ m.to_dst[k]
            if k == last and (trace is not None or self.is_feed):
                # What leaves China for each destination (delivered + approved; CHN: kept home).
                from_c = prod[:, m.c, None] * m.free[last][m.c]
                if ctl.n_edges:
                    e = ctl.src == m.c
                    from_c = from_c + (flows["delivered"][:, e] + flows["approved"][:, e]) @ m.to_dst[last][e]
                if trace is not None:  # by customs partner: routed flows at their hub
                    moved_c = moved_dest if moved_dest is not None else np.zeros_like(from_c)
                    trace.exports_chn[t, self.rows] = (
                        m.routes[k].customs(from_c, moved_c) if m.routes else from_c
                    )
                if self.is_feed:
                    self.china_in = from_c * exf
            stock[k] += receipts
            assert m.pref is not None
            assert m.movable is not None
            if k < m.k_n - 1 and self.allied.any():
                # Trade outside China: intermediate product held beyond what the local next
                # stage wants is sold to ex-China regions short of input, by preference
                # (trade.surplus_trade, section 5.5b).
                delta = surplus_trade(
                    stock[k], wants[k + 1] / m.conv[k + 1], exf, self.allied, m.pref, m.movable[t, k]
                )
                stock[k] += delta
                flows["allied_net"] = delta
            elif k == last:
                # Users' stage: magnets held beyond a region's need (demand + target inventory)
                # are sold to ex-China regions short of them; a feed's users are makers and
                # trade at the intermediate share (section 3.8). The ONE change of users'
                # stock by trade (an inventory model receives ``users_delta`` here).
                share_last = self.allied if self.is_feed else self.users_trade
                if share_last.any():
                    users_delta = surplus_trade(stock[k], need, exf, share_last, m.pref, m.movable[t, k])
                    stock[last] += users_delta
                    flows["allied_net"] = users_delta
            if bal is not None:
                bal.stage(prod, inp, m.ship[k], ctl, flows)
        for k in range(last) if self.piles else ():
            self.piles.buy(k, stock[k], ex)  # purchases from what the stage holds after its use
        self.stockpile = self.stockpile + sp_add[None, :]
        self.sps.note_size(self.stockpile)
        # recycling adds magnets outside China
        recycled = self.recycle * demand
        stock[last] += recycled
        # market balance before consumption: wanted (demand + target inventory) / on hand
        want_x = need[:, ex].sum(axis=1)
        have_x = stock[last][:, ex].sum(axis=1)
        want_c = need[:, m.c]
        have_c = stock[last][:, m.c]
        # 5. consumption by firm class, stockpile release by its rules, shortfall (inventory.py);
        # the classes absorb every change of stock[last] since last month, split by orders
        self.inv.sync(stock[last])
        gap = self.inv.gaps(demand)
        sp_out, release, trig = self.sps.release(self.stockpile, gap, demand, self.price_x)
        use, short = self.inv.consume(demand, release)
        refill = self.sps.replenish(self.stockpile - sp_out, self.inv.total() - target_inv, trig)
        users_out, pile_in = refill, refill
        buy = self.policy.stockpile_buy
        if buy is not None:  # market purchases from ex-China users' stock after their use
            self.sp_pending += buy[t][None, :]
            taken, bought = inventory.market_take(self.sp_pending, self.inv.total() - refill, ex, trig)
            self.sp_pending -= bought
            users_out, pile_in = refill + taken, refill + bought
        if users_out.any():
            self.inv.receive(-users_out)
        self.stockpile = self.stockpile - sp_out + pile_in
        if self.sect is not None:  # split among end-use sectors by priority (sectors.allocate)
            self.sect.update(demand, use, check=False)  # 0 <= use <= demand
        stock[last] = self.inv.total()
        if self.is_feed:
            self.met = np.divide(use, demand, out=np.ones_like(use), where=demand > 0)
        # 6. prices and substitution
        lam = p.price_smoothing
        ratio_x = np.clip(want_x / np.maximum(have_x, 1e-9), 0.2, 10.0)
        ratio_c = np.clip(want_c / np.maximum(have_c, 1e-9), 0.2, 10.0)
        self.price_x = price_x = self.price_x**lam * (ratio_x**self.inv_se) ** (1.0 - lam)
        self.price_c = price_c = self.price_c**lam * (ratio_c**self.inv_se) ** (1.0 - lam)
        self.subst = self.routes.step(price_x, exf)  # substitution by route (engine/prices.py)
        # 7. streamed metrics
        pct = np.divide(short, demand, out=np.zeros_like(short), where=demand > 0)
        np.maximum(self.peak, pct, out=self.peak)
        self.cum += short
        self.below += use < 0.9 * demand
        np.maximum(
            self.peak_price, np.where(ex[None, :], price_x[:, None], price_c[:, None]), out=self.peak_price
        )
        if self.sect is None or m.sector_usd_per_kg is None:
            self.at_risk += short * self.usd_per_t
        elif self.sect.at_risk is not None:
            np.sum(self.sect.at_risk, axis=0, out=self.at_risk)  # sum over sectors (section 5.7b)
        short_x = short[:, ex].sum(axis=1)
        ex_short = short_x / np.maximum(demand[:, ex].sum(axis=1), 1e-9) * 100.0
        if bal is not None:
            users = (recycled, release - users_out, use, demand, short)
            sp_flows, piled = (sp_add[None, :], sp_out - pile_in), self.piles.net() if self.piles else None
            self.resid = bal.close(t, stock, self.backlog, m.ctls, self.stockpile, sp_flows, users, piled)
            if self.piles:
                self.resid = max(self.resid, self.piles.check())
            self.resid = max(self.resid, inventory.check(self.inv, stock[last], sp_out, release))
            if self.feed is not None:
                self.resid = max(self.resid, self.feed.resid)
        if trace is not None:
            s = self.rows
            trace.demand[t, s], trace.consumption[t, s], trace.shortfall[t, s] = demand, use, short
            trace.supply_ex_china[t, s] = use[:, ex].sum(axis=1)
            trace.price_x[t, s], trace.price_c[t, s] = price_x, price_c
            trace.inventory[t, s], trace.stockpile[t, s] = stock[last], self.stockpile
            if trace.stage_stockpile is not None and self.piles:
                trace.stage_stockpile[t, s] = self.piles.levels(m.k_n)
        self.series = (ex_short, price_x)
        return ex_short, price_x

    def negative(self) -> bool:
        """Whether any stock or backlog is negative (never, by construction)."""
        own = any((s < 0).any() for s in self.stock) or any((b < 0).any() for b in self.backlog)
        own = own or self.piles.negative() or bool((self.sp_pending < 0).any())
        return own or (self.feed is not None and self.feed.negative())


def run_engine(
    inputs: EngineInputs,
    *,
    keep_trace: bool = False,
    check_balance: bool = False,
    block_paths: int = BLOCK_PATHS,
    on_month: Callable[[int], object] | None = None,
) -> EngineResult:
    """Simulate ``inputs.n_months`` for all paths (see the module docstring).

    Returns the streamed per-path metrics, the per-path monthly ex-China series (shortfall %
    and price ratio; the feed's with the prefix ``feed_``) and, with ``keep_trace``, the full
    monthly series. ``check_balance`` runs the per-node accounting of the module docstring
    (slower: dense flows) and raises :class:`MassBalanceError` on a violation. Paths are stepped
    in blocks of ``block_paths`` (all blocks advance month by month together); results do not
    depend on the block size beyond rounding. Optional parts (:class:`EngineInputs`):
    ``sectors`` streams per-sector metrics (``PathMetrics.by_sector``): each month a region's
    consumption is split among sectors by :func:`critmin.simulate.engine.sectors.allocate`;
    ``floor`` turns on the price-floor cost, charged to each floor's payer; ``feed`` couples a
    feed chain to one stage, its metrics in ``PathMetrics.feed``. ``on_month(t)`` is called
    after each month (progress).
    """
    net, params, policy, n_months = inputs.network, inputs.params, inputs.policy, inputs.n_months
    feed, sectors = inputs.feed, inputs.sectors
    n_paths = check_inputs(net, params, policy, n_months)
    if feed is not None:
        check_feed(net, feed, n_paths, n_months)
    if block_paths < 1:
        raise DataError("block_paths must be at least 1", column="block_paths", fix="e.g. 1024")
    growth = sectors.growth if sectors is not None else None
    if (
        sectors is not None
        and growth is not None
        and (growth.shape != (n_months, sectors.shares.shape[1]) or not (growth > 0).all())
    ):
        raise DataError(
            f"sector growth of shape {growth.shape}, expected positive "
            f"[{n_months}, {sectors.shares.shape[1]}]",
            column="sector_growth",
            fix="use critmin.simulate.engine.sectors.growth_factors",
        )
    model = replace(
        EngineModel.build(net, params, policy),
        sectors=(sectors.shares, sectors.priority) if sectors is not None else None,
        sector_growth=growth,
        sector_usd_per_kg=sectors.usd_per_kg if sectors is not None else None,
    )
    feed_model = EngineModel.build(feed.net, feed.params, feed.policy) if feed else None

    def block(rows: slice) -> _Block:
        fed = None
        if feed is not None and feed_model is not None:
            fed = (_Block(feed_model, feed.params, rows, check_balance), feed)
        return _Block(model, params, rows, check_balance, fed)

    blocks = [block(slice(lo, min(lo + block_paths, n_paths))) for lo in range(0, n_paths, block_paths)]
    names: tuple[str, ...] = SERIES + (tuple(f"feed_{s}" for s in SERIES) if feed is not None else ())
    series = {name: np.zeros((n_months, n_paths)) for name in names}
    piles_k = model.k_n if policy.stage_piles else None
    trace = Trace.empty(n_months, n_paths, model.r_n, piles_k) if keep_trace else None
    floors = policy.floors if inputs.floor is not None else []
    floor_cost = {f.id: np.zeros(n_paths) for f in floors}
    for t in range(n_months):
        approval = policy.approval(t, params)
        sp_add = policy.stockpile_add(t)
        if feed is not None:
            f_appr, f_sp = feed.policy.approval(t, feed.params), feed.policy.stockpile_add(t)
            out = [b.step(t, approval[b.rows], sp_add, trace, (f_appr[b.rows], f_sp)) for b in blocks]
        else:
            out = [b.step(t, approval[b.rows], sp_add, trace) for b in blocks]
        for i, name in enumerate(SERIES):
            series[name][t] = np.concatenate([o[i] for o in out])
        if feed is not None:
            for i, name in enumerate(SERIES):
                series[f"feed_{name}"][t] = np.concatenate([b.feed.series[i] for b in blocks if b.feed])
        if floors and inputs.floor is not None:
            p0, covered = inputs.floor.baseline_usd_per_kg, inputs.floor.covered_kg_per_month
            for fl in floors:
                if fl.active[t]:
                    kg = covered if fl.covered_kg_per_month is None else fl.covered_kg_per_month
                    floor_cost[fl.id] += np.maximum(fl.usd_per_kg - p0 * series[SERIES[1]][t], 0.0) * kg
        if trace is not None:
            resid = max(b.resid for b in blocks) if check_balance else np.nan
            trace.balance_residual[t] = np.inf if any(b.negative() for b in blocks) else resid
        if on_month is not None:
            on_month(t)

    by_payer = None
    if inputs.floor is not None:
        by_payer = np.zeros((n_paths, model.r_n))
        for fl in floors:
            by_payer[:, fl.payer] += floor_cost[fl.id]
    metrics = replace(
        _joined_metrics(blocks),
        price_floor_cost_usd=by_payer,
        price_floor_cost_by_floor=floor_cost if inputs.floor is not None else None,
        by_sector=SectorAccumulator.join([b.sect for b in blocks if b.sect is not None]) if sectors else None,
        feed=_joined_metrics([b.feed for b in blocks if b.feed is not None]) if feed is not None else None,
    )
    return EngineResult(metrics=metrics, series=series, trace=trace)


def _joined_metrics(blocks: list[_Block]) -> PathMetrics:
    """The streamed per-path metrics of ``blocks``, in path order."""

    def joined(attr: str) -> F:
        return np.concatenate([getattr(b, attr) for b in blocks])

    usd = None
    if all(b.usd_per_kg is not None for b in blocks):
        usd = usd_per_kg(joined("peak_price"), np.concatenate([np.asarray(b.usd_per_kg) for b in blocks]))
    return PathMetrics(
        peak_shortfall_pct=joined("peak") * 100.0,
        cumulative_shortfall_t=joined("cum"),
        months_below_90pct=joined("below"),
        peak_price_ratio=joined("peak_price"),
        output_at_risk_usd=joined("at_risk"),
        peak_price_usd_per_kg=usd,
    )
