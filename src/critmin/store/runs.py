"""Stored runs: every simulation, plan and stockpile sizing kept in the DuckDB store to list,
show and compare.

The runs live in the same file as the imports (:class:`critmin.store.duckdb_store.Store`,
``$CRITMIN_HOME/critmin.duckdb``) in two tables of their own:

``runs``        one row per run: id, kind, name, created_at, seed, paths, data and package
                versions, the resolved scenario (YAML text) and a JSON document of the rest
                (months, description, source and assumption ids, parameters)
``run_tables``  the run's tables (``summary``, ``bands``, ...), each one Parquet blob

Locking follows the store (:meth:`Store.connect`): a write holds the write lock only while its
rows are inserted (the tables are serialised to Parquet before the file is opened); reads are
read-only and never create the store (a missing store or one without runs lists no runs); a
locked store is waited for up to ``CRITMIN_STORE_WAIT_S`` seconds; a damaged one is one
:class:`~critmin.errors.StoreError` with the fix. Within one process the connections of the
run store are serialised by a lock (DuckDB refuses a read-only and a read-write connection to
one file in one process at the same time; a server runs several requests at once).

Run ids: ``sim-YYYYmmddTHHMMSS-<8 hex>`` (simulations), ``plan-...`` (plans) and ``stock-...``
(stockpile sizings), UTC time of the save and 8 random hex digits. What a plan or stockpile run
keeps, and how two compare, is in :mod:`critmin.store.plan_runs`.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from critmin._version import __version__
from critmin.errors import DataError, StoreError
from critmin.jsonsafe import dumps
from critmin.store.duckdb_store import Store

if TYPE_CHECKING:
    from critmin.plan.result import PlanResult
    from critmin.plan.stockpile import StockpileResult
    from critmin.simulate.result import SimulationResult

#: Kinds of stored run.
KINDS = ("simulation", "plan", "stockpile")
_PREFIX = {"simulation": "sim", "plan": "plan", "stockpile": "stock"}
_QUANTILES = ("p5", "p50", "p95")
#: Serialises this process's connections to the store file (see the module docstring).
_PROCESS_LOCK = threading.RLock()


@dataclass(frozen=True)
class RunRecord:
    """One stored run (no tables: :meth:`RunStore.get` returns those)."""

    run_id: str
    kind: str
    name: str
    created_at: str  # ISO 8601, UTC
    seed: int | None
    paths: int | None
    data_version: str
    package_version: str
    #: The resolved scenario (or plan specification) as YAML text.
    spec_yaml: str = ""
    #: Everything else the run carried: months, description, source/assumption ids, parameters.
    meta: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON types (``spec_yaml`` and ``meta`` included)."""
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "name": self.name,
            "created_at": self.created_at,
            "seed": self.seed,
            "paths": self.paths,
            "data_version": self.data_version,
            "package_version": self.package_version,
            "spec_yaml": self.spec_yaml,
            "meta": dict(self.meta or {}),
        }


def new_run_id(kind: str, now: datetime | None = None) -> str:
    """``sim-20261203T001500-1a2b3c4d``: the kind's prefix, the UTC time and 8 random hex digits."""
    if kind not in _PREFIX:
        raise DataError(f"unknown run kind {kind!r}", column="kind", fix=f"use one of {list(KINDS)}")
    t = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    return f"{_PREFIX[kind]}-{t}-{secrets.token_hex(4)}"


def _to_parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df = frame.copy()
    df.columns = [str(c) for c in df.columns]
    df.reset_index(drop=True).to_parquet(buf, index=False)
    return buf.getvalue()


def _from_parquet(data: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(data))


def simulation_tables(result: SimulationResult) -> dict[str, pd.DataFrame]:
    """The tables a stored simulation keeps (all tidy: one record type each).

    ``summary`` (region x product x metric p5/p50/p95), ``bands`` (the primary chain's monthly
    ex-China bands), ``chain_bands`` (every chain's bands with a ``chain`` column),
    ``region_bands`` (month x region p5/p50/p95 of the primary chain's shortfall, % of each
    region's demand, from the full series when the run kept them) and ``events`` (the primary
    chain's dated policy changes: number, month, date, label, colour, dash).
    """
    frames: dict[str, pd.DataFrame] = {"summary": result.summary, "bands": result.bands}
    chain_bands = [c.bands.assign(chain=cid) for cid, c in result.chains.items()]
    if chain_bands:
        frames["chain_bands"] = pd.concat(chain_bands, ignore_index=True)
    region_bands = region_band_frame(result)
    if len(region_bands):
        frames["region_bands"] = region_bands
    frames["events"] = event_frame(result)
    return frames


def region_band_frame(result: SimulationResult) -> pd.DataFrame:
    """Month x region p5/p50/p95 of the primary chain's shortfall (% of the region's demand).

    From ``result.trace`` (kept for small runs); empty when the run kept no trace. A month in
    which a region has no demand counts as 0 % short.
    """
    tr = result.trace
    if tr is None:
        return pd.DataFrame(columns=["month", "region", *(f"shortfall_pct_{q}" for q in _QUANTILES)])
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(tr.demand > 0, 100.0 * tr.shortfall / tr.demand, 0.0)  # [T, P, R]
    q = np.percentile(pct, [5, 50, 95], axis=1)  # [3, T, R]
    rows = []
    for r, region in enumerate(result.scenario.regions):
        rows.append(
            pd.DataFrame(
                {
                    "month": list(result.months),
                    "region": region,
                    **{f"shortfall_pct_{lab}": q[i, :, r] for i, lab in enumerate(_QUANTILES)},
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def event_frame(result: SimulationResult) -> pd.DataFrame:
    """The primary chain's policy marks (:func:`critmin.report.fan.marks_in`) as a table."""
    from critmin.report.fan import marks_in

    cols = ["number", "month", "date", "label", "colour", "dash"]
    chain = result.chains.get(result.scenario.commodities[0])
    if chain is None:
        return pd.DataFrame(columns=cols)
    marks = marks_in(chain.events, chain.in_force, list(result.months))
    return pd.DataFrame(
        [(m.number, m.month, m.date.isoformat(), m.label, m.colour, m.dash) for m in marks], columns=cols
    )


def simulation_meta(result: SimulationResult) -> dict[str, Any]:
    """The JSON document stored with a simulation (what a report needs beyond the tables)."""
    sc = result.scenario
    return {
        "scenario": sc.name,
        "description": sc.description,
        "months": [result.months[0], result.months[-1]],
        "regions": list(sc.regions),
        "commodities": list(sc.commodities),
        "chains": {cid: c.product for cid, c in result.chains.items()},
        "status": result.status.value,
        "source_ids": list(result.source_ids),
        "assumption_ids": list(result.assumption_ids),
        "parameters": result.parameters,
    }


class RunStore:
    """Stored runs in the store file of :class:`Store`; :meth:`open` creates nothing."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, home: Path | None = None) -> RunStore:
        """The run store under ``home`` (default ``$CRITMIN_HOME`` or ``~/.critmin``). Cheap."""
        return cls(Store.open(home))

    @property
    def path(self) -> Path:
        """The store file."""
        return self.store.path

    # ------------------------------------------------------------------ connections
    @contextlib.contextmanager
    def _connection(self, *, write: bool) -> Iterator[duckdb.DuckDBPyConnection | None]:
        with _PROCESS_LOCK, self.store.connect(write=write) as con:
            if con is not None and not write and not _has_runs(con):
                yield None
                return
            yield con

    @staticmethod
    def _schema(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR PRIMARY KEY, kind VARCHAR, name VARCHAR,"
            " created_at VARCHAR, seed BIGINT, paths BIGINT, data_version VARCHAR,"
            " package_version VARCHAR, spec_yaml VARCHAR, meta_json VARCHAR)"
        )
        con.execute("CREATE TABLE IF NOT EXISTS run_tables (run_id VARCHAR, table_name VARCHAR, data BLOB)")

    # ------------------------------------------------------------------ writes
    def save(
        self,
        *,
        kind: str,
        name: str,
        tables: Mapping[str, pd.DataFrame],
        seed: int | None,
        paths: int | None,
        data_version: str,
        package_version: str = __version__,
        spec_yaml: str = "",
        meta: Mapping[str, Any] | None = None,
    ) -> str:
        """Store one run with its tables in one transaction; return its run id."""
        run_id = new_run_id(kind)
        blobs = [(str(n), _to_parquet(f)) for n, f in tables.items()]  # before the lock is taken
        meta_json = dumps(dict(meta or {}), default=str)
        with self._connection(write=True) as con:
            assert con is not None
            self._schema(con)
            con.execute("BEGIN TRANSACTION")
            try:
                created = datetime.now(UTC).isoformat()  # under the lock: the order is the commit order
                con.execute(
                    "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        run_id,
                        kind,
                        name,
                        created,
                        seed,
                        paths,
                        data_version,
                        package_version,
                        spec_yaml,
                        meta_json,
                    ],
                )
                for table, blob in blobs:
                    con.execute("INSERT INTO run_tables VALUES (?, ?, ?)", [run_id, table, blob])
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
        return run_id

    def save_simulation(self, result: SimulationResult) -> str:
        """Store a :class:`~critmin.simulate.result.SimulationResult`: its resolved scenario (YAML),
        seed, paths, data and package versions and :func:`simulation_tables`; return the run id."""
        import yaml

        spec = yaml.safe_dump(
            result.scenario.model_dump(mode="json", exclude_none=True), sort_keys=False, allow_unicode=True
        )
        return self.save(
            kind="simulation",
            name=result.scenario.name,
            tables=simulation_tables(result),
            seed=result.seed,
            paths=result.paths,
            data_version=result.data_version,
            package_version=result.package_version,
            spec_yaml=spec,
            meta=simulation_meta(result),
        )

    def save_plan_result(self, result: PlanResult, extra: Mapping[str, pd.DataFrame] | None = None) -> str:
        """Store a :class:`~critmin.plan.result.PlanResult`: its resolved plan spec (YAML), seed,
        futures (as ``paths``), data and package versions and
        :func:`~critmin.store.plan_runs.plan_tables` (``extra``: the frontier and alternatives
        when computed); return the run id."""
        from critmin.store.plan_runs import plan_meta, plan_spec_yaml, plan_tables

        return self.save(
            kind="plan",
            name=result.spec.name,
            tables=plan_tables(result, extra),
            seed=result.seed,
            paths=result.futures,
            data_version=result.data_version,
            package_version=result.package_version,
            spec_yaml=plan_spec_yaml(result),
            meta=plan_meta(result),
        )

    def save_stockpile(self, result: StockpileResult) -> str:
        """Store a :class:`~critmin.plan.stockpile.StockpileResult` (``critmin stockpile``): its
        spec (YAML), seed, paths, data and package versions and
        :func:`~critmin.store.plan_runs.stockpile_tables`; return the run id."""
        from critmin.store.plan_runs import (
            stockpile_meta,
            stockpile_name,
            stockpile_spec_yaml,
            stockpile_tables,
        )

        return self.save(
            kind="stockpile",
            name=stockpile_name(result),
            tables=stockpile_tables(result),
            seed=result.seed,
            paths=result.paths,
            data_version=result.data_version,
            package_version=result.package_version,
            spec_yaml=stockpile_spec_yaml(result),
            meta=stockpile_meta(result),
        )

    def save_plan(self, plan: Mapping[str, Any], kind: str = "plan") -> str:
        """Store a planning run from its ``PlanResult.to_dict()`` document; return the run id.

        Read from the document: ``name`` (or ``plan``/``scenario``), ``seed``, ``paths``,
        ``data_version``, ``package_version`` (or ``critmin_version``) and ``spec``/``plan_spec``
        (stored as YAML). Every value that is a list of flat records (dicts) becomes a table of
        that name; the rest is kept as the run's ``meta``.
        """
        import yaml

        doc = dict(plan)
        name = str(doc.get("name") or doc.get("plan") or doc.get("scenario") or "plan")
        spec = doc.get("spec", doc.get("plan_spec"))
        tables: dict[str, pd.DataFrame] = {}
        meta: dict[str, Any] = {}
        for key, value in doc.items():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                tables[str(key)] = _flat_frame(value)
            else:
                meta[str(key)] = value
        return self.save(
            kind=kind,
            name=name,
            tables=tables,
            seed=_int_or_none(doc.get("seed")),
            paths=_int_or_none(doc.get("paths")),
            data_version=str(doc.get("data_version") or ""),
            package_version=str(doc.get("package_version") or doc.get("critmin_version") or __version__),
            spec_yaml=yaml.safe_dump(spec, sort_keys=False, allow_unicode=True) if spec is not None else "",
            meta=json.loads(dumps(meta, default=str)),
        )

    def remove(self, run_id: str) -> bool:
        """Delete one run and its tables; False if there was no such run (nothing is created)."""
        if not self.path.exists():
            return False
        with self._connection(write=True) as con:
            assert con is not None
            if not _has_runs(con):
                return False
            con.execute("BEGIN TRANSACTION")
            n = con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchone()
            con.execute("DELETE FROM runs WHERE run_id = ?", [run_id])
            con.execute("DELETE FROM run_tables WHERE run_id = ?", [run_id])
            con.execute("COMMIT")
        return bool(n and n[0])

    # ------------------------------------------------------------------ reads
    def list(self) -> list[RunRecord]:
        """Every stored run, oldest first (empty for a missing store or one without runs)."""
        with self._connection(write=False) as con:
            if con is None:
                return []
            rows = con.execute(
                "SELECT run_id, kind, name, created_at, seed, paths, data_version, package_version"
                " FROM runs ORDER BY created_at, run_id"
            ).fetchall()
        return [
            RunRecord(
                str(r[0]),
                str(r[1]),
                str(r[2]),
                str(r[3]),
                _int_or_none(r[4]),
                _int_or_none(r[5]),
                str(r[6]),
                str(r[7]),
            )
            for r in rows
        ]

    def get(self, run_id: str) -> tuple[RunRecord, dict[str, pd.DataFrame]]:
        """One run: its record (with ``spec_yaml`` and ``meta``) and its tables by name.

        An unknown id is a :class:`DataError` naming the id and how to list the runs.
        """
        with self._connection(write=False) as con:
            row = None
            blobs: list[tuple[Any, ...]] = []
            if con is not None:
                row = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]).fetchone()
                blobs = con.execute(
                    "SELECT table_name, data FROM run_tables WHERE run_id = ? ORDER BY rowid", [run_id]
                ).fetchall()
        if row is None:
            raise self.unknown(run_id)
        rec = RunRecord(
            str(row[0]),
            str(row[1]),
            str(row[2]),
            str(row[3]),
            _int_or_none(row[4]),
            _int_or_none(row[5]),
            str(row[6]),
            str(row[7]),
            str(row[8] or ""),
            json.loads(row[9]) if row[9] else {},
        )
        try:
            tables = {str(n): _from_parquet(bytes(b)) for n, b in blobs}
        except Exception as exc:  # a blob that is not Parquet: the file was damaged or edited
            raise StoreError(
                f"{self.path}: the tables of run {run_id} cannot be read ({type(exc).__name__}). "
                f"Fix: remove the run (critmin runs remove {run_id}) and run it again"
            ) from None
        return rec, tables

    def compare(self, a: str, b: str) -> pd.DataFrame:
        """Summary rows of runs ``a`` and ``b`` side by side with the difference ``b - a``.

        Columns: region, product, metric, ``p5_a``, ``p50_a``, ``p95_a``, ``p5_b``, ``p50_b``,
        ``p95_b``, ``diff_p5``, ``diff_p50``, ``diff_p95`` (units those of the metric). A row
        present in only one run has empty values for the other and no difference.
        """
        _, ta = self.get(a)
        _, tb = self.get(b)
        return compare_summaries(ta.get("summary"), tb.get("summary"))

    def compare_runs(self, a: str, b: str) -> tuple[str, dict[str, pd.DataFrame]]:
        """Runs ``a`` and ``b`` of one kind compared (B - A): ``(kind, tables by name)``.

        Simulations: ``{"summary": compare(a, b)}``; plans: the portfolio and cost differences
        (:func:`~critmin.store.plan_runs.compare_plans`); stockpiles: the sizes, probabilities
        and costs (:func:`~critmin.store.plan_runs.compare_stockpiles`). Runs of two kinds are a
        :class:`DataError` naming both.
        """
        from critmin.store.plan_runs import compare_plans, compare_stockpiles

        ra, ta = self.get(a)
        rb, tb = self.get(b)
        if ra.kind != rb.kind:
            raise DataError(
                f"run {a} is a {ra.kind} run and run {b} a {rb.kind} run",
                column="run",
                fix="compare two runs of one kind (`critmin runs list` shows each run's kind)",
            )
        if ra.kind == "plan":
            return "plan", compare_plans(ta, tb)
        if ra.kind == "stockpile":
            return "stockpile", compare_stockpiles(ta, tb)
        return ra.kind, {"summary": compare_summaries(ta.get("summary"), tb.get("summary"))}

    def unknown(self, run_id: str) -> DataError:
        """The error for a run id that is not stored (names the id, the store and the fix)."""
        return DataError(
            f"no stored run {run_id!r} in {self.path}",
            fix="list the stored runs with `critmin runs list`",
        )


def compare_summaries(a: pd.DataFrame | None, b: pd.DataFrame | None) -> pd.DataFrame:
    """Two summary tables (region, product, metric, p5, p50, p95) joined, with ``diff_q = q_b - q_a``."""
    keys = ["region", "product", "metric"]
    empty = pd.DataFrame(columns=[*keys, *_QUANTILES])
    left = (a if a is not None else empty)[[*keys, *_QUANTILES]]
    right = (b if b is not None else empty)[[*keys, *_QUANTILES]]
    out = left.merge(right, on=keys, how="outer", suffixes=("_a", "_b"), sort=False)
    for q in _QUANTILES:
        out[f"diff_{q}"] = out[f"{q}_b"] - out[f"{q}_a"]
    cols = [*keys, *(f"{q}_a" for q in _QUANTILES), *(f"{q}_b" for q in _QUANTILES)]
    return out[[*cols, *(f"diff_{q}" for q in _QUANTILES)]].reset_index(drop=True)


def _has_runs(con: duckdb.DuckDBPyConnection) -> bool:
    got = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('runs', 'run_tables')"
    ).fetchone()
    return bool(got and got[0] == 2)


def _int_or_none(v: Any) -> int | None:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None


def _flat_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Records as a frame whose nested values (lists, dicts) are JSON text, never Python reprs."""
    frame = pd.DataFrame.from_records(records)
    for col in frame.columns:
        if frame[col].map(lambda v: isinstance(v, list | dict | tuple)).any():
            frame[col] = frame[col].map(
                lambda v: dumps(v, default=str) if isinstance(v, list | dict | tuple) else v
            )
    return frame


__all__ = [
    "KINDS",
    "RunRecord",
    "RunStore",
    "compare_summaries",
    "event_frame",
    "new_run_id",
    "region_band_frame",
    "simulation_meta",
    "simulation_tables",
]
