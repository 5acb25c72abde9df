"""Hostile input for the overlay importer (``critmin data import overlay`` / ``data validate``).

Every refused file must give exit code 2 through the real entry point (:func:`critmin.cli.main`,
in-process here; a few cases also through the installed console script), exactly one stderr
line naming the file, the line and the field with a fix, no traceback, and an unchanged store.
The reader reads the file once with Arrow and, on any problem, again with the csv module for the
exact line: a property test checks that both readings agree on every generated file.
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

from critmin.data.catalogue import Source
from critmin.data.importers import overlay
from critmin.data.importers.overlay import read_overlay_csv
from critmin.errors import DataError
from tests.e2e.cli import run_cli
from tests.fuzzing import fuzz_examples
from tests.hostile import assert_one_line
from tests.hostile import cli as _cli

HEADER = (
    "commodity,stage,measure,country,year,value,unit,source_id,source_title,source_url,source_year,note\n"
)
OK = "rare_earths,mining,production,AUS,2024,5,kt,my-est,Mine,https://ex.org/a,2024,\n"
KNOWN = {
    "usgs-mcs2024": Source(
        id="usgs-mcs2024",
        kind="dataset",
        publisher="USGS",
        title="MCS 2024",
        url="https://doi.org/10.5066/P144BA54",
        licence="US public domain",
    )
}


def _row(**kw: str) -> str:
    cells = dict(zip(HEADER.strip().split(","), OK.strip("\n").split(","), strict=True))
    cells.update(kw)
    return ",".join(cells.values()) + "\n"


#: name -> (file text, line, column or None, words the message must contain)
CASES: dict[str, tuple[str | bytes, int | None, str | None, str]] = {
    "1e308 kt is infinite in t": (HEADER + _row(value="1e308"), 2, "value", "after unit conversion"),
    "400-digit value": (HEADER + OK + _row(country="CHN", value="9" * 400, unit="t"), 3, "value", "infinite"),
    "1e13 kt is 1e16 t": (HEADER + _row(value="1e13"), 2, "value", "beyond the limit"),
    "nan value": (HEADER + _row(value="nan"), 2, "value", "not a finite number"),
    "inf value": (HEADER + _row(value="-inf"), 2, "value", "not a finite number"),
    "5,000-digit year": (HEADER + _row(year="9" * 5000), 2, "year", "outside 1900..2100"),
    "year 0000": (HEADER + _row(year="0000"), 2, "year", "outside 1900..2100"),
    "year words": (HEADER + _row(year="next year"), 2, "year", "not a year"),
    "5,000-digit source_year": (HEADER + _row(source_year="9" * 5000), 2, "source_year", "outside"),
    "source_year words": (HEADER + _row(source_year="recent"), 2, "source_year", "not a year"),
    "bad source_id": (HEADER + _row(source_id="My Source!"), 2, "source_id", "not a valid id"),
    "shares sum above 1": (
        HEADER
        + _row(stage="separation", measure="share", country="CHN", value="0.9", unit="fraction")
        + _row(stage="separation", measure="share", country="USA", value="90", unit="pct", source_title=""),
        2,
        "value",
        "line 2 CHN 0.9, line 3 USA 0.9",
    ),
    "share above 1": (
        HEADER + _row(stage="separation", measure="share", value="1.5", unit="fraction"),
        2,
        "value",
        "exceeds 1",
    ),
    "negative share": (
        HEADER + _row(stage="separation", measure="share", value="-0.1", unit="fraction"),
        2,
        "value",
        "negative",
    ),
    "duplicated column": (
        HEADER.replace(",note", ",value") + OK.replace(",\n", ",6\n"),
        1,
        "value",
        "columns 6 and 12",
    ),
    "header only": (HEADER, None, None, "no data rows"),
    "blank rows only": (HEADER + "\n,,,,,,,,,,,\n   \n", None, None, "no data rows"),
    "empty file": ("", 1, None, "empty"),
    "truncated last row": (HEADER + OK + "rare_earths,mining,production,CHN,20", 3, None, "truncated"),
    "unclosed quote": (
        HEADER + OK + OK.replace("Mine", '"Mine').replace("AUS", "CHN"),
        3,
        None,
        "never closed",
    ),
    "value beyond the header": (HEADER + OK.replace(",\n", ",,x\n"), 2, None, "beyond the 12 columns"),
    "value under an unnamed column": (
        HEADER.replace(",note", ",") + OK.replace(",\n", ",x\n"),
        2,
        None,
        "no name in the header",
    ),
    "field over 131,072 characters": (
        HEADER + _row(note="x" * 200_000, country="Atlantis"),
        2,
        "country",
        "",
    ),
    "UTF-16": ((HEADER + OK).encode("utf-16"), 1, None, "UTF-16"),
    "Latin-1": ((HEADER + _row(note="café")).encode("latin-1"), 2, None, "not UTF-8"),
    "random bytes": (bytes(range(256)) * 4, 1, None, "not UTF-8"),
    "NUL byte after 4 kB": (
        HEADER + _row(note="x" * 5000) + _row(country="CHN", note="a\x00b"),
        3,
        None,
        "NUL",
    ),
    "duplicate row": (HEADER + OK + OK, 3, None, "already on line 2"),
    "unknown stage": (HEADER + _row(stage="minning"), 2, "stage", "unknown stage"),
    "stage outside the chain": (HEADER + _row(commodity="gallium", stage="magnet"), 2, "stage", "no stage"),
    "unit of the wrong kind": (HEADER + _row(unit="usd_per_kg"), 2, "unit", "does not convert"),
}


def _write(tmp_path: Path, body: str | bytes) -> Path:
    p = tmp_path / "overlay.csv"
    if isinstance(body, bytes):
        p.write_bytes(body)
    else:
        p.write_text(body, encoding="utf-8", newline="")
    return p


def _assert_one_line(err: str, path: Path, line: int | None, column: str | None, needle: str) -> None:
    where = f"{path}:{line}:" if line is not None else f"{path}:"
    assert_one_line(err, where, column, needle, max_len=1200)


@pytest.mark.parametrize("name", list(CASES))
def test_reader_refuses_with_line_column_and_fix(tmp_path: Path, name: str) -> None:
    body, line, column, needle = CASES[name]
    p = _write(tmp_path, body)
    with pytest.raises(DataError) as exc:
        read_overlay_csv(p, KNOWN)
    assert exc.value.line == line
    assert exc.value.column == column
    assert exc.value.fix
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("name", list(CASES))
def test_cli_import_exits_2_with_one_line_and_the_store_unchanged(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body, line, column, needle = CASES[name]
    p = _write(tmp_path, body)
    code, out, err = _cli(monkeypatch, capsys, "data", "import", "overlay", str(p))
    assert code == 2, (out, err)
    _assert_one_line(err, p, line, column, needle)
    code, out, _ = _cli(monkeypatch, capsys, "data", "imports", "--format", "json")
    assert code == 0
    assert json.loads(out)["rows"] == []


@pytest.mark.parametrize("name", ["1e308 kt is infinite in t", "duplicated column", "shares sum above 1"])
def test_cli_validate_exits_2(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body, line, column, needle = CASES[name]
    p = _write(tmp_path, body)
    code, _, err = _cli(monkeypatch, capsys, "data", "validate", str(p), "--kind", "overlay")
    assert code == 2
    _assert_one_line(err, p, line, column, needle)


@pytest.mark.parametrize("name", ["5,000-digit year", "truncated last row"])
def test_console_script_exits_2(tmp_path: Path, name: str) -> None:
    """The installed ``critmin`` script, in a subprocess, as a user runs it."""
    body, line, column, needle = CASES[name]
    p = _write(tmp_path, body)
    home = tmp_path / "home"
    proc = run_cli("data", "import", "overlay", str(p), home=home, ok=False)
    assert proc.returncode == 2, proc.stderr
    _assert_one_line(proc.stderr, p, line, column, needle)
    listed = run_cli("data", "imports", "--format", "json", home=home)
    assert json.loads(listed.stdout)["rows"] == []


def test_shares_within_rounding_and_a_valid_file_pass(tmp_path: Path) -> None:
    body = (
        HEADER
        + _row(stage="separation", measure="share", country="CHN", value="0.6005", unit="fraction")
        + _row(stage="separation", measure="share", country="USA", value="40.05", unit="pct", source_title="")
        + _row(stage="separation", measure="share", country="USA", year="2023", value="0.9", unit="fraction")
    )
    got = read_overlay_csv(_write(tmp_path, body), KNOWN)
    shares = got.tables["stage_shares"]
    assert shares["share"].sum() == pytest.approx(1.901)
    assert list(shares["country"]) == ["CHN", "USA", "USA"]


def test_long_quoted_fields_crlf_bom_and_trailing_commas_are_read(tmp_path: Path) -> None:
    note = '"a note, with a comma, ""quotes"" and\na newline' + "x" * 150_000 + '"'
    body = HEADER.replace("\n", ",\r\n") + OK.replace(",\n", f",{note},\r\n") + "\r\n"
    p = tmp_path / "o.csv"
    p.write_bytes(b"\xef\xbb\xbf" + body.encode())
    prod = read_overlay_csv(p, KNOWN).tables["production"]
    assert prod.loc[0, "value"] == pytest.approx(5000)
    assert prod.loc[0, "note"].startswith('a note, with a comma, "quotes" and\na newline')


# --- fuzz -------------------------------------------------------------------------------------------

COLUMNS = HEADER.strip().split(",")
_CELL = st.one_of(
    st.sampled_from(
        [
            "rare_earths",
            "gallium",
            "Nd",
            "mining",
            "separation",
            "magnet",
            "production",
            "share",
            "reserves",
            "AUS",
            "CHN",
            "Burma",
            "WLD",
            "2024",
            "1899",
            "2024.0",
            "5",
            "0.5",
            "1,200",
            "-1",
            "1e308",
            "nan",
            "kt",
            "t",
            "pct",
            "fraction",
            "my-est",
            "usgs-mcs2024",
            "",
            "https://x",
            "Title",
            '"',
            "\x00",
            "\ufeff",
            " ",
            "=cmd",
        ]
    ),
    st.text(string.printable, max_size=8),
)
_ROW = st.lists(_CELL, min_size=len(COLUMNS) - 2, max_size=len(COLUMNS) + 1)


def _csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    w.writerows(rows)
    return buf.getvalue()


def _outcome(p: Path) -> str:
    try:
        got = read_overlay_csv(p, KNOWN)
    except DataError as exc:
        error = exc
    else:
        return _dump(got)
    assert "\n" not in str(error)
    assert error.fix
    return f"error {error}"


def _dump(got: overlay.OverlayImport) -> str:
    return json.dumps(
        {k: f.astype(str).to_dict(orient="list") for k, f in got.tables.items()}
        | {"s": [s.id for s in got.sources]}
    )


@pytest.mark.fuzz
@settings(max_examples=fuzz_examples(60))
@given(rows=st.lists(_ROW, max_size=6), raw=st.booleans())
def test_fuzz_rows_only_data_errors_and_both_readings_agree(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]], raw: bool
) -> None:
    text = _csv_text(rows)
    if raw:  # unquoted: stray quotes, ragged rows
        text = "\n".join([",".join(COLUMNS), *(",".join(r) for r in rows)]) + "\n"
    p = tmp_path_factory.mktemp("fuzz") / "o.csv"
    p.write_text(text, encoding="utf-8", newline="")
    fast = _outcome(p)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(overlay, "arrow_columns", lambda *a: None)
        slow = _outcome(p)
    assert fast == slow


@pytest.mark.fuzz
@settings(max_examples=fuzz_examples(40))
@given(data=st.binary(max_size=400))
def test_fuzz_bytes_only_data_errors(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    p = tmp_path_factory.mktemp("fuzz") / "o.csv"
    p.write_bytes(HEADER.encode() + data)
    _outcome(p)


def test_error_lines_count_quoted_newlines_and_blank_lines(tmp_path: Path) -> None:
    """The Arrow reading finds the problem; the line comes from the csv module's count."""
    body = (
        HEADER + OK.replace(",\n", ',"two\nlines"\n') + "\n,,,,,,,,,,,\n" + _row(country="CHN", value="1e308")
    )
    with pytest.raises(DataError) as exc:
        read_overlay_csv(_write(tmp_path, body), KNOWN)
    assert exc.value.line == 6
    assert exc.value.column == "value"
