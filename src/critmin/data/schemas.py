"""pandera schemas: one per bundled table. Loading the dataset validates every table.

Conventions shared by all tables:

* ``country`` is ISO 3166 alpha-3, an aggregate code (``WLD``, ``OTH``, ``ROW``, ``EU27``,
  ``EUR``, ``exCHN``) or a ``+``-joined group (``CHN+MYS+AUS``); see :mod:`critmin.model.countries`.
* ``commodity`` is an id in the registry; ``stage`` a :class:`~critmin.model.stages.Stage` value.
* Shares are fractions in [0, 1], never percent.
* ``qualifier`` keeps the publisher's hedge: ``exact``, ``about``, ``over`` (more than / greater
  than / ">"), ``under`` (less than / "<"), ``nearly``, ``range``, ``withheld`` (USGS "W", value
  missing), ``not_available`` (NA, value missing), ``computed`` (derived by a transcriber or by
  critmin), ``projection``.
* Every row has a ``source_id`` resolving to :class:`~critmin.data.catalogue.Source`.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

QUALIFIERS = (
    "exact",
    "about",
    "over",
    "under",
    "nearly",
    "range",
    "withheld",
    "not_available",
    "not_applicable",
    "computed",
    "projection",
    "adjusted",
)
MEASURES = ("production", "reserves", "capacity")
STAGES = ("mining", "separation", "metal_alloy", "magnet", "component", "end_use")
NIR_BOUNDS = ("eq", "gt", "lt", "net_exporter", "not_available")


class _Sourced(pa.DataFrameModel):
    source_id: Series[str] = pa.Field(str_length={"min_value": 1})

    class Config:
        strict = True
        coerce = True


class ProductionSchema(_Sourced):
    """World production, reserves and capacity by country (USGS MCS, BGS, user overlays).

    ``value`` is in ``unit`` on the commodity's basis at that stage; NaN only when
    ``qualifier`` is ``withheld``/``not_available``/``not_applicable``. ``vintage`` is the
    publication year of the source edition (MCS 2024 -> 2024); ``series`` keeps the
    publisher's row label (USGS ``Type``) and ``note`` its footnotes.
    """

    commodity: Series[str]
    stage: Series[str] = pa.Field(isin=STAGES)
    measure: Series[str] = pa.Field(isin=MEASURES)
    country: Series[str]
    year: Series[int] = pa.Field(ge=1900, le=2100)
    value: Series[float] = pa.Field(ge=0, nullable=True)
    unit: Series[str]
    qualifier: Series[str] = pa.Field(isin=QUALIFIERS)
    estimated: Series[bool]
    vintage: Series[int] = pa.Field(ge=1900, le=2100)
    series: Series[str] = pa.Field(nullable=True)
    note: Series[str] = pa.Field(nullable=True)


class StageShareSchema(_Sourced):
    """Published country shares of a stage (where no tonnage table exists, e.g. separation).

    ``share`` in [0, 1]. ``scope`` says what was measured ("magnet rare earth elements",
    "rare earths processing"); ``basis`` is ``volume``, ``capacity`` or ``value``.
    ``is_assumption`` rows fill a gap and point at an ``assumption`` source with a rationale.
    """

    commodity: Series[str]
    stage: Series[str] = pa.Field(isin=STAGES)
    country: Series[str]
    year: Series[int] = pa.Field(ge=1900, le=2100)
    share: Series[float] = pa.Field(ge=0, le=1)
    qualifier: Series[str] = pa.Field(isin=QUALIFIERS)
    scope: Series[str]
    basis: Series[str] = pa.Field(isin=("volume", "capacity", "value"))
    is_projection: Series[bool]
    is_assumption: Series[bool]
    quality: Series[str] = pa.Field(nullable=True)
    note: Series[str] = pa.Field(nullable=True)


class ImportRelianceSchema(_Sourced):
    """Net import reliance as published (USGS MCS Fig. 2, salient tables).

    ``value`` is a fraction (0.95 for ">95"); ``bound`` says how to read it: ``eq``, ``gt``
    (">95" -> value 0.95, bound gt), ``lt``, ``net_exporter`` (USGS "E"; value NaN) or
    ``not_available``. ``as_printed`` keeps the original text.
    """

    importer: Series[str]
    commodity: Series[str]
    year: Series[int] = pa.Field(ge=1900, le=2100)
    value: Series[float] = pa.Field(ge=0, le=1, nullable=True)
    bound: Series[str] = pa.Field(isin=NIR_BOUNDS)
    as_printed: Series[str]
    vintage: Series[int]
    note: Series[str] = pa.Field(nullable=True)


class SalientSchema(_Sourced):
    """US salient statistics (production, imports, exports, consumption, prices, stocks).

    ``item`` is a snake_case id (``imports_compounds``, ``apparent_consumption``,
    ``price_ndpr_oxide``...), ``label`` the publisher's wording.
    """

    country: Series[str]
    commodity: Series[str]
    year: Series[int] = pa.Field(ge=1900, le=2100)
    item: Series[str]
    label: Series[str]
    value: Series[float] = pa.Field(nullable=True)
    unit: Series[str]
    qualifier: Series[str] = pa.Field(isin=QUALIFIERS)
    estimated: Series[bool]
    vintage: Series[int]
    note: Series[str] = pa.Field(nullable=True)


class ImportSourceSchema(_Sourced):
    """Shares of an importer's imports by partner over a period (USGS "Import sources")."""

    importer: Series[str]
    commodity: Series[str]
    period: Series[str]
    partner: Series[str]
    share: Series[float] = pa.Field(ge=0, le=1)
    vintage: Series[int]
    note: Series[str] = pa.Field(nullable=True)


class WGISchema(_Sourced):
    """World Bank Worldwide Governance Indicators, one row per country x year x indicator.

    ``indicator`` in va, pv, ge, rq, rl, cc; ``estimate`` on the ~-2.5..2.5 scale.
    """

    country: Series[str]
    year: Series[int] = pa.Field(ge=1996, le=2100)
    indicator: Series[str] = pa.Field(isin=("va", "pv", "ge", "rq", "rl", "cc"))
    estimate: Series[float] = pa.Field(ge=-5, le=5)
    stddev: Series[float] = pa.Field(nullable=True)
    pctrank: Series[float] = pa.Field(ge=0, le=100, nullable=True)


class ProjectSchema(_Sourced):
    """Ex-China project pipeline: one row per project and stage.

    ``capacity`` is in ``capacity_unit`` (as published: "t/yr NdPr oxide"...); ranges keep
    ``capacity_low``/``capacity_high``. ``start_year`` may be missing (NaN).
    """

    project: Series[str]
    company: Series[str]
    country: Series[str]
    stage: Series[str]
    product: Series[str] = pa.Field(nullable=True)
    capacity: Series[float] = pa.Field(ge=0, nullable=True)
    capacity_low: Series[float] = pa.Field(ge=0, nullable=True)
    capacity_high: Series[float] = pa.Field(ge=0, nullable=True)
    capacity_unit: Series[str] = pa.Field(nullable=True)
    capacity_qualifier: Series[str] = pa.Field(nullable=True)
    status: Series[str] = pa.Field(nullable=True)
    start_year: Series[float] = pa.Field(nullable=True)
    quality: Series[str] = pa.Field(nullable=True)
    note: Series[str] = pa.Field(nullable=True)


class PriceSchema(_Sourced):
    """Price observations. ``unit`` is normalised (``usd_per_kg``, ``cny_per_t``, ...).

    ``value`` is the midpoint where a range was printed (``value_low``/``value_high`` kept).
    """

    date: Series[str] = pa.Field(str_matches=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    product: Series[str]
    market: Series[str]
    value: Series[float] = pa.Field(ge=0, nullable=True)
    value_low: Series[float] = pa.Field(ge=0, nullable=True)
    value_high: Series[float] = pa.Field(ge=0, nullable=True)
    unit: Series[str]
    qualifier: Series[str] = pa.Field(nullable=True)
    note: Series[str] = pa.Field(nullable=True)


class IntensitySchema(_Sourced):
    """Material intensities (kg NdFeB per EV motor, t/MW wind, composition wt%...)."""

    item: Series[str]
    category: Series[str]
    value: Series[float] = pa.Field(nullable=True)
    value_low: Series[float] = pa.Field(nullable=True)
    value_high: Series[float] = pa.Field(nullable=True)
    unit: Series[str]
    qualifier: Series[str] = pa.Field(nullable=True)
    quality: Series[str] = pa.Field(nullable=True)
    note: Series[str] = pa.Field(nullable=True)


class EndUseSchema(_Sourced):
    """Demand shares by end use (``share`` fraction; ``basis`` volume or value)."""

    scope: Series[str]
    end_use: Series[str]
    share: Series[float] = pa.Field(ge=0, le=1, nullable=True)
    value: Series[float] = pa.Field(nullable=True)
    unit: Series[str] = pa.Field(nullable=True)
    qualifier: Series[str] = pa.Field(nullable=True)
    year: Series[str] = pa.Field(nullable=True)
    basis: Series[str] = pa.Field(nullable=True)
    quality: Series[str] = pa.Field(nullable=True)
    note: Series[str] = pa.Field(nullable=True)


class PolicyEventSchema(_Sourced):
    """Export-control and policy timeline (dates ISO ``YYYY-MM-DD`` or ``YYYY-MM``)."""

    date: Series[str] = pa.Field(str_matches=r"^\d{4}-\d{2}(-\d{2})?$")
    actor: Series[str]
    instrument: Series[str]
    items: Series[str] = pa.Field(nullable=True)
    scope: Series[str] = pa.Field(nullable=True)
    effective_date: Series[str] = pa.Field(nullable=True)
    end_date: Series[str] = pa.Field(nullable=True)
    date_qualifier: Series[str] = pa.Field(nullable=True)
    quality: Series[str] = pa.Field(nullable=True)
    note: Series[str] = pa.Field(nullable=True)


#: table name -> (file name in the bundled folder, schema)
TABLES: dict[str, tuple[str, type[pa.DataFrameModel]]] = {
    "production": ("production.csv", ProductionSchema),
    "stage_shares": ("stage_shares.csv", StageShareSchema),
    "import_reliance": ("import_reliance.csv", ImportRelianceSchema),
    "salient": ("salient.csv", SalientSchema),
    "import_sources": ("import_sources.csv", ImportSourceSchema),
    "wgi": ("wgi.csv", WGISchema),
    "projects": ("projects.csv", ProjectSchema),
    "prices": ("prices.csv", PriceSchema),
    "intensities": ("intensities.csv", IntensitySchema),
    "end_uses": ("end_uses.csv", EndUseSchema),
    "policy_events": ("policy_events.csv", PolicyEventSchema),
}


def table_columns(name: str) -> list[str]:
    """Column names of table ``name`` with ``source_id`` last (the order converters build rows in)."""
    cols = [c for c in TABLES[name][1].to_schema().columns if c != "source_id"]
    return [*cols, "source_id"]
