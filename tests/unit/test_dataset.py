"""Dataset resolution rules on a toy table worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.data.catalogue import Source
from critmin.data.dataset import Dataset, validate_table
from critmin.errors import DataError


def _src(sid: str, priority: int, kind: str = "dataset") -> Source:
    return Source(
        id=sid,
        kind=kind,
        publisher="P",
        title=sid,
        url="https://example.org/" + sid,
        licence="public domain",
        priority=priority,
    )  # type: ignore[arg-type]


def _rows(source_id: str, vintage: int, year: int, values: dict[str, float]) -> list[dict[str, object]]:
    return [
        {
            "source_id": source_id,
            "commodity": "rare_earths",
            "stage": "mining",
            "measure": "production",
            "country": c,
            "year": year,
            "value": v,
            "unit": "t",
            "qualifier": "exact",
            "estimated": False,
            "vintage": vintage,
            "series": "toy",
            "note": None,
        }
        for c, v in values.items()
    ]


def toy() -> Dataset:
    rows = (
        _rows("old", 2024, 2023, {"CHN": 70, "USA": 20, "OTH": 10, "WLD": 100})
        + _rows("new", 2025, 2023, {"CHN": 60, "AUS": 30, "WLD": 90})
        + _rows("old", 2024, 2022, {"CHN": 50, "USA": 50, "WLD": 100})
    )
    prod = validate_table(pd.DataFrame(rows), "production")
    return Dataset(
        tables={"production": prod},
        sources={"old": _src("old", 2024), "new": _src("new", 2025)},
        version="toy",
    )


def test_one_source_per_cross_section() -> None:
    ds = toy()
    got = ds.production("rare_earths", "mining", 2023).set_index("country")["value"].to_dict()
    # "new" wins the whole 2023 section: USA and OTH from "old" must not leak in.
    assert got == {"AUS": 30, "CHN": 60, "WLD": 90}
    assert set(ds.production("rare_earths", "mining", 2022)["source_id"]) == {"old"}
    assert len(ds.production("rare_earths", "mining", 2023, all_vintages=True)) == 7


def test_shares_use_world_row() -> None:
    sh = toy().shares("rare_earths", "mining", 2023).set_index("country")["share"]
    assert sh["CHN"] == pytest.approx(60 / 90)
    assert "WLD" not in sh.index


def test_shares_without_world_row_sum_all_rows() -> None:
    rows = _rows("old", 2024, 2023, {"CHN": 3, "USA": 1})
    ds = Dataset(
        tables={"production": validate_table(pd.DataFrame(rows), "production")},
        sources={"old": _src("old", 1)},
        version="t",
    )
    assert ds.shares("rare_earths", "mining", 2023).set_index("country")["share"]["CHN"] == pytest.approx(
        0.75
    )


def test_overlay_overrides_row_and_adjusts_world_total() -> None:
    ds = toy()
    over = pd.DataFrame(_rows("mine", 2026, 2023, {"CHN": 80, "BRA": 5}))
    ds2 = ds.with_overlay({"production": over}, [_src("mine", 0, "user")], tag="o1")
    got = ds2.production("rare_earths", "mining", 2023).set_index("country")
    assert got.loc["CHN", "value"] == 80
    assert got.loc["AUS", "value"] == 30
    assert got.loc["BRA", "value"] == 5
    # 90 + (80 - 60) + 5 = 115, flagged as adjusted
    assert got.loc["WLD", "value"] == pytest.approx(115)
    assert got.loc["WLD", "qualifier"] == "adjusted"
    assert ds2.version != ds.version
    # the original is untouched (frozen, no shared mutation)
    assert ds.production("rare_earths", "mining", 2023).set_index("country").loc["WLD", "value"] == 90


def test_overlay_with_its_own_world_total_is_not_adjusted() -> None:
    over = pd.DataFrame(_rows("mine", 2026, 2023, {"CHN": 80, "WLD": 200}))
    ds2 = toy().with_overlay({"production": over}, [_src("mine", 0, "user")], tag="o1")
    got = ds2.production("rare_earths", "mining", 2023).set_index("country")
    assert got.loc["WLD", "value"] == 200


def test_unknown_stage_for_commodity() -> None:
    with pytest.raises(DataError, match="has no stage"):
        toy().production("gallium", "mining")


def test_schema_violation_names_line_and_column() -> None:
    rows = _rows("old", 2024, 2023, {"CHN": 1, "USA": -5})
    with pytest.raises(DataError) as exc:
        validate_table(pd.DataFrame(rows), "production", path="p.csv")
    msg = str(exc.value)
    assert "p.csv:3" in msg
    assert "'value'" in msg


def test_latest_year() -> None:
    assert toy().latest_year("rare_earths", "mining") == 2023


def test_world_total_excluding_us_gets_us_added_back() -> None:
    rows = _rows("old", 2024, 2023, {"CHN": 60, "USA": 20, "WLD": 80})
    rows[-1]["note"] = "Excludes U.S. production."
    ds = Dataset(
        tables={"production": validate_table(pd.DataFrame(rows), "production")},
        sources={"old": _src("old", 1)},
        version="t",
    )
    sh = ds.shares("rare_earths", "mining", 2023).set_index("country")["share"]
    assert sh["CHN"] == pytest.approx(60 / 100)
    assert sh["USA"] == pytest.approx(20 / 100)


def test_lone_country_figure_has_no_share() -> None:
    rows = _rows("old", 2024, 2023, {"CHN": 300})
    ds = Dataset(
        tables={"production": validate_table(pd.DataFrame(rows), "production")},
        sources={"old": _src("old", 1)},
        version="t",
    )
    assert ds.shares("rare_earths", "mining", 2023)["share"].isna().all()


def _share(
    sid: str, year: int, country: str, share: float, *, quality: str = "primary", assumption: bool = False
) -> dict[str, object]:
    return {
        "source_id": sid,
        "commodity": "rare_earths",
        "stage": "separation",
        "country": country,
        "year": year,
        "share": share,
        "qualifier": "exact",
        "scope": "toy",
        "basis": "volume",
        "is_projection": False,
        "is_assumption": assumption,
        "quality": quality,
        "note": None,
    }


def test_stage_share_set_selection() -> None:
    rows = [
        _share("iea", 2024, "CHN", 0.91),
        _share("iea", 2024, "MYS", 0.05),
        _share("iea", 2024, "ROW", 0.04),
        _share("blog", 2025, "CHN", 0.95, quality="low - blog"),
        _share("news", 2025, "CHN", 0.85),
        _share("old", 2010, "CHN", 0.8),
        _share("old", 2010, "JPN", 0.2),
        _share("assume", 2025, "CHN", 0.9, assumption=True),
    ]
    ss = validate_table(pd.DataFrame(rows), "stage_shares")
    ds = Dataset(tables={"stage_shares": ss}, sources={}, version="t")
    # the complete, recent, not-weak IEA set beats a newer single statement, a weak one,
    # an old complete set and an assumption
    got = ds.stage_shares("rare_earths", "separation")
    assert set(got["source_id"]) == {"iea"}
    assert got.iloc[0]["country"] == "CHN"
    # without the IEA set, the newest single statement that is not weak wins
    ds2 = Dataset(tables={"stage_shares": ss.loc[ss["source_id"] != "iea"]}, sources={}, version="t")
    assert set(ds2.stage_shares("rare_earths", "separation")["source_id"]) == {"news"}
    # assumptions only when nothing published is left
    ds3 = Dataset(tables={"stage_shares": ss.loc[ss["source_id"] == "assume"]}, sources={}, version="t")
    assert set(ds3.stage_shares("rare_earths", "separation")["source_id"]) == {"assume"}
