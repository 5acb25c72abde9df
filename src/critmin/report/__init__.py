"""Figures for reports: world share maps, stacked shares by stage, the criticality matrix.

See :mod:`critmin.report.figures`. Importing this package imports plotly.
"""

from __future__ import annotations

from critmin.report.figures import (
    EI_THRESHOLD,
    SR_THRESHOLD,
    StageShares,
    choropleth,
    criticality_matrix,
    png_export_available,
    png_export_problem,
    shares_at_stage,
    stage_bars,
    to_html,
    to_png,
    write_figure,
)

__all__ = [
    "EI_THRESHOLD",
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
