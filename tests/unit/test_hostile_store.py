"""The store and the dataset it feeds under hostile conditions (issue 11, slice B).

Missing, read-only, damaged and locked stores; the recorded sha256 is that of the bytes parsed;
re-imported vintages replace their own source's cross-sections; stage-share sets mixing bundled
and overlay rows; imports read lazily per commodity.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.data.catalogue import Source
from critmin.data.dataset import Dataset
from critmin.data.layers import SHARE_SUM_TOLERANCE, check_share_sums
from critmin.data.load import load_dataset, version_after
from critmin.errors import CritminError, DataError, StoreError
from critmin.metrics.exposure import exposure
from critmin.store.duckdb_store import JOURNAL_FILE, STORE_FILE, Store

USER = Source(
    id="mine", kind="dataset", publisher="me", title="Mine", url="https://ex.org/m", licence="CC0", priority=0
)


def _bundled_rows(commodity: str = "nickel", stage: str = "mining", year: int = 2023) -> pd.DataFrame:
    p = Dataset.bundled().tables["production"]
    sel = (p["commodity"] == commodity) & (p["stage"] == stage) & (p["year"] == year)
    sel &= p["measure"] == "production"
    return p.loc[sel].reset_index(drop=True)


def _hhi(ds: Dataset, commodity: str = "nickel") -> float:
    st_ = exposure(commodity, dataset=ds).stages
    return float(st_.loc[st_["stage"] == "mining", "hhi"].iloc[0])


def _share_rows(rows: list[tuple[str, float]], *, source: str = "mine", year: int = 2024) -> pd.DataFrame:
    base = Dataset.bundled().tables["stage_shares"].iloc[[0]]
    out = pd.concat([base] * len(rows), ignore_index=True)
    out["commodity"], out["stage"], out["year"], out["source_id"] = "rare_earths", "separation", year, source
    out["country"] = [c for c, _ in rows]
    out["share"] = [s for _, s in rows]
    out["is_projection"], out["is_assumption"], out["quality"] = False, False, None
    return out


# ------------------------------------------------------------------ missing / read-only stores
def test_a_read_of_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "no" / "such" / "home"
    store = Store.open(home)
    assert store.imports() == []
    assert store.catalogue() == ([], {})
    assert load_dataset(home).version == Dataset.bundled().version
    assert not home.exists()  # the old Store.open made the folder and the schema on every read


def test_an_unwritable_home_reads_but_refuses_writes_with_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    home = blocker / "home"  # mkdir is impossible here even as root: a stand-in for chmod 0555
    assert load_dataset(home).version == Dataset.bundled().version
    with pytest.raises(StoreError) as exc:
        Store.open(home).add_import(kind="overlay", path="x.csv", tables={}, sources=[])
    msg = str(exc.value)
    assert "cannot create the store folder" in msg
    assert "Fix:" in msg
    assert "\n" not in msg


def test_reads_of_an_existing_store_open_it_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(tmp_path)
    store.add_import(kind="usgs-mcs", path="n.csv", tables={"production": _bundled_rows()}, sources=[USER])
    modes: list[bool] = []
    real = duckdb.connect

    def spy(path: str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        modes.append(read_only)
        return real(path, read_only=read_only)

    monkeypatch.setattr(duckdb, "connect", spy)
    ds = load_dataset(tmp_path)
    ds.production("nickel", "mining", 2023)
    store.imports()
    assert modes
    assert all(modes)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file modes; the unwritable-home test covers it")
def test_chmod_0555_home_still_reads(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.add_import(kind="usgs-mcs", path="n.csv", tables={"production": _bundled_rows()}, sources=[USER])
    tmp_path.chmod(0o555)
    (tmp_path / STORE_FILE).chmod(0o444)
    try:
        assert len(Store.open(tmp_path).imports()) == 1
        assert load_dataset(tmp_path).production("nickel", "mining", 2023).shape[0] > 0
        with pytest.raises(StoreError, match="Fix:"):
            Store.open(tmp_path).add_import(kind="overlay", path="y.csv", tables={}, sources=[])
    finally:
        tmp_path.chmod(0o755)


# ------------------------------------------------------------------ damaged stores
def _real_store(home: Path) -> Path:
    store = Store.open(home)
    big = pd.concat([_bundled_rows()] * 400, ignore_index=True)  # a few row groups, so damage lands in data
    store.add_import(kind="usgs-mcs", path="n.csv", tables={"production": big}, sources=[USER])
    return home / STORE_FILE


@pytest.mark.parametrize(
    "damage", ["truncate-half", "truncate-100", "empty", "garble-header", "garble-blocks", "flip-bytes"]
)
def test_a_damaged_store_says_where_it_is_and_how_to_recover(tmp_path: Path, damage: str) -> None:
    path = _real_store(tmp_path)
    data = bytearray(path.read_bytes())
    size = len(data)
    if damage == "truncate-half":
        data = data[: size // 2]
    elif damage == "truncate-100":
        data = data[:100]
    elif damage == "empty":
        data = bytearray()
    elif damage == "garble-header":
        data[:4096] = bytes(range(256)) * 16
    elif damage == "garble-blocks":  # every block after the headers: checksums no longer match
        for i in range(12288, size - 200, 4096):
            data[i + 100 : i + 200] = b"\xab" * 100
    else:  # one flipped byte per 256 KiB block
        for i in range(12288, size - 5000, 262144):
            data[i + 5000] ^= 0xFF
    path.write_bytes(bytes(data))

    def read() -> None:
        Store.open(tmp_path).imports()
        load_dataset(tmp_path).tables["production"]

    with pytest.raises(StoreError) as exc:
        read()
    msg = str(exc.value)
    assert "damaged" in msg
    assert str(path) in msg
    assert "Fix: move it aside" in msg
    assert JOURNAL_FILE in msg  # where the recorded import paths are
    assert "stored runs" in msg  # the runs (simulations, plans) live in the same file
    assert "\n" not in msg
    assert path.read_bytes() == bytes(data)  # a read never rewrites the file


def test_the_journal_lists_every_import_for_replay(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.add_import(
        kind="usgs-mcs",
        path="n.csv",
        tables={"production": _bundled_rows()},
        sources=[USER],
        sha256="ab" * 32,
    )
    lines = (tmp_path / JOURNAL_FILE).read_text("utf-8").splitlines()
    assert lines[0] == "kind\tpath\tsha256"
    assert lines[1] == f"usgs-mcs\t{Path('n.csv').resolve()}\t{'ab' * 32}"
    assert store.remove_import(store.imports()[0].import_id)
    assert (tmp_path / JOURNAL_FILE).read_text("utf-8").splitlines() == ["kind\tpath\tsha256"]


# ------------------------------------------------------------------ locks
_HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_HOLD), str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_reader_waits_for_a_short_write_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _real_store(tmp_path)
    monkeypatch.setenv("CRITMIN_STORE_WAIT_S", "20")
    proc = _hold(path, 1.0)
    try:
        assert len(Store.open(tmp_path).imports()) == 1
    finally:
        proc.wait(30)


def test_a_lock_held_too_long_names_the_store_and_the_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _real_store(tmp_path)
    monkeypatch.setenv("CRITMIN_STORE_WAIT_S", "0.3")
    proc = _hold(path, 3.0)
    try:
        with pytest.raises(StoreError) as exc:
            Store.open(tmp_path).add_import(kind="overlay", path="x.csv", tables={}, sources=[])
        msg = str(exc.value)
        assert str(path) in msg
        assert f"PID {proc.pid}" in msg or f"process {proc.pid}" in msg
        assert "Fix:" in msg
    finally:
        proc.wait(30)
    assert len(Store.open(tmp_path).imports()) == 1  # nothing half-written


def test_rows_of_an_import_replaced_meanwhile_are_refused(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.add_import(kind="usgs-mcs", path="n.csv", tables={"production": _bundled_rows()}, sources=[USER])
    ds = load_dataset(tmp_path)
    other = _bundled_rows().assign(value=1.0)
    store.add_import(kind="usgs-mcs", path="n.csv", tables={"production": other}, sources=[USER])
    with pytest.raises(StoreError, match="run the command again"):
        ds.production("nickel", "mining", 2023)


# ------------------------------------------------------------------ sha256 of the bytes parsed
def test_the_recorded_sha256_is_the_callers_not_a_reread(tmp_path: Path) -> None:
    f = tmp_path / "gone.csv"  # never written: a file deleted mid-import
    rec = Store.open(tmp_path).add_import(
        kind="usgs-mcs", path=f, tables={"production": _bundled_rows()}, sources=[USER], sha256="cd" * 32
    )
    assert rec.sha256 == "cd" * 32
    assert Store.open(tmp_path).imports()[0].sha256 == "cd" * 32


def test_the_overlay_reader_digest_reaches_the_store(tmp_path: Path) -> None:
    from critmin.data.load import import_overlay

    f = tmp_path / "ov.csv"
    body = (
        "commodity,stage,measure,country,year,value,unit,source_id,source_title,source_url\n"
        "rare_earths,mining,production,AUS,2024,5,t,my-est,My estimate,https://ex.org/a\n"
    )
    f.write_text(body, encoding="utf-8")
    import hashlib

    parsed = hashlib.sha256(body.encode()).hexdigest()
    done = import_overlay(f, home=tmp_path)
    f.write_text(body.replace(",5,", ",7,"), encoding="utf-8")  # swapped after the parse
    assert done.record.sha256 == parsed
    assert Store.open(tmp_path).imports()[0].sha256 == parsed
    assert done.data_version == load_dataset(tmp_path).version


# ------------------------------------------------------------------ vintages never mix
def test_reimporting_a_bundled_edition_keeps_hhi(tmp_path: Path) -> None:
    before = _hhi(Dataset.bundled())
    rows = _bundled_rows()
    Store.open(tmp_path).add_import(
        kind="usgs-mcs",
        path="n.csv",
        tables={"production": rows},
        sources=[Dataset.bundled().sources["usgs-mcs2024"]],
    )
    ds = load_dataset(tmp_path)
    got = ds.production("nickel", "mining", 2023)
    assert not got.duplicated(["country"]).any()
    assert _hhi(ds) == pytest.approx(before)
    assert round(before) == 2756


def test_a_reimported_vintage_replaces_only_the_sections_it_covers(tmp_path: Path) -> None:
    src = Dataset.bundled().sources["usgs-mcs2024"]
    rows = _bundled_rows()
    rows = rows.loc[rows["country"].isin(["IDN", "WLD"])].assign(value=[1.0, 2.0])
    ds = Dataset.bundled().with_vintage(rows, src, tag="partial")
    got = ds.production("nickel", "mining", 2023)
    assert sorted(got["country"]) == ["IDN", "WLD"]  # the section is the import's, whole
    assert len(ds.production("nickel", "mining", 2022)) == len(
        Dataset.bundled().production("nickel", "mining", 2022)
    )


def test_two_sources_of_equal_rank_do_not_add_up() -> None:
    a = Dataset.bundled().sources["usgs-mcs2024"]
    twin = a.model_copy(update={"id": "usgs-mcs2024-copy"})
    rows = _bundled_rows().assign(source_id=twin.id)
    ds = Dataset.bundled().with_vintage(rows, twin, tag="twin")
    got = ds.production("nickel", "mining", 2023)
    assert set(got["source_id"]) == {twin.id}  # the one applied last wins the tie
    assert not got.duplicated(["country"]).any()


# ------------------------------------------------------------------ stage-share sets
def test_overlay_shares_replace_the_same_rows() -> None:
    ds = Dataset.bundled()
    ss = ds.stage_shares("rare_earths", "separation")
    sid, year = ss["source_id"].iloc[0], int(ss["year"].iloc[0])
    over = _share_rows([("CHN", 0.9)], source=sid, year=year)
    got = ds.with_overlay({"stage_shares": over}, [], tag="o").stage_shares("rare_earths", "separation", year)
    chn = got.loc[got["country"] == "CHN"]
    assert len(chn) == 1
    assert float(chn["share"].iloc[0]) == 0.9
    assert len(got) == len(ss)  # the other rows of the set stay


def test_a_mixed_set_summing_above_one_goes_to_the_newest_overlay() -> None:
    ds = Dataset.bundled()
    ss = ds.stage_shares("rare_earths", "separation")
    sid, year = ss["source_id"].iloc[0], int(ss["year"].iloc[0])
    over = _share_rows([("USA", 0.9)], source=sid, year=year)
    got = ds.with_overlay({"stage_shares": over}, [], tag="o").stage_shares("rare_earths", "separation", year)
    assert got["share"].sum() <= 1 + SHARE_SUM_TOLERANCE
    assert list(got["country"]) == ["USA"]


def test_two_overlays_over_full_keep_the_newer() -> None:
    ds = Dataset.bundled()
    one = ds.with_overlay({"stage_shares": _share_rows([("CHN", 0.9)])}, [USER], tag="o1")
    two = one.with_overlay({"stage_shares": _share_rows([("USA", 0.9)])}, [USER], tag="o2")
    got = two.rows("stage_shares", "rare_earths")
    got = got.loc[got["source_id"] == "mine"]
    assert list(got["country"]) == ["USA"]


@settings(max_examples=25)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=6))
def test_check_share_sums_refuses_exactly_the_over_full_sets(shares: list[float]) -> None:
    rows = _share_rows([(f"C{i}", s) for i, s in enumerate(shares)])
    if sum(shares) > 1 + SHARE_SUM_TOLERANCE:
        with pytest.raises(DataError, match="above 1") as exc:
            check_share_sums(rows, path="f.csv")
        assert exc.value.fix
    else:
        check_share_sums(rows, path="f.csv")


# ------------------------------------------------------------------ lazy, per commodity
def test_imports_are_read_per_commodity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open(tmp_path)
    rows = pd.concat([_bundled_rows(), _bundled_rows("rare_earths", "mining", 2023)], ignore_index=True)
    store.add_import(
        kind="overlay", path="o.csv", tables={"production": rows.assign(source_id="mine")}, sources=[USER]
    )
    calls: list[tuple[str, str | None]] = []
    real = Store.rows

    def spy(self: Store, name: str, ids: list[str], commodity: str | None = None) -> pd.DataFrame:
        calls.append((name, commodity))
        return real(self, name, ids, commodity)

    monkeypatch.setattr(Store, "rows", spy)
    ds = load_dataset(tmp_path)
    assert calls == []  # loading reads the catalogue only
    exposure("rare_earths", dataset=ds)
    assert {c for _, c in calls} == {"rare_earths"}
    assert len(calls) == len(set(calls))  # one read per table and commodity, then cached


def test_the_lazy_and_the_whole_table_agree(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    rows = _bundled_rows().assign(source_id="mine", value=lambda f: f["value"] * 2)
    store.add_import(kind="overlay", path="o.csv", tables={"production": rows}, sources=[USER])
    lazy = load_dataset(tmp_path)
    whole = load_dataset(tmp_path)
    whole.tables["production"]  # materialise first: the per-commodity path is then a filter
    a = lazy.production("nickel", "mining", 2023)
    b = whole.production("nickel", "mining", 2023)
    pd.testing.assert_frame_equal(a, b)
    assert lazy.version == whole.version == version_after([store.imports()[0].import_id])


def test_store_errors_are_critmin_errors() -> None:
    assert issubclass(StoreError, CritminError)
