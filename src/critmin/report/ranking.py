"""USGS 2022 supply-risk ranking as a horizontal bar figure."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go  # type: ignore[import-untyped]

from critmin.errors import DataError
from critmin.report.figures import add_caption


def usgs_ranking(table: pd.DataFrame, *, top: int = 25, title: str | None = None) -> go.Figure:
    """Top ``top`` commodities by USGS supply-risk score, bars split into their three factors.

    ``table`` is :func:`critmin.metrics.criticality.usgs_2022` output: columns ``commodity``,
    ``score``, ``rank``, ``dp`` (disruption potential), ``te`` (trade exposure), ``ev``
    (economic vulnerability) and ``assumed_inputs``. Bars show the score; hover shows factors.
    """
    need = ["commodity", "score", "rank", "dp", "te", "ev"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise DataError(
            f"ranking table lacks column(s) {', '.join(missing)}",
            column=missing[0],
            fix="pass the output of critmin.criticality(method='usgs')",
        )
    t = table.loc[pd.to_numeric(table["score"], errors="coerce").notna()].sort_values("rank").head(top)
    t = t.iloc[::-1]  # largest at the top of a horizontal bar chart
    assumed = t.get("assumed_inputs", pd.Series([[]] * len(t), index=t.index))
    hover = [
        f"<b>{c}</b><br>score {s:.3f} (rank {int(r)})<br>disruption potential {dp:.3f}<br>"
        f"trade exposure {te:.2f}<br>economic vulnerability {ev:.2f}<br>assumed: {', '.join(a) or 'none'}"
        for c, s, r, dp, te, ev, a in zip(
            t["commodity"], t["score"], t["rank"], t["dp"], t["te"], t["ev"], assumed, strict=True
        )
    ]
    fig = go.Figure(
        go.Bar(
            x=t["score"],
            y=t["commodity"],
            orientation="h",
            hovertext=hover,
            hoverinfo="text",
            marker={"color": "#b2182b"},
        )
    )
    fig.update_layout(
        title=title or f"USGS 2022 supply-risk score (top {len(t)})",
        xaxis_title="supply risk = DP x TE x EV",
        height=max(400, 24 * len(t) + 200),
        meta={"method": "usgs", "commodities": list(t["commodity"])},
    )
    add_caption(
        fig,
        "Method: Nassar & Fortier (2021), USGS OFR 2021-1045; inputs from the bundled dataset.",
        ["Economic vulnerability and some inputs are documented defaults (see assumed inputs on hover)."],
        None,
    )
    return fig
