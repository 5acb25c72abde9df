"""``critmin trace country``: origin of each country's output along the rare-earth chain."""

from __future__ import annotations

import pandas as pd
import typer

from critmin.cells import to_csv_text
from critmin.cli._output import Format, console, emit_frame, emit_json, err_console
from critmin.cli.choices import format_option, stage_option
from critmin.data.dataset import Dataset
from critmin.data.load import load_dataset
from critmin.errors import DataError
from critmin.metrics.exposure import shares_at_stage
from critmin.model.countries import REST_OF_WORLD, country_name, to_iso3
from critmin.model.stages import Stage
from critmin.trace.country import CHAIN, COMMODITY, origin_matrix


def trace_country_cmd(
    stage: Stage = stage_option(Stage.MAGNET, "--stage", help="Stage whose output is traced.", allowed=CHAIN),
    origin_stage: Stage = stage_option(
        Stage.MINING, "--origin-stage", help="Upstream stage of origin.", allowed=CHAIN
    ),
    year: int = typer.Option(2024, help="Year of the stage shares."),
    country: str | None = typer.Option(None, help="Only this country's output (name or ISO3)."),
    fmt: Format = format_option(),
) -> None:
    """Where each country's rare-earth output at STAGE originates at ORIGIN-STAGE (country chain).

    A stage without shares for --year uses its latest year with shares (said on stderr). A
    --country with no output at STAGE in the chain is an error (exit code 2) that lists the
    countries there.
    """
    ds = load_dataset()
    res = origin_matrix(ds, stage, origin_stage, year)
    _note_fallback_years(ds, stage, origin_stage, year)
    long = res.long()
    code = to_iso3(country) if country is not None else None
    if code is not None:
        long = long.loc[long["country"] == code]
        if long.empty:
            listed = [c for c in res.matrix.columns if c != REST_OF_WORLD]
            raise DataError(
                f"{country_name(code)} ({code}) has no {res.stage} output in the {res.year} rare-earth "
                f"country chain: the bundled {res.stage} shares list {', '.join(listed)}, and put "
                f"every other country in {REST_OF_WORLD}",
                fix=f"use --country with one of {', '.join(res.matrix.columns)}, trace another --stage, "
                f"or import an overlay of {res.stage} shares that names {code}",
            )
    if fmt is Format.JSON:
        doc = res.to_dict()
        if code is not None:
            doc["origins"] = [o for o in doc["origins"] if o["country"] == code]
        emit_json({**doc, "data_version": ds.version})
        return
    if fmt is Format.CSV:
        print(to_csv_text(long), end="")
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


def _note_fallback_years(ds: Dataset, stage: Stage, origin_stage: Stage, year: int) -> None:
    """Say on stderr which stages have no shares for ``year`` (the chain then uses their latest)."""
    lo, hi = sorted((CHAIN.index(stage), CHAIN.index(origin_stage)))
    for st in CHAIN[lo : hi + 1]:
        if shares_at_stage(ds, COMMODITY, st, year) is None:
            latest = shares_at_stage(ds, COMMODITY, st, None)
            used = f"its latest shares ({latest.year})" if latest is not None else "no shares"
            err_console.print(
                f"note: no {st.value} shares for {year}: the chain uses {used} at {st.value}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
