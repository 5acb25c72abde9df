"""The ex-China rare-earth plants, country by country: base capacity and pipeline additions.

The bundled ``projects`` table (transcribed rows plus the hand-curated, cited rows of
``data/build/curated/ree_plants_ex_china.csv``) lists plants outside China at the mining,
separation, metal/alloy and magnet stages. :func:`plant_table` classifies each row:

* ``base``: operating and started by the base year (2024): its capacity is part of the base-year
  stage shares (:func:`residual_shares`, :func:`reconciled_shares`);
* ``pipeline``: every other row with a capacity (planned, under construction, or operating
  from a later year: Solvay La Rochelle 2025-04, Neo Narva 2025-09, MP Independence 2025, JS
  Link Yesan 2025): an addition from its start year (:func:`pipeline`);
* ``excluded``: suspended or cancelled plants (Showa Denko's Vietnam alloy plant, 2012),
  Dy + Tb separation (the heavy feed, :mod:`~critmin.simulate.chains.heavy`),
  SmCo magnets (not NdFeB), or a row without capacity whose company has a cited capacity row
  at the same stage and country (e.g. LCM's metal row), so nothing is counted twice.

A few operating rows publish no capacity; :data:`GAP_FILL` gives them labelled assumptions
(``assumption:sim-plant-capacity-gap-fill``) so that no operating plant is lost.

**Stage shares.** Mining and separation keep their published country shares (USGS tonnage; IEA
magnet-REE output): a base plant in a named country is inside that country's share. The share
the source leaves to "rest of world" is split over the base plants in countries it does not
name, in proportion to capacity (:func:`residual_shares`): IEA's 3% ROW separation becomes
Estonia (NPM Silmet), India (IREL) and Vietnam (Shin-Etsu). For metal/alloy and magnets the
sources name only China, so the shares are reconciled from volumes (:func:`reconciled_shares`):

    share[CHN] = Q_CHN / (Q_CHN + sum_p cap_p),   share[c] = sum_{p in c} cap_p / (Q_CHN + sum_p cap_p)

with Q_CHN China's 2024 output (300,000 t of NdFeB, Argus) and cap_p the base capacity of
plant p outside China (published output where that is what the source prints). Chinese alloy
making is taken equal to China's magnet output (its makers cast their own strip:
``assumption:sim-plant-in-house-alloy``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from critmin.data.dataset import Dataset
from critmin.model.countries import REST_OF_WORLD
from critmin.simulate.chains.heavy import is_heavy_project

STAGES: tuple[str, ...] = ("mining", "separation", "metal_alloy", "magnet")
BASE_YEAR = 2024
#: China's 2024 NdFeB output (t), the reconciliation anchor for the metal and magnet stages.
CHINA_MAGNET_T_2024 = 300_000.0
CHINA_MAGNET_SOURCE = "web:argus-media-e-saklatvala-via-min:0e0630e2"
GAP_FILL_ASSUMPTION = "assumption:sim-plant-capacity-gap-fill"
IN_HOUSE_ALLOY_ASSUMPTION = "assumption:sim-plant-in-house-alloy"
#: Operating rows with no published capacity: (t/yr in the stage's unit, why).
GAP_FILL: dict[str, tuple[float, str]] = {
    "Baotou INST Magnetic Vietnam plant": (
        500.0,
        "Vietnam made ~1% of world magnets (Adamas via US DoE, 2023), nearly all of it Shin-Etsu's "
        "2,200 t/yr; a leased plant opened Sep 2023: 500 t/yr",
    ),
    "Independence facility (Fort Worth, Texas) - metal": (
        1000.0,
        "NdPr metal and NdFeB alloy for the ~1,000 t/yr magnet line on the same site",
    ),
    "Vietnam Rare Earth Company (VTRE) separation and metal plant": (
        1000.0,
        "Vietnam mined 4,300 t REO in 2022 (row note); its one separator is taken at 1,000 t/yr",
    ),
}
_SMCO = re.compile(r"\bSmCo\b|samarium", re.I)


def _classify(row: pd.Series, covered: set[tuple[str, str, str]]) -> tuple[str, str]:
    """(role, reason) of one projects-table row (see the module docstring)."""
    if is_heavy_project(str(row["stage"]), row["product"]):
        return "excluded", "Dy + Tb separation: the heavy rare-earth feed (chains/heavy.py)"
    if _SMCO.search(str(row["product"])):
        return "excluded", "SmCo magnets: not NdFeB"
    if not np.isfinite(row["capacity_t_yr"]):
        if (row["company_key"], row["country"], row["stage"]) in covered:
            return "excluded", "no capacity; the company's cited row at this stage carries it"
        return "excluded", "no capacity published"
    status = str(row["status"] or "").lower()
    if re.search(r"suspend|closed|cancel", status):
        return "excluded", f"{status}: no capacity in the base or the pipeline"
    started = np.isnan(row["start_year"]) or row["start_year"] <= BASE_YEAR
    if "operating" in status and started:
        return "base", "operating in the base year"
    return "pipeline", "starts after the base year" if "operating" in status else "not yet operating"


def _company_key(company: object) -> str:
    words = re.findall(r"[a-z]+", str(company).lower())
    return words[0] if words else ""


def plant_table(ds: Dataset) -> pd.DataFrame:
    """Ex-China rows of the projects table at the four chain stages, with role and capacity.

    Columns: project, company, country, stage, product, status, start_year, capacity_t_yr
    (published, or :data:`GAP_FILL`), capacity_unit, gap_filled, role (base, pipeline,
    excluded), reason, source_id.
    """
    p = ds.table("projects")
    p = p.loc[p["stage"].isin(STAGES) & (p["country"] != "CHN")].copy()
    cap = p["capacity"].astype(float).to_numpy()
    filled = np.array(
        [name in GAP_FILL and not np.isfinite(c) for name, c in zip(p["project"], cap, strict=True)]
    )
    cap = np.where(filled, [GAP_FILL.get(n, (np.nan, ""))[0] for n in p["project"]], cap)
    out = pd.DataFrame(
        {
            "project": p["project"].to_numpy(),
            "company": p["company"].to_numpy(),
            "company_key": [_company_key(c) for c in p["company"]],
            "country": p["country"].to_numpy(),
            "stage": p["stage"].to_numpy(),
            "product": p["product"].to_numpy(),
            "status": p["status"].fillna("").to_numpy(),
            "start_year": p["start_year"].astype(float).to_numpy(),
            "capacity_t_yr": cap,
            "capacity_unit": p["capacity_unit"].to_numpy(),
            "gap_filled": filled,
            "source_id": p["source_id"].to_numpy(),
        }
    )
    has_cap = out.loc[np.isfinite(out["capacity_t_yr"])]
    covered = set(zip(has_cap["company_key"], has_cap["country"], has_cap["stage"], strict=True))
    roles = [_classify(r, covered) for _, r in out.iterrows()]
    out["role"] = [r for r, _ in roles]
    out["reason"] = [why for _, why in roles]
    return out.drop(columns="company_key").reset_index(drop=True)


def base_capacity(plants: pd.DataFrame, stage: str) -> pd.Series:
    """Base-year capacity (t/yr) by country at ``stage``."""
    b = plants.loc[(plants["role"] == "base") & (plants["stage"] == stage)]
    return b.groupby("country")["capacity_t_yr"].sum().sort_index()


def residual_shares(published: pd.Series, base: pd.Series) -> pd.Series:
    """Split the published ``ROW`` share over base plants in countries the source does not name.

    ``published``: country -> share (sums to 1, residual as ``ROW``); ``base``: country ->
    capacity. The countries named keep their share; ROW's share s_ROW goes to each unnamed
    country c with base capacity in proportion: s_c = s_ROW cap_c / sum cap. With no such
    plant ROW keeps its share. Example: published {CHN 0.9, ROW 0.1}, base {EST 3, IND 1}
    -> {CHN 0.9, EST 0.075, IND 0.025}.
    """
    s = published.astype(float).copy()
    row_share = float(s.get(REST_OF_WORLD, 0.0))
    unnamed = base.loc[[c for c in base.index if c not in s.index or c == REST_OF_WORLD]]
    unnamed = unnamed.loc[unnamed > 0]
    if row_share <= 0 or unnamed.empty:
        return s
    s = s.drop(REST_OF_WORLD)
    add = row_share * unnamed / float(unnamed.sum())
    return s.add(add, fill_value=0.0).sort_index()


def reconciled_shares(china_t: float, base: pd.Series) -> pd.Series:
    """Stage shares from volumes: China's output and the base capacity outside China.

    share[CHN] = Q / (Q + sum cap), share[c] = cap_c / (Q + sum cap). Example: Q = 90,
    base {JPN 6, USA 4} -> {CHN 0.9, JPN 0.06, USA 0.04}.
    """
    b = base.loc[base > 0].astype(float)
    total = china_t + float(b.sum())
    return pd.concat([pd.Series({"CHN": china_t / total}), b / total]).sort_index()


def world_magnet_t(plants: pd.DataFrame, china_t: float = CHINA_MAGNET_T_2024) -> float:
    """World NdFeB output (t/yr) of the reconciliation: China's plus the base capacity outside."""
    return china_t + float(base_capacity(plants, "magnet").sum())


def pipeline(
    plants: pd.DataFrame, regions: tuple[str, ...], region_of: Callable[[str, tuple[str, ...]], str]
) -> pd.DataFrame:
    """Pipeline rows as the engine's project frame: stage index, region, t/month, start year.

    A missing start year defaults to 2028; ``region_of`` maps a country to its model region.
    """
    p = plants.loc[plants["role"] == "pipeline"]
    return pd.DataFrame(
        {
            "project": p["project"].to_numpy(),
            "stage": p["stage"].map({st: k for k, st in enumerate(STAGES)}).to_numpy(dtype=int),
            "region": [regions.index(region_of(str(c), regions)) for c in p["country"]],
            "capacity_t_month": p["capacity_t_yr"].to_numpy(dtype=float) / 12.0,
            "start_year": p["start_year"].fillna(2028).to_numpy(dtype=float),
            "source_id": p["source_id"].to_numpy(),
        }
    ).reset_index(drop=True)


def sources_of(plants: pd.DataFrame, roles: Iterable[str] = ("base", "pipeline")) -> set[str]:
    """Source ids of the plants with these roles."""
    return set(plants.loc[plants["role"].isin(list(roles)), "source_id"])
