"""``critmin screen``: screen a bill of materials against rare-earth export-control rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from critmin.cells import to_csv_text
from critmin.cli._output import Format, console, emit_json
from critmin.cli.choices import format_option
from critmin.errors import DataError
from critmin.trace.screen import ScreenResult, bundled_rule_names, load_rules, parse_swaps, screen


def screen_cmd(
    bom: Path = typer.Argument(
        ...,
        help="BOM CSV: product_id, product_value_usd, component_id, element, element_mass_kg, "
        "origin_country[, element_value_usd].",
        show_default=False,
        metavar="BOM",
    ),
    rules: list[str] | None = typer.Option(
        None,
        "--rules",
        "-r",
        metavar="NAME|PATH",
        help="Bundled rule name (mofcom-2025-18, mofcom-2025-61, all) or a rules YAML path; repeatable. "
        "Default: all.",
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", metavar="YYYY-MM-DD", help="Screening date (default: today)."
    ),
    destination: str | None = typer.Option(
        None, metavar="ISO3", help="Destination country (ISO3 or name); default: assume every rule covers it."
    ),
    swap: list[str] | None = typer.Option(
        None,
        "--swap",
        metavar="COMPONENT=ISO3",
        help="Re-screen with a component from another origin: COMPONENT=ISO3; repeatable.",
    ),
    fmt: Format = format_option(),
) -> None:
    """Controlled content, share of product value and licence need per product, with the rules in force."""
    day = _parse_date(as_of) if as_of else date.today()
    result = screen(
        bom,
        load_rules(rules or ["all"]),
        as_of=day,
        destination=destination,
        swaps=parse_swaps(swap or []),
    )
    if fmt is Format.JSON:
        emit_json(result.to_dict())
    elif fmt is Format.CSV:
        print(to_csv_text(flat_products(result)), end="")
    else:
        _render(result)


def _parse_date(text: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise DataError(f"--as-of {text!r} is not a date", fix="write YYYY-MM-DD, e.g. 2026-01-15") from None
    if not 1900 <= day.year <= 2100:
        raise DataError(f"--as-of {text!r} is outside 1900-2100", fix="write a date such as 2026-12-02")
    return day


def flat_products(result: ScreenResult) -> pd.DataFrame:
    """The per-product table with list and dict cells joined by ``"; "`` (for CSV)."""
    out = result.products.copy()
    for col in ("tripping_components", "rules", "controlled_components"):
        out[col] = out[col].map("; ".join)
    out["price_basis"] = out["price_basis"].map(lambda d: "; ".join(f"{k}={v}" for k, v in d.items()))
    return out


def _usd(v: float) -> str:
    return f"{v:,.2f}" if v >= 1 or v == 0 else f"{v:.3g}"


def _pct(share: float) -> str:
    return f"{share * 100:.4g}%"


def _render(r: ScreenResult) -> None:
    where = f", destination {r.destination}" if r.destination else ""
    swaps = f", swaps {', '.join(f'{k}={v}' for k, v in r.swaps.items())}" if r.swaps else ""
    table = Table(
        title=str(f"BOM screen {r.bom or ''} on {r.as_of.isoformat()}{where}{swaps}"),
        title_justify="left",
        caption=f"data_version {r.data_version}; critmin {r.version}",
    )
    for col in (
        "product",
        "value (USD)",
        "controlled (USD)",
        "share",
        "licence",
        "tripping components",
        "rules",
    ):
        table.add_column(col, overflow="fold")
    for rec in r.products.to_dict(orient="records"):
        table.add_row(
            str(str(rec["product_id"])),
            f"{rec['product_value_usd']:,.2f}",
            _usd(rec["controlled_value_usd"]),
            _pct(rec["share"]),
            "REQUIRED" if rec["licence_required"] else "no",
            str(", ".join(rec["tripping_components"]) or "-"),
            ", ".join(rec["rules"]) or "-",
        )
    console.print(table)
    console.print(f"Rules on {r.as_of.isoformat()}:", highlight=False, markup=False)
    for rule, st in zip(r.rules, r.statuses, strict=True):
        threshold = (
            "any content"
            if rule.threshold_share == 0
            else f"{rule.comparison} {_pct(rule.threshold_share)} of value"
        )
        mark = "IN FORCE" if st.in_force else "not in force"
        console.print(
            f"  {rule.id} ({rule.instrument}; {threshold}; "
            f"{', '.join(rule.controlled_elements)} from {', '.join(rule.origin_countries)}): "
            f"{mark}: {st.reason}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if r.prices:
        parts = [
            f"{k} {p.usd_per_kg:,.4g} USD/kg {p.basis} ({p.year}, {p.source_id})" for k, p in r.prices.items()
        ]
        console.print(
            "Bundled prices used: " + "; ".join(parts), highlight=False, markup=False, soft_wrap=True
        )
    console.print(
        "Element values are mass x bundled oxide price unless the BOM gives element_value_usd. "
        f"Bundled rules: {', '.join(bundled_rule_names())}. Sources: --format json.",
        style="dim",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
