"""``critmin summary``: the readable exposure summary (what ``make demo`` prints)."""

from __future__ import annotations

import pandas as pd
import typer
from rich.table import Table

from critmin.cli._output import Format, console, emit_json, records
from critmin.data.load import load_dataset
from critmin.metrics.stages import import_reliance, stage_concentration
from critmin.model.commodities import registry
from critmin.model.countries import country_name, to_iso3


def summary(
    commodity: str = typer.Option("rare_earths", help="Commodity id."),
    importer: str = typer.Option("USA", help="Importing country for net import reliance."),
    year: int | None = typer.Option(None, help="Year (default: latest with data at each stage)."),
    fmt: Format = typer.Option(Format.TABLE, "--format", "-f", help="Output format."),
) -> None:
    """Stage-by-stage country concentration and import reliance, with sources."""
    ds = load_dataset()
    c = registry().get(commodity)
    imp = to_iso3(importer)
    stages = stage_concentration(ds, c.id, year)
    nir = import_reliance(ds, c.id, imp)
    if fmt is Format.JSON:
        emit_json(
            {
                "commodity": c.id,
                "importer": imp,
                "data_version": ds.version,
                "stages": records(stages),
                "net_import_reliance": records(nir.head(3)),
            }
        )
        return
    if fmt is Format.CSV:
        print(stages.to_csv(index=False), end="")
        return
    console.print(f"[bold]{c.name}[/] - exposure summary   (critmin data_version {ds.version})")
    t = Table(title="Country concentration by stage", title_justify="left")
    for col in ("stage", "year", "from", "largest supplier", "share", "top-3", "HHI", "sources"):
        t.add_column(col, overflow="fold")
    for r in stages.itertuples(index=False):
        t.add_row(
            str(r.stage),
            str(r.year),
            str(r.basis_kind),
            country_name(str(r.top1_country)) if r.top1_country else "-",
            _pct(r.top1_share),
            _pct(r.top3_share),
            f"{r.hhi:,.0f}" if r.hhi is not None and not pd.isna(r.hhi) else "-",
            ", ".join(r.source_ids),
        )
    console.print(t)
    console.print(
        "HHI on the 0-10,000 scale (>2,500 = highly concentrated). 'published share' = "
        "stage shares as published; 'tonnage' = computed from production tables."
    )
    if len(nir):
        r0 = nir.iloc[0]
        console.print(
            f"\n[bold]{country_name(imp)} net import reliance[/] ({int(r0['year'])}): "
            f"{r0['as_printed']}% ({_bound(str(r0['bound']))}) - source {r0['source_id']}"
        )
    else:
        console.print(f"\nNo published net import reliance for {country_name(imp)}.")
    used = sorted({s for ids in stages["source_ids"] for s in ids} | set(nir.head(1)["source_id"]))
    console.print("\n[bold]Sources[/]")
    for sid in used:
        s = ds.source(sid)
        ref = s.doi and f"doi:{s.doi}" or s.url or ""
        console.print(
            f"  {sid}: {s.publisher}, {s.title} ({s.year or 'n.d.'}) {ref} [{s.licence}]",
            highlight=False,
            soft_wrap=True,
        )


def _pct(v: object) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "-"
    return f"{float(v):.0%}" if float(v) >= 0.1 else f"{float(v):.1%}"  # type: ignore[arg-type]


def _bound(b: str) -> str:
    return {
        "eq": "as published",
        "gt": "lower bound: more than this",
        "lt": "upper bound",
        "net_exporter": "net exporter",
        "not_available": "not available",
    }.get(b, b)
