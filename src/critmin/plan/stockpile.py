"""The smallest strategic stockpile that meets a shortfall target, found through the simulator.

For a scenario, a region R and a product (a commodity chain), a stockpile of S tonnes is bought
in equal monthly lots over ``fill_months`` months ending the month before the evaluation start
(by default the scenario's first event that applies to the chain, its first control date; else
its first event), as ``stockpile`` events added
to the scenario with their own release rule: released whenever R's users run short, at most
``release_share_per_month`` of the content a month (default 0.1, the parameter
``stockpile.release_per_month``). These rules replace earlier ones for R's pool (as in the
bundled ``allied-acceleration`` scenario): the US NDS's emergency rule (release once 20% of
demand goes unmet) would otherwise keep any stockpile idle below a 20% shortfall. Its effect
is measured from the
evaluation start to the end of the run, per path:

* ``peak`` (the default): the largest monthly unmet demand as % of demand;
* ``cumulative``: total unmet demand as % of total demand over the window.

The target holds with probability ``P(metric <= X)``, the share of paths. Every run uses the
same seed (common random numbers), so the paths differ only by S, and the probability is
non-decreasing in S when the engine is monotone in the stockpile; :func:`smallest_passing`
doubles an upper bound until the target holds, then bisects. The search records every size it
tried and reports whether the probabilities it saw were monotone in size (``monotone``).

Costs: the purchase at the chain's US$ anchor (``price.usd_per_kg`` for magnets, the USGS
salient price for single chains) and at the simulated ex-China price in the fill months; the
holding cost a year at :data:`STORAGE_SHARE_PER_YEAR` of the value (assumption) plus financing at
the discount rate (assumption, as for floors). Purchases are added to the stockpile without
being taken from the market (the engine's ``stockpile`` event): the price effect of buying is
not modelled.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from critmin._version import __version__
from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.plan.pricemodel import month_index, month_label
from critmin.simulate.chains.registry import CHAINS, FEED_ID

F = npt.NDArray[np.float64]

#: Assumption: storage, insurance and handling a year, as a share of the stock's value. Inert
#: oxides, metals and magnets in bonded warehouses; no public per-tonne figure for the US NDS was
#: found, and 1%/yr is a round figure for warehousing of high-value metals.
STORAGE_SHARE_PER_YEAR = 0.01
#: Assumption: financing cost a year (the floor module's default discount rate).
FINANCING_RATE = 0.045
METRICS = ("peak", "cumulative")


def product_chains() -> dict[str, str]:
    """Product names accepted by :func:`size_stockpile` -> the chain that carries them: each
    standalone chain by its id and its product (``rare_earths``/``ndfeb_magnets``/``magnets``,
    ``gallium``/``gallium_metal``, ...)."""
    out: dict[str, str] = {}
    for c in CHAINS.values():
        if c.standalone:
            out[c.id] = c.id
            out[c.product] = c.id
    out["magnets"] = "rare_earths"
    return out


def chain_of(product: str) -> str:
    """The chain of ``product``; the Dy + Tb feed and unknown names are a DataError."""
    table = product_chains()
    if product in table:
        return table[product]
    feed = CHAINS.get(FEED_ID)
    if feed is not None and product in {feed.id, feed.product}:
        raise DataError(
            f"product {product!r} (the Dy + Tb feed) is not sized yet: its monthly series are not kept",
            column="product",
            fix="size the magnet stockpile (--product ndfeb_magnets)",
        )
    raise DataError(f"unknown product {product!r}", column="product", fix=f"use {', '.join(sorted(table))}")


@dataclass(frozen=True)
class Search:
    """What :func:`smallest_passing` found: ``size`` passes and ``below`` (the largest size seen
    to fail, or None when size 0 passes) fails; ``reached`` is False when no size up to the cap
    passed; ``tried`` lists (size, value, passed) in the order evaluated."""

    size: float | None
    below: float | None
    reached: bool
    tried: tuple[tuple[float, float, bool], ...]

    @property
    def monotone(self) -> bool:
        """Whether the values seen are non-decreasing in size."""
        pts = sorted((s, v) for s, v, _ in self.tried)
        return all(b[1] >= a[1] - 1e-12 for a, b in itertools.pairwise(pts))


def smallest_passing(
    value: Callable[[float], float],
    threshold: float,
    *,
    start: float,
    cap: float,
    rel_tol: float = 0.02,
    abs_tol: float = 1.0,
    max_evals: int = 30,
) -> Search:
    """The smallest size >= 0 with ``value(size) >= threshold``, for ``value`` non-decreasing in
    size: 0 if it passes; else double from ``start`` up to ``cap`` until one passes, then bisect
    until the bracket is within ``max(abs_tol, rel_tol x size)`` (or ``max_evals`` is spent)."""
    if not (start > 0 and cap >= start):
        raise ValueError("need 0 < start <= cap")
    tried: list[tuple[float, float, bool]] = []

    def ok(s: float) -> bool:
        v = float(value(s))
        tried.append((s, v, v >= threshold))
        return v >= threshold

    if ok(0.0):
        return Search(0.0, None, True, tuple(tried))
    lo, hi = 0.0, start
    while not ok(hi):
        lo = hi
        if hi >= cap or len(tried) >= max_evals:
            return Search(None, lo, False, tuple(tried))
        hi = min(hi * 2.0, cap)
    while hi - lo > max(abs_tol, rel_tol * hi) and len(tried) < max_evals:
        mid = 0.5 * (lo + hi)
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return Search(hi, lo, True, tuple(tried))


@dataclass(frozen=True)
class StockpileSpec:
    """What to size. ``target_shortfall_pct``: X, in % (of demand, see the module docstring);
    ``confidence``: p in (0, 1); ``metric``: peak or cumulative; ``fill_months``: purchase
    period; ``evaluate_from``: YYYY-MM (default the scenario's first event); ``end``: last month
    of the run (default the scenario's)."""

    scenario: str
    region: str
    product: str
    target_shortfall_pct: float
    confidence: float
    metric: str = "peak"
    fill_months: int = 12
    evaluate_from: str | None = None
    end: str | None = None
    release_share_per_month: float = 0.1

    def __post_init__(self) -> None:
        if not (math.isfinite(self.target_shortfall_pct) and 0.0 <= self.target_shortfall_pct <= 100.0):
            raise DataError(
                f"target shortfall {self.target_shortfall_pct:g}% is out of range",
                column="target-shortfall",
                fix="give a percentage in [0, 100]",
            )
        if not (math.isfinite(self.confidence) and 0.0 < self.confidence < 1.0):
            raise DataError(
                f"confidence {self.confidence:g} is out of range",
                column="confidence",
                fix="give a probability strictly between 0 and 1, e.g. 0.9",
            )
        if not (math.isfinite(self.release_share_per_month) and 0.0 < self.release_share_per_month <= 1.0):
            raise DataError(
                f"release share {self.release_share_per_month:g} is out of range",
                column="release-share",
                fix="give a monthly share in (0, 1]",
            )
        if self.metric not in METRICS:
            raise DataError(f"unknown metric {self.metric!r}", column="metric", fix="use peak or cumulative")
        if not 1 <= self.fill_months <= 120:
            raise DataError(
                f"fill months {self.fill_months} is out of range", column="fill-months", fix="give 1 to 120"
            )
        chain_of(self.product)


@dataclass(frozen=True)
class StockpileResult:
    """Outcome of :func:`size_stockpile` (sizes in t, costs in US$), with its inputs, seed,
    paths, data and package versions. ``size_t`` is None when the target was not reached;
    ``prob_without`` and ``metric_without`` are the scenario as it is (no stockpile events, so
    the region's earlier release rules apply); the search itself starts at size 0 with the
    plan's release rule."""

    spec: StockpileSpec
    chain: str
    product_title: str
    window: tuple[str, str]
    size_t: float | None
    next_smaller_t: float | None
    reached: bool
    prob_at_size: float | None
    prob_without: float
    metric_without: dict[str, float]
    metric_with: dict[str, float] | None
    fill: tuple[tuple[str, float], ...]
    cost: dict[str, float]
    tried: tuple[tuple[float, float, bool], ...]
    monotone: bool
    monthly_demand_t: float
    paths: int
    seed: int
    data_version: str
    package_version: str = __version__
    assumptions: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The ``critmin stockpile --format json`` document."""
        from critmin.jsonsafe import json_safe

        return json_safe(
            {
                "spec": asdict(self.spec),
                "chain": self.chain,
                "product": self.product_title,
                "window": list(self.window),
                "size_t": self.size_t,
                "next_smaller_t": self.next_smaller_t,
                "reached": self.reached,
                "probability_at_size": self.prob_at_size,
                "probability_without": self.prob_without,
                "metric_without_pct": self.metric_without,
                "metric_with_pct": self.metric_with,
                "months_of_demand": (self.size_t / self.monthly_demand_t)
                if self.size_t is not None and self.monthly_demand_t > 0
                else None,
                "fill_schedule": [{"month": m, "t": t} for m, t in self.fill],
                "cost_usd": self.cost,
                "tried": [{"size_t": s, "probability": v, "passes": ok} for s, v, ok in self.tried],
                "monotone": self.monotone,
                "paths": self.paths,
                "seed": self.seed,
                "data_version": self.data_version,
                "critmin_version": self.package_version,
                "assumptions": list(self.assumptions),
            }
        )


def _quantiles(v: F) -> dict[str, float]:
    p5, p50, p95 = np.percentile(v, [5, 50, 95])
    return {"p5": float(p5), "p50": float(p50), "p95": float(p95)}


def window_metric(shortfall: F, demand: F, metric: str) -> F:
    """[P] the metric (in %) of [T, P] monthly shortfall and demand (t) over their window."""
    if metric == "peak":
        pct = np.divide(shortfall, demand, out=np.zeros_like(shortfall), where=demand > 0)
        out: F = pct.max(axis=0) * 100.0
        return out
    tot = demand.sum(axis=0)
    cum: F = np.divide(shortfall.sum(axis=0), tot, out=np.zeros_like(tot), where=tot > 0) * 100.0
    return cum


def stockpile_scenario(
    base: Any, spec: StockpileSpec, chain: str, fill_months: tuple[str, ...], end: str, size: float | None
) -> Any:
    """``base`` (a Scenario) running only ``chain`` to ``end``, with ``size`` t bought in equal
    lots in ``fill_months`` as stockpile events of ``spec.region`` (None: no events added)."""
    from pydantic import ValidationError

    from critmin.simulate.inputs.yamlload import validation_error

    events = [e.model_dump(mode="json") for e in base.events] + [
        {
            "id": f"plan-stockpile-{i:03d}",
            "date": f"{m}-01",
            "kind": "stockpile",
            "region": spec.region,
            "amount_t": size / len(fill_months),
            "release_when_short": 0.0,
            "release_share_per_month": spec.release_share_per_month,
            "commodities": [chain],
        }
        for i, m in enumerate(fill_months)
        if size is not None
    ]
    try:
        return type(base).model_validate(
            {**base.model_dump(mode="json"), "events": events, "end": end, "commodities": [chain]}
        )
    except ValidationError as exc:
        err = validation_error(exc, path=None, root=None)
        raise DataError(err.message, column=err.column, fix="see critmin stockpile --help") from None


def size_stockpile(
    spec: StockpileSpec,
    *,
    paths: int = 200,
    seed: int = 0,
    dataset: Dataset | None = None,
    max_evals: int = 24,
    executor: Any = None,
    on_run: Callable[[float | None], object] | None = None,
) -> StockpileResult:
    """The smallest stockpile meeting ``spec`` (module docstring), through the simulator.

    ``executor`` runs each simulation's path blocks (a :class:`critmin.simulate.executors.Executor`;
    default in this process: the server passes one that reports months and stops a cancelled
    job); ``on_run(size)`` is called after each simulation (``None``: the run without a
    stockpile). At most ``max_evals`` sizes are tried, plus the run without one."""
    from critmin.simulate.assemble import NetworkCache
    from critmin.simulate.budget import check_seed
    from critmin.simulate.inputs.scenario import load_scenario
    from critmin.simulate.run import simulate

    check_seed(seed)
    if not 1 <= paths <= 100_000:
        raise DataError(f"paths {paths} is out of range", column="paths", fix="give 1 to 100,000")
    if dataset is None:
        from critmin.data.load import load_dataset

        dataset = load_dataset()
    chain = chain_of(spec.product)
    base = load_scenario(spec.scenario)
    if spec.region not in base.regions or spec.region == "CHN":
        regions = ", ".join(r for r in base.regions if r != "CHN")
        raise DataError(
            f"unknown region {spec.region!r} in scenario {base.name!r}", column="region", fix=f"use {regions}"
        )
    if spec.evaluate_from is not None:
        first = month_index(spec.evaluate_from)
    elif base.events:  # the first event that applies to the chain, else the first of all
        own = [e for e in base.events if chain in e.commodities] or list(base.events)
        first = min(month_index(e.date.strftime("%Y-%m")) for e in own)
    else:
        first = month_index(base.start) + spec.fill_months
    fill_start = first - spec.fill_months
    if fill_start < month_index(base.start):
        raise DataError(
            f"the fill ({spec.fill_months} months before {month_label(first)}) starts before the scenario "
            f"({base.start})",
            column="fill-months",
            fix="give fewer fill months or a later --evaluate-from",
        )
    end = spec.end or base.end
    if month_index(end) <= first:
        raise DataError(
            f"the run ends {end}, before {month_label(first)}", column="end", fix="give a later end"
        )
    fill_months = tuple(month_label(fill_start + i) for i in range(spec.fill_months))
    cache = NetworkCache()

    runs: dict[float | None, Any] = {}

    def run(size: float | None) -> Any:
        if size not in runs:
            runs[size] = simulate(
                stockpile_scenario(base, spec, chain, fill_months, end, size),
                paths=paths,
                seed=seed,
                dataset=dataset,
                keep_trace=True,
                cache=cache,
                executor=executor,
            )
            if on_run is not None:
                on_run(size)
        return runs[size]

    def metric(size: float | None) -> F:
        res = run(size)
        tr = res.trace
        if tr is None:  # pragma: no cover - keep_trace=True always keeps it
            raise DataError("the run kept no monthly series", column="paths", fix="run fewer paths")
        r = res.scenario.regions.index(spec.region)
        t0 = res.months.index(month_label(first))
        return window_metric(tr.shortfall[t0:, :, r], tr.demand[t0:, :, r], spec.metric)

    def prob(size: float | None) -> float:
        return float((metric(size) <= spec.target_shortfall_pct + 1e-9).mean())

    r0 = run(None)
    ridx = r0.scenario.regions.index(spec.region)
    t0 = r0.months.index(month_label(first))
    assert r0.trace is not None
    monthly = float(r0.trace.demand[t0:, :, ridx].mean())
    search = smallest_passing(
        prob,
        spec.confidence,
        start=max(1.0, monthly),
        cap=min(1.0e8, max(1.0, monthly) * 2.0**14),
        max_evals=max_evals,
    )
    m = r0.metrics
    with np.errstate(divide="ignore", invalid="ignore"):
        anchors = np.asarray(m.peak_price_usd_per_kg)[:, ridx] / np.asarray(m.peak_price_ratio)[:, ridx]
    anchor = float(np.nanmedian(anchors)) if m.peak_price_usd_per_kg is not None else float("nan")
    size = search.size
    cost: dict[str, float] = {"anchor_usd_per_kg": anchor}
    fill: tuple[tuple[str, float], ...] = ()
    metric_with = None
    prob_at = None
    if size is not None:
        fill = tuple((mm, size / spec.fill_months) for mm in fill_months)
        res = run(size)
        assert res.trace is not None
        idx = [res.months.index(mm) for mm in fill_months]
        p_fill = float(np.median(res.trace.price_x[idx], axis=1).mean()) * anchor
        value = size * 1000.0 * anchor
        hold_years = (month_index(end) - first + 1) / 12.0
        yearly = value * (STORAGE_SHARE_PER_YEAR + FINANCING_RATE)
        cost.update(
            {
                "purchase_at_anchor": value,
                "fill_price_usd_per_kg_p50": p_fill,
                "purchase_at_simulated_price": size * 1000.0 * p_fill,
                "holding_per_year": yearly,
                "holding_years": hold_years,
                "holding_total": yearly * hold_years,
                "total_at_anchor": value + yearly * hold_years,
            }
        )
        metric_with = _quantiles(metric(size))
        prob_at = prob(size)
    return StockpileResult(
        spec=spec,
        chain=chain,
        product_title=CHAINS[chain].product_title,
        window=(month_label(first), end),
        size_t=size,
        next_smaller_t=search.below,
        reached=search.reached,
        prob_at_size=prob_at,
        prob_without=prob(None),
        metric_without=_quantiles(metric(None)),
        metric_with=metric_with,
        fill=fill,
        cost=cost,
        tried=search.tried,
        monotone=search.monotone,
        monthly_demand_t=monthly,
        paths=paths,
        seed=seed,
        data_version=dataset.version,
        assumptions=(
            f"storage {STORAGE_SHARE_PER_YEAR:.0%}/yr of value and financing "
            f"{FINANCING_RATE:.1%}/yr (assumptions)",
            "purchases do not move the market (the engine's stockpile event adds stock exogenously)",
            f"release rule: released whenever the region's users run short, at most "
            f"{spec.release_share_per_month:g} of the content a month "
            "(replaces earlier rules for the region's pool)",
        ),
    )
