"""``critmin trace country``: origin of each country's output along the rare-earth chain."""

from __future__ import annotations

import pandas as pd
import typer

from critmin.cli._output import Format, console, emit_frame, emit_json
from critmin.data.load import load_dataset
from critmin.model.countries import country_name, to_iso3
from critmin.model.stages import Stage
from critmin.trace.country import origin_matrix


def trace_country_cmd(
    stage: Stage = typer.Option(Stage.MAGNET, help="Stage whose output is traced."),
    origin_stage: Stage = typer.Option(Stage.MINING, "--origin-stage", help="Upstream stage of origin."),
    year: int = typer.Option(2024, help="Year of the stage shares."),
    country: str | None = typer.Option(None, help="Only this country's output (name or ISO3)."),
    fmt: Format = typer.Option(Format.TABLE, "--format", "-f", help="Output format."),
) -> None:
    """Where each country's rare-earth output at STAGE originates at ORIGIN-STAGE (country chain)."""
    ds = load_dataset()
    res = origin_matrix(ds, stage, origin_stage, year)
    long = res.long()
    if country is not None:
        long = long.loc[long["country"] == to_iso3(country)]
    if fmt is Format.JSON:
        doc = res.to_dict()
        if country is not None:
            doc["origins"] = [o for o in doc["origins"] if o["country"] == to_iso3(country)]
        emit_json({**doc, "data_version": ds.version})
        return
    if fmt is Format.CSV:
        print(long.to_csv(index=False), end="")
        return
    shown = long.assign(
        country=long["country"].map(lambda c: f"{country_name(c)} ({c})"),
        origin=long["origin"].map(lambda c: f"{country_name(c)} ({c})"),
        share=long["share"].map(lambda v: f"{v:.1%}"),
    )
    shown = shown.loc[long["share"] >= 0.001]
    emit_frame(
        pd.DataFrame(shown),
        Format.TABLE,
        title=f"Origin at {res.origin_stage} of {res.stage} output, {res.year} (shares >= 0.1%)",
        meta={"data_version": ds.version},
    )
    console.print("Sources: " + ", ".join(res.source_ids), style="dim", highlight=False)
    console.print(
        "Assumptions: "
        + ", ".join(res.assumption_ids)
        + " (rationale: `critmin data sources --kind assumption`"
        " and critmin/trace/ree_chain.yaml). ROW = countries not listed at a stage.",
        style="dim",
        highlight=False,
    )
