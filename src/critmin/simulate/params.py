"""Model parameters: the bundled table (``parameters.yaml``) and uncertain values.

A parameter's value is a number or a distribution. :meth:`Distribution.sample` draws one value
per path from an explicit :class:`numpy.random.Generator`; :meth:`Distribution.median` is what
``--paths 1`` uses (deterministic at the medians).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Uniform(_Dist):
    """Uniform on [low, high]."""

    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("uniform needs low <= high")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        return rng.uniform(self.low, self.high, n)

    def median(self) -> float:
        return (self.low + self.high) / 2


class Triangular(_Dist):
    """Triangular on [low, high] with mode."""

    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("triangular needs low <= mode <= high and low < high")
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
    mean: float
    sd: float = Field(gt=0)

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        return rng.normal(self.mean, self.sd, n)

    def median(self) -> float:
        return self.mean


class LogNormal(_Dist):
    """Log-normal with the given median and log-sd ``sigma``."""

    dist: Literal["lognormal"]
    median_: float = Field(alias="median", gt=0)
    sigma: float = Field(gt=0)

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        return self.median_ * np.exp(rng.normal(0.0, self.sigma, n))

    def median(self) -> float:
        return self.median_


class Beta(_Dist):
    """Beta(a, b) on [0, 1]."""

    dist: Literal["beta"]
    a: float = Field(gt=0)
    b: float = Field(gt=0)

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        return rng.beta(self.a, self.b, n)

    def median(self) -> float:
        from scipy import stats  # deferred, see Triangular.median

        return float(stats.beta(self.a, self.b).median())


Distribution = Annotated[Uniform | Triangular | Normal | LogNormal | Beta, Field(discriminator="dist")]
Value = float | Distribution
_VALUE: TypeAdapter[Value] = TypeAdapter(Value)


def parse_value(raw: Any) -> Value:
    """A number or a distribution dict, validated (raises pydantic ``ValidationError``)."""
    return _VALUE.validate_python(raw)


def draw(value: Value, rng: np.random.Generator | None, n: int) -> npt.NDArray[np.float64]:
    """``n`` values: samples when ``rng`` is given, else the median repeated (``--paths 1``)."""
    if isinstance(value, int | float):
        return np.full(n, float(value))
    if rng is None:
        return np.full(n, value.median())
    return value.sample(rng, n)


class ParameterSpec(BaseModel):
    """One row of the parameter table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z_]+(\.[a-z_0-9]+)+$")
    unit: str
    default: Value
    description: str
    source: str | None = None
    rationale: str | None = None

    @model_validator(mode="after")
    def _provenance(self) -> ParameterSpec:
        if not self.source and not self.rationale:
            raise ValueError(f"parameter {self.name!r} needs a source or a rationale")
        return self


@cache
def parameter_table() -> dict[str, ParameterSpec]:
    """The bundled parameter table, by name."""
    text = resources.files("critmin.simulate").joinpath("parameters.yaml").read_text("utf-8")
    rows = yaml.safe_load(text)["parameters"]
    specs = [ParameterSpec.model_validate(r) for r in rows]
    return {s.name: s for s in specs}
