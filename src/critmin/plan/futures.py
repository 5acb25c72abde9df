"""Futures for the planner, sampled from the simulator, and the model inputs built from them.

:func:`sample_futures` runs the plan's scenario (``critmin.simulate``, monthly, from January
of the year before the horizon to its last December) for ``futures`` paths with the plan's seed,
and a deterministic run of the ``baseline`` scenario at the parameter medians (the "normal"
flows). Per future, year and region it keeps:

* **China availability**: China's modelled magnet exports to the region that year over the
  baseline's (capped at 1). The simulator's rare-earth chain prices and controls one flow of
  magnets; the October 2025 package controls oxides and magnets alike, so NdPr oxide takes the
  magnet availability. Dy+Tb oxide takes the simulator's Dy+Tb feed chain: 1 - its ex-China
  shortfall share that year (one value for all regions).
* **Prices** (US$/kg): magnets: the ex-China spot = the simulator's ex-China price ratio x the
  economics data's reference ex-China price, China's supply price = the China price ratio x
  the data's China price; Dy+Tb: the feed chain's ex-China price ratio x its reference (China:
  as magnets', times the feed's over the magnets' ex-China ratio); NdPr oxide its own path
  (:mod:`critmin.plan.oxide`): China = the bundled China price at the run's start x the China
  price ratio, ex-China = China x (1 + a premium that grows as China's supply is cut off).
* **Demand growth**: the region's simulated magnet demand that year over its level in the year
  before the horizon (applied to all three products' base demand).
* **Project lead times**: triangular(low, mode, high) years from January of the first year,
  drawn per project and future from the plan's seed (numpy ``default_rng``); co-financed:
  ``max(0, mode - pull + (lead - mode) / 2)`` (started earlier, half the spread); with a floor:
  ``min(lead, mode)`` (the financing tail is cut). Output ramps linearly to nameplate over
  ``ramp_years``; ``online`` is the year's average share of nameplate.

Results are cached in this process per (scenario, seed, futures, years, data version).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.plan.model import ModelInputs
from critmin.plan.spec import PRODUCTS, PlanSpec

F = npt.NDArray[np.float64]
#: Stages whose projects supply a plan product (mining concentrate and metal are not bought).
SUPPLY_STAGES = ("separation", "magnet")


@dataclass(frozen=True)
class Futures:
    """Sampled futures: arrays [F, Y, R] over the simulator's regions ``regions`` (ex-China
    availability, prices in US$/kg by product [F, Y, P], demand growth) and provenance."""

    scenario: str
    seed: int
    years: tuple[int, ...]
    regions: tuple[str, ...]
    avail: F  # [F, Y, P, R]
    spot_usd_per_kg: F  # [F, Y, P]
    china_usd_per_kg: F  # [F, Y, P]
    growth: F  # [F, Y, R]
    data_version: str
    #: how the NdPr oxide path was built (critmin.plan.oxide)
    ndpr_basis: str = ""
    #: [T, F] monthly ex-China NdPr oxide price (US$/kg) from January of the year before the horizon
    ndpr_monthly_usd_per_kg: F | None = None

    @property
    def n(self) -> int:
        """Number of futures."""
        return int(self.avail.shape[0])


def _annual(x: F, n_years: int) -> F:
    """Monthly [T, ...] (T = 12 x years) -> annual means [years, ...]."""
    return x.reshape(n_years, 12, *x.shape[1:]).mean(axis=1)


def _run(scenario: Any, seed: int, paths: int) -> tuple[Any, Any]:
    from critmin.simulate.assemble import RunInputs
    from critmin.simulate.executors import InProcess, RunOptions
    from critmin.simulate.result import join_results

    inputs = RunInputs.build(scenario, seed=seed, paths=paths)
    per_block = InProcess().run_blocks(inputs, inputs.blocks(), RunOptions(keep_trace=True))
    return inputs, join_results([b[0] for b in per_block])


def _scenario(name: str, first: int, last: int) -> Any:
    from critmin.simulate.inputs.scenario import load_scenario

    sc = load_scenario(name)
    return type(sc).model_validate({**sc.model_dump(), "start": f"{first}-01", "end": f"{last}-12"})


@lru_cache(maxsize=8)
def sample_futures(scenario: str, seed: int, futures: int, start: int, end: int) -> Futures:
    """Futures of ``scenario`` for the years ``start``-``end`` (module docstring)."""
    from critmin.data.load import load_dataset
    from critmin.plan.economics import load_economics
    from critmin.plan.oxide import OxideBasis, china_anchor, ndpr_prices

    econ = load_economics()
    first = start - 1
    n_y = end - first + 1
    sc = _scenario(scenario, first, end)
    inputs, res = _run(sc, seed, futures)
    _, base = _run(_scenario("baseline", first, end), 0, 1)
    tr, btr = res.trace, base.trace
    assert tr is not None
    assert btr is not None
    regions = tuple(sc.regions)
    exp = _annual(tr.exports_chn, n_y)  # [Y+1, P, R]
    bexp = _annual(btr.exports_chn, n_y)[:, 0]  # [Y+1, R]
    with np.errstate(divide="ignore", invalid="ignore"):
        a_mag = np.where(bexp[:, None, :] > 0, exp / bexp[:, None, :], 1.0)
    a_mag = np.clip(a_mag, 0.0, 1.0)[1:].transpose(1, 0, 2)  # [F, Y, R]
    feed_sh = res.series.get("feed_shortfall_pct_ex_china")
    a_dy = (
        np.clip(1 - _annual(feed_sh, n_y)[1:].T / 100.0, 0.0, 1.0)
        if feed_sh is not None
        else np.ones(a_mag.shape[:2])
    )  # [F, Y]
    avail = np.stack([a_mag, np.broadcast_to(a_dy[:, :, None], a_mag.shape), a_mag], axis=2)  # P order
    px = _annual(tr.price_x, n_y)[1:].T  # [F, Y]
    pc = _annual(tr.price_c, n_y)[1:].T
    fpx = res.series.get("feed_price_ratio_ex_china")
    px_dy = _annual(fpx, n_y)[1:].T if fpx is not None else px
    ref = econ.price_usd_per_kg
    chn = econ.price_china_usd_per_kg
    # NdPr oxide: its own path (critmin.plan.oxide), monthly, then annual means
    ex_r = [i for i, r in enumerate(regions) if r != "CHN"]
    base_x = np.maximum(btr.exports_chn[:, 0, ex_r].sum(axis=1), 1e-9)[:, None]  # [T, 1]
    a_x = np.clip(tr.exports_chn[:, :, ex_r].sum(axis=2) / base_x, 0.0, 1.0)  # [T, F]
    p0, month0, src = china_anchor(load_dataset().table("prices"), f"{first}-01")
    basis = OxideBasis(p0, month0, econ.spot_premium["ndpr_oxide"], econ.control_premium["ndpr_oxide"], src)
    ox_x, ox_c = ndpr_prices(
        tr.price_c,
        a_x,
        anchor_usd_per_kg=p0,
        normal_premium=basis.normal_premium,
        control_premium=basis.control_premium,
    )
    # Dy+Tb: the feed's simulated ex-China price ratio (to the uncontrolled baseline) times the
    # NORMAL-times ex-China price (China's x the normal premium). The bundled reference price
    # (Benchmark CIF Europe, Jul 2025) is itself a controls-period price: anchoring the ratio on
    # it counted the control premium twice (a median US$7,200/kg in 2027).
    dy_normal = chn["dytb_oxide"] * (1 + econ.spot_premium["dytb_oxide"])
    spot = np.stack([_annual(ox_x, n_y)[1:].T, px_dy * dy_normal, px * ref["ndfeb_magnet"]], axis=2)
    china = np.stack(
        [
            _annual(ox_c, n_y)[1:].T,
            pc * chn["dytb_oxide"] * px_dy / np.maximum(px, 1e-9),
            pc * chn["ndfeb_magnet"],
        ],
        axis=2,
    )
    dem = _annual(tr.demand, n_y)  # [Y+1, F, R]
    growth = (dem[1:] / np.maximum(dem[:1], 1e-9)).transpose(1, 0, 2)
    return Futures(
        scenario=scenario,
        seed=seed,
        years=tuple(range(start, end + 1)),
        regions=regions,
        avail=avail,
        spot_usd_per_kg=spot,
        china_usd_per_kg=china,
        growth=growth,
        data_version=f"{inputs.data_version}+{econ.data_version}",
        ndpr_basis=basis.words(),
        ndpr_monthly_usd_per_kg=ox_x,
    )


def online_fractions(projects: pd.DataFrame, years: tuple[int, ...], futures: int, seed: int) -> F:
    """[3, F, Y, J] average share of nameplate each year: base, co-financed, with a floor."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 13]))
    n_j = len(projects)
    lo = projects["lead_low_years"].to_numpy(float)
    mo = projects["lead_mode_years"].to_numpy(float)
    hi = projects["lead_high_years"].to_numpy(float)
    hi = np.maximum(hi, lo + 1e-9)
    mo = np.clip(mo, lo, hi)
    lead = rng.triangular(lo, mo, hi, size=(futures, n_j))
    pull = projects["cofinance_pull_years"].to_numpy(float)
    ramp = np.maximum(projects["ramp_years"].to_numpy(float), 1e-9)
    leads = [lead, np.maximum(0.0, mo - pull + (lead - mo) / 2), np.minimum(lead, mo)]
    t = (np.arange(len(years) * 12) + 0.5) / 12.0  # mid-months, years from Jan of the first year
    out = np.empty((3, futures, len(years), n_j))
    for k, ld in enumerate(leads):
        share = np.clip((t[None, :, None] - ld[:, None, :]) / ramp[None, None, :], 0.0, 1.0)  # [F, T, J]
        out[k] = share.reshape(futures, len(years), 12, n_j).mean(axis=2)
    # differences below 1e-6 of nameplate are noise that only slows the solver
    for k in (1, 2):
        close = np.abs(out[k] - out[0]) < 1e-6
        out[k][close] = out[0][close]
    return np.round(out, 6)


def plan_projects(spec: PlanSpec, econ: Any) -> pd.DataFrame:
    """The economics projects a plan considers: supply stages, the plan's products and ids."""
    p = econ.projects
    p = p[p["stage"].isin(SUPPLY_STAGES) & p["product"].isin(spec.products)]
    if spec.projects:
        from critmin.errors import DataError

        unknown = sorted(set(spec.projects) - set(econ.projects["project_id"]))
        if unknown:
            raise DataError(
                f"unknown project(s) {unknown}",
                column="projects",
                fix="use project_id values of critmin/plan/data/projects.csv",
            )
        p = p[p["project_id"].isin(spec.projects)]
    return p.set_index("project_id")


def model_inputs(
    spec: PlanSpec, *, futures: int | None = None, seed: int | None = None
) -> tuple[ModelInputs, str]:
    """The model inputs of ``spec`` (its scenario's futures and the economics data) and the
    data version; ``futures``/``seed`` override the spec's (the closed loop uses others)."""
    from critmin.plan.economics import load_economics

    econ = load_economics()
    n_f = futures if futures is not None else spec.futures
    sd = seed if seed is not None else spec.seed
    years = spec.years.years
    fut = sample_futures(spec.scenario, sd, n_f, years[0], years[-1])
    prods = spec.products
    pidx = [PRODUCTS.index(p) for p in prods]
    regs = spec.regions
    ridx = [fut.regions.index(r) for r in regs]
    proj = plan_projects(spec, econ)
    len(years)
    off = spec.instruments.offtake
    ref = np.array([econ.price_usd_per_kg[p] for p in prods])
    contract = np.maximum(
        proj["opex_usd_per_kg"].to_numpy(float) * (1 + off.margin),
        np.array([econ.price_usd_per_kg[p] for p in proj["product"]]),
    )
    share = np.minimum(spec.instruments.cofinance.share, proj["cofinance_max_share"].to_numpy(float))
    table = pd.DataFrame(
        {
            "product": proj["product"],
            "region": proj["region"],
            "stage": proj["stage"],
            "capacity_t_per_year": proj["capacity_t_per_year"].astype(float),
            "capex_musd": proj["capex_musd"].astype(float),
            "contract_usd_per_kg": contract,
            "cofinance_ok": (proj["capex_musd"] > 0) & (proj["cofinance_max_share"] > 0),
            "floor_ok": proj["status"] != "operating",
            "cofinance_share": share,
        },
        index=proj.index,
    )
    online = online_fractions(proj, years, n_f, sd)
    base = np.array(
        [
            [
                econ.demand_t_per_year[(r, p)] if p == "ndfeb_magnet" else econ.feed_t_per_year[(r, p)]
                for r in regs
            ]
            for p in prods
        ]
    )
    growth = fut.growth[:, :, ridx]  # [F, Y, R]
    demand = base[None, None, :, :] * growth[:, :, None, :]
    avail = fut.avail[:, :, pidx][:, :, :, ridx]
    spot = np.broadcast_to(fut.spot_usd_per_kg[:, :, pidx][:, :, :, None], demand.shape).copy()
    china = np.broadcast_to(fut.china_usd_per_kg[:, :, pidx][:, :, :, None], demand.shape).copy()
    fl = spec.instruments.floor
    payer_spot = fut.spot_usd_per_kg[:, :, PRODUCTS.index(fl.product)]  # [F, Y]
    floor_pay = np.maximum(fl.strike_usd_per_kg - payer_spot, 0.0)[:, :, None] * np.ones((1, 1, len(proj)))
    ex_regions = [r for r in fut.regions if r != "CHN"]
    tot = {p: sum(econ.demand_t_per_year.get((r, p), 0.0) for r in ex_regions) for p in prods}
    mshare = np.array([[econ.demand_t_per_year[(r, p)] / max(tot[p], 1e-9) for r in regs] for p in prods])
    sectors = econ.sector_share
    voll = econ.voll_usd_per_kg
    pri = np.array([[sectors[r].get("defence", 0.0) for r in regs] for _ in prods])
    other = np.array(
        [
            [
                sum(s * voll[k] for k, s in sectors[r].items() if k != "defence")
                / max(1 - sectors[r].get("defence", 0.0), 1e-9)
                for r in regs
            ]
            for _ in prods
        ]
    )
    # VOLL is per kg of magnet short; a kg of oxide short leaves kg_magnet_per_kg of magnet unmade
    per_kg = np.array([econ.kg_magnet_per_kg[p] for p in prods])[:, None]
    inputs = ModelInputs(
        years=years,
        products=prods,
        regions=regs,
        projects=table,
        demand_t=demand,
        china_share=np.ones((len(prods), len(regs))),
        china_avail=avail,
        spot_usd_per_kg=spot,
        china_usd_per_kg=china,
        online=online,
        floor_pay_usd_per_kg=floor_pay,
        market_share=mshare,
        priority_share=pri,
        voll_priority_usd_per_kg=voll["defence"] * per_kg * np.ones_like(pri),
        voll_other_usd_per_kg=other * per_kg,
        holding_usd_per_kg_year=np.array([econ.holding_cost_usd_per_kg_year[p] for p in prods]),
        ref_usd_per_kg=ref,
        discount_rate=float(econ.discount_rate),
        notes={
            "futures": f"{n_f} futures of {spec.scenario} (seed {sd}); normal flows from the "
            "baseline scenario at its medians",
            "products": "NdPr oxide takes the magnet chain's China availability and its own price "
            "path; Dy+Tb the feed chain's availability and price ratio",
            "ndpr_price": fut.ndpr_basis,
            "demand": "magnets: the region's magnet demand; oxides: its magnet makers' feed "
            "(economics data), grown as simulated magnet demand",
            "china_share": "China can supply a region's whole need when its exports flow (availability 1)",
        },
    )
    return inputs, fut.data_version


__all__ = ["SUPPLY_STAGES", "Futures", "model_inputs", "online_fractions", "plan_projects", "sample_futures"]
