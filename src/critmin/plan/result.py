"""What ``critmin plan`` returns: :class:`PlanResult` (the portfolio, its costs, the binding
targets and their shadow prices in words, VSS and EVPI) and its tables.

A result carries its inputs: the resolved plan spec, data version, seed, package version, and
how the futures were drawn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd

from critmin._version import __version__
from critmin.plan.spec import PlanSpec


class Status(StrEnum):
    """How a solve ended."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"


@dataclass(frozen=True)
class Shadow:
    """A binding target's shadow price: ``marginal_musd`` is the change in expected NPV cost
    (US$ m) for ``per`` more of the target (positive: tightening it costs money)."""

    group: str
    kind: str
    words: str
    marginal_musd: float
    per: str
    statement: str


@dataclass(frozen=True)
class ValueOfInformation:
    """VSS = EEV - RP (US$ m, >= 0): what solving on the futures saves over planning on the
    mean future; EVPI = RP - WS (>= 0): what knowing the future would be worth, on ``futures``
    of them. ``None`` where it could not be computed, with the reason in ``note``."""

    rp_musd: float | None
    eev_musd: float | None
    vss_musd: float | None
    ws_musd: float | None
    rp_sub_musd: float | None
    evpi_musd: float | None
    evpi_futures: int
    note: str = ""


@dataclass(frozen=True)
class PlanResult:
    """Outcome of :func:`critmin.plan.solve.solve_plan`.

    ``portfolio``: one row per decision (instrument, buyer, project, product, host, years,
    amount, unit, expected cost US$ m NPV); ``costs``: expected NPV cost (US$ m) by instrument
    and payer; ``shadows``: binding targets with their shadow prices in words; ``conflicts``:
    when infeasible, the conflicting targets in words; ``in_sample``: per target the share of
    the optimisation's futures in which it holds; ``frontier`` (cost against the months of
    cut-off survived) and ``alternatives`` (near-optimal portfolios), when asked for
    (:mod:`critmin.plan.frontier`).
    """

    spec: PlanSpec
    status: Status
    objective_musd: float | None
    data_version: str
    seed: int
    futures: int
    portfolio: pd.DataFrame
    costs: pd.DataFrame
    shadows: tuple[Shadow, ...] = ()
    conflicts: tuple[str, ...] = ()
    value: ValueOfInformation | None = None
    in_sample: dict[str, float] = field(default_factory=dict)
    size: dict[str, int] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    package_version: str = __version__
    verification: Any = None
    frontier: pd.DataFrame | None = None
    alternatives: pd.DataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``--format json`` document (no NaN)."""
        from critmin.jsonsafe import json_safe

        v = self.value
        return json_safe(
            {
                "plan": self.spec.name,
                "status": self.status.value,
                "objective_musd": self.objective_musd,
                "seed": self.seed,
                "futures": self.futures,
                "data_version": self.data_version,
                "critmin_version": self.package_version,
                "portfolio": self.portfolio.to_dict(orient="records"),
                "costs": self.costs.to_dict(orient="records"),
                "shadow_prices": [s.__dict__ for s in self.shadows],
                "conflicts": list(self.conflicts),
                "value_of_information": None if v is None else v.__dict__,
                "in_sample": self.in_sample,
                "model_size": self.size,
                "timings_s": self.timings_s,
                "notes": self.notes,
                "plan_resolved": json.loads(self.spec.model_dump_json()),
                "verification": None if self.verification is None else self.verification.to_dict(),
                "frontier": None if self.frontier is None else self.frontier.to_dict(orient="records"),
                "alternatives": None
                if self.alternatives is None
                else self.alternatives.to_dict(orient="records"),
            }
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result's tables by name (for ``--out x.xlsx``)."""
        frames = {"portfolio": self.portfolio, "costs": self.costs}
        if self.shadows:
            frames["shadow_prices"] = pd.DataFrame([s.__dict__ for s in self.shadows])
        if self.frontier is not None:
            frames["frontier"] = self.frontier
        if self.alternatives is not None:
            frames["alternatives"] = self.alternatives
        if self.verification is not None:
            frames["verification"] = self.verification.table()
        return frames

    def write(self, path: Path | str) -> Path:
        """Write ``.json`` (the document) or ``.xlsx``/``.csv``/``.parquet`` (the tables), atomically."""
        from critmin.atomic import atomic_write_bytes
        from critmin.jsonsafe import dumps
        from critmin.report.tables import write_tables

        p = Path(path)
        if p.suffix == ".json":
            atomic_write_bytes(p, dumps(self.to_dict(), indent=2, default=str).encode())
            return p
        return write_tables(self.tables(), p)


__all__ = ["PlanResult", "Shadow", "Status", "ValueOfInformation"]
