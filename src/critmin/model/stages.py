"""Supply-chain stages, upstream to downstream."""

from __future__ import annotations

import difflib
from enum import StrEnum
from typing import Any

from critmin.errors import DataError


class Stage(StrEnum):
    """A stage of a mineral supply chain.

    ``separation`` covers refining and processing generally (rare-earth separation into oxides,
    graphite processing to spherical/anode grade, cobalt and lithium refining, primary gallium
    refining); ``metal_alloy`` is metal making and alloying; ``magnet`` is permanent-magnet
    manufacture; ``component`` a part using the material (a motor); ``end_use`` the final sector.
    """

    MINING = "mining"
    SEPARATION = "separation"
    METAL_ALLOY = "metal_alloy"
    MAGNET = "magnet"
    COMPONENT = "component"
    END_USE = "end_use"

    @property
    def order(self) -> int:
        """Position in the chain, 0 = mining."""
        return list(Stage).index(self)


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)

#: Words people write for a stage, suggested (never silently accepted) when a stage is unknown.
STAGE_SYNONYMS: dict[str, Stage] = {
    "mine": Stage.MINING,
    "mines": Stage.MINING,
    "ore": Stage.MINING,
    "concentrate": Stage.MINING,
    "refining": Stage.SEPARATION,
    "refinery": Stage.SEPARATION,
    "processing": Stage.SEPARATION,
    "oxide": Stage.SEPARATION,
    "metal": Stage.METAL_ALLOY,
    "alloy": Stage.METAL_ALLOY,
    "metals": Stage.METAL_ALLOY,
    "magnets": Stage.MAGNET,
    "enduse": Stage.END_USE,
    "use": Stage.END_USE,
}


def nearest_stage(text: str, allowed: tuple[Stage, ...] = STAGE_ORDER) -> Stage | None:
    """The stage in ``allowed`` that ``text`` most likely means (synonym, else difflib), or None."""
    key = str(text).strip().lower().replace("-", "_").replace(" ", "_")
    if key in STAGE_SYNONYMS and STAGE_SYNONYMS[key] in allowed:
        return STAGE_SYNONYMS[key]
    close = difflib.get_close_matches(key, [s.value for s in allowed], n=1, cutoff=0.5)
    return Stage(close[0]) if close else None


def parse_stage(
    value: object, *, what: str = "stage", allowed: tuple[Stage, ...] = STAGE_ORDER, **where: Any
) -> Stage:
    """A :class:`Stage` from its value, forgiving case, spaces and hyphens; typos get a suggestion.

    ``allowed`` narrows the valid stages (a commodity's chain, the traced chain). ``where``
    (``path``, ``line``, ``column``) locates the value in the :class:`DataError`, whose fix
    names the nearest valid stage and lists them all.
    """
    if isinstance(value, Stage) and value in allowed:
        return value
    text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    valid = ", ".join(s.value for s in allowed)
    if text in {s.value for s in allowed}:
        return Stage(text)
    if text in {s.value for s in Stage}:
        raise DataError(f"{what} {text!r} is not a stage here", fix=f"use one of {valid}", **where)
    near = nearest_stage(text, allowed)
    hint = f"did you mean {near.value!r}? " if near else ""
    raise DataError(f"unknown {what} {value!r}", fix=f"{hint}valid stages: {valid}", **where)
