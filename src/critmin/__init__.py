"""critmin: stress-test critical-mineral supply chains on cited public data.

Public API (stable)::

    import critmin
    ds = critmin.load_dataset()                  # bundled data + your imports
    ds.shares("rare_earths", "mining", 2024)     # country shares, computed from tonnages
    critmin.get_commodity("Nd").stages           # the stage chain
    critmin.trace.country.origin_matrix(ds, "magnet", "mining", 2024)

The names below, and every subpackage (``critmin.trace``, ``critmin.simulate``, ...), load on
first use (PEP 562, :func:`critmin.lazy.lazy_submodules`), so ``import critmin`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from critmin._version import __version__
from critmin.lazy import lazy_submodules

if TYPE_CHECKING:
    from critmin.data.catalogue import Source
    from critmin.data.dataset import Dataset
    from critmin.data.load import load_dataset
    from critmin.errors import CritminError, DataError
    from critmin.metrics.criticality import CriticalityResult, criticality
    from critmin.metrics.exposure import ExposureReport, exposure
    from critmin.model.commodities import Commodity, get_commodity, registry
    from critmin.model.countries import to_iso3
    from critmin.model.stages import Stage

__getattr__, __dir__ = lazy_submodules(
    __name__,
    {
        "Commodity": "critmin.model.commodities",
        "CriticalityResult": "critmin.metrics.criticality",
        "CritminError": "critmin.errors",
        "DataError": "critmin.errors",
        "Dataset": "critmin.data.dataset",
        "ExposureReport": "critmin.metrics.exposure",
        "Source": "critmin.data.catalogue",
        "Stage": "critmin.model.stages",
        "criticality": "critmin.metrics.criticality",
        "exposure": "critmin.metrics.exposure",
        "get_commodity": "critmin.model.commodities",
        "load_dataset": "critmin.data.load",
        "registry": "critmin.model.commodities",
        "to_iso3": "critmin.model.countries",
    },
)

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
