"""Fan charts of a run's tables (a fresh result or a stored run), with an optional second run overlaid.

:func:`critmin.report.fan.fan_chart` draws a :class:`~critmin.simulate.result.SimulationResult`;
reports also draw stored runs, which keep tables only (:func:`critmin.store.runs.simulation_tables`:
``chain_bands``, ``region_bands``, ``events``). These figures read those tables:

* :func:`run_fan`: the monthly p5-p95 band and the median of the ex-China shortfall (% of
  demand) or price ratio of one chain, the policy events as numbered vertical lines, and a
  second run's band and median (dashed) when given;
* :func:`region_fans`: one small panel per region outside China: the band and median of that
  region's shortfall (% of its demand), a second run's median dashed.

Labels are human (no snake_case ids): see :mod:`critmin.report.labels`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import plotly.graph_objects as go  # type: ignore[import-untyped]
from plotly.subplots import make_subplots  # type: ignore[import-untyped]

from critmin.report.figures import add_caption, esc
from critmin.report.labels import region_label

if TYPE_CHECKING:
    from critmin.report.document import ReportRun

#: metric: (what, y-axis title)
FAN_METRICS: dict[str, tuple[str, str]] = {
    "shortfall_pct_ex_china": ("shortfall outside China", "unmet demand outside China (% of demand)"),
    "price_ratio_ex_china": ("price outside China", "price outside China / price at the start"),
}
#: (band fill, line) of the first and the second run.
COLOURS = (("rgba(213, 94, 0, 0.22)", "#B33C00"), ("rgba(0, 114, 178, 0.18)", "#005A8C"))


def _band_traces(
    fig: go.Figure,
    x: list[str],
    p5: list[float],
    p50: list[float],
    p95: list[float],
    *,
    label: str,
    which: int,
    legend: bool = True,
    row: int | None = None,
    col: int | None = None,
) -> None:
    fill, line = COLOURS[which]
    dash = "solid" if which == 0 else "dash"
    kw = {"row": row, "col": col} if row is not None else {}
    fig.add_trace(
        go.Scatter(
            x=x,
            y=p95,
            mode="lines",
            line_shape="hv",
            line={"width": 0.5, "color": line},
            opacity=0.5,
            name=f"p95: {label}",
            legendgroup=f"band{which}",
            showlegend=False,
            hovertemplate="%{x|%b %Y}: p95 %{y:.3g}<extra></extra>",
        ),
        **kw,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=p5,
            mode="lines",
            line_shape="hv",
            line={"width": 0.5, "color": line},
            opacity=0.5,
            fill="tonexty",
            fillcolor=fill,
            name=f"p5-p95: {label}",
            legendgroup=f"band{which}",
            showlegend=legend,
            hovertemplate="%{x|%b %Y}: p5 %{y:.3g}<extra></extra>",
        ),
        **kw,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=p50,
            mode="lines",
            line_shape="hv",
            line={"width": 2.2, "color": line, "dash": dash},
            name=f"median: {label}",
            legendgroup=f"median{which}",
            showlegend=legend,
            hovertemplate="%{x|%b %Y}: median %{y:.3g}<extra></extra>",
        ),
        **kw,
    )


def run_fan(
    run: ReportRun,
    *,
    chain: str | None = None,
    metric: str = "shortfall_pct_ex_china",
    other: ReportRun | None = None,
) -> go.Figure:
    """Fan chart of ``metric`` for ``chain`` (default the run's first) from the run's tables.

    ``metric``: ``shortfall_pct_ex_china`` (% of demand outside China) or
    ``price_ratio_ex_china`` (price outside China relative to the first month). ``other``: a
    second run drawn over it (its band lighter, its median dashed) when it has the chain.
    """
    what, y_title = FAN_METRICS[metric]
    chain = chain or run.primary_chain
    fig = go.Figure()
    y_top = 1e-9
    for which, r in enumerate([run, other] if other is not None else [run]):
        bands = r.chain_bands(chain)
        if bands is None or f"{metric}_p50" not in bands.columns:
            continue
        x = [f"{m}-01" for m in bands["month"]]
        p5, p50, p95 = (bands[f"{metric}_{q}"].astype(float).tolist() for q in ("p5", "p50", "p95"))
        _band_traces(fig, x, p5, p50, p95, label=r.label, which=which)
        y_top = max(y_top, *(v for v in p95 + p50 if not math.isnan(v)))
    if metric == "price_ratio_ex_china":
        fig.add_hline(y=1.0, line={"color": "#999999", "width": 1, "dash": "dot"})
    events = run.tables.get("events")
    if events is not None and chain == run.primary_chain:
        level, previous = 0, ""
        for ev in events.to_dict(orient="records"):
            month, number, colour = str(ev["month"]), int(ev["number"]), str(ev["colour"])
            xm = f"{month}-01"
            fig.add_vline(x=xm, line={"color": colour, "width": 1.1, "dash": str(ev["dash"])}, opacity=0.8)
            level = (level + 1) % 3 if previous and _months_between(previous, month) < 4 else 0
            previous = month
            fig.add_annotation(
                x=xm,
                y=1.0,
                yref="paper",
                yanchor="bottom",
                yshift=2 + 14 * level,
                text=f"<b>{number}</b>",
                showarrow=False,
                font={"size": 11, "color": colour},
                hovertext=esc(f"{ev['date']}: {ev['label']}"),
            )
    title = f"{run.chain_title(chain)}: {what}"
    fig.update_layout(
        title={"text": esc(title), "x": 0.02, "xanchor": "left"},
        xaxis={"title": {"text": "month"}, "type": "date"},
        yaxis={"title": {"text": y_title}, "rangemode": "tozero", "range": [0, y_top * 1.08]},
        legend={"orientation": "h", "y": 1.09, "yanchor": "bottom", "x": 0.0, "xanchor": "left"},
        hovermode="x unified",
        height=600,
        meta={
            "critmin_figure": "run_fan",
            "metric": metric,
            "chain": chain,
            "runs": [run.label] + ([other.label] if other is not None else []),
        },
    )
    notes = [f"Band: 5th to 95th percentile across paths each month; line: median. {run.provenance}."]
    if other is not None:
        notes.append(f"Compared with {other.provenance} (dashed).")
    if events is not None and len(events) and chain == run.primary_chain:
        notes.append("Numbered lines: the policy events of the timeline table.")
    add_caption(fig, "", notes, run.data_version)
    fig.update_layout(margin={"t": 150})
    return fig


def _months_between(a: str, b: str) -> int:
    """Months from ``a`` to ``b`` (both ``YYYY-MM``)."""
    return (int(b[:4]) - int(a[:4])) * 12 + int(b[5:7]) - int(a[5:7])


def region_fans(run: ReportRun, *, other: ReportRun | None = None, columns: int = 3) -> go.Figure | None:
    """Small multiples: each region outside China, its shortfall (% of its demand) by month.

    From the run's ``region_bands`` table (the primary chain; kept when the run kept its full
    series), ``None`` when there is none. ``other``'s median is drawn dashed in each panel.
    """
    rb = run.tables.get("region_bands")
    if rb is None or rb.empty:
        return None
    regions = [r for r in dict.fromkeys(rb["region"]) if r != "CHN"]
    rows = math.ceil(len(regions) / columns)
    ob = other.tables.get("region_bands") if other is not None else None
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[esc(region_label(r)) for r in regions],
        shared_xaxes=True,
        vertical_spacing=0.08 if rows < 5 else 0.04,
    )
    for i, region in enumerate(regions):
        row, col = i // columns + 1, i % columns + 1
        sel = rb.loc[rb["region"] == region]
        x = [f"{m}-01" for m in sel["month"]]
        _band_traces(
            fig,
            x,
            *(sel[f"shortfall_pct_{q}"].astype(float).tolist() for q in ("p5", "p50", "p95")),
            label=run.label,
            which=0,
            legend=i == 0,
            row=row,
            col=col,
        )
        if ob is not None and other is not None:
            osel = ob.loc[ob["region"] == region]
            if len(osel):
                fig.add_trace(
                    go.Scatter(
                        x=[f"{m}-01" for m in osel["month"]],
                        y=osel["shortfall_pct_p50"].astype(float),
                        mode="lines",
                        line_shape="hv",
                        line={"width": 1.8, "color": COLOURS[1][1], "dash": "dash"},
                        name=f"median: {other.label}",
                        legendgroup="median1",
                        showlegend=i == 0,
                    ),
                    row=row,
                    col=col,
                )
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(
        title={
            "text": esc(
                f"{run.chain_title(run.primary_chain)}: shortfall by region (% of each region's demand)"
            ),
            "x": 0.02,
            "xanchor": "left",
        },
        height=260 * rows + 160,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1.0, "xanchor": "right"},
        meta={"critmin_figure": "region_fans", "regions": regions},
    )
    add_caption(
        fig,
        "",
        [f"Band: 5th to 95th percentile across paths; line: median. {run.provenance}."],
        run.data_version,
    )
    return fig


__all__ = ["COLOURS", "FAN_METRICS", "region_fans", "run_fan"]
