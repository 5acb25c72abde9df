"""critmin.plan.economics: the planning dataset (projects.csv + instruments.yaml) and its loader."""

from __future__ import annotations

import csv
import io
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.data.dataset import Dataset, load_sources
from critmin.errors import DataError
from critmin.plan.economics import (
    EXTRA_COLUMNS,
    PLAN_REGIONS,
    PRODUCTS,
    PROJECT_COLUMNS,
    SECTORS,
    STAGES,
    Economics,
    load_economics,
)
from tests.e2e.cli import run_main

DATA = Path(str(resources.files("critmin.plan").joinpath("data")))
PROJECTS, INSTRUMENTS = DATA / "projects.csv", DATA / "instruments.yaml"
CURATED = Path(str(resources.files("critmin.data").joinpath("build", "curated", "sources.yaml")))


@pytest.fixture(scope="module")
def econ() -> Economics:
    return load_economics()


def _rows() -> tuple[list[str], list[dict[str, str]]]:
    with PROJECTS.open(encoding="utf-8", newline="") as fh:
        r = csv.DictReader(fh)
        return list(r.fieldnames or []), list(r)


def _write(tmp_path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    p = tmp_path / "projects.csv"
    p.write_text(buf.getvalue(), encoding="utf-8")
    return p


# ---------------------------------------------------------------------------------- the shipped data
def test_schema_columns_and_types(econ: Economics) -> None:
    assert list(econ.projects.columns) == list(PROJECT_COLUMNS + EXTRA_COLUMNS)
    df = econ.projects
    for c in (
        "capacity_t_per_year",
        "capex_musd",
        "opex_usd_per_kg",
        "lead_low_years",
        "lead_mode_years",
        "lead_high_years",
        "ramp_years",
        "cofinance_pull_years",
        "cofinance_max_share",
    ):
        assert df[c].map(lambda v: isinstance(v, float) and math.isfinite(v)).all(), c
    assert df["project_id"].is_unique
    assert (df["capacity_t_per_year"] > 0).all()
    assert (df["capex_musd"] >= 0).all()
    assert (df["opex_usd_per_kg"] > 0).all()
    assert (df["lead_low_years"] <= df["lead_mode_years"]).all()
    assert (df["lead_mode_years"] <= df["lead_high_years"]).all()
    assert df["cofinance_max_share"].between(0, 1).all()


def test_at_least_30_real_projects_across_all_stages(econ: Economics) -> None:
    df = econ.projects
    assert len(df) >= 30
    assert set(df["stage"]) == set(STAGES)
    assert set(df["product"]) == set(PRODUCTS)
    heavy = df.loc[df["product"] == "dytb_oxide"]
    assert (heavy["stage"] == "separation").all()
    assert len(heavy) >= 5
    # the named anchors of issue 13 are present
    for pid in (
        "mp-10x",
        "lynas-kalgoorlie",
        "lynas-texas-seadrift",
        "arafura-nolans",
        "iluka-eneabba-lre",
        "serra-verde-pela-ema-1",
        "solvay-la-rochelle-full",
        "neo-narva-p1",
        "evac-sumter",
        "noveon-san-marcos",
        "usar-stillwater-1",
        "energy-fuels-phase2",
        "ucore-louisiana",
        "aclara-louisiana-hre",
        "hypromag-tyseley",
        "india-repm-scheme",
        "japan-magnet-aggregate",
        "caremag-lacq-hre",
        "posco-star-us",
        "sgi-vina",
        "lynas-malaysia-lre",
    ):
        econ.project(pid)


def test_every_row_is_sourced_in_the_bundled_catalogue(econ: Economics) -> None:
    cat = Dataset.bundled().sources
    df = econ.projects
    assert df["source_id"].isin(list(cat)).all()
    extra = {s.strip() for cell in df["extra_source_ids"] for s in cell.split(";") if s.strip()}
    assert extra <= set(cat)
    # every row not operating gap-fills its lead times, so it states the rule
    assert (df.loc[df["status"] != "operating", "assumption"].str.len() > 20).all()
    assert (df["assumption"].str.strip() != "").all()


def test_instrument_sources_exist_and_every_field_is_cited(econ: Economics) -> None:
    cat = Dataset.bundled().sources
    for name, ref in econ.sources.items():
        assert (ref.startswith("assumption: ") and len(ref) > 30) or ref in cat, name
    for field in ("discount_rate", "sector_share", "conversion.ndpr_share_of_magnet", "demand.magnet_2024_t"):
        assert field in econ.sources
    for p in PRODUCTS:
        for group in ("price_usd_per_kg", "holding_cost_usd_per_kg_year", "spot_premium"):
            assert f"{group}.{p}" in econ.sources
    for s in SECTORS:
        assert f"voll_usd_per_kg.{s}" in econ.sources


def test_new_sources_identical_in_curated_and_bundled(econ: Economics) -> None:
    curated, bundled = load_sources(CURATED), Dataset.bundled().sources
    cited = set(econ.projects["source_id"]) | {
        v for v in econ.sources.values() if not v.startswith("assumption")
    }
    for sid in cited & set(curated):
        assert curated[sid] == bundled[sid], sid


def test_no_china_and_regions_follow_countries(econ: Economics) -> None:
    df = econ.projects
    assert not (df["country"] == "CHN").any()
    assert not (df["region"] == "CHN").any()
    assert df["region"].isin(PLAN_REGIONS).all()
    eu = df.loc[df["country"].isin(["FRA", "DEU", "EST"])]
    assert (eu["region"] == "EU27").all()
    assert (df.loc[df["country"].isin(["GBR", "CAN", "THA", "ZAF"]), "region"] == "ROW").all()


def test_operating_rows_have_no_lead_or_remaining_capex(econ: Economics) -> None:
    op = econ.projects.loc[econ.projects["status"] == "operating"]
    assert (op[["lead_low_years", "lead_mode_years", "lead_high_years", "capex_musd"]] == 0).all().all()
    new = econ.projects.loc[econ.projects["status"] != "operating"]
    assert (new["lead_high_years"] > 0).all()


def test_value_ranges_are_plausible(econ: Economics) -> None:
    assert 40 <= econ.price_usd_per_kg["ndpr_oxide"] <= 200
    assert 200 <= econ.price_usd_per_kg["dytb_oxide"] <= 5000
    assert 30 <= econ.price_usd_per_kg["ndfeb_magnet"] <= 200
    for p in PRODUCTS:  # ex-China reference at or above the China basis; small normal premium
        assert econ.price_usd_per_kg[p] >= econ.price_china_usd_per_kg[p]
        assert 0 <= econ.spot_premium[p] <= 0.5
        assert 0 < econ.holding_cost_usd_per_kg_year[p] < 0.05 * econ.price_usd_per_kg[p]
    assert 0.01 <= econ.discount_rate <= 0.10
    df = econ.projects
    with_total = df.loc[df["capex_total_musd"].notna() & (df["capex_total_musd"] > 0)]
    per_t = with_total["capex_total_musd"] / with_total["capacity_t_per_year"]  # US$M per t/yr
    mags = per_t[with_total["stage"] == "magnet"]
    assert len(mags) >= 6
    assert mags.between(0.01, 0.3).all(), mags  # US$10k-300k per t/yr of magnets
    sep = df.loc[(df["stage"] == "separation") & (df["product"] == "ndpr_oxide"), "opex_usd_per_kg"]
    assert sep.between(20, 100).all()
    hre = df.loc[df["product"] == "dytb_oxide", "opex_usd_per_kg"]
    assert hre.between(100, 1000).all()
    assert (df.loc[df["stage"] == "magnet", "opex_usd_per_kg"].between(10, 80)).all()
    # output at risk per kg of magnet exceeds the magnet's own price in every sector
    assert min(econ.voll_usd_per_kg.values()) > econ.price_usd_per_kg["ndfeb_magnet"]


def test_sector_shares_sum_to_one_everywhere(econ: Economics) -> None:
    assert set(econ.sector_share) == set(PLAN_REGIONS)
    for r, shares in econ.sector_share.items():
        assert set(shares) == set(SECTORS)
        assert sum(shares.values()) == pytest.approx(1.0), r


def test_voll_matches_the_simulators_sectors() -> None:
    spec = yaml.safe_load(
        resources.files("critmin.simulate.engine").joinpath("sectors.yaml").read_text("utf-8")
    )
    val = {s["id"]: s["value"]["product_usd"] / s["value"]["magnet_kg"] for s in spec["sectors"]}
    e = load_economics()
    assert e.voll_usd_per_kg["ev"] == pytest.approx(val["ev_traction"])
    assert e.voll_usd_per_kg["wind"] == pytest.approx(val["wind"], rel=1e-3)
    assert e.voll_usd_per_kg["electronics"] == pytest.approx(val["consumer_electronics"])
    assert e.voll_usd_per_kg["defence"] == pytest.approx(val["defence"])
    assert (
        e.voll_usd_per_kg["industrial"]
        == pytest.approx(val["industrial_motors"])
        == pytest.approx(val["other"])
    )


def test_demand_is_the_simulators_baseline_grown(econ: Economics) -> None:
    from critmin.simulate.chains.rare_earths import build_network
    from critmin.simulate.inputs.scenario import DEFAULT_REGIONS

    net = build_network(
        Dataset.bundled(),
        DEFAULT_REGIONS,
        mining_t_per_year=390000,
        magnet_t_per_year=320900,
        china_exports_t_per_year=58152,
        us_share_of_exports=0.1135,
    )
    grow = 1.07**2
    made = net.share[3] * net.volume[3] * 12
    for i, r in enumerate(net.regions):
        if r == "CHN":
            continue
        assert econ.demand_t_per_year[(r, "ndfeb_magnet")] == pytest.approx(
            net.demand0[i] * 12 * grow, rel=2e-3, abs=0.5
        ), r
        assert econ.feed_t_per_year[(r, "ndfeb_magnet")] == pytest.approx(
            made[i] * grow, rel=2e-3, abs=0.5
        ), r


def test_demand_conversion_hand_computed(econ: Economics) -> None:
    usa = 8600.3 * 1.07**2
    assert econ.demand_t_per_year[("USA", "ndfeb_magnet")] == pytest.approx(usa)
    assert econ.demand_t_per_year[("USA", "ndpr_oxide")] == pytest.approx(usa * 0.33 * 1.166)
    assert econ.demand_t_per_year[("USA", "dytb_oxide")] == pytest.approx(usa * 0.00966)
    assert econ.demand_t_per_year[("MMR", "ndfeb_magnet")] == 0.0
    assert set(econ.demand_t_per_year) == {(r, p) for r in PLAN_REGIONS for p in PRODUCTS}
    assert econ.voll_for("ev", "ndpr_oxide") == pytest.approx(17500 / (0.33 * 1.166))
    assert econ.voll_for("wind", "ndfeb_magnet") == econ.voll_usd_per_kg["wind"]
    with pytest.raises(DataError, match="unknown sector 'cars'"):
        econ.voll_for("cars", "ndpr_oxide")


def test_stage_totals_leave_out_overlapping_rows(econ: Economics) -> None:
    t = econ.stage_totals()
    df = econ.projects
    mining = t.loc[t["stage"] == "mining"].iloc[0]
    mine_rows = df.loc[(df["stage"] == "mining") & (df["overlaps"] == "")]
    assert mining["capacity_t_per_year"] == pytest.approx(mine_rows["capacity_t_per_year"].sum())
    assert "lynas-kalgoorlie" not in set(mine_rows["project_id"])
    assert list(t["stage"].drop_duplicates()) == list(STAGES)
    assert "projects" in econ.describe()


def test_default_is_cached_and_paths_are_read_afresh(tmp_path: Path) -> None:
    assert load_economics() is load_economics()
    header, rows = _rows()
    p = _write(tmp_path, header, rows[:3])
    a = load_economics(p, INSTRUMENTS)
    assert len(a.projects) == 3
    assert a is not load_economics(p, INSTRUMENTS)
    rows[0]["capacity_t_per_year"] = "12345"
    b = load_economics(_write(tmp_path, header, rows[:3]), INSTRUMENTS)
    assert b.projects.iloc[0]["capacity_t_per_year"] == 12345.0
    assert a.data_version != b.data_version


# ---------------------------------------------------------------------------------- hostile rows
BAD_CELLS = [
    ("region", "CHN", "China is the country of concern"),
    ("country", "CHN", "China is the country of concern"),
    ("country", "XXX", "unknown ISO3 code 'XXX'"),
    ("region", "EU27", "belongs to AUS, not EU27"),
    ("capacity_t_per_year", "-5", "-5 is out of range"),
    ("capacity_t_per_year", "0", "0 is out of range"),
    ("capacity_t_per_year", "lots", "'lots' is not a number"),
    ("opex_usd_per_kg", "nan", "is not finite"),
    ("stage", "smelting", "unknown stage 'smelting'"),
    ("product", "ndfeb_magnet", "a mining row cannot make ndfeb_magnet"),
    ("status", "rumoured", "unknown status 'rumoured'"),
    ("source_id", "web:nowhere:00000000", "not in the bundled sources.yaml"),
    ("extra_source_ids", "web:nowhere:1", "not in the bundled sources.yaml"),
    ("cofinance_max_share", "1.5", "1.5 is above 1"),
    ("capex_musd", "10", "an operating plant has lead times and remaining capex of 0"),
    ("project_id", "Mt Weld!", "is not a slug"),
    ("overlaps", "no-such-project", "overlaps names unknown project 'no-such-project'"),
    ("source_id", "", "empty cell"),
]


@pytest.mark.parametrize(("column", "value", "expected"), BAD_CELLS)
def test_bad_cell_gives_one_line_naming_file_line_column(
    tmp_path: Path, column: str, value: str, expected: str
) -> None:
    header, rows = _rows()
    assert rows[0]["project_id"] == "lynas-mt-weld"  # an operating AUS mining row
    rows[0][column] = value
    p = _write(tmp_path, header, rows)
    with pytest.raises(DataError) as ei:
        load_economics(p, INSTRUMENTS)
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith(f"{p}:2: column '{column}': ")
    assert expected in msg
    assert "Fix: " in msg


def test_lead_triangle_out_of_order(tmp_path: Path) -> None:
    header, rows = _rows()
    i = next(k for k, r in enumerate(rows) if r["status"] == "planned")
    rows[i]["lead_mode_years"] = str(float(rows[i]["lead_high_years"]) + 1)
    p = _write(tmp_path, header, rows)
    with pytest.raises(
        DataError, match=rf"^{p}:{i + 2}: column 'lead_mode_years': lead times .* not low <= mode <= high"
    ):
        load_economics(p, INSTRUMENTS)


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    header, rows = _rows()
    rows[5]["project_id"] = rows[1]["project_id"]
    p = _write(tmp_path, header, rows)
    with pytest.raises(
        DataError, match=rf"^{p}:7: column 'project_id': duplicate project_id '.*' \(first on line 3\)"
    ):
        load_economics(p, INSTRUMENTS)


def test_header_problems(tmp_path: Path) -> None:
    header, rows = _rows()
    p = _write(tmp_path, [c for c in header if c != "opex_usd_per_kg"], rows)
    with pytest.raises(DataError, match=rf"^{p}:1: column 'opex_usd_per_kg': missing column"):
        load_economics(p, INSTRUMENTS)
    p = _write(tmp_path, [*header, "colour"], [{**r, "colour": "red"} for r in rows])
    with pytest.raises(DataError, match=rf"^{p}:1: column 'colour': unknown column 'colour'"):
        load_economics(p, INSTRUMENTS)
    (tmp_path / "short.csv").write_text(",".join(header) + "\nlynas-mt-weld,Mt Weld\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"short.csv:2: too few fields"):
        load_economics(tmp_path / "short.csv", INSTRUMENTS)
    with pytest.raises(DataError, match=r"nope.csv: file not found"):
        load_economics(tmp_path / "nope.csv", INSTRUMENTS)


# ---------------------------------------------------------------------------------- hostile instruments
def _instruments(tmp_path: Path, old: str, new: str) -> Path:
    text = INSTRUMENTS.read_text("utf-8")
    assert old in text
    p = tmp_path / "instruments.yaml"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p


def _line(p: Path, needle: str) -> int:
    return next(i for i, text in enumerate(p.read_text("utf-8").splitlines(), 1) if needle in text)


@pytest.mark.parametrize(
    ("old", "new", "column", "expected"),
    [
        ("  value: 0.07\n", "  value: 0.5\n", "discount_rate.value", "0.5 is outside [0, 0.25]"),
        ("  value: 0.07\n", "  value: seven\n", "discount_rate.value", "'seven' is not a finite number"),
        (
            "  source: web:us-office-of-management-and-budg:06b49090\n",
            "  source: web:made-up:1\n",
            "discount_rate.source",
            "not in the bundled sources.yaml",
        ),
        (
            "  source: web:us-office-of-management-and-budg:06b49090\n",
            "",
            "discount_rate",
            "no source and no assumption",
        ),
        ("world: {defence: 0.03,", "world: {defence: 0.13,", "sector_share.world", "shares sum to 1.1000"),
        ("USA: 8600.3,", "USA: -1,", "demand.magnet_2024_t.values.USA", "USA: -1 is not a tonnage"),
    ],
)
def test_bad_instrument_names_file_line_key(
    tmp_path: Path, old: str, new: str, column: str, expected: str
) -> None:
    p = _instruments(tmp_path, old, new)
    with pytest.raises(DataError) as ei:
        load_economics(PROJECTS, p)
    msg = str(ei.value)
    assert "\n" not in msg
    assert f"column '{column}': " in msg
    assert expected in msg, msg
    assert msg.startswith(f"{p}:")


def test_bad_instrument_line_number_is_the_keys(tmp_path: Path) -> None:
    p = _instruments(tmp_path, "  value: 0.07\n", "  value: 0.5\n")
    with pytest.raises(DataError, match=rf"^{p}:{_line(p, 'value: 0.5')}: "):
        load_economics(PROJECTS, p)


def test_malformed_instruments_yaml(tmp_path: Path) -> None:
    p = tmp_path / "i.yaml"
    p.write_text("discount_rate: [1,\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"i.yaml:\d+: not valid YAML"):
        load_economics(PROJECTS, p)
    p.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"i.yaml:1: instruments must be a YAML mapping"):
        load_economics(PROJECTS, p)


# ---------------------------------------------------------------------------------- properties
@settings(max_examples=20, deadline=None)  # each example reads two files
@given(
    cap=st.floats(min_value=1e-3, max_value=1e7, allow_nan=False),
    share=st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
)
def test_any_valid_capacity_and_share_round_trip(
    tmp_path_factory: pytest.TempPathFactory, cap: float, share: float
) -> None:
    header, rows = _rows()
    sub = [r for r in rows if r["stage"] == "magnet"][:4]
    sub[0]["capacity_t_per_year"] = repr(cap)
    sub[1]["cofinance_max_share"] = (
        repr(share) if sub[1]["status"] != "operating" else sub[1]["cofinance_max_share"]
    )
    e = load_economics(_write(tmp_path_factory.mktemp("p"), header, sub), INSTRUMENTS)
    assert e.projects.iloc[0]["capacity_t_per_year"] == cap
    tot = e.stage_totals()
    assert tot["capacity_t_per_year"].sum() == pytest.approx(
        sum(float(r["capacity_t_per_year"]) for r in sub)
    )


# ---------------------------------------------------------------------------------- entry point
def test_cli_lists_the_new_sources(tmp_path: Path) -> None:
    proc = run_main("data", "sources", home=tmp_path)
    assert proc.returncode == 0
    assert "Management and Budget" in proc.stdout or "06b49090" in proc.stdout


# ---------------------------------------------------------------------------------- Dy+Tb content
def test_dytb_capacities_are_derated_to_their_dytb_content(econ: Economics) -> None:
    """Every Dy+Tb row states the company's capacity and the share of it that is Dy+Tb; Iluka's
    'up to 750 t/yr' counts 300 t (factor 0.4) and Caremag's 600 t/yr 300 t (0.5), each with the
    rationale and its sources; the pipeline not yet operating is 1,697 t/yr, not 2,447."""
    df = econ.projects.set_index("project_id")
    heavy = df[df["product"] == "dytb_oxide"]
    assert heavy["content_factor"].between(0.0, 1.0, inclusive="right").all()
    np.testing.assert_allclose(
        heavy["capacity_t_per_year"], heavy["capacity_stated_t_per_year"] * heavy["content_factor"]
    )
    assert df.loc["iluka-eneabba-hre", ["capacity_stated_t_per_year", "content_factor"]].tolist() == [
        750.0,
        0.4,
    ]
    assert df.loc["caremag-lacq-hre", ["capacity_stated_t_per_year", "content_factor"]].tolist() == [
        600.0,
        0.5,
    ]
    assert "Dy+Tb content 0.4" in df.loc["iluka-eneabba-hre", "assumption"]
    assert "web:government-of-western-australia:07790101" in df.loc["iluka-eneabba-hre", "extra_source_ids"]
    assert "Iwatani" in df.loc["caremag-lacq-hre", "assumption"]
    assert all("content factor" in a or "Dy+Tb content" in a for a in heavy["assumption"])
    tot = econ.stage_totals().set_index("product").loc["dytb_oxide"]
    assert tot["pipeline_capacity_t_per_year"] == pytest.approx(333.5 + 333.5 + 200 + 300 + 300 + 230)
    # other rows keep their capacity as printed (blank factor)
    assert df.loc[df["product"] != "dytb_oxide", "content_factor"].isna().all()


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("content_factor", "", "a Dy+Tb row needs its content factor"),
        ("content_factor", "1.5", "1.5 is not a share in (0, 1]"),
        ("content_factor", "0", "0 is not a share in (0, 1]"),
        ("capacity_t_per_year", "750", "750 t/yr is not the stated 750 x content factor 0.4 = 300"),
        ("capacity_stated_t_per_year", "-1", "-1 is out of range"),
    ],
)
def test_bad_dytb_content_cells_name_line_and_column(
    tmp_path: Path, column: str, value: str, expected: str
) -> None:
    header, rows = _rows()
    i = next(k for k, r in enumerate(rows) if r["project_id"] == "iluka-eneabba-hre")
    rows[i][column] = value
    p = _write(tmp_path, header, rows)
    with pytest.raises(DataError) as ei:
        load_economics(p, INSTRUMENTS)
    msg = str(ei.value)
    want_col = "capacity_t_per_year" if column == "capacity_stated_t_per_year" and value != "-1" else column
    assert msg.startswith(f"{p}:{i + 2}: column '{want_col}': ")
    assert expected in msg
