"""Scenario YAML: a strict safe loader and one-line errors with the file, line and dotted key.

:func:`load_yaml` parses a document once into Python values *and* its node tree (for lines):

* a ``yaml.SafeLoader`` subclass (no ``!!python`` tags), dates kept as strings so pydantic
  validates them with a line number;
* a key that repeats within one mapping is refused naming both lines (plain YAML keeps the
  last one silently);
* integers too long for Python to convert (``sys.set_int_max_str_digits``) and documents
  nested too deeply are refused with the line instead of a traceback.

:func:`validation_error` turns a pydantic ``ValidationError`` of a scenario into one
:class:`~critmin.errors.DataError`: the file, the line of the offending key, the dotted field
(``parameters.licence.approval_rate.a``), what is wrong (with the value given, quoted with
``repr``) and the fix. Checks that find a problem below the field they validate raise
:class:`~critmin.simulate.inputs.params.FieldError` with the rest of the location (and, for
a duplicate, the first place).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from critmin.errors import DataError, shown
from critmin.simulate.inputs.events import EventKind
from critmin.simulate.inputs.params import FieldError, clean_loc

#: The fix of a scenario error that has no more specific one.
FORMAT_FIX = "see docs/model.md section 8 and `critmin scenarios show NAME` for the format"
PARAMETERS_FIX = "see `critmin simulate --list-parameters` for the names, units and bounds"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlInputError(yaml.MarkedYAMLError):
    """A document the strict loader refuses (a repeated key, an unconvertible number)."""

    def __init__(self, problem: str, mark: yaml.Mark | None, fix: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.fix = fix


class StrictLoader(yaml.SafeLoader):
    """SafeLoader without timestamps, refusing repeated keys and unconvertible numbers."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG:
                ident = (key.tag, key.value)
                line = key.start_mark.line + 1
                if ident in seen:
                    raise YamlInputError(
                        f"key {key.value!r} repeats (lines {seen[ident]} and {line}); YAML would keep "
                        "only the last",
                        key.start_mark,
                        "keep one of the two",
                    )
                seen[ident] = line
        return super().construct_mapping(node, deep=deep)

    def _number(self, node: yaml.ScalarNode, build: Any) -> Any:
        if ":" in str(node.value):
            raise YamlInputError(
                f"{node.value!r} is a base-60 number in YAML 1.1 (1:30 reads as 90)",
                node.start_mark,
                "write the number itself (90), or quote the text",
            )
        try:
            return build(self, node)
        except (ValueError, OverflowError) as exc:
            text = str(node.value)
            raise YamlInputError(
                f"number {shown(text)} cannot be read ({type(exc).__name__})",
                node.start_mark,
                "write an ordinary number (at most 15 significant digits, e.g. 1.0e+6)",
            ) from None

    def construct_int(self, node: yaml.ScalarNode) -> Any:
        return self._number(node, yaml.SafeLoader.construct_yaml_int)

    def construct_float(self, node: yaml.ScalarNode) -> Any:
        return self._number(node, yaml.SafeLoader.construct_yaml_float)


StrictLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_int)
StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_float)


def load_yaml(text: str, path: Path) -> tuple[Any, yaml.Node | None]:
    """(the document's value, its root node) of ``text``; one DataError if it cannot be read."""
    loader = StrictLoader(text)
    try:
        root = loader.get_single_node()
        raw = loader.construct_document(root) if root is not None else None
    except YamlInputError as exc:
        mark = exc.problem_mark
        raise DataError(
            str(exc.problem), path=path, line=mark.line + 1 if mark else None, fix=exc.fix
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError(
            f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
            path=path,
            line=mark.line + 1 if mark else None,
            fix="check indentation and quoting",
        ) from None
    except RecursionError:
        raise DataError(
            "the document is nested too deeply", path=path, fix="a scenario is a few levels of keys"
        ) from None
    finally:
        loader.dispose()
    return raw, root


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest YAML node reached by a (cleaned) error location."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == str(key)), None)
            if nxt is None:
                break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _clean(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's validator and union-tag steps (``events.0.ban.stages``: the ``ban``)."""
    kinds = {k.value for k in EventKind}
    kept = tuple(
        x
        for i, x in enumerate(loc)
        if not str(x).startswith(("function-", "tagged-union"))
        and not (str(x) in kinds and i > 0 and isinstance(loc[i - 1], int))
    )
    return clean_loc(kept)


def _shift(loc: tuple[Any, ...], offsets: Mapping[str, int]) -> tuple[Any, ...]:
    """A merged document's location in the file (``extends`` puts the base's events first)."""
    if len(loc) > 1 and isinstance(loc[1], int) and str(loc[0]) in offsets:
        return (loc[0], loc[1] - offsets[str(loc[0])], *loc[2:])
    return loc


def validation_error(
    exc: ValidationError,
    *,
    path: Path | None,
    root: yaml.Node | None,
    offsets: Mapping[str, int] | None = None,
) -> DataError:
    """One DataError from the first error of a scenario's ``ValidationError`` (module docstring)."""
    err = exc.errors()[0]
    shift = offsets or {}
    loc = _clean(tuple(err["loc"]))
    cause = (err.get("ctx") or {}).get("error")
    first: tuple[Any, ...] | None = None
    kind = str(err["type"])
    fix = FORMAT_FIX
    if isinstance(cause, FieldError):
        loc = (*loc, *cause.loc)
        first = cause.first
        msg = str(cause)
        fix = cause.fix or (PARAMETERS_FIX if "parameters" in loc else FORMAT_FIX)
    elif kind == "extra_forbidden":
        msg = f"unknown key {str(loc[-1])!r}" if loc else "unknown key"
        fix = "remove it or correct its spelling; " + FORMAT_FIX
    elif kind == "missing":
        msg = f"missing required key {str(loc[-1])!r}" if loc else "a required key is missing"
        fix = "add it; " + FORMAT_FIX
    else:
        msg = str(err["msg"]).removeprefix("Value error, ")
        given = err.get("input")
        if kind != "value_error" and not isinstance(given, dict | list | tuple):
            msg += f" (got {shown(given, 60)})"
        if "parameters" in loc:
            fix = PARAMETERS_FIX
    loc = _shift(loc, shift)
    line = line_of(root, loc) if root is not None else None
    if first is not None and root is not None:
        first_line = line_of(root, _shift(first, shift))
        if first_line is not None and first_line != line:
            msg += f" (first at line {first_line})"
    key = ".".join(str(x) for x in loc)
    return DataError(msg, path=path, line=line if path is not None else None, column=key or None, fix=fix)


__all__ = [
    "FORMAT_FIX",
    "PARAMETERS_FIX",
    "StrictLoader",
    "YamlInputError",
    "line_of",
    "load_yaml",
    "validation_error",
]
