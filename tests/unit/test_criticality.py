"""Criticality methods: EU CRM (SR, EI, critical flag) and USGS 2022 (DP x TE x EV, rank).

Formulas are checked on numbers worked out by hand, on a toy dataset, and on the bundled data.
"""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.data.catalogue import Source
from critmin.data.dataset import Dataset, validate_table
from critmin.errors import DataError
from critmin.metrics import criticality as crit
from critmin.metrics.criticality import (
    STATUS_INSUFFICIENT,
    STATUS_OK,
    CriticalityMethod,
    CriticalityResult,
    criticality,
    load_defaults,
)
from critmin.metrics.criticality.common import validate_defaults
from critmin.metrics.criticality.eu import (
    EUParams,
    eu_crm,
    eu_economic_importance,
    eu_supply_risk,
    eu_verdict,
    export_restrictions,
    in_force_during,
    sr_caveats,
)
from critmin.metrics.criticality.usgs import USGSParams, disruption_potential, usgs_2022, usgs_supply_risk

#: SR inputs given by the user (not defaults), so the toy gallium SR is assessed.
SR_GIVEN: dict[str, Any] = {
    "import_reliance": {"gallium": 0.98},
    "eol_rir": {"gallium": 0.0},
    "si_sr": {"gallium": 1.0},
}

# ---------------------------------------------------------------------------------- toy dataset
INDICATORS = ("va", "pv", "ge", "rq", "rl", "cc")


def _src(sid: str) -> Source:
    return Source(
        id=sid,
        kind="dataset",
        publisher="P",
        title=sid,
        url="https://example.org/" + sid,
        licence="pd",
        priority=1,
    )  # type: ignore[arg-type]


def _prod(commodity: str, stage: str, year: int, values: dict[str, float | None]) -> list[dict[str, Any]]:
    return [
        {
            "source_id": "toy-prod",
            "commodity": commodity,
            "stage": stage,
            "measure": "production",
            "country": c,
            "year": year,
            "value": v,
            "unit": "t",
            "qualifier": "exact" if v is not None else "withheld",
            "estimated": False,
            "vintage": 2024,
            "series": "toy",
            "note": None,
        }
        for c, v in values.items()
    ]


def _wgi(mean_estimate: dict[str, float]) -> list[dict[str, Any]]:
    # WGI_scaled = 5 - 2 * mean: CHN -0.5 -> 6.0, JPN 1.5 -> 2.0, AUS 2.0 -> 1.0
    return [
        {
            "source_id": "toy-wgi",
            "country": c,
            "year": 2023,
            "indicator": i,
            "estimate": m,
            "stddev": None,
            "pctrank": None,
        }
        for c, m in mean_estimate.items()
        for i in INDICATORS
    ]


def _event(
    items: str, scope: str, effective: str, end: str | None = None, date_: str = "2023-07-03"
) -> dict[str, Any]:
    return {
        "source_id": "toy-event",
        "date": date_,
        "actor": "China (MOFCOM, GAC)",
        "instrument": "Toy announcement",
        "items": items,
        "scope": scope,
        "effective_date": effective,
        "end_date": end,
        "date_qualifier": None,
        "quality": None,
        "note": None,
    }


def _nir(commodity: str, value: float | None, bound: str, printed: str) -> dict[str, Any]:
    return {
        "source_id": "toy-nir",
        "importer": "USA",
        "commodity": commodity,
        "year": 2023,
        "value": value,
        "bound": bound,
        "as_printed": printed,
        "vintage": 2024,
        "note": None,
    }


def toy(events: list[dict[str, Any]] | None = None) -> Dataset:
    """Gallium refining 2023: CHN 80 / JPN 20 of a world 100; lithium mining: AUS 50 / CHN 50."""
    prod = _prod("gallium", "separation", 2023, {"CHN": 80, "JPN": 20, "WLD": 100})
    prod += _prod("lithium", "mining", 2023, {"AUS": 50, "CHN": 50, "WLD": 100})
    prod += _prod("germanium", "separation", 2023, {"CHN": None, "WLD": None})
    tables = {
        "production": validate_table(pd.DataFrame(prod), "production"),
        "wgi": validate_table(pd.DataFrame(_wgi({"CHN": -0.5, "JPN": 1.5, "AUS": 2.0})), "wgi"),
        "policy_events": validate_table(
            pd.DataFrame(events if events is not None else [], columns=list(_event("", "", "").keys())),
            "policy_events",
        ),
        "import_reliance": validate_table(
            pd.DataFrame([_nir("gallium", 1.0, "eq", "100"), _nir("lithium", 0.25, "gt", ">25")]),
            "import_reliance",
        ),
    }
    sources = {s: _src(s) for s in ("toy-prod", "toy-wgi", "toy-event", "toy-nir")}
    return Dataset(tables=tables, sources=sources, version="t")


GA_CONTROL = _event(
    "8 gallium and 6 germanium items", "all destinations; dual-use export licence required", "2023-08-01"
)

# ---------------------------------------------------------------------------------- formulas


def test_eu_supply_risk_by_hand() -> None:
    # (4 * 0.6/2 + 2 * (1 - 0.6/2)) * (1 - 0.1) * 0.9 = (1.2 + 1.4) * 0.81 = 2.106
    assert eu_supply_risk(4.0, 2.0, 0.6, 0.1, 0.9) == pytest.approx(2.106)
    # IR = 0: only EU sourcing counts; IR = 1: half global, half EU.
    assert eu_supply_risk(9.0, 1.0, 0.0, 0.0, 1.0) == pytest.approx(1.0)
    assert eu_supply_risk(9.0, 1.0, 1.0, 0.0, 1.0) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="fraction"):
        eu_supply_risk(1.0, 1.0, 1.2, 0.0, 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        eu_supply_risk(-1.0, 1.0, 0.5, 0.0, 1.0)


def test_eu_economic_importance_scales_by_largest_sector() -> None:
    shares = {"C29": 0.5, "C27": 0.3}
    gva = {"C29": 200.0, "C27": 100.0, "C20": 400.0}
    # (0.5*200 + 0.3*100) * 10 / 400 * 0.9 = 130 * 10 / 400 * 0.9 = 2.925
    assert eu_economic_importance(shares, gva, 0.9) == pytest.approx(2.925)
    # An explicit economy-wide maximum replaces the largest listed sector.
    assert eu_economic_importance(shares, gva, 1.0, gva_max=1000.0) == pytest.approx(1.3)
    # All use in the largest sector, no substitutes: the top of the scale.
    assert eu_economic_importance({"C20": 1.0}, gva, 1.0) == pytest.approx(10.0)
    with pytest.raises(KeyError):
        eu_economic_importance({"C99": 0.5}, gva, 1.0)
    with pytest.raises(ValueError, match="more than 1"):
        eu_economic_importance({"C29": 0.7, "C27": 0.6}, gva, 1.0)


def test_usgs_supply_risk_and_disruption_potential_by_hand() -> None:
    assert usgs_supply_risk(0.5, 0.8, 0.5) == pytest.approx(0.2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        usgs_supply_risk(1.5, 1.0, 1.0)
    # 0.8^2 * 6/10 + 0.2^2 * 2/10 = 0.384 + 0.008
    assert disruption_potential({"CHN": 0.8, "JPN": 0.2}, {"CHN": 6.0, "JPN": 2.0}) == pytest.approx(0.392)
    with pytest.raises(KeyError, match="XXX"):
        disruption_potential({"XXX": 0.5}, {})


fractions = st.floats(0.0, 1.0, allow_nan=False)
hhis = st.floats(0.0, 10.0, allow_nan=False)


@given(hhis, hhis, hhis, fractions, fractions, fractions)
def test_sr_monotone_in_hhi_wgi(g1: float, g2: float, e: float, ir: float, eol: float, si: float) -> None:
    lo, hi = sorted((g1, g2))
    # non-decreasing in the global HHI_WGI, in the EU-sourcing HHI_WGI, and in both together
    assert eu_supply_risk(lo, e, ir, eol, si) <= eu_supply_risk(hi, e, ir, eol, si) + 1e-12
    assert eu_supply_risk(e, lo, ir, eol, si) <= eu_supply_risk(e, hi, ir, eol, si) + 1e-12
    assert eu_supply_risk(lo, lo, ir, eol, si) <= eu_supply_risk(hi, hi, ir, eol, si) + 1e-12


@given(hhis, hhis, fractions, fractions, fractions, fractions)
def test_sr_non_increasing_in_eol_rir(g: float, e: float, ir: float, r1: float, r2: float, si: float) -> None:
    lo, hi = sorted((r1, r2))
    assert eu_supply_risk(g, e, ir, hi, si) <= eu_supply_risk(g, e, ir, lo, si) + 1e-12


def test_in_force_during_handles_suspension_and_end() -> None:
    start = date(2025, 12, 1)
    susp = [(date(2025, 11, 7), date(2026, 11, 10))]
    assert not in_force_during(2025, start, None, susp)  # suspended before it took effect
    assert in_force_during(2026, start, None, susp)  # back in force 2026-11-11
    assert in_force_during(2023, date(2023, 8, 1), None, [])
    assert not in_force_during(2022, date(2023, 8, 1), None, [])
    assert not in_force_during(2024, date(2023, 8, 1), date(2023, 12, 31), [])
    assert not in_force_during(2024, None, None, [])


# ---------------------------------------------------------------------------------- toy dataset


def _row(result: CriticalityResult, commodity: str) -> pd.Series:
    return result.table.set_index("commodity").loc[commodity]


def test_hhi_wgi_t_with_export_control_by_hand() -> None:
    no_pub = EUParams(use_published=False)
    base = _row(eu_crm(toy(), commodities=["gallium"], params=no_pub), "gallium")
    # 0.8^2 * 6.0 + 0.2^2 * 2.0 = 3.84 + 0.08
    assert base["hhi_wgi_t_global"] == pytest.approx(3.92)
    assert base["trade_factors"] == {}
    ctl = _row(eu_crm(toy([GA_CONTROL]), commodities=["gallium"], params=no_pub), "gallium")
    # China licence requirement in force in 2023: t_CHN = 1.1 -> 3.84 * 1.1 + 0.08
    assert ctl["trade_factors"] == {"CHN": pytest.approx(1.1)}
    assert ctl["hhi_wgi_t_global"] == pytest.approx(4.304)
    assert "toy-event" in ctl["source_ids"]
    assert "t_value:licence" in ctl["assumed_inputs"]
    # Defaults: EU sourcing = global, IR cancels, EoL_RIR 0, SI_SR 1 -> SR = HHI_WGI,t.
    assert ctl["sr"] == pytest.approx(4.304)
    assert ctl["input_basis"]["hhi_wgi_eu"] == "default"
    # A user t factor wins over the timeline.
    user_t = EUParams(use_published=False, trade_factors={"gallium": {"CHN": 1.5}})
    got = _row(eu_crm(toy([GA_CONTROL]), commodities=["gallium"], params=user_t), "gallium")
    assert got["hhi_wgi_t_global"] == pytest.approx(3.84 * 1.5 + 0.08)
    assert "t_value:licence" not in got["assumed_inputs"]


@pytest.mark.parametrize(
    ("scope", "effective", "end"),
    [
        ("United States: exports to US not permitted", "2023-08-01", None),  # not an EU restriction
        ("all destinations; licence required", "2024-01-01", None),  # not yet in force
        ("all destinations; licence required", "2023-01-01", "suspended 2023-01-01 to 2023-12-31"),
    ],
)
def test_export_controls_that_do_not_apply(scope: str, effective: str, end: str | None) -> None:
    ds = toy([_event("gallium", scope, effective, end)])
    trade = load_defaults()["eu"]["trade"]
    assert export_restrictions(ds, "gallium", 2023, trade) == []
    row = _row(eu_crm(ds, commodities=["gallium"], params=EUParams(use_published=False)), "gallium")
    assert row["hhi_wgi_t_global"] == pytest.approx(3.92)


def test_published_eu2023_inputs_and_sr() -> None:
    row = _row(eu_crm(toy([GA_CONTROL]), commodities=["gallium"]), "gallium")
    # EU 2023 gallium (transcribed): IR 0.98, EoL_RIR 0, SI_SR 0.98, SI_EI 0.98, EI 3.7.
    assert row["ir"] == pytest.approx(0.98)
    assert row["sr"] == pytest.approx(4.304 * 0.98)
    # EI = (published EI / SI_EI) * SI_EI = the published EI.
    assert row["ei"] == pytest.approx(3.7)
    assert row["input_basis"]["si_sr"] == "published"
    assert {"ir", "eol_rir", "si_sr", "si_ei", "ei_value_added", "hhi_wgi_eu"} <= set(row["assumed_inputs"])
    assert "criticality_defaults:eu2023" in row["source_ids"]
    assert bool(row["critical"]) is True
    assert row["quadrant"] == "critical"


def test_user_inputs_are_not_assumed_and_ei_from_sectors() -> None:
    p = EUParams(
        import_reliance={"Ga": 0.5},  # symbols are accepted
        eol_rir={"gallium": 0.1},
        si_sr={"gallium": 0.9},
        si_ei={"gallium": 0.9},
        eu_sourcing_hhi_wgi={"gallium": 2.0},
        sector_shares={"gallium": {"C29": 0.5, "C27": 0.3}},
        sector_gva={"C29": 200.0, "C27": 100.0, "C20": 400.0},
    )
    row = _row(eu_crm(toy([GA_CONTROL]), commodities=["gallium"], params=p), "gallium")
    # SR = (4.304 * 0.25 + 2.0 * 0.75) * 0.9 * 0.9
    assert row["sr"] == pytest.approx((4.304 * 0.25 + 2.0 * 0.75) * 0.81)
    assert row["ei"] == pytest.approx(2.925)
    assert bool(row["critical"]) is True
    for name in ("ir", "eol_rir", "si_sr", "si_ei", "hhi_wgi_eu", "sector_shares"):
        assert row["input_basis"][name] == "user"
        assert name not in row["assumed_inputs"]


def test_eu_sourcing_shares_apply_trade_agreement_factor() -> None:
    p = EUParams(
        use_published=False,
        eu_sourcing_shares={"gallium": {"JPN": 0.5, "CHN": 0.5}},
        eu_fta_partners=("JPN",),
    )
    row = _row(eu_crm(toy([GA_CONTROL]), commodities=["gallium"], params=p), "gallium")
    # 0.25 * 2.0 * 0.8 (EU-Japan agreement) + 0.25 * 6.0 * 1.1 (export licence)
    assert row["hhi_wgi_t_eu"] == pytest.approx(0.4 + 1.65)
    # IR default 1: SR = (4.304 + 2.05) / 2
    assert row["sr"] == pytest.approx((4.304 + 2.05) / 2)


def test_critical_threshold_is_inclusive() -> None:
    ds = toy([GA_CONTROL])

    def at_ei_28(sr_threshold: float | None = None) -> EUParams:
        return EUParams(
            use_published=False, ei_value_added={"gallium": 2.8}, sr_threshold=sr_threshold, **SR_GIVEN
        )

    sr = float(_row(eu_crm(ds, commodities=["gallium"], params=at_ei_28()), "gallium")["sr"])
    at = _row(eu_crm(ds, commodities=["gallium"], params=at_ei_28(sr)), "gallium")
    assert at["ei"] == pytest.approx(2.8)
    assert bool(at["critical"]) is True  # SR == threshold and EI == 2.8 count as critical
    above = at_ei_28(float(np.nextafter(sr, math.inf)))
    assert bool(_row(eu_crm(ds, commodities=["gallium"], params=above), "gallium")["critical"]) is False
    low_ei = EUParams(use_published=False, ei_value_added={"gallium": 2.79})
    row = _row(eu_crm(ds, commodities=["gallium"], params=low_ei), "gallium")
    assert row["sr"] >= 1.0
    assert bool(row["critical"]) is False
    assert row["quadrant"] == "high SR, low EI"


def test_defaults_when_nothing_is_known() -> None:
    row = _row(eu_crm(toy(), commodities=["lithium"], params=EUParams(use_published=False)), "lithium")
    d = load_defaults()["eu"]["defaults"]
    assert row["ei"] == pytest.approx(d["ei_value_added"]["value"] * d["si_ei"]["value"])
    assert row["input_basis"]["ei_value_added"] == "default"
    # 0.25 * 1.0 + 0.25 * 6.0
    assert row["hhi_wgi_t_global"] == pytest.approx(1.75)
    assert {"ir", "eol_rir", "si_sr", "si_ei", "ei_value_added", "hhi_wgi_eu"} <= set(row["assumed_inputs"])


def test_insufficient_data_is_reported_not_dropped() -> None:
    res = eu_crm(toy(), commodities=["gallium", "germanium", "cobalt"])
    t = res.table.set_index("commodity")
    assert t.loc["germanium", "status"] == STATUS_INSUFFICIENT
    assert "missing" in t.loc["germanium", "reason"]
    assert t.loc["cobalt", "status"] == STATUS_INSUFFICIENT
    assert "no mining production rows" in t.loc["cobalt", "reason"]
    assert math.isnan(t.loc["germanium", "sr"])
    assert t.loc["gallium", "status"] == STATUS_OK
    assert list(res.table["commodity"])[-1] in {"germanium", "cobalt"}  # insufficient rows last
    # A requested year without data is reported too.
    row = _row(eu_crm(toy(), commodities=["gallium"], year=2020), "gallium")
    assert row["status"] == STATUS_INSUFFICIENT
    assert "2020" in row["reason"]


def test_usgs_on_toy() -> None:
    res = usgs_2022(toy(), commodities=["gallium", "lithium", "germanium"])
    t = res.table.set_index("commodity")
    # DP = 0.392, TE = 1.0 (printed 100), EV default 1.0
    assert t.loc["gallium", "dp"] == pytest.approx(0.392)
    assert t.loc["gallium", "score"] == pytest.approx(0.392)
    assert t.loc["gallium", "rank"] == 1
    # lithium: DP = 0.25 * 0.1 + 0.25 * 0.6 = 0.175, TE = ">25" -> 0.25 flagged as a bound
    assert t.loc["lithium", "te"] == pytest.approx(0.25)
    assert t.loc["lithium", "te_bound"] == "gt"
    assert "te:bound" in t.loc["lithium", "assumed_inputs"]
    assert t.loc["lithium", "score"] == pytest.approx(0.175 * 0.25)
    assert t.loc["lithium", "rank"] == 2
    assert "ev" in t.loc["gallium", "assumed_inputs"]
    assert t.loc["germanium", "status"] == STATUS_INSUFFICIENT
    assert pd.isna(t.loc["germanium", "rank"])
    user = usgs_2022(
        toy(), commodities=["lithium"], params=USGSParams(economic_vulnerability={"lithium": 0.5})
    )
    row = _row(user, "lithium")
    assert row["score"] == pytest.approx(0.175 * 0.25 * 0.5)
    assert "ev" not in row["assumed_inputs"]


def test_dispatcher_and_json() -> None:
    res = criticality("EU", ds=toy([GA_CONTROL]), commodities=["gallium", "germanium"])
    assert res.method is CriticalityMethod.EU
    assert res.data_version == "t"
    assert res.params["thresholds"] == {"sr": 1.0, "ei": 2.8}
    doc = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert doc["method"] == "eu"
    assert {r["commodity"] for r in doc["rows"]} == {"gallium", "germanium"}
    assert (
        criticality(CriticalityMethod.USGS, ds=toy(), commodities=["gallium"]).method
        is CriticalityMethod.USGS
    )
    with pytest.raises(DataError, match="unknown criticality method"):
        criticality("jrc")
    # re-exported through the package module (PEP 562)
    assert crit.eu_crm is eu_crm
    assert crit.USGSParams is USGSParams


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="less than or equal to 1"):
        EUParams(import_reliance={"gallium": 95.0})  # percent instead of a fraction
    with pytest.raises(DataError, match="unknown commodity"):
        EUParams(eol_rir={"unobtainium": 0.1})


def test_every_default_is_documented() -> None:
    d = load_defaults()
    sources = set(d["sources"])

    def walk(node: Any) -> int:
        n = 0
        if isinstance(node, dict):
            if "value" in node:
                assert node["rationale"].strip()
                assert node["source"] in sources
                n += 1
            n += sum(walk(v) for v in node.values())
        elif isinstance(node, list):
            n += sum(walk(v) for v in node)
        return n

    assert walk({k: v for k, v in d.items() if k != "sources"}) >= 10
    bad = {"sources": {}, "eu": {"defaults": {"x": {"value": 1.0}}}}
    with pytest.raises(DataError, match="rationale"):
        validate_defaults(bad)


# ---------------------------------------------------------------------------------- bundled data


@pytest.fixture(scope="module")
def bundled_eu() -> CriticalityResult:
    return eu_crm()


@pytest.fixture(scope="module")
def bundled_usgs() -> CriticalityResult:
    return usgs_2022()


def test_bundled_eu_key_commodities_have_high_supply_risk(bundled_eu: CriticalityResult) -> None:
    t = bundled_eu.table.set_index("commodity")
    for c in ("rare_earths", "gallium", "graphite"):
        assert t.loc[c, "status"] == STATUS_OK, c
        assert t.loc[c, "sr"] >= 1.0, c
        assert bool(t.loc[c, "critical"]) is True, c
        # China's export controls in force in the assessed year raise t_CHN above 1
        assert t.loc[c, "trade_factors"].get("CHN", 1.0) > 1.0, c
    assert t.loc["gallium", "stage"] == "separation"
    assert "web:mulemstudies-com:97e32b68" in t.loc["gallium", "source_ids"]  # MOFCOM 2023 No.23
    assert "web:hklaw-com:b142d191" in t.loc["rare_earths", "source_ids"]  # MOFCOM 2025 No.18
    assert "t_event:cn-graphite-2023" in t.loc["graphite", "assumed_inputs"]
    ge = t.loc["germanium"]
    assert ge["status"] == STATUS_INSUFFICIENT
    assert "germanium" in ge["reason"]
    assert "missing" in ge["reason"]


def test_bundled_eu_rows_are_consistent(bundled_eu: CriticalityResult) -> None:
    t = bundled_eu.table
    assert t["commodity"].is_unique
    ok = t.loc[t["status"] == STATUS_OK]
    assert len(ok) > 50
    thr = bundled_eu.params["thresholds"]
    expected = (ok["sr"] >= thr["sr"]) & (ok["ei"] >= thr["ei"])
    verdict = ok.loc[ok["critical"].notna()]
    assert (verdict["critical"].astype(bool) == expected[verdict.index]).all()
    # High SR on the default EI alone, or an SR resting on defaults that the EU 2023 SR does not
    # corroborate, is "insufficient data", never critical (cement, steel, pumice; lime, tellurium).
    ei_default = ok["input_basis"].map(lambda b: b.get("ei_value_added") == "default")
    unassessed = ok.loc[ok["critical"].isna()]
    assert ok.loc[ei_default & (ok["sr"] >= thr["sr"])].index.isin(unassessed.index).all()
    assert unassessed["quadrant"].str.startswith("insufficient data (").all()
    critical = set(ok.loc[ok["critical"].fillna(False).astype(bool), "commodity"])
    assert not {"cement", "steel", "pig_iron", "pumice", "dimension_stone", "gemstones"} & critical
    assert not {"lime", "tellurium", "selenium", "fullers_earth"} & critical
    assert {"gallium", "rare_earths", "graphite", "antimony", "tungsten"} <= critical
    by = ok.set_index("commodity")
    # Lithium: computed at mining (SR 0.81), the EU 2023 study at processing (1.9): no verdict,
    # and the difference says why.
    assert pd.isna(by.loc["lithium", "critical"])
    assert "EU 2023 assessed processing" in by.loc["lithium", "difference"]
    assert "EU sourcing not in the data" in by.loc["lime", "difference"]
    for row in t.itertuples():
        defaulted = [k for k, b in row.input_basis.items() if b in ("default", "published")]
        assert set(defaulted) <= set(row.assumed_inputs), row.commodity
        if defaulted:
            assert row.assumed_inputs, row.commodity
    for row in ok.itertuples():
        assert "worldbank:wgi:2024" in row.source_ids, row.commodity
        assert 0.0 <= row.share_covered <= 1.05, row.commodity
    json.dumps(bundled_eu.to_dict(), allow_nan=False)


def test_bundled_export_controls_follow_the_timeline() -> None:
    ds = Dataset.bundled()
    trade = load_defaults()["eu"]["trade"]
    assert export_restrictions(ds, "gallium", 2022, trade) == []
    assert [r.country for r in export_restrictions(ds, "antimony", 2024, trade)] == ["CHN"]
    assert export_restrictions(ds, "graphite", 2022, trade) == []
    # No.57 (erbium etc., Oct 2025) was suspended before it took effect; back in force after 2026-11-10
    assert export_restrictions(ds, "erbium", 2025, trade) == []
    assert len(export_restrictions(ds, "erbium", 2027, trade)) == 1


def test_bundled_usgs_ranking(bundled_usgs: CriticalityResult) -> None:
    t = bundled_usgs.table
    ok = t.loc[t["status"] == STATUS_OK]
    assert ok["score"].to_numpy() == pytest.approx((ok["dp"] * ok["te"] * ok["ev"]).to_numpy())
    assert list(ok["rank"]) == sorted(ok["rank"])
    assert ok["rank"].iloc[0] == 1
    assert ok["score"].is_monotonic_decreasing
    r = t.set_index("commodity")
    # rare earths: the "compounds and metals" net import reliance (MCS 2026: 67% in 2025)
    assert r.loc["rare_earths", "te"] == pytest.approx(0.67)
    assert r.loc["rare_earths", "te_year"] == 2025
    assert r.loc["gallium", "rank"] <= 10
    assert r.loc["germanium", "status"] == STATUS_INSUFFICIENT
    json.dumps(bundled_usgs.to_dict(), allow_nan=False)


def test_default_ei_is_not_an_assessment() -> None:
    # Gallium with no published EU inputs: EI comes only from the neutral default.
    row = _row(
        eu_crm(toy([GA_CONTROL]), commodities=["gallium"], params=EUParams(use_published=False, **SR_GIVEN)),
        "gallium",
    )
    assert row["input_basis"]["ei_value_added"] == "default"
    assert row["sr"] >= 1.0
    assert row["critical"] is None or pd.isna(row["critical"])
    assert row["quadrant"] == "insufficient data (EI)"
    # The same material with an EI of its own is assessed again.
    given = EUParams(use_published=False, ei_value_added={"gallium": 3.0}, **SR_GIVEN)
    assert bool(_row(eu_crm(toy([GA_CONTROL]), commodities=["gallium"], params=given), "gallium")["critical"])


def test_sr_caveats_name_each_default_and_proxy() -> None:
    basis = {"ir": "published", "eol_rir": "default", "si_sr": "published", "hhi_wgi_eu": "default"}
    pub = {"stage_2023": "processing"}
    why = sr_caveats(basis, 0.5, "mining", pub)
    assert why[0] == "eol_rir is the neutral default"
    assert "weighted 1 - IR/2 = 0.75" in why[1]
    assert why[2] == "computed at mining (extraction); EU 2023 assessed processing"
    # The EU imports nearly all of it and the stage matches: nothing to caveat.
    assert sr_caveats({**basis, "eol_rir": "published"}, 0.9, "separation", pub) == []


@pytest.mark.parametrize(
    ("sr", "ei", "sr_ok", "ei_ok", "critical", "quadrant"),
    [
        (2.0, 4.0, True, True, True, "critical"),
        (2.0, 4.0, False, True, None, "insufficient data (SR)"),
        (2.0, 4.0, True, False, None, "insufficient data (EI)"),
        (2.0, 4.0, False, False, None, "insufficient data (SR, EI)"),
        (0.5, 4.0, True, False, False, "high EI, low SR"),  # an assessed low SR decides alone
        (2.0, 1.0, False, True, False, "high SR, low EI"),  # ... as does an assessed low EI
        (0.5, 1.0, False, False, None, "insufficient data (SR, EI)"),
    ],
)
def test_verdict_needs_both_coordinates(
    sr: float, ei: float, sr_ok: bool, ei_ok: bool, critical: bool | None, quadrant: str
) -> None:
    assert eu_verdict(sr, ei, 1.0, 2.8, sr_assessed=sr_ok, ei_assessed=ei_ok) == (critical, quadrant)
