"""What a run returns: :class:`SimulationResult` with every chain's :class:`ChainRun`, the
summary tables, and how block results merge.

A result carries what its readers need, so that reports read results only: the resolved
scenario, seed, data and package versions, status, and per chain its compiled timeline (the
events that apply to it and the months each is in force).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin._version import __version__
from critmin.simulate.chains.registry import product_title
from critmin.simulate.engine.types import EngineResult, PathMetrics, Trace, bands_of
from critmin.simulate.inputs.scenario import Event, Scenario

F = npt.NDArray[np.float64]
METRICS = (
    "peak_shortfall_pct",
    "cumulative_shortfall_t",
    "months_below_90pct",
    "peak_price_ratio",
    "output_at_risk_usd",
)
#: Metrics that add up across regions (the ``exCHN`` rows).
ADDITIVE = ("cumulative_shortfall_t", "output_at_risk_usd")
EX_CHINA = "exCHN"
#: The product of the price-floor cost rows (the floors top up NdPr oxide revenue).
FLOOR_PRODUCT = "ndpr_oxide"


class RunStatus(StrEnum):
    """How a run ended."""

    OK = "ok"


@dataclass(frozen=True)
class ChainRun:
    """One chain's outcome within a run (``SimulationResult.chains``).

    ``events``: the timeline's events that apply to the chain; ``in_force``: event id -> [T]
    whether it is in force each month (after suspensions and lifts), what figures mark.
    """

    commodity: str
    product: str
    metrics: PathMetrics
    bands: pd.DataFrame
    source_ids: tuple[str, ...]
    assumption_ids: tuple[str, ...]
    events: tuple[Event, ...] = ()
    in_force: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict, repr=False)

    @property
    def title(self) -> str:
        """Display name of the chain's product."""
        return product_title(self.product)


#: Keep full monthly series only below this many path x month x region cells.
TRACE_LIMIT = 2_000_000


@dataclass(frozen=True)
class SimulationResult:
    """Outcome of :func:`critmin.simulate.run`: summaries, monthly bands and provenance.

    ``summary``: region x product x metric percentiles (p5/p50/p95 across paths), one
    ``product`` per commodity chain of the scenario; ``bands``: per month p5/p50/p95 of the
    ex-China shortfall (% of demand) and price ratio; ``metrics``: per-path values; ``trace``:
    full monthly series when small (``None`` otherwise). ``bands``, ``metrics`` and ``trace``
    are those of the primary (first) chain; ``chains`` holds every chain's metrics and bands.
    """

    scenario: Scenario
    paths: int
    seed: int
    data_version: str
    months: tuple[str, ...]
    summary: pd.DataFrame
    bands: pd.DataFrame
    metrics: PathMetrics
    parameters: dict[str, Any]
    source_ids: tuple[str, ...]
    assumption_ids: tuple[str, ...]
    trace: Trace | None = field(default=None, repr=False)
    package_version: str = __version__
    chains: dict[str, ChainRun] = field(default_factory=dict, repr=False)
    status: RunStatus = RunStatus.OK

    def to_dict(self) -> dict[str, Any]:
        """The ``critmin simulate --format json`` document (no NaN: missing values are null)."""
        from critmin.jsonsafe import json_safe

        return {
            "scenario": self.scenario.name,
            "status": self.status.value,
            "paths": self.paths,
            "seed": self.seed,
            "data_version": self.data_version,
            "critmin_version": self.package_version,
            "months": [self.months[0], self.months[-1]],
            "summary": json_safe(self.summary.to_dict(orient="records")),
            "source_ids": list(self.source_ids),
            "assumption_ids": list(self.assumption_ids),
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result's tables by name: summary, bands and (if kept) per path x month series."""
        frames = {"summary": self.summary, "bands": self.bands}
        if self.trace is not None:
            frames["series"] = self.series()
        return frames

    def write(self, path: Path | str) -> Path:
        """:meth:`write_all`; returns the first file written (the summary, or the workbook)."""
        return self.write_all(path)[0]

    def write_all(self, path: Path | str) -> list[Path]:
        """Write :meth:`tables` atomically, one record type per file; return the files written.

        ``run.parquet`` / ``run.csv``: ``run.summary.parquet``, ``run.bands.parquet`` and (when the
        run kept its series) ``run.series.parquet``
        (:func:`critmin.report.tables.write_table_files`); ``run.xlsx``: one workbook, a sheet per
        table. The resolved scenario is saved beside them (``run.scenario.json``, last in the list).
        """
        from critmin.atomic import atomic_write_bytes
        from critmin.jsonsafe import dumps
        from critmin.report.tables import TABLE_SUFFIXES, write_table_files

        written = write_table_files(self.tables(), path)
        p = Path(path)
        suffix = next((s for s in TABLE_SUFFIXES if p.name.lower().endswith(s)), p.suffix)
        stem = p.name[: len(p.name) - len(suffix)]
        meta = {
            **self.to_dict(),
            "scenario_resolved": json.loads(self.scenario.model_dump_json()),
            "parameters": self.parameters,
        }
        scenario_json = atomic_write_bytes(
            p.with_name(stem + ".scenario.json"), dumps(meta, indent=2, default=str).encode()
        )
        return [*written, scenario_json]

    def series(self) -> pd.DataFrame:
        """Per path x month x region series (needs ``trace``)."""
        if self.trace is None:
            return pd.DataFrame()
        tr = self.trace
        p_n = tr.demand.shape[1]
        idx = pd.MultiIndex.from_product(
            [self.months, range(p_n), self.scenario.regions], names=["month", "path", "region"]
        )
        return pd.DataFrame(
            {
                "demand_t": tr.demand.reshape(-1),
                "consumption_t": tr.consumption.reshape(-1),
                "shortfall_t": tr.shortfall.reshape(-1),
                "inventory_t": tr.inventory.reshape(-1),
                "stockpile_t": tr.stockpile.reshape(-1),
            },
            index=idx,
        ).reset_index()


# ------------------------------------------------------------------------------ merging
def _cat(arrays: Sequence[Any]) -> Any:
    return np.concatenate(arrays, axis=0)


def join_metrics(parts: Sequence[PathMetrics]) -> PathMetrics:
    """Per-path metrics of consecutive path blocks, in path order."""
    first = parts[0]
    out: dict[str, Any] = {}
    for f in fields(PathMetrics):
        vals = [getattr(p, f.name) for p in parts]
        if getattr(first, f.name) is None:
            out[f.name] = None
        elif f.name == "feed":
            out[f.name] = join_metrics(vals)
        elif isinstance(getattr(first, f.name), dict):
            out[f.name] = {k: _cat([v[k] for v in vals]) for k in getattr(first, f.name)}
        else:
            out[f.name] = _cat(vals)
    return PathMetrics(**out)


def join_traces(parts: Sequence[Trace]) -> Trace:
    """Full monthly series of consecutive path blocks (path axis 1; the balance residual is the
    largest over blocks)."""
    out: dict[str, Any] = {}
    for f in fields(Trace):
        vals = [getattr(p, f.name) for p in parts]
        if f.name == "balance_residual":
            out[f.name] = np.max(np.stack(vals), axis=0) if len(vals) > 1 else vals[0]
        elif all(v is None for v in vals):
            out[f.name] = None  # an optional series no block kept (e.g. stage stockpiles)
        else:
            out[f.name] = np.concatenate(vals, axis=1)
    return Trace(**out)


def join_results(parts: Sequence[EngineResult]) -> EngineResult:
    """One chain's engine results of consecutive path blocks as one result."""
    if len(parts) == 1:
        return parts[0]
    traces = [p.trace for p in parts]
    return EngineResult(
        metrics=join_metrics([p.metrics for p in parts]),
        series={k: np.concatenate([p.series[k] for p in parts], axis=1) for k in parts[0].series},
        trace=join_traces([t for t in traces if t is not None])
        if all(t is not None for t in traces)
        else None,
    )


def band_frame(months: Sequence[str], result: EngineResult, *, feed: bool) -> pd.DataFrame:
    """Per month p5/p50/p95 of the chain's (``feed``: its feed's) series as a table."""
    bands = bands_of(result.series)
    prefix = "feed_"
    picked = {(k[len(prefix) :] if feed else k): v for k, v in bands.items() if k.startswith(prefix) == feed}
    return pd.DataFrame({"month": list(months), **picked})


# ------------------------------------------------------------------------------ summaries
def _row(region: str, product: str, metric: str, values: F) -> dict[str, Any]:
    q = np.percentile(values, [5, 50, 95])
    return {
        "region": region,
        "product": product,
        "metric": metric,
        "p5": float(q[0]),
        "p50": float(q[1]),
        "p95": float(q[2]),
    }


def summarise(m: PathMetrics, regions: tuple[str, ...], product: str) -> pd.DataFrame:
    """Region x metric percentiles of one chain's per-path metrics (plus ``exCHN`` totals of
    the additive metrics and each payer's price-floor cost)."""
    rows = []
    if m.price_floor_cost_usd is not None:
        for r, region in enumerate(regions):
            cost = m.price_floor_cost_usd[:, r]
            if cost.any():
                rows.append(_row(region, FLOOR_PRODUCT, "price_floor_cost_usd", cost))
    world_ex = [r for r, reg in enumerate(regions) if reg != "CHN"]
    for name in METRICS:
        arr = getattr(m, name)
        q = np.percentile(arr, [5, 50, 95], axis=0)
        for r, region in enumerate(regions):
            rows.append(
                {
                    "region": region,
                    "product": product,
                    "metric": name,
                    "p5": float(q[0, r]),
                    "p50": float(q[1, r]),
                    "p95": float(q[2, r]),
                }
            )
        if name in ADDITIVE:
            rows.append(_row(EX_CHINA, product, name, arr[:, world_ex].sum(axis=1)))
    if m.peak_price_usd_per_kg is not None:  # US$ level of each market's peak price
        rows += [
            _row(region, product, "peak_price_usd_per_kg", m.peak_price_usd_per_kg[:, r])
            for r, region in enumerate(regions)
        ]
    return pd.DataFrame(rows)


def summarise_sectors(
    by_sector: dict[str, F], regions: tuple[str, ...], product: str, sectors: tuple[str, ...]
) -> pd.DataFrame:
    """Region x sector percentiles; ``product`` is ``<product>:<sector>`` (e.g. ``ndfeb_magnets:wind``)."""
    rows = []
    for name in ("peak_shortfall_pct", "cumulative_shortfall_t", "months_below_90pct", "output_at_risk_usd"):
        arr = by_sector.get(name)
        if arr is None:
            continue
        q = np.percentile(arr, [5, 50, 95], axis=0)  # [3, R, S]
        for r, region in enumerate(regions):
            for j, sec in enumerate(sectors):
                rows.append(
                    {
                        "region": region,
                        "product": f"{product}:{sec}",
                        "metric": name,
                        "p5": float(q[0, r, j]),
                        "p50": float(q[1, r, j]),
                        "p95": float(q[2, r, j]),
                    }
                )
    return pd.DataFrame(rows)
