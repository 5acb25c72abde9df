"""Country codes: ISO 3166 alpha-3 via :mod:`pycountry`, plus publisher spellings.

Names in source files are messy: USGS writes "Burma", "Congo (Kinshasa)", fuses footnote digits
onto names ("New Caledonia11"), marks estimates with a trailing ``e`` ("Russiae"), adds
qualifiers ("Brazil (beneficiated)", "Peru, crude borates") and has aggregate rows ("World
total (rounded)", "Other countries"). :func:`parse_source_name` undoes all of that; an unknown
name raises :class:`~critmin.errors.UnknownCountryError` naming file, line and column.

Besides ISO codes critmin uses a few *aggregate* codes, which are never a single country in a
concentration index:

=======  ==============================================================
``WLD``  world total
``OTH``  "Other countries" residual row
``ROW``  rest of world (everything not listed)
``EU27`` European Union (27 members)
``EUR``  Europe
``A+B``  an explicit group of ISO codes, e.g. ``CHN+MYS+AUS``
=======  ==============================================================
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import pycountry

from critmin import yamlio
from critmin.errors import UnknownCountryError

WORLD = "WLD"
OTHER = "OTH"
REST_OF_WORLD = "ROW"

AGGREGATES: dict[str, str] = {
    WORLD: "World total",
    OTHER: "Other countries (residual row)",
    REST_OF_WORLD: "Rest of world",
    "EU27": "European Union (27)",
    "EUR": "Europe",
    "exCHN": "World excluding China",
}

#: Codes outside ISO 3166-1 that name one real economy.
_EXTRA_COUNTRIES: dict[str, str] = {"XKX": "Kosovo", "ANT": "Netherlands Antilles (historic)"}

_FOOTNOTE = re.compile(r"(?<=[^\d\s])\d{1,2}$")
_PAREN = re.compile(r"\s*\(([^)]*)\)\s*$")
_GROUP = re.compile(r"^[A-Z]{3}(\+[A-Z]{3})+$")


@dataclass(frozen=True)
class CountryLabel:
    """A source label resolved: ISO3 (or aggregate) code plus what was stripped from it."""

    code: str
    footnote: str | None = None
    estimated: bool = False
    qualifier: str | None = None


@cache
def _aliases() -> tuple[dict[str, str], dict[str, str]]:
    text = resources.files("critmin.data").joinpath("country_aliases.yaml").read_text("utf-8")
    raw = yamlio.safe_load(text)
    names = {_norm(k): str(v) for k, v in raw["names"].items()}
    wb = {str(k): str(v) for k, v in raw["world_bank_codes"].items()}
    return names, wb


def _norm(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).replace("\u00a0", " ")
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip()


def is_country(code: str) -> bool:
    """True for a code naming one economy (ISO alpha-3 or a known extra), not an aggregate."""
    return code in _EXTRA_COUNTRIES or pycountry.countries.get(alpha_3=code) is not None


def is_known_code(code: str) -> bool:
    """True for a country code, an aggregate code or a ``+``-joined group of country codes."""
    if code in AGGREGATES or is_country(code):
        return True
    return bool(_GROUP.match(code)) and all(is_country(c) for c in code.split("+"))


def country_name(code: str) -> str:
    """Display name of a code (ISO short name, or the aggregate's description)."""
    if code in AGGREGATES:
        return AGGREGATES[code]
    if code in _EXTRA_COUNTRIES:
        return _EXTRA_COUNTRIES[code]
    c = pycountry.countries.get(alpha_3=code)
    if c is not None:
        return str(getattr(c, "common_name", None) or c.name)
    if _GROUP.match(code):
        return " + ".join(country_name(p) for p in code.split("+"))
    return code


@cache
def _lookup(name: str) -> str | None:
    """Exact lookup of a cleaned name: aliases, then pycountry names and codes."""
    names, _ = _aliases()
    if name in names:
        return names[name]
    if name.upper() in AGGREGATES or name in AGGREGATES:
        return name if name in AGGREGATES else name.upper()
    if _GROUP.match(name) and all(is_country(c) for c in name.split("+")):
        return name
    if len(name) == 3 and name.isupper() and is_country(name):
        return name
    try:
        return str(pycountry.countries.lookup(name).alpha_3)
    except LookupError:
        return None


def _aggregate(name: str) -> str | None:
    low = name.lower()
    if low.startswith("world total") or low == "world":
        return WORLD
    if low.startswith("other countries") or low == "other" or low.startswith("others"):
        return OTHER
    if low in {"rest of world", "rest of the world", "row"}:
        return REST_OF_WORLD
    return None


def parse_source_name(
    label: str,
    *,
    path: str | Path | None = None,
    line: int | None = None,
    column: str | None = "Country",
) -> CountryLabel:
    """Resolve a publisher's country label to a :class:`CountryLabel`.

    Handles fused footnote digits ("New Caledonia11"), a trailing estimate marker ("Russiae",
    but not "Ukraine"), a trailing parenthetical or comma qualifier ("Brazil (beneficiated)",
    "Peru, crude borates"), aggregates ("World total (rounded)10", "Other countries") and
    publisher spellings ("Burma" -> MMR). Raises :class:`UnknownCountryError` otherwise.
    """
    name = _norm(label)
    if not name:
        raise UnknownCountryError(
            "empty country name", path=path, line=line, column=column, fix="fill in the country"
        )
    footnote = None
    m = _FOOTNOTE.search(name)
    if m and _lookup(name) is None:
        footnote = m.group(0)
        name = name[: m.start()].rstrip()
    agg = _aggregate(name)
    if agg is not None:
        return CountryLabel(agg, footnote=footnote)
    code = _lookup(name)
    if code is not None:
        return CountryLabel(code, footnote=footnote)
    # Strip a trailing "(qualifier)" or ", qualifier", then a trailing estimate marker "e".
    candidates: list[tuple[str, str | None]] = []
    pm = _PAREN.search(name)
    if pm:
        candidates.append((name[: pm.start()].strip(), pm.group(1).strip()))
    if "," in name:
        head, _, tail = name.partition(",")
        candidates.append((head.strip(), tail.strip()))
    candidates.append((name, None))
    for cand, qual in candidates:
        tries = [(cand, False)] + ([(cand[:-1], True)] if cand.endswith("e") else [])
        for text, est in tries:
            found = _lookup(text) if text else None
            if found is not None:
                return CountryLabel(found, footnote=footnote, estimated=est, qualifier=qual)
    msg = f"unknown country {label!r}"
    raise UnknownCountryError(
        msg,
        path=path,
        line=line,
        column=column,
        fix="use an ISO 3166 alpha-3 code (e.g. 'AUS') or a name pycountry knows; "
        "publisher spellings can be added to critmin/data/country_aliases.yaml",
    )


def to_iso3(
    label: str,
    *,
    path: str | Path | None = None,
    line: int | None = None,
    column: str | None = "country",
) -> str:
    """ISO alpha-3 (or aggregate) code for a name or code; see :func:`parse_source_name`."""
    return parse_source_name(label, path=path, line=line, column=column).code


def from_world_bank_code(code: str, *, path: str | Path | None = None, line: int | None = None) -> str:
    """Map a World Bank economy code (WGI) to ISO alpha-3, fixing its legacy codes.

    ``ROM`` -> ``ROU``, ``ZAR`` -> ``COD``, ``TMP`` -> ``TLS``, ``ADO`` -> ``AND``,
    ``WBG`` -> ``PSE``, ``KSV`` -> ``XKX``.
    """
    _, wb = _aliases()
    mapped = wb.get(code.strip(), code.strip())
    if is_country(mapped):
        return mapped
    msg = f"unknown World Bank economy code {code!r}"
    raise UnknownCountryError(
        msg, path=path, line=line, column="code", fix="add it to world_bank_codes in country_aliases.yaml"
    )
