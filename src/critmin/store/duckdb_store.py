"""The embedded store: one DuckDB file holding user imports (and, later, runs).

Location: ``$CRITMIN_HOME/critmin.duckdb``, default ``~/.critmin/critmin.duckdb``. Every write
is one transaction: an import either lands whole or not at all.

Tables:

``imports``            one row per import (id, kind, path, sha256, imported_at, n_rows)
``import_production``  production-table rows of each import (``kind`` usgs-mcs or overlay)
``import_stage_shares`` stage-share rows of overlays
``import_sources``     the Source records (JSON) each import brought
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from critmin.data.catalogue import Source
from critmin.data.schemas import TABLES
from critmin.errors import StoreError

STORE_FILE = "critmin.duckdb"
_IMPORT_TABLES = {"production": "import_production", "stage_shares": "import_stage_shares"}


def critmin_home() -> Path:
    """``$CRITMIN_HOME`` or ``~/.critmin``."""
    env = os.environ.get("CRITMIN_HOME")
    return Path(env).expanduser() if env else Path.home() / ".critmin"


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


class Store:
    """Thin wrapper over a DuckDB file; open with :meth:`open` (creates it on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def open(cls, home: Path | None = None) -> Store:
        """The store under ``home`` (default :func:`critmin_home`), schema created if missing."""
        root = home or critmin_home()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create store folder {root}: {exc}; set CRITMIN_HOME") from None
        store = cls(root / STORE_FILE)
        with store._connect() as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS imports (import_id VARCHAR PRIMARY KEY, kind VARCHAR,"
                " path VARCHAR, sha256 VARCHAR, imported_at VARCHAR, n_rows BIGINT)"
            )
            con.execute("CREATE TABLE IF NOT EXISTS import_sources (import_id VARCHAR, source_json VARCHAR)")
            for name, table in _IMPORT_TABLES.items():
                con.execute(_ddl(name, table))
        return store

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            con = duckdb.connect(str(self.path))
        except duckdb.Error as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from None
        try:
            yield con
        finally:
            con.close()

    def add_import(
        self,
        *,
        kind: str,
        path: Path | str,
        tables: Mapping[str, pd.DataFrame],
        sources: list[Source],
    ) -> ImportRecord:
        """Write one import atomically; re-importing the same path replaces the earlier import."""
        p = Path(path)
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else ""
        import_id = f"{kind}:{p.name}:{digest[:8]}"
        n_rows = int(sum(len(f) for f in tables.values()))
        rec = ImportRecord(import_id, kind, str(p.resolve()), digest, datetime.now(UTC).isoformat(), n_rows)
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                old = [
                    r[0]
                    for r in con.execute(
                        "SELECT import_id FROM imports WHERE path = ?", [rec.path]
                    ).fetchall()
                ]
                for oid in [*old, import_id]:
                    self._delete(con, oid)
                con.execute("INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?)", list(rec.__dict__.values()))
                for s in sources:
                    con.execute("INSERT INTO import_sources VALUES (?, ?)", [import_id, s.model_dump_json()])
                for name, frame in tables.items():
                    table = _IMPORT_TABLES[name]
                    df = frame[_columns(name)].copy()
                    df.insert(0, "import_id", import_id)
                    con.register("_incoming", df)
                    con.execute(f"INSERT INTO {table} SELECT * FROM _incoming")
                    con.unregister("_incoming")
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
        return rec

    @staticmethod
    def _delete(con: duckdb.DuckDBPyConnection, import_id: str) -> None:
        con.execute("DELETE FROM imports WHERE import_id = ?", [import_id])
        con.execute("DELETE FROM import_sources WHERE import_id = ?", [import_id])
        for table in _IMPORT_TABLES.values():
            con.execute(f"DELETE FROM {table} WHERE import_id = ?", [import_id])

    def remove_import(self, import_id: str) -> bool:
        """Delete one import; False if it did not exist."""
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            n = con.execute("SELECT count(*) FROM imports WHERE import_id = ?", [import_id]).fetchone()
            self._delete(con, import_id)
            con.execute("COMMIT")
        return bool(n and n[0])

    def imports(self) -> list[ImportRecord]:
        """All imports, oldest first."""
        with self._connect() as con:
            rows = con.execute("SELECT * FROM imports ORDER BY imported_at").fetchall()
        return [ImportRecord(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5])) for r in rows]

    def import_tables(self, import_id: str) -> tuple[dict[str, pd.DataFrame], list[Source]]:
        """The rows and sources of one import."""
        out: dict[str, pd.DataFrame] = {}
        with self._connect() as con:
            for name, table in _IMPORT_TABLES.items():
                df = con.execute(f"SELECT * FROM {table} WHERE import_id = ?", [import_id]).df()
                if len(df):
                    out[name] = df.drop(columns=["import_id"])
            srcs = con.execute(
                "SELECT source_json FROM import_sources WHERE import_id = ?", [import_id]
            ).fetchall()
        return out, [Source.model_validate(json.loads(s[0])) for s in srcs]
