"""One gate for every file a user hands critmin: regular files only, bounded size, decoded once.

The CLI, the library readers and (later) the REST API read user files through here, so a
hostile or broken file meets the same checks whichever door it comes in by:

* **regular files only**: a folder, a FIFO (which would block forever), a character device such
  as ``/dev/zero`` (which would grow without end) or a socket is refused before it is opened;
* **a size limit per kind of input** (:data:`LIMITS`, overridable with
  ``CRITMIN_MAX_<KIND>_MB``): the bytes are read once, at most ``limit + 1`` of them, so a file
  that grows while it is read is caught too;
* **the bytes that were parsed are the bytes that are hashed** (:attr:`InputFile.sha256`): a file
  swapped or deleted mid-import cannot be recorded under the wrong digest;
* **text is UTF-8** (a byte-order mark is dropped); UTF-16/32 (told by their byte-order mark or
  by NUL bytes) and other encodings are refused with the position of the first bad byte and the
  fix;
* **CSV** records are read with :func:`csv_records`, which yields the physical line each record
  starts on, with strict quoting (an unclosed quote, which would otherwise swallow the rest of
  the file into one field, is an error), and turns the csv module's errors (including its
  131,072-character field limit, raised here to the file-size limit) into one
  :class:`~critmin.errors.DataError` line.

Numbers: :func:`finite` refuses NaN, infinities and magnitudes above :data:`MAX_ABS` (1e15: a
billion tonnes is 1e9, so anything near 1e15 in any critmin unit is a typo), naming the place.

A leaf module: it imports only the standard library and :mod:`critmin.errors`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from critmin.errors import DataError

_MB = 1024 * 1024

#: Largest accepted file, in bytes, per kind of input. Users with bigger files raise the limit
#: with ``CRITMIN_MAX_<KIND>_MB`` (e.g. ``CRITMIN_MAX_CSV_MB=2048``).
LIMITS: dict[str, int] = {
    "yaml": 4 * _MB,  # scenarios, rules, plans: hand-written, a few kB
    "csv": 512 * _MB,  # overlays, BOMs, firm tables, USGS/WGI releases, observed series
    "parquet": 2048 * _MB,  # firm networks
}

#: Largest magnitude a quantity, price or share may have (any critmin unit).
MAX_ABS = 1e15


def limit_bytes(kind: str) -> int:
    """The size limit of ``kind`` in bytes (``CRITMIN_MAX_<KIND>_MB`` overrides :data:`LIMITS`)."""
    env = os.environ.get(f"CRITMIN_MAX_{kind.upper()}_MB")
    if env:
        try:
            mb = float(env)
        except ValueError:
            raise DataError(
                f"CRITMIN_MAX_{kind.upper()}_MB={env!r} is not a number",
                fix="set it to a size in MB, e.g. 2048",
            ) from None
        if math.isfinite(mb) and mb > 0:
            return int(mb * _MB)
    return LIMITS[kind]


@dataclass(frozen=True)
class InputFile:
    """The bytes of one user file, as read (and hashed) once."""

    path: Path
    data: bytes

    @property
    def sha256(self) -> str:
        """SHA-256 of exactly the bytes that were read (and parsed)."""
        return hashlib.sha256(self.data).hexdigest()

    def text(self) -> str:
        """The bytes as UTF-8 text (see :func:`decode`)."""
        return decode(self.data, self.path)


def _kind_of(path: Path) -> str:
    s = path.name.lower()
    if s.endswith((".parquet", ".pq")):
        return "parquet"
    if s.endswith((".yaml", ".yml")):
        return "yaml"
    return "csv"


def check_regular(path: str | Path, *, what: str = "input file") -> Path:
    """``path`` if it names an existing regular file; else one DataError saying what it is."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise DataError(f"{what} not found", path=p, fix="check the path") from None
    except OSError as exc:
        raise DataError(f"cannot read {what}: {exc.strerror}", path=p, fix="check the path") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{what} is a folder", path=p, fix="give a file inside it")
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a FIFO (named pipe)"
            if stat.S_ISFIFO(st.st_mode)
            else "a device"
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "not a regular file"
        )
        raise DataError(f"{what} is {kind}", path=p, fix="give a regular file (copy the data to one)")
    return p


def read_input(path: str | Path, kind: str | None = None, *, what: str = "input file") -> InputFile:
    """Read a user file once: regular file, within the size limit of ``kind`` (guessed from the name)."""
    p = check_regular(path, what=what)
    k = kind or _kind_of(p)
    limit = limit_bytes(k)
    size = p.stat().st_size
    if size > limit:
        raise DataError(_too_big(what, size, limit), path=p, fix=_size_fix(k))
    try:
        with p.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise DataError(f"cannot read {what}: {exc.strerror}", path=p, fix="check the path") from None
    if len(data) > limit:
        raise DataError(_too_big(what, len(data), limit), path=p, fix=_size_fix(k))
    return InputFile(p, data)


def _too_big(what: str, size: int, limit: int) -> str:
    return f"{what} is {size / _MB:,.1f} MB, above the {limit / _MB:,.0f} MB limit"


def _size_fix(kind: str) -> str:
    return f"split the file, or raise the limit with CRITMIN_MAX_{kind.upper()}_MB"


def decode(data: bytes, path: str | Path | None = None) -> str:
    """UTF-8 text of ``data`` (a leading byte-order mark dropped), or one DataError with the fix."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (b"\x00" in data[:4096] and len(data) > 1):
        enc = (
            "UTF-16/UTF-32"
            if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[1:2] == b"\x00"
            else "binary"
        )
        raise DataError(
            f"the file is {enc}, not UTF-8 text",
            path=path,
            line=1,
            fix="save it as UTF-8 (CSV UTF-8 in Excel)",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"not UTF-8: byte 0x{data[exc.start]:02x} at byte {exc.start} cannot be decoded",
            path=path,
            line=line,
            fix="save the file as UTF-8 (it may be Latin-1 or Windows-1252)",
        ) from None
    return text.removeprefix("\ufeff")


def read_text(path: str | Path, kind: str | None = None, *, what: str = "input file") -> str:
    """:func:`read_input` then :meth:`InputFile.text`."""
    return read_input(path, kind, what=what).text()


def csv_records(text: str, path: str | Path | None = None) -> Iterator[tuple[int, list[str]]]:
    """CSV records of ``text`` with the physical line each starts on (the header is line 1).

    Fields may be as long as the file; quoting is strict, and the csv module's errors (an unclosed
    quote, text after a closing quote) become one DataError naming the line.
    """
    _raise_field_limit()
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(
                f"malformed CSV: {exc}",
                path=path,
                line=reader.line_num or start,
                fix="check the quoting on this line (every opening quote needs its closing quote)",
            ) from None
        yield start, cells
        start = reader.line_num + 1


def _raise_field_limit() -> None:
    want = max(limit_bytes("csv"), csv.field_size_limit())
    if csv.field_size_limit() < want:
        csv.field_size_limit(min(want, 2**31 - 1))


def finite(
    value: float,
    *,
    path: str | Path | None = None,
    line: int | None = None,
    column: str | None = None,
    what: str = "value",
    max_abs: float = MAX_ABS,
    converted: bool = False,
) -> float:
    """``value`` as a float if it is finite and within ``max_abs``; else one DataError naming the place.

    ``converted``: the value was converted from the file's unit (the message says so).
    """
    v = float(value)
    if not math.isfinite(v):
        raise DataError(
            f"{what} {value!r} is not a finite number",
            path=path,
            line=line,
            column=column,
            fix="write an ordinary number",
        )
    if abs(v) > max_abs:
        raise DataError(
            f"{what} {v:.6g} is beyond {max_abs:.0e}" + (" (after unit conversion)" if converted else ""),
            path=path,
            line=line,
            column=column,
            fix="check the number and its unit" if converted else "check the number",
        )
    return v


__all__ = [
    "LIMITS",
    "MAX_ABS",
    "InputFile",
    "check_regular",
    "csv_records",
    "decode",
    "finite",
    "limit_bytes",
    "read_input",
    "read_text",
]
