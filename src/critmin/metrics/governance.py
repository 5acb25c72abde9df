"""World Bank governance scores rescaled for the EU criticality method."""

from __future__ import annotations

import pandas as pd

from critmin.data.dataset import Dataset
from critmin.errors import DataError

INDICATORS = ("va", "pv", "ge", "rq", "rl", "cc")


def wgi_scaled(ds: Dataset, year: int | None = None) -> pd.Series:
    """WGI average of the six indicators per ISO3 country, rescaled to 0-10 (10 = worst).

    WGI_scaled = 5 - 2 * mean(estimate), mapping the estimate range [-2.5, 2.5] onto [10, 0]
    and clipped to [0, 10]. A country needs all six indicators. Source: Blengini et al. (2017),
    EUR 28654, section 3.1 ("WGI ... rescaled 0-10, the higher the worse").
    """
    w = ds.table("wgi")
    if year is None:
        year = int(w["year"].max())
    w = w.loc[w["year"] == year]
    if w.empty:
        raise DataError(
            f"no WGI scores for {year}", fix=f"use one of {sorted(ds.table('wgi')['year'].unique())}"
        )
    wide = w.pivot_table(index="country", columns="indicator", values="estimate", aggfunc="mean")
    wide = wide.dropna(subset=[c for c in INDICATORS if c in wide.columns])
    scaled = (5.0 - 2.0 * wide[list(INDICATORS)].mean(axis=1)).clip(0.0, 10.0)
    scaled.name = "wgi_scaled"
    return scaled
