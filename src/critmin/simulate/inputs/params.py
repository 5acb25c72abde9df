"""Model parameters: the bundled table (``parameters.yaml``) and uncertain values.

A parameter's value is a number or a distribution. :meth:`Distribution.sample` draws one value
per path from an explicit :class:`numpy.random.Generator`; :meth:`Distribution.median` is what
``--paths 1`` uses (deterministic at the medians).
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    model_validator,
)

from critmin import yamlio

#: Largest magnitude of any number in a distribution (as :data:`critmin.infile.MAX_ABS`).
MAX_ABS = 1e15
#: Largest log-sd of a log-normal: sigma 3 already spans a factor of 20 either side at one sd
#: (p95 / p5 = e^(2 x 1.645 x 3) ~ 19,000); wider draws overflow and only land on the bounds.
MAX_LOG_SIGMA = 3.0
#: The fix of a yes/no value where a number belongs.
BOOL_FIX = "write a number (YAML reads true/false/yes/no/on/off as yes/no values)"


def refuse_bool(v: Any) -> Any:
    """Refuse a YAML boolean where a number belongs (pydantic would read ``true`` as 1.0)."""
    if isinstance(v, bool):
        raise ValueError(f"{v!r} is a yes/no value, not a number; {BOOL_FIX}")
    return v


#: A finite number within :data:`MAX_ABS` (the fields of every distribution); not a boolean.
Number = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_ABS, le=MAX_ABS), BeforeValidator(refuse_bool)]


class FieldError(ValueError):
    """A validator's error at ``loc`` below the field it validates (pydantic reports only the
    field), with the place of the value it repeats (``first``, from the document root) and a
    ``fix``; :func:`critmin.simulate.inputs.yamlload.validation_error` renders it."""

    def __init__(
        self,
        message: str,
        loc: tuple[Any, ...] = (),
        *,
        first: tuple[Any, ...] | None = None,
        fix: str | None = None,
    ) -> None:
        super().__init__(message)
        self.loc = loc
        self.first = first
        self.fix = fix


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_bools(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, v in data.items():
                if isinstance(v, bool):
                    raise FieldError(f"{v!r} is a yes/no value, not a number", (key,), fix=BOOL_FIX)
        return data


class Uniform(_Dist):
    """Uniform on [low, high]."""

    dist: Literal["uniform"]
    low: Number
    high: Number

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"uniform needs low <= high (got low {self.low:g} > high {self.high:g})")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        return rng.uniform(self.low, self.high, n)

    def median(self) -> float:
        return (self.low + self.high) / 2


class Triangular(_Dist):
    """Triangular on [low, high] with mode."""

    dist: Literal["triangular"]
    low: Number
    mode: Number
    high: Number

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError(
                "triangular needs low <= mode <= high and low < high "
                f"(got low {self.low:g}, mode {self.mode:g}, high {self.high:g})"
            )
        return self

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        return rng.triangular(self.low, self.mode, self.high, n)

    def median(self) -> float:
        c = (self.mode - self.low) / (self.high - self.low)
        from scipy import stats  # deferred: importing scipy.stats costs ~1 s of CLI start-up

        return float(stats.triang(c, loc=self.low, scale=self.high - self.low).median())


class Normal(_Dist):
    """Normal(mean, sd)."""

    dist: Literal["normal"]
    mean: Number
    sd: float = Field(gt=0, le=MAX_ABS, allow_inf_nan=False)

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        return rng.normal(self.mean, self.sd, n)

    def median(self) -> float:
        return self.mean


class LogNormal(_Dist):
    """Log-normal with the given median and log-sd ``sigma``."""

    dist: Literal["lognormal"]
    median_: float = Field(alias="median", gt=0, le=MAX_ABS, allow_inf_nan=False)
    sigma: float = Field(gt=0, le=MAX_LOG_SIGMA, allow_inf_nan=False)

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        return self.median_ * np.exp(rng.normal(0.0, self.sigma, n))

    def median(self) -> float:
        return self.median_


class Beta(_Dist):
    """Beta(a, b) on [0, 1]."""

    dist: Literal["beta"]
    a: float = Field(gt=0, le=MAX_ABS, allow_inf_nan=False)
    b: float = Field(gt=0, le=MAX_ABS, allow_inf_nan=False)

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        return rng.beta(self.a, self.b, n)

    def median(self) -> float:
        from scipy import stats  # deferred, see Triangular.median

        return float(stats.beta(self.a, self.b).median())


Distribution = Annotated[Uniform | Triangular | Normal | LogNormal | Beta, Field(discriminator="dist")]
#: Tags of :data:`Value`'s two branches (they appear in pydantic error locations; see
#: :func:`clean_loc`).
NUMBER_TAG, DISTRIBUTION_TAG = "<number>", "<distribution>"
DIST_KINDS = ("uniform", "triangular", "normal", "lognormal", "beta")


def _value_kind(v: Any) -> str:
    return DISTRIBUTION_TAG if isinstance(v, dict | BaseModel) else NUMBER_TAG


#: A finite number or a distribution. The branch is chosen by the input's type (a mapping is a
#: distribution), so an error names the field that is wrong (``...approval_rate.a``), not
#: "Input should be a valid number" of the other branch.
Value = Annotated[
    Annotated[Number, Tag(NUMBER_TAG)] | Annotated[Distribution, Tag(DISTRIBUTION_TAG)],
    Discriminator(_value_kind),
]
_VALUE: TypeAdapter[Value] = TypeAdapter(Value)


def parse_value(raw: Any) -> Value:
    """A number or a distribution dict, validated (raises pydantic ``ValidationError``)."""
    return _VALUE.validate_python(raw)


def clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A pydantic error location without the steps of :data:`Value`'s union (its tags and the
    distribution kind): ``parameters.x.<distribution>.beta.a`` -> ``parameters.x.a``."""
    out: list[Any] = []
    skip = False
    for x in loc:
        if skip and x in DIST_KINDS:
            skip = False
            continue
        skip = x == DISTRIBUTION_TAG
        if x in (NUMBER_TAG, DISTRIBUTION_TAG):
            continue
        out.append(x)
    return tuple(out)


class PathValues:
    """Explicit per-path values standing in for a distribution (a design: tornado, Sobol').

    Path i of the run gets ``values[i]``; a block of paths gets its slice (:func:`draw` with
    ``rows``). Quantities held equal across paths ask for :meth:`median`. ``sampled`` and
    ``median_used`` record which was asked, so an analysis can tell whether the design reached
    every path.
    """

    def __init__(self, values: npt.ArrayLike, median: float) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        self._median = float(median)
        self.sampled = False
        self.median_used = False

    def take(self, rows: slice | None, n: int) -> npt.NDArray[np.float64]:
        """The values of paths ``rows`` (all when None); ``n`` must be their number."""
        out = self.values if rows is None else self.values[rows]
        if len(out) != n:
            raise ValueError(
                f"a per-path design of {len(self.values)} paths was asked for {n} paths at {rows}"
            )
        self.sampled = True
        return out.copy()

    def median(self) -> float:
        """The value held by quantities equal across paths."""
        self.median_used = True
        return self._median

    def model_dump(self, **_: Any) -> dict[str, Any]:
        """What a result records of the design."""
        return {"dist": "per_path_design", "paths": len(self.values)}


def draw(
    value: Value | PathValues, rng: np.random.Generator | None, n: int, *, rows: slice | None = None
) -> npt.NDArray[np.float64]:
    """``n`` values: samples when ``rng`` is given, else the median repeated (``--paths 1``).

    A :class:`PathValues` design gives the values of paths ``rows`` of the run.
    """
    if isinstance(value, PathValues):
        return np.full(n, value.median()) if rng is None else value.take(rows, n)
    if isinstance(value, int | float):
        return np.full(n, float(value))
    if rng is None:
        return np.full(n, value.median())
    return value.sample(rng, n)


def median(value: Value | PathValues) -> float:
    """The median of a value (the number itself, or the distribution's median)."""
    if isinstance(value, int | float):
        return float(value)
    return float(value.median())


def support(value: Value) -> tuple[float, float]:
    """The smallest and largest value a number or distribution can take (inf when unbounded)."""
    if isinstance(value, int | float):
        return float(value), float(value)
    if isinstance(value, Uniform | Triangular):
        return value.low, value.high
    if isinstance(value, Beta):
        return 0.0, 1.0
    if isinstance(value, LogNormal):
        return 0.0, math.inf
    return -math.inf, math.inf


#: Distributions whose draws are clipped to the parameter's bounds (their support is unbounded).
CLIPPED = (Normal, LogNormal)


class ParameterSpec(BaseModel):
    """One row of the parameter table (see the header of ``parameters.yaml``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z_]+(\.[a-z_0-9]+)+$")
    unit: str
    bounds: tuple[float, float]
    sets: str = Field(pattern=r"^(engine\.[a-z_0-9]+|network\.[a-z_]+|sectors|price_floor)$")
    default: Value
    description: str
    source: str | None = None
    rationale: str | None = None

    @model_validator(mode="after")
    def _provenance(self) -> ParameterSpec:
        if not self.source and not self.rationale:
            raise ValueError(f"parameter {self.name!r} needs a source or a rationale")
        if not self.bounds[0] <= self.bounds[1]:
            raise ValueError(f"parameter {self.name!r}: bounds {list(self.bounds)} are not ordered")
        problem = self.check(self.default)
        if problem:
            raise ValueError(f"parameter {self.name!r}: default {problem}")
        return self

    @property
    def engine_field(self) -> str | None:
        """The :class:`~critmin.simulate.engine.types.EngineParams` field it sets, if any."""
        return self.sets.removeprefix("engine.") if self.sets.startswith("engine.") else None

    def check(self, value: Value) -> str | None:
        """Why ``value`` is out of bounds (None when it is within them).

        A number must lie within the bounds, a bounded distribution's support too; normal and
        log-normal draws are clipped to the bounds instead (:data:`CLIPPED`), so only their
        median must lie within them.
        """
        lo, hi = self.bounds
        if isinstance(value, CLIPPED):
            m = value.median()
            if not lo <= m <= hi:
                return f"has median {m:g} outside the bounds [{lo:g}, {hi:g}]"
            if isinstance(value, Normal) and value.sd > hi - lo:
                return (
                    f"has sd {value.sd:g}, wider than its bounds [{lo:g}, {hi:g}] "
                    "(most draws would be clipped onto a bound)"
                )
            return None
        a, b = support(value)
        if not (math.isfinite(a) and math.isfinite(b)):
            return f"is not finite ({a:g} to {b:g})"
        if a < lo or b > hi:
            what = f"{a:g}" if a == b else f"ranges over [{a:g}, {b:g}]"
            return f"{what} outside the bounds [{lo:g}, {hi:g}] ({self.unit})"
        return None

    def clip(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Draws held within the bounds."""
        return np.clip(values, self.bounds[0], self.bounds[1])


def parameter_frame() -> pd.DataFrame:
    """The parameter table as a frame (``critmin simulate --list-parameters``)."""
    rows = []
    for spec in parameter_table().values():
        d = spec.default
        rows.append(
            {
                "name": spec.name,
                "unit": spec.unit,
                "bounds": f"[{spec.bounds[0]:g}, {spec.bounds[1]:g}]",
                "low": spec.bounds[0],
                "high": spec.bounds[1],
                "default": f"{d:g}" if isinstance(d, int | float) else _describe(d),
                "sets": spec.sets,
                "description": " ".join(spec.description.split()),
                "source": spec.source or "",
            }
        )
    return pd.DataFrame(rows)


def _describe(d: Distribution) -> str:
    fields = {k: v for k, v in d.model_dump(by_alias=True).items() if k != "dist"}
    return f"{d.dist}(" + ", ".join(f"{k}={v:g}" for k, v in fields.items()) + ")"


@cache
def parameter_table() -> dict[str, ParameterSpec]:
    """The bundled parameter table, by name."""
    text = resources.files("critmin.simulate.inputs").joinpath("parameters.yaml").read_text("utf-8")
    rows = yamlio.safe_load(text)["parameters"]
    specs = [ParameterSpec.model_validate(r) for r in rows]
    return {s.name: s for s in specs}
