"""Criticality assessments on the bundled data: the EU CRM method and the USGS 2022 method.

Two published methods place each commodity on a risk scale:

* **EU CRM** (Blengini et al. 2017, EUR 28654, used for the 2020 and 2023 EU lists):
  supply risk SR and economic importance EI; critical when SR >= 1 and EI >= 2.8. See
  :mod:`critmin.metrics.criticality.eu` (:func:`eu_crm`, :func:`eu_supply_risk`,
  :func:`eu_economic_importance`).
* **USGS 2022** (Nassar & Fortier 2021, USGS OFR 2021-1045): supply risk = disruption potential
  x trade exposure x economic vulnerability, ranked. See :mod:`critmin.metrics.criticality.usgs`
  (:func:`usgs_2022`, :func:`usgs_supply_risk`).

Both take what the bundled dataset holds (country production shares, WGI, US net import
reliance, the export-control timeline) and read every other input from
``critmin/data/criticality_defaults.yaml``, where each number has a rationale and a source.
Every output row names the inputs that were not computed from the bundled data
(``assumed_inputs``), how each input was obtained (``input_basis``) and the sources used
(``source_ids``: dataset source ids, plus ``criticality_defaults:<key>`` for sources cited in the
defaults file). Commodities whose data do not allow an assessment stay in the table with
``status == "insufficient data"`` and a ``reason``.

This package: the :func:`criticality` dispatcher (exported as ``critmin.criticality``) here;
what both methods share (:class:`CriticalityMethod`, :class:`CriticalityResult`, the defaults
loader, the supply cross-section) in :mod:`~critmin.metrics.criticality.common`; the methods in
:mod:`~critmin.metrics.criticality.eu` and :mod:`~critmin.metrics.criticality.usgs`.
"""

from __future__ import annotations

from typing import Any

from critmin.errors import DataError
from critmin.metrics.criticality.common import (
    STATUS_INSUFFICIENT,
    STATUS_OK,
    CriticalityMethod,
    CriticalityResult,
    load_defaults,
)
from critmin.metrics.criticality.eu import EUParams, eu_crm, eu_economic_importance, eu_supply_risk
from critmin.metrics.criticality.usgs import USGSParams, usgs_2022, usgs_supply_risk


# ---------------------------------------------------------------------------------- dispatch
def criticality(method: str | CriticalityMethod = "eu", **kw: Any) -> CriticalityResult:
    """Run a criticality method: ``"eu"`` (:func:`eu_crm`) or ``"usgs"`` (:func:`usgs_2022`).

    Keyword arguments go to the method (``ds``, ``year``, ``params``, ``commodities``).
    """
    try:
        m = CriticalityMethod(str(method).strip().lower())
    except ValueError:
        raise DataError(
            f"unknown criticality method {method!r}",
            column="method",
            fix=f"use one of {', '.join(x.value for x in CriticalityMethod)}",
        ) from None
    if m is CriticalityMethod.EU:
        return eu_crm(**kw)
    return usgs_2022(**kw)


__all__ = [
    "STATUS_INSUFFICIENT",
    "STATUS_OK",
    "CriticalityMethod",
    "CriticalityResult",
    "EUParams",
    "USGSParams",
    "criticality",
    "eu_crm",
    "eu_economic_importance",
    "eu_supply_risk",
    "load_defaults",
    "usgs_2022",
    "usgs_supply_risk",
]
