"""Joint calibration of the licence-regime parameters on every control episode since 2023.

Episodes (:data:`EPISODES`): the Ga and Ge licences of 1 Aug 2023 (MOFCOM/GAC 2023 No.23), the
Sb licences of 15 Sep 2024 (2024 No.33) and the medium/heavy rare-earth and magnet licences of
4 Apr 2025 (2025 No.18), each replayed by its bundled backtest scenario on its own chain. The
parameters (default :data:`JOINT_PARAMS`: the review dead time D and the mean geometric lag L
after it) are shared: MOFCOM runs one dual-use review process for all of them.

The chains' pre-control export *levels* differ from the customs rows for reasons that are not
the regime (antimony: contained Sb against the gross weight of products; the destination
weights), so each episode e is compared as an index on its own pre-control level. With o_pre_e
the observed mean monthly export over the observations ending before the control month and
m_pre_e the modelled mean over the same months,

    r_i = (m_i / m_pre_e - o_i / o_pre_e) / n_i      (index points per month)

for every World observation i of episode e that starts in or after the control month and ends
by ``fit_until`` (2025-05), n_i its number of months. The fit solves min sum_i r_i^2 within the
parameter table's bounds (:func:`scipy.optimize.least_squares`, trust-region reflective, x0 =
the prior medians). Later observations (the magnet recovery from June 2025) are forecasts:
their index errors are reported, never fitted. One objective evaluation runs the four
episodes once at the medians (~0.3 s).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.data.dataset import Dataset
from critmin.data.observed import chain_observations
from critmin.errors import DataError
from critmin.jsonsafe import json_safe
from critmin.simulate.analysis.calibrate import ExportModel
from critmin.simulate.assemble import resolve_values
from critmin.simulate.chains.registry import chain_info
from critmin.simulate.inputs.params import median, parameter_table

F = npt.NDArray[np.float64]
JOINT_PARAMS = ("licence.dead_time_months", "licence.mean_lag_months")
#: The chains each fitted parameter applies to. The rare-earth episode's fitted months (Apr and
#: May 2025) lie inside the dead time for any D > ~1.2 months, so they identify neither D nor L:
#: its run keeps the parameter table's values, and its months after May 2025 judge that choice.
SINGLE_CHAINS = ("gallium", "germanium", "antimony")
JOINT_SCOPE: dict[str, tuple[str, ...]] = dict.fromkeys(JOINT_PARAMS, SINGLE_CHAINS)
FIT_UNTIL = "2025-05"


@dataclass(frozen=True, kw_only=True)
class Episode:
    """One control episode: the chain, its bundled backtest scenario, the first controlled month."""

    chain: str
    scenario: str
    control_month: str
    #: post-control periods left out of the fit (reported, never fitted), with the reason
    unfitted: tuple[str, ...] = ()


EPISODES = (
    Episode(chain="gallium", scenario="backtest-2023-08-gallium", control_month="2023-08"),
    Episode(chain="germanium", scenario="backtest-2023-08-germanium", control_month="2023-08"),
    # Licences from 15 Sep 2024: September's 6,533 t were shipped before the deadline (a rush
    # that monthly steps cannot split from the controlled half), so it is not fitted.
    Episode(
        chain="antimony", scenario="backtest-2024-09-antimony", control_month="2024-09", unfitted=("2024-09",)
    ),
    Episode(chain="rare_earths", scenario="backtest-2025-04", control_month="2025-04"),
)


@dataclass(frozen=True)
class _Prepared:
    episode: Episode
    model: ExportModel
    pre: list[list[int]]  # month indices of each pre-control observation
    pre_observed_t: float  # o_pre (t/month)
    rows: pd.DataFrame  # post-control observations: period, first, last, observed_t, fitted, idx


def _prepare(ep: Episode, dataset: Dataset, fit_until: str) -> _Prepared:
    mdl = ExportModel(ep.scenario, dataset, chain=ep.chain)
    pos = {m: i for i, m in enumerate(mdl.months)}
    obs = [
        o
        for o in chain_observations(ep.chain, mdl.months[0], mdl.months[-1])
        if o.partner == "World" and o.first in pos and o.last in pos
    ]
    pre = [o for o in obs if o.last < ep.control_month]
    if not pre:
        raise DataError(
            f"episode {ep.chain}: no observation before {ep.control_month} to set the pre-control level",
            column="control_month",
            fix="add a pre-control customs row for the chain",
        )
    o_pre = sum(o.observed_t for o in pre) / sum(len(o.months) for o in pre)
    post = [o for o in obs if o.first >= ep.control_month]
    rows = pd.DataFrame(
        {
            "chain": ep.chain,
            "period": [o.period for o in post],
            "observed_t": [o.observed_t for o in post],
            "fitted": [o.last <= fit_until and o.period not in ep.unfitted for o in post],
            "idx": [[pos[m] for m in o.months] for o in post],
        }
    )
    return _Prepared(ep, mdl, [[pos[m] for m in o.months] for o in pre], o_pre, rows)


def _modelled(
    p: _Prepared, parameters: Mapping[str, float], scope: Mapping[str, tuple[str, ...]]
) -> tuple[F, float]:
    """(modelled t per post-control observation, m_pre t/month) at the ``parameters`` in scope."""
    mine = {n: v for n, v in parameters.items() if p.episode.chain in scope.get(n, (p.episode.chain,))}
    world = p.model.partner_series(p.model.exports(mine), "World")[:, 0]
    m_pre = sum(float(world[i].sum()) for i in p.pre) / sum(len(i) for i in p.pre)
    return np.array([float(world[i].sum()) for i in p.rows["idx"]]), m_pre


@dataclass(frozen=True)
class JointFit:
    """Outcome of :func:`calibrate_joint`: fitted shared values and per-observation index errors.

    ``table``: chain, period, observed_t, modelled_t (at the fit), prior_t, observed_index and
    modelled_index (per month, on the episode's pre-control level), fitted. ``rmse_index`` /
    ``forecast_rmse_index``: root mean square index error (per month) over fitted / later rows.
    """

    params: tuple[str, ...]
    x0: tuple[float, ...]
    values: tuple[float, ...]
    bounds: tuple[tuple[float, float], ...]
    std_error: tuple[float, ...]
    table: pd.DataFrame
    objective: float
    prior_objective: float
    rmse_index: float
    prior_rmse_index: float
    forecast_rmse_index: float
    prior_forecast_rmse_index: float
    evaluations: int
    seconds: float

    @property
    def fitted(self) -> dict[str, float]:
        """Fitted values by parameter name."""
        return dict(zip(self.params, self.values, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "parameters": [
                {"name": n, "prior": x, "fitted": v, "std_error": json_safe(se), "lower": lo, "upper": hi}
                for n, x, v, se, (lo, hi) in zip(
                    self.params, self.x0, self.values, self.std_error, self.bounds, strict=True
                )
            ],
            "objective": self.objective,
            "prior_objective": self.prior_objective,
            "rmse_index": json_safe(self.rmse_index),
            "prior_rmse_index": json_safe(self.prior_rmse_index),
            "forecast_rmse_index": json_safe(self.forecast_rmse_index),
            "prior_forecast_rmse_index": json_safe(self.prior_forecast_rmse_index),
            "evaluations": self.evaluations,
            "seconds": round(self.seconds, 3),
            "rows": [json_safe(r) for r in self.table.drop(columns=["idx"]).to_dict(orient="records")],
        }


class JointObjective:
    """The joint residual vector r(theta) of the module docstring, over prepared episodes."""

    def __init__(
        self,
        params: Sequence[str] = JOINT_PARAMS,
        *,
        episodes: Sequence[Episode] = EPISODES,
        fit_until: str = FIT_UNTIL,
        dataset: Dataset | None = None,
        scope: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.scope = dict(JOINT_SCOPE if scope is None else scope)
        ds = dataset if dataset is not None else Dataset.bundled()
        table = parameter_table()
        unknown = [n for n in params if n not in table]
        if unknown:
            raise DataError(
                f"unknown parameter(s) {unknown}",
                column="params",
                fix="see `critmin simulate --list-parameters`",
            )
        self.params = tuple(params)
        self.bounds = tuple(table[n].bounds for n in self.params)
        self.prepared = [_prepare(ep, ds, fit_until) for ep in episodes]
        first = self.prepared[0].model.scenario
        values = resolve_values(first, chain_info(first.commodities[0]))
        self.x0 = np.clip(
            np.array([median(values[n]) for n in self.params]),
            [b[0] for b in self.bounds],
            [b[1] for b in self.bounds],
        )
        self.evaluations = 0

    def rows(self, x: Sequence[float] | F) -> pd.DataFrame:
        """Every post-control observation with modelled_t and the two indices at ``x``."""
        pars = dict(zip(self.params, map(float, x), strict=True))
        frames = []
        for p in self.prepared:
            m, m_pre = _modelled(p, pars, self.scope)
            n = np.array([len(i) for i in p.rows["idx"]], dtype=float)
            frames.append(
                p.rows.assign(
                    modelled_t=m,
                    observed_index=p.rows["observed_t"].to_numpy(dtype=float) / p.pre_observed_t / n,
                    modelled_index=m / m_pre / n if m_pre > 0 else np.nan,
                )
            )
        self.evaluations += 1
        return pd.concat(frames, ignore_index=True)

    def residuals(self, x: Sequence[float] | F) -> F:
        """r_i over the fitted rows (index points per month)."""
        t = self.rows(x)
        t = t.loc[t["fitted"]]
        return (t["modelled_index"] - t["observed_index"]).to_numpy(dtype=float)

    def sse(self, x: Sequence[float] | F) -> float:
        """sum_i r_i^2."""
        return float((self.residuals(x) ** 2).sum())


def _rmse(t: pd.DataFrame, fitted: bool) -> float:
    sel = t.loc[t["fitted"] == fitted]
    if sel.empty:
        return math.nan
    return float(np.sqrt(((sel["modelled_index"] - sel["observed_index"]) ** 2).mean()))


def _std_errors(obj: JointObjective, x: F, lo: F, hi: F) -> tuple[float, ...]:
    """sqrt(diag(s^2 (J^T J)^-1)), s^2 = SSE / (n - k), J by forward differences into the box.

    NaN for a parameter on a bound or when n <= k.
    """
    base = obj.residuals(x)
    n, k = len(base), len(x)
    if n <= k:
        return tuple(math.nan for _ in x)
    jac = np.zeros((n, k))
    for j in range(k):
        step = 1e-2 * (hi[j] - lo[j])
        xs = x.copy()
        xs[j] += step if xs[j] + step <= hi[j] else -step
        jac[:, j] = (obj.residuals(xs) - base) / (xs[j] - x[j])
    cov = np.linalg.pinv(jac.T @ jac) * float((base**2).sum()) / (n - k)
    return tuple(
        math.nan if x[j] in (lo[j], hi[j]) else float(np.sqrt(max(cov[j, j], 0.0))) for j in range(k)
    )


def calibrate_joint(
    params: Sequence[str] = JOINT_PARAMS,
    *,
    episodes: Sequence[Episode] = EPISODES,
    fit_until: str = FIT_UNTIL,
    dataset: Dataset | None = None,
    max_evaluations: int = 60,
) -> JointFit:
    """Fit the shared regime ``params`` on ``episodes`` (module docstring). Deterministic."""
    from scipy.optimize import least_squares  # deferred: keeps CLI start-up light

    t0 = time.perf_counter()
    obj = JointObjective(params, episodes=episodes, fit_until=fit_until, dataset=dataset)
    lo = np.array([b[0] for b in obj.bounds])
    hi = np.array([b[1] for b in obj.bounds])
    sol = least_squares(
        obj.residuals,
        obj.x0,
        bounds=(lo, hi),
        method="trf",
        x_scale=hi - lo,
        diff_step=np.full(len(lo), 1e-2),
        max_nfev=max_evaluations,
    )
    x = np.asarray(sol.x, dtype=float)
    se = _std_errors(obj, x, lo, hi)
    fit_rows, prior_rows = obj.rows(x), obj.rows(obj.x0)
    table = fit_rows.assign(prior_t=prior_rows["modelled_t"])
    return JointFit(
        params=obj.params,
        x0=tuple(float(v) for v in obj.x0),
        values=tuple(float(v) for v in x),
        bounds=obj.bounds,
        std_error=se,
        table=table,
        objective=obj.sse(x),
        prior_objective=obj.sse(obj.x0),
        rmse_index=_rmse(fit_rows, True),
        prior_rmse_index=_rmse(prior_rows, True),
        forecast_rmse_index=_rmse(fit_rows, False),
        prior_forecast_rmse_index=_rmse(prior_rows, False),
        evaluations=obj.evaluations,
        seconds=time.perf_counter() - t0,
    )
