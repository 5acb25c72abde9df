"""Figures of simulation results: the fan chart of a run and the tornado of a sensitivity analysis.

:func:`fan_chart` draws the monthly p5-p95 band across Monte Carlo paths and the median of the
ex-China magnet shortfall (% of demand) or the ex-China price ratio, from
:attr:`SimulationResult.bands`, with the scenario's policy events as numbered vertical lines.
:func:`tornado_chart` draws the output of :func:`critmin.simulate.analysis.sensitivity.tornado`, and
:func:`sobol_chart` the first- and total-order indices of :func:`critmin.simulate.analysis.sobol.sobol`.
Both follow :mod:`critmin.report.figures`: a caption with provenance and the data version,
written with :func:`~critmin.report.figures.write_figure`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import plotly.graph_objects as go  # type: ignore[import-untyped]

from critmin.errors import DataError
from critmin.report.figures import add_caption, esc
from critmin.simulate.analysis.sensitivity import describe
from critmin.simulate.inputs.events import (
    ApprovalRateEvent,
    BanEvent,
    EndUserDenialEvent,
    Event,
    EventKind,
    GeneralLicenceEvent,
    LicenceEvent,
    LiftEvent,
    PriceFloorEvent,
    ProjectEvent,
    StockpileEvent,
    SuspendEvent,
)
from critmin.simulate.inputs.policy import events_for, in_force
from critmin.simulate.result import SimulationResult

if TYPE_CHECKING:  # keeps importing this module from importing the Sobol machinery
    from critmin.simulate.analysis.sobol import SobolResult

FanMetric = Literal["shortfall_pct_ex_china", "price_ratio_ex_china"]

_FAN: dict[str, tuple[str, str, str, str]] = {
    # metric: (title, y-axis title, band colour, median colour)
    "shortfall_pct_ex_china": (
        "NdFeB magnet shortfall outside China",
        "unmet demand outside China (% of demand)",
        "rgba(213, 94, 0, 0.22)",
        "#B33C00",
    ),
    "price_ratio_ex_china": (
        "NdFeB magnet price outside China",
        "ex-China price / price at the start",
        "rgba(0, 114, 178, 0.22)",
        "#005A8C",
    ),
}
_TIGHTEN = "#C0392B"
_EASE = "#1E8449"
_NEUTRAL = "#7F7F7F"
_TIGHTENING = frozenset({EventKind.BAN, EventKind.LICENCE, EventKind.END_USER_DENIAL})
_EASING = frozenset({EventKind.SUSPEND})

_METRIC_LABEL = {
    "peak_shortfall_pct": "peak shortfall (% of demand)",
    "cumulative_shortfall_t": "cumulative shortfall (t NdFeB)",
    "months_below_90pct": "months below 90% of demand",
    "peak_price_ratio": "peak price ratio",
    "output_at_risk_usd": "output at risk (US$)",
}


@dataclass(frozen=True)
class PolicyMark:
    """One vertical line of the fan chart: a dated change in the policy in force."""

    number: int
    month: str  # YYYY-MM: the model applies an event from the start of the month containing it
    date: dt.date
    label: str
    colour: str
    dash: str


def fan_chart(
    result: SimulationResult, *, metric: FanMetric = "shortfall_pct_ex_china", chain: str | None = None
) -> go.Figure:
    """Monthly p5-p95 band (shaded) and median (line) of ``metric`` across the run's paths.

    ``metric`` is ``shortfall_pct_ex_china`` (unmet demand outside China as % of its demand,
    summed over the regions outside China) or ``price_ratio_ex_china`` (the ex-China market
    price relative to the first month). Policy events of ``result.scenario.timeline()`` that
    fall in the horizon are numbered vertical lines at the month the model applies them (red:
    controls start or return; green: suspensions, price floors and offtakes; grey: approval-rate
    changes, lifts and stockpiles), listed in the caption; a regime dated while suspended is
    dotted and comes back as a line when the suspension ends. The caption gives the scenario,
    paths, seed, data version, sources and assumption ids. ``chain`` picks another chain of the
    run than the first (``result.chains``, e.g. ``dy_tb``, the magnet makers' Dy + Tb feed).
    """
    if metric not in _FAN:
        raise DataError(
            f"unknown fan-chart metric {metric!r}", column="metric", fix=f"use one of {list(_FAN)}"
        )
    title, y_title, band_colour, line_colour = _FAN[metric]
    primary = result.scenario.commodities[0]
    chain = primary if chain is None else chain
    if chain != primary and chain not in result.chains:
        raise DataError(
            f"the run has no chain {chain!r}", column="chain", fix=f"use one of {list(result.chains)}"
        )
    run_ = result.chains[chain]
    bands = run_.bands
    title = title.replace("NdFeB magnet", run_.title) if run_.title != "NdFeB magnets" else title
    cols = [f"{metric}_{q}" for q in ("p5", "p50", "p95")]
    missing = [c for c in ["month", *cols] if c not in bands.columns]
    if missing:
        raise DataError(
            f"simulation bands lack column(s) {', '.join(missing)}",
            column=missing[0],
            fix="pass the result of critmin.simulate.simulate",
        )
    x = [f"{m}-01" for m in bands["month"]]
    p5, p50, p95 = (bands[c].astype(float).tolist() for c in cols)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=p95,
            mode="lines",
            line_shape="hv",
            line={"width": 0.6, "color": line_colour},
            opacity=0.5,
            name="p95",
            showlegend=False,
            hovertemplate="%{x|%b %Y}: p95 %{y:.3g}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=p5,
            mode="lines",
            line_shape="hv",
            line={"width": 0.6, "color": line_colour},
            opacity=0.5,
            fill="tonexty",
            fillcolor=band_colour,
            name="p5",
            legendgroup="band",
            showlegend=False,
            hovertemplate="%{x|%b %Y}: p5 %{y:.3g}<extra></extra>",
        )
    )
    # A legend entry for the band (the two boundary traces stay out of the legend).
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines",
            line={"width": 10, "color": band_colour},
            name=f"p5-p95 across {result.paths:,} paths",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=p50,
            mode="lines",
            line_shape="hv",
            line={"width": 2.4, "color": line_colour},
            name="median (p50)",
            hovertemplate="%{x|%b %Y}: median %{y:.3g}<extra></extra>",
        )
    )
    marks = marks_in(run_.events, run_.in_force, list(result.months))
    y_top = max([*p95, *p50, 1e-9])
    if metric == "price_ratio_ex_china":
        fig.add_hline(y=1.0, line={"color": "#999999", "width": 1, "dash": "dot"})
    previous: PolicyMark | None = None
    level = 0
    for mark in marks:
        xm = f"{mark.month}-01"
        fig.add_vline(x=xm, line={"color": mark.colour, "width": 1.2, "dash": mark.dash}, opacity=0.8)
        close = previous is not None and _months_between(previous.month, mark.month) < 4
        level = (level + 1) % 3 if close else 0
        fig.add_annotation(
            x=xm,
            y=1.0,
            yref="paper",
            yanchor="bottom",
            yshift=2 + 15 * level,
            text=f"<b>{mark.number}</b>",
            showarrow=False,
            font={"size": 11, "color": mark.colour},
            hovertext=esc(f"{mark.date.isoformat()}: {mark.label}"),
            name=f"event {mark.number}",
        )
        previous = mark
    fig.update_layout(
        title={
            "text": esc(f"{title}: {result.scenario.name}"),
            "x": 0.02,
            "xanchor": "left",
            "y": 0.97,
        },
        xaxis={"title": {"text": "month"}, "type": "date", "showgrid": True},
        yaxis={"title": {"text": y_title}, "rangemode": "tozero", "range": [0, y_top * 1.08]},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0, "xanchor": "right"},
        hovermode="x unified",
        width=1200,
        height=680,
        meta={
            "critmin_figure": "fan_chart",
            "metric": metric,
            "chain": chain,
            "scenario": result.scenario.name,
            "paths": result.paths,
            "seed": result.seed,
            "data_version": result.data_version,
            "events": [m.label for m in marks],
        },
    )
    runs = (
        f"{result.paths:,} paths (band: 5th-95th percentile across paths each month; line: median)"
        if result.paths > 1
        else "1 path (all parameters at their medians, so no band)"
    )
    notes = [
        f"Scenario {result.scenario.name}, {result.months[0]} to {result.months[-1]}: {runs}, "
        f"seed {result.seed}.",
        "Events (drawn at the start of the month from which the model applies them): "
        + "; ".join(f"[{m.number}] {m.date.isoformat()} {m.label}" for m in marks)
        + ".",
        "Assumptions: "
        + ", ".join(
            run.assumption_ids if (run := result.chains.get(chain)) is not None else result.assumption_ids
        )
        + ".",
    ]
    run = result.chains.get(chain)
    source_ids = run.source_ids if run is not None else result.source_ids
    sources = "Sources: " + ", ".join(s for s in source_ids if not s.startswith("assumption:")) + "."
    add_caption(fig, sources, notes, result.data_version)
    top = fig.layout.margin.t or 90
    fig.update_layout(margin={"t": max(top, 110)})
    return fig


def policy_marks(
    events: tuple[Event, ...] | list[Event], months: list[str], *, commodity: str = "rare_earths"
) -> list[PolicyMark]:
    """The dated policy changes inside ``months`` (``YYYY-MM``), numbered in time order.

    Only the events that apply to ``commodity`` (:func:`critmin.simulate.inputs.policy.events_for`).

    One mark per event dated in the horizon, plus one where a suspension ends (its ``until``)
    and what it suspended comes back into force. "In force" is what the engine uses
    (:mod:`critmin.simulate.inputs.policy`): from the month containing the event's date until a
    ``lift`` of it, and not while a suspension that is itself in force covers the month.
    """
    if not months:
        return []
    start = dt.date.fromisoformat(months[0] + "-01")
    known = frozenset(e.id for e in events)
    applied = events_for(tuple(events), commodity)
    return marks_in(applied, in_force(applied, start, len(months), known=known), months)


def marks_in(
    events: tuple[Event, ...], active: dict[str, npt.NDArray[np.bool_]], months: list[str]
) -> list[PolicyMark]:
    """The marks of ``events`` with their in-force masks ``active`` (a
    :class:`~critmin.simulate.result.ChainRun`'s ``events`` and ``in_force``), as
    :func:`policy_marks` describes."""
    if not months:
        return []
    first, last = months[0], months[-1]
    raw: list[tuple[str, dt.date, str, str, str]] = []
    for e in events:
        m = _month(e.date)
        if first <= m <= last:
            label, colour = _event_label(e)
            dash = "dash"
            if e.kind in _TIGHTENING and not active[e.id][months.index(m)]:
                label += " (dated while suspended: not in force yet)"
                colour, dash = _NEUTRAL, "dot"
            raw.append((m, e.date, label, colour, dash))
        if isinstance(e, SuspendEvent) and e.until is not None:
            mu = _month(e.until)
            if first <= mu <= last:
                back = [t for t in e.targets if t in active and active[t][months.index(mu)]]
                if back:
                    raw.append(
                        (mu, e.until, f"{e.id} ends: {', '.join(back)} back in force", _TIGHTEN, "dash")
                    )
    raw.sort(key=lambda r: (r[1], r[2]))
    return [PolicyMark(i + 1, m, d, label, colour, dash) for i, (m, d, label, colour, dash) in enumerate(raw)]


def _event_label(e: Event) -> tuple[str, str]:
    if isinstance(e, LicenceEvent | BanEvent | EndUserDenialEvent):
        dest = "all destinations" if e.destinations == "all" else "+".join(e.destinations)
        stages = "/".join(s.value.replace("_", " ") for s in e.stages)
        if isinstance(e, LicenceEvent):
            extra = ", extraterritorial" if e.extraterritorial else ""
            return f"licences on {stages} to {dest}{extra} ({e.id})", _TIGHTEN
        if isinstance(e, BanEvent):
            return f"ban on {stages} to {dest} ({e.id})", _TIGHTEN
        return f"defence end users in {dest} denied ({e.id})", _TIGHTEN
    if isinstance(e, ApprovalRateEvent):
        return f"approval rate {describe(e.approval_rate)} ({e.id})", _NEUTRAL
    if isinstance(e, SuspendEvent):
        until = f" until {e.until.isoformat()}" if e.until else ""
        return f"{', '.join(e.targets)} suspended{until} ({e.id})", _EASE
    if isinstance(e, LiftEvent):
        return f"{', '.join(e.targets)} lifted ({e.id})", _NEUTRAL
    if isinstance(e, StockpileEvent):
        return f"stockpile +{e.amount_t:,.0f} t in {e.region} ({e.id})", _NEUTRAL
    if isinstance(e, PriceFloorEvent):
        return f"price floor US${e.price_usd_per_kg:,.0f}/kg paid by {e.region} ({e.id})", _EASE
    if isinstance(e, GeneralLicenceEvent):
        dest = "all destinations" if e.destinations == "all" else "+".join(e.destinations)
        return f"general licences {describe(e.share)} of licensed flow to {dest} ({e.id})", _EASE
    if isinstance(e, ProjectEvent):
        return f"project {e.project}: start pulled {e.pull_months:g} months ({e.id})", _EASE
    return f"offtake {e.region} <- {e.seller} {e.volume_t_per_year:,.0f} t/yr ({e.id})", _EASE


def _month(d: dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _months_between(a: str, b: str) -> int:
    return (int(b[:4]) - int(a[:4])) * 12 + int(b[5:7]) - int(a[5:7])


def tornado_chart(table: pd.DataFrame, *, top: int = 15) -> go.Figure:
    """Horizontal bars from the outcome at each parameter's low to its high quantile.

    ``table`` is the output of :func:`critmin.simulate.analysis.sensitivity.tornado` (its ``attrs`` give
    the title and caption). The ``top`` largest swings are drawn, largest at the top, around a
    vertical line at the base outcome (every parameter at its median); the bar colour says
    which end of the parameter's range gives the higher outcome.
    """
    need = ["parameter", "outcome_low", "outcome_high", "swing", "value_low", "value_high"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise DataError(
            f"tornado table lacks column(s) {', '.join(missing)}",
            column=missing[0],
            fix="pass the output of critmin.simulate.analysis.sensitivity.tornado",
        )
    a = table.attrs
    t = table.head(top).iloc[::-1]
    lo = t["outcome_low"].astype(float).to_numpy()
    hi = t["outcome_high"].astype(float).to_numpy()
    base = float(a.get("outcome_base", np.nan))
    low_q, high_q = float(a.get("low", 0.05)), float(a.get("high", 0.95))
    names = [str(p) for p in t["parameter"]]
    fig = go.Figure()
    for which, vals, qv, colour in (
        (f"parameter at p{low_q * 100:g}", lo, t["value_low"], "#0072B2"),
        (f"parameter at p{high_q * 100:g}", hi, t["value_high"], "#D55E00"),
    ):
        ref = base if np.isfinite(base) else 0.0
        fig.add_trace(
            go.Bar(
                y=names,
                x=vals - ref,
                base=ref,
                orientation="h",
                name=which,
                marker_color=colour,
                customdata=np.stack([vals, qv.astype(float).to_numpy()], axis=1),
                hovertemplate="<b>%{y}</b><br>value %{customdata[1]:.4g}<br>outcome %{customdata[0]:,.4g}"
                "<extra>" + which + "</extra>",
            )
        )
    if np.isfinite(base):
        fig.add_vline(x=base, line={"color": "#333333", "width": 1.2, "dash": "dash"})
    metric = str(a.get("metric", "outcome"))
    region = str(a.get("region", ""))
    fig.update_layout(
        barmode="overlay",
        title={
            "text": esc(
                f"What drives {_METRIC_LABEL.get(metric, metric)} in {region}: {a.get('scenario', '')}"
            ),
            "x": 0.02,
            "xanchor": "left",
        },
        xaxis={"title": {"text": esc(_METRIC_LABEL.get(metric, metric))}},
        yaxis={"automargin": True},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        height=max(420, 160 + 34 * len(t)),
        width=1200,
        meta={
            "critmin_figure": "tornado",
            **{k: v for k, v in a.items() if isinstance(v, str | int | float)},
        },
    )
    notes = [
        f"One at a time: each parameter at its {low_q:.0%} and {high_q:.0%} quantile, every other at its "
        f"median; dashed line: all at medians ({_fmt(base)}). Paths per case: {a.get('paths', 1)}, "
        f"seed {a.get('seed', 0)}. Interactions between parameters are not shown.",
    ]
    if len(table) > top:
        notes.append(f"{len(table) - top} parameter(s) with smaller swings not shown.")
    add_caption(fig, "", notes, str(a["data_version"]) if "data_version" in a else None)
    return fig


def sobol_chart(result: SobolResult, *, top: int = 15) -> go.Figure:
    """Horizontal bars of each parameter's first-order (S1) and total-order (ST) Sobol' index.

    ``result`` is the output of :func:`critmin.simulate.analysis.sobol.sobol`. The ``top`` parameters by
    ST are drawn, largest at the top, with error bars at the bootstrap half-widths
    (``S1_conf``, ``ST_conf``). The caption gives N, the model runs, the seed, the sum of S1
    (1 minus it: the share of variance from interactions), the parameters held fixed and why,
    and the data version.
    """
    t = result.indices.head(top).iloc[::-1]
    names = [str(p) for p in t["parameter"]]
    fig = go.Figure()
    for col, label, colour in (
        ("S1", "first order S1 (alone)", "#0072B2"),
        ("ST", "total order ST (with interactions)", "#D55E00"),
    ):
        fig.add_trace(
            go.Bar(
                y=names,
                x=t[col].astype(float).to_numpy(),
                orientation="h",
                name=label,
                marker_color=colour,
                error_x={"type": "data", "array": t[f"{col}_conf"].astype(float).to_numpy(), "width": 3},
                customdata=t[f"{col}_conf"].astype(float).to_numpy(),
                hovertemplate="<b>%{y}</b><br>" + col + " %{x:.3f} ± %{customdata:.3f}<extra></extra>",
            )
        )
    metric = result.metric
    fig.update_layout(
        barmode="group",
        title={
            "text": esc(
                f"What drives {_METRIC_LABEL.get(metric, metric)} in {result.region}: "
                f"{result.scenario.name} (Sobol' indices)"
            ),
            "x": 0.02,
            "xanchor": "left",
        },
        xaxis={"title": {"text": "share of the outcome's variance"}, "rangemode": "tozero"},
        yaxis={"automargin": True},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        height=max(420, 160 + 40 * len(t)),
        width=1200,
        meta={
            "critmin_figure": "sobol",
            "scenario": result.scenario.name,
            "metric": metric,
            "region": result.region,
            "n": result.n,
            "seed": result.seed,
            "model_runs": result.model_runs,
            "data_version": result.data_version,
        },
    )
    notes = [
        f"Variance-based (Sobol') indices, Saltelli 2010 / Jansen estimators; base sample N = {result.n}, "
        f"{result.model_runs:,} model runs, seed {result.seed}; error bars: {result.conf_level:.0%} "
        f"bootstrap intervals. Sum of S1 = {result.sum_s1:.2f} (1 - sum: share from interactions).",
    ]
    if len(result.indices) > top:
        notes.append(f"{len(result.indices) - top} parameter(s) with smaller ST not shown.")
    if len(result.fixed):
        notes.append(
            "Held at the median, no index: "
            + "; ".join(
                f"{p} ({r})" for p, r in zip(result.fixed["parameter"], result.fixed["reason"], strict=True)
            )
            + "."
        )
    add_caption(fig, "", notes, result.data_version)
    return fig


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


__all__ = ["FanMetric", "PolicyMark", "fan_chart", "policy_marks", "sobol_chart", "tornado_chart"]
