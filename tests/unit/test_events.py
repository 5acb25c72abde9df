"""Events as a discriminated union on ``kind``, and the scenario checks that need the timeline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from critmin.errors import DataError
from critmin.simulate.inputs.events import (
    BanEvent,
    LicenceEvent,
    OfftakeEvent,
    PriceFloorEvent,
    StockpileEvent,
    make_event,
    parse_event,
    stages_of,
    targets_of,
)
from critmin.simulate.inputs.scenario import load_scenario

D = "2026-12-01"


def test_each_kind_parses_to_its_own_model() -> None:
    assert isinstance(parse_event({"id": "a", "date": D, "kind": "ban"}), BanEvent)
    lic = parse_event({"id": "b", "date": D, "kind": "licence", "controlled_share": 0.5})
    assert isinstance(lic, LicenceEvent)
    assert lic.controlled_share == 0.5
    sp = make_event(id="c", date=D, kind="stockpile", region="USA", amount_t=100)
    assert isinstance(sp, StockpileEvent)
    assert stages_of(sp) == ()
    assert targets_of(make_event(id="d", date=D, kind="lift", targets=["a"])) == ("a",)
    floor = make_event(id="f", date=D, kind="price_floor", price_usd_per_kg=110, stages=["separation"])
    assert isinstance(floor, PriceFloorEvent)
    assert floor.region == "USA"  # the DoD-MP floor's payer by default


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"kind": "stockpile", "amount_t": 5}, "region"),  # missing field of its kind
        ({"kind": "stockpile", "region": "USA", "amount_t": 5, "stages": ["magnet"]}, "Extra inputs"),
        ({"kind": "ban", "controlled_share": 0.5}, "Extra inputs"),  # not a field of a ban
        ({"kind": "licence", "controlled_share": 1.5}, r"controlled_share must lie in \[0, 1\]"),
        ({"kind": "approval_rate", "approval_rate": 5}, r"approval_rate must lie in \[0, 1\]"),
        ({"kind": "approval_rate", "approval_rate": {"dist": "uniform", "low": -1, "high": 0.5}}, "lie in"),
        ({"kind": "suspend", "targets": []}, "at least 1"),
        ({"kind": "suspend", "targets": ["x"], "until": "2026-01-01"}, "ends .* before it starts"),
        ({"kind": "licence", "exporter": "USA"}, "only CHN"),
        (
            {
                "kind": "offtake",
                "region": "USA",
                "seller": "USA",
                "volume_t_per_year": 5,
                "stages": ["separation"],
            },
            "is the buyer",
        ),
        (
            {
                "kind": "offtake",
                "region": "USA",
                "seller": "AUS",
                "volume_t_per_year": 5,
                "stages": ["separation", "magnet"],
            },
            "exactly one stage",
        ),
        ({"kind": "stockpile", "region": "Atlantis", "amount_t": 5}, "unknown region"),
        ({"kind": "stockpile", "region": "USA", "amount_t": float("inf")}, "finite"),
        ({"kind": "embargo"}, "does not match any of the expected tags"),
    ],
)
def test_each_kind_checks_its_own_fields(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_event({"id": "e", "date": D, **raw})


def test_offtake_needs_distinct_parties_and_one_stage() -> None:
    ok = make_event(
        id="o",
        date=D,
        kind="offtake",
        region="EU27",
        seller="AUS",
        volume_t_per_year=100,
        stages=["separation"],
    )
    assert isinstance(ok, OfftakeEvent)
    assert ok.date == dt.date(2026, 12, 1)


def _scenario(tmp_path: Path, events: str, extra: str = "") -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(f"name: s\nstart: 2026-01\nend: 2027-12\n{extra}events:\n{events}", encoding="utf-8")
    return p


def test_errors_name_the_event_line_not_the_union_tag(tmp_path: Path) -> None:
    p = _scenario(
        tmp_path, "  - {id: a, date: 2026-03-01, kind: ban}\n  - {id: b, date: 2026-03-01, kind: ban, x: 1}\n"
    )
    with pytest.raises(DataError) as err:
        load_scenario(str(p))
    text = str(err.value)
    assert "s.yaml:6" in text
    assert "events.1.x" in text
    assert ".ban." not in text


def test_unknown_target_names_file_line_and_event(tmp_path: Path) -> None:
    p = _scenario(
        tmp_path,
        "  - {id: a, date: 2026-03-01, kind: ban}\n  - id: s\n    date: 2026-04-01\n"
        "    kind: suspend\n    targets: [nope]\n",
    )
    with pytest.raises(DataError, match=r"event 's' targets unknown event\(s\) \['nope'\]") as err:
        load_scenario(str(p))
    assert "s.yaml:9" in str(err.value)


def test_event_id_equal_to_a_history_id_is_refused(tmp_path: Path) -> None:
    from critmin.simulate.inputs.scenario import history_events

    hid = history_events()[0].id
    p = _scenario(tmp_path, f"  - {{id: {hid}, date: 2026-03-01, kind: ban}}\n")
    with pytest.raises(DataError, match="already an event of the bundled history") as err:
        load_scenario(str(p))
    assert "s.yaml:5" in str(err.value)
    p2 = _scenario(tmp_path, f"  - {{id: {hid}, date: 2026-03-01, kind: ban}}\n", "include_history: false\n")
    assert load_scenario(str(p2)).events[0].id == hid


def test_stockpile_after_the_horizon_is_refused(tmp_path: Path) -> None:
    p = _scenario(tmp_path, "  - {id: sp, date: 2030-01-01, kind: stockpile, region: USA, amount_t: 5}\n")
    with pytest.raises(DataError, match="after the horizon ends"):
        load_scenario(str(p))


def test_bad_extends_names_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_text("name: x\nextends: no-such-scenario\n", encoding="utf-8")
    with pytest.raises(DataError, match="extends: unknown scenario 'no-such-scenario'") as err:
        load_scenario(str(p))
    assert "x.yaml:2" in str(err.value)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "regions: [CHN, ROW, USA, USA]\n",
            "r.yaml:2: column 'regions.3': ",
            r"regions must not repeat: \['USA'\] \(at regions.2 and regions.3\)",
        ),
        ("start: 1900-01\nend: 2100-12\n", "r.yaml:3: column 'end': ", "2,412 months; at most 600"),
    ],
)
def test_duplicate_regions_and_huge_horizons_are_refused(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    p = tmp_path / "r.yaml"
    p.write_text("name: r\n" + text, encoding="utf-8")
    with pytest.raises(DataError, match=message) as err:
        load_scenario(str(p))
    assert where in str(err.value)
    assert "Fix: " in str(err.value)
