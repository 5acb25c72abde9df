"""Which uncertain parameters drive a scenario's outcome: a one-at-a-time tornado.

For every uncertain parameter of a scenario (a distribution in ``parameters.yaml``, in the
scenario's ``parameters:`` or on one of its timeline events: ``approval_rate``,
``controlled_share``) :func:`tornado` runs the scenario with that parameter at its 5th and its
95th percentile and every other parameter at its median, and reports the outcome at each end
and the swing |outcome(p95) - outcome(p5)|, largest first (a tornado diagram; Saltelli et al.
2008, *Global Sensitivity Analysis: The Primer*, ch. 1, on what one-at-a-time designs can and
cannot show: they miss interactions, and they say nothing about parameters held fixed).

Percentiles come from :func:`quantile`, the inverse CDF of each of the five distribution
types of :mod:`critmin.simulate.inputs.params` (``params.py`` has samplers and medians only):

==========  =====================================================================
uniform     low + q (high - low)
triangular  low + sqrt(q (high - low)(mode - low)) for q <= F(mode), else
            high - sqrt((1 - q)(high - low)(high - mode)); F(mode) = (mode - low)/(high - low)
normal      mean + sd Phi^-1(q)
lognormal   median exp(sigma Phi^-1(q))
beta        I^-1_q(a, b), the inverse regularised incomplete beta function
==========  =====================================================================

**How the runs are made.** The engine is vectorised over paths, so all 1 + 2N cases (the base
case and each parameter's two ends) run as paths of one :func:`~critmin.simulate.run.simulate`
call. Each uncertain value is replaced, for that call, by a *per-path design* that gives path i
its value in case i (it stands in for a distribution: ``simulate`` asks it for one value per
path). Parameters that ``simulate`` takes at their median for all paths (the network volumes,
the US share of China's magnet exports, the defence share) are detected as such, because the
design is asked for its median, and get two runs of their own. ``method="serial"`` makes every
run a separate ``simulate`` call with plain numbers instead; the tests check that both agree.

With ``paths > 1`` each case is run over ``paths`` Monte Carlo paths in which the other
parameters are sampled (from ``SeedSequence(seed)``, one child per parameter) and the outcome is
the mean over those paths. The same draws are used in every case (common random numbers), so a
swing measures the parameter and not sampling noise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.jsonsafe import json_safe
from critmin.simulate.budget import check_paths, check_run
from critmin.simulate.executors import Executor
from critmin.simulate.inputs.events import uncertain_fields
from critmin.simulate.inputs.params import (
    Beta,
    Distribution,
    LogNormal,
    Normal,
    PathValues,
    Triangular,
    Uniform,
    Value,
    parameter_table,
)
from critmin.simulate.inputs.scenario import Event, Scenario, load_scenario
from critmin.simulate.result import ADDITIVE, EX_CHINA, METRICS, SimulationResult
from critmin.simulate.run import simulate

F = npt.NDArray[np.float64]

#: Default percentiles of the two ends of each bar.
LOW_Q = 0.05
HIGH_Q = 0.95

Method = Literal["batch", "serial"]


# --------------------------------------------------------------------------- quantiles
def quantile(value: Value, q: float) -> float:
    """The ``q``-quantile (inverse CDF) of a parameter value; a plain number is its own quantile.

    Closed forms per distribution type are listed in the module docstring; ``q`` must lie in
    [0, 1] (0 and 1 give the support's ends, infinite for normal and lognormal).
    """
    if not 0.0 <= q <= 1.0 or math.isnan(q):
        raise DataError(f"quantile {q!r} is outside [0, 1]", column="q", fix="use e.g. 0.05 or 0.95")
    return float(quantiles(value, np.array([q], dtype=float))[0])


def quantiles(value: Value, q: npt.ArrayLike) -> F:
    """:func:`quantile` for an array of probabilities at once (the Sobol design maps columns).

    Same closed forms; every ``q`` must lie in [0, 1].
    """
    qa = np.asarray(q, dtype=float)
    if qa.size and not bool(((qa >= 0.0) & (qa <= 1.0)).all()):
        bad = qa[~((qa >= 0.0) & (qa <= 1.0))][0]
        raise DataError(f"quantile {float(bad)!r} is outside [0, 1]", column="q", fix="use values in [0, 1]")
    if isinstance(value, int | float):
        return np.full(qa.shape, float(value))
    if isinstance(value, Uniform):
        return value.low + qa * (value.high - value.low)
    if isinstance(value, Triangular):
        lo, mode, hi = value.low, value.mode, value.high
        width = hi - lo
        left = lo + np.sqrt(qa * width * (mode - lo))
        right = hi - np.sqrt((1.0 - qa) * width * (hi - mode))
        return np.where(qa <= (mode - lo) / width, left, right)
    if isinstance(value, Normal):
        return value.mean + value.sd * special.ndtri(qa)
    if isinstance(value, LogNormal):
        return value.median_ * np.exp(value.sigma * special.ndtri(qa))
    if isinstance(value, Beta):
        return np.asarray(special.betaincinv(value.a, value.b, qa), dtype=float)
    raise DataError(f"no quantile for {type(value).__name__}", fix="use one of the five distribution types")


def describe(value: Value) -> str:
    """Short text of a parameter value: ``0.1``, ``triangular(0.04, 0.07, 0.1)``, ``beta(6, 4)``."""
    if isinstance(value, int | float):
        return _num(float(value))
    if isinstance(value, Uniform):
        return f"uniform({_num(value.low)}, {_num(value.high)})"
    if isinstance(value, Triangular):
        return f"triangular({_num(value.low)}, {_num(value.mode)}, {_num(value.high)})"
    if isinstance(value, Normal):
        return f"normal(mean {_num(value.mean)}, sd {_num(value.sd)})"
    if isinstance(value, LogNormal):
        return f"lognormal(median {_num(value.median_)}, sigma {_num(value.sigma)})"
    return f"beta({_num(value.a)}, {_num(value.b)})"


def _num(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}" if v != 0 and abs(v) < 1e-3 else f"{v:.4g}"


# --------------------------------------------------------------------------- uncertain parameters
@dataclass(frozen=True)
class UncertainParameter:
    """One uncertain input of a scenario.

    ``name`` is the parameter-table name, or ``event:<id>.<field>`` for a distribution on a
    timeline event; ``origin`` says where the distribution is set (``parameters.yaml``,
    ``scenario`` or ``event``); ``event_index`` is the event's position in
    :meth:`Scenario.timeline`.
    """

    name: str
    unit: str
    value: Distribution
    origin: str
    event_index: int | None = None
    field: str | None = None


def uncertain_parameters(scenario: Scenario) -> list[UncertainParameter]:
    """Every distribution the scenario's runs draw from: table order, then timeline order."""
    table = parameter_table()
    out: list[UncertainParameter] = []
    for name, spec in table.items():
        v = scenario.parameters.get(name, spec.default)
        if not isinstance(v, int | float):
            origin = "scenario" if name in scenario.parameters else "parameters.yaml"
            out.append(UncertainParameter(name, spec.unit, v, origin))
    for i, e in enumerate(scenario.timeline()):
        for fld, dist in uncertain_fields(e).items():
            out.append(UncertainParameter(f"event:{e.id}.{fld}", "fraction", dist, "event", i, fld))
    return out


# --------------------------------------------------------------------------- per-path designs
def assign(scenario: Scenario, specs: Sequence[UncertainParameter], values: Sequence[Any]) -> Scenario:
    """``scenario`` with each uncertain input replaced (by a number or a per-path design).

    The replacement skips pydantic validation on purpose (a design is not a distribution); the
    timeline is flattened into ``events`` so that history events can be replaced too.
    """
    params = dict(scenario.parameters)
    events: list[Event] = list(scenario.timeline())
    for spec, v in zip(specs, values, strict=True):
        if spec.event_index is None:
            params[spec.name] = v
        else:
            assert spec.field is not None
            events[spec.event_index] = events[spec.event_index].model_copy(update={spec.field: v})
    return scenario.model_copy(
        update={"parameters": params, "events": tuple(events), "include_history": False}
    )


def outcome(result: SimulationResult, metric: str, region: str) -> F:
    """Per-path value of ``metric`` in ``region`` (``exCHN``: the total outside China)."""
    m: F = getattr(result.metrics, metric)
    regions = result.scenario.regions
    if region != EX_CHINA:
        return m[:, regions.index(region)]
    ex = [i for i, r in enumerate(regions) if r != "CHN"]
    if metric in ADDITIVE:
        return m[:, ex].sum(axis=1)
    if metric == "peak_price_ratio":
        return m[:, ex].max(axis=1)
    tr = result.trace
    if tr is None:  # pragma: no cover - tornado always keeps the trace for these metrics
        raise DataError(f"{metric} for {EX_CHINA} needs the monthly trace", fix="run with keep_trace=True")
    short = tr.shortfall[:, :, ex].sum(axis=2)  # [T, P]
    demand = tr.demand[:, :, ex].sum(axis=2)
    if metric == "peak_shortfall_pct":
        pct = np.divide(short, demand, out=np.zeros_like(short), where=demand > 0)
        return np.asarray(pct.max(axis=0) * 100.0, dtype=float)
    return np.asarray((demand - short < 0.9 * demand).sum(axis=0), dtype=float)


# --------------------------------------------------------------------------- tornado
def tornado(
    scenario: Scenario | str,
    metric: str = "cumulative_shortfall_t",
    region: str = EX_CHINA,
    *,
    paths: int = 1,
    seed: int = 0,
    dataset: Dataset | None = None,
    low: float = LOW_Q,
    high: float = HIGH_Q,
    method: Method = "batch",
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """One-at-a-time sensitivity of ``metric`` in ``region`` to each uncertain parameter.

    Returns one row per uncertain parameter (see :func:`uncertain_parameters`), largest swing
    first: ``parameter``, ``origin``, ``unit``, ``distribution``, ``value_low`` /
    ``value_median`` / ``value_high`` (its ``low`` and ``high`` quantiles and median),
    ``outcome_low`` / ``outcome_high`` (the metric with the parameter at ``value_low`` /
    ``value_high``, every other parameter at its median), ``outcome_base`` (all at medians) and
    ``swing`` = |outcome_high - outcome_low|. With ``paths > 1`` outcomes are means over
    ``paths`` paths with the other parameters sampled (common random numbers; module docstring).
    ``frame.attrs`` holds the scenario, metric, region, paths, seed, quantiles, base outcome and
    data version. ``metric`` is one of :data:`~critmin.simulate.run.METRICS`; ``region`` a
    scenario region or ``exCHN`` (for the non-additive metrics computed on the ex-China total,
    as in the fan chart). ``progress(done, total)`` is called after each simulation run.
    """
    from critmin.data.load import load_dataset

    sc = load_scenario(scenario) if isinstance(scenario, str) else scenario
    ds = dataset if dataset is not None else load_dataset()
    _check(sc, metric, region, paths, low, high, method)
    specs = uncertain_parameters(sc)
    n = len(specs)
    keep = region == EX_CHINA and metric not in ADDITIVE and metric != "peak_price_ratio"
    # memory of the largest run (all 1 + 2N cases as paths of one run in batch mode) first
    check_run(
        sc.commodities,
        len(sc.months()),
        len(sc.regions),
        (1 + 2 * n) * paths if method == "batch" else paths,
        keep_trace=keep,
        per=1 + 2 * n if method == "batch" else 1,
    )
    base = _base_samples(specs, paths, seed)
    lo_v = [quantile(s.value, low) for s in specs]
    hi_v = [quantile(s.value, high) for s in specs]

    def run(sc_i: Scenario, n_paths: int) -> SimulationResult:
        return simulate(
            sc_i, paths=n_paths, seed=seed, dataset=ds, keep_trace=keep or None, executor=executor
        )

    outcome_lo = np.full(n, np.nan)
    outcome_hi = np.full(n, np.nan)
    serial = list(range(n)) if method == "serial" else []
    total = 1 + 2 * n if method == "serial" else 1
    done = 0
    if method == "batch" and n:
        cases = 1 + 2 * n
        designs = []
        for i, s in enumerate(specs):
            col = np.tile(base[i], cases)
            col[(1 + 2 * i) * paths : (2 + 2 * i) * paths] = lo_v[i]
            col[(2 + 2 * i) * paths : (3 + 2 * i) * paths] = hi_v[i]
            designs.append(PathValues(col, s.value.median()))
        res = run(assign(sc, specs, designs), cases * paths)
        per_case = outcome(res, metric, region).reshape(cases, paths).mean(axis=1)
        base_out = float(per_case[0])
        outcome_lo[:] = per_case[1::2]
        outcome_hi[:] = per_case[2::2]
        serial = [i for i, d in enumerate(designs) if d.median_used]
        total += 2 * len(serial)
        done = 1
        if progress is not None:
            progress(done, total)
    else:
        res = run(assign(sc, specs, [_fixed(b, s) for b, s in zip(base, specs, strict=True)]), paths)
        base_out = float(outcome(res, metric, region).mean())
        done = 1
        if progress is not None:
            progress(done, total)
    for i in serial:
        for q_v, target in ((lo_v[i], outcome_lo), (hi_v[i], outcome_hi)):
            vals: list[Any] = [_fixed(b, s) for b, s in zip(base, specs, strict=True)]
            vals[i] = q_v
            r = run(assign(sc, specs, vals), paths)
            target[i] = float(outcome(r, metric, region).mean())
            done += 1
            if progress is not None:
                progress(done, total)

    frame = pd.DataFrame(
        {
            "parameter": [s.name for s in specs],
            "origin": [s.origin for s in specs],
            "unit": [s.unit for s in specs],
            "distribution": [describe(s.value) for s in specs],
            "value_low": lo_v,
            "value_median": [s.value.median() for s in specs],
            "value_high": hi_v,
            "outcome_low": outcome_lo,
            "outcome_high": outcome_hi,
            "outcome_base": np.full(n, base_out),
            "swing": np.abs(outcome_hi - outcome_lo),
        }
    )
    frame = frame.sort_values(["swing", "parameter"], ascending=[False, True], kind="stable")
    frame = frame.reset_index(drop=True)
    frame.attrs.update(
        {
            "scenario": sc.name,
            "metric": metric,
            "region": region,
            "paths": paths,
            "seed": seed,
            "low": low,
            "high": high,
            "outcome_base": base_out,
            "data_version": ds.version,
            "method": method,
        }
    )
    return frame


def _fixed(samples: F, spec: UncertainParameter) -> Any:
    """The base value of one input for a separate run: its median, or the per-path samples."""
    return float(samples[0]) if len(samples) == 1 else PathValues(samples.copy(), spec.value.median())


def _base_samples(specs: Sequence[UncertainParameter], paths: int, seed: int) -> list[F]:
    """Values of each input in the base case: medians (``paths=1``) or ``paths`` draws each."""
    if paths == 1:
        return [np.array([s.value.median()]) for s in specs]
    children = np.random.SeedSequence(seed).spawn(max(len(specs), 1))
    return [s.value.sample(np.random.default_rng(c), paths) for s, c in zip(specs, children, strict=False)]


def _check(sc: Scenario, metric: str, region: str, paths: int, low: float, high: float, method: str) -> None:
    check_outcome(sc, metric, region)
    check_paths(paths)
    if not 0.0 < low < high < 1.0:
        raise DataError(
            f"quantiles low={low} and high={high} must satisfy 0 < low < high < 1",
            column="low",
            fix="use e.g. 0.05 and 0.95",
        )
    if method not in ("batch", "serial"):
        raise DataError(f"unknown method {method!r}", column="method", fix="use batch or serial")


def check_outcome(sc: Scenario, metric: str, region: str) -> None:
    """Raise :class:`DataError` unless ``metric`` is a known metric and ``region`` one of ``sc``'s."""
    if metric not in METRICS:
        raise DataError(f"unknown metric {metric!r}", column="metric", fix=f"use one of {', '.join(METRICS)}")
    if region != EX_CHINA and region not in sc.regions:
        raise DataError(
            f"region {region!r} is not in scenario {sc.name!r}",
            column="region",
            fix=f"use {EX_CHINA} or one of {', '.join(sc.regions)}",
        )


def tornado_to_dict(frame: pd.DataFrame) -> dict[str, Any]:
    """The ``critmin sensitivity --format json`` document: metadata plus one record per row."""
    rows = json_safe(frame.to_dict(orient="records"))
    return {**{str(k): json_safe(v) for k, v in frame.attrs.items()}, "rows": rows}


# --------------------------------------------------------------------------- parameter table
PARAMETER_TABLE_START = "<!-- parameter-table:start (generated by parameter_table_markdown) -->"
PARAMETER_TABLE_END = "<!-- parameter-table:end -->"


def parameter_table_markdown() -> str:
    """The bundled parameter table (``parameters.yaml``) as a Markdown table.

    Columns: name, unit, bounds, what it sets, default (a number, or the distribution with its
    median and 5th-95th percentiles from :func:`quantile`), description, and source id and/or
    rationale.
    ``docs/model.md`` embeds this text between :data:`PARAMETER_TABLE_START` and
    :data:`PARAMETER_TABLE_END`; a test keeps the two equal.
    """
    lines = [
        "| name | unit | bounds | sets | default | description | source / rationale |",
        "|---|---|---|---|---|---|---|",
    ]
    for spec in parameter_table().values():
        v = spec.default
        if isinstance(v, int | float):
            default = _num(float(v))
        else:
            default = (
                f"{describe(v)}; median {_num(v.median())}, "
                f"p5-p95 {_num(quantile(v, LOW_Q))}-{_num(quantile(v, HIGH_Q))}"
            )
        prov = []
        if spec.source:
            prov.append(f"source: `{spec.source}`")
        if spec.rationale:
            prov.append(("rationale: " if spec.source else "") + spec.rationale)
        bounds = f"[{_num(spec.bounds[0])}, {_num(spec.bounds[1])}]"
        cells = [
            f"`{spec.name}`",
            spec.unit,
            bounds,
            f"`{spec.sets}`",
            default,
            spec.description,
            "; ".join(prov),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().replace("|", "\\|")


def replace_parameter_table(document: str) -> str:
    """``document`` with the text between the parameter-table markers regenerated."""
    try:
        head, rest = document.split(PARAMETER_TABLE_START, 1)
        _, tail = rest.split(PARAMETER_TABLE_END, 1)
    except ValueError:
        raise DataError(
            "the parameter-table markers are missing",
            fix=f"put {PARAMETER_TABLE_START} and {PARAMETER_TABLE_END} on lines of their own",
        ) from None
    return head + PARAMETER_TABLE_START + "\n" + parameter_table_markdown() + PARAMETER_TABLE_END + tail


__all__ = [
    "EX_CHINA",
    "HIGH_Q",
    "LOW_Q",
    "PARAMETER_TABLE_END",
    "PARAMETER_TABLE_START",
    "UncertainParameter",
    "check_outcome",
    "describe",
    "parameter_table_markdown",
    "quantile",
    "quantiles",
    "replace_parameter_table",
    "tornado",
    "tornado_to_dict",
    "uncertain_parameters",
]
