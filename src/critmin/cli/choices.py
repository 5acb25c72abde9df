"""Parse CLI choices (formats, stages, methods, table names) with one error line and the fix.

Every option whose value must be one of a fixed set goes through :func:`parse_choice`: a bad
value is a :class:`~critmin.errors.DataError` that names the option, suggests the nearest
valid value (difflib) and lists them all, which ``critmin``'s entry point prints as one line
with exit code 2. Enum-typed options use :func:`enum_option`, which plugs the same parser
into Typer (``parser=``), so Typer's multi-line usage panel never appears for them::

    fmt: Format = format_option()
    method: CriticalityMethod = enum_option(CriticalityMethod.EU, "--method", "-m", help="...")

Stages use :func:`critmin.model.stages.parse_stage` (synonyms such as ``mine`` are suggested,
never silently accepted).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import Enum
from typing import Any, TypeVar

import typer

from critmin.cli._output import Format
from critmin.errors import DataError
from critmin.model.stages import STAGE_ORDER, Stage, parse_stage

E = TypeVar("E", bound=Enum)


def nearest(value: str, valid: Iterable[str]) -> str | None:
    """The valid value closest to ``value`` (difflib ratio >= 0.5, case-insensitive), or None."""
    options = list(valid)
    lowered = {v.lower(): v for v in options}
    close = difflib.get_close_matches(str(value).strip().lower(), list(lowered), n=1, cutoff=0.5)
    return lowered[close[0]] if close else None


def choice_error(option: str, value: object, valid: Iterable[str], *, what: str = "value") -> DataError:
    """The one-line error for ``option VALUE`` not in ``valid``: nearest value, then all of them."""
    options = list(valid)
    near = nearest(str(value), options)
    hint = f"did you mean {near!r}? " if near is not None else ""
    return DataError(
        f"{option} {str(value)!r} is not a known {what}", fix=f"{hint}use one of {', '.join(options)}"
    )


def parse_choice(value: str, valid: Iterable[str], *, option: str, what: str = "value") -> str:
    """``value`` if it is one of ``valid`` (exactly, else case-insensitively), else a DataError."""
    options = list(valid)
    if value in options:
        return value
    folded = {v.lower(): v for v in options}
    key = str(value).strip().lower()
    if key in folded:
        return folded[key]
    raise choice_error(option, value, options, what=what)


def parse_enum(enum_cls: type[E], value: object, *, option: str, what: str = "value") -> E:
    """The member of ``enum_cls`` whose value is ``value`` (case-insensitive), else a DataError."""
    if isinstance(value, enum_cls):
        return value
    by_value = {str(m.value): m for m in enum_cls}
    return by_value[parse_choice(str(value), by_value, option=option, what=what)]


def enum_option(default: Any, *decls: str, enum: type[Enum] | None = None, help: str | None = None) -> Any:
    """A ``typer.Option`` for an Enum whose bad values get :func:`parse_choice`'s error line.

    ``enum`` is needed only when ``default`` is ``None``. ``decls`` are the option's names,
    the first long one is used in messages (``--format 'jsn' is not a known format``).
    """
    cls: type[Enum] = enum if enum is not None else type(default)
    option = next((d for d in decls if d.startswith("--")), decls[0] if decls else "value")
    what = option.lstrip("-").replace("-", " ") or "value"
    metavar = "[" + "|".join(str(m.value) for m in cls) + "]"

    def parse(value: object) -> Any:
        return None if value is None else parse_enum(cls, value, option=option, what=what)

    return typer.Option(default, *decls, parser=parse, metavar=metavar, help=help)


def format_option(help: str = "Output format.") -> Any:
    """The ``--format/-f table|csv|json`` option every command takes."""
    return enum_option(Format.TABLE, "--format", "-f", help=help)


def stage_option(
    default: Stage | None, *decls: str, help: str | None = None, allowed: tuple[Stage, ...] = STAGE_ORDER
) -> Any:
    """A ``typer.Option`` parsed by :func:`critmin.model.stages.parse_stage` (nearest stage)."""
    option = next((d for d in decls if d.startswith("--")), "--stage")

    def parse(value: object) -> Stage | None:
        return None if value is None else parse_stage(value, what=option, allowed=allowed)

    return typer.Option(default, *decls, parser=parse, metavar="STAGE", help=help)


__all__ = [
    "choice_error",
    "enum_option",
    "format_option",
    "nearest",
    "parse_choice",
    "parse_enum",
    "stage_option",
]
