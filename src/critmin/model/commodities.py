"""Commodities and their stage chains.

The registry is data: ``critmin/data/commodities.yaml`` lists every commodity with its id, name,
kind, unit, basis and stage chain. This module validates it (pydantic) and answers look-ups.
"""

from __future__ import annotations

import difflib
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from critmin import yamlio
from critmin.errors import UnitError, UnknownCommodityError
from critmin.model.stages import Stage
from critmin.units import parse_unit


class Commodity(BaseModel):
    """One commodity: a rare-earth element, a group of them, or a mineral.

    ``unit`` is the mass (or other) unit in which the bundled dataset stores its quantities;
    ``basis`` says what is weighed (e.g. "rare-earth oxide equivalent", "contained antimony").
    ``stages`` is the chain that applies, upstream first.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    kind: Literal["element", "group", "mineral"]
    symbol: str | None = None
    unit: str
    basis: str
    stages: tuple[Stage, ...] = Field(min_length=1)
    stage_basis: dict[Stage, str] = Field(default_factory=dict)
    members: tuple[str, ...] = ()
    usgs_codes: tuple[str, ...] = ()
    description: str = ""

    @field_validator("unit")
    @classmethod
    def _unit_known(cls, v: str) -> str:
        try:
            return parse_unit(v).symbol
        except UnitError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("stages")
    @classmethod
    def _stages_ordered(cls, v: tuple[Stage, ...]) -> tuple[Stage, ...]:
        orders = [s.order for s in v]
        if orders != sorted(set(orders)):
            msg = f"stages must be unique and in chain order (mining -> end_use), got {[s.value for s in v]}"
            raise ValueError(msg)
        return v

    def basis_at(self, stage: Stage | str) -> str:
        """What is weighed at ``stage`` (``stage_basis`` override, else ``basis``)."""
        return self.stage_basis.get(Stage(stage), self.basis)

    def has_stage(self, stage: Stage | str) -> bool:
        """True if ``stage`` is in this commodity's chain."""
        return Stage(stage) in self.stages


class CommodityRegistry(BaseModel):
    """All commodities, keyed by id, with look-up by id, symbol or USGS file code."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    commodities: tuple[Commodity, ...]

    @model_validator(mode="after")
    def _unique_and_members_known(self) -> CommodityRegistry:
        ids = [c.id for c in self.commodities]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            msg = f"duplicate commodity ids: {sorted(dupes)}"
            raise ValueError(msg)
        known = set(ids)
        for c in self.commodities:
            missing = [m for m in c.members if m not in known]
            if missing:
                msg = f"commodity {c.id!r} lists unknown members {missing}"
                raise ValueError(msg)
        return self

    @property
    def ids(self) -> tuple[str, ...]:
        """All commodity ids, in registry order."""
        return tuple(c.id for c in self.commodities)

    def get(self, key: str) -> Commodity:
        """Commodity by id (``"rare_earths"``), element symbol (``"Nd"``) or name.

        Raises :class:`UnknownCommodityError` with the closest matches as the fix.
        """
        k = key.strip()
        for c in self.commodities:
            if k == c.id or k.lower() == c.id:
                return c
        for c in self.commodities:
            if (c.symbol and k.lower() == c.symbol.lower()) or k.lower() == c.name.lower():
                return c
        close = difflib.get_close_matches(k.lower(), self.ids, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(repr(x) for x in close)}?" if close else ""
        msg = f"unknown commodity {key!r}"
        fix = (hint + " " if hint else "") + "run `critmin data commodities` for the list"
        raise UnknownCommodityError(msg, column="commodity", fix=fix)

    def by_usgs_code(self, code: str) -> list[Commodity]:
        """Commodities whose data come from a USGS MCS file code (e.g. ``"raree"``)."""
        return [c for c in self.commodities if code in c.usgs_codes]


@cache
def registry() -> CommodityRegistry:
    """The bundled commodity registry (validated once, then cached)."""
    text = resources.files("critmin.data").joinpath("commodities.yaml").read_text("utf-8")
    return CommodityRegistry.model_validate(yamlio.safe_load(text))


def get_commodity(key: str) -> Commodity:
    """Shortcut for ``registry().get(key)``."""
    return registry().get(key)
