"""Load the dataset a command should use: bundled + what the user imported into the store.

Loading reads only the store's catalogue (the list of imports and their sources), read-only:
the rows of the imports are fetched per commodity when a query needs them
(:class:`critmin.data.layers.LazyTables`), so ``critmin exposure --commodity rare_earths`` on a
store holding millions of overlay rows reads the rare-earth rows only. A missing store, or a
``CRITMIN_HOME`` without write access, reads as "no imports" / the imports it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from critmin.data.dataset import Dataset, chained_version
from critmin.data.layers import Layer
from critmin.store.duckdb_store import Store


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
