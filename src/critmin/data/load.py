"""Load the dataset a command should use: bundled + what the user imported into the store."""

from __future__ import annotations

from pathlib import Path

from critmin.data.dataset import Dataset
from critmin.store.duckdb_store import Store


def load_dataset(home: Path | None = None, *, user_data: bool = True) -> Dataset:
    """The bundled dataset with every store import applied, oldest first.

    ``usgs-mcs`` imports enter as new vintages (whole cross-sections by source priority);
    ``overlay`` imports as row-level overrides. ``user_data=False`` gives the bundled data only.
    """
    ds = Dataset.bundled()
    if not user_data:
        return ds
    store = Store.open(home)
    for rec in store.imports():
        tables, sources = store.import_tables(rec.import_id)
        if rec.kind == "overlay":
            ds = ds.with_overlay(tables, sources, tag=rec.import_id)
        elif "production" in tables:
            ds = ds.with_vintage(tables["production"], sources[0], tag=rec.import_id)
    return ds
