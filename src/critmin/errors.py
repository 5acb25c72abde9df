"""Exceptions raised by critmin.

Every error about user input says *where* (file, line, column or key) and *how to fix it*,
so an analyst can act on it without reading the source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def shown(value: Any, width: int = 40) -> str:
    """A user value quoted for a one-line error: ``repr``, or its first ``width`` characters and its
    length when longer (a 200,000-character field or a 5,000-digit number must not flood the line).
    """
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= width:
        return repr(value) if isinstance(value, str) else text
    return f"{text[:width]!r}... ({len(text):,} characters)"


class CritminError(Exception):
    """Base class of every error critmin raises on purpose."""


class LocatedError(CritminError):
    """An error that names where it happened and how to fix it.

    The message is assembled from its parts so that every raise site names the location
    the same way: ``path:line: column 'col': what is wrong. Fix: what to do``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.fix = fix
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        elif self.line is not None:
            where = f"line {self.line}: "
        col = f"column {self.column!r}: " if self.column is not None else ""
        fix = f". Fix: {self.fix}" if self.fix else ""
        return f"{where}{col}{self.message}{fix}"


class DataError(LocatedError):
    """Bad input data: a malformed file, an unknown code, an impossible value."""


class UnknownCountryError(DataError):
    """A country name or code that cannot be mapped to ISO 3166 alpha-3."""


class UnknownCommodityError(DataError):
    """A commodity id that is not in the registry."""


class UnitError(DataError):
    """An unknown unit, or a conversion between incompatible units."""


class StoreError(LocatedError):
    """The DuckDB store could not be read or written (``path=`` the store, ``fix=`` the recovery)."""
