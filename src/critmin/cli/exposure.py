"""``critmin exposure`` (and its alias ``critmin summary``, what ``make demo`` prints)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import typer
from rich.table import Table

from critmin.cells import to_csv_text
from critmin.cli._output import Format, bold_lead, console, emit_json, err_console
from critmin.cli.choices import format_option
from critmin.data.dataset import Dataset
from critmin.data.load import load_dataset
from critmin.errors import DataError
from critmin.metrics.exposure import ExposureReport, StageGap, exposure
from critmin.model.commodities import registry
from critmin.model.countries import country_name, to_iso3
from critmin.report.tables import check_figure_path

_BOUND_TEXT = {
    "eq": "",
    "gt": "more than (published lower bound)",
    "lt": "less than (published upper bound)",
    "net_exporter": "net exporter",
    "not_available": "not available",
}


def exposure_cmd(
    commodity: str = typer.Option("rare_earths", help="Commodity id (see `critmin data commodities`)."),
    year: int | None = typer.Option(None, help="Year (default: latest with data at each stage)."),
    importer: str = typer.Option("USA", help="Importing country for net import reliance (name or ISO3)."),
    fmt: Format = format_option(),
    plot: Path | None = typer.Option(
        None, help="Write figures: stacked shares by stage to PLOT (.html or .png) and a world map beside it."
    ),
) -> None:
    """Stage-by-stage concentration (HHI, HHI_WGI, top-1/top-3, N-1) and net import reliance.

    Stages without country shares are named on stderr, each with the reason (what the bundled
    tables hold, and the nearest --year with shares). When nothing can be computed (no stage has
    shares and there is no import-reliance figure) the command says why and exits with code 2.
    """
    if plot is not None:
        check_figure_path(plot)
    ds = load_dataset()
    report = exposure(commodity, year, to_iso3(importer), dataset=ds)
    if report.empty:
        raise nothing_error(report, year, ds)
    for line in gap_lines(report.gaps, report.commodity, year):
        err_console.print(f"note: {line}", highlight=False, markup=False, soft_wrap=True)
    if plot is not None and not report.stages.empty:
        _plot(ds, report, plot)
    elif plot is not None:
        err_console.print(f"note: {plot} not written: no stage has country shares to plot", highlight=False)
    if fmt is Format.JSON:
        emit_json(report.to_dict())
    elif fmt is Format.CSV:
        print(to_csv_text(report.stages), end="")
    else:
        _render(report)


def gap_lines(gaps: tuple[StageGap, ...], commodity: str, year: int | None) -> list[str]:
    """One line per distinct reason: ``no component, end_use data for rare_earths: ...``."""
    groups: dict[tuple[str, int | None], list[str]] = {}
    for g in gaps:
        groups.setdefault((g.reason, g.try_year), []).append(g.stage)
    return [
        StageGap(", ".join(stages), reason, try_year).describe(commodity, year)
        for (reason, try_year), stages in groups.items()
    ]


def nothing_error(r: ExposureReport, year: int | None, ds: Dataset) -> DataError:
    """Why nothing could be computed, and what to try: a year with data, a group, an overlay."""
    when = f" in {year}" if year is not None else ""
    groups: dict[str, list[str]] = {}
    for g in r.gaps:
        groups.setdefault(g.reason, []).append(g.stage)
    why = "; ".join(f"{', '.join(stages)}: {reason}" for reason, stages in groups.items())
    years = [g.try_year for g in r.gaps if g.try_year is not None]
    if years:
        best = max(set(years), key=lambda y: (years.count(y), y))
        fix = f"try --year {best}, or leave --year out for the latest year at each stage"
    else:
        groups_with_data = [
            c.id
            for c in registry().commodities
            if r.commodity in c.members and any(len(ds.rows(t, c.id)) for t in ("production", "stage_shares"))
        ]
        fix = (
            f"{r.commodity} has data only as part of {', '.join(groups_with_data)}: "
            f"try --commodity {groups_with_data[0]}"
            if groups_with_data
            else "import your own figures as an overlay (`critmin data import overlay`, see the README)"
        )
    return DataError(
        f"no exposure figures for {r.commodity}{when}: no stage has country shares and there is no "
        f"net import reliance figure for {r.importer} ({why})",
        fix=fix,
    )


def _plot(ds: Dataset, report: ExposureReport, path: Path) -> None:
    from critmin.report.figures import choropleth, stage_bars, write_figure

    written = write_figure(stage_bars(ds, report.commodity), path)
    stage = report.chokepoint or str(report.stages["stage"].iloc[0])
    map_path = path.with_name(f"{path.stem}-map-{stage}{path.suffix}")
    written += write_figure(choropleth(ds, report.commodity, stage), map_path)
    console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _pct(v: object) -> str:
    if _missing(v):
        return "-"
    f = float(v)  # type: ignore[arg-type]
    return f"{f:.0%}" if f >= 0.1 else f"{f:.1%}"


def _render(r: ExposureReport) -> None:
    refs: dict[str, int] = {}

    def ref(ids: list[str]) -> str:
        return ",".join(f"[{refs.setdefault(i, len(refs) + 1)}]" for i in ids)

    console.print(bold_lead(r.commodity, f": exposure by stage  (critmin data_version {r.data_version})"))
    if not r.stages.empty:
        _render_stages(r, ref)
    n = r.nir
    if n is None:
        console.print(f"\nNo net import reliance figure for {country_name(r.importer)}.")
    else:
        if n.bound == "net_exporter":
            val = "net exporter"
        else:
            val = f"{n.value:.0%}" + (f" ({_BOUND_TEXT[n.bound]})" if _BOUND_TEXT.get(n.bound) else "")
        form = f", {n.form}" if n.form else ""
        how = "computed from salient statistics" if n.method == "computed" else "as published"
        pub = f"; USGS published {n.as_printed}%" if n.method == "computed" and n.as_printed else ""
        console.print()
        console.print(
            bold_lead(
                f"{country_name(r.importer)} net import reliance, {n.year}",
                f": {val}{form} ({how}{pub}) {ref([n.source_id])}",
            ),
            highlight=False,
        )
    console.print()
    console.print(bold_lead("Sources", ""))
    for sid, k in refs.items():
        console.print(f" [{k}] {r.sources.get(sid, sid)}", highlight=False, soft_wrap=True)


def _render_stages(r: ExposureReport, ref: Callable[[list[str]], str]) -> None:
    t = Table(title="Who supplies each stage", title_justify="left")
    cols = ("stage", "year", "largest supplier", "share", "top-3", "HHI", "HHI_WGI", "N-1", "basis", "src")
    for col in cols:
        t.add_column(col, justify="left" if col in {"stage", "largest supplier", "basis", "src"} else "right")
    for row in r.stages.to_dict(orient="records"):
        top = row["top1_country"]
        stage = str(row["stage"]) + (" *" if row["stage"] == r.chokepoint else "")
        t.add_row(
            stage,
            str(row["year"]),
            f"{country_name(str(top))} ({top})" if top else "-",
            _pct(row["top1_share"]),
            _pct(row["top3_share"]),
            "-" if _missing(row["hhi"]) else f"{float(row['hhi']):,.0f}",
            "-" if _missing(row["hhi_wgi"]) else f"{float(row['hhi_wgi']):.2f}",
            _pct(row["n_minus_1_coverage"]),
            str(row["basis_kind"]),
            ref(list(row["source_ids"])),
        )
    console.print(t)
    console.print(
        "* chokepoint (highest HHI). HHI: 0-10,000, above 2,500 = highly concentrated. HHI_WGI: "
        "sum of share^2 x WGI (0-10, 10 = worst governance), EU CRM method. N-1: share of supply "
        "left if the largest supplier stops (IEA). basis: tonnage = computed from production "
        "tables; published share = as published; assumption = labelled, see `critmin data "
        "sources --kind assumption`.",
        style="dim",
    )
    over = r.stages.loc[r.stages["over_crma_65pct"], "stage"].tolist()
    if over:
        console.print(f"One country holds more than the EU CRMA 65% benchmark at: {', '.join(over)}.")
