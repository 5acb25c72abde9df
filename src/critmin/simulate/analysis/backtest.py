"""Backtest: a chain's modelled exports from China against the observed customs series.

Chains with a series (:data:`critmin.data.observed.CHAIN_SERIES`) and their bundled scenarios
(:data:`CHAIN_SCENARIOS`): ``rare_earths`` (NdFeB magnets, ``backtest-2025-04``: the 4 April
2025 licences, approvals resuming after the June 2025 London framework; 2025-01 to 2026-06),
``gallium`` and ``germanium`` (the August 2023 licences and the December 2024 US ban;
2023-01 to 2025-12), ``antimony`` (the September 2024 licences and the US ban; 2023-06 to
2025-12). The scenario is run at the parameter medians (``paths=1``) or over ``paths`` Monte
Carlo paths (then p50 with p5/p95). For every month t and destination r:

    World_t = sum over destinations r != CHN of exports_chn[t, r]      (t)
    r_t     = exports_chn[t, r]        (one partner row per model region: USA, EU27, JPN, ...)

(``exports_chn`` is what leaves China: delivered plus licences approved; its CHN column is the
part kept at home and is not an export.) Observations come from
:func:`critmin.data.observed.chain_observations` (reported, or derived and labelled so); an
observation over several months is compared with the modelled sum over those months. Over the
observations i with o_i > 0, per partner and overall:

    MAPE = mean_i |m_i - o_i| / o_i      (a fraction)

Months up to ``fit_until`` (2025-05) are ``fitted``: the only months calibration may use, and
``mape`` is over them. Later months are a forecast of the mechanism (backlog clearing,
restocking), not a fit: ``forecast_mape`` is over the observations ending after ``fit_until``
(the magnet months Jun-Nov 2025 added from Reuters / China customs). With
``calibrated=True`` the licence approval rate and lag are first fitted (:func:`calibrate`) on the
World observations ending by ``fit_until``; both the prior and the calibrated MAPE are reported.

The pre-control reference: the model's 2024-equivalent monthly export (the first month of the
scenario run without any control, growth index 1) against the printed 2024 figures
(:func:`critmin.data.observed.baseline_reference`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin._version import __version__
from critmin.data.catalogue import Source
from critmin.data.dataset import Dataset
from critmin.data.observed import (
    Observation,
    chain_observations,
    chain_series,
    observed_sources,
    parse_period,
    pre_control_reference,
)
from critmin.errors import DataError
from critmin.jsonsafe import json_safe
from critmin.simulate.analysis.calibrate import (
    DEFAULT_PARAMS,
    CalibrationResult,
    ExportModel,
    calibrate,
    mape,
)
from critmin.simulate.assemble import resolve_values
from critmin.simulate.budget import check_paths, check_run, check_seed
from critmin.simulate.chains.registry import chain_info
from critmin.simulate.inputs.params import median
from critmin.simulate.inputs.scenario import Scenario, load_scenario

F = npt.NDArray[np.float64]
DEFAULT_SCENARIO = "backtest-2025-04"
#: The bundled backtest scenario of each chain with an observed series.
CHAIN_SCENARIOS: dict[str, str] = {
    "rare_earths": DEFAULT_SCENARIO,
    "gallium": "backtest-2023-08-gallium",
    "germanium": "backtest-2023-08-germanium",
    "antimony": "backtest-2024-09-antimony",
}
FIT_UNTIL = "2025-05"


@dataclass(frozen=True)
class BaselineCheck:
    """The model's pre-control monthly export against the printed 2024 references.

    ``references``: :func:`~critmin.data.observed.baseline_reference` plus ``model_ratio`` =
    model_t_per_month / t_per_month.
    """

    model_t_per_month: float
    references: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        rows = _records(self.references)
        return {
            "model_t_per_month": self.model_t_per_month,
            "references": [{**r, "source_ids": list(r["source_ids"])} for r in rows],
        }


@dataclass(frozen=True)
class BacktestResult:
    """Outcome of :func:`backtest`.

    ``series``: per partner and month ``observed_t`` (NaN where not observed as a single month),
    ``modelled_t`` (p50 when ``paths > 1``, with ``modelled_p5_t``/``modelled_p95_t``),
    ``prior_t`` (when calibrated: the run at the prior medians), ``basis``, ``fitted``.
    ``observations``: every observation (single months and multi-month totals) with the
    modelled value over its period and its absolute percentage error ``ape``.
    """

    scenario: Scenario
    paths: int
    seed: int
    data_version: str
    fit_until: str
    chain: str
    months: tuple[str, ...]
    parameters: dict[str, float]
    series: pd.DataFrame
    observations: pd.DataFrame
    mape: dict[str, float]
    baseline: BaselineCheck
    forecast_mape: dict[str, float] = field(default_factory=dict)
    prior_mape: dict[str, float] | None = None
    prior_parameters: dict[str, float] | None = None
    calibration: CalibrationResult | None = None
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=())
    package_version: str = __version__

    @property
    def source_ids(self) -> tuple[str, ...]:
        """Sources of every observation used."""
        return tuple(sorted({s for ids in self.observations["source_ids"] for s in ids}))

    def sources(self) -> list[Source]:
        """The :class:`Source` of every id in :attr:`source_ids`."""
        known = observed_sources()
        return [known[s] for s in self.source_ids]

    def to_dict(self) -> dict[str, Any]:
        """The ``critmin backtest --format json`` document."""
        series = [_json_row(r) for r in _records(self.series)]
        obs = [{**_json_row(r), "source_ids": list(r["source_ids"])} for r in _records(self.observations)]
        return {
            "scenario": self.scenario.name,
            "chain": self.chain,
            "observed_series": chain_series(self.chain).title,
            "paths": self.paths,
            "seed": self.seed,
            "data_version": self.data_version,
            "critmin_version": self.package_version,
            "months": [self.months[0], self.months[-1]],
            "fit_until": self.fit_until,
            "parameters": self.parameters,
            "series": series,
            "observations": obs,
            "mape": {k: json_safe(v) for k, v in self.mape.items()},
            "forecast_mape": {k: json_safe(v) for k, v in self.forecast_mape.items()},
            "prior_mape": None
            if self.prior_mape is None
            else {k: json_safe(v) for k, v in self.prior_mape.items()},
            "prior_parameters": self.prior_parameters,
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
            "baseline": self.baseline.to_dict(),
            "sources": [
                {"id": s.id, "publisher": s.publisher, "url": s.url, "licence": s.licence}
                for s in self.sources()
            ],
            "notes": list(self.notes),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")]


def _json_row(r: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json_safe(r)
    return out


def _observation_frame(
    obs: tuple[Observation, ...], months: tuple[str, ...], fit_until: str, partners: tuple[str, ...]
) -> pd.DataFrame:
    inside = [o for o in obs if o.first >= months[0] and o.last <= months[-1] and o.partner in partners]
    return pd.DataFrame(
        {
            "partner": [o.partner for o in inside],
            "period": [o.period for o in inside],
            "first": [o.first for o in inside],
            "last": [o.last for o in inside],
            "observed_t": [o.observed_t for o in inside],
            "basis": [o.basis.value for o in inside],
            "fitted": [o.last <= fit_until for o in inside],
            "rationale": [o.rationale for o in inside],
            "source_ids": [o.source_ids for o in inside],
        }
    )


def _partners(mdl: ExportModel) -> tuple[str, ...]:
    """World, then every destination region of the model (all regions but CHN)."""
    return ("World", *(r for r in mdl.regions if r != "CHN"))


def _modelled(mdl: ExportModel, exports: F, obs: pd.DataFrame) -> tuple[dict[str, tuple[F, F, F]], F, F, F]:
    """Per partner (p5, p50, p95) by month, and per observation (p5, p50, p95) over its period."""
    pos = {m: i for i, m in enumerate(mdl.months)}
    monthly: dict[str, tuple[F, F, F]] = {}
    per_path: dict[str, F] = {}
    for partner in _partners(mdl):
        s = mdl.partner_series(exports, partner)  # [T, P]
        per_path[partner] = s
        q = np.percentile(s, [5, 50, 95], axis=1)
        monthly[partner] = (q[0], q[1], q[2])
    o5, o50, o95 = (np.zeros(len(obs)) for _ in range(3))
    for k, (partner, a, b) in enumerate(zip(obs["partner"], obs["first"], obs["last"], strict=True)):
        tot = per_path[str(partner)][pos[str(a)] : pos[str(b)] + 1].sum(axis=0)
        o5[k], o50[k], o95[k] = np.percentile(tot, [5, 50, 95])
    return monthly, o5, o50, o95


def _mape_by_partner(obs: pd.DataFrame, modelled: F, partners: tuple[str, ...]) -> dict[str, float]:
    o = obs["observed_t"].to_numpy(dtype=float)
    out = {
        p: mape(modelled[(obs["partner"] == p).to_numpy()], o[(obs["partner"] == p).to_numpy()])
        for p in partners
        if p == "World" or (obs["partner"] == p).any()
    }
    out["overall"] = mape(modelled, o)
    return out


def _licence_values(sc: Scenario, names: tuple[str, ...]) -> dict[str, float]:
    values = resolve_values(sc, chain_info(sc.commodities[0]))  # sc: the model's one-chain scenario
    return {n: median(values[n]) for n in names}


def baseline_check(mdl: ExportModel) -> BaselineCheck:
    """Model's World export in the first month with no control at all vs the pre-control references.

    References: :func:`~critmin.data.observed.pre_control_reference` of the chain (for magnets
    the 2024 figures; for gallium and germanium the months before August 2023; for antimony
    before September 2024).
    """
    sc = mdl.scenario.model_copy(update={"include_history": False, "events": (), "end": mdl.scenario.start})
    world = float(mdl.partner_series(mdl.exports(scenario=sc), "World")[0, 0])
    ref = pre_control_reference(mdl.chain)
    ref["model_ratio"] = world / ref["t_per_month"]
    return BaselineCheck(world, ref)


def backtest(
    scenario: Scenario | str | None = None,
    *,
    chain: str | None = None,
    paths: int = 1,
    seed: int = 0,
    calibrated: bool = False,
    fit_until: str = FIT_UNTIL,
    dataset: Dataset | None = None,
) -> BacktestResult:
    """Compare a chain's modelled exports from China (World and every destination) with the observed series.

    See the module docstring for the definitions. ``chain`` is rare_earths (default), gallium,
    germanium or antimony; ``scenario`` is a bundled name, a YAML path or a :class:`Scenario`
    (default :data:`CHAIN_SCENARIOS` of the chain); a scenario that does not simulate the chain
    is refused. ``paths=1`` runs at the medians (deterministic). With ``paths > 1`` and
    ``calibrated``, the fitted values are fixed on every path and the other parameters sampled.
    Partner rows: World and every region of the scenario but CHN.
    """
    t0 = time.perf_counter()
    check_paths(paths)
    check_seed(seed)
    if parse_period(fit_until) is None or "/" in fit_until:
        raise DataError(f"{fit_until!r} is not a month YYYY-MM", column="fit_until", fix="e.g. 2025-05")
    chain = chain if chain is not None else "rare_earths"
    chain_series(chain)  # an unknown chain is refused before any scenario is read
    if scenario is None:
        scenario = CHAIN_SCENARIOS[chain]
    sc = load_scenario(scenario) if isinstance(scenario, str) else scenario
    mdl = ExportModel(sc, dataset, chain=chain)
    # the export model keeps the full [month, path, region] series of every run
    check_run(mdl.scenario.commodities, len(sc.months()), len(sc.regions), paths, keep_trace=True)
    partners = _partners(mdl)
    obs = _observation_frame(
        chain_observations(chain, mdl.months[0], mdl.months[-1]), mdl.months, fit_until, partners
    )
    notes: list[str] = []
    if obs.empty:
        notes.append(f"no observation falls inside {mdl.months[0]}..{mdl.months[-1]}: MAPE is undefined")
    prior_values = _licence_values(mdl.scenario, DEFAULT_PARAMS)
    cal: CalibrationResult | None = None
    overrides: dict[str, float] = {}
    if calibrated:
        world = obs.loc[(obs["partner"] == "World") & obs["fitted"]]
        cal = calibrate(
            sc,
            pd.DataFrame({"month": world["period"], "value_t": world["observed_t"]}),
            fit_until=fit_until,
            model=mdl,
        )
        overrides = cal.fitted
        notes.extend(cal.notes)
    exports = mdl.exports(overrides, paths=paths, seed=seed)
    monthly, o5, o50, o95 = _modelled(mdl, exports, obs)
    prior_monthly: dict[str, tuple[F, F, F]] | None = None
    prior_mape: dict[str, float] | None = None
    if calibrated:
        prior_monthly, _, p50, _ = _modelled(mdl, mdl.exports(paths=paths, seed=seed), obs)
        fitted_rows = obs["fitted"].to_numpy(dtype=bool)
        prior_mape = _mape_by_partner(obs.loc[fitted_rows], p50[fitted_rows], partners)
        obs = obs.assign(prior_t=p50)
    obs = obs.assign(modelled_t=o50)
    if paths > 1:
        obs = obs.assign(modelled_p5_t=o5, modelled_p95_t=o95)
    observed = obs["observed_t"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        obs = obs.assign(ape=np.where(observed > 0, np.abs(o50 - observed) / observed, np.nan))
    one_month = obs.loc[obs["first"] == obs["last"]]
    single = {
        (str(r["partner"]), str(r["first"])): (float(r["observed_t"]), str(r["basis"]))
        for r in _records(one_month)
    }
    rows = []
    for partner in partners:
        p5, p50, p95 = monthly[partner]
        for t, month in enumerate(mdl.months):
            value, basis = single.get((partner, month), (math.nan, ""))
            row: dict[str, Any] = {
                "partner": partner,
                "month": month,
                "observed_t": float(value),
                "modelled_t": float(p50[t]),
            }
            if paths > 1:
                row["modelled_p5_t"], row["modelled_p95_t"] = float(p5[t]), float(p95[t])
            if prior_monthly is not None:
                row["prior_t"] = float(prior_monthly[partner][1][t])
            row["basis"] = basis or None
            row["fitted"] = month <= fit_until
            rows.append(row)
    fit = obs["fitted"].astype(bool)
    return BacktestResult(
        scenario=sc,
        paths=paths,
        seed=seed,
        data_version=mdl.dataset.version,
        fit_until=fit_until,
        chain=chain,
        months=mdl.months,
        parameters={**prior_values, **overrides},
        series=pd.DataFrame(rows),
        observations=obs.reset_index(drop=True),
        mape=_mape_by_partner(obs.loc[fit], o50[fit.to_numpy()], partners),
        forecast_mape=_mape_by_partner(obs.loc[~fit], o50[~fit.to_numpy()], partners),
        baseline=baseline_check(mdl),
        prior_mape=prior_mape,
        prior_parameters=prior_values if calibrated else None,
        calibration=cal,
        seconds=time.perf_counter() - t0,
        notes=tuple(notes),
    )
