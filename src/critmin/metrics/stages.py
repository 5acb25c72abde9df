"""Stage-by-stage concentration of a commodity, from tonnage tables or published shares.

For each stage in the commodity's chain: where a production table exists (USGS, BGS) shares
are computed from tonnages against the world total; otherwise the published stage shares
(IEA, industry statements) are used, and failing those a labelled assumption. Each result row
says which (``basis_kind``) and cites its sources.
"""

from __future__ import annotations

import pandas as pd

from critmin.data.dataset import Dataset
from critmin.metrics.concentration import hhi, n_to_reach, top_share
from critmin.model.commodities import registry
from critmin.model.countries import is_country

COLUMNS = [
    "stage",
    "year",
    "basis_kind",
    "top1_country",
    "top1_share",
    "top3_share",
    "hhi",
    "n_to_80pct",
    "n_countries",
    "world_total",
    "unit",
    "source_ids",
]


def _row(
    stage: str, year: int, kind: str, shares: pd.DataFrame, total: float | None, unit: str | None
) -> dict[str, object]:
    countries = shares.loc[shares["country"].map(is_country) & shares["share"].notna()]
    countries = countries.sort_values("share", ascending=False)
    s = countries["share"].to_numpy()
    return {
        "stage": stage,
        "year": year,
        "basis_kind": kind,
        "top1_country": countries["country"].iloc[0] if len(countries) else None,
        "top1_share": float(s[0]) if len(s) else None,
        "top3_share": top_share(s, 3) if len(s) else None,
        "hhi": hhi(s) if len(s) else None,
        "n_to_80pct": n_to_reach(s, 0.8) if len(s) else None,
        "n_countries": len(countries),
        "world_total": total,
        "unit": unit,
        "source_ids": sorted(set(shares["source_id"])),
    }


def stage_concentration(ds: Dataset, commodity: str, year: int | None = None) -> pd.DataFrame:
    """One row per stage with data: top-1/top-3 share, HHI (0-10,000), countries to 80%.

    ``year=None`` takes the latest year with data at each stage.
    """
    c = registry().get(commodity)
    rows: list[dict[str, object]] = []
    for stage in c.stages:
        y = year if year is not None else ds.latest_year(c.id, stage)
        if y is not None:
            sh = ds.shares(c.id, stage, y)
            if len(sh) and sh["share"].notna().any():
                world = ds.production(c.id, stage, y)
                w = world.loc[world["country"] == "WLD", "value"]
                total = float(w.iloc[0]) if len(w) else float(sh["value"].sum())
                rows.append(_row(stage.value, y, "tonnage", sh, total, c.unit))
                continue
        pub = ds.stage_shares(c.id, stage, year)
        if len(pub):
            kind = "assumption" if pub["is_assumption"].all() else "published share"
            rows.append(_row(stage.value, int(pub["year"].iloc[0]), kind, pub, None, None))
    return pd.DataFrame(rows, columns=COLUMNS)


def import_reliance(ds: Dataset, commodity: str, importer: str = "USA") -> pd.DataFrame:
    """Published net import reliance rows for ``importer``, newest year (and vintage) first."""
    c = registry().get(commodity)
    t = ds.table("import_reliance")
    t = t.loc[(t["commodity"] == c.id) & (t["importer"] == importer)]
    return t.sort_values(["year", "vintage"], ascending=False).reset_index(drop=True)
