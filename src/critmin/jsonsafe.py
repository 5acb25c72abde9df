"""One JSON cleaner for every critmin document: NaN and infinities become ``null``.

``json.dumps`` writes float NaN and infinities as the bare tokens ``NaN`` and ``Infinity``,
which are not JSON (RFC 8259, section 6): strict parsers (JavaScript's ``JSON.parse``, jq,
DuckDB, ``json.loads(..., parse_constant=...)``) reject the document. Missing values in critmin
are NaN (pandas, numpy) or ``pandas.NA``; in a JSON document they are ``null``.

:func:`json_safe` walks a value recursively:

* float NaN / +-inf (Python or numpy floats) -> ``None``; other floats -> Python ``float``;
* ``pandas.NA`` and ``pandas.NaT`` -> ``None``;
* numpy scalars (integers, booleans, floats, ``datetime64``) -> the Python value;
* numpy arrays, lists, tuples, sets -> lists; mappings -> dicts (keys as JSON allows:
  ``str``, ``int``, ``float``, ``bool`` or ``None``, anything else as ``str``);
* enums -> their value; dates and datetimes -> ISO 8601 text; sets -> lists in sorted order
  (by text where the items do not compare), so equal inputs give equal documents;
* anything else is returned unchanged (``json.dumps``'s ``default`` deals with it).

:func:`dumps` is ``json.dumps(json_safe(obj), allow_nan=False, **kw)``: a NaN that got past the
cleaner would raise instead of writing an invalid document.

A leaf module: it imports numpy, but nothing from critmin, and not pandas (a pandas missing
value can only exist once pandas is imported, so it is looked up in ``sys.modules``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from collections.abc import Mapping
from enum import Enum
from typing import Any

import numpy as np

_SCALARS = (str, bool, int, type(None))


def json_safe(obj: Any) -> Any:
    """``obj`` with NaN/inf as ``None`` and numpy scalars as Python values, recursively."""
    if isinstance(obj, Enum):
        return json_safe(obj.value)
    if isinstance(obj, _SCALARS):
        return obj.item() if isinstance(obj, np.generic) else obj
    if isinstance(obj, float | np.floating):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.generic):  # numpy ints, bools, datetime64, str_
        return json_safe(obj.item())
    if isinstance(obj, Mapping):
        return {_key(k): json_safe(v) for k, v in obj.items()}
    pd = sys.modules.get("pandas")
    if pd is not None and (obj is pd.NA or obj is pd.NaT):
        return None
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if isinstance(obj, set | frozenset):
        try:
            items = sorted(obj)
        except TypeError:
            items = sorted(obj, key=str)
        return [json_safe(v) for v in items]
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [json_safe(v) for v in obj.tolist()]
    return obj


def dumps(obj: Any, **kw: Any) -> str:
    """``obj`` as a strict JSON document (no ``NaN``/``Infinity`` tokens); ``kw`` as for json.dumps."""
    return json.dumps(json_safe(obj), allow_nan=False, **kw)


def _key(k: Any) -> str | int | float | bool | None:
    safe = json_safe(k)
    return safe if isinstance(safe, (*_SCALARS, float)) else str(k)


__all__ = ["dumps", "json_safe"]
