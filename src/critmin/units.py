"""Explicit units and their conversion.

Quantities in critmin always travel with a unit string. Conversions go through
:func:`convert`; call sites never multiply by 1000 by hand. The *basis* of a quantity (rare-earth
oxide equivalent, contained metal, gross weight) is a property of the commodity and stage, not of
the unit: ``t`` of REO converts to ``kt`` of REO, never to ``t`` of metal.

Unit strings follow the USGS data-release column suffixes where they exist (``t``, ``kt``, ``kg``,
``mmt`` = million metric tons, ``mct`` = million carats, ``kct`` = thousand carats, ``mcm`` =
million cubic metres).
"""

from __future__ import annotations

from dataclasses import dataclass

from critmin.errors import UnitError


@dataclass(frozen=True)
class Unit:
    """A unit: its canonical symbol, physical dimension and factor to the dimension's base unit."""

    symbol: str
    dimension: str
    factor: float
    description: str


_UNITS: tuple[Unit, ...] = (
    Unit("g", "mass", 1e-6, "gram"),
    Unit("kg", "mass", 1e-3, "kilogram"),
    Unit("t", "mass", 1.0, "metric ton (tonne)"),
    Unit("kt", "mass", 1e3, "thousand metric tons"),
    Unit("Mt", "mass", 1e6, "million metric tons"),
    Unit("ct", "carat", 1.0, "carat"),
    Unit("kct", "carat", 1e3, "thousand carats"),
    Unit("Mct", "carat", 1e6, "million carats"),
    Unit("m3", "volume", 1.0, "cubic metre"),
    Unit("Mm3", "volume", 1e6, "million cubic metres"),
    Unit("fraction", "ratio", 1.0, "dimensionless share, 0..1"),
    Unit("pct", "ratio", 1e-2, "percent"),
    Unit("usd", "usd", 1.0, "US dollars"),
    Unit("usd_per_kg", "usd_per_mass", 1e3, "US dollars per kilogram"),
    Unit("usd_per_t", "usd_per_mass", 1.0, "US dollars per metric ton"),
    Unit("cny_per_kg", "cny_per_mass", 1e3, "Chinese yuan per kilogram"),
    Unit("cny_per_t", "cny_per_mass", 1.0, "Chinese yuan per metric ton"),
    Unit("aud_per_kg", "aud_per_mass", 1e3, "Australian dollars per kilogram"),
    Unit("count", "count", 1.0, "number of items"),
)

#: Aliases seen in source files (USGS column suffixes, transcribed tables) -> canonical symbol.
_ALIASES: dict[str, str] = {
    "tonnes": "t",
    "tons": "t",
    "metric tons": "t",
    "mt": "Mt",
    "mmt": "Mt",
    "million metric tons": "Mt",
    "thousand metric tons": "kt",
    "mct": "Mct",
    "mcm": "Mm3",
    "%": "pct",
    "percent": "pct",
    "usd/kg": "usd_per_kg",
    "usd/t": "usd_per_t",
    "cny/kg": "cny_per_kg",
    "cny/t": "cny_per_t",
    "$/kg": "usd_per_kg",
    "dkg": "usd_per_kg",  # USGS salient suffix: dollars per kilogram
}

UNITS: dict[str, Unit] = {u.symbol: u for u in _UNITS}


def parse_unit(text: str) -> Unit:
    """Return the :class:`Unit` for a symbol or a known alias (case-sensitive first, then not).

    Raises :class:`~critmin.errors.UnitError` naming the accepted symbols.
    """
    key = text.strip()
    if key in UNITS:
        return UNITS[key]
    alias = _ALIASES.get(key) or _ALIASES.get(key.lower())
    if alias is not None:
        return UNITS[alias]
    lowered = {k.lower(): u for k, u in UNITS.items()}
    # "MT" is ambiguous in the wild; only accept case-insensitive matches that are unique.
    if key.lower() in lowered and key.lower() not in {"mt"}:
        return lowered[key.lower()]
    msg = f"unknown unit {text!r}"
    raise UnitError(msg, fix=f"use one of {', '.join(sorted(UNITS))}")


def conversion_factor(from_unit: str, to_unit: str) -> float:
    """Multiplier that turns a value in ``from_unit`` into ``to_unit``.

    ``conversion_factor("kt", "t") == 1000``. Raises :class:`UnitError` when dimensions differ.
    """
    a, b = parse_unit(from_unit), parse_unit(to_unit)
    if a.dimension != b.dimension:
        msg = f"cannot convert {a.symbol!r} ({a.dimension}) to {b.symbol!r} ({b.dimension})"
        raise UnitError(msg, fix="convert only between units of the same dimension")
    return a.factor / b.factor


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert ``value`` from ``from_unit`` to ``to_unit`` (e.g. ``convert(2, "kt", "t") == 2000``)."""
    return value * conversion_factor(from_unit, to_unit)


def canonical(symbol: str) -> str:
    """Canonical symbol for a unit string or alias (``"mmt"`` -> ``"Mt"``)."""
    return parse_unit(symbol).symbol
