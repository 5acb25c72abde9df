"""Users' inventory as a distribution across firm classes, and public stockpiles with rules.

**Firm classes** (docs/model.md sections 4 and 5.7). A region's users are N classes of firms
(arrays [N, P, R], N small): class n takes a share ``w[n]`` of the region's demand and holds
``cover[n]`` months of its own demand as target inventory. ``cover`` is the path's
``inventory.cover_months`` (the demand-weighted mean cover) times the class profile's relative
cover, so the region aggregate starts where the pooled model started and its target is the same:

    s_n(0)  = cover_n w_n D0          sum_n s_n(0) = cover D0
    O_n     = w_n D + (cover_n w_n D - s_n)^+ / (tau rel_n)   (class orders; rel_n = cover_n / cover)
    receipts are split among classes in proportion to O_n; a loss in proportion to s_n
    use_n   = min(w_n D, s_n + release_n),  short_n = w_n D - use_n

so a cut that leaves the *average* cover ample still stops the thin classes' lines. The
region aggregate is always the sum of the classes (prices, orders and the rest of the engine
read it), so region-level accounting is unchanged: :func:`check` verifies sum and signs.

**Stockpiles** (section 5.6). A public stockpile belongs to a region and is released to its
own users (and to the allies its event names) when a trigger is met: unmet demand of the
regions it serves at or above a share of their demand, or the ex-China price ratio (last
month's) at or above a threshold; by default any unmet demand. A month's release is at most
``min(level, share x level, t_cap)`` and goes to the owner's short classes first, then to
the allies' pro rata to their gaps. With ``replenish`` > 0 the stockpile buys back from its
own users' stock above their target (a loose market) up to its size, when not triggered.

**Purchases and intermediate products** (issue 13). A stockpile event with ``fill_from:
market`` buys its amount instead of receiving it from outside: after the month's use, from
the holders of the product outside China (its own region's first, then the others' pro rata,
:func:`market_take`), at most what they hold, never in a month it releases, the rest carried
to the next month (:class:`StagePiles` for an intermediate product; ``step.py`` for the users').
A stockpile of an intermediate stage k's product (NdPr oxide at ``separation``) is held apart
from the stage's stock and released, by the same rules, into the stock of the regions it
serves when their stage k + 1 lacks input: the gap is what stage k + 1 wants to draw this
month less what it holds, and a ``release_when_short`` share is taken of what it wants.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from critmin.errors import DataError
from critmin.simulate.engine.balance import BALANCE_RTOL, MassBalanceError
from critmin.simulate.inputs.policy import StagePile, StockpileRules

F = npt.NDArray[np.float64]
__all__ = ["ClassStock", "StagePiles", "Stockpiles", "check", "class_profile"]


#: Covers or means below this (months) count as zero: 1 / a subnormal cover overflows.
TINY = 1e-12


def class_profile(share: F, cover: F, n_paths: int) -> tuple[F, F]:
    """Per-path class weights [P, N] (summing to 1) and relative covers [P, N] (their
    demand-weighted mean 1) from the drawn class shares and covers (months)."""
    share = np.atleast_2d(np.asarray(share, dtype=np.float64))
    cover = np.atleast_2d(np.asarray(cover, dtype=np.float64))
    if share.shape != cover.shape or share.shape[0] != n_paths or share.shape[1] < 1:
        raise DataError(
            f"inventory class shares {share.shape} and covers {cover.shape} must both be [{n_paths}, N>=1]",
            column="inventory.class_share",
            fix="give one inventory.class_share.<c> and one inventory.class_cover.<c> row per class",
        )
    if (share < 0).any() or not (share.sum(axis=1) > 0).all() or (cover < 0).any():
        raise DataError(
            "inventory class shares must be non-negative with a positive sum, covers non-negative",
            column="inventory.class_share",
            fix="see inventory.class_share.* in parameters.yaml",
        )
    w = share / share.sum(axis=1, keepdims=True)
    mean = (w * cover).sum(axis=1, keepdims=True)
    rel = np.divide(cover, mean, out=np.ones_like(cover), where=mean > TINY)
    return w, rel


class ClassStock:
    """Users' stock per firm class, ``s`` [N, P, R] (class first: each class is one contiguous
    [P, R] array, so sums over classes are fast adds); the region aggregate is ``total()``."""

    def __init__(self, weights: F, rel_cover: F, cover: F, demand0: F) -> None:
        # weights, rel_cover [P, N]; cover [P] months; demand0 [R]
        self.w = np.ascontiguousarray(weights.T)[:, :, None]  # [N, P, 1]
        self.rel = np.ascontiguousarray(rel_cover.T)[:, :, None]  # [N, P, 1] cover / mean cover
        self.cover_n = self.rel * cover[None, :, None]  # [N, P, 1] months
        # 1 / rel_n (0 for a class holding nothing: it has no gap to close)
        self.inv_rel = np.divide(1.0, self.rel, out=np.zeros_like(self.rel), where=self.rel > TINY)
        self.s = demand0[None, None, :] * self.w * self.cover_n
        self.single = self.s.shape[0] == 1  # one class: the pooled model, no splitting needed
        self.orders = np.broadcast_to(self.w, self.s.shape).copy()  # split of receipts
        self._gap: F | None = None
        self._d_n = self.s

    @property
    def n_classes(self) -> int:
        """Number of classes N."""
        return int(self.s.shape[0])

    def total(self) -> F:
        """[P, R] the region aggregate (sum of classes)."""
        return self.s[0].copy() if self.single else self.s.sum(axis=0)

    def set_orders(self, demand: F, restock: F) -> F:
        """Class orders O_n [N, P, R] this month (demand [P, R], restock [P, 1] months); kept
        as the split of this month's receipts. Each class closes its *relative* gap over
        ``restock`` months: O_n = d_n + (cover_n d_n - s_n)^+ / (tau rel_n), so classes short by
        the same share of their target order in proportion to their demand."""
        if self.single:
            return self.orders
        d_n = demand[None] * self.w
        gap = np.maximum(self.cover_n * d_n - self.s, 0.0)
        gap *= self.inv_rel / restock[None]
        gap += d_n
        self.orders = gap
        return self.orders

    def receive(self, delta: F) -> None:
        """Split a change ``delta`` [P, R] of each region's users' stock among its classes.

        A gain goes to the classes in proportion to their orders (equally where no class
        orders), a loss in proportion to their stock (so no class goes negative; a loss larger
        than the stock is clipped at zero). Every change of ``stock[last]`` outside
        consumption (receipts, recycling, trade between regions) must come through here;
        :meth:`sync` absorbs whatever did not.
        """
        self._gap = None
        if self.single:
            self.s[0] = np.maximum(self.s[0] + delta, 0.0)
            return
        o_sum = self.orders.sum(axis=0)
        if (delta >= 0.0).all() and (o_sum > 0).all():
            self.s += (self.orders / o_sum[None]) * delta[None]  # shares <= 1 first: no overflow
            return
        gain = np.maximum(delta, 0.0)
        loss = np.maximum(-delta, 0.0)
        even = np.full_like(self.orders, 1.0 / self.n_classes)
        split = np.divide(self.orders, o_sum[None], out=even, where=o_sum[None] > 0)
        s_sum = self.s.sum(axis=0)
        frac = np.minimum(np.divide(loss, s_sum, out=np.zeros_like(loss), where=s_sum > 0), 1.0)
        self.s = np.maximum(self.s * (1.0 - frac)[None] + gain[None] * split, 0.0)

    def sync(self, aggregate: F) -> None:
        """Make the classes sum to ``aggregate`` [P, R] (the engine's ``stock[last]``),
        splitting the difference with :meth:`receive`."""
        self.receive(aggregate - self.total())

    def gaps(self, demand: F) -> F:
        """[P, R] what the classes lack to meet their demand from their own stock (summed);
        the per-class gaps are kept for :meth:`consume`."""
        self._d_n = demand[None] * self.w
        g = np.maximum(self._d_n - self.s, 0.0)
        self._gap = g
        return g[0].copy() if self.single else g.sum(axis=0)

    def consume(self, demand: F, release: F) -> tuple[F, F]:
        """Each class uses min(its demand, its stock + its part of ``release``); the release
        goes to the classes in proportion to their gaps. Returns (use, unmet) [P, R], unmet
        the sum of the classes' unmet demand (>= 0 exactly) and use = demand - unmet."""
        if self.single:
            avail = self.s[0] + release
            use = np.minimum(demand, avail)
            self.s[0] = avail - use
            self._gap = None
            return use, demand - use
        if self._gap is None:
            self.gaps(demand)
        gap, d_n = self._gap, self._d_n
        assert gap is not None
        self._gap = None
        if release.any():
            g_sum = gap.sum(axis=0)
            share = np.divide(release, g_sum, out=np.zeros_like(release), where=g_sum > 0)
            self.s += gap * share[None]
        use = np.minimum(d_n, self.s)
        self.s -= use
        short = np.minimum((d_n - use).sum(axis=0), demand)
        return demand - short, short


class Stockpiles:
    """Release and replenishment of public stockpiles by their rules (module docstring)."""

    def __init__(
        self, rules: StockpileRules | None, r_n: int, share_param: F, has_stock: npt.NDArray[np.bool_]
    ) -> None:
        self.rules = rules
        self.share_param = share_param  # [P] stockpile.release_per_month
        serve = np.eye(r_n, dtype=bool) if rules is None else rules.serve
        owners = has_stock | (rules is not None and rules.ever)
        self.owners = [int(o) for o in np.flatnonzero(owners)]
        self.serve = serve
        self.size: F | None = None  # [P, R] most the stockpile has held (replenishment target)

    def release(self, level: F, gap: F, demand: F, price_prev: F) -> tuple[F, F, npt.NDArray[np.bool_]]:
        """(outflow per owner [P, R], inflow per destination [P, R], triggered [P, R])."""
        p_n = level.shape[0]
        out = np.zeros_like(level)
        inflow = np.zeros_like(level)
        trig = np.zeros(level.shape, dtype=bool)
        left = gap.copy()
        for o in self.owners:
            served = self.serve[o]
            if self.rules is None:
                on = left[:, o] > 0
                cap = self.share_param * level[:, o]
            else:
                r = self.rules
                short = left[:, served].sum(axis=1)
                d = np.maximum(demand[:, served].sum(axis=1), 1e-12)
                on = np.zeros(p_n, dtype=bool)
                if np.isfinite(r.short_at[o]):
                    on |= (short > 0) & (short >= r.short_at[o] * d)
                if np.isfinite(r.price_at[o]):
                    on |= price_prev >= r.price_at[o]
                share = self.share_param if np.isnan(r.share_cap[o]) else r.share_cap[o]
                cap = np.minimum(share * level[:, o], r.t_cap[o])
            cap = np.where(on, np.minimum(cap, level[:, o]), 0.0)
            trig[:, o] = on
            own = np.minimum(cap, left[:, o])
            left[:, o] -= own
            rest = cap - own
            allies = served.copy()
            allies[o] = False
            to_allies = np.zeros(p_n)
            if allies.any():
                g = left[:, allies]
                g_sum = g.sum(axis=1)
                give = np.minimum(rest, g_sum)
                part = g * np.divide(give, g_sum, out=np.zeros_like(give), where=g_sum > 0)[:, None]
                part = np.minimum(part, g)
                left[:, allies] -= part
                inflow[:, allies] += part
                to_allies = part.sum(axis=1)
            inflow[:, o] += own
            out[:, o] = own + to_allies
        return out, inflow, trig

    def replenish(self, level: F, surplus: F, triggered: npt.NDArray[np.bool_]) -> F:
        """[P, R] bought back this month from the owners' users' stock above target."""
        take = np.zeros_like(level)
        if self.rules is None or self.size is None:
            return take
        for o in self.owners:
            rate = self.rules.replenish[o]
            if rate > 0:
                room = np.maximum(self.size[:, o] - level[:, o], 0.0)
                t = np.minimum(np.minimum(rate, room), np.maximum(surplus[:, o], 0.0))
                take[:, o] = np.where(triggered[:, o], 0.0, t)
        return take

    def note_size(self, level: F) -> None:
        """Track the most each stockpile has held (what replenishment refills to)."""
        self.size = level.copy() if self.size is None else np.maximum(self.size, level)


def check(classes: ClassStock, aggregate: F, outflow: F, inflow: F) -> float:
    """Classes non-negative and summing to the aggregate; stockpile outflow = inflow (t).
    Raises :class:`MassBalanceError`; returns the largest residual."""
    if (classes.s < 0).any():
        raise MassBalanceError("negative users' stock in a firm class")
    resid = np.abs(classes.total() - aggregate)
    moved = np.abs(outflow.sum(axis=1) - inflow.sum(axis=1))
    worst = max(float(resid.max(initial=0.0)), float(moved.max(initial=0.0)))
    if (resid > BALANCE_RTOL * (1.0 + np.abs(aggregate))).any() or (
        moved > BALANCE_RTOL * (1.0 + outflow.sum(axis=1))
    ).any():
        raise MassBalanceError(f"firm classes or stockpile releases do not balance ({worst:.3g} t)")
    return worst


def market_take(
    pending: F, have: F, ex: npt.NDArray[np.bool_], blocked: npt.NDArray[np.bool_]
) -> tuple[F, F]:
    """A month's market purchases of the stockpiles: (taken from each holder, bought by each
    owner), both [P, R] t.

    Owner o wants ``pending[:, o]`` (nothing where ``blocked``: a stockpile releasing this month
    does not buy); it buys from its own region's holdings ``have`` first, then from the other
    regions of ``ex`` (outside China: China's exports follow its controls) in proportion to
    what they hold, never more than they hold. Owners buy in region order. Example: USA wants
    50 t, holds 20 t, Japan 60 t and the EU 20 t: it takes 20 t at home, 22.5 t from Japan and
    7.5 t from the EU."""
    avail = np.maximum(have, 0.0)
    taken = np.zeros_like(avail)
    bought = np.zeros_like(avail)
    for o in np.flatnonzero(pending.any(axis=0)):
        want = np.where(blocked[:, o], 0.0, pending[:, o])
        own = np.minimum(want, avail[:, o])
        avail[:, o] -= own
        others = ex.copy()
        others[o] = False
        pool = avail[:, others].sum(axis=1)
        give = np.minimum(want - own, pool)
        part = avail[:, others] * np.divide(give, pool, out=np.zeros_like(give), where=pool > 0)[:, None]
        avail[:, others] -= part
        taken[:, o] += own
        taken[:, others] += part
        bought[:, o] = own + part.sum(axis=1)
    return taken, bought


class StagePiles:
    """Public stockpiles of intermediate products for a block of paths (module docstring).

    Per stage k with a pile: ``level[k]`` [P, R] t of stage k's product held by each owner,
    ``pending[k]`` [P, R] t still to buy. Each month :meth:`open` adds the month's outside
    arrivals and the purchases falling due; :meth:`release` (before stage k + 1 draws its
    input) moves pile into ``stock_k``; :meth:`buy` (after the stages) takes what is due from
    ``stock_k``. :meth:`net` is what the piles added to each stage's stock this month (for the
    mass balance); :meth:`check` verifies the piles' own accounts.
    """

    def __init__(self, piles: tuple[StagePile, ...], n: int, r_n: int, share_param: F) -> None:
        self.piles = {p.stage: p for p in piles}
        z = np.zeros((n, r_n))
        self.level = {k: z.copy() for k in self.piles}
        self.pending = {k: z.copy() for k in self.piles}
        none = np.zeros(r_n, dtype=bool)
        self.rel = {k: Stockpiles(p.rules, r_n, share_param, none) for k, p in self.piles.items()}
        self._flows: dict[int, dict[str, F]] = {}
        self._trig = {k: np.zeros((n, r_n), dtype=bool) for k in self.piles}

    def __bool__(self) -> bool:
        return bool(self.piles)

    def open(self, t: int) -> None:
        """Month t's outside arrivals and the purchases falling due."""
        for k, p in self.piles.items():
            lv = self.level[k]
            z = np.zeros_like(lv)
            add = p.add[t][None, :] + z
            self._flows[k] = {"level0": lv.copy(), "add": add, "out": z, "into": z, "bought": z}
            self.level[k] = lv + p.add[t][None, :]
            self.pending[k] = self.pending[k] + p.buy[t][None, :]
            self._trig[k] = np.zeros(lv.shape, dtype=bool)

    def release(self, k: int, stock_k: F, need_k: F, price_prev: F) -> None:
        """Release stage k's piles into ``stock_k`` [P, R] (in place) where the next stage wants
        ``need_k`` [P, R] t of input and holds less."""
        if k not in self.piles:
            return
        gap = np.maximum(need_k - stock_k, 0.0)
        out, into, trig = self.rel[k].release(self.level[k], gap, need_k, price_prev)
        self.level[k] = self.level[k] - out
        stock_k += into
        self._flows[k]["out"] = out
        self._flows[k]["into"] = into
        self._trig[k] = trig

    def buy(self, k: int, stock_k: F, ex: npt.NDArray[np.bool_]) -> None:
        """Buy what is due of stage k's product from ``stock_k`` [P, R] (in place) of the
        regions ``ex`` (:func:`market_take`), not where the pile released this month; the rest
        stays pending."""
        if k not in self.piles:
            return
        taken, bought = market_take(self.pending[k], stock_k, ex, self._trig[k])
        stock_k -= taken
        self.level[k] = self.level[k] + bought
        self.pending[k] = self.pending[k] - bought
        self._flows[k]["bought"] = bought
        self._flows[k]["taken"] = taken

    def levels(self, n_stages: int) -> F:
        """[P, K, R] every stage's pile (0 where a stage has none)."""
        any_lv = next(iter(self.level.values()))
        out = np.zeros((any_lv.shape[0], n_stages, any_lv.shape[1]))
        for k, lv in self.level.items():
            out[:, k] = lv
        return out

    def net(self) -> dict[int, F]:
        """Per stage, what the piles added to its stock this month (released less bought)."""
        return {k: f["into"] - f.get("taken", f["bought"]) for k, f in self._flows.items()}

    def negative(self) -> bool:
        """Whether any pile or pending purchase went negative (never, by construction)."""
        return any((v < 0).any() for v in (*self.level.values(), *self.pending.values()))

    def check(self) -> float:
        """Each pile moved by its arrivals and purchases less its releases, and what left the
        piles arrived in some region's stock; raises :class:`MassBalanceError`, returns the
        largest residual (t)."""
        worst = 0.0
        for k, f in self._flows.items():
            lv = self.level[k]
            if (lv < 0).any():
                raise MassBalanceError(f"negative stockpile of stage {k}'s product")
            resid = np.abs(lv - f["level0"] - (f["add"] + f["bought"] - f["out"]))
            moved = np.abs(f["out"].sum(axis=1) - f["into"].sum(axis=1))
            moved += np.abs(f["bought"].sum(axis=1) - f.get("taken", f["bought"]).sum(axis=1))
            worst = max(worst, float(resid.max(initial=0.0)), float(moved.max(initial=0.0)))
            scale = 1.0 + f["level0"] + lv + f["add"] + f["bought"]
            if (resid > BALANCE_RTOL * scale).any() or (
                moved > BALANCE_RTOL * (1.0 + f["out"].sum(axis=1))
            ).any():
                raise MassBalanceError(f"stage {k} stockpile accounts do not balance ({worst:.3g} t)")
        return worst
