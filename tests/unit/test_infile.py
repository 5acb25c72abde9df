"""critmin.infile: the one gate every user file goes through."""

from __future__ import annotations

import hashlib
import math
import os
import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.errors import DataError
from critmin.infile import (
    LIMITS,
    MAX_ABS,
    check_regular,
    csv_records,
    decode,
    finite,
    limit_bytes,
    read_input,
    read_text,
)
from tests.fuzzing import fuzz_settings


def test_reads_bytes_once_and_hashes_them(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_bytes(b"\xef\xbb\xbfa,b\r\n1,2\r\n")
    f = read_input(p)
    assert f.data == p.read_bytes()
    assert f.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
    p.write_bytes(b"swapped")  # the digest is of what was read, not of the file now
    assert f.sha256 != hashlib.sha256(b"swapped").hexdigest()
    assert f.text() == "a,b\r\n1,2\r\n"  # BOM dropped


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"not found\. Fix: check the path"):
        read_input(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        read_input(tmp_path)


def test_fifo_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=r"FIFO .*Fix: give a regular file"):
        read_input(fifo)


def test_device_refused() -> None:
    with pytest.raises(DataError, match="is a device"):
        read_input("/dev/zero")


def test_socket_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(path))
        with pytest.raises(DataError, match="is a socket"):
            check_regular(path)
    finally:
        s.close()


def test_size_limit_and_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "s.yaml"
    p.write_bytes(b"x: 1\n" * 1000)  # 5 kB
    monkeypatch.setenv("CRITMIN_MAX_YAML_MB", "0.001")  # ~1 kB
    with pytest.raises(DataError, match=r"above the 0 MB limit\. Fix: .*CRITMIN_MAX_YAML_MB"):
        read_input(p)
    monkeypatch.setenv("CRITMIN_MAX_YAML_MB", "1")
    assert len(read_input(p).data) == 5000
    monkeypatch.setenv("CRITMIN_MAX_YAML_MB", "lots")
    with pytest.raises(DataError, match="is not a number"):
        limit_bytes("yaml")
    monkeypatch.delenv("CRITMIN_MAX_YAML_MB")
    assert limit_bytes("yaml") == LIMITS["yaml"]


def test_kind_from_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRITMIN_MAX_PARQUET_MB", "0.0001")
    p = tmp_path / "f.parquet"
    p.write_bytes(b"x" * 500)
    with pytest.raises(DataError, match="CRITMIN_MAX_PARQUET_MB"):
        read_input(p)
    assert read_input(p, "csv").data == b"x" * 500


@pytest.mark.parametrize(
    ("data", "what"),
    [
        ("a,b\n".encode("utf-16"), "UTF-16"),
        ("a,b\n".encode("utf-16-le"), "UTF-16"),
        ("a,b\n".encode("utf-32"), "UTF-16/UTF-32"),
        (b"\x00\x01\x02binary", "binary"),
    ],
)
def test_wide_and_binary_text_refused(data: bytes, what: str) -> None:
    with pytest.raises(DataError, match=rf"is {what}.*not UTF-8 text\. Fix: save it as UTF-8"):
        decode(data, "f.csv")


def test_latin1_names_the_line_and_byte() -> None:
    with pytest.raises(DataError) as info:
        decode("a,b\nCôte d'Ivoire,1\n".encode("latin-1"), "f.csv")
    assert str(info.value).startswith("f.csv:2: not UTF-8: byte 0xf4 at byte 5")
    assert "Latin-1" in str(info.value)


def test_read_text(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("name: é\n", "utf-8")
    assert read_text(p) == "name: é\n"


def test_csv_records_lines_and_long_fields() -> None:
    long = "x" * 300_000  # above the csv module's default 131,072-character field limit
    text = f'h1,h2\n1,"two\nlines"\n{long},3\n'
    rows = list(csv_records(text, "f.csv"))
    assert [ln for ln, _ in rows] == [1, 2, 4]
    assert rows[1][1] == ["1", "two\nlines"]
    assert rows[2][1][0] == long


@pytest.mark.parametrize(
    "text",
    [
        'a,b\n1,"unclosed\n2,3\n4,5\n',  # would swallow the rest of the file into one field
        'a,b\n1,"x"y\n',  # text after the closing quote
    ],
)
def test_csv_records_error_names_line(text: str) -> None:
    with pytest.raises(DataError, match=r"^f\.csv:\d+: malformed CSV: .*Fix: check the quoting"):
        list(csv_records(text, "f.csv"))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e308, -2 * MAX_ABS])
def test_finite_refuses(bad: float) -> None:
    with pytest.raises(DataError) as info:
        finite(bad, path="o.csv", line=3, column="value", what="value")
    assert str(info.value).startswith("o.csv:3: column 'value': value ")
    assert "Fix:" in str(info.value)


@given(st.floats(min_value=-MAX_ABS, max_value=MAX_ABS))
def test_finite_passes_ordinary_numbers(x: float) -> None:
    assert finite(x) == x


@pytest.mark.fuzz
@fuzz_settings(ci=100)
@given(st.binary(max_size=200))
def test_fuzz_decode_gives_text_or_one_data_error(data: bytes) -> None:
    message = ""
    try:
        out: str | None = decode(data, "f.csv")
    except DataError as exc:
        out, message = None, str(exc)
    if out is None:
        assert "\n" not in message
        assert "Fix:" in message
    else:
        assert isinstance(out, str)
