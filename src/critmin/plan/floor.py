"""Price floors as strips of monthly puts, upside sharing as a short call, valued by Monte Carlo.

A floor ``K_f`` on ``V`` t/yr pays the producer, each month m of the term,

    put[m] = max(K_f - P[m], 0) x V x 1000 / 12            (US$; P in US$/kg)

and an upside share ``s`` above a strike ``K_u`` (from month ``upside_start``) returns to the
payer ``call[m] = s x max(P[m] - K_u, 0) x V x 1000 / 12``. The payer's net cost of a path is
the discounted sum ``NPV = sum_m DF[m] (put[m] - call[m])`` with monthly discounting at an annual
rate r, ``DF[m] = (1 + r)^(-(m + 1) / 12)`` (payments at each month's end, valued at the first
month's start). :func:`summarise` gives the mean, its Monte Carlo standard error, p5/p50/p95 and
CVaR95 (the mean of the costliest 5% of paths).

Prices come from (a) the fitted log-OU model (:mod:`critmin.plan.pricemodel`), where the
expected NPV also has a closed form, a sum of Black-76 puts and calls
(:func:`analytic_expected_npv`), or (b) a simulator scenario: the primary chain's monthly
ex-China price ratio per path times the engine's NdPr anchor ``price.ndpr_usd_per_kg`` (the one
the engine's own floor cost uses; :func:`scenario_prices`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from critmin._version import __version__
from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.plan.pricemodel import OUModel, fitted_model, month_index, month_label, simulate_paths

F = npt.NDArray[np.float64]

#: Products a floor can be written on (the fitted series and the engine anchor are NdPr oxide's).
FLOOR_PRODUCTS = ("ndpr_oxide",)
#: Assumption: default annual discount rate (nominal). About the 10-year US Treasury yield in
#: 2025 (4-4.5%), the payer's cost of funds; override with ``discount_rate``.
DEFAULT_DISCOUNT_RATE = 0.045
MAX_YEARS = 50


@dataclass(frozen=True)
class FloorSpec:
    """A floor contract. ``floor_usd_per_kg``: the guaranteed price; ``volume_t_per_year``:
    covered output (t/yr, paid monthly); ``years``: term from ``start`` (YYYY-MM);
    ``upside_share`` of ``max(P - upside_strike, 0)`` returns to the payer from ``upside_start``
    (default the start; strike default the floor); ``discount_rate``: annual."""

    floor_usd_per_kg: float
    volume_t_per_year: float
    years: float
    start: str = "2025-10"
    product: str = "ndpr_oxide"
    upside_share: float = 0.0
    upside_strike: float | None = None
    upside_start: str | None = None
    discount_rate: float = DEFAULT_DISCOUNT_RATE

    def __post_init__(self) -> None:
        if self.product not in FLOOR_PRODUCTS:
            raise DataError(
                f"unknown floor product {self.product!r}",
                column="product",
                fix=f"use {', '.join(FLOOR_PRODUCTS)} (the fitted series and the engine anchor "
                "are NdPr oxide's)",
            )
        checks = (
            ("floor", self.floor_usd_per_kg, 0.0, 1.0e7),
            ("volume-t", self.volume_t_per_year, 0.0, 1.0e8),
            ("upside-share", self.upside_share, 0.0, 1.0),
            ("discount-rate", self.discount_rate, 0.0, 1.0),
        )
        for name, v, lo, hi in checks:
            if not (math.isfinite(v) and lo <= v <= hi):
                raise DataError(
                    f"{name} {v:g} is out of range", column=name, fix=f"give a value in [{lo:g}, {hi:g}]"
                )
        if not (math.isfinite(self.years) and 0 < self.years <= MAX_YEARS and round(self.years * 12) >= 1):
            raise DataError(
                f"years {self.years:g} is out of range",
                column="years",
                fix=f"give a term in (0, {MAX_YEARS}]",
            )
        if self.upside_strike is not None and not (
            math.isfinite(self.upside_strike) and self.upside_strike >= 0
        ):
            raise DataError(
                f"upside-strike {self.upside_strike:g} is out of range",
                column="upside-strike",
                fix="give a price >= 0",
            )
        month_index(self.start)
        if self.upside_start is not None:
            month_index(self.upside_start)

    @property
    def strike(self) -> float:
        """The upside share's strike (the floor when not given), US$/kg."""
        return self.floor_usd_per_kg if self.upside_strike is None else self.upside_strike

    @property
    def months(self) -> tuple[str, ...]:
        """The contract's months, YYYY-MM."""
        s = month_index(self.start)
        return tuple(month_label(s + i) for i in range(round(self.years * 12)))

    @property
    def kg_per_month(self) -> float:
        """Covered volume per month, kg."""
        return self.volume_t_per_year * 1000.0 / 12.0

    def upside_mask(self) -> F:
        """[T] 1 where the upside share applies, else 0."""
        first = month_index(self.upside_start or self.start)
        s = month_index(self.start)
        return np.array([1.0 if s + i >= first else 0.0 for i in range(len(self.months))])


def discount_factors(n_months: int, rate: float) -> F:
    """``(1 + rate)^(-(m + 1) / 12)`` for m = 0..n-1 (end-of-month payments)."""
    return np.asarray((1.0 + rate) ** (-(np.arange(n_months) + 1.0) / 12.0), dtype=np.float64)


def legs(prices: F, spec: FloorSpec) -> tuple[F, F]:
    """Monthly payments [T, P] (US$): the floor's top-up to the producer and the upside share
    returned to the payer, for prices [T, P] in US$/kg over the contract months."""
    if prices.shape[0] != len(spec.months):
        raise DataError(
            f"{prices.shape[0]} monthly prices for a {len(spec.months)}-month term",
            column="prices",
            fix="give one price per contract month",
        )
    kg = spec.kg_per_month
    put = np.maximum(spec.floor_usd_per_kg - prices, 0.0) * kg
    call = spec.upside_share * np.maximum(prices - spec.strike, 0.0) * kg * spec.upside_mask()[:, None]
    return put, call


def npv_paths(prices: F, spec: FloorSpec) -> F:
    """[P] the payer's discounted net cost (US$) of each price path [T, P]."""
    put, call = legs(prices, spec)
    df = discount_factors(put.shape[0], spec.discount_rate)
    out: F = df @ (put - call)
    return out


def summarise(npv: F) -> dict[str, float]:
    """Mean, Monte Carlo standard error, p5/p50/p95 and CVaR95 (mean of the costliest 5%) of [P]."""
    v = np.asarray(npv, dtype=np.float64)
    if v.size == 0:
        raise DataError("no paths to summarise", column="paths", fix="run at least one path")
    p5, p50, p95 = np.percentile(v, [5, 50, 95])
    tail = np.sort(v)[::-1][: max(1, math.ceil(0.05 * v.size))]
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0
    return {
        "mean": float(v.mean()),
        "se": se,
        "p5": float(p5),
        "p50": float(p50),
        "p95": float(p95),
        "cvar95": float(tail.mean()),
    }


def black76_put(forward: F | float, strike: float, stdev: F | float, df: F | float = 1.0) -> F:
    """Black-76 put, ``df (K N(-d2) - F N(-d1))`` with ``stdev`` the total log-price standard
    deviation (sigma sqrt(T)); ``stdev = 0`` gives the intrinsic ``df max(K - F, 0)``."""
    f = np.asarray(forward, dtype=np.float64)
    s = np.asarray(stdev, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d1 = (np.log(f / strike) + 0.5 * s**2) / s
        d2 = d1 - s
        val = strike * norm.cdf(-d2) - f * norm.cdf(-d1)
    out: F = np.asarray(df * np.where(s > 0, val, np.maximum(strike - f, 0.0)), dtype=np.float64)
    return out


def black76_call(forward: F | float, strike: float, stdev: F | float, df: F | float = 1.0) -> F:
    """Black-76 call by put-call parity: ``put + df (F - K)``."""
    f = np.asarray(forward, dtype=np.float64)
    out: F = black76_put(f, strike, stdev, df) + np.asarray(df) * (f - strike)
    return out


def analytic_expected_npv(model: OUModel, spec: FloorSpec) -> dict[str, float]:
    """Expected NPV under ``model`` in closed form: months after the origin are Black-76 puts
    and calls on the lognormal price (forward ``exp(m + v/2)``), months up to it are intrinsic on
    the history. Returns the put leg, the call leg and their difference (US$)."""
    origin = month_index(model.origin)
    idx = np.array([month_index(m) for m in spec.months], dtype=np.float64)
    mean, sd = model.log_moments(idx - origin)
    past = idx <= origin
    hist = simulate_paths(model, list(spec.months), 1, 0)[:, 0]
    fwd = np.where(past, hist, np.exp(mean + 0.5 * sd**2))
    sd = np.where(past, 0.0, sd)
    df = discount_factors(len(idx), spec.discount_rate)
    kg = spec.kg_per_month
    put = float(np.sum(black76_put(fwd, spec.floor_usd_per_kg, sd, df)) * kg)
    call = float(np.sum(black76_call(fwd, spec.strike, sd, df) * spec.upside_mask()) * kg * spec.upside_share)
    return {"put_leg": put, "call_leg": call, "net": put - call}


def scenario_prices(
    scenario: str, months: tuple[str, ...], *, paths: int, seed: int, dataset: Dataset
) -> tuple[F, float, str]:
    """Monthly NdPr US$/kg [T, paths] over ``months`` from a simulator scenario: the primary
    chain's ex-China price ratio (``trace.price_x``) times ``price.ndpr_usd_per_kg``. The
    scenario is extended to cover the months when it ends earlier; a month before its start is
    an error. Returns prices, the anchor (US$/kg) and the scenario's name."""
    from pydantic import ValidationError

    from critmin.simulate.inputs.scenario import load_scenario
    from critmin.simulate.inputs.yamlload import validation_error
    from critmin.simulate.run import simulate

    sc = load_scenario(scenario)
    if "rare_earths" not in sc.commodities:
        raise DataError(
            f"scenario {sc.name!r} does not run the rare-earth chain",
            column="scenario",
            fix="pick a rare-earth scenario",
        )
    if month_index(months[0]) < month_index(sc.start):
        raise DataError(
            f"the term starts {months[0]}, before scenario {sc.name!r} ({sc.start})",
            column="start",
            fix=f"start at {sc.start} or later",
        )
    end = max(month_index(months[-1]), month_index(sc.end))
    try:
        sc = type(sc).model_validate(
            {**sc.model_dump(), "end": month_label(end), "commodities": ("rare_earths",)}
        )
    except ValidationError as exc:
        err = validation_error(exc, path=None, root=None)
        raise DataError(err.message, column=err.column, fix="see critmin floor --help") from None
    res = simulate(sc, paths=paths, seed=seed, dataset=dataset, keep_trace=True)
    if res.trace is None:  # pragma: no cover - keep_trace=True always keeps it
        raise DataError("the run kept no monthly prices", column="paths", fix="run fewer paths")
    anchor = res.parameters.get("price.ndpr_usd_per_kg", 55.0)
    anchor = (
        float(anchor)
        if isinstance(anchor, int | float)
        else float(anchor.get("mode", anchor.get("value", 55.0)))
    )
    first = res.months.index(months[0])
    ratio = res.trace.price_x[first : first + len(months)]
    return np.asarray(ratio * anchor, dtype=np.float64), anchor, sc.name


@dataclass(frozen=True)
class FloorResult:
    """Outcome of :func:`value_floor`: the contract, the price model, the distribution of the
    payer's NPV (US$) and its legs, with seed, paths, data and package versions."""

    spec: FloorSpec
    price_model: str  # "fitted-ou" or "scenario"
    model: dict[str, Any]
    paths: int
    seed: int
    data_version: str
    summary: dict[str, float]
    put_leg: dict[str, float]
    call_leg: dict[str, float]
    analytic: dict[str, float] | None
    price_p50: dict[str, float]
    prob_payment: float
    npv: F = field(repr=False)
    package_version: str = __version__
    example: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``critmin floor --format json`` document."""
        from critmin.jsonsafe import json_safe

        return json_safe(
            {
                "example": self.example,
                "spec": asdict(self.spec),
                "months": [self.spec.months[0], self.spec.months[-1]],
                "price_model": self.price_model,
                "model": self.model,
                "paths": self.paths,
                "seed": self.seed,
                "data_version": self.data_version,
                "critmin_version": self.package_version,
                "npv_usd": self.summary,
                "put_leg_usd": self.put_leg,
                "call_leg_usd": self.call_leg,
                "analytic_expected_npv_usd": self.analytic,
                "price_usd_per_kg_p50": self.price_p50,
                "share_of_months_with_payment": self.prob_payment,
            }
        )


def value_floor(
    spec: FloorSpec,
    *,
    paths: int = 2000,
    seed: int = 0,
    dataset: Dataset | None = None,
    scenario: str | None = None,
    model: OUModel | None = None,
    example: str | None = None,
) -> FloorResult:
    """Value ``spec`` on ``paths`` price paths: the fitted OU model (or ``model``), or the
    simulator's ``scenario`` (module docstring). Equal seeds give equal results."""
    from critmin.simulate.budget import check_seed

    check_seed(seed)
    if not 1 <= paths <= 1_000_000:
        raise DataError(f"paths {paths} is out of range", column="paths", fix="give 1 to 1,000,000")
    if dataset is None:
        from critmin.data.load import load_dataset

        dataset = load_dataset()
    analytic = None
    if scenario is not None:
        prices, anchor, name = scenario_prices(scenario, spec.months, paths=paths, seed=seed, dataset=dataset)
        kind = "scenario"
        desc: dict[str, Any] = {
            "scenario": name,
            "series": "ex-China price ratio of the magnet chain x price.ndpr_usd_per_kg",
            "anchor_usd_per_kg": anchor,
            "caveats": [
                "the engine has no separate NdPr oxide market: the magnet price ratio indexes the NdPr price",
                "the ratio is 1 at the scenario's start (2024-01), so the anchor is the 2024 "
                "average NdPr price",
            ],
        }
    else:
        m = model if model is not None else fitted_model(dataset.tables["prices"])
        prices = simulate_paths(m, list(spec.months), paths, seed)
        kind = "fitted-ou"
        desc = m.to_dict()
        analytic = analytic_expected_npv(m, spec)
    put, call = legs(prices, spec)
    df = discount_factors(put.shape[0], spec.discount_rate)
    npv = df @ (put - call)
    p50 = np.median(prices, axis=1)
    return FloorResult(
        spec=spec,
        price_model=kind,
        model=desc,
        paths=paths,
        seed=seed,
        data_version=dataset.version,
        summary=summarise(npv),
        put_leg=summarise(df @ put),
        call_leg=summarise(df @ call),
        analytic=analytic,
        price_p50={m: float(v) for m, v in zip(spec.months[::12], p50[::12], strict=False)},
        prob_payment=float((put > 0).mean()),
        npv=npv,
        example=example,
    )


# ------------------------------------------------------------------------------ examples
EXAMPLES_FILE = "floor_examples.yaml"
_SPEC_KEYS = set(FloorSpec.__dataclass_fields__)


def examples_path() -> Path:
    """The bundled examples file (``critmin/plan/data/floor_examples.yaml``)."""
    return Path(str(resources.files("critmin.plan") / "data" / EXAMPLES_FILE))


def load_examples(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Examples by id: ``{"spec": {...FloorSpec fields}, "sources": [...], ...}`` as in the file."""
    from critmin.simulate.inputs.yamlload import line_of, load_yaml

    p = path or examples_path()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read {p}: {exc.strerror}", fix="restore the bundled file") from None
    doc, node = load_yaml(text, p)
    items = doc.get("examples") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise DataError("expected a list under 'examples'", column="examples", fix="see the bundled file")
    out: dict[str, dict[str, Any]] = {}
    for i, ex in enumerate(items):
        if not isinstance(ex, dict) or "id" not in ex or not isinstance(ex.get("spec"), dict):
            raise DataError(
                f"{p}:{line_of(node, ('examples', i))}: an example needs an id and a spec mapping",
                column="examples",
                fix="see the dod-mp example",
            )
        bad = sorted(set(ex["spec"]) - _SPEC_KEYS)
        if bad:
            raise DataError(
                f"{p}:{line_of(node, ('examples', i, 'spec', bad[0]))}: unknown spec key {bad[0]!r}",
                column="spec",
                fix=f"use {', '.join(sorted(_SPEC_KEYS))}",
            )
        out[str(ex["id"])] = ex
    return out


def example_spec(name: str, path: Path | None = None) -> FloorSpec:
    """The :class:`FloorSpec` of a bundled example (``dod-mp``); unknown names are a DataError."""
    examples = load_examples(path)
    if name not in examples:
        raise DataError(f"unknown floor example {name!r}", column="example", fix=f"use {', '.join(examples)}")
    spec = dict(examples[name]["spec"])
    for k in ("start", "upside_start"):
        if spec.get(k) is not None:
            spec[k] = str(spec[k])
    try:
        return FloorSpec(**spec)
    except TypeError as exc:
        raise DataError(f"example {name!r}: {exc}", column="spec", fix="check the example's fields") from None
