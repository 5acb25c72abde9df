"""The dataset: bundled tables + sources, optionally with user overlays, and its version hash.

``Dataset.bundled()`` reads the CSV tables and ``sources.yaml`` shipped inside the package
(``critmin/data/bundled/``), validates each table with its pandera schema and checks that every
``source_id`` resolves. :func:`load_dataset` adds what the user imported into the store.

Two ways user data enter:

* a new *vintage* (``critmin data import usgs-mcs``): its rows carry a Source with a priority;
  for each cross-section (commodity x stage x measure x year) the whole cross-section is taken
  from the single highest-priority source, so vintages never mix within one world table. A
  vintage whose source id is already there (re-importing the edition critmin bundles, or a
  corrected file) *replaces* that source's rows in the cross-sections it covers, never adds a
  second copy; on a tie of priority and vintage between two sources, the one applied last wins;
* an *overlay* (``critmin data import overlay``): row-level overrides with priority above
  everything; where an overlay changes country rows of a cross-section whose world total it does
  not give, the world total is adjusted by the same difference and flagged ``adjusted``.
  Overlay stage shares replace the rows with the same key; a share set that would then sum
  above 1 is resolved as :mod:`critmin.data.layers` says (the newest overlay's rows win the set).

Imports are applied lazily (:class:`critmin.data.layers.LazyTables`): a query for one commodity
reads only that commodity's imported rows; ``tables[name]`` materialises the whole table.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.errors
import yaml

from critmin import yamlio
from critmin.data.catalogue import Source
from critmin.data.layers import SECTION_KEY, Layer, LazyTables, Provider
from critmin.data.schemas import TABLES
from critmin.errors import DataError
from critmin.infile import read_input
from critmin.model.commodities import registry
from critmin.model.countries import OTHER, WORLD, is_country
from critmin.model.stages import Stage

#: Priority given to row-level user overlays: above every bundled or imported vintage.
OVERLAY_PRIORITY = 1_000_000
#: Stage-share sets this many years older than the newest still count as current.
RECENT_YEARS = 2
PRODUCTION_KEY = ["commodity", "stage", "measure", "country", "year"]


def read_table_csv(path: Path | str, name: str) -> pd.DataFrame:
    """Read one bundled-format CSV table and validate it against its schema.

    Empty cells are missing values; literal strings such as ``NA`` stay strings (Namibia-safe).
    """
    _, schema = TABLES[name]
    text = read_input(path, "csv", what=f"{name} table").text()
    try:
        frame = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""], dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(
            f"not a readable CSV table: {' '.join(str(exc).split())}",
            path=path,
            fix=f"give a CSV with the {name} table's header (see critmin.data.schemas)",
        ) from None
    for col, spec in schema.to_schema().columns.items():
        if str(spec.dtype) == "bool" and col in frame:
            # pandera would coerce the string "False" to True; map the spellings explicitly.
            text = frame[col].str.strip().str.lower()
            known = text.isin(list(_BOOL))
            if not known.all():
                bad = int(known.to_numpy().argmin())
                raise DataError(
                    f"{frame[col].iloc[bad]!r} is not a boolean",
                    path=path,
                    line=bad + 2,
                    column=col,
                    fix="write True or False",
                )
            frame[col] = text.map(_BOOL).astype(bool)
    return validate_table(frame, name, path=path)


_BOOL = {"true": True, "false": False, "1": True, "0": False}


def validate_table(frame: pd.DataFrame, name: str, *, path: Path | str | None = None) -> pd.DataFrame:
    """Validate ``frame`` against the schema of table ``name``; raise :class:`DataError` on failure.

    The error names the first failing column and row (1-based CSV line = index + 2).
    """
    _, schema = TABLES[name]
    try:
        validated: pd.DataFrame = schema.validate(frame, lazy=True)
        return validated
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        first = cases.iloc[0]
        idx = first.get("index")
        line = int(idx) + 2 if idx is not None and not pd.isna(idx) else None
        col = first.get("column")
        msg = (
            f"table {name!r} fails its schema: {first.get('check')} "
            f"(value {first.get('failure_case')!r}; {len(cases)} failure(s) in all)"
        )
        raise DataError(
            msg,
            path=path,
            line=line,
            column=str(col) if col is not None and not pd.isna(col) else None,
            fix="correct the value; the schema is documented in critmin.data.schemas",
        ) from None


def _hash_bytes(chunks: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(hashlib.sha256(c).digest())
    return h.hexdigest()[:12]


def chained_version(version: str, tags: Iterable[str]) -> str:
    """The data version after applying imports ``tags`` (oldest first) to ``version``."""
    for tag in tags:
        version = _hash_bytes([version.encode(), tag.encode()])
    return version


def load_sources(path: Path | str) -> dict[str, Source]:
    """Read a ``sources.yaml`` (``{sources: [ {id, kind, publisher, ...}, ...]}``)."""
    raw = yamlio.safe_load(Path(path).read_text("utf-8")) or {}
    out: dict[str, Source] = {}
    for i, item in enumerate(raw.get("sources", [])):
        try:
            src = Source.model_validate(item)
        except Exception as exc:
            raise DataError(
                f"invalid source #{i + 1}: {exc}", path=path, fix="see critmin.data.catalogue.Source"
            ) from None
        if src.id in out:
            raise DataError(f"duplicate source id {src.id!r}", path=path, fix="make ids unique")
        out[src.id] = src
    return out


def dump_sources(sources: Mapping[str, Source]) -> str:
    """YAML text of a source catalogue, sorted by id (stable, so the version hash is stable)."""
    items = [s.model_dump(exclude_none=True) for _, s in sorted(sources.items())]
    return yaml.safe_dump({"sources": items}, sort_keys=False, allow_unicode=True, width=100)


@dataclass(frozen=True)
class Dataset:
    """Validated tables + source catalogue + content version.

    ``tables`` maps a table name (see :data:`critmin.data.schemas.TABLES`) to a tidy DataFrame;
    ``version`` is a 12-hex content hash of the bundled files plus any overlays applied.
    """

    tables: Mapping[str, pd.DataFrame]
    sources: Mapping[str, Source]
    version: str
    overlays: tuple[str, ...] = field(default=())

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dir(cls, path: Path | str) -> Dataset:
        """Load every table CSV and ``sources.yaml`` from ``path``, validated."""
        root = Path(path)
        chunks: list[bytes] = []
        tables: dict[str, pd.DataFrame] = {}
        for name, (fname, _) in TABLES.items():
            f = root / fname
            if not f.exists():
                raise DataError(f"missing table file {fname}", path=root, fix="rebuild the dataset")
            chunks.append(fname.encode() + f.read_bytes())
            tables[name] = read_table_csv(f, name)
        src_path = root / "sources.yaml"
        chunks.append(src_path.read_bytes())
        ds = cls(tables=tables, sources=load_sources(src_path), version=_hash_bytes(chunks))
        ds.check_sources()
        return ds

    @classmethod
    def bundled(cls) -> Dataset:
        """The dataset shipped inside the package (cached)."""
        return _bundled()

    def check_sources(self) -> None:
        """Raise :class:`DataError` if any row's ``source_id`` is not in the catalogue."""
        for name, frame in self.tables.items():
            missing = sorted(set(frame["source_id"]) - set(self.sources))
            if missing:
                raise DataError(
                    f"table {name!r} cites unknown source ids {missing[:5]}",
                    column="source_id",
                    fix="add them to sources.yaml",
                )

    # ------------------------------------------------------------------ overlays
    def with_layers(self, layers: Sequence[Layer], provider: Provider | None = None) -> Dataset:
        """Apply imports (oldest first); store layers (``frames=None``) read through ``provider``."""
        if not layers:
            return self
        lazy = (
            self.tables if isinstance(self.tables, LazyTables) else LazyTables(self.tables, validate=_check)
        )
        srcs = dict(self.sources)
        for layer in layers:
            srcs.update({s.id: s for s in layer.sources})
        tags = [layer.tag for layer in layers]
        return replace(
            self,
            tables=lazy.with_layers(layers, provider),
            sources=srcs,
            version=chained_version(self.version, tags),
            overlays=(*self.overlays, *tags),
        )

    def with_vintage(self, frame: pd.DataFrame, source: Source, *, tag: str) -> Dataset:
        """Add production rows of a new vintage (cross-section-level priority by ``source``).

        Rows of ``source.id`` already in a cross-section the frame covers are replaced.
        """
        return self.with_layers([Layer("vintage", tag, (source,), {"production": frame})])

    def with_overlay(
        self, tables: Mapping[str, pd.DataFrame], sources: Iterable[Source], *, tag: str
    ) -> Dataset:
        """Row-level overrides: ``tables`` holds ``production`` and/or ``stage_shares`` rows."""
        return self.with_layers([Layer("overlay", tag, tuple(sources), dict(tables))])

    # ------------------------------------------------------------------ queries
    def rows(self, name: str, commodity: str) -> pd.DataFrame:
        """Rows of table ``name`` for one commodity id, imports applied (read lazily), unresolved."""
        return self._select(name, commodity).drop(columns=["_overlay"], errors="ignore").copy()

    def _select(self, name: str, commodity: str) -> pd.DataFrame:
        if isinstance(self.tables, LazyTables):
            return self.tables.select(name, commodity)
        frame = self.tables[name]
        return frame.loc[frame["commodity"] == commodity]

    def table(self, name: str) -> pd.DataFrame:
        """A copy of table ``name`` without internal columns."""
        if name not in self.tables:
            raise DataError(f"unknown table {name!r}", fix=f"use one of {', '.join(self.tables)}")
        return self.tables[name].drop(columns=["_overlay"], errors="ignore").copy()

    def source(self, source_id: str) -> Source:
        """The :class:`Source` for ``source_id``."""
        try:
            return self.sources[source_id]
        except KeyError:
            raise DataError(f"unknown source id {source_id!r}", fix="see `critmin data sources`") from None

    def production(
        self,
        commodity: str,
        stage: Stage | str | None = None,
        year: int | None = None,
        measure: str = "production",
        *,
        all_vintages: bool = False,
    ) -> pd.DataFrame:
        """Rows of the production table for one commodity, resolved to one source per section.

        With ``all_vintages=False`` each (commodity, stage, measure, year) cross-section comes
        from its highest-priority source only, then overlays are applied row by row. ``stage``
        defaults to all stages; ``year=None`` keeps every year.
        """
        c = registry().get(commodity)
        df = self._select("production", c.id)
        mask = df["measure"] == measure
        if stage is not None:
            st = Stage(stage)
            if not c.has_stage(st):
                raise DataError(
                    f"commodity {c.id!r} has no stage {st.value!r}",
                    column="stage",
                    fix=f"use one of {', '.join(s.value for s in c.stages)}",
                )
            mask &= df["stage"] == st.value
        if year is not None:
            mask &= df["year"] == int(year)
        sel = df.loc[mask]
        if all_vintages:
            return sel.drop(columns=["_overlay"], errors="ignore").reset_index(drop=True)
        return self._resolve(sel)

    def _priority(self, ids: pd.Series) -> pd.Series:
        pri = {k: s.priority for k, s in self.sources.items()}
        return ids.map(pri).fillna(0).astype(int)

    def _resolve(self, sel: pd.DataFrame) -> pd.DataFrame:
        overlay = sel["_overlay"].fillna(False).astype(bool) if "_overlay" in sel else None
        base = sel if overlay is None else sel.loc[~overlay]
        base = base.reset_index(drop=True)
        base = base.assign(_p=self._priority(base["source_id"]), _pos=np.arange(len(base)))
        best = base.groupby(SECTION_KEY)["_p"].transform("max")
        base = base.loc[base["_p"] == best]
        # Equal priority from two sources in one section: keep the higher vintage.
        vbest = base.groupby(SECTION_KEY)["vintage"].transform("max")
        base = base.loc[base["vintage"] == vbest]
        # Still two sources (equal priority and vintage): the one applied last wins the section.
        last = base.loc[base.groupby(SECTION_KEY)["_pos"].idxmax(), [*SECTION_KEY, "source_id"]]
        keep = base[[*SECTION_KEY, "source_id"]].merge(last, how="left", indicator=True)["_merge"]
        base = base.loc[(keep == "both").to_numpy()].drop(columns=["_p", "_pos"])
        if overlay is not None and overlay.any():
            base = _apply_overlay(base, sel.loc[overlay])
        out = base.drop(columns=["_overlay"], errors="ignore")
        return out.sort_values(["stage", "year", "country"]).reset_index(drop=True)

    def shares(
        self, commodity: str, stage: Stage | str, year: int, measure: str = "production"
    ) -> pd.DataFrame:
        """Country rows of one cross-section with ``share`` of the world total, computed here.

        World total = the published ``WLD`` row where present, else the sum of every row
        (countries and the "Other countries" residual) when there are at least two; a lone
        country figure (e.g. China's magnet output) gives NaN shares, not 100%. Aggregate
        rows (``WLD``) are dropped from the result; ``OTH`` is kept (it counts in the total,
        but is not a country).
        """
        rows = self.production(commodity, stage, year, measure)
        return (
            with_shares(rows).sort_values("share", ascending=False, na_position="last").reset_index(drop=True)
        )

    def resolved(self, measure: str = "production") -> pd.DataFrame:
        """The whole production table for ``measure``, resolved to one source per cross-section."""
        df = self.tables["production"]
        return self._resolve(df.loc[df["measure"] == measure])

    def latest_year(self, commodity: str, stage: Stage | str, measure: str = "production") -> int | None:
        """Latest year with a non-missing value for this commodity/stage/measure."""
        df = self.production(commodity, stage, None, measure)
        df = df.loc[df["value"].notna()]
        return int(df["year"].max()) if len(df) else None

    def stage_shares(self, commodity: str, stage: Stage | str, year: int | None = None) -> pd.DataFrame:
        """Published shares for a stage: one coherent set (one source, one year).

        Among non-projection rows (of ``year`` if given), candidate sets are one source x year,
        ranked: published before assumption; not flagged weak (low/unverified/superseded)
        before weak; recent (within ``RECENT_YEARS`` of the newest) before old; complete (two
        or more rows summing to >= 0.95 with the residual) before a single statement; then
        newest, then widest.
        """
        c = registry().get(commodity)
        st = Stage(stage).value
        df = self._select("stage_shares", c.id)
        df = df.loc[(df["stage"] == st) & ~df["is_projection"].astype(bool)]
        if year is not None:
            df = df.loc[df["year"] == int(year)]
        if df.empty:
            return df.drop(columns=["_overlay"], errors="ignore")
        # Rank candidate sets (one source x year): trustworthy first, then complete (sums to
        # ~1 incl. the rest-of-world residual), then newest, then widest coverage. Assumptions
        # only where nothing published is left.
        weak = df["quality"].fillna("").str.contains("low|unverified|weak|superseded", case=False)
        cand = (
            df.assign(_weak=weak)
            .groupby(["source_id", "year"])
            .agg(
                total=("share", "sum"),
                n=("share", "size"),
                weak=("_weak", "any"),
                assumed=("is_assumption", "all"),
            )
        )
        cand["complete"] = (cand["total"] >= 0.95) & (cand["n"] >= 2)
        cand = cand.reset_index()
        cand["recent"] = cand["year"] >= cand["year"].max() - RECENT_YEARS
        cand = cand.sort_values(
            ["assumed", "weak", "recent", "complete", "year", "total", "n"],
            ascending=[True, True, False, False, False, False, False],
        )
        best, best_year = cand.iloc[0]["source_id"], cand.iloc[0]["year"]
        df = df.loc[df["year"] == best_year]
        out = df.loc[df["source_id"] == best].drop(columns=["_overlay"], errors="ignore")
        return out.sort_values("share", ascending=False).reset_index(drop=True)

    def summary(self) -> dict[str, Any]:
        """Row counts per table, number of sources, version: for ``critmin data info``."""
        return {
            "data_version": self.version,
            "tables": {k: len(v) for k, v in self.tables.items()},
            "sources": len(self.sources),
            "overlays": list(self.overlays),
        }


def with_shares(rows: pd.DataFrame) -> pd.DataFrame:
    """Add ``share`` (of the world total) to resolved production rows of any number of sections.

    Per cross-section (commodity x stage x measure x year): world total = the ``WLD`` value
    (plus the US figure where the world row's note says it excludes U.S. production), else the
    sum of all rows when there are at least two (a lone country figure defines no world total:
    NaN). ``WLD`` rows are dropped from the result; ``OTH``/``ROW`` residuals are kept. Vectorised.
    """
    if rows.empty:
        return rows.assign(share=pd.Series(dtype=float))
    is_world = rows["country"] == WORLD
    world = rows.loc[is_world & rows["value"].notna()].drop_duplicates(SECTION_KEY)
    note = world["note"].fillna("").str.lower()
    excl_us = note.str.contains("exclud") & note.str.contains(r"u\.s\.|united states", regex=True)
    world = world.assign(_excl_us=excl_us.to_numpy())
    parts = rows.loc[~is_world]
    g = parts.groupby(SECTION_KEY)
    sums = g["value"].sum(min_count=1).rename("_sum")
    counts = g["value"].size().rename("_n")
    us = parts.loc[parts["country"] == "USA"].groupby(SECTION_KEY)["value"].sum(min_count=1).rename("_us")
    totals = pd.concat([sums, counts, us], axis=1)
    wv = world.set_index(SECTION_KEY)[["value", "_excl_us"]].rename(columns={"value": "_world"})
    totals = totals.join(wv, how="left")
    add_us = totals["_excl_us"].fillna(False).astype(bool) & totals["_us"].notna()
    total = totals["_world"] + totals["_us"].where(add_us, 0.0)
    fallback = totals["_sum"].where(totals["_n"] >= 2)
    totals["_total"] = total.fillna(fallback)
    out = parts.join(totals["_total"], on=SECTION_KEY)
    share = out["value"] / out["_total"].where(out["_total"] > 0)
    return out.drop(columns=["_total"]).assign(share=share)


def _apply_overlay(base: pd.DataFrame, over: pd.DataFrame) -> pd.DataFrame:
    """Row-level override of ``base`` by ``over``; adjust world totals the overlay left alone."""
    over = over.drop_duplicates(PRODUCTION_KEY, keep="last")
    merged = base.merge(
        over[[*PRODUCTION_KEY, "value"]], on=PRODUCTION_KEY, how="left", suffixes=("", "_new")
    )
    delta = (merged["value_new"] - merged["value"].fillna(0)).where(merged["value_new"].notna(), 0.0)
    merged["_delta"] = delta.where(merged["country"] != WORLD, 0.0)
    # New keys (not in base) add their whole value to the world total.
    new_keys = over.merge(base[PRODUCTION_KEY], on=PRODUCTION_KEY, how="left", indicator=True)
    new_rows = over.loc[(new_keys["_merge"] == "left_only").to_numpy()]
    add = new_rows.loc[new_rows["country"] != WORLD].groupby(SECTION_KEY)["value"].sum()
    section_delta = merged.groupby(SECTION_KEY)["_delta"].sum().add(add, fill_value=0.0)
    overlaid_world = set(map(tuple, over.loc[over["country"] == WORLD, SECTION_KEY].itertuples(index=False)))
    kept = base.merge(over[PRODUCTION_KEY], on=PRODUCTION_KEY, how="left", indicator=True)
    base = base.loc[(kept["_merge"] == "left_only").to_numpy()].copy()
    is_world = base["country"] == WORLD
    for idx in base.index[is_world]:
        key = tuple(base.loc[idx, SECTION_KEY])
        d = float(section_delta.get(key, 0.0))
        current = float(base.loc[idx, "value"])
        if key not in overlaid_world and d != 0.0 and not np.isnan(current):
            base.at[idx, "value"] = current + d
            base.at[idx, "qualifier"] = "adjusted"
            base.at[idx, "note"] = "world total adjusted for user overlay rows"
    return pd.concat([base, over], ignore_index=True)


def _check(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return validate_table(frame, name)


@cache
def _bundled() -> Dataset:
    root = resources.files("critmin.data").joinpath("bundled")
    return Dataset.from_dir(Path(str(root)))


def country_only(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows whose ``country`` is one economy (drops WLD, OTH, ROW, groups)."""
    return frame.loc[frame["country"].map(is_country)]


__all__ = [
    "OTHER",
    "SECTION_KEY",
    "WORLD",
    "Dataset",
    "chained_version",
    "country_only",
    "dump_sources",
    "load_sources",
    "read_table_csv",
]
