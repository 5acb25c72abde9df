"""Hostile input for the WGI reader (and the sha256 every reader result carries)."""

from __future__ import annotations

import hashlib
import json
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.data.importers.usgs_mcs import read_world_csv
from critmin.data.importers.usgs_trends import read_nir_figure
from critmin.data.importers.wgi import read_wgi_csv
from critmin.errors import DataError
from tests.fuzzing import fuzz_examples
from tests.hostile import cli as _cli
from tests.hostile import only_data_errors

FIX = Path(__file__).resolve().parents[1] / "fixtures"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_reader_result_carries_the_sha256_of_the_bytes_parsed() -> None:
    wgi = FIX / "wgi" / "wgi_quirks.csv"
    got = read_wgi_csv(wgi)
    frame, source = got  # the old two-tuple unpacking keeps working
    assert got.sha256 == _sha(wgi)
    assert got.frame is frame
    assert got.source is source
    world = FIX / "usgs" / "mcs2024-nicke_world.csv"
    assert read_world_csv(world).sha256 == _sha(world)
    nir = FIX / "usgs" / "MCS2024_Fig2_Net_Import_Reliance.csv"
    assert read_nir_figure(nir).attrs["sha256"] == _sha(nir)


def test_overlay_result_carries_the_sha256(tmp_path: Path) -> None:
    from critmin.data.catalogue import Source
    from critmin.data.importers.overlay import read_overlay_csv

    p = tmp_path / "o.csv"
    p.write_bytes(
        b"commodity,stage,measure,country,year,value,unit,source_id,source_title,source_url\r\n"
        b"rare_earths,mining,production,AUS,2024,5,kt,my-est,Mine,https://ex.org/a\r\n"
    )
    assert read_overlay_csv(p, dict[str, Source]()).sha256 == _sha(p)


HEADER = (
    "codeindyr,code,countryname,year,indicator,estimate,stddev,nsource,pctrank,pctranklower,pctrankupper\n"
)
OK = "ROUcc2023,ROU,Romania,2023,cc,0.15,0.14,10,58.5,50.9,64.2\n"

#: name -> (file text, line, column or None, words the message must contain)
CASES: dict[str, tuple[str | bytes, int | None, str | None, str]] = {
    "5,000-digit year": (HEADER + OK.replace(",2023,", "," + "9" * 5000 + ","), 2, "year", "not a year"),
    "year 0000": (HEADER + OK.replace(",2023,", ",0000,"), 2, "year", "outside 1996-2100"),
    "400-digit estimate": (HEADER + OK.replace("0.15", "9" * 400), 2, "estimate", "not a finite number"),
    "nan estimate": (HEADER + OK.replace("0.15", "nan"), 2, "estimate", "not a finite number"),
    "inf stddev": (HEADER + OK.replace("0.14", "inf"), 2, "stddev", "not a finite number"),
    "negative stddev": (HEADER + OK.replace("0.14", "-0.14"), 2, "stddev", "outside 0..5"),
    "pctrank 1e308": (HEADER + OK.replace("58.5", "1e308"), 2, "pctrank", "outside 0..100"),
    "long code": (HEADER + OK.replace(",ROU,", "," + "R" * 200_000 + ","), 2, "code", "200,000 characters"),
    "duplicated column": (HEADER.replace("nsource", "estimate"), 1, "estimate", "columns 6 and 8"),
    "header only": (HEADER, None, None, "no data rows"),
    "blank rows only": (HEADER + "\n,,,,,,,,,,\n", None, None, "no data rows"),
    "only missing estimates": (HEADER + OK.replace("0.15", ".."), None, None, "missing estimate"),
    "empty file": ("", 1, None, "empty"),
    "truncated last row": (HEADER + OK + "ROUva2023,ROU,Romania,2023,va,0.", 3, None, "truncated"),
    "unclosed quote": (
        HEADER + OK + 'KORcc2023,KOR,"Korea, Rep.,2023,cc,1,0.1,1,1,1,1\n',
        3,
        None,
        "never closed",
    ),
    "UTF-16": ((HEADER + OK).encode("utf-16"), 1, None, "UTF-16"),
    "Latin-1": ((HEADER + OK.replace("Romania", "Rom\u00e2nia")).encode("latin-1"), 2, None, "not UTF-8"),
    "field over 131,072 characters": (
        HEADER + OK.replace("Romania", "x" * 200_000),
        2,
        None,
        "0.15,0.14" * 0,
    ),
}


def _write(tmp_path: Path, body: str | bytes) -> Path:
    p = tmp_path / "wgidataset.csv"
    if isinstance(body, bytes):
        p.write_bytes(body)
    else:
        p.write_text(body, encoding="utf-8", newline="")
    return p


@pytest.mark.parametrize("name", [n for n in CASES if n != "field over 131,072 characters"])
def test_wgi_reader_refuses_with_line_column_and_fix(tmp_path: Path, name: str) -> None:
    body, line, column, needle = CASES[name]
    with pytest.raises(DataError) as exc:
        read_wgi_csv(_write(tmp_path, body))
    assert exc.value.line == line
    assert exc.value.column == column
    assert exc.value.fix
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)
    assert len(str(exc.value)) < 1200


def test_wgi_long_field_is_read_not_crashed(tmp_path: Path) -> None:
    body, *_ = CASES["field over 131,072 characters"]
    frame, _ = read_wgi_csv(_write(tmp_path, body))
    assert list(frame["estimate"]) == [0.15]


@pytest.mark.parametrize(
    "name", ["5,000-digit year", "duplicated column", "header only", "truncated last row"]
)
def test_cli_validate_wgi_exits_2_with_one_line(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body, line, column, needle = CASES[name]
    p = _write(tmp_path, body)
    code, out, err = _cli(monkeypatch, capsys, "data", "validate", str(p), "--kind", "wgi")
    assert code == 2, (out, err)
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert "Fix:" in lines[0]
    assert (f"{p}:{line}:" if line is not None else f"{p}:") in lines[0]
    if column is not None:
        assert f"column {column!r}" in lines[0]
    assert needle in lines[0]
    code, out, _ = _cli(monkeypatch, capsys, "data", "imports", "--format", "json")
    assert json.loads(out)["rows"] == []


_CELL = st.one_of(
    st.sampled_from(
        [
            "ROU",
            "ROM",
            "XXX",
            "KOR",
            "2023",
            "1995",
            "0000",
            "cc",
            "va",
            "zz",
            "0.15",
            "..",
            "",
            "nan",
            "-inf",
            "1e308",
            "9" * 400,
            "-3",
            "101",
            '"',
            " ",
            "\x00",
        ]
    ),
    st.text(string.printable, max_size=6),
)


@pytest.mark.fuzz
@settings(max_examples=fuzz_examples(60))
@given(rows=st.lists(st.lists(_CELL, min_size=9, max_size=12), max_size=5))
def test_fuzz_wgi_rows_only_data_errors(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]]
) -> None:
    p = tmp_path_factory.mktemp("fuzz") / "wgidataset.csv"
    p.write_text(HEADER + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8", newline="")
    only_data_errors(lambda: read_wgi_csv(p))


@pytest.mark.fuzz
@settings(max_examples=fuzz_examples(30))
@given(data=st.binary(max_size=300))
def test_fuzz_wgi_bytes_only_data_errors(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    p = tmp_path_factory.mktemp("fuzz") / "wgidataset.csv"
    p.write_bytes(HEADER.encode() + data)
    only_data_errors(lambda: read_wgi_csv(p))
