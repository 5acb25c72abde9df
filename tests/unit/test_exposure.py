"""Exposure metrics on toy chains worked out by hand, and the vectorised table against them."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.data.catalogue import Source
from critmin.data.dataset import Dataset, validate_table
from critmin.metrics.concentration import hhi, hhi_wgi, n_minus_1_coverage, n_to_reach, top_share
from critmin.metrics.exposure import concentration_table, exposure
from critmin.metrics.reliance import best_nir, net_import_reliance

SRC = Source(id="toy", kind="dataset", publisher="P", title="toy", url="https://example.org", licence="pd")


def _prod(
    values: dict[str, float],
    *,
    stage: str = "mining",
    year: int = 2024,
    commodity: str = "rare_earths",
    note: str | None = None,
) -> list[dict[str, object]]:
    return [
        {
            "source_id": "toy",
            "commodity": commodity,
            "stage": stage,
            "measure": "production",
            "country": c,
            "year": year,
            "value": v,
            "unit": "t",
            "qualifier": "exact",
            "estimated": False,
            "vintage": 2025,
            "series": "toy",
            "note": note if c == "WLD" else None,
        }
        for c, v in values.items()
    ]


def _wgi(scores: dict[str, float]) -> pd.DataFrame:
    # a country's six indicators all equal `est` -> scaled = 5 - 2*est
    return validate_table(
        pd.DataFrame(
            [
                {
                    "source_id": "toy",
                    "country": c,
                    "year": 2023,
                    "indicator": i,
                    "estimate": est,
                    "stddev": None,
                    "pctrank": None,
                }
                for c, est in scores.items()
                for i in ("va", "pv", "ge", "rq", "rl", "cc")
            ]
        ),
        "wgi",
    )


def _empty(name: str) -> pd.DataFrame:
    from critmin.data.schemas import TABLES

    return pd.DataFrame(columns=list(TABLES[name][1].to_schema().columns))


def toy(extra_salient: list[dict[str, object]] | None = None) -> Dataset:
    prod = _prod({"CHN": 60, "AUS": 20, "USA": 10, "OTH": 10, "WLD": 100})
    prod += _prod({"CHN": 90, "MYS": 10, "WLD": 100}, stage="separation")
    tables = {
        "production": validate_table(pd.DataFrame(prod), "production"),
        "stage_shares": _empty("stage_shares").astype(
            {"share": float, "is_projection": bool, "is_assumption": bool, "year": int}
        ),
        # CHN est -0.5 -> 6.0; AUS 1.5 -> 2.0; USA 1.0 -> 3.0; MYS 0.5 -> 4.0
        "wgi": _wgi({"CHN": -0.5, "AUS": 1.5, "USA": 1.0, "MYS": 0.5}),
        "salient": validate_table(pd.DataFrame(extra_salient), "salient")
        if extra_salient
        else _empty("salient"),
        "import_reliance": _empty("import_reliance"),
    }
    return Dataset(tables=tables, sources={"toy": SRC}, version="toy")


def test_exposure_by_hand() -> None:
    r = exposure("rare_earths", 2024, dataset=toy())
    st_ = r.stages.set_index("stage")
    # mining: shares .6/.2/.1 (OTH .1 is residual, not a country)
    assert st_.loc["mining", "hhi"] == pytest.approx(3600 + 400 + 100)
    assert st_.loc["mining", "hhi_wgi"] == pytest.approx(0.36 * 6 + 0.04 * 2 + 0.01 * 3)
    assert st_.loc["mining", "top3_share"] == pytest.approx(0.9)
    assert st_.loc["mining", "n_to_80pct"] == 2
    assert st_.loc["mining", "n_minus_1_coverage"] == pytest.approx(0.4)
    assert bool(st_.loc["mining", "over_50pct"]) is True
    assert bool(st_.loc["mining", "over_crma_65pct"]) is False
    # separation: .9/.1 -> 8200; chokepoint is the most concentrated stage
    assert st_.loc["separation", "hhi"] == pytest.approx(8200)
    assert bool(st_.loc["separation", "over_crma_65pct"]) is True
    assert r.chokepoint == "separation"
    assert r.to_dict()["stages"][0]["stage"] == "mining"


def test_vectorised_table_matches_pure_functions() -> None:
    ds = toy()
    t = concentration_table(ds).set_index(["stage"])
    assert t.loc["mining", "hhi"] == pytest.approx(hhi([0.6, 0.2, 0.1]))
    assert t.loc["mining", "hhi_wgi"] == pytest.approx(
        hhi_wgi({"CHN": 0.6, "AUS": 0.2, "USA": 0.1}, {"CHN": 6, "AUS": 2, "USA": 3})
    )
    assert t.loc["separation", "n_to_80pct"] == n_to_reach([0.9, 0.1])
    assert t.loc["mining", "top3_share"] == pytest.approx(top_share([0.6, 0.2, 0.1], 3))
    assert t.loc["mining", "n_minus_1_coverage"] == pytest.approx(n_minus_1_coverage([0.6, 0.2, 0.1]))


def test_hhi_wgi_missing_country_raises() -> None:
    with pytest.raises(KeyError, match="XKX"):
        hhi_wgi({"XKX": 0.5}, {"CHN": 5.0})


def test_trade_factor_scales_hhi_wgi() -> None:
    assert hhi_wgi({"CHN": 0.5}, {"CHN": 6.0}, {"CHN": 1.5}) == pytest.approx(0.25 * 6 * 1.5)


def test_nir_by_hand() -> None:
    assert net_import_reliance(apparent_consumption=27_000, production=8_900) == pytest.approx(
        ((27_000 - 8_900) / 27_000, "eq")
    )
    v, b = net_import_reliance(imports=50, exports=10, production=60, stock_change=0)
    assert (v, b) == (pytest.approx(40 / 100), "eq")
    v, b = net_import_reliance(imports=10, exports=50, production=100)
    assert math.isnan(v)
    assert b == "net_exporter"
    assert net_import_reliance(apparent_consumption=None, production=1)[1] == "not_available"


def _sal(item: str, value: float, year: int = 2024) -> dict[str, object]:
    return {
        "source_id": "toy",
        "country": "USA",
        "commodity": "rare_earths",
        "year": year,
        "item": item,
        "label": item,
        "value": value,
        "unit": "t",
        "qualifier": "exact",
        "estimated": False,
        "vintage": 2026,
        "note": None,
    }


def test_nir_computed_from_salient() -> None:
    ds = toy([_sal("apparent_consumption_compounds_metals", 9010), _sal("production_compounds_metals", 4300)])
    n = best_nir(ds, "rare_earths", "USA")
    assert n is not None
    assert n.method == "computed"
    assert n.value == pytest.approx((9010 - 4300) / 9010)
    assert n.form == "compounds and metals"


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=1000), min_size=2, max_size=12))
def test_hhi_invariant_to_scaling_and_bounded(values: list[float]) -> None:
    codes = ["CHN", "AUS", "USA", "MYS", "BRA", "IND", "RUS", "VNM", "THA", "MMR", "CAN", "ZAF"]
    prod = {codes[i]: v for i, v in enumerate(values)}
    a = concentration_table(_ds_with(prod)).iloc[0]
    b = concentration_table(_ds_with({k: v * 7.5 for k, v in prod.items()})).iloc[0]
    assert a["hhi"] == pytest.approx(b["hhi"])
    assert 10_000 / len(values) - 1e-6 <= a["hhi"] <= 10_000 + 1e-6
    assert 0 <= a["n_minus_1_coverage"] <= 1


def _ds_with(prod: dict[str, float]) -> Dataset:
    ds = toy()
    tables = dict(ds.tables)
    tables["production"] = validate_table(pd.DataFrame(_prod(prod)), "production")
    return Dataset(tables=tables, sources=ds.sources, version="p")


def test_bundled_regression_rare_earth_mining_2024() -> None:
    """Pinned: rare-earth mining 2024 from the MCS 2026 table (world 380,000 t REO)."""
    r = exposure("rare_earths", 2024, dataset=Dataset.bundled())
    m = r.stages.set_index("stage").loc["mining"]
    # China 270,000, US 45,500, Australia 29,000, Burma 27,000 ... of 380,000
    assert m["top1_country"] == "CHN"
    assert m["top1_share"] == pytest.approx(270_000 / 380_000)
    assert m["top3_share"] == pytest.approx((270_000 + 45_500 + 29_000) / 380_000)
    assert m["n_to_80pct"] == 2
    assert m["hhi"] == pytest.approx(5302.248, rel=1e-6)
    assert m["hhi_wgi"] == pytest.approx(2.914427, rel=1e-5)
    assert r.nir is not None
    assert r.nir.value == pytest.approx((9010 - 4300) / 9010)
