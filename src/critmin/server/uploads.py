"""Uploaded files: streamed with a size cap into a private temp folder, never under their own names.

A request's files go into one folder made by :func:`tempfile.mkdtemp` (mode 0700, only this
user can list or read it), each under a fixed name chosen by the route (``bom.csv``,
``firms.parquet``): the client's file name only picks the suffix among the allowed ones, so
``../../etc/passwd`` or ``C:\\x.csv`` can never name a path. The folder is deleted when the
request ends. Bodies are read chunk by chunk (multipart parsed as it streams with
``python-multipart``), so a body over the limit stops at the limit (413), never fully held.

Two request forms are accepted: ``multipart/form-data`` (``curl -F bom=@bom.csv``; the form
field names the file) and a raw body (the file itself as the body, ``Content-Type:
text/csv``) for a route with one file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from critmin.server.errors import ApiError

#: Environment variable overriding the upload limit (MB).
UPLOAD_ENV = "CRITMIN_SERVE_MAX_UPLOAD_MB"
DEFAULT_UPLOAD_MB = 64.0
_MB = 1024 * 1024


def upload_limit(mb: float | None = None) -> int:
    """Upload limit in bytes: ``mb``, else ``$CRITMIN_SERVE_MAX_UPLOAD_MB``, else 64 MB."""
    if mb is None:
        env = os.environ.get(UPLOAD_ENV)
        try:
            mb = float(env) if env else DEFAULT_UPLOAD_MB
        except ValueError:
            raise ApiError(
                500, f"{UPLOAD_ENV}={env!r} is not a number", fix="set it to a size in MB"
            ) from None
    if not mb > 0:
        raise ApiError(500, f"the upload limit must be above 0 MB (got {mb})", fix="give e.g. 64")
    return int(mb * _MB)


@contextlib.contextmanager
def private_dir() -> Iterator[Path]:
    """A fresh folder only this user can open (0700), removed with its files on exit."""
    path = Path(tempfile.mkdtemp(prefix="critmin-upload-"))
    try:
        os.chmod(path, 0o700)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def safe_suffix(client_name: str | None, allowed: tuple[str, ...]) -> str:
    """The allowed suffix ``client_name`` ends with (longest first), else the first allowed one."""
    name = (client_name or "").strip().lower()
    for suf in sorted(allowed, key=len, reverse=True):
        if name.endswith(suf):
            return suf
    return allowed[0]


@dataclass(frozen=True)
class FileSlot:
    """A file a route accepts: form ``field``, stored as ``stem`` + one of ``suffixes``."""

    field: str
    stem: str
    suffixes: tuple[str, ...] = (".csv",)


@dataclass
class Received:
    """What an upload request carried: file field -> path in the private folder, plus text fields."""

    files: dict[str, Path] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)


async def receive_files(request: Request, slots: tuple[FileSlot, ...], folder: Path) -> Received:
    """Stream the request's files into ``folder`` (see the module docstring)."""
    ctype, params = parse_options_header(request.headers.get("content-type"))
    out = Received()
    by_field = {s.field: s for s in slots}
    if ctype == b"multipart/form-data":
        boundary = params.get(b"boundary")
        if not boundary:
            raise ApiError(
                400, "multipart body without a boundary", fix="let the client build the form (curl -F)"
            )
        await _multipart(request, boundary, by_field, folder, out)
    else:
        if len(slots) != 1:
            raise ApiError(
                400,
                f"this endpoint takes {len(slots)} files ({', '.join(s.field for s in slots)})",
                fix="send them as multipart/form-data fields (curl -F name=@file)",
            )
        slot = slots[0]
        suffix = ".parquet" if ctype == b"application/vnd.apache.parquet" else slot.suffixes[0]
        path = folder / f"{slot.stem}{suffix if suffix in slot.suffixes else slot.suffixes[0]}"
        with path.open("wb") as fh:
            async for chunk in request.stream():
                fh.write(chunk)
        out.files[slot.field] = path
    missing = [s.field for s in slots if s.field not in out.files]
    if missing:
        raise ApiError(
            400,
            f"missing file field(s) {', '.join(missing)}",
            field=missing[0],
            fix="send " + " ".join(f"-F {m}=@FILE" for m in missing),
        )
    return out


class _Parts:
    """State of a streaming multipart parse: the current part's headers and where its bytes go."""

    def __init__(self, slots: dict[str, FileSlot], folder: Path, out: Received) -> None:
        self.slots, self.folder, self.out = slots, folder, out
        self.headers: dict[bytes, bytes] = {}
        self.hname = b""
        self.hvalue = b""
        self.sink: IO[bytes] | None = None
        self.text: bytearray | None = None
        self.name = ""
        self.error: ApiError | None = None

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.begin,
            "on_header_field": lambda d, s, e: setattr(self, "hname", self.hname + d[s:e]),
            "on_header_value": lambda d, s, e: setattr(self, "hvalue", self.hvalue + d[s:e]),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_done,
            "on_part_data": self.data,
            "on_part_end": self.end,
        }

    def begin(self) -> None:
        self.headers, self.sink, self.text, self.name = {}, None, None, ""

    def header_end(self) -> None:
        self.headers[self.hname.lower()] = self.hvalue
        self.hname, self.hvalue = b"", b""

    def headers_done(self) -> None:
        _, opts = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = opts.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in opts:
            slot = self.slots.get(self.name)
            if slot is None:
                self.error = self.error or ApiError(
                    400,
                    f"unexpected file field {self.name!r}",
                    field=self.name,
                    fix=f"send the file(s) as {', '.join(self.slots)}",
                )
                return
            if self.name in self.out.files:
                self.error = self.error or ApiError(
                    400, f"file field {self.name!r} given twice", field=self.name
                )
                return
            client = opts[b"filename"].decode("utf-8", "replace")
            path = self.folder / f"{slot.stem}{safe_suffix(client, slot.suffixes)}"
            self.sink = path.open("wb")
            self.out.files[self.name] = path
        else:
            self.text = bytearray()

    def data(self, d: bytes, s: int, e: int) -> None:
        if self.sink is not None:
            self.sink.write(d[s:e])
        elif self.text is not None:
            self.text.extend(d[s:e])
            if len(self.text) > 64 * 1024:
                self.error = self.error or ApiError(413, f"form field {self.name!r} is over 64 kB")
                self.text = None

    def end(self) -> None:
        if self.sink is not None:
            self.sink.close()
            self.sink = None
        elif self.text is not None:
            if len(self.out.fields) >= 32:
                self.error = self.error or ApiError(400, "more than 32 form fields")
            self.out.fields[self.name] = self.text.decode("utf-8", "replace")
            self.text = None


async def _multipart(
    request: Request, boundary: bytes, slots: dict[str, FileSlot], folder: Path, out: Received
) -> None:
    parts = _Parts(slots, folder, out)
    parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if parts.error is not None:
                raise parts.error
        parser.finalize()
    except ApiError:
        raise
    except Exception as exc:  # python-multipart's parse errors: a malformed body, not a crash
        raise ApiError(
            400, f"malformed multipart body ({type(exc).__name__})", fix="send the form with curl -F"
        ) from None
    finally:
        if parts.sink is not None:
            parts.sink.close()
    if parts.error is not None:
        raise parts.error
