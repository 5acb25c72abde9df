"""Importers of published files: USGS MCS world tables and trends, WGI, user overlays.

Submodules load on first use (:func:`critmin.lazy.lazy_submodules`): after a bare
``import critmin``, ``critmin.data.importers.usgs_mcs.read_world_csv`` works.
"""

from __future__ import annotations

from critmin.lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__)
