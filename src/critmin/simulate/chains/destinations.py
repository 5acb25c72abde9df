"""Destination weights of China's magnet exports, from customs partner rows.

The rows (``data/build/curated/china_magnet_export_partners.csv``) are China customs
(HS 8505.11) exports by partner as printed in the press, or 2024 months derived from a printed
2025 month and its printed year-on-year change: ``t_2024 = t_2025 / (1 + yoy)``. For each
partner p with 2024 rows, its share is the mean over those months m of

    w_p = mean_m ( t[p, m] / t[World, m] )

The EU27 share is Germany's 2024 share times the EU27/Germany ratio of the one month with an
EU27 row (July 2025: 2,140 / 1,116 t). Malaysia, Brazil and Australia have no partner row;
they keep the earlier weights (``assumption:sim-magnet-export-destinations-minor``) and ROW
takes the rest. Check against the one 2024 aggregate printed: Germany + Korea + US were 42% of
January-July 2024 exports (Metalnomist); these weights give 42.8%.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from critmin.data.catalogue import web_source_id

PARTNERS_CSV = (
    Path(__file__).resolve().parents[2] / "data" / "build" / "curated" / "china_magnet_export_partners.csv"
)
#: Partners with no customs row: shares of China's exports kept from the earlier assumption.
MINOR_WEIGHTS: dict[str, float] = {"MYS": 0.02, "BRA": 0.03, "AUS": 0.01, "MMR": 0.0}
MINOR_ASSUMPTION = "assumption:sim-magnet-export-destinations-minor"
BASE_YEAR = "2024"


@dataclass(frozen=True, kw_only=True)
class DestinationTable:
    """Shares of China's magnet exports by destination region (sum to 1) and their provenance."""

    weights: dict[str, float]
    months: dict[str, tuple[str, ...]]
    source_ids: tuple[str, ...]
    assumption_ids: tuple[str, ...]

    @property
    def us_share(self) -> float:
        """The US share (the default mode of ``trade.us_share_of_china_magnet_exports``)."""
        return self.weights["USA"]


def read_partner_rows(path: Path = PARTNERS_CSV) -> pd.DataFrame:
    """The partner rows with a ``source_id`` column (the id the dataset build gives each URL)."""
    rows = pd.read_csv(path, dtype={"month": str, "partner": str})
    first_url = rows["source_url"].str.split(r"\s+;\s+", regex=True).str[0].str.strip()
    rows["source_id"] = [
        web_source_id(pub.strip(), url) for pub, url in zip(rows["source_publisher"], first_url, strict=True)
    ]
    return rows


def destination_weights(rows: pd.DataFrame, base_year: str = BASE_YEAR) -> DestinationTable:
    """Destination shares from partner rows (see the module docstring for the formula)."""
    year = rows.loc[rows["month"].str.startswith(base_year)]
    world = year.loc[year["partner"] == "World"].set_index("month")["value_t"].astype(float)
    parts = year.loc[year["partner"] != "World"]
    shares: dict[str, float] = {}
    months: dict[str, tuple[str, ...]] = {}
    for partner, g in parts.groupby("partner"):
        g = g.loc[g["month"].isin(world.index)]
        shares[str(partner)] = float(
            (g["value_t"].astype(float).to_numpy() / world.loc[g["month"]].to_numpy()).mean()
        )
        months[str(partner)] = tuple(g["month"])
    later = rows.loc[~rows["month"].str.startswith(base_year)].pivot_table(
        index="month", columns="partner", values="value_t", aggfunc="first"
    )
    both = later.dropna(subset=["EU27", "DEU"]) if {"EU27", "DEU"} <= set(later.columns) else later.iloc[0:0]
    used = set(parts["source_id"]) | set(year.loc[year["partner"] == "World", "source_id"])
    if "DEU" in shares and len(both):
        ratio = float((both["EU27"] / both["DEU"]).mean())
        shares["EU27"] = shares.pop("DEU") * ratio
        months["EU27"] = months.pop("DEU") + tuple(f"EU27/DEU {m}" for m in both.index)
        used |= set(rows.loc[rows["month"].isin(both.index), "source_id"])
    w = {**shares, **{k: v for k, v in MINOR_WEIGHTS.items() if k not in shares}}
    w["ROW"] = 1.0 - sum(w.values())
    if w["ROW"] < 0:
        raise ValueError(f"partner shares sum to {1 - w['ROW']:.3f} > 1")
    return DestinationTable(
        weights=w, months=months, source_ids=tuple(sorted(used)), assumption_ids=(MINOR_ASSUMPTION,)
    )


@cache
def bundled_destinations() -> DestinationTable:
    """The destination table from the bundled partner rows."""
    return destination_weights(read_partner_rows())
