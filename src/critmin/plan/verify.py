"""``--verify``: replay a plan's portfolio in the full simulator on futures the optimisation
did not see, and report in what share of them each target holds (with the in-sample share).

Every first-stage decision becomes scenario events (:mod:`critmin.simulate.inputs.events`) on
top of the plan's scenario (:func:`plan_events`):

* **stockpiles**: one ``stockpile`` event per buyer, product and fill year, bought on the
  market (``fill_from: market``) in twelve monthly parts of the year's fill, as the planner
  buys its fills on the year's market; released to the owner (and to the other parties of a
  reciprocal agreement on the product) on any unmet need, as much as is needed
  (``release_when_short: 0``, ``release_share_per_month: 1``). Magnets are held at the
  rare-earth chain's users' stage, Dy+Tb oxide at the Dy + Tb feed's (its users are the magnet
  makers), NdPr oxide at the rare-earth chain's ``separation`` stage (released to the owner's
  metal makers when they lack oxide);
* **offtakes** of a project hosted in another region: ``offtake`` events (buyer, seller = the
  host region, the project's stage; Dy+Tb on the feed) in force over each contract's years
  (a ``lift`` ends them), at the contract's average t/yr over its span (per-year volumes
  within a tenor are averaged; the contracted total is kept); a buyer's own projects need no
  event (their output is already the buyer's);
* **co-financing**: a ``project`` event for the project (its ``sim_project`` in the projects
  table): start pulled forward by its ``cofinance_pull_years``, delay spread halved, as the
  planner's co-financed schedule; a project the simulator's pipeline lacks is added on that
  schedule (and noted: the replay then credits co-financing with the whole plant);
* **price floors**: a ``price_floor`` event at the strike on the floored capacity, paid by the
  floor's payer at the separation stage, and a ``project`` event cutting each floored
  project's delay tail at its median (the planner's ``min(lead, mode)``).

Units: the simulator's rare-earth chain counts its mining, separation and metal stages in t of
REO-equivalent (``volume.mining_t_per_year``) and makes ``volume.magnet_t_per_year`` t of
magnets from them; NdPr oxide stockpiles and offtakes are converted so that they make as many
magnets as in the planner (:func:`separation_t_per_t_ndpr`, about 3.2 t per t). Added projects
keep their t/yr, as the simulator's own pipeline rows do (``assumption:sim-project-capacity-units``).

Targets checked per future (the simulator's monthly magnet chain):

* coverage and cut-off targets: the defence sector's peak monthly shortfall in the region stays
  at or below 1 - the target share;
* concentration caps at the magnet stage: China's magnet deliveries to the region over its
  magnet consumption, each year from the target year, stay at or below the cap (separation-stage
  caps have no simulated counterpart and are reported as not checked).

The replay uses seed ``spec.seed + 1_000_003`` so its futures differ from the optimisation's.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from critmin.plan.result import PlanResult

SEED_OFFSET = 1_000_003
#: The planner's co-financed schedule halves the spread of the lead time (futures.py).
COFINANCED_SPREAD = 0.5
#: Where each plan product sits in the simulator: (chain, stage of the product, users' stage?).
PLACE = {
    "ndfeb_magnet": ("rare_earths", "magnet"),
    "ndpr_oxide": ("rare_earths", "separation"),
    "dytb_oxide": ("dy_tb", "separation"),
}


@dataclass(frozen=True)
class Verification:
    """Closed-loop result: per target, the share of unseen futures in which it holds."""

    paths: int
    seed: int
    events: tuple[dict[str, Any], ...]
    rows: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = ()
    #: decisions replayed, by instrument (stockpile fills, offtake contracts, ...)
    replayed: dict[str, int] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """target, in_sample, out_of_sample, gap (shares of futures)."""
        return pd.DataFrame(list(self.rows), columns=["target", "in_sample", "out_of_sample", "gap"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "paths": self.paths,
            "seed": self.seed,
            "replayed": dict(self.replayed),
            "events": list(self.events),
            "targets": list(self.rows),
            "notes": list(self.notes),
        }


def separation_t_per_t_ndpr(scenario: str) -> float:
    """t of the rare-earth chain's separation-stage product that make as many magnets as 1 t of
    NdPr oxide: (kg magnet per kg NdPr oxide, economics data) x mining volume / magnet volume
    (the scenario's parameter medians)."""
    from critmin.plan.economics import load_economics
    from critmin.simulate.assemble import resolve_values
    from critmin.simulate.chains.registry import chain_info
    from critmin.simulate.inputs.params import median
    from critmin.simulate.inputs.scenario import load_scenario

    values = resolve_values(load_scenario(scenario), chain_info("rare_earths"))
    ratio = median(values["volume.mining_t_per_year"]) / median(values["volume.magnet_t_per_year"])
    return float(load_economics().kg_magnet_per_kg["ndpr_oxide"]) * ratio


def _years(text: str) -> tuple[int, int]:
    a, _, b = str(text).partition("-")
    return int(a), int(b or a)


def _fills(detail: str) -> list[tuple[int, float]]:
    out = []
    for part in str(detail).removeprefix("fill t: ").split(", "):
        if ":" in part:
            y, t = part.split(":")
            out.append((int(y.strip()), float(t.replace(",", ""))))
    return out


def _tenor(detail: str) -> int | None:
    tail = str(detail).rpartition("tenor ")[2].split()
    return int(tail[0]) if tail and tail[0].isdigit() else None


def _month_of(year: float) -> dt.date:
    """Jan of a (possibly fractional) year: 2027.5 -> 2027-07-01."""
    y = math.floor(year)
    return dt.date(y, 1 + min(11, round((year - y) * 12)), 1)


def _allies(spec: Any, region: str, product: str) -> list[str]:
    out: list[str] = []
    for a in spec.constraints.reciprocal:
        if region in a.regions and product in a.products:
            out.extend(r for r in a.regions if r != region and r not in out)
    return out


def _stockpile_events(spec: Any, pf: pd.DataFrame, sep: float) -> list[dict[str, Any]]:
    events = []
    for row in pf[pf.instrument == "stockpile"].itertuples(index=False):
        chain, stage = PLACE[str(row.product)]
        unit = sep if row.product == "ndpr_oxide" else 1.0
        for y, t in _fills(str(row.detail)):
            if t <= 0:
                continue
            ev: dict[str, Any] = {
                "id": f"plan-stockpile-{str(row.buyer).lower()}-{str(row.product).replace('_', '-')}-{y}",
                "date": dt.date(y, 1, 1),
                "kind": "stockpile",
                "commodities": [chain],
                "region": row.buyer,
                "amount_t": t * unit,
                "fill_months": 12,
                "fill_from": "market",
                "release_when_short": 0.0,
                "release_share_per_month": 1.0,
                "release_to": _allies(spec, str(row.buyer), str(row.product)),
            }
            if row.product == "ndpr_oxide":
                ev["stage"] = stage
            events.append(ev)
    return events


def _offtake_events(spec: Any, pf: pd.DataFrame, sep: float) -> list[dict[str, Any]]:
    """Per (buyer, host, product): the yearly contracted volume, as offtake events over each run
    of equal volume (and a lift at its end)."""
    years = spec.years.years
    off = pf[(pf.instrument == "offtake") & (pf.buyer != pf.host)]
    sched: dict[tuple[str, str, str], np.ndarray] = {}
    for row in off.itertuples(index=False):
        y0, y1 = _years(str(row.years))
        span = y1 - y0 + 1
        tenor = _tenor(str(row.detail)) or span
        vol = sched.setdefault((str(row.buyer), str(row.host), str(row.product)), np.zeros(len(years)))
        for i, y in enumerate(years):
            if y0 <= y <= y1:
                vol[i] += float(row.amount) * tenor / span  # type: ignore[arg-type]
    events: list[dict[str, Any]] = []
    for (buyer, host, product), vol in sched.items():
        chain, stage = PLACE[product]
        unit = sep if product == "ndpr_oxide" else 1.0
        tag = f"{buyer.lower()}-{host.lower()}-{product.replace('_', '-')}"
        i = 0
        while i < len(years):
            j = i
            while j + 1 < len(years) and abs(vol[j + 1] - vol[i]) < 1e-9:
                j += 1
            if vol[i] > 1e-9:
                oid = f"plan-offtake-{tag}-{years[i]}"
                events.append(
                    {
                        "id": oid,
                        "date": dt.date(years[i], 1, 1),
                        "kind": "offtake",
                        "commodities": [chain],
                        "region": buyer,
                        "seller": host,
                        "stages": [stage],
                        "volume_t_per_year": float(vol[i]) * unit,
                    }
                )
                if j + 1 < len(years):
                    events.append(
                        {
                            "id": f"{oid}-end",
                            "date": dt.date(years[j + 1], 1, 1),
                            "kind": "lift",
                            "commodities": [chain],
                            "targets": [oid],
                        }
                    )
            i = j + 1
    return events


def _project_event(spec: Any, proj: pd.Series, pid: str, kind: str, added: list[str]) -> dict[str, Any]:
    chain, stage = PLACE[str(proj["product"])]
    ev: dict[str, Any] = {
        "id": f"plan-{kind}-{pid}",
        "date": dt.date(spec.years.start, 1, 1),
        "kind": "project",
        "commodities": [chain],
    }
    if kind == "cofinance":
        ev |= {"pull_months": 12.0 * float(proj["cofinance_pull_years"]), "delay_spread": COFINANCED_SPREAD}
    else:
        ev["delay_tail"] = "cut"
    name = str(proj.get("sim_project") or "")
    if name:
        return ev | {"project": name}
    start = proj.get("start_year_announced")
    begin = _month_of(float(start)) if start is not None and np.isfinite(start) else dt.date(2028, 1, 1)
    added.append(pid)
    return ev | {
        "project": f"{proj['project']} ({pid})",
        "stage": "magnet" if stage == "magnet" else "separation",
        "country": str(proj["country"]),
        "capacity_t_per_year": float(proj["capacity_t_per_year"]),
        "start": begin,
    }


def plan_events(result: PlanResult) -> tuple[list[dict[str, Any]], list[str], dict[str, int]]:
    """The portfolio as scenario event mappings (module docstring), the notes on what the
    replay changed, and the decisions replayed by instrument."""
    from critmin.plan.economics import load_economics

    spec = result.spec
    pf = result.portfolio
    if pf.empty:
        return [], [], {}
    sep = separation_t_per_t_ndpr(spec.scenario)
    events = _stockpile_events(spec, pf, sep) + _offtake_events(spec, pf, sep)
    projects = load_economics().projects.set_index("project_id")
    added: list[str] = []
    for kind in ("cofinance", "floor"):
        for pid in pf.loc[pf.instrument == kind, "project"].astype(str):
            proj: pd.Series = projects.loc[pid]  # type: ignore[assignment]
            events.append(_project_event(spec, proj, pid, kind, added))
    fl = pf[pf.instrument == "floor"]
    if not fl.empty:
        f = spec.instruments.floor
        events.append(
            {
                "id": "plan-price-floor",
                "date": dt.date(spec.years.start, 1, 1),
                "kind": "price_floor",
                "region": f.payer_region,
                "stages": ["separation"],
                "price_usd_per_kg": f.strike_usd_per_kg,
                "covered_t_per_year": float(fl["amount"].sum()),
            }
        )
    notes = []
    if added:
        notes.append(
            f"not in the simulator's pipeline, added on their {('co-financed or floored')} schedule: "
            + ", ".join(added)
            + " (the replay credits the instrument with the whole plant)"
        )
    if (pf.instrument == "stockpile").any():
        notes.append(
            "stockpiles are bought on the market month by month and released on any unmet need; "
            "the buyer's stockpile rules replace earlier ones (e.g. the NDS block's 20% trigger)"
        )
    if (pf["product"][pf.instrument.isin(["stockpile", "offtake"])] == "ndpr_oxide").any():
        notes.append(
            f"NdPr oxide at the separation stage: 1 t = {sep:.2f} t of the simulator's separation "
            "product (equal magnet yield); an oxide stockpile feeds only its owner's metal makers"
        )
    replayed = dict(Counter(str(i) for i in pf.instrument))
    return events, notes, replayed


def _replay(spec: Any, events: list[dict[str, Any]], paths: int, seed: int) -> tuple[Any, Any]:
    from critmin.simulate.assemble import RunInputs
    from critmin.simulate.executors import InProcess, RunOptions
    from critmin.simulate.inputs.scenario import load_scenario
    from critmin.simulate.result import join_results

    sc = load_scenario(spec.scenario)
    raw = sc.model_dump()
    sc = type(sc).model_validate(
        {
            **raw,
            "start": f"{spec.years.start}-01",
            "end": f"{spec.years.end}-12",
            "events": [*raw["events"], *events],
        }
    )
    inputs = RunInputs.build(sc, seed=seed, paths=paths)
    per_block = InProcess().run_blocks(inputs, inputs.blocks(), RunOptions(keep_trace=True))
    return inputs, join_results([b[0] for b in per_block])


def verify_plan(result: PlanResult, *, paths: int = 200) -> PlanResult:
    """``result`` with its :class:`Verification` (module docstring)."""
    spec = result.spec
    seed = (spec.seed + SEED_OFFSET) % (2**63)
    events, notes, replayed = plan_events(result)
    inputs, res = _replay(spec, events, paths, seed)
    rows = target_rows(result, inputs, res, notes)
    ver = Verification(
        paths, seed, tuple(_jsonable(e) for e in events), tuple(rows), tuple(dict.fromkeys(notes)), replayed
    )
    return replace(result, verification=ver)


def target_rows(result: PlanResult, inputs: Any, res: Any, notes: list[str]) -> list[dict[str, Any]]:
    """Per target of the plan: the in-sample and out-of-sample shares of futures where it holds
    (``notes`` gets what could not be checked)."""
    spec = result.spec
    regions = list(inputs.scenario.regions)
    chain = inputs.chains[0]
    sectors = chain.sectors.sectors if chain.sectors is not None else ()
    by = res.metrics.by_sector or {}
    peak = by.get("peak_shortfall_pct")  # [P, R, S]
    tr = res.trace
    n_y = len(spec.years.years)
    rows: list[dict[str, Any]] = []
    ins = result.in_sample

    def add(target: str, ok: np.ndarray | None, key: str | None) -> None:
        out = None if ok is None else float(np.mean(ok))
        inn = ins.get(key) if key else None
        rows.append(
            {
                "target": target,
                "in_sample": inn,
                "out_of_sample": out,
                "gap": None if (inn is None or out is None) else inn - out,
            }
        )

    c: Any
    k: Any

    def defence_ok(region: str, share: float) -> np.ndarray | None:
        if peak is None or "defence" not in sectors:
            return None
        return np.asarray(
            peak[:, regions.index(region), sectors.index("defence")] <= (1 - share) * 100 + 1e-9
        )

    for c in spec.constraints.coverage:
        add(
            f"{c.region}: >= {c.min_share:.0%} of defence magnet demand met every month",
            defence_ok(c.region, c.min_share),
            f"coverage {c.region} >= {c.min_share:.0%} priority",
        )
    for c in spec.constraints.cutoff:
        for r in c.regions:
            add(
                f"{r}: >= {c.min_priority_share:.0%} of defence magnet demand met every month "
                "(cut-off target)",
                defence_ok(r, c.min_priority_share),
                f"priority {r} >= {c.min_priority_share:.0%} (cut-off target)",
            )
    for k in spec.constraints.concentration:
        key = f"China share {k.region} {k.stage} <= {k.max_share:.0%}"
        if k.stage != "magnet" or tr is None:
            add(f"{k.region}: China share at {k.stage} <= {k.max_share:.0%} from {k.from_year}", None, key)
            notes.append(f"{k.stage}-stage China shares have no simulated counterpart (not checked)")
            continue
        ri = regions.index(k.region)
        exp = tr.exports_chn[:, :, ri].reshape(n_y, 12, -1).sum(axis=1)
        cons = tr.consumption[:, :, ri].reshape(n_y, 12, -1).sum(axis=1)
        yrs = [i for i, y in enumerate(spec.years.years) if y >= k.from_year]
        share = exp[yrs] / np.maximum(cons[yrs], 1e-9)
        add(
            f"{k.region}: China share of magnet consumption <= {k.max_share:.0%} from {k.from_year}",
            (share <= k.max_share + 1e-9).all(axis=0),
            key,
        )
    return rows


def _jsonable(e: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in e.items()}


__all__ = [
    "SEED_OFFSET",
    "Verification",
    "plan_events",
    "separation_t_per_t_ndpr",
    "target_rows",
    "verify_plan",
]
