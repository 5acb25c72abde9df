"""Bundled tables from the transcribed web figures in ``data/raw/transcribed/``.

:func:`build_transcribed` is the one entry point the dataset build calls. It converts, with one
converter per raw file:

================================================  ==============================================
raw file                                          table(s)
================================================  ==============================================
``ree_stage_shares.csv``                          ``stage_shares`` (+ ``production`` tonnages)
``refining_and_magnet_share_statements.csv``      ``stage_shares`` (+ ``production`` tonnages)
``assumptions.yaml`` (this package)               ``stage_shares`` (``is_assumption`` rows)
``ree_projects_ex_china.csv`` (+ ``_partial``)    ``projects``
``ree_prices.csv``                                ``prices``
``ndfeb_intensity.csv``                           ``intensities``
``ree_demand_by_end_use.csv``                     ``end_uses``
``export_controls_timeline.csv``                  ``policy_events``
================================================  ==============================================

:func:`build_wgi` (defined in :mod:`critmin.data.importers.wgi`) is re-exported here for the
build: it returns ``{"wgi": ...}`` for 2023 only.

Not converted here: the ``usgs_mcs2025_*``/``usgs_mcs2026_*`` files (their own importer);
``iea_cmd_magnet_ree_supply_by_country_kt.csv`` (its shares are already the computed IEA rows of
``ree_stage_shares.csv``, and "magnet rare earth elements" is not a registry commodity);
``china_magnet_exports_monthly.csv`` (months after May 2025 are held back for judging
forecasts); ``bgs_risk_list_2015.csv`` (no table for it).

Every row cites a ``web`` Source, one per distinct URL: its id is
``web_source_id(publisher, first URL)``, the publisher being the first carrier named in the
row's ``source_publisher`` (or the URL's host where the file has no publisher column); the
Source's title, year and quality come from the first row citing the URL, with the AUDIT.md
corrections applied. Rows left out are listed in ``excluded`` when a list is passed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from critmin.data.catalogue import Source
from critmin.data.dataset import validate_table
from critmin.data.importers.wgi import build_wgi

from .transcribed_assumptions import build_assumption_shares
from .transcribed_common import Excluded, WebSources
from .transcribed_shares import PRODUCTION_COLUMNS, STAGE_SHARE_COLUMNS, convert_shares
from .transcribed_tables import (
    convert_end_uses,
    convert_intensities,
    convert_policy_events,
    convert_prices,
    convert_projects,
)

TABLE_NAMES: tuple[str, ...] = (
    "stage_shares",
    "production",
    "projects",
    "prices",
    "intensities",
    "end_uses",
    "policy_events",
)

_COLUMNS: dict[str, list[str]] = {
    "stage_shares": STAGE_SHARE_COLUMNS,
    "production": PRODUCTION_COLUMNS,
    "projects": [
        "project",
        "company",
        "country",
        "stage",
        "product",
        "capacity",
        "capacity_low",
        "capacity_high",
        "capacity_unit",
        "capacity_qualifier",
        "status",
        "start_year",
        "quality",
        "note",
        "source_id",
    ],
    "prices": [
        "date",
        "product",
        "market",
        "value",
        "value_low",
        "value_high",
        "unit",
        "qualifier",
        "note",
        "source_id",
    ],
    "intensities": [
        "item",
        "category",
        "value",
        "value_low",
        "value_high",
        "unit",
        "qualifier",
        "quality",
        "note",
        "source_id",
    ],
    "end_uses": [
        "scope",
        "end_use",
        "share",
        "value",
        "unit",
        "qualifier",
        "year",
        "basis",
        "quality",
        "note",
        "source_id",
    ],
    "policy_events": [
        "date",
        "actor",
        "instrument",
        "items",
        "scope",
        "effective_date",
        "end_date",
        "date_qualifier",
        "quality",
        "note",
        "source_id",
    ],
}


def _frame(name: str, records: list[dict[str, Any]], path: Path) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=_COLUMNS[name])
    return validate_table(frame, name, path=path)


#: Hand-curated, cited ex-China plant rows (same columns as ``ree_projects_ex_china.csv``).
CURATED_PLANTS = Path(__file__).with_name("curated") / "ree_plants_ex_china.csv"


#: China's magnet exports by partner (customs rows as printed or derived from printed y/y):
#: read at run time by :mod:`critmin.simulate.chains.destinations`; the build only registers
#: their sources in ``sources.yaml``.
EXPORT_PARTNERS = Path(__file__).with_name("curated") / "china_magnet_export_partners.csv"


def cite_export_partners(web: WebSources, path: Path = EXPORT_PARTNERS) -> set[str]:
    """Register the sources of the export-partner rows; return their ids."""
    from .transcribed_common import read_rows

    cols = ("month", "partner", "value_t", "basis", "source_url", "source_publisher", "source_date")
    ids: set[str] = set()
    for row in read_rows(path, cols):
        sid, _ = web.cite(
            row,
            publisher=row["source_publisher"],
            title="China magnet exports by partner (customs)",
            year=int(row["source_date"][:4]),
            quality="news (China customs data)",
        )
        ids.add(sid)
    return ids


def build_transcribed(
    raw_dir: Path | str,
    *,
    assumptions: Path | str | None = None,
    excluded: list[Excluded] | None = None,
) -> dict[str, tuple[pd.DataFrame, list[Source]]]:
    """All transcribed tables, keyed by table name, each with the Sources its rows cite.

    ``raw_dir`` is the ``data/raw`` folder (its ``transcribed/`` subfolder is read);
    ``assumptions`` overrides the packaged ``assumptions.yaml``; rows deliberately left out are
    appended to ``excluded``. Keys: ``stage_shares`` (published and assumption rows),
    ``production``, ``projects``, ``prices``, ``intensities``, ``end_uses``, ``policy_events``.
    Raises :class:`~critmin.errors.DataError` (file, line, column) on a malformed row.
    """
    root = Path(raw_dir) / "transcribed"
    skipped: list[Excluded] = [] if excluded is None else excluded
    web = WebSources()
    shares = convert_shares(root, web, skipped)
    assumed, assumed_sources = build_assumption_shares(assumptions)
    records = {
        "projects": (
            convert_projects(
                root / "ree_projects_ex_china.csv", root / "ree_projects_ex_china_partial.csv", web, skipped
            )
            # Hand-curated cited rows kept in the package (not in ../shared), so the build stays
            # reproducible: the ex-China plants the transcribed file lacks (issue 12 item 3).
            + convert_projects(CURATED_PLANTS, None, web, skipped),
            root / "ree_projects_ex_china.csv",
        ),
        "prices": (convert_prices(root / "ree_prices.csv", web, skipped), root / "ree_prices.csv"),
        "intensities": (convert_intensities(root / "ndfeb_intensity.csv", web), root / "ndfeb_intensity.csv"),
        "end_uses": (
            convert_end_uses(root / "ree_demand_by_end_use.csv", web),
            root / "ree_demand_by_end_use.csv",
        ),
        "policy_events": (
            convert_policy_events(root / "export_controls_timeline.csv", web, skipped),
            root / "export_controls_timeline.csv",
        ),
    }
    stage_shares = validate_table(
        pd.concat([shares.stage_shares, assumed], ignore_index=True), "stage_shares"
    )
    out: dict[str, tuple[pd.DataFrame, list[Source]]] = {
        "stage_shares": (
            stage_shares,
            [*web.sources(set(shares.stage_shares["source_id"])), *assumed_sources],
        ),
        "production": (shares.production, web.sources(set(shares.production["source_id"]))),
    }
    for name, (recs, path) in records.items():
        frame = _frame(name, recs, path)
        out[name] = (frame, web.sources(set(frame["source_id"])))
    partner_ids = cite_export_partners(web)
    frame, srcs = out["projects"]
    out["projects"] = (frame, [*srcs, *web.sources(partner_ids - set(frame["source_id"]))])
    return {name: out[name] for name in TABLE_NAMES}


__all__ = ["TABLE_NAMES", "Excluded", "build_assumption_shares", "build_transcribed", "build_wgi"]
