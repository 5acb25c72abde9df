"""Human labels for report figures and tables: regions, products, metrics, events (no snake_case ids).

``USA`` -> ``United States``, ``exCHN`` -> ``All regions outside China``, ``ndfeb_magnets:wind``
-> ``NdFeB magnets: wind``, ``peak_shortfall_pct`` -> ``Peak shortfall (% of demand)``. An
unknown id is shown with its underscores as spaces, never dropped.
"""

from __future__ import annotations

from critmin.model.countries import country_name
from critmin.simulate.chains.registry import PRODUCT_TITLES, product_title

#: metric id -> label with its unit.
METRIC_LABELS: dict[str, str] = {
    "peak_shortfall_pct": "Peak shortfall (% of demand)",
    "cumulative_shortfall_t": "Cumulative shortfall (t)",
    "months_below_90pct": "Months below 90% of demand",
    "peak_price_ratio": "Peak price (x price at the start)",
    "peak_price_usd_per_kg": "Peak price (US$/kg)",
    "output_at_risk_usd": "Output at risk (US$)",
    "price_floor_cost_usd": "Price-floor cost to the payer (US$)",
}
#: Products that have no chain of their own (and so no registry title).
EXTRA_PRODUCTS = {"ndpr_oxide": "NdPr oxide"}
_REGIONS = {"exCHN": "All regions outside China", "ROW": "Rest of world", "EU27": "European Union (27)"}


def plain(identifier: str) -> str:
    """``some_id`` -> ``some id`` (the last resort for an id without a label)."""
    return str(identifier).replace("_", " ")


def region_label(code: str) -> str:
    """Display name of a model region (ISO alpha-3, ``EU27``, ``ROW``, ``exCHN``)."""
    if code in _REGIONS:
        return _REGIONS[code]
    try:
        name = country_name(code)
    except Exception:  # an unknown code: show it as given
        return plain(code)
    return name or plain(code)


def product_label(product: str) -> str:
    """Display name of a summary row's product (``ndfeb_magnets:wind`` -> ``NdFeB magnets: wind``)."""
    base, _, sector = str(product).partition(":")
    if base not in PRODUCT_TITLES:
        title = EXTRA_PRODUCTS.get(base, plain(base))
        return f"{title}: {plain(sector)}" if sector else title
    return product_title(product)


def metric_label(metric: str) -> str:
    """Display name of a summary metric, with its unit."""
    return METRIC_LABELS.get(metric, plain(metric).capitalize())


__all__ = ["EXTRA_PRODUCTS", "METRIC_LABELS", "metric_label", "plain", "product_label", "region_label"]
