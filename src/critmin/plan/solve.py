"""Solve a plan with HiGHS (through linopy): the portfolio, its costs, shadow prices in words,
and, for an infeasible plan, the conflicting targets in words.

* :func:`solve_built`: one solve of a built model -> :class:`~critmin.plan.result.Status`;
* :func:`solve_plan`: build, solve, then (when optimal) fix the binaries, re-solve the LP for
  the duals and turn the binding targets' duals into statements ("one more point of ... costs
  US$X m"); when infeasible, :func:`conflicts` finds an irreducible set of conflicting
  constraint groups by a deletion filter (each check a feasibility solve) and names them;
* shadow prices are those of the LP with the binary choices fixed at the optimum (local to
  that portfolio), in expected NPV US$ m.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from critmin.plan.benders import solve_linopy
from critmin.plan.model import MUSD, Built, ModelInputs, build_model, salvage_usd_per_kg
from critmin.plan.result import PlanResult, Shadow, Status
from critmin.plan.spec import PlanSpec

_TERMINATION = {
    "optimal": Status.OPTIMAL,
    "infeasible": Status.INFEASIBLE,
    "infeasible_or_unbounded": Status.INFEASIBLE,
    "unbounded": Status.UNBOUNDED,
    "time_limit": Status.TIME_LIMIT,
}
TOL = 1e-7
_BANNER_DONE = False


def _silence_banner() -> None:
    """HiGHS prints a banner on stdout (at the C level) when the first solver is created in a
    process; create that first one with stdout pointed at /dev/null (JSON output stays clean)."""
    global _BANNER_DONE
    if _BANNER_DONE:
        return
    import os
    import sys

    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _BANNER_DONE = True


def money(x: float) -> str:
    """US$ millions in words with three significant figures (``US$1.23 bn``, ``US$0.005 m``)."""
    if abs(x) >= 1000:
        return f"US${x / 1000:,.3g} bn"
    return f"US${x:,.3g} m" if abs(x) >= 1 else f"US${x:.3g} m"


#: from this many futures on, ``method: auto`` solves by decomposition
DECOMPOSE_FROM = 16


def solve_built(
    b: Built, *, time_limit: float | None = None, gap: float | None = None, method: str | None = None
) -> Status:
    """Solve ``b.model`` with HiGHS (the plan's solver options) and return its status.

    ``method`` (default the plan's ``solver.method``): ``decomposition`` solves by Benders over
    the futures (:mod:`critmin.plan.benders`) and falls back to the monolithic solve when it
    cannot certify a feasible first stage (an infeasible plan is diagnosed on the monolith)."""
    _silence_banner()
    opts = b.spec.solver
    how = method or opts.method
    if how == "auto":
        how = "decomposition" if b.inputs.n_futures >= DECOMPOSE_FROM else "monolithic"
    limit = float(time_limit if time_limit is not None else opts.time_limit_s)
    if how == "decomposition":
        t0 = time.perf_counter()
        r = solve_linopy(
            b.model,
            b.inputs.n_futures,
            gap=float(gap if gap is not None else opts.mip_gap),
            time_limit=limit,
            threads=opts.threads,
            # the duals read are the target groups' (shadow prices)
            duals_for=sorted({c for g in b.groups.values() for c in g.constraints}),
        )
        b.solver_log = tuple(r.log)
        b.duals_fixed_lp = r.duals_fixed_lp and r.status == "optimal"
        if r.status == "optimal":
            return Status.OPTIMAL
        if r.status == "time_limit" and len(r.x):
            return Status.TIME_LIMIT
        time_limit = max(1.0, limit - (time.perf_counter() - t0))
    kwargs: dict[str, Any] = {
        "time_limit": float(time_limit if time_limit is not None else opts.time_limit_s),
        "threads": opts.threads,
        "output_flag": False,
        "random_seed": 0,
    }
    if b.model.binaries.nvars:
        kwargs["mip_rel_gap"] = float(gap if gap is not None else opts.mip_gap)
    b.model.solve(solver_name="highs", progress=False, **kwargs)
    term = str(b.model.termination_condition)
    status = _TERMINATION.get(term)
    if status is None:
        status = Status.TIME_LIMIT if "limit" in term else Status.INFEASIBLE
    if status is Status.TIME_LIMIT and not np.isfinite(objective_value(b)):
        return Status.INFEASIBLE if term == "infeasible" else Status.TIME_LIMIT
    return status


def objective_value(b: Built) -> float:
    """The solved model's objective (US$ m), NaN when there is none."""
    v = b.model.objective.value
    return float("nan") if v is None else float(v)


def feasible(spec: PlanSpec, inputs: ModelInputs, drop: Iterable[str]) -> bool:
    """Whether the plan without the groups ``drop`` has a feasible solution."""
    b = build_model(spec, inputs, drop=frozenset(drop), feasibility=False)
    return solve_built(b, gap=0.5) in (Status.OPTIMAL, Status.TIME_LIMIT)


def conflicts(spec: PlanSpec, inputs: ModelInputs, groups: Iterable[str]) -> list[str]:
    """An irreducible set of constraint groups that cannot hold together (deletion filter):
    removing any one of them makes the plan feasible."""
    keep = list(groups)
    dropped: set[str] = set()
    for g in list(keep):
        trial = dropped | {g}
        if not feasible(spec, inputs, trial):
            dropped.add(g)  # still infeasible without g: g is not needed for the conflict
    return [g for g in keep if g not in dropped]


def _shortfall_words(spec: PlanSpec, inputs: ModelInputs, ids: list[str]) -> dict[str, str]:
    """How far each conflicting group must give, from the elastic relaxation of those groups."""
    b = build_model(spec, inputs, elastic=frozenset(ids), feasibility=True)
    solve_built(b, gap=0.5)
    out: dict[str, str] = {}
    for g in ids:
        name = f"slack_{g}"
        if name not in b.model.variables:
            continue
        sol = b.model.variables[name].solution
        grp = b.groups[g]
        worst = float(np.nanmax(sol.values)) if sol.size else 0.0
        unit = "US$ m a year" if grp.kind == "budget" else "t"
        out[g] = f"needs {worst:,.1f} {unit} more in the worst year/future"
    return out


def solve_plan(
    spec: PlanSpec,
    inputs: ModelInputs,
    *,
    data_version: str = "",
    notes: dict[str, str] | None = None,
    shadow: bool = True,
) -> PlanResult:
    """Build and solve ``spec`` on ``inputs``; a :class:`PlanResult` whatever the status."""
    t0 = time.perf_counter()
    b = build_model(spec, inputs)
    t1 = time.perf_counter()
    status = solve_built(b)
    t2 = time.perf_counter()
    size = model_size(b)
    timings = {"build": t1 - t0, "solve": t2 - t1}
    base: dict[str, Any] = {
        "spec": spec,
        "data_version": data_version,
        "seed": spec.seed,
        "futures": inputs.n_futures,
        "size": size,
        "notes": {**(notes or {}), **inputs.notes},
    }
    if status not in (Status.OPTIMAL, Status.TIME_LIMIT):
        words: tuple[str, ...] = ()
        if status is Status.INFEASIBLE:
            ids = conflicts(spec, inputs, b.groups)
            extra = _shortfall_words(spec, inputs, ids) if ids else {}
            words = tuple(f"{b.groups[g].words} ({extra.get(g, '')})".replace(" ()", "") for g in ids)
            if not words:
                words = ("the plan's fixed terms (no target group alone is the cause)",)
        timings["diagnose"] = time.perf_counter() - t2
        return PlanResult(
            status=status,
            objective_musd=None,
            portfolio=pd.DataFrame(),
            costs=pd.DataFrame(),
            conflicts=words,
            timings_s=timings,
            **base,
        )
    obj = objective_value(b)
    portfolio = portfolio_table(b)
    costs = cost_table(b)
    in_sample = in_sample_targets(b)
    shadows: tuple[Shadow, ...] = ()
    if shadow:
        t3 = time.perf_counter()
        shadows = shadow_prices(b)
        timings["shadow"] = time.perf_counter() - t3
    return PlanResult(
        status=status,
        objective_musd=obj,
        portfolio=portfolio,
        costs=costs,
        shadows=shadows,
        in_sample=in_sample,
        timings_s=timings,
        **base,
    )


def model_size(b: Built) -> dict[str, int]:
    """Variables, constraints and binaries of the built model."""
    m = b.model
    return {"variables": int(m.nvars), "constraints": int(m.ncons), "binaries": int(m.binaries.nvars)}


# ------------------------------------------------------------------------------ reading
def _sol(b: Built, name: str) -> Any:
    return b.model.variables[name].solution.fillna(0.0)


def _years_text(years: list[int]) -> str:
    return f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])


def portfolio_table(b: Built) -> pd.DataFrame:
    """One row per first-stage decision with a non-zero value (offtake contracts of at least
    0.1% of the product's largest contract in the plan)."""
    proj = b.inputs.projects
    inp = b.inputs.planning()
    assert inp.expect_online is not None
    assert inp.expect_spot is not None
    years = list(inp.years)
    o = _sol(b, "offtake")
    z = _sol(b, "cofin")
    q = _sol(b, "floor")
    rows: list[dict[str, Any]] = []
    payer: dict[str, str] = {x.region: x.payer or x.region for x in b.spec.buyers}
    act = b.tranche_years
    ov = o.transpose("project", "region", "tranche").values  # [J, R, K]
    runs = [[y for y, a in zip(years, row, strict=True) if a > 0] for row in act]
    # contracts under 0.1% of the product's largest are not listed: the decomposition's
    # incumbent is a stabilised average of its master's points, which leaves traces of every
    # contract it once tried (their cost is in the cost table)
    prod = proj["product"].to_numpy()
    big = {p: float(ov[prod == p].max(initial=0.0)) for p in set(prod)}
    for jj, j in enumerate(proj.index):
        pj = proj.loc[j]
        for rr, r in enumerate(inp.regions):
            # one row per contract (tranche): a fixed volume a year over the years it runs
            for ki, yrs in enumerate(runs):
                vol = float(ov[jj, rr, ki])
                if vol > max(1e-6, 1e-3 * big[pj["product"]]) and yrs:
                    rows.append(
                        {
                            "instrument": "offtake",
                            "buyer": r,
                            "payer": payer[r],
                            "project": j,
                            "product": pj["product"],
                            "host": pj["region"],
                            "years": _years_text(yrs),
                            "amount": vol,
                            "unit": "t/yr contracted",
                            "detail": f"contract US${pj['contract_usd_per_kg']:.0f}/kg, tenor {len(yrs)} yr",
                        }
                    )
            if float(z.sel(project=j, region=r)) > 0.5:
                rows.append(
                    {
                        "instrument": "cofinance",
                        "buyer": r,
                        "payer": payer[r],
                        "project": j,
                        "product": pj["product"],
                        "host": pj["region"],
                        "years": _years_text(years[:3]),
                        "amount": float(pj["cofinance_share"] * pj["capex_musd"]),
                        "unit": "US$ m",
                        "detail": f"{pj['cofinance_share']:.0%} of US${pj['capex_musd']:,.0f} m capex",
                    }
                )
        if float(q.sel(project=j)) > 0.5:
            fl = b.spec.instruments.floor
            rows.append(
                {
                    "instrument": "floor",
                    "buyer": fl.payer_region,
                    "payer": payer.get(fl.payer_region, fl.payer_region),
                    "project": j,
                    "product": pj["product"],
                    "host": pj["region"],
                    "years": _years_text(years),
                    "amount": float(pj["capacity_t_per_year"] * fl.covered_share),
                    "unit": "t/yr covered",
                    "detail": f"strike US${fl.strike_usd_per_kg:.0f}/kg",
                }
            )
    kap = _sol(b, "capacity")
    fill = _sol(b, "fill")
    for p in inp.products:
        for r in inp.regions:
            f = fill.sel(product=p, region=r).values
            # the capacity the fills use (a capacity nobody fills is free of cost when holding
            # costs nothing, so its value is arbitrary and not a decision worth reporting)
            k = min(float(kap.sel(product=p, region=r)), float(np.cumsum(f).max(initial=0.0)))
            if k >= 0.5:  # half a tonne: below it, a trace of the stabilised incumbent
                sched = ", ".join(f"{y}: {v:,.0f}" for y, v in zip(years, f, strict=True) if v > 0.5)
                rows.append(
                    {
                        "instrument": "stockpile",
                        "buyer": r,
                        "payer": payer[r],
                        "project": "",
                        "product": p,
                        "host": r,
                        "years": _years_text([y for y, v in zip(years, f, strict=True) if v > 0.5] or years),
                        "amount": k,
                        "unit": "t capacity",
                        "detail": f"fill t: {sched}",
                    }
                )
    cols = ["instrument", "buyer", "payer", "project", "product", "host", "years", "amount", "unit", "detail"]
    return pd.DataFrame(rows, columns=cols)


def cost_table(b: Built) -> pd.DataFrame:
    """Expected NPV cost (US$ m) by instrument and payer (markets: paid by the region's users).

    Stockpile: fills at the expected spot price + holding - the end stock at the reference price;
    the fills physically come through the offtake and spot rows, so a last row takes their
    expected cost back out and the rows add up to the objective."""
    inp = b.inputs.planning()
    assert inp.expect_online is not None
    assert inp.expect_spot is not None
    assert inp.expect_floor_pay is not None
    proj = b.inputs.projects
    y0 = inp.years[0]
    df = np.array([(1 + inp.discount_rate) ** -(y - y0) for y in inp.years])
    w = 1.0 / inp.n_futures
    payer: dict[str, str] = {x.region: x.payer or x.region for x in b.spec.buyers}
    o = b.yearly("offtake")  # [J, R, Y]
    wz = b.yearly("o_cofin")
    wq = b.yearly("o_floor")
    z = _sol(b, "cofin").values  # [J, R]
    q = _sol(b, "floor").values  # [J]
    kap = _sol(b, "capacity").values  # [P, R]
    stk = _sol(b, "stock").values  # [F, Y, P, R]
    s_c = _sol(b, "spot_chn").values
    s_e = _sol(b, "spot_ex").values
    u_p = _sol(b, "short_pri").values
    u_o = _sol(b, "short_oth").values
    eo = inp.expect_online  # [3, Y, J]
    cp = proj["contract_usd_per_kg"].to_numpy()
    res = b.spec.instruments.offtake.reservation_share
    deliv = o * eo[0].T[:, None, :] + wz * (eo[1] - eo[0]).T[:, None, :] + wq * (eo[2] - eo[0]).T[:, None, :]
    salvage = salvage_usd_per_kg(inp)  # [F, P, R]
    rows = []
    for i, r in enumerate(inp.regions):
        off = float(((deliv[:, i, :] + res * o[:, i, :]) * cp[:, None] * df[None, :]).sum() * MUSD)
        n_cof = min(3, len(inp.years))
        share = np.where(np.arange(len(inp.years)) < n_cof, 1 / n_cof, 0.0)
        cof = float(
            (z[:, i] * proj["cofinance_share"].to_numpy() * proj["capex_musd"].to_numpy()).sum()
            * (share * df).sum()
        )
        df_end = df[-1] / (1 + inp.discount_rate)
        fill = _sol(b, "fill").values[:, i, :]  # [P, Y]
        bought = float(((fill * inp.expect_spot[:, :, i].T) * df[None, :]).sum() * MUSD)
        stock = bought + float(
            (kap[:, i] * inp.holding_usd_per_kg_year).sum() * df.sum() * MUSD
            - (stk[:, -1, :, i] * salvage[:, :, i]).sum() * w * df_end * MUSD
        )
        flo = 0.0
        if r == b.spec.instruments.floor.payer_region:
            cap = proj["capacity_t_per_year"].to_numpy()
            flo = float(
                (
                    q[:, None]
                    * inp.expect_floor_pay.T
                    * cap[:, None]
                    * b.spec.instruments.floor.covered_share
                    * df[None, :]
                ).sum()
                * MUSD
            )
        dfa = df[None, :, None]
        spc = float((s_c[:, :, :, i] * inp.china_usd_per_kg[:, :, :, i] * dfa).sum() * w * MUSD)
        spe = float((s_e[:, :, :, i] * inp.spot_usd_per_kg[:, :, :, i] * dfa).sum() * w * MUSD)
        rat = float(
            (
                (
                    u_p[:, :, :, i] * inp.voll_priority_usd_per_kg[None, None, :, i]
                    + u_o[:, :, :, i] * inp.voll_other_usd_per_kg[None, None, :, i]
                )
                * dfa
            ).sum()
            * w
            * MUSD
        )
        for inst, v in (
            ("offtake", off),
            ("cofinance", cof),
            ("stockpile", stock),
            ("floor", flo),
            ("spot purchases from China", spc),
            ("spot purchases ex-China", spe),
            ("rationing (value of lost load)", rat),
            ("less: stock fills, bought through the rows above", -bought),
        ):
            rows.append(
                {
                    "instrument": inst,
                    "region": r,
                    "payer": payer[r]
                    if inst in ("offtake", "cofinance", "stockpile", "floor")
                    else f"{r} users",
                    "expected_npv_musd": v,
                }
            )
    return pd.DataFrame(rows)


def in_sample_targets(b: Built) -> dict[str, float]:
    """Per target, the share of the optimisation's futures in which it holds (priority demand
    met in every year; China share under the cap)."""
    inp = b.inputs
    c: Any
    prods: list[Any]
    u_p = _sol(b, "short_pri")
    u_o = _sol(b, "short_oth")
    s_c = _sol(b, "spot_chn")
    dem = u_p * 0 + inp.demand_t  # broadcast as a DataArray
    pri = inp.priority_share
    out: dict[str, float] = {}
    for c in b.spec.constraints.coverage:
        prods = [p for p in c.products if p in inp.products]
        need = (pri[None, None] * dem.values)[
            ..., [inp.products.index(p) for p in prods], inp.regions.index(c.region)
        ]
        got = u_p.sel(product=prods, region=c.region).values
        ok = (got <= (1 - c.min_share) * need + 1e-6).all(axis=(1, 2))
        out[f"coverage {c.region} >= {c.min_share:.0%} priority"] = float(ok.mean())
    for k in b.spec.constraints.concentration:
        from critmin.plan.spec import STAGE_OF

        prods = [p for p in inp.products if STAGE_OF[p] == k.stage]
        yrs = [y for y in inp.years if y >= k.from_year]
        sel = {"product": prods, "region": k.region, "year": yrs}
        cons = dem.sel(sel) - u_p.sel(sel) - u_o.sel(sel)
        ok = (s_c.sel(sel) <= k.max_share * cons + 1e-6).all(["year", "product"])
        out[f"China share {k.region} {k.stage} <= {k.max_share:.0%}"] = float(ok.mean())
    for c in b.spec.constraints.cutoff:
        prods = [p for p in c.products if p in inp.products]
        for r in c.regions:
            need = dem.sel(product=prods, region=r) * xr_pri(inp, prods, r)
            met = 1 - u_p.sel(product=prods, region=r) / need.where(need > 0)
            ok = (met.fillna(1) >= c.min_priority_share - 1e-6).all(["year", "product"])
            out[f"priority {r} >= {c.min_priority_share:.0%} (cut-off target)"] = float(ok.mean())
    return out


def xr_pri(inp: ModelInputs, prods: list[str], region: str) -> Any:
    """Priority shares of ``prods`` in ``region`` as a DataArray over product."""
    import xarray as xr

    return xr.DataArray(
        [inp.priority_share[inp.products.index(p), inp.regions.index(region)] for p in prods],
        coords=[pd.Index(prods, name="product")],
    )


# ------------------------------------------------------------------------------ duals
def shadow_prices(b: Built) -> tuple[Shadow, ...]:
    """Fix the binaries at the optimum, re-solve the LP and read the target groups' duals."""
    m = b.model
    sol = {n: m.variables[n].solution.fillna(0.0) for n in ("short_pri", "short_oth")}
    if not b.duals_fixed_lp:  # the decomposition's polish already solved that LP
        for n in ("cofin", "floor"):
            if n in m.variables and m.variables[n].labels.size:
                v = m.variables[n]
                v.fix(value=v.solution.fillna(0.0).round())
                v.relax()
        status = solve_built(b)
        if status is not Status.OPTIMAL:
            return ()
    out: list[Shadow] = []
    inp = b.inputs.planning()
    assert inp.expect_demand is not None
    for gid, g in b.groups.items():
        con = m.constraints[g.constraints[0]]
        dual = con.dual.fillna(0.0)
        if float(np.abs(dual).max()) < TOL:
            continue
        spec = g.spec
        if g.kind == "budget":
            val = -float(dual.sum())
            out.append(
                Shadow(
                    gid,
                    g.kind,
                    g.words,
                    val,
                    "US$1 m a year",
                    f"US$1 m a year more of {spec.get('payer') or spec['region']}'s budget (every year) "
                    f"lowers the expected cost by {money(val)}",
                )
            )
        elif g.kind == "concentration":
            cons = _cons(b, sol, spec["region"], g)
            val = -0.01 * float((dual * cons).sum())
            out.append(
                Shadow(
                    gid,
                    g.kind,
                    g.words,
                    val,
                    "one point",
                    f"one more point of independence from China at the {spec['stage']} stage for "
                    f"{spec['region']} (cap {spec['max_share'] * 100 - 1:.0f}% instead of "
                    f"{spec['max_share']:.0%}) costs {money(val)}",
                )
            )
        elif g.kind == "cutoff":
            r = spec["region"]
            prods = [p for p in spec["products"] if p in inp.products]
            yrs = [y for y in inp.years if y >= spec["from_year"]]
            need = (
                xr_pri(inp, prods, r)
                * _dem_e(inp).sel(product=prods, region=r, year=yrs)
                * (spec["months"] / 12)
            )
            val = 0.01 * float((dual * need).sum())
            out.append(
                Shadow(
                    gid,
                    g.kind,
                    g.words,
                    val,
                    "one point",
                    f"one more point of {r}'s priority demand covered in a {spec['months']}-month "
                    f"cut-off (from {spec['min_priority_share']:.0%}) costs {money(val)}",
                )
            )
        elif g.kind == "coverage":
            r = spec["region"]
            prods = [p for p in spec["products"] if p in inp.products]
            need = xr_pri(inp, prods, r) * _dem_f(b).sel(product=prods, region=r)
            val = -0.01 * float((dual * need).sum())
            out.append(
                Shadow(
                    gid,
                    g.kind,
                    g.words,
                    val,
                    "one point",
                    f"one more point of {r}'s priority demand guaranteed in every future costs {money(val)}",
                )
            )
    return tuple(out)


def _dem_e(inp: ModelInputs) -> Any:
    import xarray as xr

    assert inp.expect_demand is not None
    return xr.DataArray(
        inp.expect_demand,
        coords=[
            pd.Index(list(inp.years), name="year"),
            pd.Index(list(inp.products), name="product"),
            pd.Index(list(inp.regions), name="region"),
        ],
    )


def _dem_f(b: Built) -> Any:
    import xarray as xr

    c = b.coords
    return xr.DataArray(b.inputs.demand_t, coords=[c["future"], c["year"], c["product"], c["region"]])


def _cons(b: Built, sol: dict[str, Any], region: str, g: Any) -> Any:
    """Consumption (demand - shortfall) on the rows of a concentration group."""
    con = b.model.constraints[g.constraints[0]]
    dem = _dem_f(b).sel(region=region)
    cons = dem - sol["short_pri"].sel(region=region) - sol["short_oth"].sel(region=region)
    return cons.sel(year=con.dual.coords["year"], product=con.dual.coords["product"])


__all__ = [
    "conflicts",
    "cost_table",
    "feasible",
    "in_sample_targets",
    "model_size",
    "money",
    "objective_value",
    "portfolio_table",
    "shadow_prices",
    "solve_built",
    "solve_plan",
]
