"""critmin.report.tables and critmin.atomic: checked output paths, real workbooks, umask modes."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from critmin.atomic import atomic_path, atomic_write_bytes, current_umask, new_file_mode
from critmin.errors import CritminError, DataError
from critmin.report.tables import check_figure_path, check_output_path, long_table, write_tables

FRAMES = {
    "summary": pd.DataFrame({"region": ["USA", "EU27"], "p50": [1.5, np.nan]}),
    "bands": pd.DataFrame({"month": ["2026-11"], "p50": [0.25]}),
}


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


# --------------------------------------------------------------------------- check_output_path
def test_a_writable_path_comes_back_as_a_path(tmp_path: Path) -> None:
    assert check_output_path(str(tmp_path / "run.parquet")) == tmp_path / "run.parquet"
    assert check_output_path(tmp_path / "RUN.XLSX") == tmp_path / "RUN.XLSX"  # case-insensitive
    assert check_output_path(tmp_path / "s.csv.gz", (".csv.gz",)) == tmp_path / "s.csv.gz"


def test_missing_folder_is_refused_with_the_mkdir_fix(tmp_path: Path) -> None:
    target = tmp_path / "nope" / "run.parquet"
    with pytest.raises(DataError, match=r"the folder .*nope' does not exist") as exc:
        check_output_path(target)
    assert f"mkdir -p {tmp_path / 'nope'}" in str(exc.value)
    assert "\n" not in str(exc.value)
    # figures create their folder: only the suffix and folder-ness are checked
    assert check_figure_path(tmp_path / "nope" / "fan.html") == tmp_path / "nope" / "fan.html"


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a folder, not a file"):
        check_output_path(tmp_path)
    with pytest.raises(DataError, match="is a folder, not a file"):
        check_output_path(f"{tmp_path}/new-folder/")
    # Path() drops a trailing separator: a new "outdir" is refused for having no suffix
    with pytest.raises(DataError, match="has no suffix") as exc:
        check_output_path(Path(f"{tmp_path}/outdir/"))
    assert "outdir.parquet" in str(exc.value)
    assert "outdir/result.parquet" in str(exc.value)


def test_unknown_suffix_names_the_allowed_ones(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"suffix '\.txt'.*\.parquet, \.csv, \.xlsx"):
        check_output_path(tmp_path / "run.txt", option="--out")
    with pytest.raises(DataError, match=r"^--plot .*suffix '\.svg'"):
        check_figure_path(tmp_path / "fan.svg")


def test_parent_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DataError, match="is a file, not a folder"):
        check_output_path(tmp_path / "afile" / "run.csv")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder_is_refused(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    with pytest.raises(DataError, match="you cannot write in the folder"):
        check_output_path(ro / "run.csv")


# --------------------------------------------------------------------------- write_tables
def test_csv_and_parquet_hold_one_long_table_with_a_table_column(tmp_path: Path) -> None:
    expected = long_table(FRAMES)
    assert list(expected["table"]) == ["summary", "summary", "bands"]
    assert list(expected.columns) == ["region", "p50", "table", "month"]
    pq = pd.read_parquet(write_tables(FRAMES, tmp_path / "r.parquet"))
    pd.testing.assert_frame_equal(pq, expected)
    csv = pd.read_csv(write_tables(FRAMES, tmp_path / "r.csv"))
    assert list(csv["table"]) == ["summary", "summary", "bands"]
    assert csv.loc[2, "month"] == "2026-11"
    assert np.isnan(csv.loc[1, "p50"])


def test_xlsx_is_a_real_workbook_with_one_sheet_per_table(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = write_tables(FRAMES, tmp_path / "r.xlsx")
    assert path.read_bytes()[:2] == b"PK"  # a zip container, not CSV text
    book = load_workbook(path)
    assert book.sheetnames == ["summary", "bands"]
    rows = list(book["summary"].iter_rows(values_only=True))
    assert rows == [("region", "p50"), ("USA", 1.5), ("EU27", None)]
    back = pd.read_excel(path, sheet_name=None)
    pd.testing.assert_frame_equal(back["bands"], FRAMES["bands"])


def test_xlsx_sheet_names_are_made_valid_and_unique(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    frames = {"a/b": FRAMES["bands"], "a:b": FRAMES["bands"], "x" * 40: FRAMES["bands"]}
    names = load_workbook(write_tables(frames, tmp_path / "n.xlsx")).sheetnames
    assert names == ["a_b", "a_b_2", "x" * 31]


def test_write_tables_checks_the_path_too(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        write_tables(FRAMES, tmp_path / "missing" / "r.csv")
    with pytest.raises(DataError, match=r"suffix '\.txt'"):
        write_tables(FRAMES, tmp_path / "r.txt")


def test_new_files_get_the_umask_mode_not_0600(tmp_path: Path, umask_027: None) -> None:
    assert current_umask() == 0o027
    for name in ("r.csv", "r.parquet", "r.xlsx"):
        assert _mode(write_tables(FRAMES, tmp_path / name)) == 0o640, name
    os.umask(0o002)
    assert _mode(write_tables(FRAMES, tmp_path / "group.csv")) == 0o664


def test_rewriting_a_file_keeps_its_mode(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("old")
    p.chmod(0o604)  # neither mkstemp's 0600 nor a umask result
    write_tables(FRAMES, p)
    assert _mode(p) == 0o604
    assert new_file_mode(p) == 0o604
    assert "summary" in p.read_text()


def test_a_failed_write_leaves_the_target_and_no_temporary(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("before")

    def half_write() -> None:
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        half_write()
    assert p.read_text() == "before"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["r.csv"]


def test_atomic_path_in_a_missing_folder_is_one_critmin_error(tmp_path: Path) -> None:
    with pytest.raises(CritminError, match=r"cannot write .*Fix: choose a folder"):
        atomic_write_bytes(tmp_path / "missing" / "x.bin", b"x")


def test_figures_and_firm_tables_use_the_umask_too(tmp_path: Path, umask_027: None) -> None:
    import plotly.graph_objects as go  # type: ignore[import-untyped]

    from critmin.report.export import write_figure
    from critmin.trace.firms import write_table

    html = write_figure(go.Figure(), tmp_path / "f.html", png_sibling=False)[0]
    assert _mode(html) == 0o640
    for name in ("t.csv", "t.csv.gz", "t.parquet"):
        assert _mode(write_table(FRAMES["bands"], tmp_path / "sub" / name)) == 0o640, name


def test_the_rebuilt_dataset_folder_gets_the_umask_mode(tmp_path: Path, umask_027: None) -> None:
    from critmin.data.build.orchestrate import write_dataset
    from critmin.data.dataset import Dataset

    ds = Dataset.bundled()
    out = tmp_path / "bundled"
    write_dataset({k: ds.table(k) for k in ds.tables}, ds.sources, out)
    assert _mode(out) == 0o750  # not mkdtemp's 0700, not a fixed 0755
    assert _mode(out / "sources.yaml") == 0o640
