"""``critmin data ...``: inspect, import and validate data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from critmin.cli._output import Format, console, emit_frame, emit_json
from critmin.cli.choices import format_option, parse_choice
from critmin.data.catalogue import SOURCE_KINDS
from critmin.data.dataset import Dataset
from critmin.data.load import load_dataset
from critmin.data.schemas import TABLES
from critmin.errors import DataError
from critmin.infile import check_regular, csv_records, read_input
from critmin.model.commodities import registry
from critmin.model.countries import country_name, to_iso3
from critmin.model.stages import Stage, parse_stage
from critmin.store.duckdb_store import Store

data_app = typer.Typer(help="Inspect, import and validate data.", no_args_is_help=True)
import_app = typer.Typer(
    help="Import a file into the store (~/.critmin or $CRITMIN_HOME).", no_args_is_help=True
)
data_app.add_typer(import_app, name="import")

FORMAT = format_option()
#: ``--measure`` values of the production table.
MEASURES = ("production", "reserves", "capacity")
#: ``critmin data validate --kind`` values besides the table names.
VALIDATE_KINDS = ("auto", "usgs-mcs", "overlay", "wgi")


@data_app.command("info")
def info(fmt: Format = FORMAT) -> None:
    """Dataset version, tables and row counts, sources, imports applied."""
    ds = load_dataset()
    s = ds.summary()
    if fmt is Format.JSON:
        emit_json(s)
        return
    frame = pd.DataFrame({"table": list(s["tables"]), "rows": list(s["tables"].values())})
    emit_frame(
        frame, fmt, title="critmin dataset", meta={"data_version": ds.version, "sources": s["sources"]}
    )
    if ds.overlays:
        console.print("imports applied: " + ", ".join(ds.overlays))


@data_app.command("sources")
def sources(
    fmt: Format = FORMAT,
    kind: str | None = typer.Option(None, help=f"Only this kind ({', '.join(SOURCE_KINDS)})."),
) -> None:
    """Table of sources with publisher, year, DOI/URL and licence."""
    if kind is not None:
        kind = parse_choice(kind, SOURCE_KINDS, option="--kind", what="source kind")
    ds = load_dataset()
    rows = [s.model_dump() for s in ds.sources.values() if kind is None or s.kind == kind]
    frame = pd.DataFrame(rows)
    cols = [
        "id",
        "kind",
        "publisher",
        "title",
        "year",
        "doi",
        "url",
        "licence",
        "via",
        "quality",
        "rationale",
    ]
    if fmt is Format.TABLE:
        cols = (
            ["id", "title", "rationale"]
            if kind == "assumption"
            else ["id", "kind", "publisher", "year", "licence"]
        )
        frame = frame.sort_values(["kind", "id"]) if len(frame) else frame
    emit_frame(frame[cols] if len(frame) else frame, fmt, title="Sources", meta={"data_version": ds.version})


@data_app.command("commodities")
def commodities(fmt: Format = FORMAT) -> None:
    """The commodity registry: id, name, unit, basis and stage chain."""
    rows = [
        {
            "id": c.id,
            "name": c.name,
            "kind": c.kind,
            "unit": c.unit,
            "basis": c.basis,
            "stages": " > ".join(s.value for s in c.stages),
        }
        for c in registry().commodities
    ]
    emit_frame(pd.DataFrame(rows), fmt, title="Commodities")


@data_app.command("show")
def show(
    table: str = typer.Argument(..., help=f"Table: {', '.join(TABLES)}."),
    commodity: str | None = typer.Option(None, help="Commodity id, e.g. rare_earths."),
    stage: str | None = typer.Option(
        None, help=f"Stage (production, stage_shares): {', '.join(s.value for s in Stage)}."
    ),
    year: int | None = typer.Option(None, help="Year; production defaults to the latest."),
    measure: str = typer.Option("production", help="production, reserves or capacity (production table)."),
    country: str | None = typer.Option(None, help="Only this country (name or ISO3)."),
    all_vintages: bool = typer.Option(False, "--all-vintages", help="Keep every source's rows, unresolved."),
    fmt: Format = FORMAT,
) -> None:
    """Show rows of a table. For production, shares of the world total are computed here."""
    table = parse_choice(table, TABLES, option="table", what="table")
    st = parse_stage(stage, what="--stage") if stage is not None else None
    measure = parse_choice(measure, MEASURES, option="--measure", what="measure")
    ds = load_dataset()
    if table == "production":
        if commodity is None:
            raise DataError(
                "--commodity is required for the production table", fix="e.g. --commodity rare_earths"
            )
        _show_production(ds, commodity, st, year, measure, country, all_vintages, fmt)
        return
    frame = ds.table(table)
    if commodity is not None and "commodity" in frame:
        frame = frame.loc[frame["commodity"] == registry().get(commodity).id]
    if st is not None and "stage" in frame:
        frame = frame.loc[frame["stage"] == st.value]
    if year is not None and "year" in frame:
        frame = frame.loc[frame["year"].astype(str) == str(year)]
    if country is not None:
        code = to_iso3(country)
        col = next((c for c in ("country", "importer") if c in frame), None)
        if col:
            frame = frame.loc[frame[col] == code]
    emit_frame(
        frame.reset_index(drop=True), fmt, title=table, meta={"table": table, "data_version": ds.version}
    )


def _show_production(
    ds: Dataset,
    commodity: str,
    stage: Stage | None,
    year: int | None,
    measure: str,
    country: str | None,
    all_vintages: bool,
    fmt: Format,
) -> None:
    c = registry().get(commodity)
    st = stage or c.stages[0]
    if year is None:
        year = ds.latest_year(c.id, st, measure)
        if year is None:
            raise DataError(
                f"no {measure} data for {c.id} at stage {st.value}", fix="try another --stage or --measure"
            )
    if all_vintages:
        frame = ds.production(c.id, st, year, measure, all_vintages=True)
        frame = frame.assign(share=float("nan"))
        total = None
    else:
        frame = ds.shares(c.id, st, year, measure)
        world = ds.production(c.id, st, year, measure)
        w = world.loc[world["country"] == "WLD", "value"]
        total = float(w.iloc[0]) if len(w) and not pd.isna(w.iloc[0]) else float(frame["value"].sum())
    if country is not None:
        frame = frame.loc[frame["country"] == to_iso3(country)]
    frame = frame.assign(country_name=frame["country"].map(country_name))
    cols = [
        "country",
        "country_name",
        "value",
        "unit",
        "share",
        "qualifier",
        "estimated",
        "year",
        "source_id",
        "note",
    ]
    meta = {
        "commodity": c.id,
        "stage": st.value,
        "measure": measure,
        "year": year,
        "unit": c.unit,
        "basis": c.basis_at(st),
        "world_total": total,
        "data_version": ds.version,
    }
    emit_frame(
        frame[cols].reset_index(drop=True), fmt, title=f"{c.name}: {st.value} {measure} {year}", meta=meta
    )


@import_app.command("usgs-mcs")
def import_usgs(
    path: Path = typer.Argument(..., help="A USGS MCS data-release world CSV."),
    code: str | None = typer.Option(None, help="USGS commodity code if the file name lacks it (e.g. raree)."),
) -> None:
    """Import a USGS MCS world CSV as a new vintage (e.g. a newer data release).

    A cross-section the file covers replaces the rows of the same source (the same edition)
    already there, bundled or imported: re-importing an edition never counts it twice.
    """
    from critmin.data.load import import_usgs_mcs

    done = import_usgs_mcs(check_regular(path, what="USGS world CSV"), code=code)
    rec = done.record
    console.print(f"imported {rec.n_rows} rows from {path} as {rec.import_id} (source {done.source_ids[0]})")
    console.print(f"data_version: {done.data_version}")


@import_app.command("overlay")
def import_overlay(
    path: Path = typer.Argument(..., help="A tidy overlay CSV (see README)."),
) -> None:
    """Import a tidy CSV of your own figures (row-level overrides, with your sources)."""
    from critmin.data.load import import_overlay as commit_overlay

    done = commit_overlay(check_regular(path, what="overlay CSV"))
    console.print(f"imported {done.record.n_rows} rows from {path} as {done.record.import_id}")
    console.print(f"data_version: {done.data_version}")


@data_app.command("imports")
def imports(fmt: Format = FORMAT) -> None:
    """List the imports in the store (read-only: works while another process imports)."""
    recs = Store.open().imports()
    frame = pd.DataFrame(
        [r.__dict__ for r in recs], columns=["import_id", "kind", "path", "sha256", "imported_at", "n_rows"]
    )
    emit_frame(frame, fmt, title="Imports")


@data_app.command("remove")
def remove(import_id: str = typer.Argument(..., help="An id from `critmin data imports`.")) -> None:
    """Remove one import from the store."""
    if not Store.open().remove_import(import_id):
        raise DataError(f"no import {import_id!r}", fix="see `critmin data imports`")
    console.print(f"removed {import_id}")


@data_app.command("validate")
def validate(
    path: Path = typer.Argument(..., help="A file to check."),
    kind: str = typer.Option("auto", help="auto, usgs-mcs, overlay, wgi, or a table name."),
) -> None:
    """Check a file without importing it: prints 'OK' and the row count, or the first error."""
    from critmin.data.dataset import read_table_csv

    kind = parse_choice(kind, dict.fromkeys((*VALIDATE_KINDS, *TABLES)), option="--kind", what="kind")
    check_regular(path, what="file to validate")
    k = kind if kind != "auto" else _sniff(path)
    if k == "usgs-mcs":
        from critmin.data.importers.usgs_mcs import read_world_csv

        n = len(read_world_csv(path).frame)
    elif k == "overlay":
        from critmin.data.importers.overlay import read_overlay_csv

        n = read_overlay_csv(path, load_dataset().sources).n_rows
    elif k == "wgi":
        from critmin.data.importers.wgi import read_wgi_csv

        n = len(read_wgi_csv(path)[0])
    elif k in TABLES:
        n = len(read_table_csv(path, k))
    else:
        raise DataError(
            f"unknown kind {k!r}", path=path, fix="use --kind usgs-mcs, overlay, wgi or a table name"
        )
    console.print(f"OK: {path} is a valid {k} file ({n} rows)")


def _sniff(path: Path) -> str:
    text = read_input(path, "csv", what="file to validate").text()
    head = next(csv_records(text[: text.find("\n") + 1 or None], path), (1, []))[1]
    cols = [c.strip().lower() for c in head]
    if cols[:3] == ["source", "country", "type"]:
        return "usgs-mcs"
    if "indicator" in cols and "estimate" in cols:
        return "wgi"
    if {"commodity", "measure", "value", "source_id"} <= set(cols):
        return "overlay"
    for name, (_, schema) in TABLES.items():
        if set(schema.to_schema().columns) == set(cols):
            return name
    raise DataError(
        "cannot tell what kind of file this is",
        path=path,
        line=1,
        fix="pass --kind usgs-mcs, overlay, wgi or a table name",
    )
