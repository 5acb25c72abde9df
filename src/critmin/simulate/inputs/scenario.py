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
    overrides:                      # Calliope-style named override blocks ...
      fast-approvals: {parameters: {licence.approval_rate: 0.9}}
    scenarios:                      # ... composed into named variants
      with-fast-approvals: [fast-approvals]

Errors name the file, the line and the key, with a fix.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from critmin.errors import DataError
from critmin.model.countries import is_known_code
from critmin.model.stages import Stage
from critmin.simulate.chains.registry import CHAIN_IDS, EVENT_CHAIN_IDS, host_of
from critmin.simulate.inputs.params import Value, parameter_table

DEFAULT_REGIONS = ("CHN", "USA", "EU27", "JPN", "KOR", "IND", "AUS", "MYS", "VNM", "BRA", "MMR", "ROW")


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings, so pydantic validates them with a line number."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _month(text: Any) -> str:
    if isinstance(text, dt.date):
        return f"{text.year:04d}-{text.month:02d}"
    s = str(text).strip()
    try:
        dt.date.fromisoformat(s + "-01" if len(s) == 7 else s)
    except ValueError:
        raise ValueError(f"{s!r} is not a month YYYY-MM") from None
    return s[:7]


def _date(text: Any) -> dt.date:
    if isinstance(text, dt.date):
        return text
    s = str(text).strip()
    try:
        return dt.date.fromisoformat(s + "-01" if len(s) == 7 else s)
    except ValueError:
        raise ValueError(f"{s!r} is not a date YYYY-MM-DD") from None


def _chain_list(v: Any, *, feed: bool = False) -> tuple[str, ...]:
    """Validate a list of commodity chains (a single name is accepted as a list of one).

    ``feed``: the heavy rare-earth feed (``dy_tb``) is allowed too, as it is for events; it is
    not a chain a scenario runs on its own (it runs inside ``rare_earths``).
    """
    allowed = EVENT_CHAIN_IDS if feed else CHAIN_IDS
    if isinstance(v, str):
        v = (v,)
    if not isinstance(v, list | tuple) or not v or not all(isinstance(c, str) for c in v):
        raise ValueError(f"give a list of commodity chains from {', '.join(allowed)}")
    bad = [c for c in v if c not in allowed]
    if bad:
        hosts = {c: h.id for c in bad if (h := host_of(c)) is not None}
        hint = "".join(f" ({c} runs inside {h})" for c, h in hosts.items())
        raise ValueError(f"unknown commodity chain(s) {bad}; use {', '.join(allowed)}{hint}")
    if len(set(v)) != len(v):
        raise ValueError("commodities must not repeat")
    return tuple(v)


class EventKind(StrEnum):
    """What a policy event does."""

    BAN = "ban"  # exports from `exporter` at `stages` to `destinations` stop
    LICENCE = "licence"  # exports need a licence: approval rate and lag apply
    END_USER_DENIAL = "end_user_denial"  # licences for defence end users are refused
    APPROVAL_RATE = "approval_rate"  # change the approval rate of licence regimes in force
    SUSPEND = "suspend"  # suspend `targets` from `date` to `until`
    LIFT = "lift"  # end `targets` from `date`
    STOCKPILE = "stockpile"  # add `amount_t` to `region`'s strategic stockpile
    PRICE_FLOOR = "price_floor"  # guarantee `price_usd_per_kg` to `region`'s producers at `stages`
    OFFTAKE = "offtake"  # `region` buys `volume_t_per_year` of `seller`'s output at `stages` first


class Event(BaseModel):
    """One dated policy event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    date: dt.date
    kind: EventKind
    exporter: str = "CHN"
    #: Commodity chains the event applies to (``critmin simulate --list-chains``).
    commodities: tuple[str, ...] = ("rare_earths",)
    stages: tuple[Stage, ...] = (Stage.MAGNET,)
    destinations: Literal["all"] | tuple[str, ...] = "all"
    controlled_share: Value | None = None
    extraterritorial: bool = False
    approval_rate: Value | None = None
    targets: tuple[str, ...] = ()
    until: dt.date | None = None
    region: str | None = None
    amount_t: float | None = Field(default=None, ge=0)
    price_usd_per_kg: float | None = Field(default=None, ge=0)
    seller: str | None = None
    volume_t_per_year: float | None = Field(default=None, ge=0)
    source_id: str | None = None
    note: str | None = None

    @field_validator("date", "until", mode="before")
    @classmethod
    def _dates(cls, v: Any) -> dt.date | None:
        return None if v is None else _date(v)

    @field_validator("commodities", mode="before")
    @classmethod
    def _commodities(cls, v: Any) -> tuple[str, ...]:
        return _chain_list(v, feed=True)

    @field_validator("destinations")
    @classmethod
    def _dest(cls, v: Any) -> Any:
        if v != "all":
            bad = [d for d in v if not is_known_code(d)]
            if bad:
                raise ValueError(f"unknown destination(s) {bad}; use ISO3 codes, EU27 or ROW")
        return v

    @model_validator(mode="after")
    def _needs(self) -> Event:
        if self.kind in (EventKind.SUSPEND, EventKind.LIFT) and not self.targets:
            raise ValueError(f"a {self.kind.value} event needs `targets` (event ids)")
        if self.kind is EventKind.APPROVAL_RATE and self.approval_rate is None:
            raise ValueError("an approval_rate event needs `approval_rate`")
        if self.kind is EventKind.STOCKPILE and (self.region is None or self.amount_t is None):
            raise ValueError("a stockpile event needs `region` and `amount_t`")
        if self.kind is EventKind.PRICE_FLOOR and self.price_usd_per_kg is None:
            raise ValueError("a price_floor event needs `price_usd_per_kg`")
        if self.kind is EventKind.OFFTAKE:
            if self.region is None or self.seller is None or self.volume_t_per_year is None:
                raise ValueError("an offtake event needs `region` (buyer), `seller` and `volume_t_per_year`")
            if len(self.stages) != 1:
                raise ValueError("an offtake event names exactly one stage (`stages: [separation]`)")
            if self.seller == "CHN":
                raise ValueError("offtakes from CHN are not modelled: China's exports follow its controls")
        for key in ("region", "seller"):
            code = getattr(self, key)
            if code is not None and not is_known_code(code):
                raise ValueError(f"unknown {key} {code!r}; use an ISO3 code, EU27 or ROW")
        return self


class OverrideBlock(BaseModel):
    """A named set of parameter values and extra events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parameters: dict[str, Value] = Field(default_factory=dict)
    events: tuple[Event, ...] = ()


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

    @field_validator("start", "end", mode="before")
    @classmethod
    def _months(cls, v: Any) -> str:
        return _month(v)

    @field_validator("commodities", mode="before")
    @classmethod
    def _chains(cls, v: Any) -> tuple[str, ...]:
        return _chain_list(v)

    @field_validator("regions")
    @classmethod
    def _regions(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if "CHN" not in v or "ROW" not in v:
            raise ValueError("regions must include CHN and ROW")
        bad = [r for r in v if not is_known_code(r)]
        if bad:
            raise ValueError(f"unknown region(s) {bad}; use ISO3 codes, EU27 or ROW")
        return v

    @field_validator("parameters")
    @classmethod
    def _known_params(cls, v: dict[str, Value]) -> dict[str, Value]:
        return check_parameters(v)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        for variant, blocks in self.scenarios.items():
            missing = [b for b in blocks if b not in self.overrides]
            if missing:
                raise ValueError(f"scenario variant {variant!r} names unknown overrides {missing}")
        for block in self.overrides.values():
            Scenario._known_params(block.parameters)
        ids = [e.id for e in self.events]
        if len(ids) != len(set(ids)):
            raise ValueError("event ids must be unique")
        return self

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_yaml(cls, path: Path | str, *, variant: str | None = None) -> Scenario:
        """Load, inherit (``extends``), validate and apply ``variant`` (a named composition)."""
        p = Path(path)
        try:
            text = p.read_text("utf-8")
        except OSError as exc:
            raise DataError(f"cannot read scenario: {exc}", path=p, fix="give a scenario YAML file") from None
        try:
            raw = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: safe
            root = yaml.compose(text, Loader=_Loader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise DataError(
                f"not valid YAML: {getattr(exc, 'problem', exc)}",
                path=p,
                line=mark.line + 1 if mark else None,
                fix="check indentation and quoting",
            ) from None
        if not isinstance(raw, dict):
            raise DataError("a scenario is a YAML mapping", path=p, line=1, fix="start with `name: ...`")
        if raw.get("extends"):
            base = bundled_scenario(str(raw["extends"]))
            raw = _merge(base.model_dump(mode="python", exclude={"name", "description", "extends"}), raw)
        try:
            sc = cls.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = tuple(err["loc"])
            key = ".".join(str(x) for x in loc if not str(x).startswith(("function-", "tagged-union")))
            raise DataError(
                f"{err['msg']}",
                path=p,
                line=_line_of(root, loc),
                column=key or None,
                fix="see the scenario format in critmin/simulate/scenario.py and scenarios/*.yaml",
            ) from None
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


def check_parameters(values: dict[str, Value]) -> dict[str, Value]:
    """``values`` if every name is in the parameter table and every value within its bounds.

    Raises ``ValueError`` (pydantic turns it into the file:line error) naming the parameter,
    the value and the bounds; ``critmin simulate --list-parameters`` prints the table.
    """
    known = parameter_table()
    bad = sorted(set(values) - set(known))
    if bad:
        raise ValueError(f"unknown parameter(s) {bad}; see `critmin simulate --list-parameters`")
    for name, value in values.items():
        problem = known[name].check(value)
        if problem:
            raise ValueError(f"{name} {problem}; see `critmin simulate --list-parameters`")
    return values


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        if k == "parameters":
            out[k] = {**base.get(k, {}), **(v or {})}
        elif k == "events":
            out[k] = [*base.get(k, []), *(v or [])]
        elif k == "overrides":
            out[k] = {**base.get(k, {}), **(v or {})}
        else:
            out[k] = v
    out["extends"] = None
    return out


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest YAML node reached by a pydantic error location."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == str(key)), None)
            if nxt is None:
                break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


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
        raw = yaml.safe_load(resources.files(pkg).joinpath(fname).read_text("utf-8"))
        for a in raw.get("assumptions", []):
            out[a["id"]] = {"title": a["title"], "rationale": " ".join(str(a["rationale"]).split())}
    return out


@cache
def history_events() -> tuple[Event, ...]:
    """The bundled 2023-2025 rare-earth control history (``simulate/inputs/history.yaml``)."""
    text = resources.files("critmin.simulate.inputs").joinpath("history.yaml").read_text("utf-8")
    return tuple(Event.model_validate(e) for e in yaml.safe_load(text)["events"])


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
