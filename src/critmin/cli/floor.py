"""``critmin floor`` (the cost of a price floor) and ``critmin stockpile`` (the smallest stockpile
that meets a shortfall target)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.table import Table

from critmin.cells import to_csv_text
from critmin.cli._output import Format, bold_lead, console, emit_json
from critmin.cli.choices import format_option
from critmin.errors import DataError
from critmin.report.tables import check_output_path

JSON_SUFFIXES = (".json",)


def _write_json(doc: dict[str, Any], out: Path, fmt: Format) -> None:
    from critmin.atomic import atomic_write_bytes
    from critmin.jsonsafe import dumps

    atomic_write_bytes(out, dumps(doc, indent=2, ensure_ascii=False, default=str).encode())
    if fmt is Format.TABLE:
        console.print(f"wrote {out}", highlight=False)


def _musd(v: float | None) -> str:
    return "-" if v is None else f"{v / 1e6:,.1f}"


def floor_cmd(
    product: str | None = typer.Option(None, help="Product the floor is written on (ndpr_oxide)."),
    floor: float | None = typer.Option(None, "--floor", help="Floor price, US$/kg."),
    volume_t: float | None = typer.Option(
        None, "--volume-t", help="Covered volume, t a year (paid monthly)."
    ),
    years: float | None = typer.Option(None, help="Term in years from --start."),
    start: str | None = typer.Option(None, help="First month of the term, YYYY-MM (default 2025-10)."),
    upside_share: float | None = typer.Option(
        None, "--upside-share", help="Share of the price above --upside-strike returned to the payer (0-1)."
    ),
    upside_strike: float | None = typer.Option(
        None, "--upside-strike", help="Strike of the upside share, US$/kg (default the floor)."
    ),
    upside_start: str | None = typer.Option(
        None, "--upside-start", help="First month the upside share applies, YYYY-MM (default the start)."
    ),
    discount_rate: float | None = typer.Option(
        None, "--discount-rate", help="Annual discount rate (default 0.045, an assumption)."
    ),
    paths: int = typer.Option(2000, help="Monte Carlo price paths."),
    seed: int = typer.Option(0, help="Random seed (equal seeds give equal results)."),
    scenario: str | None = typer.Option(
        None, help="Use this simulator scenario's ex-China price paths instead of the fitted price model."
    ),
    example: str | None = typer.Option(None, help="A bundled example (dod-mp); other options override it."),
    fmt: Format = format_option(),
    out: Path | None = typer.Option(None, help="Also write the JSON document to OUT (.json)."),
) -> None:
    """Expected NPV of a price floor's payments (a strip of monthly puts, less any upside share),
    with p5/p50/p95 and CVaR95, on a fitted price model or a scenario's price paths."""
    from critmin.plan.floor import FloorSpec, example_spec, value_floor

    if out is not None:
        check_output_path(out, JSON_SUFFIXES)
    base: dict[str, Any] = asdict(example_spec(example)) if example is not None else {}
    given = {
        "product": product,
        "floor_usd_per_kg": floor,
        "volume_t_per_year": volume_t,
        "years": years,
        "start": start,
        "upside_share": upside_share,
        "upside_strike": upside_strike,
        "upside_start": upside_start,
        "discount_rate": discount_rate,
    }
    spec_args = {**base, **{k: v for k, v in given.items() if v is not None}}
    for key, opt in (
        ("floor_usd_per_kg", "--floor"),
        ("volume_t_per_year", "--volume-t"),
        ("years", "--years"),
    ):
        if key not in spec_args:
            raise DataError(f"missing {opt}", column=opt, fix=f"give {opt} or --example dod-mp")
    spec = FloorSpec(**spec_args)
    result = value_floor(spec, paths=paths, seed=seed, scenario=scenario, example=example)
    doc = result.to_dict()
    if out is not None:
        _write_json(doc, out, fmt)
    if fmt is Format.JSON:
        emit_json(doc)
        return
    rows = pd.DataFrame(
        [
            {"leg": name, **{k: v / 1e6 for k, v in s.items()}}
            for name, s in (
                ("net cost", result.summary),
                ("floor (puts)", result.put_leg),
                ("upside (calls)", result.call_leg),
            )
        ]
    )
    if fmt is Format.CSV:
        print(to_csv_text(rows.rename(columns=lambda c: c if c == "leg" else f"{c}_musd")), end="")
        return
    where = (
        f"scenario {result.model.get('scenario')}"
        if result.price_model == "scenario"
        else "fitted log-OU model"
    )
    console.print(
        bold_lead(
            example or "floor",
            f": US${spec.floor_usd_per_kg:g}/kg on {spec.volume_t_per_year:,.0f} t/yr of {spec.product}, "
            f"{spec.months[0]} to {spec.months[-1]}, "
            f"upside {spec.upside_share:.0%} above US${spec.strike:g}/kg "
            f"from {spec.upside_start or spec.start}; {where}; {result.paths} paths, seed {result.seed}, "
            f"data_version {result.data_version}",
        )
    )
    t = Table(title=f"payer's NPV at {spec.discount_rate:.1%}/yr, US$ m", title_justify="left")
    for col in ("leg", "mean", "+/- se", "p5", "p50", "p95", "CVaR95"):
        t.add_column(col, justify="left" if col == "leg" else "right")
    for name, s in (
        ("net cost", result.summary),
        ("floor (puts)", result.put_leg),
        ("upside (calls)", result.call_leg),
    ):
        t.add_row(name, *(_musd(s[k]) for k in ("mean", "se", "p5", "p50", "p95", "cvar95")))
    console.print(t)
    if result.analytic is not None:
        console.print(
            "closed form (Black-76 on the model's lognormal prices): "
            f"net US${result.analytic['net'] / 1e6:,.1f} m "
            f"(floor {result.analytic['put_leg'] / 1e6:,.1f}, "
            f"upside {result.analytic['call_leg'] / 1e6:,.1f})",
            highlight=False,
        )
    m = result.model
    if result.price_model == "fitted-ou":
        console.print(
            f"price model: ln P mean-reverting, half-life {m['half_life_months']:.0f} months, volatility "
            f"{m['sigma_annualised']:.0%}/yr, long-run US${m['long_run_usd_per_kg']:.0f}/kg, from "
            f"US${m['origin_usd_per_kg']:.0f}/kg in {m['origin']}",
            highlight=False,
        )
        caveats = (m.get("fit") or {}).get("caveats", [])
    else:
        console.print(
            f"price: ex-China price ratio x US${m['anchor_usd_per_kg']:g}/kg (price.ndpr_usd_per_kg)",
            highlight=False,
        )
        caveats = m.get("caveats", [])
    p50 = ", ".join(f"{k} {v:.0f}" for k, v in result.price_p50.items())
    console.print(f"price p50, US$/kg: {p50}", style="dim", highlight=False)
    console.print(
        f"share of path-months with a floor payment: {result.prob_payment:.0%}. Caveats: "
        + "; ".join(caveats),
        style="dim",
        highlight=False,
    )


def stockpile_cmd(
    scenario: str = typer.Option(..., help="Bundled scenario name or YAML path."),
    region: str = typer.Option(..., help="Region that holds the stockpile (ISO3, EU27)."),
    product: str = typer.Option(
        "ndfeb_magnets",
        help="Product (chain): ndfeb_magnets (rare_earths), gallium, germanium, graphite, ...",
    ),
    target_shortfall: float = typer.Option(
        ..., "--target-shortfall", help="Largest shortfall X, % of demand."
    ),
    confidence: float = typer.Option(..., help="Probability p in (0, 1) with which the target must hold."),
    metric: str = typer.Option(
        "peak",
        help="peak (largest monthly shortfall %, the default) or cumulative (total shortfall % of demand).",
    ),
    fill_months: int = typer.Option(12, "--fill-months", help="Months over which it is bought."),
    evaluate_from: str | None = typer.Option(
        None,
        "--evaluate-from",
        help="First month the target applies, YYYY-MM (default the scenario's first event).",
    ),
    end: str | None = typer.Option(None, help="Last month of the run, YYYY-MM (default the scenario's)."),
    release_share: float = typer.Option(
        0.1, "--release-share", help="Largest monthly release, share of the stock."
    ),
    paths: int = typer.Option(200, help="Monte Carlo paths per run (the same seed for every size)."),
    seed: int = typer.Option(0, help="Random seed (equal seeds give equal results)."),
    fmt: Format = format_option(),
    out: Path | None = typer.Option(None, help="Also write the JSON document to OUT (.json)."),
    no_store: bool = typer.Option(
        False,
        "--no-store",
        help="Do not keep the run in the store (by default every run is stored: `critmin runs list`).",
    ),
) -> None:
    """The smallest stockpile in REGION that keeps its shortfall at most X% with probability p,
    found by bisection on the simulator with common random numbers; with its fill and cost."""
    from critmin.plan.stockpile import StockpileSpec, size_stockpile

    if out is not None:
        check_output_path(out, JSON_SUFFIXES)
    spec = StockpileSpec(
        scenario=scenario,
        region=region,
        product=product,
        target_shortfall_pct=target_shortfall,
        confidence=confidence,
        metric=metric,
        fill_months=fill_months,
        evaluate_from=evaluate_from,
        end=end,
        release_share_per_month=release_share,
    )
    r = size_stockpile(spec, paths=paths, seed=seed)
    if not no_store:
        from critmin.cli.runs import store_result

        store_result(lambda store: store.save_stockpile(r))
    doc = r.to_dict()
    if out is not None:
        _write_json(doc, out, fmt)
    if fmt is Format.JSON:
        emit_json(doc)
        return
    if fmt is Format.CSV:
        print(to_csv_text(pd.DataFrame(doc["tried"])), end="")
        return
    console.print(
        bold_lead(
            f"{spec.scenario}, {spec.region}, {r.product_title}",
            f": {spec.metric} shortfall <= {spec.target_shortfall_pct:g}% "
            f"with probability >= {spec.confidence:g}, "
            f"{r.window[0]} to {r.window[1]}; {r.paths} paths, seed {r.seed}, data_version {r.data_version}",
        )
    )
    if not r.reached:
        console.print(
            f"not reached: even {r.next_smaller_t:,.0f} t meets the target on "
            f"{r.tried[-1][1]:.0%} of paths (without a stockpile {r.prob_without:.0%})",
            highlight=False,
        )
    else:
        assert r.size_t is not None
        months = doc["months_of_demand"]
        below = "-" if r.next_smaller_t is None else f"{r.next_smaller_t:,.0f} t fails"
        console.print(
            f"smallest stockpile: {r.size_t:,.0f} t ({months:.1f} months of the region's mean demand); "
            f"{below}; "
            f"target met on {r.prob_at_size:.0%} of paths (without: {r.prob_without:.0%})",
            highlight=False,
        )
        t = Table(title=f"{spec.metric} shortfall %, p5 / p50 / p95", title_justify="left")
        for col in ("", "p5", "p50", "p95"):
            t.add_column(col, justify="right")
        for name, q in (("without", r.metric_without), ("with", r.metric_with or {})):
            t.add_row(name, *(f"{q.get(k, float('nan')):.1f}" for k in ("p5", "p50", "p95")))
        console.print(t)
        c = r.cost
        console.print(
            f"fill: {r.fill[0][1]:,.0f} t a month, {r.fill[0][0]} to {r.fill[-1][0]}; "
            f"cost US${c['purchase_at_anchor'] / 1e6:,.0f} m at US${c['anchor_usd_per_kg']:g}/kg "
            f"(US${c['purchase_at_simulated_price'] / 1e6:,.0f} m at the simulated "
            f"fill-month price), holding US${c['holding_per_year'] / 1e6:,.0f} m a year "
            f"(US${c['holding_total'] / 1e6:,.0f} m over {c['holding_years']:.1f} years)",
            highlight=False,
        )
    console.print(
        f"sizes tried: {len(r.tried)}; probability monotone in size: {'yes' if r.monotone else 'NO'}. "
        "Assumptions: " + "; ".join(r.assumptions),
        style="dim",
        highlight=False,
    )
