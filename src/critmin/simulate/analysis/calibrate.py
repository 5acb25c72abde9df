"""Fit licence-regime parameters to an observed monthly export series (least squares).

For parameters theta (default the approval rate ``a`` and the mean licence lag ``L``) and
observations o_i over periods P_i (one month, or a run of months whose total is observed), the
modelled value is m_i(theta) = sum over months t in P_i of X_t(theta), with X_t China's exports
of the chain's product (NdFeB magnets, gallium, germanium or antimony) to ``partner`` in month
t (t), from the engine run at the parameter medians
(``paths=1``) with theta substituted. The fit solves

    min_theta  sum_i r_i(theta)^2,   r_i = m_i(theta) - o_i  (t),   lb <= theta <= ub

over the periods ending on or before ``fit_until``, with
:func:`scipy.optimize.least_squares` (trust-region reflective, 2-point finite differences,
x0 = the prior medians). Reported: fitted values, residuals, RMSE = sqrt(mean r_i^2) (t),
MAPE = mean |r_i| / o_i (a fraction, over o_i > 0), the number of engine runs, and which
parameters the data identify and standard errors sqrt(diag(s^2 (J^T J)^-1)), s^2 = sum r^2 / (n - k)
when n > k. J = dr/dtheta at the solution, columns scaled by the parameter ranges. When J is
rank-deficient (the data cannot tell the parameters apart), the parameters are taken in the order
given and those that add no rank are held at their prior medians (``held``) and the rest refitted,
so the answer does not depend on the optimiser's path along a flat valley.

Engine mechanics that matter (see :mod:`critmin.simulate.engine.step`): in the first month of a
licence regime the controlled share ``s`` of exports goes to the backlog and none is processed;
from the next month a fraction 1/L of the backlog is processed and ``a`` of it approved. So a
single post-control month identifies only the ratio a/L; later months (backlog clearing) are
needed to separate a from L.

Evaluations reuse one :class:`ExportModel` (the network is built once, which is most of a
:func:`critmin.simulate.simulate` call); an evaluation of the 18-month backtest scenario with
one path takes ~0.01-0.02 s (the network ~0.5-1 s, once).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.data.dataset import Dataset
from critmin.data.observed import CHAIN_SERIES, chain_of_product, chain_series, month_range, parse_period
from critmin.errors import DataError
from critmin.jsonsafe import json_safe
from critmin.simulate.assemble import NetworkCache, RunInputs, resolve_values
from critmin.simulate.chains.registry import chain_info
from critmin.simulate.inputs.params import median, parameter_table
from critmin.simulate.inputs.scenario import Scenario, load_scenario
from critmin.simulate.run import run

F = npt.NDArray[np.float64]
#: The review dead time and the lag (issue 12): with the dead time, the approval rate is not
#: identified by any bundled episode (the magnet months to May 2025 lie inside the dead time,
#: the London framework sets the rate after it, and the single chains fix it in chains.yaml).
DEFAULT_PARAMS = ("licence.dead_time_months", "licence.mean_lag_months")
#: Bounds of the parameters :func:`calibrate` can fit without explicit ``bounds``.
#: Parameters calibration may fit; their bounds are the parameter table's.
CALIBRATABLE = (
    "licence.dead_time_months",
    "licence.approval_rate",
    "licence.mean_lag_months",
    "licence.controlled_share_magnets",
    "trade.us_share_of_china_magnet_exports",
)
DEFAULT_BOUNDS: dict[str, tuple[float, float]] = {n: parameter_table()[n].bounds for n in CALIBRATABLE}


def mape(modelled: Sequence[float] | F, observed: Sequence[float] | F) -> float:
    """Mean absolute percentage error as a fraction: mean over o_i > 0 of |m_i - o_i| / o_i.

    Observations of zero are left out (their percentage error is undefined); NaN if none is left.
    """
    m = np.asarray(modelled, dtype=float)
    o = np.asarray(observed, dtype=float)
    keep = o > 0
    if not keep.any():
        return math.nan
    return float(np.mean(np.abs(m[keep] - o[keep]) / o[keep]))


def with_parameters(scenario: Scenario, parameters: Mapping[str, float]) -> Scenario:
    """``scenario`` with ``parameters`` (names from ``parameters.yaml``) set to fixed values.

    ``model_copy`` does not re-run validation, so the names are checked here.
    """
    known = parameter_table()
    bad = sorted(set(parameters) - set(known))
    if bad:
        raise DataError(
            f"unknown parameter(s) {bad}", column="params", fix="see `critmin simulate --list-parameters`"
        )
    merged = {**scenario.parameters, **{k: float(v) for k, v in parameters.items()}}
    return scenario.model_copy(update={"parameters": merged})


class ExportModel:
    """China's modelled exports of one chain by destination for one scenario, fast to re-run.

    Runs the run-assembly layer (:meth:`~critmin.simulate.assemble.RunInputs.build` and
    :func:`~critmin.simulate.run.run`) on ``chain`` (default the scenario's first commodity),
    which must be a chain the scenario simulates and that has an observed series
    (:data:`~critmin.data.observed.CHAIN_SERIES`: rare_earths, gallium, germanium, antimony);
    anything else is refused with a DataError naming the fix. A :class:`NetworkCache` is kept
    across runs, so repeated runs with other licence parameters cost only the engine.
    ``exports`` equals ``simulate(...).trace.exports_chn`` (checked in the tests).
    """

    def __init__(
        self, scenario: Scenario | str, dataset: Dataset | None = None, *, chain: str | None = None
    ) -> None:
        from critmin.data.load import load_dataset

        sc = load_scenario(scenario) if isinstance(scenario, str) else scenario
        chain = chain if chain is not None else sc.commodities[0]
        series = chain_series(chain)
        if chain not in sc.commodities:
            raise DataError(
                f"scenario {sc.name!r} simulates {', '.join(sc.commodities)}, not {chain} "
                f"(the {series.title} series)",
                column="commodities",
                fix=f"add {chain} to the scenario's commodities, or pick --chain "
                f"{' or '.join(c for c in sc.commodities if c in CHAIN_SERIES) or 'of a chain it runs'}",
            )
        primary = chain_info(chain)
        if primary.product != series.product:  # the mapping and the registry must agree
            raise DataError(
                f"chain {chain!r} makes {primary.product_title}, but its observed series is {series.title}",
                column="chain",
                fix="correct CHAIN_SERIES in critmin/data/observed.py",
            )
        self.chain = chain
        self.series = series
        self.scenario = sc.model_copy(update={"commodities": (primary.id,)})
        self.dataset = dataset if dataset is not None else load_dataset()
        self.months: tuple[str, ...] = tuple(self.scenario.months())
        self.regions = self.scenario.regions
        self.cache = NetworkCache()
        self.runs = 0

    def exports(
        self,
        parameters: Mapping[str, float] | None = None,
        *,
        paths: int = 1,
        seed: int = 0,
        scenario: Scenario | None = None,
    ) -> F:
        """The chain's product leaving China [month, path, region] (t); the CHN column stays home."""
        sc = scenario if scenario is not None else self.scenario
        if parameters:
            sc = with_parameters(sc, parameters)
        # trial values win over the chain's own chains.yaml values of the same names
        pins = {self.chain: dict(parameters)} if parameters else None
        inputs = RunInputs.build(sc, self.dataset, seed=seed, paths=paths, cache=self.cache, pinned=pins)
        trace = run(inputs, keep_trace=True).trace
        assert trace is not None  # keep_trace=True
        self.runs += 1
        return trace.exports_chn

    def partner_series(self, exports: F, partner: str) -> F:
        """[month, path] exports to ``partner``: ``World`` = every region except CHN, else a region."""
        c = self.regions.index("CHN")
        if partner == "World":
            keep = np.ones(len(self.regions), dtype=bool)
            keep[c] = False
            return exports[:, :, keep].sum(axis=2)
        if partner not in self.regions or partner == "CHN":
            raise DataError(
                f"partner {partner!r} is not an export destination of the scenario",
                column="partner",
                fix=f"use World or one of {', '.join(r for r in self.regions if r != 'CHN')}",
            )
        return exports[:, :, self.regions.index(partner)]


# ------------------------------------------------------------------------------ result


class FitStatus(StrEnum):
    """Outcome of the least-squares fit."""

    CONVERGED = "converged"
    MAX_EVALUATIONS = "max_evaluations"


@dataclass(frozen=True)
class CalibrationResult:
    """Fitted parameters, fit quality and provenance of :func:`calibrate`.

    ``table``: per observed period ``month``, ``observed_t``, ``prior_t`` (modelled at x0),
    ``modelled_t`` (at the fit), ``residual_t`` = modelled - observed, ``fitted`` (period ends by
    ``fit_until``; later periods are out of sample). ``rmse_t``/``mape`` are over fitted rows.
    """

    scenario: Scenario
    partner: str
    fit_until: str
    params: tuple[str, ...]
    x0: tuple[float, ...]
    values: tuple[float, ...]
    bounds: tuple[tuple[float, float], ...]
    std_error: tuple[float, ...]
    identified: bool
    held: tuple[str, ...]
    jacobian_rank: int
    status: FitStatus
    message: str
    table: pd.DataFrame
    rmse_t: float
    mape: float
    prior_rmse_t: float
    prior_mape: float
    holdout_mape: float
    evaluations: int
    seconds: float
    data_version: str
    notes: tuple[str, ...] = field(default=())

    @property
    def fitted(self) -> dict[str, float]:
        """Fitted values by parameter name."""
        return dict(zip(self.params, self.values, strict=True))

    @property
    def at_bound(self) -> dict[str, bool]:
        """Whether each fitted value sits on a bound (the data push beyond the allowed range)."""
        return {
            p: v in (lo, hi) and p not in self.held
            for p, v, (lo, hi) in zip(self.params, self.values, self.bounds, strict=True)
        }

    def calibrated_scenario(self) -> Scenario:
        """The scenario with the fitted values as fixed parameters."""
        return with_parameters(self.scenario, self.fitted)

    def to_dict(self) -> dict[str, Any]:
        """JSON document (``critmin calibrate --format json``)."""

        bound = self.at_bound
        return {
            "scenario": self.scenario.name,
            "partner": self.partner,
            "fit_until": self.fit_until,
            "status": self.status.value,
            "message": self.message,
            "parameters": [
                {
                    "name": p,
                    "prior": x,
                    "fitted": v,
                    "std_error": json_safe(se),
                    "lower": lo,
                    "upper": hi,
                    "at_bound": bound[p],
                }
                for p, x, v, se, (lo, hi) in zip(
                    self.params, self.x0, self.values, self.std_error, self.bounds, strict=True
                )
            ],
            "identified": self.identified,
            "held_at_prior": list(self.held),
            "jacobian_rank": self.jacobian_rank,
            "rmse_t": json_safe(self.rmse_t),
            "mape": json_safe(self.mape),
            "prior_rmse_t": json_safe(self.prior_rmse_t),
            "prior_mape": json_safe(self.prior_mape),
            "holdout_mape": json_safe(self.holdout_mape),
            "evaluations": self.evaluations,
            "seconds": round(self.seconds, 3),
            "data_version": self.data_version,
            "rows": [
                {k: (json_safe(v) if isinstance(v, float) else v) for k, v in r.items()}
                for r in self.table.to_dict(orient="records")
            ],
            "notes": list(self.notes),
        }


# ------------------------------------------------------------------------------ fit


def _observation_index(
    observed: pd.DataFrame, months: tuple[str, ...]
) -> list[tuple[str, str, float, list[int]]]:
    """(period, last month, value, month indices) per observed row; errors name the row."""
    if not {"month", "value_t"} <= set(observed.columns):
        raise DataError(
            "observed series needs columns month, value_t", column="month", fix="rename the columns"
        )
    pos = {m: i for i, m in enumerate(months)}
    path = observed.attrs.get("path")
    out = []
    for i, row in enumerate(observed.to_dict(orient="records")):
        line = int(row["line"]) if "line" in row and pd.notna(row["line"]) else None
        period = parse_period(str(row["month"]))
        if period is None:
            raise DataError(
                f"{row['month']!r} is not a month YYYY-MM",
                column="month",
                fix="write e.g. 2025-05",
                line=line,
                path=path if line is not None else None,
            )
        span = month_range(*period)
        if any(m not in pos for m in span):
            raise DataError(
                f"{row['month']} is outside the scenario's months {months[0]}..{months[-1]}"
                + ("" if line is not None else f" (row {i})"),
                column="month",
                fix="drop the row or widen the scenario's start/end",
                line=line,
                path=path if line is not None else None,
            )
        value = float(row["value_t"])
        if not math.isfinite(value) or value < 0:
            raise DataError(
                f"value {row['value_t']!r} is not a non-negative number",
                column="value_t",
                fix="tonnes, >= 0",
                line=line,
                path=path if line is not None else None,
            )
        out.append((str(row["month"]), span[-1], value, [pos[m] for m in span]))
    return out


def _partner_rows(observed: pd.DataFrame, partner: str) -> pd.DataFrame:
    """The rows of ``partner`` when the series has a ``partner`` column (else every row)."""
    if "partner" not in observed.columns:
        return observed
    mine = observed.loc[observed["partner"] == partner]
    if mine.empty:
        found = ", ".join(sorted({str(x) for x in observed["partner"]}))
        raise DataError(
            f"the observed series has no rows for partner {partner!r} (it has {found})",
            path=observed.attrs.get("path"),
            column="partner",
            fix=f"pick one of {found} with --partner",
        )
    out = mine.reset_index(drop=True)
    out.attrs = dict(observed.attrs)
    return out


def check_series_product(observed: pd.DataFrame, chain: str) -> None:
    """Refuse a series whose ``product`` column (when it has one) names another chain's product.

    A product is matched by :func:`~critmin.data.observed.chain_of_product` (the chain id, the
    registry product, or a printed customs product string); an unknown product is refused too.
    A series without a ``product`` column is taken to be of ``chain``.
    """
    if "product" not in observed.columns:
        return
    path = observed.attrs.get("path")
    want = chain_series(chain)
    for row in observed.to_dict(orient="records"):
        text = str(row["product"])
        got = chain_of_product(text)
        if got == chain:
            continue
        line = int(row["line"]) if "line" in row and pd.notna(row["line"]) else None
        what = "an unknown product" if got is None else f"{got}'s product"
        raise DataError(
            f"product {text!r} is {what}, but the chain being fitted is {chain} ({want.title})",
            path=path if line is not None else None,
            line=line,
            column="product",
            fix=f"use a {want.title} series, or --chain {got}" if got else f"write product {chain}",
        )


def calibrate(
    scenario: Scenario | str,
    observed: pd.DataFrame,
    *,
    params: Sequence[str] = DEFAULT_PARAMS,
    fit_until: str = "2025-05",
    partner: str = "World",
    bounds: Mapping[str, tuple[float, float]] | None = None,
    dataset: Dataset | None = None,
    model: ExportModel | None = None,
    max_evaluations: int = 200,
) -> CalibrationResult:
    """Fit ``params`` to ``observed`` (columns ``month``, ``value_t``) by bounded least squares.

    See the module docstring for the objective. ``bounds`` overrides :data:`DEFAULT_BOUNDS`;
    ``model`` reuses an :class:`ExportModel` (its scenario is used). Deterministic.
    """
    t0 = time.perf_counter()
    mdl = model if model is not None else ExportModel(scenario, dataset)
    check_series_product(observed, mdl.chain)
    names = tuple(params)
    if not names:
        raise DataError("no parameters to fit", column="params", fix=f"e.g. {', '.join(DEFAULT_PARAMS)}")
    table = parameter_table()
    bnds: list[tuple[float, float]] = []
    for n in names:
        if n not in table:
            raise DataError(
                f"unknown parameter {n!r}", column="params", fix="see `critmin simulate --list-parameters`"
            )
        b = (bounds or {}).get(n, DEFAULT_BOUNDS.get(n))
        if b is None:
            raise DataError(
                f"no default bounds for {n!r}",
                column="params",
                fix=f"pass bounds=..., or fit one of {', '.join(DEFAULT_BOUNDS)}",
            )
        bnds.append((float(b[0]), float(b[1])))
    if parse_period(fit_until) is None:
        raise DataError(f"{fit_until!r} is not a month YYYY-MM", column="fit_until", fix="e.g. 2025-05")
    obs = _observation_index(_partner_rows(observed, partner), mdl.months)
    fit_rows = [k for k, o in enumerate(obs) if o[1] <= fit_until]
    if not fit_rows:
        raise DataError(
            f"no observed month on or before {fit_until} inside {mdl.months[0]}..{mdl.months[-1]}",
            column="month",
            fix="give observations in the scenario's window, or a later --fit-until",
        )
    values = resolve_values(mdl.scenario, chain_info(mdl.scenario.commodities[0]))
    lo = np.array([b[0] for b in bnds])
    hi = np.array([b[1] for b in bnds])
    x0 = np.clip(np.array([median(values[n]) for n in names]), lo, hi)
    o_all = np.array([o[2] for o in obs])
    idx = [o[3] for o in obs]
    runs_before = mdl.runs

    def modelled(x: F) -> F:
        series = mdl.partner_series(mdl.exports(dict(zip(names, map(float, x), strict=True))), partner)[:, 0]
        return np.array([series[i].sum() for i in idx])

    def solve(active: list[int]) -> tuple[F, F, Any]:
        """Fit the ``active`` parameters, the others held at x0.

        Returns (x, J with columns scaled by the parameter ranges, the scipy solution).
        """

        def resid(xa: F) -> F:
            x = x0.copy()
            x[active] = xa
            return modelled(x)[fit_rows] - o_all[fit_rows]

        span = np.maximum(hi[active] - lo[active], 1e-9)
        from scipy.optimize import least_squares  # deferred: keeps CLI start-up light

        sol = least_squares(
            resid,
            x0[active],
            bounds=(lo[active], hi[active]),
            method="trf",
            x_scale=span,
            diff_step=np.full(len(active), 1e-3),
            max_nfev=max_evaluations,
        )
        x = x0.copy()
        x[active] = sol.x
        # Own forward differences, stepping into the box: ``sol.jac`` of the trust-region
        # reflective method is scaled by the distance to an active bound, which hides the
        # sensitivity of a parameter that sits on its bound.
        base = resid(sol.x)
        jac = np.zeros((len(base), len(active)))
        for pos in range(len(active)):
            step = 1e-3 * span[pos]
            xa = np.array(sol.x, dtype=float)
            xa[pos] += step if xa[pos] + step <= hi[active][pos] else -step
            jac[:, pos] = (resid(xa) - base) / (xa[pos] - sol.x[pos]) * span[pos]
        return x, jac, sol

    active = list(range(len(names)))
    x, jac_s, sol = solve(active)
    # Parameters the data cannot tell apart (rank-deficient Jacobian, range-scaled): keep, in the
    # order given, those that add rank; hold the others at their prior medians and refit.
    keep = _independent_columns(jac_s)
    held: tuple[str, ...] = ()
    if len(keep) < len(active):
        held = tuple(names[j] for j in active if j not in keep)
        if keep:
            x, jac_s, sol = solve(keep)
        else:
            x = x0.copy()
        active = keep
    rank = len(_independent_columns(jac_s)) if active else 0
    # Snap values within rounding of a bound onto it (least_squares stops a hair inside).
    tol = 1e-9 * np.maximum(hi - lo, 1e-9)
    x = np.where(np.abs(x - lo) <= tol, lo, np.where(np.abs(x - hi) <= tol, hi, x))
    on_bound = (x == lo) | (x == hi)
    m_fit, m_prior = modelled(x), modelled(x0)
    fitted_mask = np.zeros(len(obs), dtype=bool)
    fitted_mask[fit_rows] = True
    r = m_fit - o_all
    n_obs, k = len(fit_rows), len(active)
    se = [math.nan] * len(names)
    if k and rank == k and n_obs > k:
        s2 = float((r[fitted_mask] ** 2).sum()) / (n_obs - k)
        span = np.maximum(hi[active] - lo[active], 1e-9)
        cov = np.linalg.pinv(jac_s.T @ jac_s) * s2
        for pos, j in enumerate(active):
            if not on_bound[j]:  # a standard error means nothing at a bound
                se[j] = float(np.sqrt(max(cov[pos, pos], 0.0)) * span[pos])
    notes = []
    if held:
        notes.append(
            f"the {n_obs} fitted observation(s) do not identify {', '.join(held)} separately "
            f"(rank {len(keep)} of {len(names)} in the first fit): held at the prior median"
        )
    frame = pd.DataFrame(
        {
            "month": [o[0] for o in obs],
            "observed_t": o_all,
            "prior_t": m_prior,
            "modelled_t": m_fit,
            "residual_t": r,
            "fitted": fitted_mask,
        }
    )
    hold = ~fitted_mask
    return CalibrationResult(
        scenario=mdl.scenario,
        partner=partner,
        fit_until=fit_until,
        params=names,
        x0=tuple(float(v) for v in x0),
        values=tuple(float(v) for v in x),
        bounds=tuple(bnds),
        std_error=tuple(se),
        identified=not held,
        held=held,
        jacobian_rank=rank,
        status=FitStatus.CONVERGED if sol.status > 0 else FitStatus.MAX_EVALUATIONS,
        message=str(sol.message),
        table=frame,
        rmse_t=float(np.sqrt(np.mean(r[fitted_mask] ** 2))),
        mape=mape(m_fit[fitted_mask], o_all[fitted_mask]),
        prior_rmse_t=float(np.sqrt(np.mean((m_prior - o_all)[fitted_mask] ** 2))),
        prior_mape=mape(m_prior[fitted_mask], o_all[fitted_mask]),
        holdout_mape=mape(m_fit[hold], o_all[hold]) if hold.any() else math.nan,
        evaluations=mdl.runs - runs_before,
        seconds=time.perf_counter() - t0,
        data_version=mdl.dataset.version,
        notes=tuple(notes),
    )


def _independent_columns(jac: F, rtol: float = 1e-6) -> list[int]:
    """Columns of ``jac`` that add rank, taken greedily in order (tolerance relative to the largest)."""
    if jac.size == 0:
        return []
    scale = float(np.abs(jac).max())
    if scale == 0.0:
        return []
    keep: list[int] = []
    for j in range(jac.shape[1]):
        trial = [*keep, j]
        sv = np.linalg.svd(jac[:, trial] / scale, compute_uv=False)
        if int((sv > rtol).sum()) == len(trial):
            keep = trial
    return keep
