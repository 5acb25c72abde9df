"""Scenarios: a dated policy timeline plus parameter overrides, validated from YAML.

A scenario file (``scenarios/*.yaml``; pydantic models with ``extra="forbid"``)::

    name: controls-reimposed-2026-11
    description: ...
    extends: truce-holds            # optional: inherit another bundled scenario
    start: 2024-01                  # monthly steps, inclusive
    end: 2035-12
    regions: [CHN, USA, EU27, JPN, KOR, IND, AUS, MYS, VNM, BRA, MMR, ROW]
    include_history: true           # bundled 2023-2025 controls and the suspension
    parameters:                     # any name in parameters.yaml: a number or a distribution
      licence.approval_rate: {dist: beta, a: 3, b: 7}
    events:                         # added on top of the history
      - {id: oct-package-returns, date: 2026-11-10, kind: lift, targets: [suspension-no70]}
    regime:                         # optional: the regime Markov chain (inputs/regimes.py)
      groups: {USA: [USA], JPN: [JPN], other: rest}
      start: 2027-01                # default: after the last dated event
    overrides:                      # Calliope-style named override blocks ...
      fast-approvals: {parameters: {licence.approval_rate: 0.9}}
    scenarios:                      # ... composed into named variants
      with-fast-approvals: [fast-approvals]

Errors name the file, the line and the key, with a fix.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from critmin import yamlio
from critmin.errors import DataError
from critmin.infile import read_text
from critmin.model.countries import is_known_code
from critmin.simulate.chains.network import region_of
from critmin.simulate.inputs.events import (
    Event,
    EventKind,
    OfftakeEvent,
    StockpileEvent,
    chain_list,
    parse_event,
    targets_of,
)
from critmin.simulate.inputs.params import FieldError, Value, parameter_table
from critmin.simulate.inputs.regimes import RegimeSpec
from critmin.simulate.inputs.yamlload import line_of, load_yaml, validation_error

#: Longest horizon a scenario may have (50 years of months).
MAX_MONTHS = 600
DEFAULT_REGIONS = ("CHN", "USA", "EU27", "JPN", "KOR", "IND", "AUS", "MYS", "VNM", "BRA", "MMR", "ROW")


#: Years a scenario's months may fall in (as the data's years, :mod:`critmin.infile`).
MONTH_YEARS = (1900, 2100)


def _month(text: Any) -> str:
    """``YYYY-MM`` of a month or date; any other form (``20250115``, ``2025-W05``) is refused."""
    if isinstance(text, dt.date):
        d = text
    else:
        s = str(text).strip()
        if not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", s):
            raise ValueError(f"{s!r} is not a month YYYY-MM")
        try:
            d = dt.date.fromisoformat(s + "-01" if len(s) == 7 else s)
        except ValueError:
            raise ValueError(f"{s!r} is not a month YYYY-MM") from None
    if not MONTH_YEARS[0] <= d.year <= MONTH_YEARS[1]:
        raise ValueError(f"year {d.year} is outside {MONTH_YEARS[0]}-{MONTH_YEARS[1]}")
    return f"{d.year:04d}-{d.month:02d}"


class OverrideBlock(BaseModel):
    """A named set of parameter values and extra events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parameters: dict[str, Value] = Field(default_factory=dict)
    events: tuple[Event, ...] = ()

    @field_validator("parameters")
    @classmethod
    def _known_params(cls, v: dict[str, Value]) -> dict[str, Value]:
        return check_parameters(v)


class Scenario(BaseModel):
    """A validated scenario (see the module docstring for the YAML)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    extends: str | None = None
    start: str = "2024-01"
    end: str = "2035-12"
    #: Commodity chains simulated, each on its own network with the same timeline (events
    #: apply to the chains they list); the first is the primary one (bands, trace).
    commodities: tuple[str, ...] = ("rare_earths",)
    regions: tuple[str, ...] = DEFAULT_REGIONS
    include_history: bool = True
    parameters: dict[str, Value] = Field(default_factory=dict)
    events: tuple[Event, ...] = ()
    overrides: dict[str, OverrideBlock] = Field(default_factory=dict)
    scenarios: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    #: the regime Markov chain's destination groups and first month (inputs/regimes.py)
    regime: RegimeSpec = Field(default_factory=RegimeSpec)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _months(cls, v: Any) -> str:
        return _month(v)

    @field_validator("commodities", mode="before")
    @classmethod
    def _chains(cls, v: Any) -> tuple[str, ...]:
        return chain_list(v)

    @field_validator("regions")
    @classmethod
    def _regions(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for i, r in enumerate(v):
            if not is_known_code(r):
                raise FieldError(f"unknown region {r!r}; use ISO3 codes, EU27 or ROW", (i,))
            if r in v[:i]:
                j = v.index(r)
                raise FieldError(
                    f"regions must not repeat: [{r!r}] (at regions.{j} and regions.{i})",
                    (i,),
                    first=("regions", j),
                    fix="list each region once",
                )
        if "CHN" not in v or "ROW" not in v:
            raise ValueError("regions must include CHN and ROW")
        return v

    @field_validator("parameters")
    @classmethod
    def _known_params(cls, v: dict[str, Value]) -> dict[str, Value]:
        return check_parameters(v)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.end < self.start:
            raise FieldError(
                f"end {self.end} is before start {self.start}", ("end",), fix="give `end:` after `start:`"
            )
        for variant, blocks in self.scenarios.items():
            missing = [b for b in blocks if b not in self.overrides]
            if missing:
                raise FieldError(
                    f"scenario variant {variant!r} names unknown overrides {missing}", ("scenarios", variant)
                )
        seen: dict[str, int] = {}
        for i, e in enumerate(self.events):
            if e.id in seen:
                raise FieldError(
                    f"event id {e.id!r} repeats",
                    ("events", i, "id"),
                    first=("events", seen[e.id], "id"),
                    fix="give each event its own id",
                )
            seen[e.id] = i
        n_months = (
            (int(self.end[:4]) - int(self.start[:4])) * 12 + int(self.end[5:7]) - int(self.start[5:7]) + 1
        )
        if n_months > MAX_MONTHS:
            raise FieldError(
                f"the horizon {self.start} to {self.end} has {n_months:,} months; at most {MAX_MONTHS} "
                f"({MAX_MONTHS // 12} years)",
                ("end",),
                fix=f"give an `end:` within {MAX_MONTHS // 12} years of `start:`",
            )
        return self

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_yaml(cls, path: Path | str, *, variant: str | None = None) -> Scenario:
        """Load, inherit (``extends``), validate and apply ``variant`` (a named composition)."""
        p = Path(path)
        raw, root = load_yaml(read_text(p, "yaml", what="scenario"), p)
        if not isinstance(raw, dict):
            raise DataError("a scenario is a YAML mapping", path=p, line=1, fix="start with `name: ...`")
        offsets: dict[str, int] = {}
        if raw.get("extends"):
            try:
                base = bundled_scenario(str(raw["extends"]))
            except DataError as exc:
                raise DataError(
                    f"extends: {exc.message}",
                    path=p,
                    line=line_of(root, ("extends",)),
                    column="extends",
                    fix=exc.fix,
                ) from None
            offsets["events"] = len(base.events)
            raw = _merge(base.model_dump(mode="python", exclude={"name", "description", "extends"}), raw)
        try:
            sc = cls.model_validate(raw)
        except ValidationError as exc:
            raise validation_error(exc, path=p, root=root, offsets=offsets) from None
        _check_timeline(sc, root, p)
        return sc.with_variant(variant) if variant else sc

    def with_variant(self, variant: str) -> Scenario:
        """Apply the named composition of override blocks."""
        if variant not in self.scenarios:
            raise DataError(
                f"unknown scenario variant {variant!r}",
                column="scenarios",
                fix=f"use one of {', '.join(self.scenarios) or '(none defined)'}",
            )
        params = dict(self.parameters)
        events = list(self.events)
        for block in self.scenarios[variant]:
            params.update(self.overrides[block].parameters)
            events.extend(self.overrides[block].events)
        return self.model_copy(
            update={"name": f"{self.name}:{variant}", "parameters": params, "events": tuple(events)}
        )

    def timeline(self) -> tuple[Event, ...]:
        """History (if included) plus this scenario's events, by date then id."""
        ev = list(history_events()) if self.include_history else []
        ev.extend(self.events)
        return tuple(sorted(ev, key=lambda e: (e.date, e.id)))

    def months(self) -> list[str]:
        """Every month from start to end, as ``YYYY-MM``."""
        y, m = int(self.start[:4]), int(self.start[5:7])
        ye, me = int(self.end[:4]), int(self.end[5:7])
        out = []
        while (y, m) <= (ye, me):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


def _event_line(root: yaml.Node | None, event_id: str, key: str | None = None) -> int | None:
    """Line of the event ``event_id`` (or of its ``key``) in a scenario file's ``events``."""
    if not isinstance(root, yaml.MappingNode):
        return None
    events = next((v for k, v in root.value if getattr(k, "value", None) == "events"), None)
    if not isinstance(events, yaml.SequenceNode):
        return None
    for node in events.value:
        if isinstance(node, yaml.MappingNode):
            fields = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
            if getattr(fields.get("id"), "value", None) == event_id:
                found = fields.get(key) if key else None
                return int((found or node).start_mark.line) + 1
    return None


def _check_timeline(sc: Scenario, root: yaml.Node | None, path: Path) -> None:
    """Checks that need the whole timeline: an event id that repeats a history id, a target
    that is no event of the timeline, a stockpile dated after the horizon."""
    history = {e.id for e in history_events()} if sc.include_history else set()
    for e in sc.events:
        if e.id in history:
            raise DataError(
                f"event id {e.id!r} is already an event of the bundled history",
                path=path,
                line=_event_line(root, e.id, "id"),
                column="events.id",
                fix="give the event another id (or set include_history: false)",
            )
    known = history | {e.id for e in sc.events}
    for e in sc.events:
        unknown = [t for t in targets_of(e) if t not in known]
        if unknown:
            raise DataError(
                f"event {e.id!r} targets unknown event(s) {unknown}",
                path=path,
                line=_event_line(root, e.id, "targets"),
                column="events.targets",
                fix="name the id of an event in the scenario or the history (critmin scenarios show NAME)",
            )
        if isinstance(e, OfftakeEvent):
            _check_offtake(e, sc.regions, path, _event_line(root, e.id, "seller"))
        if isinstance(e, StockpileEvent) and f"{e.date.year:04d}-{e.date.month:02d}" > sc.end:
            raise DataError(
                f"stockpile {e.id!r} is dated {e.date}, after the horizon ends ({sc.end})",
                path=path,
                line=_event_line(root, e.id, "date"),
                column="events.date",
                fix="date it within the horizon or extend `end:`",
            )


def _check_offtake(e: OfftakeEvent, regions: tuple[str, ...], path: Path, line: int | None) -> None:
    """An offtake must cross model regions, and not out of China's (the engine would skip it)."""
    seller, buyer = region_of(e.seller, regions), region_of(e.region, regions)
    if seller == "CHN":
        raise DataError(
            f"offtake {e.id!r}: the seller {e.seller!r} falls in the model region CHN",
            path=path,
            line=line,
            column="events.seller",
            fix="offtakes are from producers outside China; China's exports follow its controls",
        )
    if seller == buyer:
        raise DataError(
            f"offtake {e.id!r}: the seller {e.seller!r} and the buyer {e.region!r} are both in the "
            f"model region {seller!r}, so it would be skipped",
            path=path,
            line=line,
            column="events.seller",
            fix=f"add {e.seller} or {e.region} to `regions:` (now {', '.join(regions)}), or pick a "
            "seller in another region",
        )


def check_parameters(values: dict[str, Value]) -> dict[str, Value]:
    """``values`` if every name is in the parameter table and every value within its bounds.

    Raises :class:`~critmin.simulate.inputs.params.FieldError` (a ``ValueError``: pydantic
    turns it into the file:line error of that parameter's key) naming the parameter,
    the value and the bounds; ``critmin simulate --list-parameters`` prints the table.
    """
    known = parameter_table()
    for name, value in values.items():
        if name not in known:
            raise FieldError(f"unknown parameter {name!r}", (name,))
        problem = known[name].check(value)
        if problem:
            raise FieldError(f"{name} {problem}", (name,))
    return values


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        below = base.get(k)
        if k in ("parameters", "overrides") and isinstance(below, dict) and isinstance(v, dict | None):
            out[k] = {**below, **(v or {})}
        elif k == "events" and isinstance(below, list | tuple) and isinstance(v, list | None):
            out[k] = [*below, *(v or [])]
        else:  # anything else replaces the base's value (and is validated as given)
            out[k] = v
    out["extends"] = None
    return out


@cache
def assumption_texts() -> dict[str, dict[str, str]]:
    """Every labelled assumption the simulation can cite: id -> {title, rationale}.

    From ``simulate/inputs/assumptions.yaml``, the single chains (``simulate/chains/chains.yaml``), the heavy
    rare-earth feed (``simulate/chains/heavy.yaml``) and the
    country-chain rules (``trace/ree_chain.yaml``);
    assumptions behind stage shares are sources of kind ``assumption`` in the dataset.
    """
    out: dict[str, dict[str, str]] = {}
    files = (
        ("critmin.simulate.inputs", "assumptions.yaml"),
        ("critmin.simulate.chains", "chains.yaml"),
        ("critmin.simulate.chains", "heavy.yaml"),
        ("critmin.trace", "ree_chain.yaml"),
    )
    for pkg, fname in files:
        raw = yamlio.safe_load(resources.files(pkg).joinpath(fname).read_text("utf-8"))
        for a in raw.get("assumptions", []):
            out[a["id"]] = {"title": a["title"], "rationale": " ".join(str(a["rationale"]).split())}
    return out


@cache
def history_events() -> tuple[Event, ...]:
    """The bundled 2023-2025 rare-earth control history (``simulate/inputs/history.yaml``)."""
    text = resources.files("critmin.simulate.inputs").joinpath("history.yaml").read_text("utf-8")
    return tuple(parse_event(e) for e in yamlio.safe_load(text)["events"])


def bundled_scenarios() -> dict[str, Path]:
    """Bundled scenario names -> files (``scenarios/`` in the repository, or the package copy)."""
    root = resources.files("critmin.simulate.inputs").joinpath("scenarios")
    files = {Path(str(f)).stem: Path(str(f)) for f in root.iterdir() if str(f).endswith(".yaml")}
    return dict(sorted(files.items()))


def bundled_scenario(name: str) -> Scenario:
    """A bundled scenario by name."""
    files = bundled_scenarios()
    if name not in files:
        raise DataError(f"unknown scenario {name!r}", fix=f"use one of {', '.join(files)} or a YAML path")
    return Scenario.from_yaml(files[name])


def load_scenario(name_or_path: str, *, variant: str | None = None) -> Scenario:
    """A bundled scenario name (``controls-reimposed-2026-11``) or a path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix in {".yaml", ".yml"} or p.exists():
        return Scenario.from_yaml(p, variant=variant)
    sc = bundled_scenario(name_or_path)
    return sc.with_variant(variant) if variant else sc


__all__ = [
    "DEFAULT_REGIONS",
    "Event",
    "EventKind",
    "OverrideBlock",
    "Scenario",
    "assumption_texts",
    "bundled_scenario",
    "bundled_scenarios",
    "history_events",
    "load_scenario",
]
