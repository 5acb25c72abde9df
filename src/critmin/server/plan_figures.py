"""The dashboard's view of a plan run: its tables with human labels, and its figures.

Built from a plan run's tables (:func:`critmin.store.plan_runs.plan_tables`: the same for a
finished job and a stored run), so the Plans page shows either the same way:

* :func:`plan_view`: the portfolio with project names (and companies), regions as country names,
  products and instruments as words; the costs by instrument and payer; the binding targets'
  shadow prices as sentences; the closed-loop verification (in-sample vs out-of-sample share of
  futures in which each target holds); the frontier and near-optimal alternatives;
* :func:`cost_figure`: expected NPV cost (US$ m) by instrument, one bar segment per payer;
* :func:`frontier_figure`: the least expected cost (US$ m) against the months of a China cut-off
  the plan's buyers must survive with their priority demand met.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import Any

import pandas as pd
import plotly.graph_objects as go  # type: ignore[import-untyped]

from critmin.report.labels import region_label

#: Plan products (``critmin.plan.spec.PRODUCTS``) in words.
PLAN_PRODUCTS = {"ndpr_oxide": "NdPr oxide", "dytb_oxide": "Dy+Tb oxide", "ndfeb_magnet": "NdFeB magnets"}
#: Plan instruments and cost rows in words.
INSTRUMENTS = {
    "offtake": "Offtake contract",
    "cofinance": "Co-financing",
    "stockpile": "Strategic stockpile",
    "floor": "Price floor",
    "total": "Total",
}
UNITS = {
    "t/yr contracted": "t a year contracted",
    "t/yr covered": "t a year covered",
    "t capacity": "t of storage",
    "US$ m": "US$ m",
}
_PAYER_COLOURS = ("#B33C00", "#3182bd", "#31a354", "#756bb1", "#8c6d31", "#636363")


def product_words(product: str) -> str:
    """``ndfeb_magnet`` -> ``NdFeB magnets`` (an unknown id with its underscores as spaces)."""
    return PLAN_PRODUCTS.get(str(product), str(product).replace("_", " "))


def instrument_words(instrument: str) -> str:
    """``cofinance`` -> ``Co-financing``; the cost table's own rows get a capital letter."""
    text = str(instrument)
    return INSTRUMENTS.get(text, text[:1].upper() + text[1:])


def region_words(code: str) -> str:
    """``USA`` -> ``United States``; a blank code stays blank."""
    return region_label(code) if code else ""


@cache
def _projects() -> dict[str, tuple[str, str]]:
    from critmin.plan.economics import load_economics

    p = load_economics().projects
    return {
        str(r.project_id): (str(r.project), str(r.company))
        for r in p[["project_id", "project", "company"]].itertuples(index=False)
    }


def project_words(project_id: str) -> str:
    """``vulcan-benson`` -> ``Benson magnet plant (Vulcan Elements)``; blank for a stockpile."""
    if not project_id:
        return ""
    name, company = _projects().get(str(project_id), (str(project_id).replace("-", " "), ""))
    return f"{name} ({company})" if company and company.lower() not in name.lower() else name


def _num(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) or math.isinf(x) else x


def _rows(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    from critmin.jsonsafe import json_safe

    if frame is None or frame.empty:
        return []
    out: list[dict[str, Any]] = json_safe(frame.to_dict(orient="records"))
    return out


def plan_view(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any]) -> dict[str, Any]:
    """The Plans page's document of a plan run (module docstring); every id has a label beside it."""
    portfolio = []
    for r in _rows(tables.get("portfolio")):
        portfolio.append(
            {
                **r,
                "instrument_label": instrument_words(r.get("instrument", "")),
                "buyer_label": region_words(r.get("buyer") or ""),
                "project_label": project_words(r.get("project") or ""),
                "product_label": product_words(r.get("product", "")),
                "host_label": region_words(r.get("host") or ""),
                "unit_label": UNITS.get(str(r.get("unit")), str(r.get("unit", ""))),
            }
        )
    costs = [
        {
            **r,
            "instrument_label": instrument_words(r.get("instrument", "")),
            "region_label": region_words(r.get("region") or ""),
        }
        for r in _rows(tables.get("costs"))
    ]
    shadows = [str(r.get("statement", "")) for r in _rows(tables.get("shadow_prices"))]
    frontier = _rows(tables.get("frontier"))
    return {
        "plan": meta.get("plan"),
        "status": meta.get("status"),
        "objective_musd": meta.get("objective_musd"),
        "scenario": meta.get("scenario"),
        "years": meta.get("years"),
        "futures": meta.get("futures"),
        "regions": [{"id": r, "label": region_words(r)} for r in meta.get("regions") or []],
        "portfolio": portfolio,
        "costs": costs,
        "shadow_prices": shadows,
        "conflicts": [str(r.get("conflict", "")) for r in _rows(tables.get("conflicts"))],
        "in_sample": _rows(tables.get("in_sample")),
        "verification": _rows(tables.get("verification")),
        "verification_notes": list((meta.get("verification") or {}).get("notes") or []),
        "verification_paths": (meta.get("verification") or {}).get("paths"),
        "frontier": frontier,
        "alternatives": _rows(tables.get("alternatives")),
        "has_frontier": bool(frontier),
    }


def cost_figure(costs: pd.DataFrame | None, title: str = "") -> go.Figure:
    """Horizontal bars of expected NPV cost (US$ m) by instrument, one segment per payer
    (negative rows, the stock fills taken back out, to the left of zero)."""
    fig = go.Figure()
    frame = costs if costs is not None else pd.DataFrame()
    if not frame.empty:
        frame = frame[frame["expected_npv_musd"].abs() > 1e-6]
    order = list(dict.fromkeys(instrument_words(i) for i in frame.get("instrument", [])))
    payers = list(dict.fromkeys(str(p) for p in frame.get("payer", [])))
    for i, payer in enumerate(payers):
        part = frame[frame["payer"] == payer]
        labels = [instrument_words(x) for x in part["instrument"]]
        fig.add_trace(
            go.Bar(
                name=payer,
                orientation="h",
                y=labels,
                x=[float(v) for v in part["expected_npv_musd"]],
                marker_color=_PAYER_COLOURS[i % len(_PAYER_COLOURS)],
                customdata=[payer] * len(labels),  # the payer as data, never as template text
                hovertemplate="%{y}<br>%{customdata}: US$ %{x:,.1f} m<extra></extra>",
            )
        )
    fig.update_layout(
        title={"text": title or "Expected net present cost by instrument and payer (US$ m)"},
        barmode="relative",
        xaxis={"title": {"text": "US$ m, expected net present cost"}, "zeroline": True},
        yaxis={"categoryorder": "array", "categoryarray": order[::-1], "automargin": True},
        legend={"title": {"text": "Payer"}},
        height=max(320, 60 + 38 * max(1, len(order))),
        margin={"l": 20, "r": 20, "t": 60, "b": 50},
        template="plotly_white",
    )
    return fig


def frontier_figure(frontier: pd.DataFrame | None, title: str = "") -> go.Figure:
    """Least expected cost (US$ m) vs the months of a China cut-off survived (one marker per
    solved target; targets that cannot be met are listed in the title's note)."""
    fig = go.Figure()
    frame = frontier if frontier is not None else pd.DataFrame()
    ok = frame[frame["expected_cost_musd"].notna()] if "expected_cost_musd" in frame else frame.iloc[0:0]
    bad = frame[frame["expected_cost_musd"].isna()] if "expected_cost_musd" in frame else frame
    fig.add_trace(
        go.Scatter(
            name="least expected cost",
            x=[int(m) for m in ok.get("cutoff_months", [])],
            y=[float(v) for v in ok.get("expected_cost_musd", [])],
            mode="lines+markers",
            line={"color": "#B33C00"},
            hovertemplate="%{x}-month cut-off survived: US$ %{y:,.0f} m<extra></extra>",
        )
    )
    note = ""
    if len(bad):
        months = ", ".join(str(int(m)) for m in bad["cutoff_months"])
        note = f" (no portfolio meets a {months}-month cut-off)"
    fig.update_layout(
        title={"text": (title or "Cost of resilience: least expected cost vs the cut-off survived") + note},
        xaxis={"title": {"text": "Months of a China cut-off survived with priority demand met"}},
        yaxis={"title": {"text": "US$ m, expected net present cost"}, "rangemode": "tozero"},
        height=420,
        showlegend=False,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        template="plotly_white",
    )
    return fig


__all__ = [
    "INSTRUMENTS",
    "PLAN_PRODUCTS",
    "cost_figure",
    "frontier_figure",
    "instrument_words",
    "plan_view",
    "product_words",
    "project_words",
    "region_words",
]
