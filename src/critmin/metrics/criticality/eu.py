"""EU critical raw materials method (Blengini et al. 2017, EUR 28654; used for the 2020 and 2023 lists).

Supply risk (dimensionless, about 0-6 in practice)::

    SR = [HHI_WGI,t(GS) * IR/2 + HHI_WGI,t(EU) * (1 - IR/2)] * (1 - EoL_RIR) * SI_SR
    HHI_WGI,t = sum_c S_c^2 * WGI_c * t_c

with S_c a country's share (fraction) of global supply (GS) or of EU sourcing (EU), WGI_c the
World Bank governance average rescaled 0-10 (10 worst, :func:`critmin.metrics.governance.wgi_scaled`),
t_c the export-restriction factor (1 = none; > 1 restricted; x 0.8 for EU trade-agreement
partners in EU sourcing), IR the EU import reliance (fraction), EoL_RIR the end-of-life recycling
input rate (fraction) and SI_SR the substitution index for supply risk (0-1).

Economic importance (0-10)::

    EI = sum_s (A_s * Q_s) * 10 / max_s' Q_s' * SI_EI

with A_s the share of the material's EU end use in NACE 2-digit sector s, Q_s the sector's EU
value added (EUR) and SI_EI the substitution index for economic importance. A material is
critical when SR >= 1 and EI >= 2.8. Defaults are placeholders, not findings: a coordinate that
rests on them is *not assessed*, and a row needs both assessed for a verdict (``critical`` null,
``quadrant`` "insufficient data (SR|EI)"), except that one assessed coordinate below its threshold
decides "not critical" alone. EI is not assessed when it is only the neutral default (no
published, sector-based or user EI). SR is not assessed when it has :func:`sr_caveats` (a
defaulted SR input, the global-supply proxy for EU sourcing where the EU imports little, or another
stage than the EU 2023 study's) that the EU 2023 published SR does not corroborate (same side of
the threshold). ``difference`` says why a computed SR differs from the published one.

What the bundled data give: global country shares (``Dataset.shares``), WGI, and China's export
controls (``policy_events``) for t_c. Everything else (EU sourcing, IR, EoL_RIR, SI_SR, SI_EI,
A_s, Q_s) comes from :class:`EUParams` or ``criticality_defaults.yaml``: EU 2023 published values
where mapped (transcribed, flagged ``published``), else a neutral default (flagged ``default``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, field_validator

from critmin.data.dataset import Dataset
from critmin.metrics.concentration import hhi_wgi
from critmin.metrics.criticality.common import (
    BASIS_DATA,
    BASIS_DEFAULT,
    BASIS_PUBLISHED,
    BASIS_USER,
    STATUS_INSUFFICIENT,
    STATUS_OK,
    CriticalityMethod,
    CriticalityResult,
    Supply,
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
from critmin.metrics.criticality.verdict import eu_verdict, sr_caveats, sr_difference
from critmin.metrics.governance import wgi_scaled
from critmin.model.commodities import registry
from critmin.model.stages import Stage

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]

#: Scale of EI: the sum of A_s Q_s divided by the largest sector's value added is multiplied by
#: this so that EI runs 0-10 (Blengini et al. 2017).
EI_SCALE = 10.0


# ---------------------------------------------------------------------------------- formulas
def eu_supply_risk(
    hhi_wgi_global: float,
    hhi_wgi_eu: float,
    ir: float,
    eol_rir: float,
    si_sr: float,
) -> float:
    """EU CRM supply risk (Blengini et al. 2017, EUR 28654, section 3.1; dimensionless).

    SR = [HHI_WGI,t(GS) * IR/2 + HHI_WGI,t(EU sourcing) * (1 - IR/2)] * (1 - EoL_RIR) * SI_SR.

    ``hhi_wgi_global`` and ``hhi_wgi_eu`` are governance- and trade-weighted HHIs on the 0-10
    scale (shares as fractions, WGI 0-10); ``ir`` (EU import reliance), ``eol_rir`` and
    ``si_sr`` are fractions in [0, 1]. The IR/2 weight is as in the method (also implemented so
    in CritMAT's ``supply_risk_eu.py``). Nothing is rounded.
    """
    for name, v in (("hhi_wgi_global", hhi_wgi_global), ("hhi_wgi_eu", hhi_wgi_eu)):
        if math.isnan(v) or v < 0:
            msg = f"{name} must be a non-negative number, got {v}"
            raise ValueError(msg)
    for name, v in (("ir", ir), ("eol_rir", eol_rir), ("si_sr", si_sr)):
        if math.isnan(v) or not 0.0 <= v <= 1.0:
            msg = f"{name} must be a fraction in [0, 1], got {v}"
            raise ValueError(msg)
    w = ir / 2.0
    return (hhi_wgi_global * w + hhi_wgi_eu * (1.0 - w)) * (1.0 - eol_rir) * si_sr


def eu_economic_importance(
    shares_by_sector: Mapping[str, float],
    gva_by_sector: Mapping[str, float],
    si_ei: float,
    *,
    gva_max: float | None = None,
) -> float:
    """EU CRM economic importance on 0-10 (Blengini et al. 2017, EUR 28654, section 3.2).

    EI = sum_s (A_s * Q_s) * 10 / Q_max * SI_EI, with ``shares_by_sector`` A_s (fractions of the
    material's end use by NACE 2-digit sector, summing to at most 1), ``gva_by_sector`` Q_s
    (EU value added, any one currency unit), ``si_ei`` in [0, 1] and ``gva_max`` the largest
    sector value added of the economy; by default the largest value in ``gva_by_sector``, so
    pass the full NACE 2-digit table (or ``gva_max``) for the EU scale. Nothing is rounded.
    """
    if math.isnan(si_ei) or not 0.0 <= si_ei <= 1.0:
        msg = f"si_ei must be a fraction in [0, 1], got {si_ei}"
        raise ValueError(msg)
    total_share = 0.0
    value = 0.0
    for sector, a in shares_by_sector.items():
        if math.isnan(a) or a < 0:
            msg = f"share of sector {sector!r} must be non-negative, got {a}"
            raise ValueError(msg)
        if sector not in gva_by_sector:
            msg = f"no value added for sector {sector!r}"
            raise KeyError(msg)
        q = float(gva_by_sector[sector])
        if math.isnan(q) or q < 0:
            msg = f"value added of sector {sector!r} must be non-negative, got {q}"
            raise ValueError(msg)
        total_share += a
        value += a * q
    if total_share > 1.0 + 1e-9:
        msg = f"sector shares sum to {total_share}, more than 1"
        raise ValueError(msg)
    q_max = max(gva_by_sector.values(), default=0.0) if gva_max is None else float(gva_max)
    if not q_max > 0:
        msg = "the largest sector value added must be positive"
        raise ValueError(msg)
    return value * EI_SCALE / q_max * si_ei


def hhi_wgi_t(
    shares: Mapping[str, float],
    wgi: Mapping[str, float],
    trade_factor: Mapping[str, float] | None = None,
) -> float:
    """HHI_WGI,t = sum_c S_c^2 * WGI_c * t_c (0-10 scale; Blengini et al. 2017).

    Thin wrapper of :func:`critmin.metrics.concentration.hhi_wgi`: ``shares`` fractions by ISO3
    country, ``wgi`` scaled 0-10, ``trade_factor`` t_c (missing countries: 1).
    """
    return hhi_wgi(shares, wgi, trade_factor)


# ---------------------------------------------------------------------------------- params
class EUParams(BaseModel):
    """Overrides of the EU CRM inputs; anything unset comes from ``criticality_defaults.yaml``.

    Dict keys are commodity ids (``"gallium"``; symbols and names are accepted and normalised).
    Fractions are 0-1. Overridden inputs have basis ``user`` and are not counted as assumed.

    * ``assessed_stage``: stage whose shares give HHI_WGI,t(GS).
    * ``import_reliance``, ``eol_rir``, ``si_sr``, ``si_ei``: per commodity.
    * ``ei_value_added``: sum(A_s Q_s) x 10 / Q_max (0-10) per commodity, used when no sectors.
    * ``sector_shares`` (A_s by commodity and sector) with ``sector_gva`` (Q_s) and ``gva_max``.
    * ``eu_sourcing_hhi_wgi`` (HHI_WGI,t of EU sourcing) or ``eu_sourcing_shares`` (ISO3 ->
      share of EU sourcing, weighted here with WGI, t and ``eu_fta_partners`` x ``t_eu_fta``).
    * ``trade_factors``: t_c by commodity and ISO3 (replaces the policy-event factors).
    * ``restriction_t``: t for ``licence`` / ``prohibition`` restrictions.
    * ``use_published``: use the transcribed EU 2023 values (else neutral defaults only).
    * ``use_policy_events``: derive t_c from the export-control timeline.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    assessed_stage: dict[str, Stage] = Field(default_factory=dict)
    import_reliance: dict[str, Fraction] = Field(default_factory=dict)
    eol_rir: dict[str, Fraction] = Field(default_factory=dict)
    si_sr: dict[str, Fraction] = Field(default_factory=dict)
    si_ei: dict[str, Fraction] = Field(default_factory=dict)
    ei_value_added: dict[str, Annotated[float, Field(ge=0.0, le=EI_SCALE)]] = Field(default_factory=dict)
    sector_shares: dict[str, dict[str, Fraction]] = Field(default_factory=dict)
    sector_gva: dict[str, NonNegative] = Field(default_factory=dict)
    gva_max: PositiveFloat | None = None
    eu_sourcing_hhi_wgi: dict[str, NonNegative] = Field(default_factory=dict)
    eu_sourcing_shares: dict[str, dict[str, Fraction]] = Field(default_factory=dict)
    eu_fta_partners: tuple[str, ...] | None = None
    t_eu_fta: PositiveFloat | None = None
    trade_factors: dict[str, dict[str, PositiveFloat]] = Field(default_factory=dict)
    restriction_t: dict[str, PositiveFloat] = Field(default_factory=dict)
    use_published: bool = True
    use_policy_events: bool = True
    sr_threshold: NonNegative | None = None
    ei_threshold: NonNegative | None = None
    wgi_year: int | None = None

    @field_validator(
        "assessed_stage",
        "import_reliance",
        "eol_rir",
        "si_sr",
        "si_ei",
        "ei_value_added",
        "sector_shares",
        "eu_sourcing_hhi_wgi",
        "eu_sourcing_shares",
        "trade_factors",
        mode="after",
    )
    @classmethod
    def _commodity_keys(cls, v: dict[str, Any]) -> dict[str, Any]:
        return {registry().get(k).id: x for k, x in v.items()}

    @field_validator("restriction_t", mode="after")
    @classmethod
    def _restriction_kinds(cls, v: dict[str, float]) -> dict[str, float]:
        bad = sorted(set(v) - {"licence", "prohibition"})
        if bad:
            msg = f"unknown restriction kinds {bad}: use licence or prohibition"
            raise ValueError(msg)
        return v


# ---------------------------------------------------------------------------------- export controls
_ISO_DATE = re.compile(r"\d{4}-\d{2}(?:-\d{2})?")


def _text(x: object) -> str:
    """``str(x)``, with None, NaN and NA read as the empty string."""
    if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)):
        return ""
    return str(x)


def _parse_date(text: object) -> date | None:
    m = _ISO_DATE.search(_text(text))
    if not m:
        return None
    parts = [int(p) for p in m.group(0).split("-")]
    return date(parts[0], parts[1], parts[2] if len(parts) > 2 else 1)


def _window(
    effective: object, fallback: object, end_text: object
) -> tuple[date | None, date | None, list[tuple[date, date]]]:
    """(start, end, suspensions) of a measure from the policy_events text fields.

    ``end_date`` reading: "suspended A to B" -> a suspension window; a clause-level suspension
    ("clause 2 suspended ...") is ignored (the rest stays in force); otherwise a date is the end.
    """
    start = _parse_date(effective) or _parse_date(fallback)
    end: date | None = None
    suspensions: list[tuple[date, date]] = []
    text = _text(end_text)
    dates = [_parse_date(d) for d in _ISO_DATE.findall(text)]
    low = text.strip().lower()
    if "suspend" in low:
        if low.startswith("suspend") and len(dates) >= 2 and dates[0] and dates[1]:
            suspensions.append((dates[0], dates[1]))
    elif dates and dates[0]:
        end = dates[0]
    return start, end, suspensions


def in_force_during(
    year: int, start: date | None, end: date | None, suspensions: Sequence[tuple[date, date]]
) -> bool:
    """True if a measure starting ``start`` (ending ``end``) is in force on some day of ``year``."""
    if start is None:
        return False
    lo = max(start, date(year, 1, 1))
    hi = min(end or date(year, 12, 31), date(year, 12, 31))
    cur = lo
    for s, e in sorted(suspensions):
        if s <= cur <= e:
            cur = e + timedelta(days=1)
    return cur <= hi


@dataclass(frozen=True)
class Restriction:
    """An export restriction on a commodity by one country, in force in the assessed year."""

    country: str
    kind: str
    label: str
    source_id: str
    from_defaults: bool


def export_restrictions(
    ds: Dataset, commodity: str, year: int, trade: Mapping[str, Any]
) -> list[Restriction]:
    """Export restrictions on ``commodity`` in force during ``year``, from the EU's point of view.

    Rows of ``policy_events`` count when their actor names an exporting country of
    ``trade.actors``, their scope contains one of ``trade.scope_must_contain`` ("all
    destinations": US-only measures do not restrict EU supply), their items contain a keyword
    (whole word) mapped to ``commodity`` in ``trade.keywords``, and they are in force on some day of ``year``
    (effective date to end date, minus suspensions). ``trade.supplementary_events`` adds sourced
    events missing from the table. The kind (licence or prohibition) is read from the scope and
    instrument text by ``trade.restriction_match``.
    """
    actors: Mapping[str, str] = trade.get("actors") or {}
    scopes = [s.lower() for s in trade.get("scope_must_contain") or []]
    keywords: Mapping[str, list[str]] = trade.get("keywords") or {}
    match: Mapping[str, list[str]] = trade.get("restriction_match") or {}
    # whole words only: "terbium" must not match "erbium", nor "ytterbium" "terbium"
    words = [re.compile(rf"\b{re.escape(k.lower())}\b") for k, cs in keywords.items() if commodity in cs]

    def country_of(actor: str) -> str | None:
        a = actor.lower()
        for iso, needle in actors.items():
            if a.startswith(needle.lower()):
                return iso
        return None

    def kind_of(text: str) -> str:
        t = text.lower()
        for kind in ("prohibition", "licence"):
            if any(w in t for w in match.get(kind, [])):
                return kind
        return "licence"

    out: list[Restriction] = []
    if words:
        ev = ds.table("policy_events")
        for row in ev.itertuples(index=False):
            iso = country_of(str(row.actor))
            scope = _text(row.scope).lower()
            items = _text(row.items).lower()
            if iso is None or not any(s in scope for s in scopes) or not any(w.search(items) for w in words):
                continue
            start, end, susp = _window(row.effective_date, row.date, row.end_date)
            if not in_force_during(year, start, end, susp):
                continue
            label = f"{row.date} {row.instrument}"
            out.append(
                Restriction(iso, kind_of(f"{scope} {row.instrument}"), label, str(row.source_id), False)
            )
    for extra in trade.get("supplementary_events") or []:
        if commodity not in (extra.get("commodities") or []):
            continue
        iso = country_of(str(extra.get("actor", "")))
        start, end, susp = _window(extra.get("effective_date"), None, extra.get("end_date"))
        if iso is None or not in_force_during(year, start, end, susp):
            continue
        out.append(
            Restriction(
                iso,
                str(extra.get("restriction", "licence")),
                f"{extra.get('effective_date')} {extra.get('instrument')} [{extra.get('id')}]",
                defaults_source_id(str(extra.get("source"))),
                True,
            )
        )
    return out


# ---------------------------------------------------------------------------------- the assessment
@dataclass
class _Inputs:
    values: dict[str, float]
    basis: dict[str, str]
    sources: list[str]

    def put(self, name: str, value: float, basis: str, source: str | None = None) -> float:
        self.values[name] = value
        self.basis[name] = basis
        if source:
            self.sources.append(source)
        return value


def _pick(
    name: str,
    commodity: str,
    user: Mapping[str, float],
    published: Mapping[str, Any] | None,
    pub_key: str,
    default: Mapping[str, Any],
    pub_source: str,
    acc: _Inputs,
) -> float:
    if commodity in user:
        return acc.put(name, float(user[commodity]), BASIS_USER)
    if published is not None and published.get(pub_key) is not None:
        return acc.put(name, float(published[pub_key]), BASIS_PUBLISHED, defaults_source_id(pub_source))
    return acc.put(name, float(default["value"]), BASIS_DEFAULT, defaults_source_id(str(default["source"])))


def eu_crm(
    ds: Dataset | None = None,
    *,
    year: int | None = None,
    params: EUParams | None = None,
    commodities: Iterable[str] | None = None,
) -> CriticalityResult:
    """EU CRM criticality (SR, EI, critical flag) for every commodity with a production table.

    Per commodity: country shares of global supply at the assessed stage (latest year with data
    unless ``year``; ISO3 countries only, residual rows excluded), scaled WGI, t_c from China's
    export controls in force that year (``policy_events`` + sourced supplementary events) ->
    HHI_WGI,t(GS); EU-sourcing HHI, IR, EoL_RIR, SI_SR from ``params`` / EU 2023 published values
    / neutral defaults -> :func:`eu_supply_risk`; EI from sector data if given, else the scaled
    value added (EU 2023 EI / SI_EI, or the default) x SI_EI (:func:`eu_economic_importance`).
    ``critical`` = SR >= 1 and EI >= 2.8. Rows the data cannot support have ``status``
    "insufficient data" and a ``reason``. Sorted by SR (descending), insufficient rows last.
    """
    ds = ds if ds is not None else Dataset.bundled()
    p = params or EUParams()
    d = load_defaults()
    eu = d["eu"]
    dflt = eu["defaults"]
    trade = dict(eu["trade"])
    published_all: Mapping[str, Any] = (eu.get("published") or {}).get("materials") or {}
    pub_source = str((eu.get("published") or {}).get("source", "eu2023"))
    restriction_t = {k: float(v["value"]) for k, v in trade["restriction_t"].items()}
    restriction_t.update(p.restriction_t)
    fta = trade.get("eu_fta") or {}
    fta_partners = tuple(fta.get("partners") or ()) if p.eu_fta_partners is None else p.eu_fta_partners
    t_fta = float(fta.get("value", 0.8)) if p.t_eu_fta is None else float(p.t_eu_fta)
    sr_thr = float(eu["thresholds"]["sr"]["value"]) if p.sr_threshold is None else float(p.sr_threshold)
    ei_thr = float(eu["thresholds"]["ei"]["value"]) if p.ei_threshold is None else float(p.ei_threshold)
    wgi = wgi_scaled(ds, p.wgi_year)
    wgi_ids = wgi_source_ids(ds, p.wgi_year)
    ids = [registry().get(c).id for c in commodities] if commodities is not None else default_commodities(ds)
    index = SupplyIndex(ds)
    run = _Run(ds, p, d, pub_source, wgi, wgi_ids, trade, restriction_t, fta_partners, t_fta, sr_thr, ei_thr)

    rows: list[dict[str, Any]] = []
    for cid in ids:
        supply = supply_cross_section(index, cid, year=year, stage_overrides=p.assessed_stage, defaults=d)
        published = published_all.get(cid) if p.use_published else None
        rows.append(_assess(run, supply, published))
    table = pd.DataFrame(rows)
    table["critical"] = table["critical"].astype("boolean")
    table["year"] = table["year"].astype("Int64")
    table = table.sort_values(
        ["_order", "sr", "commodity"], ascending=[True, False, True], na_position="last"
    ).drop(columns=["_order"])
    resolved = {
        "thresholds": {"sr": sr_thr, "ei": ei_thr},
        "restriction_t": restriction_t,
        "eu_fta_partners": list(fta_partners),
        "t_eu_fta": t_fta,
        "wgi_year": p.wgi_year if p.wgi_year is not None else int(ds.table("wgi")["year"].max()),
        "year": year,
        "defaults": {k: v["value"] for k, v in dflt.items()},
        "published_source": pub_source if p.use_published else None,
        "use_policy_events": p.use_policy_events,
        "overrides": p.model_dump(mode="json", exclude_defaults=True),
    }
    return CriticalityResult(CriticalityMethod.EU, table.reset_index(drop=True), ds.version, resolved)


@dataclass(frozen=True)
class _Run:
    """Everything one :func:`eu_crm` call resolves once and every row uses."""

    ds: Dataset
    p: EUParams
    d: Mapping[str, Any]
    pub_source: str
    wgi: pd.Series
    wgi_ids: list[str]
    trade: Mapping[str, Any]
    restriction_t: Mapping[str, float]
    fta_partners: Sequence[str]
    t_fta: float
    sr_thr: float
    ei_thr: float


def _assess(run: _Run, supply: Supply, published: Mapping[str, Any] | None) -> dict[str, Any]:
    """One commodity's row of the EU table."""
    ds, p, d, pub_source, wgi, trade = run.ds, run.p, run.d, run.pub_source, run.wgi, run.trade
    restriction_t, fta_partners, t_fta = run.restriction_t, run.fta_partners, run.t_fta
    sr_thr, ei_thr, wgi_ids = run.sr_thr, run.ei_thr, run.wgi_ids
    cid = supply.commodity
    dflt = d["eu"]["defaults"]
    stage_basis, stage_sources, notes = stage_inputs(supply, d)
    acc = _Inputs({}, stage_basis, stage_sources)
    extra_assumed: list[str] = []
    row: dict[str, Any] = {
        "commodity": cid,
        "stage": supply.stage,
        "year": supply.year,
        "status": STATUS_OK,
        "reason": None,
        "sr": math.nan,
        "ei": math.nan,
        "critical": None,
        "quadrant": None,
        "hhi_wgi_t_global": math.nan,
        "hhi_wgi_t_eu": math.nan,
        "difference": None,
    }

    # Inputs that do not depend on the supply data (resolved for every row, for transparency).
    ir = _pick("ir", cid, p.import_reliance, published, "ir", dflt["import_reliance"], pub_source, acc)
    eol = _pick("eol_rir", cid, p.eol_rir, published, "eol_rir", dflt["eol_rir"], pub_source, acc)
    si_sr = _pick("si_sr", cid, p.si_sr, published, "si_sr", dflt["si_sr"], pub_source, acc)
    si_ei = _pick("si_ei", cid, p.si_ei, published, "si_ei", dflt["si_ei"], pub_source, acc)
    if cid in p.sector_shares:
        ei = eu_economic_importance(p.sector_shares[cid], p.sector_gva, si_ei, gva_max=p.gva_max)
        acc.basis["sector_shares"] = BASIS_USER
        acc.basis["sector_gva"] = BASIS_USER
        va = ei / si_ei if si_ei > 0 else math.nan
    elif cid in p.ei_value_added:
        va = acc.put("ei_value_added", float(p.ei_value_added[cid]), BASIS_USER)
        ei = va * si_ei
    elif published is not None and published.get("ei") is not None:
        pub_si = published.get("si_ei")
        va = float(published["ei"]) / float(pub_si) if pub_si else float(published["ei"])
        acc.put("ei_value_added", va, BASIS_PUBLISHED, defaults_source_id(pub_source))
        ei = va * si_ei
    else:
        va = acc.put(
            "ei_value_added",
            float(dflt["ei_value_added"]["value"]),
            BASIS_DEFAULT,
            defaults_source_id(str(dflt["ei_value_added"]["source"])),
        )
        ei = va * si_ei
    row.update({"ir": ir, "eol_rir": eol, "si_sr": si_sr, "si_ei": si_ei, "ei_value_added": va, "ei": ei})

    if not supply.ok:
        row.update({"status": STATUS_INSUFFICIENT, "reason": supply.reason})
        row.update(concentration_columns({}))
        row.update({"residual_share": math.nan, "trade_factors": {}, "restrictions": []})
    else:
        acc.basis["shares"] = BASIS_DATA
        acc.basis["wgi"] = BASIS_DATA
        w, wgi_assumed, wgi_srcs = governance(supply.shares, wgi, d)
        extra_assumed += wgi_assumed
        acc.sources += wgi_ids + wgi_srcs
        year = int(supply.year) if supply.year is not None else 0
        t: dict[str, float] = {}
        labels: list[str] = []
        if cid in p.trade_factors:
            t = dict(p.trade_factors[cid])
            acc.basis["t"] = BASIS_USER
        elif p.use_policy_events:
            for r in export_restrictions(ds, cid, year, trade):
                t[r.country] = max(t.get(r.country, 1.0), float(restriction_t[r.kind]))
                labels.append(r.label)
                acc.sources.append(r.source_id)
                if r.from_defaults:
                    extra_assumed.append(f"t_event:{r.label.rsplit('[', 1)[-1].rstrip(']')}")
                kind_cfg = trade["restriction_t"].get(r.kind, {})
                if r.kind not in p.restriction_t:
                    extra_assumed.append(f"t_value:{r.kind}")
                    acc.sources.append(defaults_source_id(str(kind_cfg.get("source", "critmin"))))
            acc.basis["t"] = BASIS_DATA
        g = hhi_wgi_t(supply.shares, w, t)
        if cid in p.eu_sourcing_hhi_wgi:
            e = acc.put("hhi_wgi_eu", float(p.eu_sourcing_hhi_wgi[cid]), BASIS_USER)
        elif cid in p.eu_sourcing_shares:
            eu_shares = p.eu_sourcing_shares[cid]
            w_eu, a_eu, s_eu = governance(eu_shares, wgi, d)
            extra_assumed += a_eu
            acc.sources += s_eu
            t_eu = {c: t.get(c, 1.0) * (t_fta if c in fta_partners else 1.0) for c in eu_shares}
            e = acc.put("hhi_wgi_eu", hhi_wgi_t(eu_shares, w_eu, t_eu), BASIS_USER)
            if p.eu_fta_partners is None:
                extra_assumed.append("eu_fta_partners")
        else:
            src = defaults_source_id(str(dflt["eu_sourcing"]["source"]))
            e = acc.put("hhi_wgi_eu", g, BASIS_DEFAULT, src)
        sr = eu_supply_risk(g, e, ir, eol, si_sr)
        # Defaults are placeholders, not findings: an EI from the neutral default, or an SR that
        # rests on defaults (or on the global-supply proxy for EU sourcing where the EU mostly
        # sources at home) and is not corroborated by the EU 2023 published SR, gives
        # "insufficient data" (critical None) rather than a verdict.
        ei_assessed = acc.basis.get("ei_value_added") != BASIS_DEFAULT
        pub_sr = float(published["sr_2023"]) if published and published.get("sr_2023") is not None else None
        why = sr_caveats(acc.basis, ir, supply.stage, published)
        sr_assessed = not why or (pub_sr is not None and (sr >= sr_thr) == (pub_sr >= sr_thr))
        critical, quadrant = eu_verdict(
            sr, ei, sr_thr, ei_thr, sr_assessed=sr_assessed, ei_assessed=ei_assessed
        )
        row["difference"] = sr_difference(sr, pub_sr, why, sr_thr)
        row.update(
            {
                "sr": sr,
                "critical": critical,
                "quadrant": quadrant,
                "hhi_wgi_t_global": g,
                "hhi_wgi_t_eu": e,
                "residual_share": supply.residual_share,
                "trade_factors": t,
                "restrictions": labels,
            }
        )
        row.update(concentration_columns(supply.shares))
    row["eu2023_sr"] = (
        float(published["sr_2023"]) if published and published.get("sr_2023") is not None else math.nan
    )
    row["eu2023_ei"] = float(published["ei"]) if published and published.get("ei") is not None else math.nan
    if published and published.get("note"):
        notes.append(f"EU 2023 mapping: {published['note']}")
    row["note"] = "; ".join(notes) or None
    row["assumed_inputs"] = assumed_from_basis(acc.basis, extra_assumed)
    row["input_basis"] = dict(acc.basis)
    row["source_ids"] = list(dict.fromkeys([*supply.source_ids, *acc.sources]))
    row["_order"] = 0 if row["status"] == STATUS_OK else 1
    return row


__all__ = [
    "EI_SCALE",
    "EUParams",
    "Restriction",
    "eu_crm",
    "eu_economic_importance",
    "eu_supply_risk",
    "eu_verdict",
    "export_restrictions",
    "hhi_wgi_t",
    "in_force_during",
    "sr_caveats",
]
