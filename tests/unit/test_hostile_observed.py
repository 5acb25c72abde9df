"""Hostile observed series for ``critmin calibrate --observed`` (issue 11, slice C).

Each refused file gives exit code 2 through the real entry point (:func:`critmin.cli.main`,
in-process), exactly one stderr line with the file, the line, the column and a fix, no
traceback and no output. A hypothesis fuzz test feeds malformed rows to
:func:`read_series_csv`: only a frame of finite, non-negative, non-overlapping values or a
:class:`DataError` may come out.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critmin.data.observed import MAX_OBSERVED_T, month_range, parse_period, read_series_csv
from critmin.errors import DataError
from critmin.simulate.analysis.calibrate import calibrate
from tests.fuzzing import fuzz_examples
from tests.hostile import assert_one_line as _one_line
from tests.hostile import cli as _cli

H = "month,value_t\n"
HP = "month,value_t,partner\n"

#: name -> (file text, line, column or None, words the message must contain)
CASES: dict[str, tuple[str, int, str | None, str]] = {
    "1e308": (H + "2025-01,5000\n2025-02,1e308\n", 3, "value_t", "above the 1e+08 t limit"),
    "400 digits": (H + "2025-01," + "9" * 400 + "\n", 2, "value_t", "not a finite number"),
    "inf": (H + "2025-01,inf\n", 2, "value_t", "not a finite number"),
    "nan": (H + "2025-01,nan\n", 2, "value_t", "not a finite number"),
    "negative": (H + "2025-01,-5\n", 2, "value_t", "negative export"),
    "not a number": (H + "2025-01,lots\n", 2, "value_t", "'lots' is not a number"),
    "empty value": (H + "2025-01,\n", 2, "value_t", "'' is not a number"),
    "repeated month": (H + "2025-01,5000\n2025-02,4000\n2025-01,3000\n", 4, "month", "repeats line 2"),
    "month inside a range": (
        H + "2025-01/2025-03,9000\n2025-02,4000\n",
        3,
        "month",
        "overlaps 2025-01/2025-03 on line 2",
    ),
    "repeated month per partner": (
        HP + "2025-01,5000,World\n2025-01,700,USA\n2025-01,800,United States\n",
        4,
        "month",
        "month 2025-01 for USA repeats line 3",
    ),
    "unknown partner": (HP + "2025-01,5000,Atlantis\n", 2, "partner", "unknown partner 'Atlantis'"),
    "month 2025-13": (H + "2025-13,5000\n", 2, "month", "'2025-13' is not a month"),
    "markup month quoted verbatim": (H + "[/bold]2025,5000\n", 2, "month", "'[/bold]2025'"),
    "reversed range": (H + "2025-05/2025-01,5000\n", 2, "month", "first <= last"),
    "field over 131,072 characters": (H + '2025-01,"' + "1" * 200_000 + '"\n', 2, "value_t", "not a finite"),
    "unclosed quote": (H + '2025-01,"5000\n', 2, None, "malformed CSV"),
    "too many fields": (H + "2025-01,5000,7\n", 2, None, "3 fields, the header has 2"),
    "repeated header column": ("month,value_t,value_t\n2025-01,5000,6\n", 1, "value_t", "appears twice"),
    "missing column": ("month,tonnes\n2025-01,5000\n", 1, None, "missing column 'value_t'"),
    "empty file": ("", 1, None, "empty file"),
    "header only": (H, 2, None, "no data rows"),
}

BYTES: dict[str, tuple[bytes, int, str]] = {
    "UTF-16": ((H + "2025-01,5000\n").encode("utf-16"), 1, "UTF-16"),
    "Latin-1": ((H + "2025-01,5000\n# caf\xe9\n").encode("latin-1"), 3, "not UTF-8"),
    "binary": (b"\x00\xff\x10" * 100, 1, "binary"),
}


def _calibrate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], p: Path
) -> tuple[int, str, str]:
    return _cli(
        monkeypatch, capsys, "calibrate", "backtest-2025-04", "--observed", str(p), "--format", "json"
    )


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_observed_series_is_one_line_through_the_cli(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text, line, column, needle = CASES[name]
    p = tmp_path / "obs.csv"
    p.write_text(text, encoding="utf-8")
    code, out, err = _calibrate(monkeypatch, capsys, p)
    assert code == 2, err
    _one_line(err, f"{p}:{line}:", column, needle)
    assert out == ""
    assert list(tmp_path.iterdir()) == [p]


@pytest.mark.parametrize("name", list(BYTES))
def test_non_utf8_observed_series_are_refused(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, line, needle = BYTES[name]
    p = tmp_path / "obs.csv"
    p.write_bytes(data)
    code, _, err = _calibrate(monkeypatch, capsys, p)
    assert code == 2
    _one_line(err, f"{p}:{line}:", None, needle)


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_observed_series_must_be_a_regular_file(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    p = Path("/dev/zero") if kind == "device" else tmp_path / "obs.csv"
    if kind == "folder":
        p.mkdir()
    elif kind == "fifo":
        os.mkfifo(p)
    code, _, err = _calibrate(monkeypatch, capsys, p)
    assert code == 2
    _one_line(err, f"{p}:", None, {"folder": "folder", "fifo": "FIFO", "device": "device"}[kind])


def test_partner_column_is_read_and_calibrate_takes_the_partner_rows(tmp_path: Path) -> None:
    p = tmp_path / "obs.csv"
    p.write_text(HP + "2025-01,5000,World\n2025-01,700,United States\n2025-02,4000,World\n", encoding="utf-8")
    frame = read_series_csv(p)
    assert list(frame["partner"]) == ["World", "USA", "World"]
    assert list(frame["line"]) == [2, 3, 4]
    with pytest.raises(DataError, match=r"no rows for partner 'JPN' \(it has USA, World\)"):
        calibrate("backtest-2025-04", frame, partner="JPN")


def test_plain_series_still_reads(tmp_path: Path) -> None:
    p = tmp_path / "obs.csv"
    p.write_text("\ufeff" + H + '2025-01,"5,000"\n\n2025-02/2025-03,9000\n', encoding="utf-8")
    frame = read_series_csv(p)
    assert list(frame["month"]) == ["2025-01", "2025-02/2025-03"]
    assert list(frame["value_t"]) == [5000.0, 9000.0]
    assert list(frame["line"]) == [2, 4]
    assert "partner" not in frame.columns


_cell = st.one_of(
    st.sampled_from(
        ["2025-01", "2025-02", "2025-01/2025-03", "2025-13", "0000-00", "", "World", "USA", "Mars"]
    ),
    st.sampled_from(["1e308", "-1", "nan", "inf", "1,238", "0", "5e7", "2e8", "9" * 400, '"', "=1+1"]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8),
)


@pytest.mark.fuzz
@settings(max_examples=fuzz_examples(80), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    partner=st.booleans(),
    rows=st.lists(st.lists(_cell, min_size=1, max_size=4), max_size=6),
)
def test_fuzz_observed_rows_give_a_clean_frame_or_one_data_error(
    tmp_path: Path, partner: bool, rows: list[list[str]]
) -> None:
    p = tmp_path / "fuzz.csv"
    body = "".join(",".join(r) + "\n" for r in rows)
    p.write_text((HP if partner else H) + body, encoding="utf-8")
    try:
        frame = read_series_csv(p)
    except DataError as exc:
        error: str | None = str(exc)
    else:
        error = None
    if error is not None:
        assert "Fix:" in error
        assert str(p) in error
        return
    assert isinstance(frame, pd.DataFrame)
    assert all(math.isfinite(v) and 0 <= v <= MAX_OBSERVED_T for v in frame["value_t"])
    seen: set[tuple[str, str]] = set()
    for r in frame.to_dict(orient="records"):
        period = parse_period(str(r["month"]))
        assert period is not None
        for m in month_range(*period):
            key = (str(r.get("partner", "")), m)
            assert key not in seen  # no month counted twice
            seen.add(key)


@pytest.mark.fuzz
@settings(max_examples=fuzz_examples(40), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200))
def test_fuzz_observed_bytes_give_a_frame_or_one_data_error(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "bytes.csv"
    p.write_bytes(H.encode() + data)
    try:
        read_series_csv(p)
    except DataError as exc:
        error = str(exc)
    else:
        return
    assert "Fix:" in error
