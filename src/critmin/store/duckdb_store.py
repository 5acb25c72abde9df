"""The embedded store: one DuckDB file holding user imports (and, later, runs).

Location: ``$CRITMIN_HOME/critmin.duckdb``, default ``~/.critmin/critmin.duckdb``. Every write
is one transaction: an import either lands whole or not at all.

Tables:

``imports``            one row per import (id, kind, path, sha256, imported_at, n_rows)
``import_production``  production-table rows of each import (``kind`` usgs-mcs or overlay)
``import_stage_shares`` stage-share rows of overlays
``import_sources``     the Source records (JSON) each import brought

Sharing the store between processes
-----------------------------------
DuckDB locks the file per process: a read-write connection excludes every other connection
(read-only ones included), while any number of read-only connections may be open together.
So, measured and chosen:

* **reads never take the write lock**: :meth:`Store.imports`, :meth:`Store.rows` etc. open the
  file read-only, and a missing store reads as empty (no file and no schema are created by a
  read, so a read-only ``CRITMIN_HOME`` works for every command that only reads);
* **every connection is short**: one query (or one write transaction) per connection, closed at
  once; an import parses its file *before* it opens the store, so the write lock is held only
  while rows are inserted;
* **both readers and writers wait** when the file is locked: bounded retry with exponential
  backoff (10 ms doubling to 0.5 s) for up to :data:`WAIT_S` seconds (``CRITMIN_STORE_WAIT_S``
  overrides), then one :class:`~critmin.errors.StoreError` naming the store, the process that
  holds it and the fix;
* **a damaged file** (truncated, checksum mismatch, not a DuckDB file) is reported as damaged,
  with where it is and how to recover: move it aside; the bundled data never depends on it; the
  imports can be replayed from their recorded paths, which each write also keeps in the
  plain-text journal ``imports.tsv`` next to the store (kind, path, sha256 per line); the
  message also says that the stored runs (:mod:`critmin.store.runs`) live in the same file
  and are not replayed with the imports.

A read of the rows of some imports checks that those imports are still there: another process
may replace or remove an import between the moment a command listed the imports and the moment
it reads their rows, and that is reported (run the command again) instead of mixing two states.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import pandas as pd

from critmin.data.catalogue import Source
from critmin.data.schemas import TABLES
from critmin.errors import StoreError

STORE_FILE = "critmin.duckdb"
#: Plain-text journal of the imports (kind, path, sha256), rewritten after every write.
JOURNAL_FILE = "imports.tsv"
#: Longest wait, in seconds, for a store another process holds (``CRITMIN_STORE_WAIT_S``).
WAIT_S = 30.0
IMPORT_TABLES = {"production": "import_production", "stage_shares": "import_stage_shares"}
_LOCK = "could not set lock"
_T = TypeVar("_T")


def critmin_home() -> Path:
    """``$CRITMIN_HOME`` or ``~/.critmin``."""
    env = os.environ.get("CRITMIN_HOME")
    return Path(env).expanduser() if env else Path.home() / ".critmin"


def wait_seconds() -> float:
    """How long to wait for a locked store: ``CRITMIN_STORE_WAIT_S`` or :data:`WAIT_S`."""
    env = os.environ.get("CRITMIN_STORE_WAIT_S")
    try:
        v = float(env) if env else WAIT_S
    except ValueError:
        return WAIT_S
    return v if v >= 0 else WAIT_S


@dataclass(frozen=True)
class ImportRecord:
    """One import in the store."""

    import_id: str
    kind: str
    path: str
    sha256: str
    imported_at: str
    n_rows: int


def _columns(name: str) -> list[str]:
    _, schema = TABLES[name]
    return list(schema.to_schema().columns)


_SQL_TYPES = {"int64": "BIGINT", "float64": "DOUBLE", "bool": "BOOLEAN"}


def _ddl(name: str, table: str) -> str:
    _, schema = TABLES[name]
    cols = ["import_id VARCHAR NOT NULL"]
    for col, spec in schema.to_schema().columns.items():
        sql = _SQL_TYPES.get(str(spec.dtype), "VARCHAR")
        cols.append(f'"{col}" {sql}')
    return f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(cols)})"


def frames_digest(tables: Mapping[str, pd.DataFrame]) -> str:
    """SHA-256 of the rows themselves (for imports built from frames, without a file)."""
    h = hashlib.sha256()
    for name in sorted(tables):
        h.update(name.encode())
        h.update(tables[name].to_csv(index=False).encode())
    return h.hexdigest()


def _holder(msg: str) -> str:
    m = re.search(r"held in (.+?) \(PID (\d+)\)", msg)
    return f"process {m.group(2)} ({m.group(1)})" if m else "another process"


class Store:
    """Thin wrapper over a DuckDB file; :meth:`open` locates it (nothing is created by a read)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def open(cls, home: Path | None = None) -> Store:
        """The store under ``home`` (default :func:`critmin_home`). Cheap: opens no file."""
        return cls((home or critmin_home()) / STORE_FILE)

    # ------------------------------------------------------------------ connections
    def _damaged(self, exc: BaseException) -> StoreError:
        journal = self.path.with_name(JOURNAL_FILE)
        replay = (
            f"; your imports are listed in {journal} (kind, path, sha256): replay them with "
            "`critmin data import KIND PATH`"
            if journal.exists()
            else "; replay your imports from their files with `critmin data import KIND PATH`"
        )
        detail = " ".join(str(exc).split())[:200]
        return StoreError(
            f"{self.path}: the store is damaged and cannot be read ({detail}). Fix: move it aside "
            f"(mv {self.path} {self.path}.damaged); the bundled data never depends on it{replay}; "
            "the stored runs (`critmin runs`: simulations, plans, stockpile sizings) live in this "
            "file too and are not in any journal: run again the ones you need (same scenario or "
            "plan and seed give the same results) once it is moved aside"
        )

    def _connect_once(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """Open with bounded retry while another process holds the lock."""
        deadline = time.monotonic() + wait_seconds()
        delay = 0.01
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.Error as exc:
                msg = str(exc)
                if _LOCK not in msg.lower():
                    if "permission denied" in msg.lower():
                        raise self._no_access(read_only, msg) from None
                    raise self._damaged(exc) from None
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"{self.path}: the store is in use by {_holder(msg)} and stayed locked for "
                        f"{wait_seconds():.0f} s. Fix: wait for that command to finish and run again "
                        "(or raise CRITMIN_STORE_WAIT_S)"
                    ) from None
                time.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 0.5)

    def _no_access(self, read_only: bool, msg: str) -> StoreError:
        what = "read" if read_only else "write"
        return StoreError(
            f"{self.path}: cannot {what} the store: permission denied. Fix: make "
            f"{self.path.parent} {'readable' if read_only else 'writable'}, or point CRITMIN_HOME "
            "at a folder you can write (commands that only read work without write access)"
        )

    @contextmanager
    def _connect(self, *, write: bool) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A short connection: read-only unless ``write``; ``None`` for a read of a missing store."""
        if write:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"{self.path.parent}: cannot create the store folder ({exc.strerror}). Fix: make "
                    "it writable or set CRITMIN_HOME to a folder you can write"
                ) from None
            if self.path.exists() and not os.access(self.path, os.W_OK):
                raise self._no_access(False, "")
        elif not self.path.exists():
            yield None
            return
        con = self._connect_once(read_only=not write)
        try:
            yield con
        except duckdb.Error as exc:
            if _LOCK in str(exc).lower():
                raise
            raise self._damaged(exc) from None
        finally:
            con.close()

    def connect(self, *, write: bool) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection | None]:
        """One short connection for other tables of this store file (e.g. :mod:`critmin.store.runs`).

        ``write=False``: read-only, yields ``None`` when the file does not exist (nothing is
        created); ``write=True``: creates the folder if needed and holds the write lock until the
        ``with`` block ends, so keep the block to the inserts. Both wait for a locked file up to
        :func:`wait_seconds`, and report a locked, unreadable or damaged file as one
        :class:`StoreError` with the fix.
        """
        return self._connect(write=write)

    def _read(self, fn: Callable[[duckdb.DuckDBPyConnection], _T], empty: _T) -> _T:
        """Run ``fn`` on a read-only connection; ``empty`` for a missing store or missing schema."""
        with self._connect(write=False) as con:
            if con is None:
                return empty
            has = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'imports'"
            ).fetchone()
            if not has or not has[0]:
                return empty
            return fn(con)

    @staticmethod
    def _schema(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "CREATE TABLE IF NOT EXISTS imports (import_id VARCHAR PRIMARY KEY, kind VARCHAR,"
            " path VARCHAR, sha256 VARCHAR, imported_at VARCHAR, n_rows BIGINT)"
        )
        con.execute("CREATE TABLE IF NOT EXISTS import_sources (import_id VARCHAR, source_json VARCHAR)")
        for name, table in IMPORT_TABLES.items():
            con.execute(_ddl(name, table))

    # ------------------------------------------------------------------ writes
    def add_import(
        self,
        *,
        kind: str,
        path: Path | str,
        tables: Mapping[str, pd.DataFrame],
        sources: list[Source],
        sha256: str | None = None,
    ) -> ImportRecord:
        """Write one import atomically; re-importing the same path replaces the earlier import.

        ``sha256`` is the digest of the bytes the reader parsed (``result.sha256``); the file is
        never read again here, so a file swapped or deleted mid-import is recorded under the
        digest of what was parsed. Without it (rows built in memory) the digest of the rows.
        """
        return self.commit_import(kind=kind, path=path, tables=tables, sources=sources, sha256=sha256)[0]

    def commit_import(
        self,
        *,
        kind: str,
        path: Path | str,
        tables: Mapping[str, pd.DataFrame],
        sources: list[Source],
        sha256: str | None = None,
    ) -> tuple[ImportRecord, list[str]]:
        """:meth:`add_import`, also returning every import id after the commit, oldest first."""
        p = Path(path)
        digest = sha256 if sha256 is not None else frames_digest(tables)
        import_id = f"{kind}:{p.name}:{digest[:8]}"
        n_rows = int(sum(len(f) for f in tables.values()))
        frames = {}
        for name, frame in tables.items():
            df = frame[_columns(name)].copy()  # a missing column fails here, before the store is opened
            df.insert(0, "import_id", import_id)
            frames[IMPORT_TABLES[name]] = df
        with self._connect(write=True) as con:
            assert con is not None
            self._schema(con)
            con.execute("BEGIN TRANSACTION")
            try:
                # The timestamp is taken once the lock is held, so the order is the commit order.
                rec = ImportRecord(
                    import_id, kind, str(p.resolve()), digest, datetime.now(UTC).isoformat(), n_rows
                )
                old = [
                    r[0]
                    for r in con.execute(
                        "SELECT import_id FROM imports WHERE path = ?", [rec.path]
                    ).fetchall()
                ]
                for oid in [*old, import_id]:
                    self._delete(con, oid)
                con.execute(
                    "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?)",
                    [rec.import_id, rec.kind, rec.path, rec.sha256, rec.imported_at, rec.n_rows],
                )
                for s in sources:
                    con.execute("INSERT INTO import_sources VALUES (?, ?)", [import_id, s.model_dump_json()])
                for table, df in frames.items():
                    con.register("_incoming", df)
                    # Sorted by commodity so that DuckDB's zone maps skip the row groups of
                    # other commodities when a command reads one (see critmin.data.layers).
                    con.execute(f"INSERT INTO {table} SELECT * FROM _incoming ORDER BY commodity")
                    con.unregister("_incoming")
                recs = self._records(con)
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
        self._journal(recs)
        return rec, [r.import_id for r in recs]

    @staticmethod
    def _delete(con: duckdb.DuckDBPyConnection, import_id: str) -> None:
        con.execute("DELETE FROM imports WHERE import_id = ?", [import_id])
        con.execute("DELETE FROM import_sources WHERE import_id = ?", [import_id])
        for table in IMPORT_TABLES.values():
            con.execute(f"DELETE FROM {table} WHERE import_id = ?", [import_id])

    def remove_import(self, import_id: str) -> bool:
        """Delete one import; False if it did not exist (a missing store has no imports)."""
        if not self.path.exists():
            return False
        with self._connect(write=True) as con:
            assert con is not None
            self._schema(con)
            con.execute("BEGIN TRANSACTION")
            n = con.execute("SELECT count(*) FROM imports WHERE import_id = ?", [import_id]).fetchone()
            self._delete(con, import_id)
            recs = self._records(con)
            con.execute("COMMIT")
        self._journal(recs)
        return bool(n and n[0])

    def _journal(self, recs: Sequence[ImportRecord]) -> None:
        """Best effort: the journal helps recovery, it is never read by critmin."""
        target = self.path.with_name(JOURNAL_FILE)
        tmp = target.with_name(f".{JOURNAL_FILE}.{os.getpid()}")
        try:
            tmp.write_text(
                "kind\tpath\tsha256\n" + "".join(f"{r.kind}\t{r.path}\t{r.sha256}\n" for r in recs), "utf-8"
            )
            tmp.replace(target)
        except OSError:
            tmp.unlink(missing_ok=True)

    # ------------------------------------------------------------------ reads
    @staticmethod
    def _records(con: duckdb.DuckDBPyConnection) -> list[ImportRecord]:
        rows = con.execute("SELECT * FROM imports ORDER BY imported_at, import_id").fetchall()
        return [ImportRecord(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5])) for r in rows]

    def imports(self) -> list[ImportRecord]:
        """All imports, oldest first (empty for a missing store)."""
        return self._read(self._records, [])

    def catalogue(self) -> tuple[list[ImportRecord], dict[str, list[Source]]]:
        """Every import (oldest first) and the sources each brought, in one read-only look."""

        def read(con: duckdb.DuckDBPyConnection) -> tuple[list[ImportRecord], dict[str, list[Source]]]:
            recs = self._records(con)
            srcs: dict[str, list[Source]] = {r.import_id: [] for r in recs}
            for iid, js in con.execute("SELECT import_id, source_json FROM import_sources").fetchall():
                if iid in srcs:
                    srcs[iid].append(Source.model_validate(json.loads(js)))
            return recs, srcs

        empty: tuple[list[ImportRecord], dict[str, list[Source]]] = ([], {})
        return self._read(read, empty)

    def rows(self, name: str, import_ids: Sequence[str], commodity: str | None = None) -> pd.DataFrame:
        """Rows of table ``name`` of the given imports (one commodity, or all), with ``import_id``.

        Raises :class:`StoreError` if one of ``import_ids`` is no longer in the store (another
        process replaced or removed it after the caller listed the imports).
        """
        table = IMPORT_TABLES[name]
        ids = list(import_ids)
        empty = pd.DataFrame(columns=["import_id", *_columns(name)])
        if not ids:
            return empty

        def read(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
            marks = ", ".join("?" for _ in ids)
            have = {
                r[0]
                for r in con.execute(
                    f"SELECT import_id FROM imports WHERE import_id IN ({marks})", ids
                ).fetchall()
            }
            gone = [i for i in ids if i not in have]
            if gone:
                raise StoreError(
                    f"{self.path}: import {gone[0]} was replaced or removed by another process while "
                    "this command read the store. Fix: run the command again"
                )
            sql = f"SELECT * FROM {table} WHERE import_id IN ({marks})"
            args: list[str] = list(ids)
            if commodity is not None:
                sql += " AND commodity = ?"
                args.append(commodity)
            return con.execute(sql, args).df()

        got = self._read(read, None)
        if got is None:
            raise StoreError(
                f"{self.path}: the store was removed by another process while this command read it. "
                "Fix: run the command again"
            )
        return got

    def import_tables(self, import_id: str) -> tuple[dict[str, pd.DataFrame], list[Source]]:
        """The rows and sources of one import."""
        out: dict[str, pd.DataFrame] = {}
        for name in IMPORT_TABLES:
            df = self.rows(name, [import_id])
            if len(df):
                out[name] = df.drop(columns=["import_id"])
        return out, self.catalogue()[1].get(import_id, [])
