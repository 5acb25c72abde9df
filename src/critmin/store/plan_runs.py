"""What a stored plan or stockpile run keeps, and how two of them compare.

:class:`critmin.store.runs.RunStore` stores runs of three kinds; this module knows the two that
come from the planner (:mod:`critmin.plan`):

``plan``       a :class:`~critmin.plan.result.PlanResult` (``critmin plan``, ``POST /api/v1/plans``):
               the tables ``portfolio``, ``costs`` (expected NPV cost, US$ m, by instrument,
               region and payer), ``shadow_prices``, ``in_sample`` (target, share of the
               optimisation's futures in which it holds), ``conflicts`` (infeasible plans),
               ``verification`` and ``verification_events`` (``--verify``), ``frontier`` and
               ``alternatives`` (``--frontier``); the resolved plan spec as YAML; the seed, the
               futures (stored as the run's ``paths``), the data and package versions;
``stockpile``  a :class:`~critmin.plan.stockpile.StockpileResult` (``critmin stockpile``): the
               tables ``results`` (measure, value, unit: size, probabilities, costs),
               ``metric`` (the shortfall metric's p5/p50/p95 without and with the stockpile),
               ``tried`` (every size the search ran) and ``fill_schedule``; the spec as YAML.

Everything here is pure (frames in, frames out): no store file is opened.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from critmin.plan.result import PlanResult
    from critmin.plan.stockpile import StockpileResult

#: The key columns of a portfolio row (one decision) and of a cost row.
PORTFOLIO_KEYS = ("instrument", "buyer", "project", "product", "host")
COST_KEYS = ("instrument", "region", "payer")
COST_VALUE = "expected_npv_musd"


def _yaml(doc: Any) -> str:
    import yaml

    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


# ---------------------------------------------------------------------------- plans
def plan_tables(
    result: PlanResult, extra: Mapping[str, pd.DataFrame] | None = None
) -> dict[str, pd.DataFrame]:
    """The tables a stored plan run keeps (module docstring); ``extra``: more tables by name
    (``frontier``, ``alternatives``), stored as given."""
    frames: dict[str, pd.DataFrame] = {
        "portfolio": _or_empty(result.portfolio, ["instrument", "buyer", "payer", *PORTFOLIO_KEYS[2:]]),
        "costs": _or_empty(result.costs, [*COST_KEYS, COST_VALUE]),
    }
    if result.shadows:
        frames["shadow_prices"] = pd.DataFrame([s.__dict__ for s in result.shadows])
    if result.in_sample:
        frames["in_sample"] = pd.DataFrame(
            {"target": list(result.in_sample), "share": [float(v) for v in result.in_sample.values()]}
        )
    if result.conflicts:
        frames["conflicts"] = pd.DataFrame({"conflict": list(result.conflicts)})
    ver = result.verification
    if ver is not None:
        frames["verification"] = ver.table()
        events = ver.to_dict().get("events") or []
        if events:
            frames["verification_events"] = pd.DataFrame(
                [{k: _scalar(v) for k, v in e.items()} for e in events]
            )
    for name, frame in (extra or {}).items():
        if frame is not None:
            frames[str(name)] = frame
    return frames


def plan_meta(result: PlanResult) -> dict[str, Any]:
    """The JSON document stored with a plan run (what the tables do not hold)."""
    from critmin.jsonsafe import json_safe

    s = result.spec
    v = result.value
    ver = result.verification
    return dict(
        json_safe(
            {
                "plan": s.name,
                "description": s.description,
                "scenario": s.scenario,
                "years": [s.years.start, s.years.end],
                "regions": list(s.regions),
                "products": list(s.products),
                "status": result.status.value,
                "objective_musd": result.objective_musd,
                "futures": result.futures,
                "value_of_information": None if v is None else v.__dict__,
                "model_size": result.size,
                "timings_s": result.timings_s,
                "notes": result.notes,
                "verification": None
                if ver is None
                else {"paths": ver.paths, "seed": ver.seed, "notes": list(ver.notes)},
            }
        )
    )


def plan_spec_yaml(result: PlanResult) -> str:
    """The resolved plan spec as YAML text."""
    return _yaml(json.loads(result.spec.model_dump_json()))


def compare_plans(a: Mapping[str, pd.DataFrame], b: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Two plan runs' tables compared (B - A).

    ``portfolio``: one row per decision (:data:`PORTFOLIO_KEYS`) in either run with its unit,
    years and ``amount_a``, ``amount_b``, ``diff_amount`` (a decision only one run takes counts
    as 0 in the other); ``costs``: expected NPV cost (US$ m) per instrument, region and payer
    (``musd_a``, ``musd_b``, ``diff_musd``) and a last ``total`` row.
    """
    keys = list(PORTFOLIO_KEYS)
    cols = [*keys, "unit", "years", "amount"]
    pa = _or_empty(a.get("portfolio"), cols)[cols]
    pb = _or_empty(b.get("portfolio"), cols)[cols]
    pf = _ordered_merge(pa, pb, keys)
    pf["unit"] = pf["unit_a"].where(pf["unit_a"].notna(), pf["unit_b"])
    for c in ("amount_a", "amount_b"):
        pf[c] = pd.to_numeric(pf[c], errors="coerce").fillna(0.0)
    pf["diff_amount"] = pf["amount_b"] - pf["amount_a"]
    pf = pf[[*keys, "unit", "years_a", "years_b", "amount_a", "amount_b", "diff_amount"]]

    ckeys = list(COST_KEYS)
    ca = _or_empty(a.get("costs"), [*ckeys, COST_VALUE])[[*ckeys, COST_VALUE]]
    cb = _or_empty(b.get("costs"), [*ckeys, COST_VALUE])[[*ckeys, COST_VALUE]]
    co = _ordered_merge(ca, cb, ckeys)
    co = co.rename(columns={f"{COST_VALUE}_a": "musd_a", f"{COST_VALUE}_b": "musd_b"})
    for c in ("musd_a", "musd_b"):
        co[c] = pd.to_numeric(co[c], errors="coerce").fillna(0.0)
    total = {"instrument": "total", "region": "", "payer": "", "musd_a": co["musd_a"].sum()}
    total["musd_b"] = co["musd_b"].sum()
    co = pd.concat([co, pd.DataFrame([total])], ignore_index=True)
    co["diff_musd"] = co["musd_b"] - co["musd_a"]
    return {"portfolio": pf.reset_index(drop=True), "costs": co.reset_index(drop=True)}


# ---------------------------------------------------------------------------- stockpiles
def stockpile_tables(result: StockpileResult) -> dict[str, pd.DataFrame]:
    """The tables a stored stockpile run keeps (module docstring)."""
    doc = result.to_dict()
    rows: list[tuple[str, Any, str]] = [
        ("size_t", doc["size_t"], "t"),
        ("next_smaller_t", doc["next_smaller_t"], "t"),
        ("reached", float(bool(doc["reached"])), "1 = yes"),
        ("probability_at_size", doc["probability_at_size"], "share of paths"),
        ("probability_without", doc["probability_without"], "share of paths"),
        ("months_of_demand", doc["months_of_demand"], "months of the region's mean demand"),
        ("monthly_demand_t", result.monthly_demand_t, "t a month"),
    ]
    units = {"anchor_usd_per_kg": "US$/kg", "fill_price_usd_per_kg_p50": "US$/kg", "holding_years": "years"}
    for k, v in (doc.get("cost_usd") or {}).items():
        rows.append((f"cost.{k}", v, units.get(k, "US$")))
    results = pd.DataFrame(rows, columns=["measure", "value", "unit"])
    results["value"] = pd.to_numeric(results["value"], errors="coerce")
    q = ("p5", "p50", "p95")
    metric = pd.DataFrame(
        [
            {"case": "without", **{k: (doc["metric_without_pct"] or {}).get(k) for k in q}},
            {"case": "with", **{k: (doc["metric_with_pct"] or {}).get(k) for k in q}},
        ]
    )
    tried = pd.DataFrame(doc["tried"], columns=["size_t", "probability", "passes"])
    fill = pd.DataFrame(doc["fill_schedule"], columns=["month", "t"])
    return {"results": results, "metric": metric, "tried": tried, "fill_schedule": fill}


def stockpile_meta(result: StockpileResult) -> dict[str, Any]:
    """The JSON document stored with a stockpile run."""
    from critmin.jsonsafe import json_safe

    return dict(
        json_safe(
            {
                "scenario": result.spec.scenario,
                "region": result.spec.region,
                "product": result.spec.product,
                "chain": result.chain,
                "product_title": result.product_title,
                "window": list(result.window),
                "reached": result.reached,
                "monotone": result.monotone,
                "assumptions": list(result.assumptions),
            }
        )
    )


def stockpile_name(result: StockpileResult) -> str:
    """``controls-reimposed-2026-11 USA ndfeb_magnets``: what ``critmin runs list`` shows."""
    s = result.spec
    return f"{s.scenario} {s.region} {s.product}"


def stockpile_spec_yaml(result: StockpileResult) -> str:
    """The stockpile spec (target, confidence, window ...) as YAML text."""
    return _yaml(asdict(result.spec))


def compare_stockpiles(
    a: Mapping[str, pd.DataFrame], b: Mapping[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """Two stockpile runs' ``results`` side by side: measure, unit, ``value_a``, ``value_b``,
    ``diff`` (B - A; empty where a run has no value)."""
    cols = ["measure", "value", "unit"]
    ra = _or_empty(a.get("results"), cols)[cols]
    rb = _or_empty(b.get("results"), cols)[cols]
    out = _ordered_merge(ra, rb, ["measure"])
    out["unit"] = out["unit_a"].where(out["unit_a"].notna(), out["unit_b"])
    out["diff"] = pd.to_numeric(out["value_b"], errors="coerce") - pd.to_numeric(
        out["value_a"], errors="coerce"
    )
    return {"results": out[["measure", "unit", "value_a", "value_b", "diff"]].reset_index(drop=True)}


# ---------------------------------------------------------------------------- helpers
def _ordered_merge(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Outer join on ``keys`` (suffixes ``_a``/``_b``) in A's row order, then B's own rows."""
    a = a.assign(_pos_a=range(len(a)))
    b = b.assign(_pos_b=range(len(b)))
    for k in keys:  # one dtype on both sides (an empty side's columns are objects)
        a[k] = a[k].astype(object).where(a[k].notna(), "")
        b[k] = b[k].astype(object).where(b[k].notna(), "")
    out = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"))
    order = out["_pos_a"].fillna(len(a) + out["_pos_b"])
    out = out.iloc[order.argsort(kind="stable")]
    return out.drop(columns=["_pos_a", "_pos_b"]).reset_index(drop=True)


def _or_empty(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """``frame``, or an empty frame with ``columns`` (an infeasible plan has no portfolio);
    missing columns are added empty."""
    if frame is None or (frame.empty and len(frame.columns) == 0):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    out = frame.copy()
    for c in columns:
        if c not in out.columns:
            out[c] = None
    return out


def _scalar(v: Any) -> Any:
    from critmin.jsonsafe import dumps

    return dumps(v, default=str) if isinstance(v, list | dict | tuple) else v


__all__ = [
    "COST_KEYS",
    "PORTFOLIO_KEYS",
    "compare_plans",
    "compare_stockpiles",
    "plan_meta",
    "plan_spec_yaml",
    "plan_tables",
    "stockpile_meta",
    "stockpile_name",
    "stockpile_spec_yaml",
    "stockpile_tables",
]
