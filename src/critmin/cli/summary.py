"""``critmin summary``: the readable exposure summary (what ``make demo`` prints)."""

from __future__ import annotations

import math

import typer
from rich.table import Table

from critmin.cli._output import Format, console, emit_json, records
from critmin.data.dataset import Dataset
from critmin.data.load import load_dataset
from critmin.metrics.stages import import_reliance, stage_concentration
from critmin.model.commodities import registry
from critmin.model.countries import country_name, to_iso3

_BOUND_TEXT = {
    "eq": "as published",
    "gt": "published as a lower bound",
    "lt": "published as an upper bound",
    "net_exporter": "net exporter",
    "not_available": "not available",
}


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
                "net_import_reliance": records(
                    nir.loc[nir["year"] == nir["year"].max()] if len(nir) else nir
                ),
            }
        )
        return
    if fmt is Format.CSV:
        print(stages.to_csv(index=False), end="")
        return
    refs: dict[str, int] = {}

    def ref(ids: list[str]) -> str:
        return ",".join(f"[{refs.setdefault(i, len(refs) + 1)}]" for i in ids)

    console.print(f"[bold]{c.name}[/]: exposure summary  (critmin data_version {ds.version})")
    t = Table(title="Who supplies each stage", title_justify="left")
    for col, just in (
        ("stage", "left"),
        ("year", "right"),
        ("largest supplier", "left"),
        ("share", "right"),
        ("top-3", "right"),
        ("HHI", "right"),
        ("basis", "left"),
        ("src", "left"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in stages.to_dict(orient="records"):
        top = str(r["top1_country"]) if r["top1_country"] else None
        t.add_row(
            str(r["stage"]),
            str(r["year"]),
            f"{country_name(top)} ({top})" if top else "-",
            _pct(r["top1_share"]),
            _pct(r["top3_share"]),
            "-" if _missing(r["hhi"]) else f"{float(r['hhi']):,.0f}",
            str(r["basis_kind"]),
            ref(list(r["source_ids"])),
        )
    console.print(t)
    console.print(
        "HHI: Herfindahl-Hirschman index, 0-10,000 (above 2,500 = highly concentrated). basis: "
        "'tonnage' = computed from production tables; 'published share' = shares as published; "
        "'assumption' = labelled critmin assumption (see its rationale with `critmin data sources`).",
        style="dim",
    )
    _print_nir(ds, nir, imp, ref)
    console.print("\n[bold]Sources[/]")
    for sid, n in refs.items():
        s = ds.source(sid)
        where = (
            f"doi:{s.doi}."
            if s.doi
            else (f"{s.url}." if s.url else "Rationale: `critmin data sources --kind assumption`.")
        )
        console.print(
            f" [{n}] {s.publisher}, {s.title} ({s.year or 'n.d.'}). {where} {s.licence}.",
            highlight=False,
            soft_wrap=True,
        )


def _print_nir(ds: Dataset, nir: object, imp: str, ref: typer.models.Any) -> None:
    import pandas as pd

    assert isinstance(nir, pd.DataFrame)
    if nir.empty:
        console.print(f"\nNo published net import reliance for {country_name(imp)}.")
        return
    latest = nir.loc[nir["year"] == nir["year"].max()]
    latest = latest.loc[latest["vintage"] == latest["vintage"].max()]
    console.print(f"\n[bold]{country_name(imp)} net import reliance, {int(latest['year'].iloc[0])}[/]")
    for r in latest.to_dict(orient="records"):
        what = str(r["note"] or "").split(";")[0]
        printed = "E" if r["bound"] == "net_exporter" else f"{r['as_printed']}%"
        console.print(
            f"  {printed:>6}  {_BOUND_TEXT.get(str(r['bound']), r['bound'])}  {what} {ref([r['source_id']])}",
            highlight=False,
        )


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _pct(v: object) -> str:
    if _missing(v):
        return "-"
    f = float(v)  # type: ignore[arg-type]
    return f"{f:.0%}" if f >= 0.1 else f"{f:.1%}"
