"""Export-control rules (YAML) and the bundled element price table, for BOM screening.

A rule names controlled rare-earth elements, origin countries, a value threshold, the dates it
is in force (effective, end, suspension windows) and the destinations it covers; see
:class:`Rule` and :mod:`critmin.trace.screen` for how a BOM is screened against it.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from critmin import yamlio
from critmin.data.catalogue import Source
from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.infile import read_text
from critmin.model.commodities import registry
from critmin.model.countries import is_country, to_iso3
from critmin.units import convert

#: Relative tolerance under which a share counts as equal to the threshold.
THRESHOLD_RTOL = 1e-9
BUNDLED_RULES_ALL = "all"
_PKG = "critmin.trace"

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@cache
def rare_earth_elements() -> dict[str, str]:
    """The 17 rare earths of the registry: symbol -> name, in registry order (La ... Y)."""
    reg = registry()
    out: dict[str, str] = {}
    for member in reg.get("rare_earths").members:
        c = reg.get(member)
        if c.symbol:
            out[c.symbol] = c.name
    return out


def element_symbol(text: str) -> str:
    """Canonical symbol of a rare earth given by symbol or name, case-insensitive (``"dy"`` -> ``"Dy"``).

    Raises :class:`DataError` with the closest symbols (difflib) as the fix.
    """
    key = str(text).strip().lower()
    for sym, name in rare_earth_elements().items():
        if key in (sym.lower(), name.lower()):
            return sym
    symbols = list(rare_earth_elements())
    # Rank symbols by the closer of symbol and name; ties go to the same first letter.
    scored = []
    for sym, name in rare_earth_elements().items():
        ratio = max(difflib.SequenceMatcher(None, key, c).ratio() for c in (sym.lower(), name.lower()))
        scored.append((-ratio, sym[0].lower() != key[:1], sym))
    close = [sym for neg, _, sym in sorted(scored) if -neg >= 0.5][:3]
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    raise DataError(
        f"{text!r} is not a rare-earth element",
        fix=f"{hint}use a rare-earth symbol: {', '.join(symbols)}",
    )


def country_code(text: str) -> str:
    code = to_iso3(str(text))
    if not is_country(code):
        raise DataError(f"{text!r} is not one country", fix="use one ISO 3166 alpha-3 code, e.g. 'CHN'")
    return code


# ---------------------------------------------------------------------------- prices
class ElementPrice(BaseModel):
    """One bundled element price: USD per kg of ``product`` (an oxide or a metal), with its row.

    ``usd_per_kg`` must equal ``value_as_published`` converted from ``unit_as_published``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    element: str
    usd_per_kg: float = Field(gt=0)
    basis: Literal["oxide", "metal"]
    product: str
    year: int
    source_id: str
    table: Literal["salient", "prices"]
    commodity: str | None = None
    item: str | None = None
    vintage: int | None = None
    date: str | None = None
    value_as_published: float = Field(gt=0)
    unit_as_published: Literal["usd_per_kg", "usd_per_t", "usd_per_g"]
    estimated: bool = False
    notes: str | None = None

    @field_validator("element")
    @classmethod
    def _element(cls, v: str) -> str:
        return _as_value_error(element_symbol, v)

    @model_validator(mode="after")
    def _converted(self) -> ElementPrice:
        expect = usd_per_kg(self.value_as_published, self.unit_as_published)
        if not math.isclose(self.usd_per_kg, expect, rel_tol=1e-9):
            msg = f"usd_per_kg {self.usd_per_kg} != {self.value_as_published} {self.unit_as_published}"
            raise ValueError(msg)
        return self


def usd_per_kg(value: float, unit: str) -> float:
    """``value`` in ``usd_per_kg``, ``usd_per_t`` or ``usd_per_g`` as USD per kg."""
    if unit == "usd_per_g":
        return value * convert(1.0, "kg", "g")  # USD/g x g/kg
    return convert(value, unit, "usd_per_kg")


@cache
def element_prices() -> dict[str, ElementPrice]:
    """The bundled element price table (``critmin/trace/element_prices.yaml``): symbol -> price."""
    name = "critmin/trace/element_prices.yaml"
    text = resources.files(_PKG).joinpath("element_prices.yaml").read_text("utf-8")
    out: dict[str, ElementPrice] = {}
    for i, item in enumerate(yamlio.safe_load(text)["prices"]):
        try:
            price = ElementPrice.model_validate(item)
        except ValidationError as exc:
            raise _yaml_error(exc, text, name, prefix=("prices", i)) from None
        if price.element in out:
            raise DataError(f"two prices for {price.element}", path=name, fix="keep one entry per element")
        out[price.element] = price
    return out


# ---------------------------------------------------------------------------- rules
class RuleState(StrEnum):
    """Why a rule is or is not in force on a date."""

    IN_FORCE = "in_force"
    NOT_YET_EFFECTIVE = "not_yet_effective"
    ENDED = "ended"
    SUSPENDED = "suspended"
    DESTINATION_NOT_COVERED = "destination_not_covered"


@dataclass(frozen=True)
class RuleStatus:
    """A rule's standing on ``as_of``: ``in_force`` and a ``reason`` in words."""

    rule_id: str
    as_of: date
    state: RuleState
    reason: str

    @property
    def in_force(self) -> bool:
        """True when the rule applies on ``as_of`` (to the destination, if one was given)."""
        return self.state is RuleState.IN_FORCE


class Suspension(BaseModel):
    """A window [start, end], both ends inclusive, in which a rule does not apply."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: date
    end: date
    source_id: str
    instrument: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Suspension:
        if self.end < self.start:
            raise ValueError(f"suspension ends ({self.end}) before it starts ({self.start})")
        return self


class Rule(BaseModel):
    """A content rule: controlled elements of given origins, a value threshold, dates in force.

    ``threshold_share`` is a fraction (0.001 = 0.1%); 0 means any controlled content.
    ``source_ids`` and each suspension's ``source_id`` must resolve in the bundled catalogue or
    in the rule's own ``sources`` (full :class:`~critmin.data.catalogue.Source` citations).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    name: str
    authority: str
    instrument: str
    controlled_elements: tuple[str, ...] = Field(min_length=1)
    origin_countries: tuple[str, ...] = Field(min_length=1)
    threshold_share: float = Field(ge=0, le=1)
    comparison: Literal[">=", ">"] = ">="
    effective_date: date
    end_date: date | None = None
    suspensions: tuple[Suspension, ...] = ()
    destinations: Literal["all"] | tuple[str, ...] = "all"
    excluded_destinations: tuple[str, ...] = ()
    scope: str
    source_ids: tuple[str, ...] = Field(min_length=1)
    sources: tuple[Source, ...] = ()
    notes: str = ""

    @field_validator("controlled_elements")
    @classmethod
    def _elements(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        syms = {_as_value_error(element_symbol, e) for e in v}
        return tuple(s for s in rare_earth_elements() if s in syms)

    @field_validator("origin_countries", "excluded_destinations")
    @classmethod
    def _countries(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_as_value_error(country_code, c) for c in v))

    @field_validator("destinations", mode="before")
    @classmethod
    def _destinations(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = "all" if v.strip().lower() == "all" else [v]
        if isinstance(v, list | tuple):
            return tuple(dict.fromkeys(_as_value_error(country_code, c) for c in v))
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.end_date is not None and self.end_date < self.effective_date:
            raise ValueError(f"end_date {self.end_date} is before effective_date {self.effective_date}")
        bundled = set(Dataset.bundled().sources)
        clash = sorted({s.id for s in self.sources} & bundled)
        if clash:
            raise ValueError(f"sources {clash} are already bundled; cite them in source_ids only")
        known = bundled | {s.id for s in self.sources}
        cited = [*self.source_ids, *(s.source_id for s in self.suspensions)]
        missing = [s for s in cited if s not in known]
        if missing:
            msg = (
                f"unknown source ids {missing}; cite a bundled source (`critmin data sources`) "
                "or add it under `sources:` with publisher, title, year, url and licence"
            )
            raise ValueError(msg)
        return self

    def status(self, as_of: date, destination: str | None = None) -> RuleStatus:
        """Whether the rule is in force on ``as_of`` for ``destination`` (ISO3, or None: assumed covered)."""
        windows = sorted(self.suspensions, key=lambda s: s.start)
        if as_of < self.effective_date:
            extra = "".join(f"; suspended {s.start} to {s.end}" for s in windows if s.end >= as_of)
            reason = f"not yet effective (in force from {self.effective_date}{extra})"
            return RuleStatus(self.id, as_of, RuleState.NOT_YET_EFFECTIVE, reason)
        if self.end_date is not None and as_of > self.end_date:
            return RuleStatus(self.id, as_of, RuleState.ENDED, f"ended {self.end_date}")
        for s in windows:
            if s.start <= as_of <= s.end:
                by = f" by {s.instrument}" if s.instrument else ""
                again = (
                    f"applies again from {s.end + timedelta(days=1)}" if s.end < date.max else "open-ended"
                )
                reason = f"suspended{by} from {s.start} until {s.end} inclusive ({again}) [{s.source_id}]"
                return RuleStatus(self.id, as_of, RuleState.SUSPENDED, reason)
        if destination is not None:
            if destination in self.excluded_destinations:
                reason = f"exports to {destination} are outside its scope"
                return RuleStatus(self.id, as_of, RuleState.DESTINATION_NOT_COVERED, reason)
            if self.destinations != "all" and destination not in self.destinations:
                reason = f"destination {destination} not covered (covers {', '.join(self.destinations)})"
                return RuleStatus(self.id, as_of, RuleState.DESTINATION_NOT_COVERED, reason)
        reason = f"in force since {self.effective_date}"
        restricted = self.destinations != "all" or self.excluded_destinations
        if destination is None and restricted:
            reason += "; destination not given, assumed covered"
        return RuleStatus(self.id, as_of, RuleState.IN_FORCE, reason)

    def met(self, share: float, controlled_value_usd: float) -> bool:
        """True when ``share`` meets the threshold (any content when ``threshold_share`` is 0)."""
        if self.threshold_share == 0:
            return controlled_value_usd > 0
        at = math.isclose(share, self.threshold_share, rel_tol=THRESHOLD_RTOL)
        if self.comparison == ">":
            return share > self.threshold_share and not at
        return share >= self.threshold_share or at

    def met_array(self, share: Floats, controlled_value_usd: Floats) -> Bools:
        """:meth:`met` of each element of ``share`` (and ``controlled_value_usd``), vectorised."""
        t = self.threshold_share
        if t == 0:
            return np.asarray(controlled_value_usd > 0, dtype=bool)
        # math.isclose(share, t, rel_tol): equal, or both finite within rel_tol of the larger.
        with np.errstate(invalid="ignore"):
            diff = np.abs(t - share)
            near = diff <= np.maximum(abs(THRESHOLD_RTOL * t), np.abs(THRESHOLD_RTOL * share))
            at = (share == t) | (np.isfinite(share) & near)
            if self.comparison == ">":
                return np.asarray((share > t) & ~at, dtype=bool)
            return np.asarray((share >= t) | at, dtype=bool)

    def citations(self) -> dict[str, Source]:
        """The rule's own sources and the bundled ones it cites, by id."""
        own = {s.id: s for s in self.sources}
        ds = Dataset.bundled()
        ids = [*self.source_ids, *(s.source_id for s in self.suspensions)]
        return {i: own[i] if i in own else ds.source(i) for i in ids}


def bundled_rule_names() -> tuple[str, ...]:
    """Names of the bundled rules (``critmin/trace/rules/*.yaml``), sorted."""
    root = resources.files(_PKG).joinpath("rules")
    return tuple(sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml")))


def load_rules(names_or_paths: str | Path | Iterable[str | Path]) -> list[Rule]:
    """Rules by bundled name (``mofcom-2025-18``, ``mofcom-2025-61``, ``all``) or YAML path.

    Duplicates are dropped; two different rules with one id are an error.
    """
    items = [names_or_paths] if isinstance(names_or_paths, str | Path) else list(names_or_paths)
    if not items:
        raise DataError("no rules given", fix=f"name one: {', '.join(bundled_rule_names())}, all, or a path")
    bundled = bundled_rule_names()
    out: dict[str, Rule] = {}
    for item in items:
        key = str(item).strip()
        if key.lower() == BUNDLED_RULES_ALL:
            loaded = [_bundled_rule(n) for n in bundled]
        elif key.lower() in bundled:
            loaded = [_bundled_rule(key.lower())]
        elif os.path.lexists(key) or key.lower().endswith((".yaml", ".yml")):
            loaded = [_rule_from_text(read_text(key, "yaml", what="rules file"), key)]
        else:
            raise DataError(
                f"unknown rules {key!r}: neither a bundled rule nor a file",
                fix=f"use one of {', '.join(bundled)}, all, or a path to a rules YAML file",
            )
        for rule in loaded:
            if rule.id in out and out[rule.id] != rule:
                raise DataError(
                    f"two different rules have id {rule.id!r}", path=key, fix="give each rule its own id"
                )
            out[rule.id] = rule
    return list(out.values())


@cache
def _bundled_rule(name: str) -> Rule:
    text = resources.files(_PKG).joinpath("rules").joinpath(f"{name}.yaml").read_text("utf-8")
    return _rule_from_text(text, f"critmin/trace/rules/{name}.yaml")


def _rule_from_text(text: str, path: str) -> Rule:
    raw = _safe_yaml(text, path)
    if not isinstance(raw, dict):
        raise DataError("a rules file holds one mapping (id: ..., name: ...)", path=path, fix="see README")
    try:
        return Rule.model_validate(raw)
    except ValidationError as exc:
        raise _yaml_error(exc, text, path) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            continue  # construct_mapping refuses an unhashable key itself
        line = key_node.start_mark.line + 1
        if key in seen:
            raise DataError(
                f"key {key!r} given twice (lines {seen[key]} and {line}); YAML would keep the last",
                line=line,
                fix="keep one",
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _safe_yaml(text: str, path: str) -> Any:
    """``yaml.safe_load`` with duplicate keys refused and every failure one DataError at its line."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except DataError as exc:
        raise DataError(exc.message, path=path, line=exc.line, fix=exc.fix) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        msg = " ".join(str(exc).split())
        raise DataError(f"not valid YAML: {msg}", path=path, line=line, fix="fix the YAML syntax") from None
    except RecursionError:
        raise DataError(
            "YAML nested too deeply", path=path, fix="a rules file is a flat mapping; remove the nesting"
        ) from None
    except (ValueError, OverflowError, TypeError) as exc:
        # e.g. an integer of more than 4,300 digits, a date such as 2026-02-30 or year 0
        raise DataError(
            f"a value cannot be read: {exc}".split("\n")[0],
            path=path,
            fix="write dates as YYYY-MM-DD and numbers of ordinary size",
        ) from None


def _as_value_error(fn: Any, value: Any) -> Any:
    """Call ``fn(value)``, turning a :class:`DataError` into ``ValueError`` for pydantic."""
    try:
        return fn(value)
    except DataError as exc:
        raise ValueError(f"{exc.message}; {exc.fix}" if exc.fix else exc.message) from None


def _yaml_error(exc: ValidationError, text: str, path: str, prefix: tuple[str | int, ...] = ()) -> DataError:
    """The first pydantic error as a :class:`DataError` naming the file, key and line."""
    errors = exc.errors()
    # An unknown key is usually a misspelt known one: report it before the "missing" it causes.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    # Drop pydantic's union/validator markers ("function-before[...]", "tuple[str, ...]").
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
    full = (*prefix, *loc)
    key = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(full))
    msg = str(err["msg"]).removeprefix("Value error, ")
    fix = "correct the value; the schema is critmin.trace.screen.Rule"
    if err["type"] == "extra_forbidden":
        models: dict[str, type[BaseModel]] = {
            "suspensions": Suspension,
            "sources": Source,
            "prices": ElementPrice,
        }
        model = models.get(str(full[0]) if len(full) > 1 else "", Rule)
        allowed = list(model.model_fields)
        close = difflib.get_close_matches(str(full[-1]), allowed, n=1)
        msg = "unknown key"
        fix = (f"did you mean {close[0]!r}? " if close else "remove it; ") + f"keys: {', '.join(allowed)}"
    elif err["type"] == "missing":
        msg = "missing required key"
        fix = "add it (see the bundled rules in critmin/trace/rules/ for examples)"
    where = f"key {key!r}: " if key else ""
    return DataError(f"{where}{msg}", path=path, line=_yaml_line(text, full), fix=fix)


def _yaml_line(text: str, loc: tuple[str | int, ...]) -> int | None:
    """1-based line of the deepest key of ``loc`` found in ``text`` (None if not found)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if hit is None:
                return line
            line, node = hit[0].start_mark.line + 1, hit[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


# ---------------------------------------------------------------------------- BOM
