"""Supply-chain stages, upstream to downstream."""

from __future__ import annotations

from enum import StrEnum


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
