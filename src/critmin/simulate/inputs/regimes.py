"""Licence regimes as a stochastic process: destination groups, start month, per-path draws.

Each destination group g (scenario ``regime.groups``; default the USA, Japan and every other
destination) is in one of three regime states per path (section 8 of docs/model.md):

* ``open`` (0): no licence is needed (a control suspended or lifted); destination bans lifted;
* ``throttled`` (1): the licence regime of the dated timeline (or, where the timeline has none
  in force on an edge, the strictest one it ever imposes there) with its approval rate;
* ``embargo`` (2): the controlled flow is banned and pending applications go back.

Dated events decide until ``regime.start`` (default: the month after the last dated event of
the chain's timeline, a suspension's ``until`` included unless it is at or after the
horizon's end); from then on each path's state
moves monthly by a Markov chain with per-path rates (parameters ``regime.p_suspend``
throttled -> open, ``regime.p_tighten`` throttled -> embargo, ``regime.p_ease`` embargo ->
throttled, ``regime.p_reimpose`` open -> throttled). The uniforms that drive the chain are
drawn here, from the policy's generator after every event draw, so seeds are reproducible
and scenarios without the process draw exactly as before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from critmin.errors import DataError
from critmin.model.countries import is_known_code
from critmin.simulate.inputs.events import Event, SuspendEvent

OPEN, THROTTLED, EMBARGO = 0, 1, 2
_DEFAULT_GROUPS: dict[str, Literal["rest"] | tuple[str, ...]] = {
    "USA": ("USA",),
    "JPN": ("JPN",),
    "other": "rest",
}
STATE_NAMES = ("open", "throttled", "embargo")


class RegimeSpec(BaseModel):
    """Scenario ``regime:`` block (module docstring); default groups: the US, Japan and every
    other destination."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: group name -> destination codes, or ``rest`` (every destination no other group names)
    groups: dict[str, Literal["rest"] | tuple[str, ...]] = Field(
        default_factory=lambda: dict(_DEFAULT_GROUPS)
    )
    #: first month (YYYY-MM) of the Markov chain; None: after the last dated event
    start: str | None = None
    #: False: dated events decide the whole horizon (the regime of the timeline is frozen)
    stochastic: bool = True
    #: multiplier of ``regime.p_tighten`` per group (default 1; ``rest`` groups 0.1): China's
    #: embargoes of 2023-2026 named one country each (assumption:sim-regime-rates)
    tighten_weight: dict[str, float] = Field(default_factory=dict)

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: Any) -> str | None:
        if v is None:
            return None
        s = str(v.isoformat() if isinstance(v, dt.date) else v).strip()[:7]
        try:
            dt.date.fromisoformat(s + "-01")
        except ValueError:
            raise ValueError(f"{v!r} is not a month YYYY-MM") from None
        return s

    @model_validator(mode="after")
    def _groups(self) -> RegimeSpec:
        if not self.groups:
            raise ValueError("regime.groups is empty; name at least one group (e.g. `other: rest`)")
        seen: dict[str, str] = {}
        rests = [g for g, v in self.groups.items() if v == "rest"]
        if len(rests) > 1:
            raise ValueError(f"only one group may be `rest` (got {rests})")
        for g, codes in self.groups.items():
            if codes == "rest":
                continue
            if not codes:
                raise ValueError(f"regime group {g!r} names no destination; list ISO3 codes or use `rest`")
            for c in codes:
                if not is_known_code(c):
                    raise ValueError(
                        f"regime group {g!r}: unknown destination {c!r}; use ISO3 codes, EU27 or ROW"
                    )
                if c in seen:
                    raise ValueError(
                        f"destination {c!r} is in regime groups {seen[c]!r} and {g!r}; keep it in one"
                    )
                seen[c] = g
        for g, w in self.tighten_weight.items():
            if g not in self.groups:
                raise ValueError(
                    f"regime.tighten_weight names unknown group {g!r}; use one of {list(self.groups)}"
                )
            if not 0.0 <= w <= 1.0:
                raise ValueError(
                    f"regime.tighten_weight.{g} = {w} outside [0, 1]; give a multiplier in [0, 1]"
                )
        return self

    def weights(self) -> npt.NDArray[np.float64]:
        """[G] multiplier of the tightening rate per group (``rest`` groups 0.1 unless given)."""
        return np.array(
            [self.tighten_weight.get(g, 0.1 if v == "rest" else 1.0) for g, v in self.groups.items()]
        )


def group_of_regions(spec: RegimeSpec, regions: tuple[str, ...]) -> npt.NDArray[np.intp]:
    """[R] group index of each region (CHN's is that of the rest group or 0; it is never a
    controlled destination)."""
    names = list(spec.groups)
    rest = next((i for i, g in enumerate(names) if spec.groups[g] == "rest"), None)
    out = np.zeros(len(regions), dtype=np.intp)
    for r, code in enumerate(regions):
        hit = [i for i, g in enumerate(names) if spec.groups[g] != "rest" and code in spec.groups[g]]
        if hit:
            out[r] = hit[0]
        elif rest is not None:
            out[r] = rest
        elif code != "CHN":
            raise DataError(
                f"region {code!r} is in no regime group",
                column="regime.groups",
                fix="add it to a group or add a group `other: rest`",
            )
    return out


def start_month(spec: RegimeSpec, events: tuple[Event, ...], start: dt.date, n_months: int) -> int:
    """Month index of the chain's first stochastic month (clipped to [0, n_months]).

    Default: the month after the last event date or suspension ``until`` of the timeline;
    an ``until`` at or after the horizon's end is a suspension that holds to the end and is
    not counted (the chain then starts after the event that set it).
    """

    def index(d: dt.date) -> int:
        return (d.year - start.year) * 12 + d.month - start.month

    if spec.start is not None:
        t0 = index(dt.date.fromisoformat(spec.start + "-01"))
    else:
        marks = [index(e.date) for e in events]
        marks += [index(e.until) for e in events if isinstance(e, SuspendEvent) and e.until]
        marks = [m for m in marks if m < n_months]
        if not marks:
            return 0
        t0 = max(marks) + 1
    return int(min(max(t0, 0), n_months))


@dataclass(frozen=True)
class RegimeDraws:
    """What the engine needs to run the chain: first month, groups, and the uniforms."""

    t0: int
    group: npt.NDArray[np.intp]  # [R]
    n_groups: int
    u: npt.NDArray[np.float32]  # [T - t0, P, G] uniforms driving the transitions
    tighten_weight: npt.NDArray[np.float64] | None = None  # [G] multiplier of p_tighten


def regime_draws(
    spec: RegimeSpec | None,
    events: tuple[Event, ...],
    start: dt.date,
    n_months: int,
    regions: tuple[str, ...],
    n_paths: int,
    rng: np.random.Generator | None,
) -> RegimeDraws | None:
    """The draws of the chain (None when it is off or starts after the horizon).

    Without a generator (a one-path run) the uniforms are 0.5: a path moves only where a rate
    exceeds 1/2, i.e. the median path keeps its regime.
    """
    spec = spec if spec is not None else RegimeSpec()
    if not spec.stochastic:
        return None
    t0 = start_month(spec, events, start, n_months)
    if t0 >= n_months:
        return None
    group = group_of_regions(spec, regions)
    g_n = len(spec.groups)
    shape = (n_months - t0, n_paths, g_n)
    u = np.full(shape, 0.5, dtype=np.float32) if rng is None else rng.random(shape, dtype=np.float32)
    return RegimeDraws(t0, group, g_n, u, spec.weights())
