"""The planning model: a sample-average two-stage stochastic MILP in linopy.

Dimensions: ``year`` (annual steps), ``product`` (ndpr_oxide, dytb_oxide, ndfeb_magnet),
``region`` (the plan's buyers), ``project`` (ex-China projects) and ``future`` (futures drawn
from the simulator, equal weights). Money is in US$ million (t x US$/kg x 1e-3), quantities in
tonnes of the product per year, costs discounted to the first year at the real discount rate.

First stage (here and now, the same in every future):

* ``offtake[project, region, tranche]`` t/yr contracted by a buyer with a project in the
  contract that starts in the tranche's year (one every ``start_every_years``) and runs for the
  tenor (``tranche_years`` maps tranches to the years they cover); pays the contract price on
  what is delivered and a take-or-pay reservation fee on the volume; deliveries follow the
  project's output (share ``online`` of nameplate in each future, a triangular lead time drawn
  per future). Fixed-volume contracts are what offtakes are, and they keep the first stage
  small: the cuts of the decomposition have a coefficient per first-stage column;
* ``cofin[project, region]`` binary: a buyer co-finances ``share`` of the project's capex (paid
  over the first three years); the project then follows its co-financed schedule (start pulled
  forward, delay spread narrowed); the co-financier is the host region when it is a buyer, else
  the plan's ``cofinance.payer`` (default the first buyer);
* ``floor[project]`` binary: a price floor / CfD at the strike on the project's output, paid by
  the floor's payer in every future when the spot price is below it; the project's delay tail is
  cut (its financing is secured); a project takes a floor or co-financing, not both;
* ``capacity[product, region]`` and ``fill[product, region, year]``: a stockpile; fills are
  bought on the same market as consumption in each future (so none can be bought in a year
  some future has no supply), holding cost on capacity, remaining stock valued at the
  reference price at the horizon's end (budgets count fills at the expected spot price).

Second stage (per future): ``spot_chn`` (China's supply, at most its availability x the normal
China share of demand, at the China price), ``spot_ex`` (uncontracted output of the projects,
up to the buyers' market share of it, at the ex-China spot price), ``release`` and ``stock``
(the stockpile), ``transfer_out`` / ``transfer_in`` (a party's gift to, and draw on, a reciprocal
agreement's pool of stock) and rationing
``short_pri`` / ``short_oth`` at the priority (defence) and the other sectors' value of lost
load. Demand is met with free disposal of surplus.

The McCormick products ``o_cofin = offtake x (sum of cofin)`` and ``o_floor = offtake x floor``
are exact for binaries, so the model stays linear.

Constraint groups (:class:`Group`; each can be made elastic, for the infeasibility diagnosis):
coverage, concentration, cutoff, budget. See :mod:`critmin.plan.spec` for their meaning.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import linopy
import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from critmin.plan.modeldata import Built, Group, ModelInputs, salvage_usd_per_kg
from critmin.plan.spec import STAGE_OF, Mode, PlanSpec

F = npt.NDArray[np.float64]
#: US$ million per (t x US$/kg)
MUSD = 1e-3
COFIN_YEARS = 3


def _placeholder_project(inp: ModelInputs) -> ModelInputs:
    """A plan without projects gets one of capacity 0 (linopy needs a non-empty dimension)."""
    row = pd.DataFrame(
        [
            {
                "product": inp.products[0], "region": "ROW", "stage": "none", "capacity_t_per_year": 0.0,
                "capex_musd": 0.0, "contract_usd_per_kg": 0.0, "cofinance_ok": False, "floor_ok": False,
                "cofinance_share": 0.0,
            }
        ],
        index=pd.Index(["(none)"], name="project_id"),
    )  # fmt: skip
    n_f, n_y = inp.n_futures, len(inp.years)
    return replace(
        inp,
        projects=row,
        online=np.zeros((3, n_f, n_y, 1)),
        floor_pay_usd_per_kg=np.zeros((n_f, n_y, 1)),
        expect_online=None if inp.expect_online is None else np.zeros((3, n_y, 1)),
        expect_floor_pay=None if inp.expect_floor_pay is None else np.zeros((n_y, 1)),
    )


FIRST_STAGE = ("offtake", "o_cofin", "o_floor", "cofin", "floor", "capacity", "fill")


def build_model(
    spec: PlanSpec,
    inputs: ModelInputs,
    *,
    elastic: frozenset[str] | set[str] = frozenset(),
    drop: frozenset[str] | set[str] = frozenset(),
    feasibility: bool = False,
) -> Built:
    """The linopy model of ``spec`` on ``inputs`` (module docstring).

    ``elastic``: group ids whose rows get a slack (penalised in the objective; with
    ``feasibility`` the objective is the slacks alone); ``drop``: group ids left out.
    Absent (masked) variable slots count as zero in sums (linopy's legacy semantics).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _build(spec, inputs, elastic=elastic, drop=drop, feasibility=feasibility)


def _build(
    spec: PlanSpec,
    inputs: ModelInputs,
    *,
    elastic: frozenset[str] | set[str] = frozenset(),
    drop: frozenset[str] | set[str] = frozenset(),
    feasibility: bool = False,
) -> Built:
    """The linopy model of ``spec`` on ``inputs`` (module docstring).

    ``elastic``: group ids whose rows get a slack (penalised in the objective; with
    ``feasibility`` the objective is the slacks alone); ``drop``: group ids left out.
    """
    prods: list[Any]
    # loop variables reused across constraint kinds and buyers
    c: Any
    b: Any
    a: Any
    p: Any
    out_flow: Any
    if inputs.projects.empty:
        inputs = _placeholder_project(inputs)
    inp = inputs.planning()
    assert inp.expect_online is not None
    assert inp.expect_spot is not None
    assert inp.expect_floor_pay is not None
    assert inp.expect_demand is not None
    n_f = inp.n_futures
    fut = pd.RangeIndex(n_f, name="future")
    yr = pd.Index(list(inp.years), name="year")
    pr = pd.Index(list(inp.products), name="product")
    rg = pd.Index(list(inp.regions), name="region")
    pj = pd.Index(list(inp.projects.index), name="project")
    proj = inp.projects
    ins = spec.instruments
    starts = list(inp.years[:: ins.offtake.start_every_years])
    trc = pd.Index(starts, name="tranche")
    coords = {"future": fut, "year": yr, "product": pr, "region": rg, "project": pj, "tranche": trc}
    act_np = np.array(
        [[1.0 if s0 <= y < s0 + ins.offtake.max_tenor_years else 0.0 for y in inp.years] for s0 in starts]
    )

    def da(a: Any, *dims: str) -> xr.DataArray:
        return xr.DataArray(np.asarray(a, dtype=float), coords=[coords[d] for d in dims])

    w = 1.0 / n_f
    y0 = inp.years[0]
    df = da([(1 + inp.discount_rate) ** -(y - y0) for y in inp.years], "year")
    dem = da(inp.demand_t, "future", "year", "product", "region")
    cap_j = da(proj["capacity_t_per_year"].to_numpy(), "project")
    on_b = da(inp.online[0], "future", "year", "project")
    on_c = da(inp.online[1], "future", "year", "project")
    on_f = da(inp.online[2], "future", "year", "project")
    e_on = [da(inp.expect_online[k], "year", "project") for k in range(3)]
    spot = da(inp.spot_usd_per_kg, "future", "year", "product", "region")
    chp = da(inp.china_usd_per_kg, "future", "year", "product", "region")
    pri = da(inp.priority_share, "product", "region")
    prod_of = xr.DataArray(proj["product"].to_numpy(), coords=[pj], name="product")
    in_plan = proj["product"].isin(inp.products).to_numpy()

    m = linopy.Model()
    act = da(act_np, "tranche", "year")
    # ---------------------------------------------------------------- first stage
    o_mask = da(
        np.asarray(in_plan)[:, None, None] & np.ones((1, len(rg), len(trc)), dtype=bool),
        "project",
        "region",
        "tranche",
    ).astype(bool) & bool(ins.offtake.allowed)
    o_k = m.add_variables(lower=0, coords=[pj, rg, trc], name="offtake", mask=o_mask)
    cof_ok = proj["cofinance_ok"].to_numpy(bool) & in_plan & bool(ins.cofinance.allowed)
    if ins.cofinance.regions:
        cof_ok &= proj["region"].isin(ins.cofinance.regions).to_numpy()
    # one co-financier per project: its host if a buyer, else the plan's co-financier
    fin = ins.cofinance.payer or inp.regions[0]
    who = [h if h in inp.regions else fin for h in proj["region"]]
    z_mask = np.array([[w_ == r for r in inp.regions] for w_ in who]) & cof_ok[:, None]
    z = m.add_variables(
        coords=[pj, rg], name="cofin", binary=True, mask=da(z_mask, "project", "region").astype(bool)
    )
    fl_ok = (
        proj["floor_ok"].to_numpy(bool)
        & in_plan
        & bool(ins.floor.allowed)
        & (proj["product"] == ins.floor.product).to_numpy()
        & (proj["region"] == ins.floor.payer_region).to_numpy()
    )
    q = m.add_variables(coords=[pj], name="floor", binary=True, mask=da(fl_ok, "project").astype(bool))
    big = cap_j
    zsum = z.sum("region")
    wz_k = m.add_variables(
        lower=0, coords=[pj, rg, trc], name="o_cofin", mask=o_mask & da(cof_ok, "project").astype(bool)
    )
    wq_k = m.add_variables(
        lower=0, coords=[pj, rg, trc], name="o_floor", mask=o_mask & da(fl_ok, "project").astype(bool)
    )
    # the volumes contracted per year: the contracts running that year
    o = (o_k * act).sum("tranche")
    wz = (wz_k * act).sum("tranche")
    wq = (wq_k * act).sum("tranche")
    # a project's capacity, once per set of running contracts (years in which the same
    # contracts run have the same row)
    _, first_of = np.unique(np.asarray(act_np, dtype=float).T, axis=0, return_index=True)
    cap_years = [inp.years[i] for i in sorted(first_of) if np.asarray(act_np)[:, i].any()]
    m.add_constraints(o.sum("region").sel(year=cap_years) <= cap_j, name="offtake_capacity")
    m.add_constraints(zsum + q <= 1, name="one_derisking", mask=da(cof_ok | fl_ok, "project").astype(bool))
    # McCormick rows only where the product exists (elsewhere they are void or redundant)
    z_rows = o_mask & da(cof_ok, "project").astype(bool)
    q_rows = o_mask & da(fl_ok, "project").astype(bool)
    m.add_constraints(wz_k - o_k <= 0, name="mc_z1", mask=z_rows)
    m.add_constraints(wz_k - big * zsum <= 0, name="mc_z2", mask=z_rows)
    m.add_constraints(wz_k - o_k - big * zsum >= -big, name="mc_z3", mask=z_rows)
    m.add_constraints(wq_k - o_k <= 0, name="mc_q1", mask=q_rows)
    m.add_constraints(wq_k - big * q <= 0, name="mc_q2", mask=q_rows)
    m.add_constraints(wq_k - o_k - big * q >= -big, name="mc_q3", mask=q_rows)

    sp_ok = np.array([ins.stockpile.allowed and p in ins.stockpile.products for p in inp.products])
    k_mask = da(sp_ok[:, None] & np.ones((1, len(rg)), bool), "product", "region").astype(bool)
    # no stockpile is worth more than the horizon's whole demand (the peak over the futures, year
    # by year): a finite bound that never binds at an optimum, so every future's cost is bounded
    # below (what the decomposition's master needs, see critmin.plan.benders)
    horizon_t = da(np.asarray(inp.demand_t).max(axis=0).sum(axis=0), "product", "region")
    kap_max = horizon_t if ins.stockpile.max_t is None else horizon_t.clip(max=ins.stockpile.max_t)
    k_mask = k_mask & (kap_max > 0)  # no stockpile where there is no demand to hold it for
    kap = m.add_variables(
        lower=0,
        upper=kap_max,
        coords=[pr, rg],
        name="capacity",
        mask=k_mask,
    )
    fill = m.add_variables(lower=0, coords=[pr, rg, yr], name="fill", mask=k_mask)
    level = fill.cumsum("year")  # planned stock (no release)
    m.add_constraints(level - kap <= 0, name="planned_level")

    # deliveries [future, year, project, region] and per product
    deliv = o * on_b + wz * (on_c - on_b) + wq * (on_f - on_b)
    deliv_p = deliv.groupby(prod_of).sum().reindex(product=list(pr))
    # ---------------------------------------------------------------- second stage
    avail_chn = (
        da(inp.china_avail, "future", "year", "product", "region")
        * da(inp.china_share, "product", "region")
        * dem
    )
    # columns that could only be zero (China cut off, no priority or other demand) are left out
    s_c = m.add_variables(
        lower=0, upper=avail_chn, coords=[fut, yr, pr, rg], name="spot_chn", mask=avail_chn > 0
    )
    s_e = m.add_variables(lower=0, coords=[fut, yr, pr, rg], name="spot_ex")
    rel = m.add_variables(lower=0, coords=[fut, yr, pr, rg], name="release", mask=k_mask.broadcast_like(dem))
    stk = m.add_variables(
        lower=0,
        upper=kap_max.broadcast_like(dem),
        coords=[fut, yr, pr, rg],
        name="stock",
        mask=k_mask.broadcast_like(dem),
    )
    u_p = m.add_variables(
        lower=0, upper=pri * dem, coords=[fut, yr, pr, rg], name="short_pri", mask=pri * dem > 0
    )
    u_o = m.add_variables(
        lower=0, upper=(1 - pri) * dem, coords=[fut, yr, pr, rg], name="short_oth", mask=(1 - pri) * dem > 0
    )

    # reciprocal transfers: each party of an agreement gives up to ``share`` of last year's
    # stock into the agreement's pool (``transfer_out``) and the other parties draw on it
    # (``transfer_in``); a pool is the same as flows between each pair of parties (transfers
    # carry no cost of their own and a party drawing its own gift is a release), with half
    # the columns. None in the first year, there being no last year's stock to give.
    gives: list[tuple[int, str, str]] = []
    for ia, a in enumerate(spec.constraints.reciprocal):
        gives += [(ia, r, p) for p in a.products if p in inp.products for r in a.regions]
    supply_extra: Any = 0
    out_flow = 0
    if gives and ins.stockpile.allowed and len(inp.years) > 1:
        gidx = pd.Index([f"{ia}:{r}:{p}" for ia, r, p in gives], name="party")
        pool = sorted({(ia, p) for ia, _, p in gives})
        plx = pd.Index([f"{ia}:{p}" for ia, p in pool], name="pool")
        coords["party"], coords["pool"] = gidx, plx
        later = yr.to_series().ne(y0).to_xarray()
        t_out = m.add_variables(lower=0, coords=[fut, yr, gidx], name="transfer_out", mask=later)
        t_in = m.add_variables(lower=0, coords=[fut, yr, gidx], name="transfer_in", mask=later)
        at = np.zeros((len(gidx), len(pr), len(rg)))
        in_pool = np.zeros((len(gidx), len(plx)))
        share_g = np.zeros(len(gidx))
        for i, (ia, r, p) in enumerate(gives):
            at[i, pr.get_loc(p), rg.get_loc(r)] = 1
            in_pool[i, plx.get_loc(f"{ia}:{p}")] = 1
            share_g[i] = spec.constraints.reciprocal[ia].share
        at_da = da(at, "party", "product", "region")
        pool_da = da(in_pool, "party", "pool")
        out_flow = (t_out * at_da).sum("party")
        supply_extra = (t_in * at_da).sum("party")
        later_years = list(inp.years[1:])
        m.add_constraints(
            ((t_in - t_out) * pool_da).sum("party").sel(year=later_years) == 0, name="transfer_pool"
        )
        prev = (stk * at_da).sum(["product", "region"]).shift(year=1)
        m.add_constraints(
            (t_out - da(share_g, "party") * prev).sel(year=later_years) <= 0, name="transfer_limit"
        )
    # stock dynamics; stock <= capacity
    prev_stk = stk.shift(year=1)
    dyn = stk - fill + rel + out_flow
    m.add_constraints(dyn.sel(year=y0) == 0, name="stock_first", mask=k_mask)
    m.add_constraints(
        (dyn - prev_stk).sel(year=list(inp.years[1:])) == 0, name="stock_dyn", mask=k_mask
    ) if len(inp.years) > 1 else None
    # stock <= capacity needs no row: stock = planned level - releases <= planned level <= capacity
    # balance: deliveries + spot + release + transfers in + shortage >= demand + fill
    # stock fills come out of the same market as consumption (none in a future without supply)
    m.add_constraints(deliv_p + s_c + s_e + rel + supply_extra + u_p + u_o - fill >= dem, name="balance")
    # the buyers' share of the projects' uncontracted output (and other ex-China supply)
    out_total = (
        (cap_j * (on_b + zsum * (on_c - on_b) + q * (on_f - on_b)))
        .groupby(prod_of)
        .sum()
        .reindex(product=list(pr))
    )
    # contracted output, summed over the buyers (written on the first-stage columns themselves:
    # an auxiliary total per project would add columns that every future's row reads)
    contracted = deliv_p.sum("region")
    share_tot = da(inp.market_share, "product", "region").sum("region")
    other = (
        da(inp.other_exchina_t, "future", "year", "product", "region").sum("region")
        if inp.other_exchina_t is not None
        else xr.zeros_like(dem.sum("region"))
    )
    m.add_constraints(
        s_e.sum("region") - share_tot * (out_total - contracted) <= other, name="exchina_market"
    )

    # ---------------------------------------------------------------- groups
    groups: dict[str, Group] = {}
    elastic = frozenset(elastic)
    slack_terms: list[Any] = []

    def slack_for(gid: str, like: xr.DataArray, scale: float) -> Any:
        if gid not in elastic:
            return 0
        s = m.add_variables(lower=0, coords=[coords[str(d)] for d in like.dims], name=f"slack_{gid}")
        slack_terms.append((s / max(scale, 1e-9)).sum())
        return s

    for i, c in enumerate(spec.constraints.coverage):
        gid = f"coverage_{i}"
        if gid in drop:
            continue
        prods = [p for p in c.products if p in inp.products]
        rhs = ((1 - c.min_share) * pri * dem).sel(product=prods, region=c.region)
        sl = slack_for(gid, rhs, float(rhs.mean()) + 1)
        m.add_constraints(u_p.sel(product=prods, region=c.region) - sl <= rhs, name=gid)
        groups[gid] = Group(
            gid,
            "coverage",
            f"at least {c.min_share:.0%} of {c.region}'s priority (defence) demand for "
            f"{', '.join(prods)} met in every future and year",
            (gid,),
            c.model_dump(),
        )
    for i, k in enumerate(spec.constraints.concentration):
        gid = f"concentration_{i}"
        if gid in drop:
            continue
        prods = [p for p in inp.products if STAGE_OF[p] == k.stage]
        yrs = [y for y in inp.years if y >= k.from_year]
        if not prods or not yrs:
            continue
        sel = {"product": prods, "region": k.region, "year": yrs}
        lhs = s_c.sel(sel) + k.max_share * (u_p.sel(sel) + u_o.sel(sel))
        rhs = k.max_share * dem.sel(sel)
        sl = slack_for(gid, rhs, float(rhs.mean()) + 1)
        m.add_constraints(lhs - sl <= rhs, name=gid)
        groups[gid] = Group(
            gid,
            "concentration",
            f"at most {k.max_share:.0%} of {k.region}'s {k.stage}-stage supply from China from {k.from_year}",
            (gid,),
            k.model_dump(),
        )
    e_dem = da(inp.expect_demand, "year", "product", "region")
    e_deliv = (
        (o * e_on[0] + wz * (e_on[1] - e_on[0]) + wq * (e_on[2] - e_on[0]))
        .groupby(prod_of)
        .sum()
        .reindex(product=list(pr))
    )
    penalty_terms: list[Any] = []
    for i, cut in enumerate(spec.constraints.cutoff):
        c = cut
        gid = f"cutoff_{i}"
        if gid in drop:
            continue
        prods = [p for p in c.products if p in inp.products]
        yrs = [y for y in inp.years if y >= c.from_year]
        frac = c.months / 12
        for r in c.regions:
            sel = {"product": prods, "region": r, "year": yrs}
            stock_here: Any = level.sel(sel)
            for a in spec.constraints.reciprocal:
                if r not in a.regions:
                    continue
                ally = xr.DataArray(
                    [a.share if p in a.products else 0.0 for p in prods],
                    coords=[pd.Index(prods, name="product")],
                )
                for r2 in a.regions:
                    if r2 != r:
                        stock_here = stock_here + ally * level.sel(product=prods, region=r2, year=yrs)
            lhs = stock_here + frac * e_deliv.sel(sel)
            rhs = frac * c.min_priority_share * (pri * e_dem).sel(sel)
            name = f"{gid}_{r}"
            if name in drop:
                continue
            if c.mode is Mode.PENALTY:
                miss = m.add_variables(lower=0, coords=[coords[d] for d in rhs.dims], name=f"miss_{name}")
                m.add_constraints(lhs + miss >= rhs, name=name)
                penalty_terms.append((c.penalty_usd_per_kg * MUSD * miss).sum())
            else:
                sl = slack_for(name, rhs, float(rhs.mean()) + 1)
                m.add_constraints(lhs + sl >= rhs, name=name)
            groups[name] = Group(
                name,
                "cutoff",
                f"survive a {c.months}-month cut-off of {c.supplier} with at least "
                f"{c.min_priority_share:.0%} of {r}'s priority demand for {', '.join(prods)} met "
                f"from stocks and offtakes, every year from {c.from_year}"
                + (" (penalty)" if c.mode is Mode.PENALTY else ""),
                (name,),
                {**c.model_dump(), "region": r, "months": c.months},
            )
    # ---------------------------------------------------------------- costs (US$ m)
    capex = da(proj["capex_musd"].to_numpy(), "project")
    cshare = da(proj["cofinance_share"].to_numpy(), "project")
    cprice = da(proj["contract_usd_per_kg"].to_numpy(), "project")
    e_spot = da(inp.expect_spot, "year", "product", "region")
    e_fpay = da(inp.expect_floor_pay, "year", "project")
    cover = ins.floor.covered_share
    n_cof = min(COFIN_YEARS, len(inp.years))
    first_years = da([1.0 / n_cof if y - y0 < n_cof else 0.0 for y in inp.years], "year")
    hold = da(inp.holding_usd_per_kg_year, "product")
    cof_year = z * (cshare * capex) * first_years  # [project, region, year]
    fill_cost_e = fill * e_spot * MUSD
    hold_cost = kap * hold * MUSD
    floor_year = q * (e_fpay * cap_j * cover) * MUSD  # [project, year]
    for buyer in spec.buyers:
        b = buyer
        if b.budget_musd_per_year is None:
            continue
        gid = f"budget_{b.region}"
        if gid in drop:
            continue
        spend = (
            cof_year.sel(region=b.region).sum("project")
            + fill_cost_e.sel(region=b.region).sum("product")
            + hold_cost.sel(region=b.region).sum("product")
        )
        if b.region == ins.floor.payer_region:
            spend = spend + floor_year.sum("project")
        cap_b = xr.full_like(df, b.budget_musd_per_year)
        sl = slack_for(gid, cap_b, b.budget_musd_per_year + 1)
        m.add_constraints(spend - sl <= cap_b, name=gid)
        groups[gid] = Group(
            gid,
            "budget",
            f"{b.payer or b.region}'s budget of US${b.budget_musd_per_year:,.0f} m a year "
            "(co-financing, stockpile purchases and holding, floor payments)",
            (gid,),
            b.model_dump(),
        )
    # expected NPV cost by instrument
    e_deliv_cost = (
        (o * (e_on[0] * cprice) + wz * ((e_on[1] - e_on[0]) * cprice) + wq * ((e_on[2] - e_on[0]) * cprice))
        * df
        * MUSD
    ).sum()
    # note: the expected deliveries use expect_online = mean over the futures in the full
    # problem; in a subsample they are the planning expectation (first-stage cost).
    reserve = (o * (cprice * ins.offtake.reservation_share) * df * MUSD).sum()
    salvage_price = da(salvage_usd_per_kg(inp), "future", "product", "region")
    last = inp.years[-1]
    df_end = float(df.sel(year=last)) / (1 + inp.discount_rate)
    costs: dict[str, Any] = {
        "offtake": e_deliv_cost + reserve,
        "cofinance": (cof_year * df).sum(),
        "stockpile": (hold_cost * df.sum()).sum()
        - ((stk.sel(year=last) * salvage_price).sum() * (w * df_end * MUSD)),
        "floor": (floor_year * df).sum(),
        "spot_china": ((s_c * chp) * df * (w * MUSD)).sum(),
        "spot_ex_china": ((s_e * spot) * df * (w * MUSD)).sum(),
        "rationing": (
            (
                u_p * da(inp.voll_priority_usd_per_kg, "product", "region")
                + u_o * da(inp.voll_other_usd_per_kg, "product", "region")
            )
            * df
            * (w * MUSD)
        ).sum(),
    }
    if penalty_terms:
        costs["cutoff_penalty"] = sum(penalty_terms[1:], penalty_terms[0])
    objective: Any = sum(list(costs.values())[1:], next(iter(costs.values())))
    risk = spec.objective.risk
    if risk.weight > 0 and not feasibility:
        if risk.measure == "cost":
            per_f = (
                ((s_c * chp + s_e * spot) * df * MUSD).sum(["year", "product", "region"])
                + (
                    (
                        u_p * da(inp.voll_priority_usd_per_kg, "product", "region")
                        + u_o * da(inp.voll_other_usd_per_kg, "product", "region")
                    )
                    * df
                    * MUSD
                ).sum(["year", "product", "region"])
                + (deliv * cprice * df * MUSD).sum(["year", "project", "region"])
            )
        else:
            per_f = (u_p * da(inp.voll_priority_usd_per_kg, "product", "region") * df * MUSD).sum(
                ["year", "product", "region"]
            )
        eta = m.add_variables(name="cvar_eta")
        exc = m.add_variables(lower=0, coords=[fut], name="cvar_excess")
        m.add_constraints(exc - per_f + eta >= 0, name="cvar_def")
        costs["risk"] = risk.weight * (eta + (w / (1 - risk.alpha)) * exc.sum())
        objective = objective + costs["risk"]
    if feasibility:
        m.add_objective(sum(slack_terms[1:], slack_terms[0]) if slack_terms else 0 * o_k.sum())
    else:
        if slack_terms:
            objective = objective + 1e4 * sum(slack_terms[1:], slack_terms[0])
        m.add_objective(objective)
    return Built(m, inputs, spec, groups, coords, elastic, costs, tranche_years=act_np)


__all__ = ["FIRST_STAGE", "MUSD", "Built", "Group", "ModelInputs", "build_model", "salvage_usd_per_kg"]
