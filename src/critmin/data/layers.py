"""User imports applied on top of the bundled tables: lazily, one commodity at a time.

A :class:`LazyTables` is the ``tables`` mapping of a :class:`~critmin.data.dataset.Dataset` that
has imports. The bundled tables are held in memory; the rows of store imports are fetched by a
*provider* (``critmin.data.load`` gives one that queries the DuckDB store with a ``commodity``
filter) only when a command asks for a commodity (:meth:`LazyTables.select`), and cached. Asking
for a whole table (``tables["production"]``) materialises every import's rows of it, once.

How an import meets the rows below it (applied oldest first):

* a **vintage** (``usgs-mcs``) supersedes, for each cross-section (commodity x stage x measure
  x year) it covers, the rows *of its own source id* already there: re-importing an edition
  critmin bundles replaces that cross-section instead of adding a second copy (vintages never
  mix within one world table). Rows of other sources stay; the dataset's priority rules choose
  between sources (and, on a tie of priority and vintage, the source applied last wins);
* an **overlay** adds production rows marked ``_overlay`` (row-level overrides, resolved by the
  dataset) and *replaces* stage-share rows with the same commodity, stage, year, source and
  country. A share set (one commodity, stage, year and source) that holds overlay rows and then
  sums above ``1 + SHARE_SUM_TOLERANCE`` is resolved deterministically: the rows of the newest
  overlay in that set supersede the whole set. If those rows alone still sum above 1 the
  overlay is refused (:func:`check_share_sums` at import; a :class:`DataError` naming the import
  if such rows are already in a store).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from critmin.data.catalogue import Source
from critmin.errors import DataError

SECTION_KEY = ["commodity", "stage", "measure", "year"]
SHARE_SET_KEY = ["commodity", "stage", "year", "source_id"]
SHARE_KEY = [*SHARE_SET_KEY, "country"]
#: Rounding slack on a share set holding overlay rows (published percentages are rounded).
SHARE_SUM_TOLERANCE = 0.01
#: Tables that imports add rows to.
LAYERED = ("production", "stage_shares")

#: ``provider(table, import_ids, commodity_or_None)``: rows of those store imports with ``import_id``.
Provider = Callable[[str, Sequence[str], "str | None"], pd.DataFrame]
Validate = Callable[[pd.DataFrame, str], pd.DataFrame]


@dataclass(frozen=True)
class Layer:
    """One import: ``kind`` ``vintage`` or ``overlay``; rows in ``frames`` or, if None, in the store."""

    kind: str
    tag: str
    sources: tuple[Source, ...] = ()
    frames: Mapping[str, pd.DataFrame] | None = field(default=None, repr=False)


def _no_validate(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return frame


class LazyTables(Mapping[str, pd.DataFrame]):
    """Bundled tables plus import layers, merged per (table, commodity) on demand and cached."""

    def __init__(
        self,
        base: Mapping[str, pd.DataFrame],
        layers: tuple[Layer, ...] = (),
        provider: Provider | None = None,
        validate: Validate = _no_validate,
    ) -> None:
        self.base = base
        self.layers = layers
        self.provider = provider
        self.validate = validate
        self._full: dict[str, pd.DataFrame] = {}
        self._slices: dict[tuple[str, str], pd.DataFrame] = {}

    def with_layers(self, layers: Sequence[Layer], provider: Provider | None = None) -> LazyTables:
        """A new mapping with ``layers`` applied after these (in-memory frames validated now)."""
        checked = []
        for layer in layers:
            if layer.frames is not None:
                frames = {k: self.validate(v, k) for k, v in layer.frames.items()}
                layer = Layer(layer.kind, layer.tag, layer.sources, frames)
            checked.append(layer)
        return LazyTables(
            self.base, (*self.layers, *checked), provider or self.provider, validate=self.validate
        )

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in LAYERED or not self.layers:
            return self.base[name]
        if name not in self._full:
            self._full[name] = self._build(name, None)
        return self._full[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)

    def select(self, name: str, commodity: str) -> pd.DataFrame:
        """Rows of table ``name`` for one commodity, imports applied (the store queried once)."""
        if name in self._full or name not in LAYERED or not self.layers:
            frame = self[name]
            return frame.loc[frame["commodity"] == commodity]
        key = (name, commodity)
        if key not in self._slices:
            self._slices[key] = self._build(name, commodity)
        return self._slices[key]

    def _build(self, name: str, commodity: str | None) -> pd.DataFrame:
        base = self.base[name]
        if commodity is not None:
            base = base.loc[base["commodity"] == commodity]
        stored = [layer.tag for layer in self.layers if layer.frames is None]
        fetched = (
            self.provider(name, stored, commodity)
            if stored and self.provider is not None
            else pd.DataFrame(columns=["import_id"])
        )
        groups = dict(iter(fetched.groupby("import_id", sort=False))) if len(fetched) else {}
        frame = base.reset_index(drop=True)
        for i, layer in enumerate(self.layers):
            if layer.frames is None:
                got = groups.get(layer.tag)
                rows = None if got is None else self.validate(got.drop(columns=["import_id"]), name)
            else:
                rows = layer.frames.get(name)
                if rows is not None and commodity is not None:
                    rows = rows.loc[rows["commodity"] == commodity]
            if rows is None or rows.empty:
                continue
            frame = _apply(frame, rows.reset_index(drop=True), name, layer.kind, i)
        if name == "stage_shares" and "_layer" in frame:
            frame = _resolve_share_sets(frame, self.layers)
        return frame.reset_index(drop=True)


def _apply(frame: pd.DataFrame, rows: pd.DataFrame, name: str, kind: str, index: int) -> pd.DataFrame:
    if name == "production" and kind == "vintage":
        mine = frame["source_id"].isin(set(rows["source_id"]))
        if "_overlay" in frame:
            mine &= ~frame["_overlay"].fillna(False).astype(bool)
        keys = ["source_id", *SECTION_KEY]
        covered = rows[keys].drop_duplicates()
        hit = frame.loc[mine, keys].merge(covered, on=keys, how="left", indicator=True)["_merge"] == "both"
        drop = frame.index[mine][hit.to_numpy()]
        return pd.concat([frame.drop(index=drop), rows], ignore_index=True)
    rows = rows.assign(_overlay=True)
    if name == "stage_shares":
        seen = frame[SHARE_KEY].merge(
            rows[SHARE_KEY].drop_duplicates(), on=SHARE_KEY, how="left", indicator=True
        )
        frame = frame.loc[(seen["_merge"] == "left_only").to_numpy()]
        rows = rows.assign(_layer=index)
    return pd.concat([frame, rows], ignore_index=True)


def _set_sums(frame: pd.DataFrame) -> pd.Series:
    return frame.groupby([*SHARE_SET_KEY, "is_projection"], dropna=False)["share"].transform("sum")


def _resolve_share_sets(frame: pd.DataFrame, layers: tuple[Layer, ...]) -> pd.DataFrame:
    layer = frame["_layer"]
    keys = [frame[k] for k in [*SHARE_SET_KEY, "is_projection"]]
    touched = layer.notna().groupby(keys, dropna=False).transform("any").astype(bool)
    over = touched & (_set_sums(frame) > 1 + SHARE_SUM_TOLERANCE)
    if over.any():
        newest = layer.groupby(keys, dropna=False).transform("max")
        frame = frame.loc[~over | (layer == newest)]
        still = frame["_layer"].notna() & (_set_sums(frame) > 1 + SHARE_SUM_TOLERANCE)
        if still.any():
            bad = frame.loc[still].iloc[0]
            tag = layers[int(bad["_layer"])].tag
            total = float(frame.loc[still & (frame["_layer"] == bad["_layer"]), "share"].sum())
            raise DataError(
                f"import {tag}: stage shares of {bad['commodity']} {bad['stage']} {int(bad['year'])} "
                f"(source {bad['source_id']}) sum to {total:.3f}, above 1",
                column="share",
                fix=f"remove it (`critmin data remove {tag}`) and import shares that sum to at most 1",
            )
    return frame.drop(columns=["_layer"])


def check_share_sums(rows: pd.DataFrame, *, path: str | None = None) -> None:
    """Refuse stage-share rows whose sets (commodity x stage x year x source) sum above 1."""
    if rows.empty:
        return
    sums = rows.groupby(SHARE_SET_KEY)["share"].sum()
    over = sums[sums > 1 + SHARE_SUM_TOLERANCE]
    if len(over):
        key, total = next(iter(over.items()))
        c, st, y, sid = (str(k) for k in key)  # type: ignore[attr-defined]
        raise DataError(
            f"stage shares of {c} {st} {y} (source {sid}) sum to {float(total):.3f}, above 1",
            path=path,
            column="value",
            fix="correct the shares so that one stage and year sums to at most 1 (100%)",
        )
