"""PLAN.yaml: what a response plan may buy, build and store, its targets and its objective.

A plan file (pydantic, ``extra="forbid"``; errors name the file, line and dotted key)::

    name: us
    description: ...
    scenario: controls-reimposed-2026-11   # a bundled simulate scenario (or a YAML path)
    futures: 200                           # futures sampled from the simulator (>= 2)
    seed: 0
    years: {start: 2027, end: 2036}
    products: [ndpr_oxide, dytb_oxide, ndfeb_magnet]
    buyers:
      - {region: USA, payer: US DoD, budget_musd_per_year: 1500}
    instruments:
      offtake: {allowed: true, max_tenor_years: 10}
      cofinance: {allowed: true, share: 0.25, regions: [USA, AUS]}   # host regions eligible
      stockpile: {allowed: true, products: [ndfeb_magnet, dytb_oxide]}
      floor: {allowed: true, product: ndpr_oxide, strike_usd_per_kg: 110, payer_region: USA}
    constraints:
      coverage: [{region: USA, products: [ndfeb_magnet], min_share: 0.9}]
      concentration: [{region: USA, stage: separation, max_share: 0.65, from_year: 2030}]
      cutoff: [{supplier: CHN, months: 12, min_priority_share: 0.9, regions: [USA],
                products: [ndfeb_magnet], from_year: 2028, mode: constraint}]
      reciprocal: [{regions: [USA, JPN], products: [ndfeb_magnet], share: 0.25}]
    objective: {risk: {measure: cost, alpha: 0.95, weight: 0.0}}

Units: tonnes per year of the product (oxides as oxide, magnets as magnet), US$ million for
money, shares in [0, 1]. :func:`load_plan` takes a path or a bundled plan name.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from critmin.errors import DataError
from critmin.infile import read_text
from critmin.simulate.inputs.params import FieldError
from critmin.simulate.inputs.yamlload import FORMAT_FIX, load_yaml, validation_error

PRODUCTS: tuple[str, ...] = ("ndpr_oxide", "dytb_oxide", "ndfeb_magnet")
#: Buyer regions a plan may name (the simulator's ex-China regions).
REGIONS = ("USA", "EU27", "JPN", "KOR", "IND", "AUS", "MYS", "VNM", "BRA", "MMR", "ROW")
#: Supply-chain stage of each product (for the concentration caps).
STAGE_OF = {"ndpr_oxide": "separation", "dytb_oxide": "separation", "ndfeb_magnet": "magnet"}
STAGES = ("separation", "magnet")
PLAN_FIX = "see `critmin plan --help` and plans/us.yaml for the format"
MAX_FUTURES = 5000

Product = Literal["ndpr_oxide", "dytb_oxide", "ndfeb_magnet"]
Region = Literal["USA", "EU27", "JPN", "KOR", "IND", "AUS", "MYS", "VNM", "BRA", "MMR", "ROW"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Years(_Strict):
    """The horizon: calendar years, inclusive (annual steps)."""

    start: int = Field(default=2027, ge=2026, le=2060)
    end: int = Field(default=2036, ge=2026, le=2070)

    @model_validator(mode="after")
    def _order(self) -> Years:
        if self.end < self.start:
            raise FieldError(f"end {self.end} is before start {self.start}", ("end",), fix="end >= start")
        if self.end - self.start > 29:
            raise FieldError("at most 30 years", ("end",), fix="a shorter horizon")
        return self

    @property
    def years(self) -> tuple[int, ...]:
        """The horizon's years."""
        return tuple(range(self.start, self.end + 1))


class Buyer(_Strict):
    """A buyer region, who pays for its instruments, and its public budget (US$ m per year)."""

    region: Region
    payer: str = ""
    budget_musd_per_year: float | None = Field(default=None, ge=0, le=1e6, allow_inf_nan=False)


class Offtake(_Strict):
    """Offtake contracts with projects: each is a fixed volume a year from its start year for
    ``max_tenor_years`` (or to the horizon's end). Contracts can be signed every
    ``start_every_years`` from the first year (a ladder: the volume a buyer holds with a project
    steps up when a new contract starts and down when one ends); 1 lets every year's volume
    be chosen freely upward."""

    allowed: bool = True
    max_tenor_years: int = Field(default=10, ge=1, le=30)
    start_every_years: int = Field(default=5, ge=1, le=30)
    #: contract price = max(project opex x (1 + margin), the product's reference ex-China price)
    margin: float = Field(default=0.3, ge=0, le=5)
    #: take-or-pay reservation fee, share of the contract price on the contracted volume
    reservation_share: float = Field(default=0.05, ge=0, le=1)


class Cofinance(_Strict):
    """Public co-financing of projects: go/no-go per project at ``share`` of its capex."""

    allowed: bool = True
    share: float = Field(default=0.25, gt=0, le=1)
    #: host regions whose projects may be co-financed (empty: any)
    regions: tuple[Region, ...] = ()
    #: the buyer who co-finances projects hosted outside the buyers (default: the first buyer)
    payer: Region | None = None


class Stockpile(_Strict):
    """Strategic stockpiles of the buyers (capacity, fill schedule, release per future)."""

    allowed: bool = True
    products: tuple[Product, ...] = ("ndpr_oxide", "dytb_oxide", "ndfeb_magnet")
    max_t: float | None = Field(default=None, ge=0, le=1e7, allow_inf_nan=False)


class Floor(_Strict):
    """A price floor / contract for difference on a project's output at ``strike_usd_per_kg``."""

    allowed: bool = False
    product: Product = "ndpr_oxide"
    strike_usd_per_kg: float = Field(default=110.0, gt=0, le=1e5, allow_inf_nan=False)
    #: who pays; projects in this region are eligible
    payer_region: Region = "USA"
    covered_share: float = Field(default=1.0, gt=0, le=1)


class Instruments(_Strict):
    """Which instruments the plan may use."""

    offtake: Offtake = Field(default_factory=Offtake)
    cofinance: Cofinance = Field(default_factory=Cofinance)
    stockpile: Stockpile = Field(default_factory=Stockpile)
    floor: Floor = Field(default_factory=Floor)


class Mode(StrEnum):
    """A resilience target as a hard constraint or as a penalty in the objective."""

    CONSTRAINT = "constraint"
    PENALTY = "penalty"


class Coverage(_Strict):
    """In every future and year, at least ``min_share`` of the region's priority (defence)
    demand of each product is met."""

    region: Region
    products: tuple[Product, ...] = ("ndpr_oxide", "dytb_oxide", "ndfeb_magnet")
    min_share: float = Field(ge=0, le=1)


class Concentration(_Strict):
    """From ``from_year`` on, at most ``max_share`` of the region's supply at ``stage`` comes
    from China (the country of concern), in every future (the EU CRMA 65% benchmark)."""

    region: Region
    stage: Literal["separation", "magnet"]
    max_share: float = Field(ge=0, le=1)
    from_year: int = Field(default=2030, ge=2026, le=2070)


class Cutoff(_Strict):
    """Survive a ``months``-long cut-off of ``supplier`` in any year from ``from_year`` with at
    least ``min_priority_share`` of priority demand met from stocks and offtakes (at the
    projects' expected output; reciprocal allies' shares count)."""

    supplier: Literal["CHN"] = "CHN"
    months: int = Field(default=12, ge=1, le=36)
    min_priority_share: float = Field(ge=0, le=1)
    regions: tuple[Region, ...] = Field(min_length=1)
    products: tuple[Product, ...] = ("ndpr_oxide", "dytb_oxide", "ndfeb_magnet")
    from_year: int = Field(default=2028, ge=2026, le=2070)
    mode: Mode = Mode.CONSTRAINT
    #: US$/kg of the target missed (penalty mode)
    penalty_usd_per_kg: float = Field(default=2000.0, ge=0, le=1e6, allow_inf_nan=False)


class Reciprocal(_Strict):
    """A reciprocal stockpile agreement: each party may release up to ``share`` of its
    stockpile to the others (in a shortfall, at the release year's spot price)."""

    regions: tuple[Region, ...] = Field(min_length=2)
    products: tuple[Product, ...] = ("ndpr_oxide", "dytb_oxide", "ndfeb_magnet")
    share: float = Field(default=0.25, ge=0, le=1)


class Constraints(_Strict):
    """The plan's targets."""

    coverage: tuple[Coverage, ...] = ()
    concentration: tuple[Concentration, ...] = ()
    cutoff: tuple[Cutoff, ...] = ()
    reciprocal: tuple[Reciprocal, ...] = ()


class Risk(_Strict):
    """Optional CVaR term (Rockafellar-Uryasev): ``weight`` x CVaR_alpha of the futures' cost
    (US$ m) or of their unmet priority demand (t, priced at the priority VOLL)."""

    measure: Literal["cost", "unmet"] = "cost"
    alpha: float = Field(default=0.95, ge=0, lt=1)
    weight: float = Field(default=0.0, ge=0, le=100)


class Objective(_Strict):
    """Expected net present cost plus the optional risk term."""

    risk: Risk = Field(default_factory=Risk)


class Solver(_Strict):
    """HiGHS options."""

    time_limit_s: float = Field(default=120.0, gt=0, le=36000)
    mip_gap: float = Field(default=1e-3, ge=0, le=0.5)
    threads: int = Field(default=2, ge=1, le=64)
    #: ``decomposition``: Benders (L-shaped) over the futures (critmin.plan.benders);
    #: ``monolithic``: the deterministic equivalent in one HiGHS solve; ``auto``: decomposition
    #: from DECOMPOSE_FROM futures on, with the monolithic solve as its fallback
    method: Literal["auto", "decomposition", "monolithic"] = "auto"


class PlanSpec(_Strict):
    """A validated plan (module docstring)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    description: str = ""
    scenario: str = "controls-reimposed-2026-11"
    futures: int = Field(default=200, ge=2, le=MAX_FUTURES)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    years: Years = Field(default_factory=Years)
    products: tuple[Product, ...] = ("ndpr_oxide", "dytb_oxide", "ndfeb_magnet")
    buyers: tuple[Buyer, ...] = Field(min_length=1)
    #: project ids to consider (empty: every project in the economics data)
    projects: tuple[str, ...] = ()
    instruments: Instruments = Field(default_factory=Instruments)
    constraints: Constraints = Field(default_factory=Constraints)
    objective: Objective = Field(default_factory=Objective)
    solver: Solver = Field(default_factory=Solver)

    @model_validator(mode="after")
    def _consistent(self) -> PlanSpec:
        regions = [b.region for b in self.buyers]
        for i, r in enumerate(regions):
            if r in regions[:i]:
                raise FieldError(f"buyer {r!r} is listed twice", ("buyers", i, "region"), fix="list it once")
        known: set[str] = set(regions)
        y0, y1 = self.years.start, self.years.end
        groups: list[tuple[str, tuple[Any, ...]]] = []
        for i, c in enumerate(self.constraints.coverage):
            groups.append((c.region, ("constraints", "coverage", i, "region")))
        for i, k in enumerate(self.constraints.concentration):
            groups.append((k.region, ("constraints", "concentration", i, "region")))
            if not y0 <= k.from_year <= y1:
                raise FieldError(
                    f"from_year {k.from_year} is outside the horizon {y0}-{y1}",
                    ("constraints", "concentration", i, "from_year"),
                    fix="a year within `years`",
                )
        for i, cut in enumerate(self.constraints.cutoff):
            for j, r in enumerate(cut.regions):
                groups.append((r, ("constraints", "cutoff", i, "regions", j)))
            if not y0 <= cut.from_year <= y1:
                raise FieldError(
                    f"from_year {cut.from_year} is outside the horizon {y0}-{y1}",
                    ("constraints", "cutoff", i, "from_year"),
                    fix="a year within `years`",
                )
        for i, a in enumerate(self.constraints.reciprocal):
            for j, rr in enumerate(a.regions):
                groups.append((rr, ("constraints", "reciprocal", i, "regions", j)))
        if self.instruments.cofinance.payer is not None:
            groups.append((self.instruments.cofinance.payer, ("instruments", "cofinance", "payer")))
        for reg, loc in groups:
            if reg not in known:
                raise FieldError(
                    f"region {reg!r} is not a buyer of the plan",
                    loc,
                    fix=f"add it to `buyers` or use one of {sorted(known)}",
                )
        return self

    @property
    def regions(self) -> tuple[str, ...]:
        """The buyer regions, in order."""
        return tuple(b.region for b in self.buyers)

    def with_changes(self, **changes: Any) -> PlanSpec:
        """A copy with top-level fields replaced (validated again)."""
        return PlanSpec.model_validate({**self.model_dump(), **changes})


def parse_plan(text: str, path: Path | None = None) -> PlanSpec:
    """A :class:`PlanSpec` from YAML text; one DataError naming file:line:key on bad input."""
    where = path or Path("<plan>")
    raw, root = load_yaml(text, where)
    if not isinstance(raw, dict):
        raise DataError("a plan is a mapping of keys (name, buyers, ...)", path=where, fix=PLAN_FIX)
    try:
        return PlanSpec.model_validate(raw)
    except ValidationError as exc:
        err = validation_error(exc, path=where, root=root)
        raise DataError(
            err.message, path=err.path, line=err.line, column=err.column, fix=_plan_fix(err.fix)
        ) from None


def _plan_fix(fix: str | None) -> str:
    """The scenario loader's generic fix, pointed at the plan format instead."""
    return (fix or PLAN_FIX).replace(FORMAT_FIX, PLAN_FIX)


def bundled_plans() -> tuple[str, ...]:
    """Names of the bundled plans (``critmin plan NAME``)."""
    base = resources.files("critmin.plan") / "plans"
    return tuple(sorted(p.name[:-5] for p in base.iterdir() if p.name.endswith(".yaml")))


@cache
def _bundled(name: str) -> PlanSpec:
    base = resources.files("critmin.plan") / "plans"
    f = base / f"{name}.yaml"
    return parse_plan(f.read_text(encoding="utf-8"), Path(f"plans/{name}.yaml"))


def load_plan(name_or_path: str | Path) -> PlanSpec:
    """A bundled plan name (``us``) or a path to a PLAN.yaml file."""
    p = Path(name_or_path)
    if p.suffix in {".yaml", ".yml"} or p.exists():
        if not p.is_file():
            raise DataError("no such plan file", path=p, fix="give an existing PLAN.yaml or a bundled name")
        return parse_plan(read_text(p), p)
    name = str(name_or_path)
    if name not in bundled_plans():
        raise DataError(
            f"unknown plan {name!r}",
            fix=f"give a PLAN.yaml path or one of the bundled plans: {', '.join(bundled_plans())}",
        )
    return _bundled(name)


__all__ = [
    "PRODUCTS",
    "REGIONS",
    "STAGES",
    "STAGE_OF",
    "Buyer",
    "Concentration",
    "Constraints",
    "Coverage",
    "Cutoff",
    "Mode",
    "PlanSpec",
    "Reciprocal",
    "bundled_plans",
    "load_plan",
    "parse_plan",
]
