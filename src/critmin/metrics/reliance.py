"""Net import reliance (NIR).

USGS definition (Mineral Commodity Summaries, "Net import reliance"): imports minus exports,
adjusted for government and industry stock changes, as a share of apparent consumption, where
apparent consumption = primary + secondary production + imports - exports +/- stock change.
Equivalently NIR = (apparent consumption - domestic production) / apparent consumption. A
negative value means a net exporter (USGS prints "E").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from critmin.data.dataset import Dataset
from critmin.jsonsafe import json_safe
from critmin.model.commodities import registry


@dataclass(frozen=True)
class NIRFigure:
    """One net-import-reliance figure.

    ``value`` is a fraction (NaN for a net exporter); ``bound`` is ``eq``, ``gt``, ``lt``,
    ``net_exporter`` or ``not_available``; ``method`` is ``computed`` (from salient statistics
    here) or ``published`` (as printed by USGS, ``as_printed`` kept). ``form`` says which
    product form the figure covers (e.g. "compounds and metals").
    """

    importer: str
    commodity: str
    year: int
    value: float
    bound: str
    method: str
    source_id: str
    as_printed: str | None = None
    form: str | None = None
    published_value: float | None = None
    published_bound: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN -> None): :func:`critmin.jsonsafe.json_safe`."""
        out: dict[str, Any] = json_safe(asdict(self))
        return out


def net_import_reliance(
    *,
    apparent_consumption: float | None = None,
    production: float | None = None,
    imports: float | None = None,
    exports: float | None = None,
    stock_change: float = 0.0,
) -> tuple[float, str]:
    """NIR as (fraction, bound) from quantities in one unit.

    Either ``apparent_consumption`` and ``production`` (NIR = (AC - P) / AC), or ``imports``,
    ``exports`` and ``production`` (AC = P + I - E - stock_change, where ``stock_change`` is the
    increase in stocks; NIR = (I - E - stock_change) / AC). Returns ``(nan, "net_exporter")``
    when net imports are negative, ``(nan, "not_available")`` when AC <= 0 or inputs are missing.
    """
    if apparent_consumption is None:
        if imports is None or exports is None or production is None:
            return float("nan"), "not_available"
        apparent_consumption = production + imports - exports - stock_change
        net = imports - exports - stock_change
    else:
        if production is None:
            return float("nan"), "not_available"
        net = apparent_consumption - production
    if apparent_consumption <= 0 or math.isnan(apparent_consumption):
        return float("nan"), "not_available"
    if net < 0:
        return float("nan"), "net_exporter"
    return min(1.0, net / apparent_consumption), "eq"


#: Salient item pairs giving apparent consumption and domestic production of the same form.
#: (apparent-consumption item, production items summed, form)
_PAIRS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("apparent_consumption_compounds_metals", ("production_compounds_metals",), "compounds and metals"),
    ("apparent_consumption", ("primary_production", "secondary_production"), "all forms"),
)


def computed_nir(
    ds: Dataset, commodity: str, importer: str = "USA", year: int | None = None
) -> NIRFigure | None:
    """NIR computed from the bundled salient statistics, newest vintage first; None if impossible."""
    c = registry().get(commodity)
    s = ds.table("salient")
    s = s.loc[(s["commodity"] == c.id) & (s["country"] == importer) & s["value"].notna()]
    if year is not None:
        s = s.loc[s["year"] == int(year)]
    if s.empty:
        return None
    best: NIRFigure | None = None
    for (yr, _vintage), grp in sorted(s.groupby(["year", "vintage"]), key=lambda kv: kv[0], reverse=True):
        items = grp.drop_duplicates("item").set_index("item")
        val = items["value"].astype(float).to_dict()
        src = items["source_id"].astype(str).to_dict()
        for ac_item, prod_items, form in _PAIRS:
            if ac_item not in items.index or not all(p in items.index for p in prod_items):
                continue
            ac = val[ac_item]
            prod = sum(val[p] for p in prod_items)
            value, bound = net_import_reliance(apparent_consumption=ac, production=prod)
            fig = NIRFigure(
                importer,
                c.id,
                int(str(yr)),
                value,
                bound,
                "computed",
                src[ac_item],
                None,
                form,
            )
            if best is None:
                best = fig
            break
        if best is not None:
            break
    return best


def published_nir(
    ds: Dataset, commodity: str, importer: str = "USA", year: int | None = None
) -> pd.DataFrame:
    """Published NIR rows (newest year, then newest vintage first)."""
    c = registry().get(commodity)
    t = ds.table("import_reliance")
    t = t.loc[(t["commodity"] == c.id) & (t["importer"] == importer)]
    if year is not None:
        t = t.loc[t["year"] == int(year)]
    return t.sort_values(["year", "vintage"], ascending=False).reset_index(drop=True)


def best_nir(ds: Dataset, commodity: str, importer: str = "USA", year: int | None = None) -> NIRFigure | None:
    """The figure to report: computed where salient data allow, else the published one.

    The published figure for the same year (newest vintage, a non-net-exporter form first) is
    attached for comparison (``published_value``/``published_bound``/``as_printed``).
    """
    comp = computed_nir(ds, commodity, importer, year)
    pub = published_nir(ds, commodity, importer, year if year is not None else (comp.year if comp else None))
    if pub.empty and comp is not None and year is None:
        pub = published_nir(ds, commodity, importer, None)
    prow = None
    if len(pub):
        latest = pub.loc[(pub["year"] == pub["year"].iloc[0]) & (pub["vintage"] == pub["vintage"].iloc[0])]
        latest = latest.assign(_e=latest["bound"] == "net_exporter").sort_values("_e", kind="mergesort")
        prow = latest.iloc[0]
    if comp is not None:
        if prow is None or int(prow["year"]) != comp.year:
            return comp
        return NIRFigure(
            comp.importer,
            comp.commodity,
            comp.year,
            comp.value,
            comp.bound,
            comp.method,
            comp.source_id,
            str(prow["as_printed"]),
            comp.form,
            float(prow["value"]),
            str(prow["bound"]),
        )
    if prow is None:
        return None
    note = str(prow["note"]) if isinstance(prow["note"], str) else ""
    if note.startswith("commodity as printed"):
        note = ""
    return NIRFigure(
        importer,
        registry().get(commodity).id,
        int(prow["year"]),
        float(prow["value"]),
        str(prow["bound"]),
        "published",
        str(prow["source_id"]),
        str(prow["as_printed"]),
        note.split(";")[0] or None,
        float(prow["value"]),
        str(prow["bound"]),
    )
