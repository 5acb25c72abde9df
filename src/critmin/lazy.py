"""Lazy package attributes (PEP 562): submodules and re-exported names load on first use.

A package's ``__init__`` says::

    from critmin.lazy import lazy_submodules

    __getattr__, __dir__ = lazy_submodules(__name__, {"Dataset": "critmin.data.dataset"})

Then, after a bare ``import critmin``, ``critmin.trace.country.origin_matrix`` works (each
attribute access imports the package or module it names, once), and ``critmin.Dataset`` imports
``critmin.data.dataset`` only when first read. ``import critmin`` itself imports nothing
heavy, so the CLI and ``--help`` start fast.

Rules: names in ``attrs`` map to the module that defines them (the name is the same there);
every public submodule or subpackage (a name without a leading underscore, found on the
package's ``__path__``) is an attribute; anything else is an ``AttributeError``, as usual. An
``ImportError`` raised *inside* a submodule (a missing dependency) is not masked as a missing
attribute. This module imports nothing from critmin (it is a leaf), so any package may use it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_submodules(
    package: str, attrs: Mapping[str, str] | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` for ``package`` (pass ``__name__``).

    ``attrs`` maps re-exported names to their defining module, e.g.
    ``{"load_dataset": "critmin.data.load"}``. Resolved names are cached on the package, so
    ``__getattr__`` runs once per name. Raises ``TypeError`` for a module that is not a
    package (it has no submodules to find).
    """
    module = sys.modules[package]
    if not hasattr(module, "__path__"):
        raise TypeError(f"{package} is a module, not a package: lazy_submodules needs a package")
    names = dict(attrs or {})
    found: list[frozenset[str]] = []

    def submodules() -> frozenset[str]:
        if not found:
            import pkgutil  # only when a name is missed: keeps `import critmin` light

            found.append(
                frozenset(m.name for m in pkgutil.iter_modules(module.__path__) if not m.name.startswith("_"))
            )
        return found[0]

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
            setattr(module, name, value)
            return value
        if not name.startswith("_") and name in submodules():
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(module)) | set(names) | submodules())

    return __getattr__, __dir__


__all__ = ["lazy_submodules"]
