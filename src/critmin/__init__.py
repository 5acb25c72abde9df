"""critmin: stress-test critical-mineral supply chains on cited public data.

Public API (stable)::

    import critmin
    ds = critmin.load_dataset()                  # bundled data + your imports
    ds.shares("rare_earths", "mining", 2024)     # country shares, computed from tonnages
    critmin.get_commodity("Nd").stages           # the stage chain
"""

from __future__ import annotations

from critmin._version import __version__
from critmin.data.catalogue import Source
from critmin.data.dataset import Dataset
from critmin.data.load import load_dataset
from critmin.errors import CritminError, DataError
from critmin.metrics.criticality import CriticalityResult, criticality
from critmin.metrics.exposure import ExposureReport, exposure
from critmin.model.commodities import Commodity, get_commodity, registry
from critmin.model.countries import to_iso3
from critmin.model.stages import Stage

__all__ = [
    "Commodity",
    "CriticalityResult",
    "CritminError",
    "DataError",
    "Dataset",
    "ExposureReport",
    "Source",
    "Stage",
    "__version__",
    "criticality",
    "exposure",
    "get_commodity",
    "load_dataset",
    "registry",
    "to_iso3",
]
