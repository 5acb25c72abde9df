"""Pure metric functions: concentration, governance, import reliance, exposure, criticality.

Submodules load on first use (:func:`critmin.lazy.lazy_submodules`): after a bare
``import critmin``, ``critmin.metrics.concentration.hhi`` works.
"""

from __future__ import annotations

from critmin.lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__)
