"""Hostile input for the USGS MCS readers (``critmin data import usgs-mcs``, ``data validate``).

Each refused file: exit code 2 through the real entry point (:func:`critmin.cli.main`), exactly
one stderr line with file:line, the column and a fix, no traceback, and an empty store after.
Fuzz tests feed the world-table and trends readers malformed rows built from the real headers
and random bytes, and accept only success or a :class:`DataError`.
"""

from __future__ import annotations

import csv
import io
import json
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.data.importers.usgs_mcs import read_world_csv
from critmin.data.importers.usgs_trends import read_critical_salient_table, read_nir_figure
from critmin.errors import DataError
from tests.fuzzing import fuzz_examples
from tests.hostile import assert_one_line, only_data_errors
from tests.hostile import cli as _cli

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "usgs"
HEADER = "Source,Country,Type,Prod_t_2022,Prod_t_est_2023,Prod_notes,Reserves_t,Reserves_notes\n"
TYPE = '"Mine production - nickel, metric tons contained"'
OK = f'MCS2024,Australia,{TYPE},"155,000",160000,,NA,\n'
NAME = "mcs2024-nicke_world.csv"

#: name -> (file text, line, column or None, words the message must contain)
CASES: dict[str, tuple[str | bytes, int | None, str | None, str]] = {
    "400-digit value": (HEADER + OK.replace("160000", "9" * 400), 2, "Prod_t_est_2023", "not a finite"),
    "1e16 t": (HEADER + OK.replace("160000", "10" + "0" * 16), 2, "Prod_t_est_2023", "beyond"),
    "header year 0000": (
        HEADER.replace("Prod_t_2022", "Prod_t_0000"),
        1,
        "Prod_t_0000",
        "outside 1900..2100",
    ),
    "edition MCS0000": (HEADER + OK.replace("MCS2024", "MCS0000"), 2, "Source", "outside 1900..2100"),
    "duplicated column": (HEADER.replace("Reserves_t,", "Prod_t_2022,"), 1, "Prod_t_2022", "columns 4 and 7"),
    "header only": (HEADER, None, None, "no data rows"),
    "blank rows only": (HEADER + ",,,,,,,\n\n  ,\n", None, None, "no data rows"),
    "empty file": ("", 1, None, "empty"),
    "only empty values": (HEADER + f"MCS2024,Australia,{TYPE},,,,,\n", 2, None, "no values"),
    "truncated last row": (HEADER + OK + f'MCS2024,Canada,{TYPE},"12', 3, None, "never closed"),
    "short last row": (HEADER + OK + f"MCS2024,Canada,{TYPE},12", 3, None, "truncated"),
    "UTF-16": ((HEADER + OK).encode("utf-16"), 1, None, "UTF-16"),
    "Latin-1": ((HEADER + OK.replace("Australia", "Côte d'Ivoire")).encode("latin-1"), 2, None, "not UTF-8"),
    "field over 131,072 characters": (HEADER + OK.replace("NA,", "x" * 200_000 + ","), 2, "Reserves_t", ""),
    "malformed number": (HEADER + OK.replace("160000", "16O,OOO"), 2, "Prod_t_est_2023", "malformed"),
}


def _write(tmp_path: Path, body: str | bytes, name: str = NAME) -> Path:
    p = tmp_path / name
    if isinstance(body, bytes):
        p.write_bytes(body)
    else:
        p.write_text(body, encoding="utf-8", newline="")
    return p


def _assert_one_line(err: str, path: Path, line: int | None, column: str | None, needle: str) -> None:
    where = f"{path}:{line}:" if line is not None else f"{path}:"
    assert_one_line(err, where, column, needle, max_len=1200)


@pytest.mark.parametrize("name", list(CASES))
def test_world_reader_refuses_with_line_column_and_fix(tmp_path: Path, name: str) -> None:
    body, line, column, needle = CASES[name]
    with pytest.raises(DataError) as exc:
        read_world_csv(_write(tmp_path, body))
    assert exc.value.line == line
    assert exc.value.column == column
    assert exc.value.fix
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("name", list(CASES))
def test_cli_import_usgs_exits_2_and_leaves_the_store_empty(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body, line, column, needle = CASES[name]
    p = _write(tmp_path, body)
    code, out, err = _cli(monkeypatch, capsys, "data", "import", "usgs-mcs", str(p))
    assert code == 2, (out, err)
    _assert_one_line(err, p, line, column, needle)
    code, out, _ = _cli(monkeypatch, capsys, "data", "imports", "--format", "json")
    assert code == 0
    assert json.loads(out)["rows"] == []


@pytest.mark.parametrize("name", ["400-digit value", "header year 0000", "header only"])
def test_cli_validate_usgs_exits_2(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body, line, column, needle = CASES[name]
    p = _write(tmp_path, body)
    code, _, err = _cli(monkeypatch, capsys, "data", "validate", str(p), "--kind", "usgs-mcs")
    assert code == 2
    _assert_one_line(err, p, line, column, needle)


def test_the_real_fixture_still_imports() -> None:
    got = read_world_csv(FIX / NAME)
    assert len(got.frame) > 10


@pytest.mark.parametrize(
    ("body", "line", "column", "needle"),
    [
        (
            "Source,Import_Share_Order,Commodity,Net_Import_Reliance_pct_0000,Notes\nMCS2024,1,ARSENIC,100,x\n",
            1,
            "Net_Import_Reliance_pct_0000",
            "outside 1900..2100",
        ),
        (
            "Source,Import_Share_Order,Commodity,Net_Import_Reliance_pct_2023,Notes\n",
            None,
            None,
            "no data rows",
        ),
        (
            "Source,Commodity,Commodity,Net_Import_Reliance_pct_2023\nMCS2024,ARSENIC,ARSENIC,100\n",
            1,
            "Commodity",
            "appears twice",
        ),
        (
            "Source,Import_Share_Order,Commodity,Net_Import_Reliance_pct_2023,Notes\nMCS0000,1,ARSENIC,100,x\n",
            2,
            "Source",
            "outside 1900..2100",
        ),
    ],
)
def test_nir_figure_refuses(
    tmp_path: Path, body: str, line: int | None, column: str | None, needle: str
) -> None:
    with pytest.raises(DataError) as exc:
        read_nir_figure(_write(tmp_path, body, "MCS2024_Fig2_Net_Import_Reliance.csv"))
    assert exc.value.line == line
    assert exc.value.column == column
    assert needle in str(exc.value)
    assert exc.value.fix


# --- fuzz -------------------------------------------------------------------------------------------

_WORLD_COLUMNS = HEADER.strip().split(",")
_CELL = st.one_of(
    st.sampled_from(
        [
            "MCS2024",
            "MCS0000",
            "MCS 2023",
            "Australia",
            "World total (rounded)",
            "Burma",
            "Atlantis",
            TYPE.strip('"'),
            "Mine production",
            "W",
            "NA",
            "XX",
            "--",
            "e5,000",
            ">130,000,000",
            "<100",
            "1,100",
            "-5",
            "1e308",
            "9" * 400,
            "Less than ½ unit.",
            "Included in World total.",
            "",
            " ",
            '"',
            "\x00",
            "Prod_t_0000",
        ]
    ),
    st.text(string.printable, max_size=8),
)


def _text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


@pytest.mark.fuzz
@settings(max_examples=fuzz_examples(60))
@given(
    rows=st.lists(st.lists(_CELL, min_size=6, max_size=9), max_size=5),
    header=st.lists(
        st.sampled_from([*_WORLD_COLUMNS, "Prod_t_0000", "Cap_kg_2023", "", "Reserves_kt"]), max_size=9
    ),
    real_header=st.booleans(),
)
def test_fuzz_world_rows_only_data_errors(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]], header: list[str], real_header: bool
) -> None:
    p = tmp_path_factory.mktemp("fuzz") / NAME
    p.write_text(_text(_WORLD_COLUMNS if real_header else header, rows), encoding="utf-8", newline="")
    only_data_errors(lambda: read_world_csv(p))


@pytest.mark.fuzz
@settings(max_examples=fuzz_examples(30))
@given(data=st.binary(max_size=300))
def test_fuzz_world_bytes_only_data_errors(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    p = tmp_path_factory.mktemp("fuzz") / NAME
    p.write_bytes(HEADER.encode() + data)
    only_data_errors(lambda: read_world_csv(p))


_T5 = (FIX / "MCS2024_T5_Critical_Minerals_Salient.csv").read_text("utf-8-sig").splitlines()[0].split(",")


@pytest.mark.fuzz
@settings(max_examples=fuzz_examples(40))
@given(
    rows=st.lists(
        st.lists(
            _CELL | st.sampled_from(["2023", "2023_estimated", "Rare earths", ">95", "E"]),
            min_size=3,
            max_size=len(_T5),
        ),
        max_size=4,
    ),
    nir=st.booleans(),
)
def test_fuzz_trends_rows_only_data_errors(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]], nir: bool
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    if nir:
        header = ["Source", "Import_Share_Order", "Commodity", "Net_Import_Reliance_pct_2023", "Notes"]
        p = folder / "MCS2024_Fig2_Net_Import_Reliance.csv"
        read = read_nir_figure
    else:
        header, p, read = (
            _T5,
            folder / "MCS2024_T5_Critical_Minerals_Salient.csv",
            read_critical_salient_table,
        )
    p.write_text(_text(header, rows), encoding="utf-8", newline="")
    only_data_errors(lambda: read(p))


def test_file_name_and_rows_citing_different_editions_is_refused(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[1] / "fixtures" / "usgs" / "reimport" / "mcs2024-nicke_world.csv"
    p = tmp_path / "mcs2024-nicke_world.csv"
    p.write_bytes(src.read_bytes().replace(b"\nMCS2024,", b"\nMCS2099,"))
    with pytest.raises(DataError, match=r"the file name says MCS2024 but the rows cite MCS2099") as exc:
        read_world_csv(p)
    assert exc.value.line == 2
    assert exc.value.column == "Source"
    assert read_world_csv(src).source.id == "usgs-mcs2024"  # agreeing name and rows still read
