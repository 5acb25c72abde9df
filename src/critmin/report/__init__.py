"""Figures and tables for reports: world share maps, stacked shares by stage, the criticality
matrix, fan charts; result tables written as Parquet, CSV or Excel (:mod:`critmin.report.tables`).

See :mod:`critmin.report.figures`. The names below and the submodules load on first use
(:func:`critmin.lazy.lazy_submodules`): importing :mod:`critmin.report.tables` does not import
plotly; reading ``critmin.report.choropleth`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from critmin.lazy import lazy_submodules

if TYPE_CHECKING:
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

__getattr__, __dir__ = lazy_submodules(__name__, dict.fromkeys(__all__, "critmin.report.figures"))
