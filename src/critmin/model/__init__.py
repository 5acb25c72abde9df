"""The domain model: commodities, stages, countries.

Submodules load on first use (:func:`critmin.lazy.lazy_submodules`): after a bare
``import critmin``, ``critmin.model.stages.Stage`` works.
"""

from __future__ import annotations

from critmin.lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__)
