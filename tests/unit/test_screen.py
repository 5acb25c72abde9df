"""Bill-of-materials screening: thresholds, dates in force, swaps, prices and hostile input."""

from __future__ import annotations

import json
import math
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import typer
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from critmin.cli.screen import screen_cmd
from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.trace.screen import (
    Rule,
    RuleState,
    ScreenResult,
    bundled_rule_names,
    element_prices,
    load_rules,
    parse_swaps,
    rare_earth_elements,
    read_bom,
    screen,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bom"
EXAMPLE = FIXTURES / "example.csv"
THRESHOLD = FIXTURES / "threshold.csv"
HEADER = "product_id,product_value_usd,component_id,element,element_mass_kg,origin_country,element_value_usd"


def write(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "bom.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def rule(name: str) -> Rule:
    return load_rules(name)[0]


def required(result: ScreenResult) -> dict[str, bool]:
    return dict(zip(result.products["product_id"], result.products["licence_required"], strict=True))


# ---------------------------------------------------------------------------- threshold
def test_threshold_exactly_at_below_and_above_the_0_1_pct_de_minimis() -> None:
    # as_of 2026-11-11: the first day after the No. 70 suspension, so No. 61 is in force.
    result = screen(read_bom(THRESHOLD), [rule("mofcom-2025-61")], as_of=date(2026, 11, 11))
    assert result.status("mofcom-2025-61").in_force
    shares = dict(zip(result.products["product_id"], result.products["share"], strict=True))
    assert shares["at-threshold"] == pytest.approx(0.001)
    assert shares["below-threshold"] == pytest.approx(0.0009999)
    assert shares["above-threshold"] == pytest.approx(0.0010001)
    assert required(result) == {"at-threshold": True, "below-threshold": False, "above-threshold": True}
    row = result.products.set_index("product_id").loc["at-threshold"]
    assert row["tripping_components"] == ["magnet-at"]
    assert row["rules"] == ["mofcom-2025-61"]
    assert result.products.set_index("product_id").loc["below-threshold", "tripping_components"] == []


def test_threshold_via_bundled_price_mass_times_usd_per_kg(tmp_path: Path) -> None:
    # Dy: 260 USD/kg oxide (USGS MCS 2025, 2024). 1 kg in a 260,000 USD item is exactly 0.1%.
    assert element_prices()["Dy"].usd_per_kg == 260.0
    bom = write(
        tmp_path,
        "at,260000,m1,Dy,1,CHN,",
        "below,260000.5,m2,dy,1,China,",
        "above,259999.5,m3,DYSPROSIUM,1,CHN,",
    )
    result = screen(bom, [rule("mofcom-2025-61")], as_of=date(2027, 1, 1))
    assert required(result) == {"at": True, "below": False, "above": True}
    assert result.products.loc[0, "controlled_value_usd"] == 260.0
    assert result.products.loc[0, "price_basis"] == {"Dy": "usgs-mcs2025-rare-earths"}


def test_threshold_is_not_lost_to_binary_rounding(tmp_path: Path) -> None:
    # 0.1 + 0.1 + 0.7 = 0.8999999999999999 in binary floating point; 0.9 / 900 is exactly 0.1%.
    bom = write(tmp_path, "p,900,a,Dy,,CHN,0.1", "p,900,b,Tb,,CHN,0.1", "p,900,c,Dy,,CHN,0.7")
    result = screen(bom, [rule("mofcom-2025-61")], as_of=date(2027, 1, 1))
    assert result.products.loc[0, "share"] < 0.001
    assert required(result) == {"p": True}


def test_strict_comparison_excludes_the_threshold_itself() -> None:
    strict = rule("mofcom-2025-61").model_copy(update={"comparison": ">"})
    result = screen(read_bom(THRESHOLD), [strict], as_of=date(2026, 11, 11))
    assert required(result) == {"at-threshold": False, "below-threshold": False, "above-threshold": True}


def test_zero_threshold_means_any_controlled_content(tmp_path: Path) -> None:
    bom = write(tmp_path, "tiny,1e9,m,Tb,0.000001,CHN,", "none,100,m2,Tb,0,CHN,", "nd-only,100,m3,Nd,5,CHN,")
    result = screen(bom, [rule("mofcom-2025-18")], as_of=date(2025, 6, 1))
    assert required(result) == {"tiny": True, "none": False, "nd-only": False}


# ---------------------------------------------------------------------------- dates
@pytest.mark.parametrize(
    ("as_of", "state", "licence"),
    [
        (date(2025, 11, 6), RuleState.NOT_YET_EFFECTIVE, False),  # before No. 70 and before 1 Dec
        (date(2025, 11, 9), RuleState.NOT_YET_EFFECTIVE, False),  # suspended, and not yet effective
        (date(2025, 12, 1), RuleState.SUSPENDED, False),  # effective date falls inside the window
        (date(2026, 1, 15), RuleState.SUSPENDED, False),
        (date(2026, 11, 10), RuleState.SUSPENDED, False),  # "until 10 Nov 2026": end inclusive
        (date(2026, 11, 11), RuleState.IN_FORCE, True),  # applies again the day after
        (date(2027, 6, 1), RuleState.IN_FORCE, True),
    ],
)
def test_no61_suspension_window(as_of: date, state: RuleState, licence: bool) -> None:
    result = screen(read_bom(THRESHOLD), [rule("mofcom-2025-61")], as_of=as_of)
    st = result.status("mofcom-2025-61")
    assert st.state is state
    assert st.in_force is (state is RuleState.IN_FORCE)
    assert required(result)["above-threshold"] is licence


def test_status_reasons_say_why() -> None:
    r61 = rule("mofcom-2025-61")
    assert "2026-11-10" in r61.status(date(2026, 1, 1)).reason
    assert "2026-11-11" in r61.status(date(2026, 1, 1)).reason
    assert "not yet effective" in r61.status(date(2025, 11, 9)).reason
    ended = r61.model_copy(update={"end_date": date(2027, 1, 1)})
    assert ended.status(date(2027, 1, 2)).state is RuleState.ENDED
    assert ended.status(date(2027, 1, 1)).state is RuleState.IN_FORCE


def test_no18_in_force_from_2025_04_04(tmp_path: Path) -> None:
    bom = write(tmp_path, "p,1000,m,Tb,0.01,CHN,")
    r18 = rule("mofcom-2025-18")
    before = screen(bom, [r18], as_of=date(2025, 4, 3))
    assert before.status("mofcom-2025-18").state is RuleState.NOT_YET_EFFECTIVE
    assert required(before) == {"p": False}
    # The controlled content is reported even when the rule is not in force.
    assert before.products.loc[0, "controlled_value_usd"] == pytest.approx(8.1)
    on = screen(bom, [r18], as_of=date(2025, 4, 4))
    assert required(on) == {"p": True}
    # No. 70 did not suspend No. 18.
    assert screen(bom, [r18], as_of=date(2026, 1, 15)).status("mofcom-2025-18").in_force


def test_destination_excluded_and_covered() -> None:
    r61 = rule("mofcom-2025-61")
    bom = read_bom(THRESHOLD)
    to_chn = screen(bom, [r61], as_of=date(2027, 1, 1), destination="China")
    assert to_chn.status("mofcom-2025-61").state is RuleState.DESTINATION_NOT_COVERED
    assert not any(required(to_chn).values())
    to_usa = screen(bom, [r61], as_of=date(2027, 1, 1), destination="USA")
    assert to_usa.destination == "USA"
    assert required(to_usa)["at-threshold"]
    only_jpn = r61.model_copy(update={"destinations": ("JPN",)})
    assert only_jpn.status(date(2027, 1, 1), "USA").state is RuleState.DESTINATION_NOT_COVERED
    assert only_jpn.status(date(2027, 1, 1), "JPN").in_force


# ---------------------------------------------------------------------------- swaps, aggregation
def test_swap_changes_the_outcome() -> None:
    rules = load_rules(["mofcom-2025-61"])
    base = screen(read_bom(EXAMPLE), rules, as_of=date(2026, 11, 11))
    assert required(base)["ev-motor"]
    swapped = screen(
        read_bom(EXAMPLE), rules, as_of=date(2026, 11, 11), swaps=parse_swaps(["rotor-magnet=AUS"])
    )
    assert not required(swapped)["ev-motor"]
    assert swapped.products.set_index("product_id").loc["ev-motor", "controlled_value_usd"] == 0
    assert swapped.swaps == {"rotor-magnet": "AUS"}
    # And the other way: bring a Japanese-origin component into scope.
    to_chn = screen(
        read_bom(EXAMPLE), load_rules("mofcom-2025-18"), as_of=date(2026, 1, 1), swaps={"resolver": "CHN"}
    )
    assert "resolver" in to_chn.products.set_index("product_id").loc["ev-motor", "tripping_components"]


def test_swap_unknown_component_or_bad_text() -> None:
    with pytest.raises(DataError, match=r"'rotor-magnt'.*not in the BOM.*did you mean 'rotor-magnet'"):
        screen(read_bom(EXAMPLE), load_rules("all"), as_of=date(2027, 1, 1), swaps={"rotor-magnt": "AUS"})
    with pytest.raises(DataError, match="COMPONENT=ISO3"):
        parse_swaps(["rotor-magnet"])
    with pytest.raises(DataError, match="Atlantis"):
        parse_swaps(["rotor-magnet=Atlantis"])


def test_example_products_rules_and_union_of_controlled_content() -> None:
    result = screen(read_bom(EXAMPLE), load_rules("all"), as_of=date(2026, 11, 11))
    p = result.products.set_index("product_id")
    # ev-motor: Dy 0.05 kg x 260 + Tb 0.01 kg x 810 = 21.1 USD of 1,500 (Nd, Pr are not controlled).
    assert p.loc["ev-motor", "controlled_value_usd"] == pytest.approx(21.1)
    assert p.loc["ev-motor", "rules"] == ["mofcom-2025-18", "mofcom-2025-61"]
    # servo-drive: Dy 0.001 kg x 260 = 0.26 of 300 = 0.087%: No. 18 (any content) only.
    assert p.loc["servo-drive", "rules"] == ["mofcom-2025-18"]
    assert not p.loc["speaker", "licence_required"]
    assert p.loc["speaker", "controlled_components"] == []
    # pet-detector: Lu has no bundled price, the BOM gives it; Y priced from USGS MCS 2023.
    assert p.loc["pet-detector", "price_basis"] == {"Lu": "bom", "Y": "usgs-mcs2023"}
    assert p.loc["pet-detector", "controlled_value_usd"] == pytest.approx(400 + 0.02 * 13)
    assert set(result.prices) == {"Tb", "Dy", "Y"}


def test_to_dict_is_the_documented_json() -> None:
    result = screen(read_bom(EXAMPLE), load_rules("all"), as_of=date(2026, 1, 15), destination="USA")
    doc = json.loads(json.dumps(result.to_dict()))
    assert doc["as_of"] == "2026-01-15"
    assert doc["rules"] == ["mofcom-2025-18", "mofcom-2025-61"]
    prod = {p["product_id"]: p for p in doc["products"]}
    assert {"controlled_value_usd", "share", "licence_required", "tripping_components"} <= set(
        prod["ev-motor"]
    )
    assert prod["ev-motor"]["rules"] == ["mofcom-2025-18"]
    status = {s["id"]: s for s in doc["rule_status"]}
    assert status["mofcom-2025-61"]["state"] == "suspended"
    assert status["mofcom-2025-18"]["in_force"] is True
    cited = {s["id"] for s in doc["sources"]}
    assert {"web:hklaw-com:b142d191", "web:chemradar-com:9609ce25", "usgs-mcs2025-rare-earths"} <= cited
    assert "web:rawmaterials-net:7e3500a9" in cited  # a rule-local source
    assert doc["data_version"] == Dataset.bundled().version


@settings(max_examples=60, deadline=None)
@given(
    content=st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
    value=st.floats(min_value=1.0, max_value=1e9, allow_nan=False),
)
def test_licence_required_iff_share_meets_threshold(content: float, value: float) -> None:
    share = content / value
    if content > value:
        return  # controlled content above the product value is refused (tests/unit/test_hostile_bom.py)
    if math.isclose(share, 0.001, rel_tol=1e-6):
        return  # the tolerance band is tested above
    frame = pd.DataFrame(
        {
            "product_id": ["p"],
            "product_value_usd": [value],
            "component_id": ["c"],
            "element": ["Dy"],
            "element_mass_kg": [math.nan],
            "origin_country": ["CHN"],
            "element_value_usd": [content],
        }
    )
    result = screen(frame, [rule("mofcom-2025-61")], as_of=date(2027, 1, 1))
    assert bool(result.products.loc[0, "licence_required"]) is (share >= 0.001)


# ---------------------------------------------------------------------------- hostile BOMs
def test_missing_price_names_the_line_and_the_fix(tmp_path: Path) -> None:
    bom = write(
        tmp_path,
        "p,1000,m1,Dy,0.01,CHN,",
        "p,1000,m2,Lu,0.01,CHN,",
        header=HEADER,
    )
    with pytest.raises(DataError) as exc:
        screen(bom, load_rules("all"), as_of=date(2027, 1, 1))
    text = str(exc.value)
    assert f"{bom}:3:" in text
    assert "column 'element'" in text
    assert "Lu (Lutetium)" in text
    assert "add an element_value_usd column" in text
    # Not controlled (Australian origin): no price needed, no error.
    ok = write(tmp_path, "p,1000,m2,Lu,0.01,AUS,", name="ok.csv")
    assert not screen(ok, load_rules("all"), as_of=date(2027, 1, 1)).products.loc[0, "licence_required"]


@pytest.mark.parametrize(
    ("row", "line", "column", "pattern"),
    [
        ("p,1000,m,Dy,-0.5,CHN,", 3, "element_mass_kg", "-0.5 is out of range"),
        ("p,1000,m,Xx,0.5,CHN,", 3, "element", "'Xx' is not a rare-earth element.*La, Ce, Pr"),
        ("p,1000,m,Dx,0.5,CHN,", 3, "element", "did you mean 'Dy'"),
        ("p,999,m,Dy,0.5,CHN,", 3, "product_value_usd", "999 here but 1000 on line 2"),
        ("p,1000,m,Dy,0.5,Atlantis,", 3, "origin_country", "unknown country 'Atlantis'"),
        ("p,1000,m,Dy,0.5,WLD,", 3, "origin_country", "not one country"),
        ("p,1000,m,Dy,inf,CHN,", 3, "element_mass_kg", "not a finite number"),
        ("p,1000,m,Dy,1 kg,CHN,", 3, "element_mass_kg", "not a number"),
        ("p,1000,m,Dy,,CHN,", 3, "element_mass_kg", "empty cell"),
        ("p,1000,m,Dy,0.5,CHN,-3", 3, "element_value_usd", "out of range"),
        ("p,1000,,Dy,0.5,CHN,", 3, "component_id", "empty cell"),
    ],
)
def test_hostile_rows_name_line_and_column(
    tmp_path: Path, row: str, line: int, column: str, pattern: str
) -> None:
    bom = write(tmp_path, "p,1000,m0,Tb,0.1,CHN,", row)
    with pytest.raises(DataError) as exc:
        read_bom(bom)
    assert exc.value.line == line
    assert exc.value.column == column
    assert exc.value.fix
    assert re.search(pattern, str(exc.value))
    assert str(exc.value).startswith(f"{bom}:{line}: column '{column}'")


def test_hostile_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="product_value_usd must be above 0"):
        read_bom(write(tmp_path, "p,0,m,Dy,1,CHN,"))
    with pytest.raises(DataError, match=r"missing required column\(s\) \['origin_country'\]"):
        read_bom(
            write(
                tmp_path,
                "p,1,m,Dy,1",
                header="product_id,product_value_usd,component_id,element,element_mass_kg",
            )
        )
    with pytest.raises(DataError, match="did you mean 'element_value_usd'"):
        read_bom(
            write(tmp_path, "p,1,m,Dy,1,CHN,2", header=HEADER.replace("element_value_usd", "element_value"))
        )
    with pytest.raises(DataError, match="no data rows"):
        read_bom(write(tmp_path))
    with pytest.raises(DataError, match="expected 7 fields, found 8"):
        read_bom(write(tmp_path, "p,1,m,Dy,1,CHN,,extra"))
    with pytest.raises(DataError, match="file not found"):
        read_bom(tmp_path / "nope.csv")


def test_line_numbers_survive_blank_lines_and_quoted_newlines(tmp_path: Path) -> None:
    bom = write(tmp_path, "", '"p\nq",1000,m,Dy,1,CHN,', "", "r,1000,m,Dy,-1,CHN,")
    with pytest.raises(DataError) as exc:
        read_bom(bom)
    assert exc.value.line == 6


def test_read_bom_types_and_optional_columns(tmp_path: Path) -> None:
    header = HEADER.replace(",element_value_usd", ",note")
    frame = read_bom(write(tmp_path, "p,1000,m,neodymium,2,Vietnam,a note", header=header))
    assert frame.loc[0, "element"] == "Nd"
    assert frame.loc[0, "origin_country"] == "VNM"
    assert math.isnan(frame.loc[0, "element_value_usd"])
    assert frame.loc[0, "line"] == 2


# ---------------------------------------------------------------------------- rules YAML
def _rule_text(**changes: object) -> str:
    raw = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "src/critmin/trace/rules/mofcom-2025-61.yaml").read_text()
    )
    raw.update(changes)
    return yaml.safe_dump(raw, sort_keys=False)


def test_rules_yaml_unknown_key_names_file_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(_rule_text(threshold=0.002))
    with pytest.raises(DataError) as exc:
        load_rules(str(path))
    text = str(exc.value)
    assert text.startswith(f"{path}:")
    assert "key 'threshold': unknown key" in text
    assert "did you mean 'threshold_share'" in text
    expected = [ln.split(":")[0] for ln in path.read_text().splitlines()].index("threshold") + 1
    assert exc.value.line == expected


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        (
            {"controlled_elements": ["Dy", "Fe"]},
            r"key 'controlled_elements'.*'Fe' is not a rare-earth element",
        ),
        ({"origin_countries": ["Narnia"]}, r"key 'origin_countries'.*unknown country 'Narnia'"),
        ({"source_ids": ["web:nowhere:0000"]}, r"unknown source ids \['web:nowhere:0000'\]"),
        ({"threshold_share": 1.5}, r"key 'threshold_share'"),
        ({"comparison": "=="}, r"key 'comparison'"),
        (
            {"suspensions": [{"start": "2026-01-01", "end": "2025-01-01", "source_id": "usgs-mcs2023"}]},
            "before it starts",
        ),
        (
            {"suspensions": [{"begin": "2026-01-01", "end": "2026-02-01", "source_id": "usgs-mcs2023"}]},
            r"key 'suspensions\[0\]\.begin'",
        ),
    ],
)
def test_rules_yaml_bad_values(tmp_path: Path, changes: dict[str, object], pattern: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(_rule_text(**changes))
    with pytest.raises(DataError, match=pattern):
        load_rules(path)


def test_rules_yaml_missing_key_and_bad_yaml(tmp_path: Path) -> None:
    raw = yaml.safe_load(_rule_text())
    del raw["effective_date"]
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(DataError, match="key 'effective_date': missing required key"):
        load_rules(path)
    path.write_text("id: [unclosed\n")
    with pytest.raises(DataError, match="not valid YAML"):
        load_rules(path)


def test_load_rules_names_paths_and_duplicates(tmp_path: Path) -> None:
    assert bundled_rule_names() == ("mofcom-2025-18", "mofcom-2025-61")
    assert [r.id for r in load_rules("all")] == ["mofcom-2025-18", "mofcom-2025-61"]
    assert [r.id for r in load_rules(["mofcom-2025-61", "ALL"])] == ["mofcom-2025-61", "mofcom-2025-18"]
    own = tmp_path / "own.yaml"
    own.write_text(_rule_text(id="my-rule", threshold_share=0.005))
    assert load_rules([own])[0].threshold_share == 0.005
    clash = tmp_path / "clash.yaml"
    clash.write_text(_rule_text(threshold_share=0.005))
    with pytest.raises(DataError, match="two different rules have id 'mofcom-2025-61'"):
        load_rules(["mofcom-2025-61", clash])
    with pytest.raises(DataError, match="unknown rules 'mofcom-2099'"):
        load_rules("mofcom-2099")


# ---------------------------------------------------------------------------- bundled data checks
def _policy_row(instrument: str) -> pd.Series:
    events = Dataset.bundled().table("policy_events")
    return events.loc[events["instrument"] == instrument].iloc[0]


def test_bundled_rules_match_the_policy_events_they_cite() -> None:
    names = {sym: name.lower() for sym, name in rare_earth_elements().items()}
    no18 = _policy_row("MOFCOM/GAC Announcement 2025 No.18")
    r18 = rule("mofcom-2025-18")
    assert r18.effective_date.isoformat() == no18["effective_date"]
    assert no18["source_id"] in r18.source_ids
    # Whole words: "terbium" contains "erbium".
    in_18 = {s for s, n in names.items() if re.search(rf"\b{n}\b", no18["items"].lower())}
    assert set(r18.controlled_elements) == in_18 == {"Sm", "Gd", "Tb", "Dy", "Lu", "Sc", "Y"}

    no57_text = _policy_row("MOFCOM/GAC Announcements 2025 No.55, 56, 57, 58")["items"].lower()
    in_57 = {s for s, n in names.items() if re.search(rf"\b{n}\b", no57_text)}
    assert in_57 == {"Ho", "Er", "Tm", "Eu", "Yb"}
    no61 = _policy_row("MOFCOM Announcement 2025 No.61")
    r61 = rule("mofcom-2025-61")
    assert set(r61.controlled_elements) == in_18 | in_57
    assert r61.threshold_share == 0.001
    assert ">=0.1% by value" in no61["scope"]
    assert r61.effective_date.isoformat() in no61["effective_date"]
    assert no61["source_id"] in r61.source_ids
    no70 = _policy_row("MOFCOM/GAC Announcement 2025 No.70 (suspension)")
    (susp,) = r61.suspensions
    assert (susp.start.isoformat(), susp.end.isoformat()) == (no70["effective_date"], no70["end_date"])
    assert susp.source_id == no70["source_id"]
    assert "61" in no70["items"]


def test_element_prices_match_the_bundled_rows_they_cite() -> None:
    ds = Dataset.bundled()
    salient = ds.table("salient")
    prices = element_prices()
    assert set(rare_earth_elements()) - set(prices) == {"Pm", "Ho", "Er", "Tm", "Yb", "Lu"}
    for sym, p in prices.items():
        assert p.table == "salient"
        ds.source(p.source_id)  # resolves
        item = salient.loc[(salient["commodity"] == p.commodity) & (salient["item"] == p.item)]
        row = item.loc[(item["vintage"] == p.vintage) & (item["year"] == p.year)]
        assert len(row) == 1, sym
        r = row.iloc[0]
        assert r["source_id"] == p.source_id, sym
        assert r["value"] == p.value_as_published, sym
        assert r["unit"] == p.unit_as_published, sym
        assert bool(r["estimated"]) is p.estimated, sym
        # The selection rule: newest vintage carrying the item, latest year within it.
        assert p.vintage == item["vintage"].max(), sym
        assert p.year == item.loc[item["vintage"] == p.vintage, "year"].max(), sym
    assert prices["Sc"].usd_per_kg == 2100.0  # 2.1 USD/g


# ---------------------------------------------------------------------------- CLI (Typer, in process)
def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(screen_cmd)
    return app


def test_cli_json_table_and_csv() -> None:
    runner = CliRunner()
    app = _app()
    args = [str(EXAMPLE), "--rules", "mofcom-2025-61", "--as-of", "2026-11-11"]
    out = runner.invoke(app, [*args, "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["as_of"] == "2026-11-11"
    assert {p["product_id"]: p["licence_required"] for p in doc["products"]}["ev-motor"] is True
    swapped = runner.invoke(app, [*args, "--swap", "rotor-magnet=AUS", "-f", "json"])
    assert {p["product_id"]: p["licence_required"] for p in json.loads(swapped.stdout)["products"]}[
        "ev-motor"
    ] is False
    table = runner.invoke(app, [str(EXAMPLE), "--as-of", "2026-01-15"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "REQUIRED" in table.stdout
    assert "suspended by MOFCOM/GAC Announcement 2025 No. 70" in table.stdout
    assert "[web:chemradar-com:9609ce25]" in table.stdout
    csv_out = runner.invoke(app, [*args, "-f", "csv"])
    assert csv_out.stdout.splitlines()[0].startswith(
        "product_id,product_value_usd,controlled_value_usd,share"
    )


def test_cli_errors_raise_data_error_and_print_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    app = _app()
    bad = write(tmp_path, "p,1000,m,Dy,-1,CHN,")
    res = runner.invoke(app, [str(bad), "--as-of", "2026-01-01"])
    assert isinstance(res.exception, DataError)
    assert f"{bad}:2: column 'element_mass_kg'" in str(res.exception)
    assert res.stdout == ""
    res = runner.invoke(app, [str(EXAMPLE), "--as-of", "15/01/2026"])
    assert isinstance(res.exception, DataError)
    assert "YYYY-MM-DD" in str(res.exception)
