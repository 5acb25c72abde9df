"""Load the dataset a command should use: bundled + what the user imported into the store.

Loading reads only the store's catalogue (the list of imports and their sources), read-only:
the rows of the imports are fetched per commodity when a query needs them
(:class:`critmin.data.layers.LazyTables`), so ``critmin exposure --commodity rare_earths`` on a
store holding millions of overlay rows reads the rare-earth rows only. A missing store, or a
``CRITMIN_HOME`` without write access, reads as "no imports" / the imports it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from critmin.data.catalogue import Source
from critmin.data.dataset import Dataset, chained_version, with_shares
from critmin.data.layers import SECTION_KEY, Layer, check_share_sums
from critmin.errors import DataError
from critmin.store.duckdb_store import ImportRecord, Store


def load_dataset(home: Path | None = None, *, user_data: bool = True) -> Dataset:
    """The bundled dataset with every store import applied, oldest first.

    ``usgs-mcs`` imports enter as new vintages (whole cross-sections by source priority; a
    vintage replaces the rows of its own source id in the cross-sections it covers);
    ``overlay`` imports as row-level overrides. ``user_data=False`` gives the bundled data only.
    """
    ds = Dataset.bundled()
    if not user_data:
        return ds
    store = Store.open(home)
    recs, sources = store.catalogue()
    if not recs:
        return ds
    layers = [
        Layer("overlay" if r.kind == "overlay" else "vintage", r.import_id, tuple(sources[r.import_id]))
        for r in recs
    ]

    def provider(name: str, ids: Sequence[str], commodity: str | None) -> pd.DataFrame:
        return store.rows(name, ids, commodity)

    return ds.with_layers(layers, provider)


def version_after(import_ids: Sequence[str]) -> str:
    """The ``data_version`` :func:`load_dataset` gives once the store holds ``import_ids`` (in order)."""
    return chained_version(Dataset.bundled().version, import_ids)


@dataclass(frozen=True)
class Committed:
    """An import that is in the store: its record, the source it cites and the new data version."""

    record: ImportRecord
    source_ids: tuple[str, ...]
    data_version: str


def _commit(
    kind: str, path: Path, tables: dict[str, pd.DataFrame], sources: list[Source], sha: str, home: Path | None
) -> Committed:
    if "stage_shares" in tables:
        check_share_sums(tables["stage_shares"], path=str(path))
    rec, ids = Store.open(home).commit_import(
        kind=kind, path=path, tables=tables, sources=sources, sha256=sha
    )
    # Nothing below touches the store: once the commit returned, the import is reported as done.
    return Committed(rec, tuple(s.id for s in sources), version_after(ids))


def import_usgs_mcs(path: Path | str, *, code: str | None = None, home: Path | None = None) -> Committed:
    """Read a USGS MCS world CSV (through :mod:`critmin.infile`) and commit it as a vintage.

    The one import path of the CLI and the API. The recorded sha256 is that of the bytes parsed.
    """
    from critmin.data.importers.usgs_mcs import read_world_csv

    p = Path(path)
    result = read_world_csv(p, code=code)
    after = load_dataset(home).with_vintage(result.frame, result.source, tag="pending")
    check_world_totals(after, result.frame, p)
    return _commit("usgs-mcs", p, {"production": result.frame}, [result.source], result.sha256, home)


def import_overlay(path: Path | str, *, home: Path | None = None) -> Committed:
    """Read an overlay CSV and commit it (its sources checked against the current dataset's)."""
    from critmin.data.importers.overlay import read_overlay_csv

    p = Path(path)
    before = load_dataset(home)
    result = read_overlay_csv(p, before.sources)
    if "production" in result.tables:
        after = before.with_overlay(result.tables, result.sources, tag="pending")
        check_world_totals(after, result.tables["production"], p)
    return _commit("overlay", p, dict(result.tables), list(result.sources), result.sha256, home)


#: A country may exceed the world total by this much (rounding in published figures).
WORLD_SLACK = 0.001


def check_world_totals(after: Dataset, frame: pd.DataFrame, path: Path) -> None:
    """Refuse an import after which one country holds more than its world total (a share above 1).

    ``after`` is the dataset with the import applied; only the cross-sections ``frame`` touches are
    checked. A world total below a country's figure (``World,...,1,kt`` beside China's 270 kt) would
    otherwise give shares of 27,000% and an HHI in the millions.
    """
    if frame.empty:
        return
    for (commodity, measure), part in frame.groupby(["commodity", "measure"], sort=True):
        touched = part[SECTION_KEY].drop_duplicates()
        rows = with_shares(after.production(str(commodity), measure=str(measure)))
        rows = rows.merge(touched, on=SECTION_KEY)
        bad = rows.loc[rows["share"] > 1.0 + WORLD_SLACK].sort_values("share", ascending=False, kind="stable")
        if bad.empty:
            continue
        r = bad.iloc[0]
        total = float(r["value"]) / float(r["share"])
        raise DataError(
            f"after this import {r['country']} would hold {float(r['share']):.0%} of the world "
            f"{commodity} {r['stage']} {measure} in {int(r['year'])} "
            f"({float(r['value']):,.6g} {r['unit']} against a world total of {total:,.6g} {r['unit']})",
            path=path,
            column="value",
            fix="give a world total ('World' row) at least the sum of the countries, or leave it out "
            "so that it is adjusted or computed",
        )
