"""The CLI through its real entry point (the installed ``critmin`` console script)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import run_cli as run


def _ree_mining(home: Path, year: str) -> dict[str, Any]:
    """`critmin data show production` for rare-earth mining in ``year``, as parsed JSON."""
    out = run(
        "data",
        "show",
        "production",
        "--commodity",
        "rare_earths",
        "--stage",
        "mining",
        "--year",
        year,
        "--format",
        "json",
        home=home,
    ).stdout
    doc: dict[str, Any] = json.loads(out)
    return doc


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_version(home: Path) -> None:
    assert run("--version", home=home).stdout.startswith("critmin ")


def test_show_production_json_rare_earth_mining_2024(home: Path) -> None:
    out = _ree_mining(home, "2024")
    assert out["year"] == 2024
    assert len(out["data_version"]) == 12
    rows = {r["country"]: r for r in out["rows"]}
    assert {"country", "value", "unit", "source_id", "share"} <= set(rows["CHN"])
    # MCS 2026 (the newest vintage for 2024): China 270,000 of a world total of 380,000 t REO.
    assert rows["CHN"]["value"] == 270_000
    assert rows["CHN"]["unit"] == "t"
    assert out["world_total"] == 380_000
    assert rows["CHN"]["share"] == pytest.approx(270_000 / 380_000)
    assert rows["AUS"]["value"] == 29_000
    assert "WLD" not in rows


def test_show_csv_and_table(home: Path) -> None:
    csv_out = run(
        "data",
        "show",
        "production",
        "--commodity",
        "gallium",
        "--stage",
        "separation",
        "--format",
        "csv",
        home=home,
    ).stdout
    assert csv_out.splitlines()[0].startswith("country,country_name,value,unit,share")
    table = run(
        "data",
        "show",
        "production",
        "--commodity",
        "rare_earths",
        "--stage",
        "mining",
        "--year",
        "2024",
        home=home,
    ).stdout
    assert "China" in table


def test_sources_table_lists_licences(home: Path) -> None:
    out = json.loads(run("data", "sources", "--format", "json", home=home).stdout)
    ids = {r["id"]: r for r in out["rows"]}
    assert ids["usgs-mcs2024"]["doi"] == "10.5066/P144BA54"
    assert all(r["licence"] for r in out["rows"])


def test_unknown_commodity_is_a_clear_error(home: Path) -> None:
    proc = run("data", "show", "production", "--commodity", "rare_earth", home=home, ok=False)
    assert proc.returncode == 2
    assert "unknown commodity 'rare_earth'" in proc.stderr
    assert "rare_earths" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_overlay_import_changes_results_and_version(home: Path, tmp_path: Path) -> None:
    before = _ree_mining(home, "2024")
    ov = tmp_path / "mine.csv"
    ov.write_text(
        "commodity,stage,measure,country,year,value,unit,source_id,source_title,source_url\n"
        "rare_earths,mining,production,Burma,2024,40,kt,analyst-2026,Analyst estimate,https://example.org/x\n",
        encoding="utf-8",
    )
    assert "OK" in run("data", "validate", str(ov), home=home).stdout
    run("data", "import", "overlay", str(ov), home=home)
    after = _ree_mining(home, "2024")
    rows = {r["country"]: r for r in after["rows"]}
    assert rows["MMR"]["value"] == 40_000
    assert rows["MMR"]["source_id"] == "analyst-2026"
    assert after["data_version"] != before["data_version"]
    assert after["world_total"] == pytest.approx(before["world_total"] + 40_000 - 27_000)
    listed = json.loads(run("data", "imports", "--format", "json", home=home).stdout)["rows"]
    assert len(listed) == 1


def test_bad_overlay_writes_nothing(home: Path, tmp_path: Path) -> None:
    ov = tmp_path / "bad.csv"
    ov.write_text(
        "commodity,stage,measure,country,year,value,unit,source_id\n"
        "rare_earths,mining,capacity,AUS,2024,100,t,usgs-mcs2024\n"
        "rare_earths,mining,capacity,USA,2024,-100,t,usgs-mcs2024\n",
        encoding="utf-8",
    )
    proc = run("data", "import", "overlay", str(ov), home=home, ok=False)
    assert proc.returncode == 2
    assert f"{ov}:3" in proc.stderr
    assert "'value'" in proc.stderr
    listed = json.loads(run("data", "imports", "--format", "json", home=home).stdout)["rows"]
    assert listed == []


def test_import_usgs_world_csv_as_new_vintage(home: Path, tmp_path: Path) -> None:
    f = tmp_path / "mcs2027-raree_world.csv"
    f.write_text(
        "\ufeffSource,Country,Type,Prod_t_2025,Prod_t_est_2026,Prod_notes,Reserves_t,Reserves_notes,,,\r\n"
        'MCS2027,China,"Rare earths, mine production, rare-earth-oxide equivalent, metric tons",'
        "280000,300000,,44000000,,,,\r\n"
        'MCS2027,World total (rounded),"Rare earths, mine production, rare-earth-oxide equivalent, '
        'metric tons",400000,420000,,>90000000,,,,\r\n',
        encoding="utf-8",
    )
    run("data", "import", "usgs-mcs", str(f), home=home)
    out = _ree_mining(home, "2026")
    rows = {r["country"]: r for r in out["rows"]}
    assert rows["CHN"]["value"] == 300_000
    assert rows["CHN"]["share"] == pytest.approx(300_000 / 420_000)


def test_validate_reports_bad_usgs_file(home: Path, tmp_path: Path) -> None:
    f = tmp_path / "mcs2024-raree_world.csv"
    f.write_text(
        "Source,Country,Type,Prod_t_2022,Prod_t_est_2023,Prod_notes,Reserves_t,Reserves_notes\n"
        'MCS2024,Atlantis,"Rare earths, mine production, rare-earth-oxide equivalent, metric tons",1,2,,3,\n',
        encoding="utf-8",
    )
    proc = run("data", "validate", str(f), home=home, ok=False)
    assert proc.returncode == 2
    assert f"{f}:2" in proc.stderr
    assert "Atlantis" in proc.stderr


def test_exposure_json_document(home: Path) -> None:
    out = json.loads(
        run("exposure", "--commodity", "rare_earths", "--year", "2024", "--format", "json", home=home).stdout
    )
    assert {"commodity", "year", "importer", "data_version", "stages", "net_import_reliance"} <= set(out)
    stages = {s["stage"]: s for s in out["stages"]}
    keys = {
        "stage",
        "hhi",
        "hhi_wgi",
        "top1_country",
        "top1_share",
        "top3_share",
        "n_to_80pct",
        "n_minus_1_coverage",
        "source_ids",
    }
    assert keys <= set(stages["mining"])
    # MCS 2026, 2024: China 270,000 of 380,000 t REO
    assert stages["mining"]["top1_country"] == "CHN"
    assert stages["mining"]["top1_share"] == pytest.approx(270_000 / 380_000)
    assert stages["separation"]["top1_share"] == pytest.approx(0.913)
    nir = out["net_import_reliance"]
    assert {"value", "bound", "source_id"} <= set(nir)
    # USGS MCS 2026: apparent consumption 9,010 t, production 4,300 t (compounds and metals)
    assert nir["value"] == pytest.approx((9010 - 4300) / 9010)
    assert nir["as_printed"] == "53"


def test_summary_is_the_readable_demo(home: Path) -> None:
    out = run("summary", home=home).stdout
    assert "China (CHN)" in out
    assert "net import reliance" in out
    assert "doi:10.5066/P1WKQ63T" in out


def test_criticality_eu_runs_over_every_commodity_and_marks_assumptions(home: Path) -> None:
    out = json.loads(run("criticality", "--method", "eu", "--format", "json", home=home).stdout)
    assert out["method"] == "eu"
    rows = {r["commodity"]: r for r in out["rows"]}
    assert len(rows) > 80
    assert rows["rare_earths"]["critical"] is True
    assert rows["rare_earths"]["sr"] >= 1
    assert "hhi_wgi_eu" in rows["rare_earths"]["assumed_inputs"]
    assert rows["germanium"]["status"] != "ok"
    assert rows["germanium"]["reason"]


def test_criticality_usgs_ranks(home: Path) -> None:
    out = json.loads(run("criticality", "--method", "usgs", "--format", "json", home=home).stdout)
    ranked = sorted((r for r in out["rows"] if r["status"] == "ok"), key=lambda r: r["rank"])
    assert ranked[0]["rank"] == 1
    scores = [r["score"] for r in ranked]
    assert scores == sorted(scores, reverse=True)


def test_exposure_unknown_importer_is_clear(home: Path) -> None:
    proc = run("exposure", "--importer", "Atlantis", home=home, ok=False)
    assert proc.returncode == 2
    assert "unknown country 'Atlantis'" in proc.stderr
