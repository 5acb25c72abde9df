"""Which uncertain parameters drive a scenario's outcome: global variance-based (Sobol') indices.

The tornado of :mod:`critmin.simulate.analysis.sensitivity` moves one parameter at a time around the
medians. :func:`sobol` moves all of them at once over their whole distributions and splits the
variance of the outcome Y among them (Sobol' 2001; Saltelli et al. 2008, *Global Sensitivity
Analysis: The Primer*, ch. 4). For an input X_i, with the inputs independent:

==  ================================================================================================
S1  first-order index V[E(Y | X_i)] / V(Y): the share of the variance X_i explains on its own, the
    expected reduction in variance if X_i alone were known exactly.
ST  total-order index E[V(Y | X_~i)] / V(Y) = 1 - V[E(Y | X_~i)] / V(Y): the share that involves
    X_i at all, alone or through interactions; ST_i >= S1_i, and ST_i - S1_i is X_i's share in
    interactions. ST_i ~ 0 means X_i can be fixed anywhere in its range without changing V(Y).
==  ================================================================================================

Sum of S1 <= 1; 1 - sum(S1) is the share of the variance due to interactions.

**Estimators** (SALib's :func:`SALib.analyze.sobol.analyze`, Saltelli et al. 2010, *Comput.
Phys. Commun.* 181, 259-270, Table 2, estimators (b) and (f)). Two independent N x D sample
matrices A and B are drawn from a scrambled Sobol' sequence on the unit hypercube, and for each
i a matrix A_B^(i): A with its column i taken from B. With f(.) the model run on each row and
V = var(f(A), f(B)):

    S1_i = mean_j[ f(B)_j (f(A_B^(i))_j - f(A)_j) ] / V                      (Saltelli 2010)
    ST_i = mean_j[ (f(A)_j - f(A_B^(i))_j)^2 ] / (2 V)                       (Jansen 1999)

Cost: N (D + 2) model runs (A, B and the D matrices A_B^(i); no second-order indices). The
``S1_conf`` / ``ST_conf`` columns are half-widths of a ``conf_level`` interval from
``num_resamples`` bootstrap resamples of the N rows (normal approximation). With small N the
estimates are noisy: small indices can come out slightly negative and S1 slightly above ST.

**Mapping and runs.** Column i of the unit-hypercube design goes through the inverse CDF of
X_i's distribution (:func:`~critmin.simulate.analysis.sensitivity.quantiles`), so the rows are draws of
the real inputs. All N (D + 2) rows run as paths of *one*
:func:`~critmin.simulate.run.simulate` call through the tornado's per-path designs (path r
gets row r); the outcome of a path depends on that path's inputs alone, so this equals one
separate run per row (a test checks rows against separate runs).

**Parameters that cannot vary.** ``simulate`` takes some quantities at their median for all
paths (the network volumes, the US share of China's magnet exports, the defence share: they
shape the network built once per call). They cannot differ between paths, so they get no
index: they stay at their medians and are listed in :attr:`SobolResult.fixed` with the reason,
as are parameters the scenario never reads and any the caller excludes. They are found during
the run (the design is asked for its median), and their A_B^(i) blocks, identical to A, are
dropped before the analysis: the cost is N (D + 2) with D counting them. The indices are then
shares of the variance with those parameters held at their medians.

Where ``simulate`` draws a parameter more than once per path
(``capacity.project_delay_months`` and ``capacity.mine_extra_delay_months``: one draw per
project) the design gives every project the same value, as the tornado does: their indices
are those of a delay common to all projects.

Randomness is explicit: ``SeedSequence(seed)`` spawns one child for the scrambling of the
Sobol' sequence and one for the bootstrap, so equal seeds give equal results. The model runs
themselves draw nothing (every uncertain input is set by the design).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin._version import __version__
from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.jsonsafe import json_safe
from critmin.simulate.analysis.sensitivity import (
    ADDITIVE,
    EX_CHINA,
    UncertainParameter,
    assign,
    check_outcome,
    describe,
    outcome,
    quantiles,
    uncertain_parameters,
)
from critmin.simulate.assemble import RunInputs
from critmin.simulate.budget import check_run
from critmin.simulate.executors import Executor
from critmin.simulate.inputs.params import PathValues, Value
from critmin.simulate.inputs.scenario import Scenario, load_scenario
from critmin.simulate.run import run

F = npt.NDArray[np.float64]

#: Default base sample size N (a power of two, as the Sobol' sequence needs).
SOBOL_N = 256
#: Unit-hypercube points are kept this far inside (0, 1): normal and lognormal quantiles at 0 or
#: 1 are infinite. Scrambled Sobol' points reach 0 only with probability ~2^-30 per point.
_EDGE = 1e-12
#: Why a parameter gets no index (values of the ``reason`` column of :attr:`SobolResult.fixed`).
REASON_MEDIAN = "simulate() takes it at its median for all paths (network level): it cannot vary per path"
REASON_PARTLY = "simulate() reads it per path and also at its median for all paths: no index estimated"
REASON_UNUSED = "simulate() does not read it for this scenario"
REASON_EXCLUDED = "excluded by the caller"


class SobolStatus(StrEnum):
    """How a Sobol' analysis ended."""

    OK = "ok"
    #: The outcome was equal on every row: V(Y) = 0 and every index is set to 0.
    CONSTANT_OUTCOME = "constant_outcome"
    #: No parameter could vary (none uncertain, or all fixed or excluded): no indices.
    NO_PARAMETERS = "no_parameters"


@dataclass(frozen=True)
class SobolResult:
    """Outcome of :func:`sobol`.

    ``indices``: one row per varied parameter, largest ST first: ``parameter``, ``S1``,
    ``S1_conf``, ``ST``, ``ST_conf`` (module docstring), then ``origin``, ``unit``,
    ``distribution``. ``fixed``: the uncertain parameters that got no index, with ``value``
    (the median they were held at) and ``reason``. ``n`` is the base sample N; ``model_runs``
    the paths simulated, N (D + 2); ``outcome_mean`` / ``outcome_sd`` describe the outcome
    over the A and B rows (draws from the input distributions). ``design``: the analysed rows
    (Saltelli order: A, each A_B^(i), B for every base point) with the parameter values and
    the ``outcome``.
    """

    indices: pd.DataFrame
    fixed: pd.DataFrame
    scenario: Scenario
    metric: str
    region: str
    n: int
    seed: int
    model_runs: int
    data_version: str
    status: SobolStatus
    outcome_mean: float
    outcome_sd: float
    conf_level: float
    num_resamples: int
    design: pd.DataFrame = field(repr=False)
    package_version: str = __version__

    @property
    def sum_s1(self) -> float:
        """Sum of the first-order indices; 1 - sum_s1 is the share due to interactions."""
        return float(self.indices["S1"].sum())

    def to_dict(self) -> dict[str, Any]:
        """The ``critmin sensitivity --method sobol --format json`` document."""
        return {
            "method": "sobol",
            "scenario": self.scenario.name,
            "metric": self.metric,
            "region": self.region,
            "n": self.n,
            "seed": self.seed,
            "model_runs": self.model_runs,
            "status": str(self.status),
            "outcome_mean": json_safe(self.outcome_mean),
            "outcome_sd": json_safe(self.outcome_sd),
            "sum_S1": json_safe(self.sum_s1),
            "conf_level": self.conf_level,
            "num_resamples": self.num_resamples,
            "data_version": self.data_version,
            "critmin_version": self.package_version,
            "rows": _records(self.indices),
            "fixed": _records(self.fixed),
        }


# --------------------------------------------------------------------------- the pure machinery
#: Largest Sobol' base sample: N (D + 2) paths of one run, so 2^20 with 15 parameters is
#: 18 million paths, beyond :data:`critmin.simulate.budget.MAX_PATHS` already.
MAX_SOBOL_N = 2**20


def check_n(n: int) -> None:
    """Raise :class:`DataError` unless ``n`` is a power of two from 2 to :data:`MAX_SOBOL_N`."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 2 or n & (n - 1):
        lower = 2 ** max(1, int(math.log2(n))) if isinstance(n, int) and n >= 2 else 2
        raise DataError(
            f"the Sobol' base sample n={n!r} must be a power of two of at least 2",
            column="n",
            fix=f"use e.g. {lower} or {2 * lower} (cost: n x (parameters + 2) runs)",
        )
    if n > MAX_SOBOL_N:
        raise DataError(
            f"the Sobol' base sample n={n:,} is above {MAX_SOBOL_N:,}",
            column="n",
            fix=f"use at most --n {MAX_SOBOL_N} (cost: n x (parameters + 2) runs)",
        )


def saltelli_design(values: Sequence[Value], n: int, seed: int | np.random.SeedSequence = 0) -> tuple[F, F]:
    """Saltelli's N (D + 2) x D design: the unit-hypercube points and the parameter values.

    Rows are in SALib's order: for each of the ``n`` base points, the row of A, the D rows of
    A_B^(i) and the row of B (:func:`SALib.sample.sobol.sample`, scrambled,
    ``calc_second_order=False``). Column i of the values is ``quantiles(values[i], u)`` with u
    kept within [1e-12, 1 - 1e-12].
    """
    # deferred: SALib imports scipy.stats (~1 s of CLI start-up)
    from SALib.sample import sobol as sobol_sample  # type: ignore[import-untyped]

    check_n(n)
    d = len(values)
    if d == 0:
        raise DataError("no parameters to sample", fix="give at least one distribution")
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    problem = _problem([f"x{i}" for i in range(d)])
    unit = np.asarray(
        sobol_sample.sample(
            problem, n, calc_second_order=False, scramble=True, seed=np.random.default_rng(ss)
        ),
        dtype=float,
    )
    unit = np.clip(unit, _EDGE, 1.0 - _EDGE)
    mapped = np.column_stack([quantiles(v, unit[:, i]) for i, v in enumerate(values)])
    return unit, mapped


def analysed_rows(n: int, d: int, keep: Sequence[int]) -> npt.NDArray[np.intp]:
    """Rows of an ``n`` (``d`` + 2)-row design left when only the columns ``keep`` are analysed.

    Per base point: A, the A_B^(i) rows of the kept columns, B. Dropping A_B^(i) of a column
    that did not vary leaves a valid design for the others (their A, B and A_B^(j) rows are
    unchanged).
    """
    per = np.array([0, *(1 + j for j in keep), d + 1], dtype=np.intp)
    return (np.arange(n, dtype=np.intp)[:, None] * (d + 2) + per[None, :]).reshape(-1)


def indices_from_outputs(
    y: F,
    names: Sequence[str],
    n: int,
    seed: int | np.random.SeedSequence = 0,
    *,
    num_resamples: int = 100,
    conf_level: float = 0.95,
) -> tuple[pd.DataFrame, SobolStatus]:
    """S1, ST and their bootstrap half-widths from outputs ``y`` in Saltelli order.

    ``y`` has ``n`` (len(``names``) + 2) values (:func:`analysed_rows` order). Returns the tidy
    frame (``parameter``, ``S1``, ``S1_conf``, ``ST``, ``ST_conf``, largest ST first) and the
    status: a constant ``y`` gives zeros and :attr:`SobolStatus.CONSTANT_OUTCOME`.
    """
    from SALib.analyze import sobol as sobol_analyze  # type: ignore[import-untyped]  # deferred

    d = len(names)
    y = np.asarray(y, dtype=float)
    if y.shape != (n * (d + 2),):
        raise DataError(
            f"{y.shape[0] if y.ndim == 1 else y.shape} outputs for n={n} and {d} parameters; "
            f"need n (D + 2) = {n * (d + 2)}",
            fix="pass one output per design row, in the design's order",
        )
    if not np.isfinite(y).all():
        bad = int((~np.isfinite(y)).sum())
        raise DataError(
            f"{bad} of {y.size} model outputs are not finite", fix="check the outcome for these inputs"
        )
    if d == 0:
        return _frame([], *(np.zeros(0) for _ in range(4))), SobolStatus.NO_PARAMETERS
    if np.ptp(y) == 0.0:
        z = np.zeros(d)
        return _frame(names, z, z, z, z), SobolStatus.CONSTANT_OUTCOME
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    # SALib seeds its bootstrap only when `seed` is truthy (0 falls back to the global
    # np.random state): hand it a non-zero integer drawn from our seed.
    boot_seed = int(np.random.default_rng(ss).integers(1, 2**31 - 1))
    si = sobol_analyze.analyze(
        _problem(list(names)),
        y,
        calc_second_order=False,
        num_resamples=num_resamples,
        conf_level=conf_level,
        seed=boot_seed,
    )
    return _frame(names, si["S1"], si["S1_conf"], si["ST"], si["ST_conf"]), SobolStatus.OK


def sobol_indices(
    model: Callable[[F], F],
    values: Mapping[str, Value],
    *,
    n: int = SOBOL_N,
    seed: int = 0,
    num_resamples: int = 100,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Sobol' indices of any vectorised ``model`` of independent inputs ``values`` (name -> distribution).

    ``model`` gets an N (D + 2) x D array of input values (columns in ``values``' order, rows
    as in :func:`saltelli_design`) and returns one output per row. The same machinery as
    :func:`sobol`, without the scenario; ``frame.attrs`` holds ``n``, ``seed``, ``model_runs``
    and ``status``.
    """
    _check_analysis(num_resamples, conf_level)
    names = list(values)
    ss_design, ss_boot = np.random.SeedSequence(seed).spawn(2)
    _, x = saltelli_design(list(values.values()), n, ss_design)
    y = np.asarray(model(x), dtype=float).reshape(-1)
    frame, status = indices_from_outputs(
        y, names, n, ss_boot, num_resamples=num_resamples, conf_level=conf_level
    )
    frame.attrs.update({"n": n, "seed": seed, "model_runs": len(x), "status": str(status)})
    return frame


# --------------------------------------------------------------------------- scenarios
def sobol(
    scenario: Scenario | str,
    metric: str = "cumulative_shortfall_t",
    region: str = EX_CHINA,
    *,
    n: int = SOBOL_N,
    seed: int = 0,
    dataset: Dataset | None = None,
    exclude: Sequence[str] = (),
    num_resamples: int = 100,
    conf_level: float = 0.95,
    executor: Executor | None = None,
) -> SobolResult:
    """First- and total-order Sobol' indices of ``metric`` in ``region`` for every uncertain parameter.

    The parameters are those of the tornado
    (:func:`~critmin.simulate.analysis.sensitivity.uncertain_parameters`), and ``metric`` / ``region``
    are as there (``exCHN``: the total outside China). ``n`` is the base sample N, a power of
    two; the cost is N (D + 2) paths of one ``simulate`` call, D the uncertain parameters not
    excluded (e.g. N = 256 and D = 15: 4,352 paths). Parameters ``simulate`` takes at their
    median for all paths, parameters it does not read, and those named in ``exclude`` are held
    at their medians and listed in :attr:`SobolResult.fixed` with the reason; they get no
    index. Estimators, meaning and seeds: module docstring.
    """
    from critmin.data.load import load_dataset

    sc = load_scenario(scenario) if isinstance(scenario, str) else scenario
    ds = dataset if dataset is not None else load_dataset()
    check_outcome(sc, metric, region)
    check_n(n)
    _check_analysis(num_resamples, conf_level)
    specs = uncertain_parameters(sc)
    unknown = sorted(set(exclude) - {s.name for s in specs})
    if unknown:
        raise DataError(
            f"cannot exclude {', '.join(map(repr, unknown))}: not an uncertain parameter of {sc.name!r}",
            column="exclude",
            fix="use names from critmin.simulate.analysis.sensitivity.uncertain_parameters(scenario)",
        )
    held = [s for s in specs if s.name in set(exclude)]
    varied = [s for s in specs if s.name not in set(exclude)]
    reasons: dict[str, str] = {s.name: REASON_EXCLUDED for s in held}
    ss_design, ss_boot = np.random.SeedSequence(seed).spawn(2)
    kept: list[UncertainParameter] = []
    runs = 0
    y_used = ab = np.zeros(0)
    design = pd.DataFrame()
    if varied:
        needs_trace = region == EX_CHINA and metric not in ADDITIVE and metric != "peak_price_ratio"
        # the run's memory before the N (D + 2) x D design is drawn (the run checks again)
        check_run(
            sc.commodities,
            len(sc.months()),
            len(sc.regions),
            n * (len(varied) + 2),
            keep_trace=needs_trace,
            option="--n",
            per=len(varied) + 2,
            power_of_two=True,
        )
        _, x = saltelli_design([s.value for s in varied], n, ss_design)
        designs = [PathValues(x[:, j].copy(), s.value.median()) for j, s in enumerate(varied)]
        medians: list[Any] = [s.value.median() for s in held]
        inputs = RunInputs.build(
            assign(sc, [*varied, *held], [*designs, *medians]), ds, seed=seed, paths=len(x)
        )
        if executor is not None:
            # The designs record locally which of them a run draws per path; blocks run
            # elsewhere do not report back, so draw the first block here once.
            inputs.engine_inputs(inputs.blocks()[0])
        res = run(inputs, keep_trace=needs_trace, executor=executor)
        y = outcome(res, metric, region)
        runs = len(x)
        for s, dsg in zip(varied, designs, strict=True):
            if dsg.median_used:
                reasons[s.name] = REASON_PARTLY if dsg.sampled else REASON_MEDIAN
            elif not dsg.sampled:
                reasons[s.name] = REASON_UNUSED
        keep = [j for j, s in enumerate(varied) if s.name not in reasons]
        kept = [varied[j] for j in keep]
        rows = analysed_rows(n, len(varied), keep)
        y_used = y[rows]
        ab = y[analysed_rows(n, len(varied), [])]  # the A and B rows: draws of the inputs
        design = pd.DataFrame(
            x[np.ix_(rows, np.asarray(keep, dtype=np.intp))], columns=[s.name for s in kept]
        )
        design["outcome"] = y_used
    frame, status = indices_from_outputs(
        y_used, [s.name for s in kept], n, ss_boot, num_resamples=num_resamples, conf_level=conf_level
    )
    info = {s.name: s for s in kept}
    fixed = [s for s in varied if s.name in reasons] + held
    return SobolResult(
        indices=frame.assign(
            origin=[info[p].origin for p in frame["parameter"]],
            unit=[info[p].unit for p in frame["parameter"]],
            distribution=[describe(info[p].value) for p in frame["parameter"]],
        ),
        fixed=pd.DataFrame(
            {
                "parameter": [s.name for s in fixed],
                "origin": [s.origin for s in fixed],
                "distribution": [describe(s.value) for s in fixed],
                "value": [s.value.median() for s in fixed],
                "reason": [reasons[s.name] for s in fixed],
            }
        ),
        scenario=sc,
        metric=metric,
        region=region,
        n=n,
        seed=seed,
        model_runs=runs,
        data_version=ds.version,
        status=status,
        outcome_mean=float(ab.mean()) if ab.size else math.nan,
        outcome_sd=float(ab.std()) if ab.size else math.nan,
        conf_level=conf_level,
        num_resamples=num_resamples,
        design=design,
    )


# --------------------------------------------------------------------------- helpers
def _problem(names: list[str]) -> dict[str, Any]:
    # The unit hypercube: the mapping to each distribution is ours (quantiles), not SALib's.
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def _frame(names: Sequence[str], s1: Any, s1c: Any, st: Any, stc: Any) -> pd.DataFrame:
    f = pd.DataFrame(
        {
            "parameter": list(names),
            "S1": np.asarray(s1, dtype=float),
            "S1_conf": np.asarray(s1c, dtype=float),
            "ST": np.asarray(st, dtype=float),
            "ST_conf": np.asarray(stc, dtype=float),
        }
    )
    f = f.sort_values(["ST", "parameter"], ascending=[False, True], kind="stable")
    return f.reset_index(drop=True)


def _check_analysis(num_resamples: int, conf_level: float) -> None:
    if num_resamples < 2:
        raise DataError(
            f"num_resamples={num_resamples} is too few for a bootstrap interval",
            column="num_resamples",
            fix="use e.g. 100",
        )
    if not 0.0 < conf_level < 1.0:
        raise DataError(
            f"conf_level={conf_level} is outside (0, 1)", column="conf_level", fix="use e.g. 0.95"
        )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json_safe(frame.to_dict(orient="records"))
    return rows


__all__ = [
    "SOBOL_N",
    "SobolResult",
    "SobolStatus",
    "analysed_rows",
    "check_n",
    "indices_from_outputs",
    "saltelli_design",
    "sobol",
    "sobol_indices",
]
