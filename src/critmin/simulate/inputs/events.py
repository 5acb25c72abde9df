"""Policy events: one pydantic model per ``kind``, as a discriminated union (:data:`Event`).

Every event has an ``id``, a ``date``, the ``commodities`` (chains) it applies to, and an
optional ``source_id`` and ``note``. Each kind adds its own fields and checks:

==================  ==========================================================================
kind                fields
==================  ==========================================================================
``licence``         ``exporter`` (CHN), ``stages``, ``destinations``, ``controlled_share``,
                    ``extraterritorial``: exports need a licence (approval rate and lag apply)
``ban``             ``exporter``, ``stages``, ``destinations``: exports stop; ``enforcement`` (0-1):
                    the share of third-country rerouting of the banned flow it also stops
``end_user_denial`` ``exporter``, ``stages``, ``destinations``: the defence share is refused
``approval_rate``   ``approval_rate`` (a number or distribution in [0, 1]), ``targets``
                    (informational), ``destinations`` (default ``all``): the approval rate of
                    licence applications for those destinations, in every regime in force
``general_licence`` ``exporter``, ``stages``, ``destinations``, ``share`` (number or
                    distribution in [0, 1]): that share of the licensed flow to those
                    destinations ships under a general licence, without review
``suspend``         ``targets`` (event ids), ``until``: the targets are not in force meanwhile
``lift``            ``targets``: the targets end
``stockpile``       ``region``, ``amount_t``: added to the region's strategic stockpile;
                    release rules ``release_when_short``, ``release_when_price``,
                    ``release_share_per_month``, ``release_t_per_month``, ``release_to``,
                    ``replenish_t_per_month``; ``stage`` (the chain stage whose product it
                    holds, default the users'), ``fill_months``, ``fill_from``
``price_floor``     ``region`` (the payer), ``stages``, ``price_usd_per_kg``,
                    ``covered_t_per_year`` (default: the parameter ``price_floor.covered_t_per_year``)
``offtake``         ``region`` (buyer), ``seller``, one ``stages`` entry, ``volume_t_per_year``
``project``         ``project`` (a pipeline project's name), ``start``, ``pull_months``,
                    ``delay_spread``, ``delay_tail``: its schedule from the event on; with
                    ``stage``, ``country`` and ``capacity_t_per_year``, a project the pipeline
                    lacks is added
==================  ==========================================================================

A field that does not belong to the event's kind is an error (``extra="forbid"``), so a typo
or a misplaced field is reported with the file and line of the scenario (``scenario.py``).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

from critmin.model.countries import is_known_code
from critmin.model.stages import Stage
from critmin.simulate.chains.registry import CHAIN_IDS, EVENT_CHAIN_IDS, host_of
from critmin.simulate.inputs.params import BOOL_FIX, Beta, Distribution, FieldError, Value, support

#: Largest tonnage an event may name (t, or t/yr): the parameter table's bound on a chain's
#: yearly volume (``volume.mining_t_per_year``, 1e8 t), far above any real stock or contract.
MAX_TONNES = 1.0e8
#: Largest price an event may name (US$/kg): the table's bound on ``value.output_usd_per_kg_magnet``.
MAX_USD_PER_KG = 1.0e7


class EventKind(StrEnum):
    """What a policy event does."""

    BAN = "ban"
    LICENCE = "licence"
    END_USER_DENIAL = "end_user_denial"
    APPROVAL_RATE = "approval_rate"
    SUSPEND = "suspend"
    LIFT = "lift"
    STOCKPILE = "stockpile"
    PRICE_FLOOR = "price_floor"
    OFFTAKE = "offtake"
    GENERAL_LICENCE = "general_licence"
    PROJECT = "project"


def parse_date(text: Any) -> dt.date:
    """A date from ``YYYY-MM-DD`` or ``YYYY-MM`` (the first of the month)."""
    if isinstance(text, dt.date):
        return text
    s = str(text).strip()
    try:
        return dt.date.fromisoformat(s + "-01" if len(s) == 7 else s)
    except ValueError:
        raise ValueError(f"{s!r} is not a date YYYY-MM-DD") from None


def chain_list(v: Any, *, feed: bool = False) -> tuple[str, ...]:
    """Validate a list of commodity chains (a single name is accepted as a list of one).

    ``feed``: feeds (``dy_tb``) are allowed too, as they are for events; a feed is not a
    chain a scenario runs on its own (it runs inside its host chain).
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


def _code(value: str | None, what: str) -> str | None:
    if value is not None and not is_known_code(value):
        raise ValueError(f"unknown {what} {value!r}; use an ISO3 code, EU27 or ROW")
    return value


def _fraction(value: Value | None, what: str) -> Value | None:
    """A share or rate must stay within [0, 1] (a distribution's whole support)."""
    if value is None or isinstance(value, Beta):
        return value
    lo, hi = support(value)
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{what} must lie in [0, 1] (got {lo:g} to {hi:g}); use a fraction or a beta")
    return value


#: Event fields that are plain numbers (a yes/no value there is refused, not read as 1 or 0).
_NUMBER_FIELDS = frozenset(
    {
        "amount_t",
        "price_usd_per_kg",
        "covered_t_per_year",
        "volume_t_per_year",
        "release_when_short",
        "release_when_price",
        "release_share_per_month",
        "release_t_per_month",
        "replenish_t_per_month",
        "fill_months",
        "pull_months",
        "delay_spread",
        "capacity_t_per_year",
    }
)


class _EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    date: dt.date
    #: Commodity chains the event applies to (:data:`~critmin.simulate.chains.registry.EVENT_CHAIN_IDS`).
    commodities: tuple[str, ...] = ("rare_earths",)
    source_id: str | None = None
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_bools(cls, data: Any) -> Any:
        """A yes/no value is refused where a number belongs (``amount_t: true`` is not 1 t)."""
        if isinstance(data, dict):
            for key, v in data.items():
                if isinstance(v, bool) and key in _NUMBER_FIELDS:
                    raise FieldError(f"{v!r} is a yes/no value, not a number", (key,), fix=BOOL_FIX)
        return data

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: Any) -> dt.date:
        return parse_date(v)

    @field_validator("commodities", mode="before")
    @classmethod
    def _commodities(cls, v: Any) -> tuple[str, ...]:
        return chain_list(v, feed=True)


class _Staged(_EventBase):
    """Events acting at named stages of a chain."""

    stages: tuple[Stage, ...] = (Stage.MAGNET,)


def _destinations(v: Any) -> Any:
    """``all`` or a non-empty list of known codes."""
    if v != "all":
        if not v:
            raise ValueError("an empty list of destinations controls nothing; use `all` or name ISO3 codes")
        bad = [d for d in v if not is_known_code(d)]
        if bad:
            raise ValueError(f"unknown destination(s) {bad}; use ISO3 codes, EU27 or ROW")
    return v


class _ExportControl(_Staged):
    """Controls on one exporter's shipments (only China's are modelled)."""

    exporter: str = "CHN"
    destinations: Literal["all"] | tuple[str, ...] = "all"

    @field_validator("destinations")
    @classmethod
    def _dest(cls, v: Any) -> Any:
        return _destinations(v)

    @field_validator("exporter")
    @classmethod
    def _exporter(cls, v: str) -> str:
        if v != "CHN":
            raise ValueError(f"exporter {v!r} is not modelled (only CHN's controls are); use exporter: CHN")
        return v


class LicenceEvent(_ExportControl):
    """Exports need a licence: the approval rate and lag apply to the controlled share."""

    kind: Literal[EventKind.LICENCE]
    controlled_share: Value | None = None
    extraterritorial: bool = False

    @field_validator("controlled_share")
    @classmethod
    def _share(cls, v: Value | None) -> Value | None:
        return _fraction(v, "controlled_share")


class BanEvent(_ExportControl):
    """Exports at ``stages`` to ``destinations`` stop.

    ``enforcement`` (0-1): the share of third-country rerouting (transshipment) of the banned
    flow that the ban also stops (engine/reroute.py; 0: none, 1: no leakage at all).
    """

    kind: Literal[EventKind.BAN]
    enforcement: float = Field(default=0.0, ge=0.0, le=1.0)


class EndUserDenialEvent(_ExportControl):
    """Licences for defence end users in ``destinations`` are refused."""

    kind: Literal[EventKind.END_USER_DENIAL]


class ApprovalRateEvent(_EventBase):
    """Sets the approval rate of every licence regime in force for ``destinations``
    (``targets`` are informational)."""

    kind: Literal[EventKind.APPROVAL_RATE]
    approval_rate: Value
    targets: tuple[str, ...] = ()
    destinations: Literal["all"] | tuple[str, ...] = "all"

    @field_validator("destinations")
    @classmethod
    def _dest(cls, v: Any) -> Any:
        return _destinations(v)

    @field_validator("approval_rate")
    @classmethod
    def _rate(cls, v: Value) -> Value:
        out = _fraction(v, "approval_rate")
        assert out is not None
        return out


class SuspendEvent(_EventBase):
    """``targets`` are not in force from ``date`` until ``until`` (or the horizon's end)."""

    kind: Literal[EventKind.SUSPEND]
    targets: tuple[str, ...] = Field(min_length=1)
    until: dt.date | None = None

    @field_validator("until", mode="before")
    @classmethod
    def _until(cls, v: Any) -> dt.date | None:
        return None if v is None else parse_date(v)

    @model_validator(mode="after")
    def _ordered(self) -> SuspendEvent:
        if self.until is not None and self.until < self.date:
            raise FieldError(
                f"suspension {self.id!r} ends ({self.until}) before it starts ({self.date})",
                ("until",),
                fix="give an `until:` on or after `date:`",
            )
        return self


class LiftEvent(_EventBase):
    """``targets`` end from ``date``."""

    kind: Literal[EventKind.LIFT]
    targets: tuple[str, ...] = Field(min_length=1)


class GeneralLicenceEvent(_ExportControl):
    """A ``share`` of the licensed flow to ``destinations`` ships without review (named
    exporters' or customers' general licences)."""

    kind: Literal[EventKind.GENERAL_LICENCE]
    share: Value

    @field_validator("share")
    @classmethod
    def _share(cls, v: Value) -> Value:
        out = _fraction(v, "share")
        assert out is not None
        return out


def _region_code(v: str) -> str:
    out = _code(v, "region")
    assert out is not None
    return out


#: A region or country code (ISO3, EU27 or ROW).
RegionCode = Annotated[str, AfterValidator(_region_code)]


class StockpileEvent(_EventBase):
    """Adds ``amount_t`` to ``region``'s strategic stockpile in its month, with optional
    release rules (section 5.6 of docs/model.md; a later event's given rules override an
    earlier one's for the same region). Releases go to the owner's users (and ``release_to``)
    when unmet demand reaches ``release_when_short`` of demand or the ex-China price ratio
    reaches ``release_when_price`` (neither given: any unmet demand), at most
    ``release_share_per_month`` of the content (default ``stockpile.release_per_month``) and
    ``release_t_per_month``; ``replenish_t_per_month`` buys back from users' surplus."""

    kind: Literal[EventKind.STOCKPILE]
    region: RegionCode
    amount_t: float = Field(ge=0, le=MAX_TONNES, allow_inf_nan=False)
    release_when_short: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    release_when_price: float | None = Field(default=None, ge=0, le=1000, allow_inf_nan=False)
    release_share_per_month: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    release_t_per_month: float | None = Field(default=None, ge=0, le=MAX_TONNES, allow_inf_nan=False)
    release_to: tuple[RegionCode, ...] = ()
    replenish_t_per_month: float | None = Field(default=None, ge=0, le=MAX_TONNES, allow_inf_nan=False)
    #: the chain stage whose product the stockpile holds (None: the users' product, the last
    #: stage). An intermediate stage's stockpile (NdPr oxide at ``separation``) is released to
    #: the owner's next stage when it lacks input (section 5.6 of docs/model.md).
    stage: Stage | None = None
    #: months over which ``amount_t`` is added, in equal parts from the event's month
    fill_months: int = Field(default=1, ge=1, le=600)
    #: ``outside``: the amount arrives from outside the modelled market (the rule before issue
    #: 13); ``market``: it is bought from the holders of the stage's product outside China
    #: (users' stock, or the stage's stock; the owner's region first), after this month's use,
    #: when the stockpile is not releasing; what cannot be bought is carried to the next month
    fill_from: Literal["outside", "market"] = "outside"


class PriceFloorEvent(_Staged):
    """Guarantees ``price_usd_per_kg`` to ``region``'s producers at ``stages``; ``region`` pays."""

    kind: Literal[EventKind.PRICE_FLOOR]
    region: RegionCode = "USA"
    price_usd_per_kg: float = Field(ge=0, le=MAX_USD_PER_KG, allow_inf_nan=False)
    covered_t_per_year: float | None = Field(default=None, ge=0, le=MAX_TONNES, allow_inf_nan=False)


class OfftakeEvent(_Staged):
    """``region`` buys up to ``volume_t_per_year`` of ``seller``'s output at one stage first."""

    kind: Literal[EventKind.OFFTAKE]
    region: RegionCode
    seller: str
    volume_t_per_year: float = Field(ge=0, le=MAX_TONNES, allow_inf_nan=False)

    @model_validator(mode="after")
    def _terms(self) -> OfftakeEvent:
        if not is_known_code(self.seller):
            raise FieldError(
                f"unknown seller {self.seller!r}", ("seller",), fix="use an ISO3 code, EU27 or ROW"
            )
        if len(self.stages) != 1:
            raise FieldError(
                f"an offtake names exactly one stage (got {len(self.stages)})",
                ("stages",),
                fix="e.g. `stages: [separation]`",
            )
        if self.seller == "CHN":
            raise FieldError(
                "offtakes from CHN are not modelled: China's exports follow its controls",
                ("seller",),
                fix="name a seller outside China",
            )
        if self.seller == self.region:
            raise FieldError(
                f"offtake {self.id!r}: the seller {self.seller!r} is the buyer",
                ("seller",),
                fix="name a seller in another region than the buyer (`region:`)",
            )
        return self


class ProjectEvent(_EventBase):
    """A pipeline project's schedule from the event's month (co-financing, a price floor).

    ``project`` names a project of the chain's pipeline (the bundled projects table, as
    ``critmin.simulate.chains.plants.plant_table`` lists it); with ``stage``, ``country`` and
    ``capacity_t_per_year`` (t/yr of the stage's product) a project the pipeline lacks is added
    (announced start ``start``, default the event's month). With the drawn delay D (months,
    including a new mine's extra delay) and its median M, the project's first output is

        announced start + M + delay_spread (D - M) - pull_months      (delay_tail: keep)
        announced start + min(M + delay_spread (D - M), M) - pull_months   (delay_tail: cut)

    and never before the event's month (a decision cannot move output before it is taken).
    ``start`` replaces the announced start. Several events for one project apply in date order.
    """

    kind: Literal[EventKind.PROJECT]
    project: str = Field(min_length=1, max_length=200)
    start: dt.date | None = None
    pull_months: float = Field(default=0.0, ge=0, le=600, allow_inf_nan=False)
    delay_spread: float = Field(default=1.0, ge=0, le=1, allow_inf_nan=False)
    delay_tail: Literal["keep", "cut"] = "keep"
    stage: Stage | None = None
    country: RegionCode | None = None
    capacity_t_per_year: float | None = Field(default=None, ge=0, le=MAX_TONNES, allow_inf_nan=False)

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: Any) -> dt.date | None:
        return None if v is None else parse_date(v)

    @model_validator(mode="after")
    def _new_project(self) -> ProjectEvent:
        given = [f for f in ("stage", "country", "capacity_t_per_year") if getattr(self, f) is not None]
        if given and len(given) < 3:
            missing = [f for f in ("stage", "country", "capacity_t_per_year") if f not in given]
            raise FieldError(
                f"project {self.id!r}: a new project needs stage, country and capacity_t_per_year "
                f"(missing {', '.join(missing)})",
                (missing[0],),
                fix="give all three to add a project, or none to reschedule a pipeline project",
            )
        return self

    @property
    def adds(self) -> bool:
        """Whether the event adds a project (rather than rescheduling one of the pipeline)."""
        return self.capacity_t_per_year is not None


#: A policy event of any kind (discriminated on ``kind``).
Event = Annotated[
    LicenceEvent
    | BanEvent
    | EndUserDenialEvent
    | ApprovalRateEvent
    | SuspendEvent
    | LiftEvent
    | StockpileEvent
    | PriceFloorEvent
    | OfftakeEvent
    | GeneralLicenceEvent
    | ProjectEvent,
    Field(discriminator="kind"),
]
#: The export controls (the regimes the engine applies to shipments).
ControlEvent = LicenceEvent | BanEvent | EndUserDenialEvent
CONTROL_TYPES = (LicenceEvent, BanEvent, EndUserDenialEvent)
#: Events whose ``targets`` name other events.
TARGETING_TYPES = (ApprovalRateEvent, SuspendEvent, LiftEvent)
STAGED_TYPES = (
    LicenceEvent,
    BanEvent,
    EndUserDenialEvent,
    PriceFloorEvent,
    OfftakeEvent,
    GeneralLicenceEvent,
)
_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: Any) -> Event:
    """Validate one event (a mapping with ``kind``); raises pydantic ``ValidationError``."""
    return _ADAPTER.validate_python(raw)


def make_event(**fields: Any) -> Event:
    """An event from keyword fields: ``make_event(id="ban", date=..., kind=EventKind.BAN)``."""
    return parse_event(fields)


def targets_of(e: Event) -> tuple[str, ...]:
    """The event ids an event names (none for kinds without ``targets``)."""
    return e.targets if isinstance(e, TARGETING_TYPES) else ()


def stages_of(e: Event) -> tuple[Stage, ...]:
    """The stages an event acts at (none for kinds that do not act at a stage)."""
    return e.stages if isinstance(e, STAGED_TYPES) else ()


def uncertain_fields(e: Event) -> dict[str, Distribution]:
    """The event's fields that hold a distribution (``controlled_share``, ``approval_rate``,
    ``share``)."""
    out: dict[str, Distribution] = {}
    for name in ("controlled_share", "approval_rate", "share"):
        v = getattr(e, name, None)
        if v is not None and not isinstance(v, int | float):
            out[name] = v
    return out
