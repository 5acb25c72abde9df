"""Atomic file writes that leave the file with the mode a plain ``open(path, "w")`` would give.

Every critmin output file (tables, figures, firm networks) is written to a temporary file in
the target's folder and renamed over the target, so a failure never leaves a half-written
file. ``tempfile.mkstemp`` creates its file with mode 0600 whatever the umask, so a renamed
temporary would be unreadable to the user's group; :func:`atomic_path` sets the mode first:

* a new file gets ``0o666 & ~umask`` (what ``open()`` gives: 0644 under the usual umask 022,
  0664 under 002);
* an existing file keeps its permission bits (as ``open(path, "w")`` keeps them).

A leaf module: it imports only :mod:`critmin.errors`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from critmin.errors import CritminError

#: Permission bits of a new file before the umask, as ``open()`` uses.
NEW_FILE_BITS = 0o666


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows.

    Linux reports it in ``/proc/self/status``; elsewhere it is read by setting and restoring
    it, as ``os.umask`` can only set (a short window in which another thread would create
    files with mode 0644).
    """
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode(path: Path | None = None) -> int:
    """Mode for a file about to be (re)written at ``path``: its current bits, else from the umask."""
    if path is not None:
        with contextlib.suppress(OSError):
            return path.stat().st_mode & 0o777
    return NEW_FILE_BITS & ~current_umask()


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success give it ``path``'s mode and rename it.

    Write the whole file to the yielded path inside the ``with`` block. On an exception the
    temporary file is removed and ``path`` is left as it was; an ``OSError`` becomes a
    :class:`CritminError` naming the file and the fix. The folder must exist.
    """
    target = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise CritminError(
            f"{target}: cannot write ({exc.strerror or exc}). Fix: choose a folder that exists and "
            "that you can write to"
        ) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, new_file_mode(target))
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise CritminError(
                f"{target}: cannot write ({exc.strerror or exc}). Fix: check the folder and free disk space"
            ) from exc
        raise


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`), flushed to disk."""
    target = Path(path)
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return target


__all__ = ["NEW_FILE_BITS", "atomic_path", "atomic_write_bytes", "current_umask", "new_file_mode"]
