"""Dashboard figures not in :mod:`critmin.report`: the chain Sankey, the project Gantt, one
region's fan chart. Human labels throughout (country names, stage names, sector labels).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go  # type: ignore[import-untyped]

from critmin.report.figures import add_caption, esc
from critmin.report.labels import region_label

if TYPE_CHECKING:
    from critmin.data.dataset import Dataset
    from critmin.report.document import ReportRun

STAGE_LABELS = {
    "mining": "Mining",
    "separation": "Separation",
    "metal_alloy": "Metal and alloy",
    "magnet": "Magnets",
    "recycling": "Recycling",
    "end_use": "End use",
}
_STAGE_COLOURS = {
    "mining": "#8c6d31",
    "separation": "#3182bd",
    "metal_alloy": "#756bb1",
    "magnet": "#e6550d",
    "end_use": "#31a354",
    "recycling": "#636363",
}
#: capacity.project_delay_months: lognormal(median=12, sigma=0.6) -> p5 / p95 in months
_DELAY_MEDIAN, _DELAY_SIGMA = 12.0, 0.6


def _country(code: str) -> str:
    from critmin.model.countries import country_name

    return "Rest of world" if code == "ROW" else country_name(code)


def flow_sankey(ds: Dataset, year: int = 2024, *, min_share: float = 0.005) -> go.Figure:
    """Sankey of the rare-earth chain by country: mining -> separation -> metal/alloy -> magnets
    -> end use, in % of world flow at each stage (:func:`critmin.trace.country.allocation_matrices`).

    The last step splits each country's magnet output by the world end-use mix
    (:func:`critmin.simulate.engine.sectors.sector_shares`; the same mix in every country is
    ``assumption:sim-sector-uniform-regions``). Links below ``min_share`` of world flow are left out.
    """
    from critmin.simulate.engine.sectors import sector_shares
    from critmin.trace.country import allocation_matrices

    allocs = allocation_matrices(ds, year)
    nodes: dict[tuple[str, str], int] = {}
    labels: list[str] = []
    colours: list[str] = []

    def node(stage: str, key: str, label: str) -> int:
        if (stage, key) not in nodes:
            nodes[(stage, key)] = len(labels)
            labels.append(label)
            colours.append(_STAGE_COLOURS.get(stage, "#888888"))
        return nodes[(stage, key)]

    src: list[int] = []
    dst: list[int] = []
    val: list[float] = []
    hover: list[str] = []
    for a in allocs:
        flows = a.flows
        for sup in flows.index:
            for con in flows.columns:
                v = float(flows.loc[sup, con])
                if v < min_share or not math.isfinite(v):
                    continue
                s_lab = f"{STAGE_LABELS[a.source_stage]}: {_country(str(sup))}"
                t_lab = f"{STAGE_LABELS[a.target_stage]}: {_country(str(con))}"
                src.append(node(a.source_stage, str(sup), s_lab))
                dst.append(node(a.target_stage, str(con), t_lab))
                val.append(100 * v)
                hover.append(f"{s_lab} to {t_lab}: {100 * v:.1f}% of world flow")
    last = allocs[-1]
    magnets = last.demand
    sec = sector_shares(ds, ["ROW"])
    for country, share in magnets.items():
        for k, label in enumerate(sec.labels):
            v = float(share) * float(sec.shares[0, k])
            if v < min_share:
                continue
            s_lab = f"Magnets: {_country(str(country))}"
            short = label.split(" (")[0]
            src.append(node("magnet", str(country), s_lab))
            dst.append(node("end_use", sec.sectors[k], f"End use: {short}"))
            val.append(100 * v)
            hover.append(f"{s_lab} to {short}: {100 * v:.1f}% of world magnet output")
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": [esc(x) for x in labels], "color": colours, "pad": 12, "thickness": 14},
            link={
                "source": src,
                "target": dst,
                "value": val,
                "customdata": hover,
                "hovertemplate": "%{customdata}<extra></extra>",
            },
            valueformat=".1f",
            valuesuffix="% of world flow",
        )
    )
    fig.update_layout(
        title={
            "text": f"Rare-earth chain by country, {year}: mining to end use (% of world flow)",
            "x": 0.02,
        },
        height=720,
        meta={"critmin_figure": "flow_sankey", "year": year},
    )
    sources = sorted({s for a in allocs for s in a.source_ids} | set(sec.source_ids))
    assumptions = sorted(
        {s for a in allocs for s in a.assumption_ids} | {"assumption:sim-sector-uniform-regions"}
    )
    add_caption(
        fig,
        "Sources: " + ", ".join(sources),
        [
            f"Links under {100 * min_share:.1f}% of world flow are hidden. Each country's magnets are "
            "split by the world end-use mix. Assumptions: " + ", ".join(assumptions) + "."
        ],
        ds.version,
    )
    return fig


def projects_gantt(ds: Dataset, *, horizon: int = 2035) -> go.Figure:
    """Pipeline of the bundled projects table as a timeline by stage and country.

    Operating projects: a bar from their start year to ``horizon``. Planned and under
    construction: a marker at the announced start and a band of the delay the simulator draws
    (``capacity.project_delay_months``, lognormal, median 12 months: p5-p95 about 4.5-32 months).
    Projects without a start year are counted in the caption.
    """
    t = ds.table("projects").copy()
    dated = t.loc[t["start_year"].notna()].copy()
    dated["start_year"] = dated["start_year"].astype(float)
    order = list(STAGE_LABELS)
    dated["stage_rank"] = dated["stage"].map(lambda s: order.index(s) if s in order else 99)
    dated = dated.sort_values(
        ["stage_rank", "country", "start_year", "project"], ascending=[False, False, False, False]
    )
    ylab = [
        esc(f"{p} ({_country(str(c))}, {STAGE_LABELS.get(str(s), str(s))})")
        for p, c, s in zip(dated["project"], dated["country"], dated["stage"], strict=True)
    ]
    p5 = _DELAY_MEDIAN * math.exp(-1.645 * _DELAY_SIGMA) / 12
    p95 = _DELAY_MEDIAN * math.exp(1.645 * _DELAY_SIGMA) / 12
    fig = go.Figure()
    op = dated["status"] == "operating"
    fig.add_trace(
        go.Bar(
            y=[y for y, o in zip(ylab, op, strict=True) if o],
            x=[horizon - s for s in dated.loc[op, "start_year"]],
            base=list(dated.loc[op, "start_year"]),
            orientation="h",
            name="Operating",
            marker_color="#3182bd",
            hovertemplate="%{y}: operating since %{base:.0f}<extra></extra>",
        )
    )
    rest = ~op
    fig.add_trace(
        go.Bar(
            y=[y for y, o in zip(ylab, rest, strict=True) if o],
            x=[p95 - p5] * int(rest.sum()),
            base=[s + p5 for s in dated.loc[rest, "start_year"]],
            orientation="h",
            name="Delay band (p5-p95 of the simulated delay)",
            marker_color="rgba(230, 85, 13, 0.35)",
            hovertemplate="%{y}: start between %{base:.1f} and %{x:.1f} years later<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            y=[y for y, o in zip(ylab, rest, strict=True) if o],
            x=list(dated.loc[rest, "start_year"]),
            mode="markers",
            name="Announced start (planned, construction, suspended)",
            marker={"symbol": "diamond", "size": 9, "color": "#e6550d"},
            customdata=list(dated.loc[rest, "status"]),
            hovertemplate="%{y}: announced %{x:.0f} (%{customdata})<extra></extra>",
        )
    )
    fig.update_layout(
        barmode="overlay",
        title={"text": "Project pipeline by stage and country", "x": 0.02},
        xaxis={"title": {"text": "year"}, "range": [2010, horizon + 0.5]},
        yaxis={"automargin": True, "tickfont": {"size": 10}},
        height=max(420, 22 * len(dated) + 160),
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
        meta={"critmin_figure": "projects_gantt"},
    )
    add_caption(
        fig,
        ", ".join(sorted(set(dated["source_id"].astype(str)))),
        [
            f"{len(t) - len(dated)} projects without a start year are not shown. Delay band: "
            "capacity.project_delay_months, lognormal(median 12, sigma 0.6)."
        ],
        ds.version,
    )
    return fig


def region_fan(run: ReportRun, region: str, *, other: ReportRun | None = None) -> go.Figure | None:
    """One region's shortfall (% of its demand) by month: p5-p95 band and median, ``other``'s
    median dashed. From the run's ``region_bands`` table; ``None`` when the run has none."""
    fig = go.Figure()
    found = False
    for which, r in enumerate([run, other] if other is not None else [run]):
        rb = r.tables.get("region_bands")
        if rb is None or rb.empty:
            continue
        sel = rb.loc[rb["region"] == region]
        if sel.empty:
            continue
        found = True
        x = [f"{m}-01" for m in sel["month"]]
        colour = ("#B33C00", "#005A8C")[which]
        fill = ("rgba(213, 94, 0, 0.22)", "rgba(0, 114, 178, 0.18)")[which]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=list(sel["shortfall_pct_p95"]),
                mode="lines",
                line={"width": 0.5, "color": colour},
                line_shape="hv",
                showlegend=False,
                name=f"p95: {r.label}",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=list(sel["shortfall_pct_p5"]),
                mode="lines",
                fill="tonexty",
                fillcolor=fill,
                line={"width": 0.5, "color": colour},
                line_shape="hv",
                name=f"p5-p95: {r.label}",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=list(sel["shortfall_pct_p50"]),
                mode="lines",
                line_shape="hv",
                line={"width": 2.2, "color": colour, "dash": "solid" if which == 0 else "dash"},
                name=f"median: {r.label}",
            )
        )
    if not found:
        return None
    fig.update_layout(
        title={
            "text": esc(f"{run.chain_title(run.primary_chain)}: shortfall in {region_label(region)}"),
            "x": 0.02,
        },
        xaxis={"title": {"text": "month"}, "type": "date"},
        yaxis={
            "title": {"text": f"unmet demand in {region_label(region)} (% of its demand)"},
            "rangemode": "tozero",
        },
        hovermode="x unified",
        height=520,
        meta={"critmin_figure": "region_fan", "region": region},
    )
    add_caption(
        fig,
        "",
        [f"Band: 5th to 95th percentile across paths; line: median. {run.provenance}."],
        run.data_version,
    )
    return fig


def frame_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows of ``frame`` as dicts (JSON-safe via :func:`critmin.jsonsafe.json_safe` by the caller)."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]
