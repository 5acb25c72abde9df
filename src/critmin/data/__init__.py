"""The bundled dataset: schemas, sources, the Dataset, loaders, importers and the build.

Submodules load on first use (:func:`critmin.lazy.lazy_submodules`): after a bare
``import critmin``, ``critmin.data.dataset.Dataset`` works.
"""

from __future__ import annotations

from critmin.lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__)
