"""critmin.store.runs: save/list/get/compare/remove, concurrent writers, damaged and missing stores."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.errors import DataError, StoreError
from critmin.simulate import simulate
from critmin.store.duckdb_store import STORE_FILE, Store
from critmin.store.runs import RunStore, compare_summaries, new_run_id, region_band_frame, simulation_tables

ID = re.compile(r"^sim-\d{8}T\d{6}-[0-9a-f]{8}$")


def _summary(p50: float, region: str = "USA") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": [region, "EU27"],
            "product": ["ndfeb_magnets", "ndfeb_magnets"],
            "metric": ["peak_shortfall_pct", "peak_shortfall_pct"],
            "p5": [p50 - 1, 2.0],
            "p50": [p50, 3.0],
            "p95": [p50 + 1, 4.0],
        }
    )


def _save(store: RunStore, p50: float = 10.0, name: str = "toy", **kw: object) -> str:
    return store.save(
        kind="simulation",
        name=name,
        tables={"summary": _summary(p50), "bands": pd.DataFrame({"month": ["2026-01"], "x_p50": [1.5]})},
        seed=3,
        paths=7,
        data_version="abc123",
        spec_yaml="name: toy\n",
        meta={"months": ["2026-01", "2026-12"], "source_ids": ["s1"]},
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def small_result():  # type: ignore[no-untyped-def]
    return simulate("controls-reimposed-2026-11", paths=5, seed=2)


# ------------------------------------------------------------------ round trip
def test_save_list_get_remove_round_trip(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path)
    assert store.list() == []
    a = _save(store, 10.0)
    b = _save(store, 12.5, name="other")
    assert ID.match(a)
    assert ID.match(b)
    assert a != b
    listed = store.list()
    assert [r.run_id for r in listed] == [a, b]  # oldest first
    assert (listed[0].kind, listed[0].name, listed[0].seed, listed[0].paths) == ("simulation", "toy", 3, 7)
    assert listed[0].data_version == "abc123"
    rec, tables = store.get(a)
    assert rec.spec_yaml == "name: toy\n"
    assert rec.meta == {"months": ["2026-01", "2026-12"], "source_ids": ["s1"]}
    pd.testing.assert_frame_equal(tables["summary"], _summary(10.0))
    assert tables["bands"]["x_p50"].tolist() == [1.5]
    assert store.remove(a) is True
    assert store.remove(a) is False
    assert [r.run_id for r in store.list()] == [b]


def test_compare_gives_b_minus_a_by_hand(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path)
    a, b = _save(store, 10.0), _save(store, 12.5)
    c = store.compare(a, b)
    usa = c.loc[c["region"] == "USA"].iloc[0]
    assert (usa["p50_a"], usa["p50_b"], usa["diff_p50"]) == (10.0, 12.5, 2.5)
    assert (usa["diff_p5"], usa["diff_p95"]) == (2.5, 2.5)
    eu = c.loc[c["region"] == "EU27"].iloc[0]
    assert eu["diff_p50"] == 0.0
    assert list(c.columns[:3]) == ["region", "product", "metric"]


def test_compare_keeps_rows_present_in_one_run_only() -> None:
    c = compare_summaries(_summary(1.0, region="USA"), _summary(1.0, region="JPN"))
    assert set(c["region"]) == {"USA", "JPN", "EU27"}
    usa = c.loc[c["region"] == "USA"].iloc[0]
    assert np.isnan(usa["p50_b"])
    assert np.isnan(usa["diff_p50"])


@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False))
def test_compare_difference_is_antisymmetric(x: float, y: float) -> None:
    ab = compare_summaries(_summary(x), _summary(y))
    ba = compare_summaries(_summary(y), _summary(x))
    assert np.allclose(ab["diff_p50"].to_numpy(), -ba["diff_p50"].to_numpy())


def test_unknown_run_is_one_line_with_the_fix(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path)
    _save(store)
    with pytest.raises(DataError) as exc:
        store.get("sim-nope")
    msg = str(exc.value)
    assert "sim-nope" in msg
    assert "critmin runs list" in msg
    assert "\n" not in msg
    with pytest.raises(DataError):
        store.compare("sim-nope", "sim-nope2")


def test_run_ids_carry_kind_and_time() -> None:
    from datetime import UTC, datetime

    rid = new_run_id("plan", datetime(2026, 12, 3, 1, 2, 3, tzinfo=UTC))
    assert re.match(r"^plan-20261203T010203-[0-9a-f]{8}$", rid)
    with pytest.raises(DataError):
        new_run_id("bogus")


def test_save_plan_keeps_record_lists_as_tables(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path)
    rid = store.save_plan(
        {
            "name": "portfolio",
            "seed": 4,
            "data_version": "v1",
            "portfolio": [{"project": "a", "t": 1.0, "tags": ["x", "y"]}],
            "spec": {"budget": 5},
            "objective": 2.5,
        }
    )
    assert rid.startswith("plan-")
    rec, tables = store.get(rid)
    assert (rec.kind, rec.name, rec.seed, rec.data_version) == ("plan", "portfolio", 4, "v1")
    assert tables["portfolio"]["tags"].tolist() == ['["x", "y"]']  # JSON, never a Python list repr
    assert "budget: 5" in rec.spec_yaml
    assert rec.meta is not None
    assert rec.meta["objective"] == 2.5


# ------------------------------------------------------------------ a real simulation
def test_save_simulation_keeps_what_a_report_needs(tmp_path: Path, small_result) -> None:  # type: ignore[no-untyped-def]
    store = RunStore.open(tmp_path)
    rid = store.save_simulation(small_result)
    rec, tables = store.get(rid)
    assert rec.name == "controls-reimposed-2026-11"
    assert (rec.seed, rec.paths, rec.data_version) == (2, 5, small_result.data_version)
    assert "name: controls-reimposed-2026-11" in rec.spec_yaml
    assert rec.meta is not None
    assert rec.meta["assumption_ids"] == list(small_result.assumption_ids)
    pd.testing.assert_frame_equal(tables["summary"], small_result.summary, check_dtype=False)
    assert {"summary", "bands", "chain_bands", "region_bands", "events"} <= set(tables)
    assert set(tables["chain_bands"]["chain"]) == set(small_result.chains)
    assert len(tables["events"]) > 0
    assert store.compare(rid, rid)["diff_p50"].abs().max() == 0.0


def test_region_bands_are_percentiles_of_each_regions_shortfall(small_result) -> None:  # type: ignore[no-untyped-def]
    rb = region_band_frame(small_result)
    tr = small_result.trace
    r = small_result.scenario.regions.index("USA")
    t = 40
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(tr.demand[t, :, r] > 0, 100 * tr.shortfall[t, :, r] / tr.demand[t, :, r], 0.0)
    row = rb.loc[(rb["region"] == "USA") & (rb["month"] == small_result.months[t])].iloc[0]
    assert row["shortfall_pct_p50"] == pytest.approx(float(np.median(pct)))
    assert (rb["shortfall_pct_p5"] <= rb["shortfall_pct_p50"] + 1e-12).all()
    assert (rb["shortfall_pct_p50"] <= rb["shortfall_pct_p95"] + 1e-12).all()
    assert "region_bands" in simulation_tables(small_result)


# ------------------------------------------------------------------ store conditions
def test_a_read_never_creates_the_store(tmp_path: Path) -> None:
    home = tmp_path / "no" / "home"
    store = RunStore.open(home)
    assert store.list() == []
    with pytest.raises(DataError):
        store.get("sim-x")
    assert store.remove("sim-x") is False
    assert not home.exists()


def test_a_store_with_imports_but_no_runs_lists_none(tmp_path: Path) -> None:
    Store.open(tmp_path).add_import(kind="overlay", path="x.csv", tables={}, sources=[])
    assert RunStore.open(tmp_path).list() == []
    _save(RunStore.open(tmp_path))
    assert len(Store.open(tmp_path).imports()) == 1  # the runs leave the imports alone


def test_a_damaged_store_is_one_line_with_the_fix(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path)
    _save(store)
    path = tmp_path / STORE_FILE
    path.write_bytes(b"this is not a duckdb file" * 100)
    for call in (store.list, lambda: store.get("sim-x"), lambda: _save(store)):
        with pytest.raises(StoreError) as exc:
            call()
        msg = str(exc.value)
        assert "damaged" in msg
        assert "stored runs" in msg
        assert str(path) in msg
        assert "Fix:" in msg
        assert "\n" not in msg


def test_an_unwritable_home_refuses_a_save_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as exc:
        _save(RunStore.open(blocker / "home"))
    assert "Fix:" in str(exc.value)
    assert "\n" not in str(exc.value)


_WRITER = """
import sys
import pandas as pd
from pathlib import Path
from critmin.store.runs import RunStore
store = RunStore.open(Path(sys.argv[1]))
ids = []
for i in range(int(sys.argv[2])):
    ids.append(store.save(kind="simulation", name=f"w{sys.argv[3]}-{i}",
               tables={"summary": pd.DataFrame({"region": ["USA"], "product": ["p"], "metric": ["m"],
                                                "p5": [float(i)], "p50": [float(i)], "p95": [float(i)]})},
               seed=i, paths=1, data_version="v"))
    store.list()
print(" ".join(ids))
"""


def test_concurrent_writers_and_readers_lose_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "CRITMIN_STORE_WAIT_S": "60"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_WRITER), str(tmp_path), "4", str(w)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(3)
    ]
    ids: list[str] = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        ids += out.split()
    assert len(ids) == 12 == len(set(ids))
    assert sorted(r.run_id for r in RunStore.open(tmp_path).list()) == sorted(ids)


def test_threads_in_one_process_share_the_store(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = RunStore.open(tmp_path)
    _save(store)

    def work(i: int) -> int:
        if i % 2:
            _save(store, float(i))
        return len(store.list())

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(work, range(12)))
    assert min(counts) >= 1
    assert len(store.list()) == 7
