"""Stage-by-stage concentration (a thin view of :func:`critmin.metrics.exposure.exposure`)."""

from __future__ import annotations

import pandas as pd

from critmin.data.dataset import Dataset
from critmin.metrics.exposure import exposure


def stage_concentration(ds: Dataset, commodity: str, year: int | None = None) -> pd.DataFrame:
    """One row per stage with data: basis, top-1/top-3 share, HHI, HHI_WGI, N-1, sources."""
    return exposure(commodity, year, dataset=ds).stages
