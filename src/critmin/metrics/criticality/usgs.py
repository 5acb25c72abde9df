"""USGS 2022 critical-minerals supply-risk method (Nassar & Fortier 2021, USGS OFR 2021-1045).

Supply risk (0-1, dimensionless)::

    score = DP x TE x EV

* DP, disruption potential (0-1): likelihood of a foreign supply disruption, from production
  concentration and producers' governance. Here DP = sum_c s_c^2 x WGI_c / 10 with s_c the
  country's share (fraction) of world production at the assessed stage and WGI_c the scaled WGI
  (0-10, 10 worst; :func:`critmin.metrics.governance.wgi_scaled`), so DP = 1 for one producer
  with the worst governance.
* TE, trade exposure (0-1): US net import reliance from the bundled ``import_reliance`` table
  (">95" kept as 0.95 and flagged ``gt``; net exporter -> 0).
* EV, economic vulnerability (0-1): price-change based in the USGS method; not derivable from
  the bundled data, so a parameter (default 1.0, flagged assumed).

Deviations from Nassar & Fortier (2021), also listed in ``criticality_defaults.yaml``
(``usgs.deviations``): one year of production rather than their multi-year, recency-weighted
series; DP as the linear WGI-weighted HHI above (their exact transformation of governance and
concentration could not be checked against the report here); TE without their adjustment for
the import-source mix; EV a parameter. Scores are therefore comparable with each other (the
ranking) more than with the USGS 0.40 threshold, which is reported in ``params`` only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from critmin.data.dataset import Dataset
from critmin.metrics.criticality.common import (
    BASIS_DATA,
    BASIS_DEFAULT,
    BASIS_USER,
    STATUS_INSUFFICIENT,
    STATUS_OK,
    CriticalityMethod,
    CriticalityResult,
    SupplyIndex,
    assumed_from_basis,
    concentration_columns,
    default_commodities,
    defaults_source_id,
    governance,
    load_defaults,
    stage_inputs,
    supply_cross_section,
    wgi_source_ids,
)
from critmin.metrics.governance import wgi_scaled
from critmin.model.commodities import registry
from critmin.model.stages import Stage

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


def usgs_supply_risk(dp: float, te: float, ev: float) -> float:
    """USGS supply risk = DP x TE x EV (Nassar & Fortier 2021, USGS OFR 2021-1045).

    Each factor is a 0-1 score: disruption potential, trade exposure (US net import reliance)
    and economic vulnerability. Nothing is rounded.
    """
    for name, v in (("dp", dp), ("te", te), ("ev", ev)):
        if math.isnan(v) or not 0.0 <= v <= 1.0:
            msg = f"{name} must be in [0, 1], got {v}"
            raise ValueError(msg)
    return dp * te * ev


def disruption_potential(shares: Mapping[str, float], wgi: Mapping[str, float]) -> float:
    """DP = sum_c s_c^2 x WGI_c / 10 (0-1): WGI-weighted production HHI on a 0-1 scale.

    ``shares`` fractions by ISO3 country, ``wgi`` scaled 0-10 (10 worst). A country with a
    share but no score raises ``KeyError``. Simplified from Nassar & Fortier (2021); see the
    module docstring.
    """
    total = 0.0
    for c, s in shares.items():
        if s is None or math.isnan(s) or s == 0:
            continue
        if c not in wgi:
            msg = f"no WGI score for {c!r}"
            raise KeyError(msg)
        total += float(s) ** 2 * float(wgi[c]) / 10.0
    return total


@dataclass(frozen=True)
class TradeExposure:
    """One printed net-import-reliance figure used as TE."""

    value: float
    year: int
    bound: str
    as_printed: str
    source_id: str
    flags: tuple[str, ...]


def trade_exposure(
    ds: Dataset, commodity: str, year: int | None, *, importer: str = "USA", form: str | None = None
) -> TradeExposure | None:
    """TE from the ``import_reliance`` table for ``importer``, or None when there is no figure.

    Year: ``year`` if printed, else the latest earlier year, else the earliest later one
    (flagged ``year_mismatch``). Within a year the newest vintage wins. Where several forms are
    printed (rare earths: compounds and metals vs mineral concentrates), rows whose note contains
    ``form`` are kept; if several remain the largest TE is used (flagged ``multiple_forms``).
    ``bound``: ``eq`` -> value; ``gt``/``lt`` -> the bound value (flagged ``bound``);
    ``net_exporter`` -> 0; ``not_available`` rows are ignored.
    """
    t = ds.table("import_reliance")
    t = t.loc[(t["importer"] == importer) & (t["commodity"] == commodity) & (t["bound"] != "not_available")]
    if t.empty:
        return None
    flags: list[str] = []
    years = sorted({int(y) for y in t["year"]})
    if year is not None and year in years:
        y = year
    else:
        earlier = [v for v in years if year is None or v < year]
        y = earlier[-1] if earlier else years[0]
        if year is not None:
            flags.append("year_mismatch")
    t = t.loc[t["year"] == y]
    t = t.loc[t["vintage"] == t["vintage"].max()]
    if form:
        hit = t.loc[t["note"].fillna("").str.lower().str.contains(form.lower(), regex=False)]
        if not hit.empty:
            t = hit
    te = t.apply(lambda r: 0.0 if r["bound"] == "net_exporter" else float(r["value"]), axis=1)
    if len(t) > 1:
        flags.append("multiple_forms")
    best = t.loc[te.idxmax()]
    if best["bound"] in ("gt", "lt"):
        flags.append("bound")
    return TradeExposure(
        float(te.max()), y, str(best["bound"]), str(best["as_printed"]), str(best["source_id"]), tuple(flags)
    )


class USGSParams(BaseModel):
    """Overrides of the USGS-method inputs; anything unset comes from ``criticality_defaults.yaml``.

    * ``assessed_stage``: stage whose production shares give DP (commodity -> stage).
    * ``economic_vulnerability``: EV (0-1) per commodity; ``ev_default`` for the rest.
    * ``trade_exposure``: TE (0-1) per commodity, replacing the printed net import reliance.
    * ``nir_form``: which printed form of net import reliance to use (note substring).
    * ``importer``: ISO3 importer of the ``import_reliance`` table (default USA).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    assessed_stage: dict[str, Stage] = Field(default_factory=dict)
    economic_vulnerability: dict[str, Fraction] = Field(default_factory=dict)
    ev_default: Fraction | None = None
    trade_exposure: dict[str, Fraction] = Field(default_factory=dict)
    nir_form: dict[str, str] = Field(default_factory=dict)
    importer: str | None = None
    wgi_year: int | None = None

    @field_validator("assessed_stage", "economic_vulnerability", "trade_exposure", "nir_form", mode="after")
    @classmethod
    def _commodity_keys(cls, v: dict[str, Any]) -> dict[str, Any]:
        return {registry().get(k).id: x for k, x in v.items()}


def usgs_2022(
    ds: Dataset | None = None,
    *,
    year: int | None = None,
    params: USGSParams | None = None,
    commodities: Iterable[str] | None = None,
) -> CriticalityResult:
    """USGS 2022 supply-risk score (DP x TE x EV) and rank for every commodity with a production table.

    DP from the assessed stage's country shares (latest year unless ``year``) and scaled WGI;
    TE from the bundled US net import reliance (:func:`trade_exposure`); EV from ``params`` or
    the documented default. Commodities without shares or without a net-import-reliance figure
    get ``status`` "insufficient data" and a ``reason``. ``rank`` 1 = highest score; the table
    is sorted by rank, insufficient rows last.
    """
    ds = ds if ds is not None else Dataset.bundled()
    p = params or USGSParams()
    d = load_defaults()
    cfg = d["usgs"]
    ev_cfg = cfg["defaults"]["economic_vulnerability"]
    ev_default = float(ev_cfg["value"]) if p.ev_default is None else float(p.ev_default)
    ev_default_basis = BASIS_DEFAULT if p.ev_default is None else BASIS_USER
    importer = p.importer or str(cfg.get("importer", "USA"))
    forms = {**(cfg.get("nir_form") or {}), **p.nir_form}
    wgi = wgi_scaled(ds, p.wgi_year)
    wgi_ids = wgi_source_ids(ds, p.wgi_year)
    ids = [registry().get(c).id for c in commodities] if commodities is not None else default_commodities(ds)
    index = SupplyIndex(ds)

    rows: list[dict[str, Any]] = []
    for cid in ids:
        supply = supply_cross_section(index, cid, year=year, stage_overrides=p.assessed_stage, defaults=d)
        basis, sources, notes = stage_inputs(supply, d)
        extra: list[str] = []
        row: dict[str, Any] = {
            "commodity": cid,
            "stage": supply.stage,
            "year": supply.year,
            "status": STATUS_OK,
            "reason": None,
            "score": math.nan,
            "dp": math.nan,
            "te": math.nan,
            "ev": math.nan,
        }
        if cid in p.economic_vulnerability:
            ev, basis["ev"] = float(p.economic_vulnerability[cid]), BASIS_USER
        else:
            ev, basis["ev"] = ev_default, ev_default_basis
            if ev_default_basis == BASIS_DEFAULT:
                sources.append(defaults_source_id(str(ev_cfg["source"])))
        row["ev"] = ev
        reasons: list[str] = []
        te_info: TradeExposure | None = None
        if cid in p.trade_exposure:
            te, basis["te"] = float(p.trade_exposure[cid]), BASIS_USER
        else:
            te_info = trade_exposure(ds, cid, supply.year, importer=importer, form=forms.get(cid))
            if te_info is None:
                te = math.nan
                reasons.append(f"no {importer} net import reliance for {cid} in the bundled dataset")
            else:
                te, basis["te"] = te_info.value, BASIS_DATA
                sources.append(te_info.source_id)
                extra += [f"te:{f}" for f in te_info.flags if f == "bound"]
        row.update(
            {
                "te": te,
                "te_year": te_info.year if te_info else None,
                "te_bound": te_info.bound if te_info else None,
                "te_as_printed": te_info.as_printed if te_info else None,
                "te_flags": list(te_info.flags) if te_info else [],
            }
        )
        if not supply.ok:
            reasons.insert(0, str(supply.reason))
            row.update(concentration_columns({}))
            row["hhi_wgi"] = math.nan
        else:
            basis["shares"] = BASIS_DATA
            basis["wgi"] = BASIS_DATA
            w, wgi_assumed, wgi_srcs = governance(supply.shares, wgi, d)
            extra += wgi_assumed
            sources += wgi_ids + wgi_srcs
            dp = disruption_potential(supply.shares, w)
            row.update({"dp": dp, "hhi_wgi": dp * 10.0})
            row.update(concentration_columns(supply.shares))
            if not math.isnan(te):
                row["score"] = usgs_supply_risk(dp, te, ev)
        if reasons:
            row.update({"status": STATUS_INSUFFICIENT, "reason": "; ".join(reasons)})
        row["note"] = "; ".join(notes) or None
        row["assumed_inputs"] = assumed_from_basis(basis, extra)
        row["input_basis"] = basis
        row["source_ids"] = list(dict.fromkeys([*supply.source_ids, *sources]))
        rows.append(row)

    table = pd.DataFrame(rows)
    table["rank"] = table["score"].rank(ascending=False, method="min").astype("Int64")
    table["year"] = table["year"].astype("Int64")
    table["te_year"] = table["te_year"].astype("Int64")
    table = table.sort_values(["rank", "commodity"], na_position="last").reset_index(drop=True)
    cols = ["commodity", "stage", "year", "status", "reason", "score", "rank"]
    table = table[cols + [c for c in table.columns if c not in cols]]
    resolved = {
        "importer": importer,
        "ev_default": ev_default,
        "nir_form": forms,
        "threshold_reference": cfg.get("threshold", {}).get("value"),
        "deviations": list(cfg.get("deviations") or []),
        "wgi_year": p.wgi_year if p.wgi_year is not None else int(ds.table("wgi")["year"].max()),
        "year": year,
        "overrides": p.model_dump(mode="json", exclude_defaults=True),
    }
    return CriticalityResult(CriticalityMethod.USGS, table, ds.version, resolved)


__all__ = [
    "TradeExposure",
    "USGSParams",
    "disruption_potential",
    "trade_exposure",
    "usgs_2022",
    "usgs_supply_risk",
]
