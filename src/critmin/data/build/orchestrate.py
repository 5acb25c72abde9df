"""Build the bundled dataset from the maintainers' raw files (``../shared/data/raw``).

This is for maintainers refreshing the data; users never need it (the package ships the
result). Steps: every converter turns its raw files into rows of a schema table plus Sources;
tables are concatenated, validated, sorted (so the output and its hash are deterministic) and
written with ``sources.yaml`` into a temporary folder, loaded back as a :class:`Dataset` as a
final check, and only then moved over the old bundled folder. A failure leaves the old data
untouched.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from critmin import yamlio
from critmin.atomic import current_umask
from critmin.data.catalogue import Source
from critmin.data.dataset import Dataset, dump_sources, load_sources, validate_table
from critmin.data.schemas import TABLES
from critmin.errors import DataError
from critmin.model.commodities import registry

Parts = dict[str, tuple[pd.DataFrame, list[Source]]]

#: Sort keys per table so that rebuilding from the same raw files gives byte-identical CSVs.
SORT_KEYS: dict[str, list[str]] = {
    "production": ["commodity", "stage", "measure", "year", "vintage", "source_id", "country", "series"],
    "stage_shares": ["commodity", "stage", "year", "source_id", "country"],
    "import_reliance": ["importer", "commodity", "year", "vintage", "source_id"],
    "salient": ["country", "commodity", "item", "year", "vintage", "source_id"],
    "import_sources": ["importer", "commodity", "period", "vintage", "partner"],
    "wgi": ["country", "year", "indicator"],
    "projects": ["country", "stage", "project", "company"],
    "prices": ["product", "market", "date", "source_id"],
    "intensities": ["category", "item", "source_id"],
    "end_uses": ["scope", "end_use", "year", "source_id"],
    "policy_events": ["date", "actor", "instrument"],
}


#: Salient files whose USGS code covers several registry commodities: the one the US
#: statistics describe (None of these is a guess at a number; only which id labels the rows).
SALIENT_OWNER: dict[str, str] = {
    "feore": "iron_ore",
    "feste": "steel",
    "mgcomp": "magnesium_compounds",
    "mica": "mica_scrap_flake",
    "potas": "potash",
    "simet": "silicon",
    "timin": "titanium_mineral_concentrates",
    "scandi": "scandium",
    "yttri": "yttrium",
}


def _usgs_world(raw: Path) -> Parts:
    from critmin.data.importers.usgs_mcs import read_world_csv

    frames: list[pd.DataFrame] = []
    sources: dict[str, Source] = {}
    for folder in ("usgs_mcs2023/world", "usgs_mcs2024/world"):
        for f in sorted((raw / folder).glob("*.csv")):
            res = read_world_csv(f)
            frames.append(res.frame)
            sources[res.source.id] = res.source
    return {"production": (pd.concat(frames, ignore_index=True), list(sources.values()))}


def _usgs_trends(raw: Path) -> Parts:
    from critmin.data.importers import usgs_trends as t

    nir: list[pd.DataFrame] = []
    salient: list[pd.DataFrame] = []
    for f in sorted(raw.glob("usgs_mcs20*/trends/MCS20*_Fig2_Net_Import_Reliance.csv")):
        nir.append(t.read_nir_figure(f))
    for f in sorted(raw.glob("usgs_mcs20*/trends/MCS20*_T5_Critical_Minerals_Salient.csv")):
        salient.append(t.read_critical_salient_table(f))
    reg = registry()
    for f in sorted(raw.glob("usgs_mcs20*/salient/*_salient.csv")):
        m = re.search(r"mcs20\d\d-?([a-z]+)", f.name.lower())
        code = m.group(1) if m else ""
        owner = SALIENT_OWNER.get(code)
        found = [reg.get(owner)] if owner else reg.by_usgs_code(code)
        if len(found) == 1:  # files mixing several commodities (abrasives, clays, PGMs) are skipped
            salient.append(t.read_salient_csv(f, found[0].id))
    return {
        "import_reliance": (pd.concat(nir, ignore_index=True), []),
        "salient": (pd.concat(salient, ignore_index=True), []),
    }


def _converters() -> list[Callable[[Path], Parts]]:
    from critmin.data.build.bgs import build_bgs
    from critmin.data.build.transcribed import build_transcribed, build_wgi
    from critmin.data.build.usgs_transcribed import build_usgs_transcribed

    return [_usgs_world, _usgs_trends, build_usgs_transcribed, build_bgs, build_transcribed, build_wgi]


def apply_corrections(tables: dict[str, pd.DataFrame], path: Path | None = None) -> list[str]:
    """Apply ``corrections.yaml`` in place; each must match exactly one row holding the printed value.

    Returns the ids applied. A correction that no longer matches (the raw data changed) is an
    error, so stale corrections cannot silently linger.
    """

    p = path or Path(__file__).with_name("corrections.yaml")
    applied: list[str] = []
    for c in (yamlio.safe_load(p.read_text("utf-8")) or {}).get("corrections", []):
        df = tables[c["table"]]
        mask = pd.Series(True, index=df.index)
        for col, val in c["match"].items():
            mask &= df[col] == val
        mask &= df[c["field"]] == c["printed"]
        if int(mask.sum()) != 1:
            raise DataError(
                f"correction {c['id']!r} matches {int(mask.sum())} rows, expected 1",
                path=p,
                fix="update or remove the correction",
            )
        df.loc[mask, c["field"]] = c["corrected"]
        old = df.loc[mask, "note"].fillna("").iloc[0]
        df.loc[mask, "note"] = (old + "; " if old else "") + (
            f"corrected by critmin ({c['id']}): printed {c['printed']}"
        )
        applied.append(str(c["id"]))
    return applied


#: Sources no raw file provides (cited by parameters.yaml, history.yaml, chain specs).
CURATED_SOURCES = Path(__file__).with_name("curated") / "sources.yaml"


def collect(raw_dir: Path) -> tuple[dict[str, pd.DataFrame], dict[str, Source]]:
    """Run every converter over ``raw_dir``; return validated, sorted tables and sources."""
    pieces: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    sources: dict[str, Source] = {}
    for conv in _converters():
        for name, (frame, srcs) in conv(raw_dir).items():
            if name not in pieces:
                raise DataError(f"converter {conv.__name__} returned unknown table {name!r}")
            pieces[name].append(frame)
            for s in srcs:
                if s.id in sources and sources[s.id] != s:
                    # Same page cited by two files: keep the first description.
                    continue
                sources[s.id] = s
    # sources cited by the package's own files (parameters, history, chain specs), kept in the
    # package beside the curated rows so the build reproduces sources.yaml
    for sid, s in load_sources(CURATED_SOURCES).items():
        sources.setdefault(sid, s)
    merged: dict[str, pd.DataFrame] = {}
    for name, frames in pieces.items():
        if not frames:
            raise DataError(f"no converter produced table {name!r}", fix="check the raw folder")
        merged[name] = pd.concat(frames, ignore_index=True)
    apply_corrections(merged)
    tables: dict[str, pd.DataFrame] = {}
    for name, raw_df in merged.items():
        df = validate_table(raw_df, name)
        keys = [k for k in SORT_KEYS[name] if k in df.columns]
        tables[name] = df.sort_values(keys, kind="mergesort").reset_index(drop=True)
    _check_consistency(tables, sources)
    return tables, sources


def _check_consistency(tables: Mapping[str, pd.DataFrame], sources: Mapping[str, Source]) -> None:
    for name, df in tables.items():
        missing = sorted(set(df["source_id"]) - set(sources))
        if missing:
            raise DataError(f"table {name!r} cites sources with no record: {missing[:5]}")
        if "commodity" in df.columns:
            unknown = sorted(set(df["commodity"]) - set(registry().ids))
            if unknown:
                raise DataError(f"table {name!r} has commodities not in the registry: {unknown[:5]}")


def write_dataset(
    tables: Mapping[str, pd.DataFrame], sources: Mapping[str, Source], out_dir: Path
) -> Dataset:
    """Write tables + sources to ``out_dir`` atomically (temp folder, check, then swap)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".bundled-", dir=out_dir.parent))
    tmp.chmod(0o777 & ~current_umask())  # mkdtemp gives 0700; the folder is renamed into place
    try:
        for name, (fname, _) in TABLES.items():
            tables[name].to_csv(tmp / fname, index=False, lineterminator="\n", float_format="%.10g")
        (tmp / "sources.yaml").write_text(dump_sources(sources), encoding="utf-8")
        Dataset.from_dir(tmp)  # the final check: reload exactly what users will load
        if out_dir.exists():
            old = out_dir.with_name(out_dir.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Dataset.from_dir(out_dir)


def build_dataset(raw_dir: Path, out_dir: Path) -> Dataset:
    """Collect from ``raw_dir`` and write to ``out_dir``; returns the reloaded dataset."""
    tables, sources = collect(Path(raw_dir))
    return write_dataset(tables, sources, Path(out_dir))
