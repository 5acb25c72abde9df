"""Transcribed web figures -> stage shares, production, projects, prices, intensities, end uses,
policy events; labelled assumptions; and a run over the real raw files."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from critmin.data.build.bgs import build_bgs
from critmin.data.build.transcribed import TABLE_NAMES, build_transcribed, build_wgi
from critmin.data.build.transcribed_assumptions import ASSUMPTIONS_FILE, build_assumption_shares
from critmin.data.build.transcribed_common import (
    Excluded,
    RawRow,
    map_qualifier,
    parse_value,
    split_publisher,
)
from critmin.data.catalogue import Source, web_source_id
from critmin.data.dataset import validate_table
from critmin.errors import DataError
from critmin.model.countries import is_known_code

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "transcribed"
RAW_FIX = FIX / "raw"
Built = dict[str, tuple[pd.DataFrame, list[Source]]]


@pytest.fixture(scope="module")
def built() -> tuple[Built, list[Excluded]]:
    excluded: list[Excluded] = []
    return build_transcribed(RAW_FIX, excluded=excluded), excluded


def _row() -> RawRow:
    return RawRow(Path("x.csv"), 7, {})


# ------------------------------------------------------------------------------ helpers


@pytest.mark.parametrize(
    ("text", "value", "low", "high", "qualifier"),
    [
        ("1-1.5", 1.25, 1.0, 1.5, "range"),
        ("850-1000", 925.0, 850.0, 1000.0, "range"),
        ("115.50-117.50", 116.5, 115.5, 117.5, "range"),
        ("2+", 2.0, math.nan, math.nan, "over"),
        (">5700", 5700.0, math.nan, math.nan, "over"),
        ("<0.1", 0.1, math.nan, math.nan, "under"),
        ("~3", 3.0, math.nan, math.nan, "about"),
        ("1,234", 1234.0, math.nan, math.nan, None),
        ("-26", -26.0, math.nan, math.nan, None),
    ],
)
def test_parse_value(text: str, value: float, low: float, high: float, qualifier: str | None) -> None:
    p = parse_value(text, _row(), "value")
    assert p is not None
    assert p.value == pytest.approx(value)
    assert (math.isnan(p.low) and math.isnan(low)) or p.low == pytest.approx(low)
    assert (math.isnan(p.high) and math.isnan(high)) or p.high == pytest.approx(high)
    assert p.qualifier == qualifier
    assert not p.is_ratio


@pytest.mark.parametrize("text", ["1000 t : 500000 motors", "75:25", "3:1"])
def test_ratios_are_not_divided_out(text: str) -> None:
    p = parse_value(text, _row(), "value")
    assert p is not None
    assert p.is_ratio
    assert math.isnan(p.value)


def test_parse_value_empty_and_bad() -> None:
    assert parse_value("", _row(), "value") is None
    with pytest.raises(DataError) as info:
        parse_value("lots", _row(), "value")
    assert (info.value.line, info.value.column) == (7, "value")
    with pytest.raises(DataError, match="backwards"):
        parse_value("5-1", _row(), "value")


@pytest.mark.parametrize(
    ("text", "qualifier", "projection"),
    [
        ("more than", "over", False),
        ("over", "over", False),
        ('"more than 71%" of global extraction (IEA, as cited)', "over", False),
        ('"up to"', "under", False),
        ("about", "about", False),
        ("around (average share)", "about", False),
        ("approx", "about", False),
        ('"approximately 85% of the global smelting capacity"', "about", False),
        ("roughly", "about", False),
        ('"~20%"', "about", False),
        ("nearly", "nearly", False),
        ("almost", "nearly", False),
        (
            "computed by transcriber from IEA kt values (share of listed countries), rounded to 0.1",
            "computed",
            False,
        ),
        ("IEA projection", "projection", True),
        ("IEA base-case projection; computed by transcriber from IEA kt values", "projection", True),
        ('forecast "over 35%"', "over", True),
        ("exact", "exact", False),
        ("as printed (MOTIE, Korea)", "exact", False),
        ("combined", "exact", False),
        # hedges that belong to another figure are not taken
        ('as quoted; Benchmark says "more than 5,700 lb"', "exact", False),
        ('"jumped by nearly 20%" since 15 Aug 2024', "exact", False),
        ("-11.5% since 15 Aug 2024 (about 19,479 USD/t)", "exact", False),
        ('"nearly doubled between 2015 and 2023"', "exact", False),
    ],
)
def test_map_qualifier(text: str, qualifier: str, projection: bool) -> None:
    assert map_qualifier(text) == (qualifier, projection)


@pytest.mark.parametrize(
    ("text", "publisher", "year"),
    [
        ("Argus Media (2025-01-03)", "Argus Media", 2025),
        ("E&MJ; middle.news (Lynas FY25 results)", "E&MJ", None),
        (
            "MP Materials results (via reportify; Investing.com transcript)",
            "MP Materials results (via reportify; Investing.com transcript)",
            None,
        ),
    ],
)
def test_split_publisher(text: str, publisher: str, year: int | None) -> None:
    assert split_publisher(text) == (publisher, year)


# ------------------------------------------------------------------------------ fixture build


def test_every_table_validates_and_cites_its_sources(built: tuple[Built, list[Excluded]]) -> None:
    out, _ = built
    assert list(out) == list(TABLE_NAMES)
    for name, (frame, sources) in out.items():
        validate_table(frame, name)
        ids = {s.id for s in sources}
        assert set(frame["source_id"]) <= ids, name
        assert len(ids) == len(sources), name


def test_web_sources_one_per_url(built: tuple[Built, list[Excluded]]) -> None:
    out, _ = built
    web = {s.id: s for _, srcs in out.values() for s in srcs if s.kind == "web"}
    urls = [s.url for s in web.values()]
    assert len(urls) == len(set(urls))
    for s in web.values():
        assert s.id == web_source_id(s.publisher, s.url or "")
        assert s.licence == "Facts cited from a public web page (no text reproduced)"
    pb = [s for s in web.values() if s.url == "https://example.org/projectblue"]
    assert len(pb) == 1
    assert pb[0].publisher == "Project Blue"


def test_stage_shares_values_and_qualifiers(built: tuple[Built, list[Excluded]]) -> None:
    out, _ = built
    df = out["stage_shares"][0]
    pub = df.loc[~df["is_assumption"]]

    def one(**kw: object) -> pd.Series:
        sel = pub
        for k, v in kw.items():
            sel = sel.loc[sel[k] == v]
        assert len(sel) == 1, kw
        return sel.iloc[0]

    r = one(stage="mining", country="CHN", year=2024)
    assert (r["share"], r["qualifier"], r["is_projection"]) == (pytest.approx(0.61), "computed", False)
    assert r["scope"] == "magnet rare earth elements (Nd, Pr, Tb, Dy)"
    r = one(stage="separation", country="CHN", year=2030)  # "separation/refining" label
    assert (r["share"], r["qualifier"], r["is_projection"]) == (pytest.approx(0.76), "projection", True)
    assert one(country="CHN+MYS+AUS")["share"] == pytest.approx(0.98)
    r = one(stage="separation", country="CHN", year=2025, basis="capacity")
    assert (r["share"], r["qualifier"]) == (pytest.approx(0.85), "about")
    r = one(stage="magnet", country="CHN", year=2021)  # "ndfeb_magnet", year "c.2020-2021"
    assert "c.2020-2021" in r["note"]
    assert one(stage="mining", country="CHN", year=2022)["qualifier"] == "over"
    r = one(commodity="lithium")
    assert (r["stage"], r["share"], r["qualifier"]) == ("separation", pytest.approx(0.70), "about")
    assert one(commodity="graphite")["qualifier"] == "over"
    assert one(commodity="nickel")["country"] == "RUS"
    r = one(stage="magnet", country="CHN", year=2024)  # "magnet manufacturing", "roughly"
    assert r["qualifier"] == "about"
    assert set(pub["stage"]) == {"mining", "separation", "magnet"}


def test_audit_corrections_3_and_4(built: tuple[Built, list[Excluded]]) -> None:
    out, _ = built
    df, sources = out["stage_shares"]
    tha = df.loc[df["country"] == "THA"].iloc[0]
    assert tha["quality"].startswith("superseded")
    assert "MCS 2026" in tha["note"]
    assert "THA 0.6" in tha["note"]
    fas = df.loc[(df["year"] == 2025) & (df["share"].round(6) == 0.91)].iloc[0]
    assert fas["quality"].startswith("unverified")
    by_id = {s.id: s for s in sources}
    assert (by_id[fas["source_id"]].quality or "").startswith("unverified")
    assert (by_id[tha["source_id"]].quality or "").startswith("superseded")


def test_tonnages_go_to_production(built: tuple[Built, list[Excluded]]) -> None:
    out, _ = built
    prod = out["production"][0].set_index(["country", "year", "measure"])
    assert len(prod) == 3
    chn = prod.loc[("CHN", 2024, "production")]
    assert (chn["value"], chn["unit"], chn["commodity"], chn["stage"]) == (
        300000.0,
        "t",
        "rare_earths",
        "magnet",
    )
    assert bool(chn["estimated"])
    assert chn["vintage"] == 2024
    cap = prod.loc[("exCHN", 2025, "capacity")]
    assert cap["value"] == 23750.0
    assert "largely JPN" in cap["note"]
    assert prod.loc[("CHN", 2017, "production")]["qualifier"] == "over"


def test_left_out_rows_are_reported(built: tuple[Built, list[Excluded]]) -> None:
    _, excluded = built
    got = {(e.file, e.line) for e in excluded}
    assert got == {
        ("ree_stage_shares.csv", 4),  # TOP3
        ("ree_stage_shares.csv", 13),  # capacity "under development"
        ("ree_stage_shares.csv", 14),  # company group
        ("refining_and_magnet_share_statements.csv", 2),  # multi-mineral average
        ("refining_and_magnet_share_statements.csv", 8),  # bonded powder tonnage
        ("ree_projects_ex_china_partial.csv", 2),  # duplicate project
        ("ree_prices.csv", 11),  # % y/y change
        ("export_controls_timeline.csv", 4),  # year-only date
    }


def test_projects(built: tuple[Built, list[Excluded]]) -> None:
    out, _ = built
    df = out["projects"][0].set_index("project")
    wm = df.loc["White Mesa Mill Phase 1 REE separation circuit"]
    assert (wm["capacity"], wm["capacity_low"], wm["capacity_high"]) == (925.0, 850.0, 1000.0)
    assert wm["capacity_qualifier"] == "range"
    assert "https://example.org/miningcom" in wm["note"]
    assert df.loc["Eneabba rare earths refinery - light RE", "capacity_qualifier"] == "under"  # "up to"
    js = df.loc["Lynas-JS Link sintered magnet plant (Kuantan)"]
    assert "non-binding MoU (Aug 2025)" in js["note"]
    assert "Agreement signed 2025" not in js["note"]
    sd = df.loc["Seadrift heavy and light RE processing plant (Texas)"]
    assert sd["start_year"] == 2026.0
    assert math.isnan(sd["capacity"])
    assert sd["capacity_qualifier"] == "not_available"
    # The partial file's Energy Fuels row is a duplicate; the other one is kept.
    assert "Own REE separation plant (US)" not in df.index
    ex = df.loc["Example sintered magnet line"]
    assert (ex["country"], ex["stage"], ex["start_year"], ex["capacity"]) == ("DEU", "magnet", 2026.0, 400.0)


def test_prices(built: tuple[Built, list[Excluded]]) -> None:
    out, _ = built
    df, sources = out["prices"]
    by_id = {s.id: s for s in sources}
    prnd = df.loc[df["product"] == "PrNd oxide"].iloc[0]
    assert (prnd["value"], prnd["value_low"], prnd["value_high"], prnd["unit"]) == (
        398000.0,
        396000.0,
        400000.0,
        "cny_per_t",
    )
    dy = df.loc[(df["product"] == "Dy oxide") & (df["date"] == "2025-05-30")].iloc[0]
    assert (dy["value"], dy["unit"]) == (1_620_000.0, "cny_per_t")  # AUDIT correction 7
    bench = df.loc[df["market"] == "China benchmark (as cited)"].iloc[0]
    assert (by_id[bench["source_id"]].quality or "").startswith("source weak")  # correction 5
    ask = df.loc[df["market"] == "Europe ask price (intermediaries)"].iloc[0]
    assert (ask["value"], ask["qualifier"], ask["date"]) == (1100.0, "over", "2025")
    lynas = df.loc[df["product"] == "Lynas basket (all RE products)"].sort_values("value")
    assert list(lynas["date"]) == ["2025-03", "2025-06"]  # "2025-03 (Q3 FY25)", "FY2025 (Jul 2024-Jun 2025)"
    assert set(lynas["unit"]) == {"aud_per_kg"}
    assert df.loc[df["product"].str.startswith("NdFeB"), "date"].iloc[0] == "2024-07"
    assert df.loc[df["product"] == "Antimony ingot", "qualifier"].iloc[0] == "exact"
    assert len(df) == 10


def test_intensities(built: tuple[Built, list[Excluded]]) -> None:
    out, _ = built
    df = out["intensities"][0].set_index("item")
    small = df.loc["EV traction motor NdFeB, small car"]
    assert (small["value"], small["value_low"], small["value_high"], small["qualifier"]) == (
        1.25,
        1.0,
        1.5,
        "range",
    )
    big = df.loc["EV traction motor NdFeB, high-performance car/SUV"]
    assert (big["value"], big["qualifier"]) == (2.0, "over")
    mp = df.loc["MP Independence plant: magnet output vs EV traction motors supported"]
    assert math.isnan(mp["value"])
    assert mp["qualifier"] == "not_applicable"
    assert "1000 t : 500000 motors" in mp["note"]
    assert df.loc["Share of EV makers using PM motors", "qualifier"] == "about"
    assert df.loc["Arleigh Burke-class destroyer (DDG-51) rare earths", "qualifier"] == "exact"
    rec = df.loc["Magnet recycling rate (end-of-life RE magnets)"]
    assert (rec["value"], rec["qualifier"]) == (5.0, "under")


def test_end_uses(built: tuple[Built, list[Excluded]]) -> None:
    out, _ = built
    df = out["end_uses"][0]
    ph = df.loc[df["end_use"] == "phosphors"].iloc[0]
    assert (ph["share"], ph["qualifier"]) == (pytest.approx(0.07), "range")
    assert "6-8" in ph["note"]
    pm = df.loc[df["end_use"] == "permanent magnets"].iloc[0]
    assert (pm["share"], pm["qualifier"]) == (pytest.approx(0.35), "projection")
    growth = df.loc[df["end_use"] == "total consumption growth"].iloc[0]
    assert math.isnan(growth["share"])
    assert (growth["value"], growth["unit"]) == (18.1, "% y/y")
    assert df.loc[df["end_use"].str.startswith("new high-growth"), "share"].iloc[0] == pytest.approx(0.41)
    total = df.loc[df["end_use"] == "total demand"].iloc[0]
    assert (total["value"], total["unit"], total["year"]) == (131.0, "kt", "2030")


def test_policy_events(built: tuple[Built, list[Excluded]]) -> None:
    out, _ = built
    df, sources = out["policy_events"]
    by_id = {s.id: s for s in sources}
    no23 = df.loc[df["instrument"] == "MOFCOM/GAC Announcement 2023 No.23"].iloc[0]
    assert by_id[no23["source_id"]].url == "https://www.example.org/mulem"
    assert by_id[no23["source_id"]].publisher == "example.org"
    assert "https://example.org/nasdaq ; https://example.org/third" in no23["note"]
    assert list(df["date"]) == ["2023-07-03", "2025-06", "2023-12"]


# ------------------------------------------------------------------------------ hostile input


def _copy_raw(tmp_path: Path) -> Path:
    shutil.copytree(RAW_FIX, tmp_path / "raw")
    return tmp_path / "raw"


@pytest.mark.parametrize(
    ("file", "old", "new", "line", "column"),
    [
        ("ree_stage_shares.csv", "mining,CHN,61.0,", "smelting,CHN,61.0,", 2, "stage"),
        ("ree_stage_shares.csv", "mining,CHN,61.0,", "mining,CHN,sixty,", 2, "share_pct"),
        ("ree_stage_shares.csv", "mining,CHN,61.0,", "mining,CHN,161.0,", 2, "share_pct"),
        ("ree_stage_shares.csv", "mining,THA,3.3,", "mining,Atlantis,3.3,", 6, "country"),
        (
            "refining_and_magnet_share_statements.csv",
            "refining_share,lithium,",
            "refining_share,unobtanium,",
            3,
            "mineral",
        ),
        ("ree_prices.csv", "2025-07,NdPr oxide", "July 2025,NdPr oxide", 6, "date"),
        ("ndfeb_intensity.csv", ",2+,", ",two or more,", 3, "value"),
        ("ree_projects_ex_china.csv", ",3000,t/yr magnets", ",3000 t,t/yr magnets", 2, "capacity_value"),
    ],
)
def test_hostile_rows_raise_with_location(
    tmp_path: Path, file: str, old: str, new: str, line: int, column: str
) -> None:
    raw = _copy_raw(tmp_path)
    p = raw / "transcribed" / file
    text = p.read_text("utf-8")
    assert old in text
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DataError) as info:
        build_transcribed(raw)
    assert info.value.path is not None
    assert info.value.path.endswith(file)
    assert (info.value.line, info.value.column) == (line, column)


def test_missing_source_url_is_an_error(tmp_path: Path) -> None:
    raw = _copy_raw(tmp_path)
    p = raw / "transcribed" / "ndfeb_intensity.csv"
    p.write_text(p.read_text("utf-8").replace("https://example.org/itad", ""), encoding="utf-8")
    with pytest.raises(DataError, match="no source URL") as info:
        build_transcribed(raw)
    assert info.value.line == 7


# ------------------------------------------------------------------------------ assumptions


def test_assumption_fixture_remainder() -> None:
    frame, sources = build_assumption_shares(FIX / "assumptions_small.yaml")
    validate_table(frame, "stage_shares")
    shares = frame.set_index("country")["share"]
    assert shares["CHN"] == pytest.approx(0.62)
    assert shares["USA"] == pytest.approx(0.13)
    assert shares["ROW"] == pytest.approx(0.25)
    assert frame.set_index("country").loc["ROW", "qualifier"] == "computed"
    assert frame["is_assumption"].all()
    assert not frame["is_projection"].any()
    (src,) = sources
    assert (src.kind, src.id, src.rationale) == (
        "assumption",
        "assumption:fixture-ree-metal-alloy",
        "Fixture rationale.",
    )
    assert set(frame["source_id"]) == {src.id}


def test_packaged_assumptions_are_complete_labelled_splits() -> None:
    frame, sources = build_assumption_shares(ASSUMPTIONS_FILE)
    assert frame["is_assumption"].all()
    sums = frame.groupby(["commodity", "stage"])["share"].sum()
    assert sums.to_numpy() == pytest.approx([1.0] * len(sums))
    assert set(sums.index) == {
        ("rare_earths", "metal_alloy"),
        ("rare_earths", "magnet"),
        ("graphite", "separation"),
        ("lithium", "separation"),
    }
    for s in sources:
        assert s.kind == "assumption"
        assert s.id.startswith("assumption:")
        assert s.rationale
        assert s.notes
        assert s.notes.startswith("replaces when:")
    assert {s.id for s in sources} == set(frame["source_id"])


@pytest.mark.parametrize(
    ("shares", "match"),
    [
        ("{CHN: 0.8, USA: 0.3}", "sum"),
        ("{CHN: 0.8, XYZ: remainder}", "unknown country"),
        ("{CHN: remainder, ROW: remainder}", "more than one"),
        ("{CHN: 1.5}", "fraction"),
    ],
)
def test_bad_assumptions_raise(tmp_path: Path, shares: str, match: str) -> None:
    text = (FIX / "assumptions_small.yaml").read_text("utf-8")
    start = text.index("    shares:")
    end = text.index("    rationale:")
    p = tmp_path / "a.yaml"
    p.write_text(text[:start] + f"    shares: {shares}\n" + text[end:], encoding="utf-8")
    with pytest.raises(DataError, match=match) as info:
        build_assumption_shares(p)
    assert info.value.column == "assumptions[0].shares"


def test_assumption_stage_must_exist_for_commodity(tmp_path: Path) -> None:
    text = (
        (FIX / "assumptions_small.yaml")
        .read_text("utf-8")
        .replace("commodity: rare_earths", "commodity: gallium")
    )
    p = tmp_path / "a.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match="no stage"):
        build_assumption_shares(p)


# ------------------------------------------------------------------------------ real raw files


@pytest.mark.raw
def test_real_raw_files_build_and_validate(raw_dir: Path) -> None:
    excluded: list[Excluded] = []
    parts: list[Built] = [
        build_transcribed(raw_dir, excluded=excluded),
        build_bgs(raw_dir),
        build_wgi(raw_dir),
    ]
    catalogue: dict[str, Source] = {}
    for part in parts:
        for name, (frame, sources) in part.items():
            validate_table(frame, name)
            for s in sources:
                assert catalogue.get(s.id, s) == s, s.id  # one description per id
                catalogue[s.id] = s
            assert set(frame["source_id"]) <= {s.id for s in sources}, name
    tr = parts[0]
    counts = {k: len(v[0]) for k, v in tr.items()}
    assert counts == {
        "stage_shares": 68,
        "production": 5,
        "projects": 64,
        "prices": 95,
        "intensities": 54,
        "end_uses": 48,
        "policy_events": 23,
    }
    assert len(excluded) == 30
    prices = tr["prices"][0]
    dy = prices.loc[(prices["product"] == "Dy oxide") & prices["date"].isin(["2025-05-30", "2025-06-30"])]
    assert sorted(dy["value"]) == [1_615_000.0, 1_620_000.0]
    assert set(dy["unit"]) == {"cny_per_t"}
    projects = tr["projects"][0]
    js = projects.loc[projects["project"].str.startswith("Lynas-JS Link"), "note"].iloc[0]
    assert "non-binding MoU (Aug 2025)" in js
    shares = tr["stage_shares"][0]
    assert shares["country"].map(is_known_code).all()
    single = shares.loc[~shares["country"].str.contains("+", regex=False)]
    totals = single.groupby(["commodity", "stage", "year", "source_id", "scope"])["share"].sum()
    assert (totals <= 1.02).all(), totals.loc[totals > 1.02]
    assert (shares["quality"].fillna("").str.startswith("superseded")).sum() == 5  # Metalnomist rows
    bgs = parts[1]["production"][0]
    aus = bgs.loc[
        (bgs["commodity"] == "rare_earths") & (bgs["country"] == "AUS") & (bgs["year"] == 2024), "value"
    ]
    assert aus.iloc[0] == 10908.0  # PROVENANCE.md section 4
    assert "ZAR" not in set(bgs["country"])
    assert bgs["country"].map(is_known_code).all()  # dissolved states' years dropped
    assert len(bgs) == 958
    wgi = parts[2]["wgi"][0]
    assert set(wgi["year"]) == {2023}
    assert len(wgi) == 1269
    assert {"ROU", "COD", "TLS", "AND", "PSE", "XKX"} <= set(wgi["country"])
