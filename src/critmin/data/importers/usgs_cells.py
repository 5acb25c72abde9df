"""One USGS MCS value cell: ``"1,100"``, ``"e5,000"``, ``">130,000,000"``, ``W``, ``NA``, ``--``...

:func:`parse_value` is shared by the world-table and the trends readers; see
:mod:`critmin.data.importers.usgs_mcs` for the quirks. Numbers are returned as printed (in the
column's unit); the readers check finiteness after converting them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from critmin.data.importers.csvrows import show

__all__ = ["NUMBER", "Cell", "clean", "parse_value"]

#: A printed USGS number (optional ``e`` estimate mark and ``<``/``>``, thousands separators).
NUMBER = re.compile(r"^(?P<e>e)?(?P<op>[<>])?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)$")
_ZERO = {"--", "—", "–", "——"}
_DESCRIPTIVE = re.compile(
    r"^(included (in|with) .+|categori[sz]ed as .+|(very )?(large|small)|moderate|negligible|not available)$",
    re.IGNORECASE,
)
_LESS_THAN_HALF = re.compile(r"^less than (½|1[/⁄]2) unit\.?$", re.IGNORECASE)


@dataclass(frozen=True)
class Cell:
    """A parsed value cell: value (in the column's unit) or NaN, qualifier, estimate flag, note."""

    value: float
    qualifier: str
    estimated: bool = False
    note: str | None = None


def clean(text: str) -> str:
    """NFKC-normalised text, non-breaking spaces and runs of whitespace as one space, stripped."""
    text = unicodedata.normalize("NFKC", text).replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip()


def parse_value(text: str) -> Cell | None:
    """Parse one USGS value cell. ``None`` for an empty cell; raises ``ValueError`` if unreadable.

    ``"1,100"`` -> 1100 exact; ``"e5,000"`` -> 5000 estimated; ``">130,000,000"`` -> over;
    ``"<100"`` -> under; ``"W"``/``"NA"``/``"XX"`` -> NaN withheld/not_available/not_applicable;
    ``"--"``/``"—"`` -> 0; ``"Less than ½ unit."`` -> 0.5 under; descriptive text -> NaN with note.
    """
    s = clean(text)
    if not s:
        return None
    m = NUMBER.match(s.replace(" ", ""))
    if m:
        value = float(m.group("num").replace(",", ""))
        qualifier = {"<": "under", ">": "over"}.get(m.group("op") or "", "exact")
        note = f"as printed: {s}" if m.group("op") else None
        return Cell(value, qualifier, estimated=bool(m.group("e")), note=note)
    upper = s.upper().rstrip(".")
    if upper == "W":
        return Cell(math.nan, "withheld")
    if upper == "NA":
        return Cell(math.nan, "not_available")
    if upper == "XX":
        return Cell(math.nan, "not_applicable")
    if s in _ZERO:
        return Cell(0.0, "exact")
    if _LESS_THAN_HALF.match(s):
        return Cell(0.5, "under", note=f"as printed: {s}")
    if _DESCRIPTIVE.match(s.rstrip(".")):
        return Cell(math.nan, "not_available", note=f"as printed: {s}")
    if re.match(r"^[-−]\s*\d", s):
        msg = f"negative value {show(text.strip())}"
        raise ValueError(msg)
    msg = f"malformed number {show(text.strip())}"
    raise ValueError(msg)
