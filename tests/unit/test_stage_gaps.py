"""Stage parsing (one parser, nearest stage) and why a stage has no shares (metrics.exposure)."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.data.catalogue import Source
from critmin.data.load import load_dataset
from critmin.errors import DataError
from critmin.metrics.exposure import StageGap, exposure, shares_at_stage, stage_gap
from critmin.model.stages import Stage, nearest_stage, parse_stage
from critmin.trace.firms import parse_stage as firms_parse_stage


# --------------------------------------------------------------------------- parse_stage
@pytest.mark.parametrize(
    ("text", "stage"),
    [("mining", Stage.MINING), ("Metal-Alloy", Stage.METAL_ALLOY), (" end use ", Stage.END_USE)],
)
def test_parse_stage_forgives_case_spaces_and_hyphens(text: str, stage: Stage) -> None:
    assert parse_stage(text) is stage
    assert parse_stage(stage) is stage


@pytest.mark.parametrize(
    ("text", "near"),
    [("mine", "mining"), ("separaton", "separation"), ("refining", "separation"), ("magnets", "magnet")],
)
def test_unknown_stages_get_the_nearest_one_and_are_never_accepted(text: str, near: str) -> None:
    with pytest.raises(DataError, match=rf"unknown --stage '{text}'\. Fix: did you mean '{near}'\?") as exc:
        parse_stage(text, what="--stage")
    assert "valid stages: mining, separation, metal_alloy, magnet, component, end_use" in str(exc.value)
    assert nearest_stage(text) is Stage(near)


def test_a_valid_stage_outside_the_allowed_ones_is_named_as_such() -> None:
    chain = (Stage.MINING, Stage.SEPARATION)
    assert parse_stage("separation", allowed=chain) is Stage.SEPARATION
    with pytest.raises(
        DataError, match=r"'magnet' is not a stage here\. Fix: use one of mining, separation$"
    ):
        parse_stage("magnet", allowed=chain)
    with pytest.raises(DataError, match=r"unknown stage 'zzz'\. Fix: valid stages: mining, separation$"):
        parse_stage("zzz", allowed=chain)


def test_the_firm_reader_uses_the_same_parser() -> None:
    assert firms_parse_stage is parse_stage
    with pytest.raises(DataError, match=r"^f\.csv:3: column 'stage': unknown stage 'mine'"):
        firms_parse_stage("mine", path="f.csv", line=3, column="stage")


# --------------------------------------------------------------------------- stage_gap
def test_withheld_figures_are_the_reason_for_germanium() -> None:
    ds = load_dataset()
    gap = stage_gap(ds, "germanium", "separation")
    assert gap.stage == "separation"
    assert "rows for 2021-2023 but no figures" in gap.reason
    assert "'withheld'" in gap.reason
    assert gap.try_year is None


def test_a_year_outside_the_data_gets_the_covered_years_and_the_nearest_year() -> None:
    ds = load_dataset()
    gap = stage_gap(ds, "rare_earths", "mining", 1990)
    assert "production table covers 1992-2025" in gap.reason
    assert gap.try_year == 1992
    assert shares_at_stage(ds, "rare_earths", "mining", 1992) is not None
    assert gap.describe("rare_earths", 1990) == (
        f"no mining data for rare_earths in 1990: {gap.reason}; try --year 1992"
    )


def test_stages_no_table_covers() -> None:
    gap = stage_gap(load_dataset(), "rare_earths", "end_use")
    assert "no bundled table gives country shares" in gap.reason
    assert "end_uses" in gap.reason


def test_a_lone_country_figure_is_the_reason_when_it_is_all_there_is() -> None:
    src = Source(
        id="user:lone",
        kind="user",
        publisher="P",
        title="lone",
        url="https://example.org/l",
        licence="CC0",
        priority=0,
    )
    row = {
        "source_id": "user:lone",
        "commodity": "neodymium",
        "stage": "magnet",
        "measure": "production",
        "country": "JPN",
        "year": 2024,
        "value": 100.0,
        "unit": "t",
        "qualifier": "exact",
        "estimated": False,
        "vintage": 2026,
        "series": "toy",
        "note": None,
    }
    ds = load_dataset().with_vintage(pd.DataFrame([row]), src, tag="lone")
    gap = stage_gap(ds, "neodymium", "magnet")
    assert gap.reason == "the bundled production table has one country's figure only (JPN): no world share"


def test_exposure_report_carries_its_gaps() -> None:
    rep = exposure("rare_earths")
    assert [g.stage for g in rep.gaps] == ["component", "end_use"]
    assert not rep.empty
    assert rep.to_dict()["missing_stages"][0]["stage"] == "component"
    nothing = exposure("neodymium")
    assert nothing.empty
    assert all(isinstance(g, StageGap) for g in nothing.gaps)
