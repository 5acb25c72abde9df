"""Exposure: stage-by-stage concentration, governance-weighted risk and import reliance.

:func:`exposure` answers "how exposed is an importer to one commodity, at which stage, to
whom?" for one commodity; :func:`concentration_table` computes the same concentration metrics
for every commodity x stage x year x measure of the production table at once (vectorised).

Per stage, shares come from tonnage tables where a world table exists (USGS, BGS), else from
the best published share set (IEA, industry statements), else from a labelled assumption; the
``basis_kind`` column says which. Residual rows ("Other countries", rest of world) count in
the world total but never as one country in any index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from critmin._version import __version__
from critmin.data.dataset import SECTION_KEY, Dataset, with_shares
from critmin.errors import DataError
from critmin.jsonsafe import json_safe
from critmin.metrics.concentration import hhi, n_minus_1_coverage, n_to_reach, top_share
from critmin.metrics.governance import wgi_scaled
from critmin.metrics.reliance import NIRFigure, best_nir
from critmin.model.commodities import registry
from critmin.model.countries import WORLD, country_name, is_country
from critmin.model.stages import Stage

#: EU Critical Raw Materials Act (Regulation (EU) 2024/1252, Art. 5(1)(d)): no more than 65% of
#: annual consumption of a strategic raw material from a single third country at any stage.
CRMA_BENCHMARK = 0.65
DOMINANCE = 0.5

STAGE_COLUMNS = [
    "stage",
    "year",
    "basis_kind",
    "hhi",
    "hhi_wgi",
    "top1_country",
    "top1_share",
    "top3_share",
    "n_to_80pct",
    "n_minus_1_coverage",
    "n_countries",
    "world_total",
    "unit",
    "over_50pct",
    "over_crma_65pct",
    "missing_wgi",
    "source_ids",
]


@dataclass(frozen=True)
class StageGap:
    """Why a stage of a commodity has no country shares (see :func:`stage_gap`).

    ``reason`` says what the bundled tables hold instead (``"the bundled production table
    covers 2018-2024 for it"``); ``try_year`` is the nearest year that has shares, if any.
    """

    stage: str
    reason: str
    try_year: int | None = None

    def describe(self, commodity: str, year: int | None = None) -> str:
        """One line: ``no mining data for germanium in 1990: <reason>; try --year 2023``."""
        when = f" in {year}" if year is not None else ""
        tail = f"; try --year {self.try_year}" if self.try_year is not None else ""
        return f"no {self.stage} data for {commodity}{when}: {self.reason}{tail}"


@dataclass(frozen=True)
class ExposureReport:
    """Result of :func:`exposure`: one row per stage plus import reliance and provenance.

    ``stages`` is a tidy DataFrame (columns :data:`STAGE_COLUMNS`, shares as fractions);
    ``shares`` the country rows behind each stage; ``chokepoint`` the stage with the highest
    HHI; ``nir`` the importer's net import reliance (computed from salient statistics where
    possible, else as published with its bound); ``gaps`` the stages of the chain left out, each
    with the reason (:class:`StageGap`).
    """

    commodity: str
    year: int | None
    importer: str
    data_version: str
    stages: pd.DataFrame
    shares: pd.DataFrame
    nir: NIRFigure | None
    chokepoint: str | None
    sources: Mapping[str, str] = field(default_factory=dict)
    package_version: str = __version__
    gaps: tuple[StageGap, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing was computed: no stage has shares and there is no NIR figure."""
        return self.stages.empty and self.nir is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the ``critmin exposure --format json`` document)."""
        stages = json_safe(self.stages.to_dict(orient="records"))
        return {
            "commodity": self.commodity,
            "year": self.year,
            "importer": self.importer,
            "data_version": self.data_version,
            "critmin_version": self.package_version,
            "chokepoint": self.chokepoint,
            "stages": stages,
            "net_import_reliance": self.nir.to_dict() if self.nir else None,
            "missing_stages": [
                {"stage": g.stage, "reason": g.reason, "try_year": g.try_year} for g in self.gaps
            ],
            "sources": dict(self.sources),
        }


def _stage_row(
    stage: str,
    year: int,
    kind: str,
    rows: pd.DataFrame,
    wgi: pd.Series,
    total: float | None,
    unit: str | None,
) -> dict[str, Any]:
    picked = rows.loc[rows["country"].map(is_country) & (rows["share"] > 0)]
    # One country can have several rows (USGS helium: two US series): one share per country.
    countries = picked.groupby("country", as_index=False).agg(share=("share", "sum"))
    countries = countries.sort_values("share", ascending=False)
    s = countries["share"].to_numpy(dtype=float)
    have = countries["country"].isin(wgi.index).to_numpy()
    missing = sorted(countries.loc[~have, "country"])
    hw = (
        float(np.sum(s[have] ** 2 * wgi.reindex(countries["country"][have]).to_numpy())) if len(s) else np.nan
    )
    top1 = float(s[0]) if len(s) else np.nan
    return {
        "stage": stage,
        "year": int(year),
        "basis_kind": kind,
        "hhi": hhi(s) if len(s) else np.nan,
        "hhi_wgi": hw,
        "top1_country": str(countries["country"].iloc[0]) if len(s) else None,
        "top1_share": top1,
        "top3_share": top_share(s, 3) if len(s) else np.nan,
        "n_to_80pct": n_to_reach(s, 0.8) if len(s) else None,
        "n_minus_1_coverage": n_minus_1_coverage(s) if len(s) else np.nan,
        "n_countries": len(s),
        "world_total": total,
        "unit": unit,
        "over_50pct": bool(top1 > DOMINANCE) if len(s) else False,
        "over_crma_65pct": bool(top1 > CRMA_BENCHMARK) if len(s) else False,
        "missing_wgi": missing,
        "source_ids": sorted(set(rows["source_id"])),
    }


@dataclass(frozen=True)
class StageShares:
    """Country shares of one stage, as exposure resolves them.

    ``rows`` has ``country`` (ISO3 or an aggregate code), ``share`` (fraction of the world),
    ``value`` and ``unit`` (tonnage stages only, else NaN / None), ``qualifier`` and
    ``source_id``. ``basis_kind`` is ``tonnage``, ``published share`` or ``assumption``.
    """

    stage: str
    year: int
    basis_kind: str
    rows: pd.DataFrame

    @property
    def source_ids(self) -> list[str]:
        """Sorted source ids of the rows."""
        return sorted(set(self.rows["source_id"].astype(str)))


def shares_at_stage(
    ds: Dataset, commodity: str, stage: Stage | str, year: int | None = None
) -> StageShares | None:
    """Country shares at one stage: from the production table, else published shares.

    With a production table whose world total gives shares, those computed shares
    (``year=None``: the latest year with data); otherwise the best published set of
    :meth:`Dataset.stage_shares` (an assumption where nothing is published). ``None`` where
    the stage has no shares at all.
    """
    c = registry().get(commodity)
    st = Stage(stage)
    if not c.has_stage(st):
        raise DataError(
            f"commodity {c.id!r} has no stage {st.value!r}",
            column="stage",
            fix=f"use one of {', '.join(s.value for s in c.stages)}",
        )
    y = year if year is not None else ds.latest_year(c.id, st)
    if y is not None:
        sh = ds.shares(c.id, st, y)
        if len(sh) and sh["share"].notna().any():
            rows = sh.loc[
                sh["country"] != WORLD, ["country", "share", "value", "unit", "qualifier", "source_id"]
            ]
            return StageShares(st.value, int(y), "tonnage", rows.reset_index(drop=True))
    pub = ds.stage_shares(c.id, st, year)
    if len(pub):
        kind = "assumption" if bool(pub["is_assumption"].all()) else "published share"
        rows = pub.loc[pub["country"] != WORLD, ["country", "share", "qualifier", "source_id"]].assign(
            value=np.nan, unit=None
        )
        return StageShares(st.value, int(pub["year"].iloc[0]), kind, rows.reset_index(drop=True))
    return None


def exposure(
    commodity: str,
    year: int | None = None,
    importer: str = "USA",
    *,
    dataset: Dataset | None = None,
) -> ExposureReport:
    """Exposure of ``importer`` to ``commodity``, stage by stage.

    For each stage in the commodity's chain (``year`` or, if None, the latest year with data
    at that stage): HHI (0-10,000), governance-weighted HHI_WGI = sum_c s_c^2 * WGI_c (WGI
    rescaled 0-10, 10 = worst; Blengini et al. 2017, EUR 28654), top-1 and top-3 shares, the
    number of countries to reach 80%, IEA N-1 coverage (1 - largest share), and whether one
    country holds more than 50% or more than the EU CRMA 65% benchmark. The chokepoint is the
    stage with the highest HHI. Net import reliance as in :func:`critmin.metrics.reliance.best_nir`.
    """
    from critmin.data.load import load_dataset

    ds = dataset if dataset is not None else load_dataset()
    c = registry().get(commodity)
    wgi = wgi_scaled(ds)
    rows: list[dict[str, Any]] = []
    share_rows: list[pd.DataFrame] = []
    gaps: list[StageGap] = []
    for stage in c.stages:
        got = shares_at_stage(ds, c.id, stage, year)
        if got is None:
            gaps.append(stage_gap(ds, c.id, stage, year))
            continue
        total = unit = None
        if got.basis_kind == "tonnage":
            prod = ds.production(c.id, stage, got.year)
            w = prod.loc[prod["country"] == WORLD, "value"]
            s = got.rows["share"].sum()
            total = float(w.iloc[0]) if len(w) else (float(got.rows["value"].sum() / s) if s > 0 else None)
            unit = c.unit
        rows.append(_stage_row(stage.value, got.year, got.basis_kind, got.rows, wgi, total, unit))
        share_rows.append(got.rows.assign(stage=stage.value, year=got.year, basis_kind=got.basis_kind))
    stages = pd.DataFrame(rows, columns=STAGE_COLUMNS)
    stages["n_to_80pct"] = stages["n_to_80pct"].astype("Int64")
    shares = pd.concat(share_rows, ignore_index=True) if share_rows else pd.DataFrame()
    if len(shares):
        shares = shares.assign(country_name=shares["country"].map(country_name))
    nir = best_nir(ds, c.id, importer, year)
    choke = None
    if len(stages) and stages["hhi"].notna().any():
        choke = str(stages["stage"].iloc[int(stages["hhi"].to_numpy(dtype=float).argmax())])
    used = {sid for ids in stages["source_ids"] for sid in ids} | ({nir.source_id} if nir else set())
    used |= set(ds.table("wgi")["source_id"].unique())
    sources = {sid: _cite(ds, sid) for sid in sorted(used)}
    report_year = year if year is not None else (int(stages["year"].max()) if len(stages) else None)
    return ExposureReport(
        c.id, report_year, importer, ds.version, stages, shares, nir, choke, sources, gaps=tuple(gaps)
    )


#: Stages for which no bundled table gives country shares (end-use *demand* shares are in
#: the ``end_uses`` table, which says what a commodity is used for, not who supplies it).
_NO_SHARE_TABLE = frozenset({Stage.COMPONENT.value, Stage.END_USE.value})
_NO_SHARE_TEXT = (
    "no bundled table gives country shares of component making or end use (demand by end use: "
    "`critmin data show end_uses`)"
)


def stage_gap(ds: Dataset, commodity: str, stage: Stage | str, year: int | None = None) -> StageGap:
    """Why :func:`shares_at_stage` finds nothing at ``stage`` (and ``year``), from the data.

    Looks at what the bundled tables do hold: the years of the production table (with and
    without figures: USGS withholds some, e.g. germanium refinery output), lone-country
    figures that define no world share, and the years of published share sets. ``try_year``
    is the nearest year (the later one on a tie) at which :func:`shares_at_stage` succeeds.
    """
    c = registry().get(commodity)
    st = Stage(stage)
    prod = ds.production(c.id, st, None, "production")
    prod = prod.loc[prod["country"] != WORLD].assign(year=lambda f: f["year"].astype(int))
    valued = prod.loc[prod["value"].notna()]
    pub = ds.rows("stage_shares", c.id)
    pub = pub.loc[(pub["stage"] == st.value) & ~pub["is_projection"].astype(bool)]
    pub_years = sorted({int(y) for y in pub["year"]})
    val_years = sorted(set(valued["year"]))
    parts: list[str] = []
    if val_years:
        parts.append(f"the bundled production table covers {_span(val_years)} for it")
    elif len(prod):
        quals = " or ".join(
            f"'{q}'" for q in sorted({str(q).replace("_", " ") for q in prod["qualifier"].dropna()})
        )
        parts.append(
            f"the bundled production table has rows for {_span(sorted(set(prod['year'])))} but no "
            f"figures: the source prints {quals or 'blank cells'}"
        )
    if pub_years:
        parts.append(f"published shares cover {_span(pub_years)}")
    if year is None and val_years and not pub_years:
        lone = valued.groupby("year")["country"].nunique()
        if bool((lone <= 1).all()):
            who = ", ".join(sorted(set(valued["country"])))
            parts = [f"the bundled production table has one country's figure only ({who}): no world share"]
    if not parts:
        parts.append(
            _NO_SHARE_TEXT
            if st.value in _NO_SHARE_TABLE
            else "no production table and no published shares are bundled"
        )
    try_year = None
    if year is not None:
        for y in sorted(set(val_years) | set(pub_years), key=lambda y: (abs(y - year), -y)):
            if y != year and shares_at_stage(ds, c.id, st, y) is not None:
                try_year = y
                break
    return StageGap(st.value, "; ".join(parts), try_year)


def _span(years: list[int]) -> str:
    return str(years[0]) if years[0] == years[-1] else f"{years[0]}-{years[-1]}"


def _cite(ds: Dataset, sid: str) -> str:
    s = ds.source(sid)
    ref = f"doi:{s.doi}" if s.doi else (s.url or "critmin assumption")
    return f"{s.publisher}, {s.title} ({s.year or 'n.d.'}), {ref}"


def concentration_table(
    ds: Dataset,
    measure: str = "production",
    *,
    wgi: pd.Series | None = None,
    rows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """HHI, HHI_WGI, top-1/top-3, countries to 80% and N-1 for every cross-section at once.

    One row per commodity x stage x measure x year of the resolved production table (one
    source per section; shares from :func:`critmin.data.dataset.with_shares`). Vectorised
    with pandas group-bys: no Python loop over sections. Same definitions as :func:`exposure`.
    ``rows`` may pass precomputed ``with_shares(ds.resolved(measure))`` (benchmarks do).
    """
    if rows is None:
        rows = with_shares(ds.resolved(measure))
    codes = rows["country"].unique()
    country_mask = rows["country"].map(dict(zip(codes, [is_country(c) for c in codes], strict=True)))
    rows = rows.loc[country_mask & rows["share"].notna() & (rows["share"] > 0)]
    # One share per country (a country may have several series rows, e.g. USGS helium).
    rows = rows.groupby([*SECTION_KEY, "country"], as_index=False, sort=False).agg(
        share=("share", "sum"), source_id=("source_id", "first")
    )
    w = wgi if wgi is not None else wgi_scaled(ds)
    rows = rows.sort_values([*SECTION_KEY, "share"], ascending=[True] * len(SECTION_KEY) + [False])
    g = rows.groupby(SECTION_KEY, sort=False)
    rank = g.cumcount() + 1
    cum = g["share"].cumsum()
    sq = rows["share"] ** 2
    wv = rows["country"].map(w)
    frame = pd.DataFrame(
        {
            "hhi": (sq * 1e4).groupby([rows[k] for k in SECTION_KEY], sort=False).sum(),
        }
    )
    keys = [rows[k] for k in SECTION_KEY]
    frame["hhi_wgi"] = (sq * wv).groupby(keys, sort=False).sum(min_count=1)
    frame["top1_share"] = g["share"].max()
    frame["top1_country"] = g["country"].first()
    frame["top3_share"] = rows["share"].where(rank <= 3).groupby(keys, sort=False).sum()
    hit = rank.where(cum >= 0.8 - 1e-12)
    frame["n_to_80pct"] = hit.groupby(keys, sort=False).min().astype("Int64")
    frame["n_minus_1_coverage"] = (1.0 - frame["top1_share"]).clip(0.0, 1.0)
    frame["n_countries"] = g["share"].size()
    frame["missing_wgi"] = wv.isna().groupby(keys, sort=False).sum()
    frame["source_id"] = g["source_id"].first()
    return frame.reset_index()
