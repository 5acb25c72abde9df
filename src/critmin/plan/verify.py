"""``--verify``: replay a plan's portfolio in the full simulator on futures the optimisation
did not see, and report in what share of them each target holds (with the in-sample share).

The portfolio becomes scenario events (:mod:`critmin.simulate.inputs.events`) on top of the
plan's scenario:

* a stockpile of magnets (Dy+Tb oxide) -> one ``stockpile`` event per fill year on the
  ``rare_earths`` (``dy_tb``) chain for the buyer, released on any unmet demand (the default
  rule); NdPr oxide stockpiles have no counterpart (the simulator's stockpiles hold the users'
  product) and are not replayed;
* an offtake of a project hosted in another region -> an ``offtake`` event (buyer, seller =
  the host region, the project's stage, the contracted t/yr averaged over its tenor); offtakes
  of a buyer's own projects need no event (the output is already the buyer's);
* a price floor -> a ``price_floor`` event at the strike on the floored projects' capacity,
  paid by the floor's payer, at the separation stage;
* co-financing has no event (the simulator's plants follow the network's own pipeline); its
  effect is missing from the replay, which makes the check conservative for co-financed plans.

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
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from critmin.plan.result import PlanResult

SEED_OFFSET = 1_000_003


@dataclass(frozen=True)
class Verification:
    """Closed-loop result: per target, the share of unseen futures in which it holds."""

    paths: int
    seed: int
    events: tuple[dict[str, Any], ...]
    rows: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = ()

    def table(self) -> pd.DataFrame:
        """target, in_sample, out_of_sample, gap (shares of futures)."""
        return pd.DataFrame(list(self.rows), columns=["target", "in_sample", "out_of_sample", "gap"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "paths": self.paths,
            "seed": self.seed,
            "events": list(self.events),
            "targets": list(self.rows),
            "notes": list(self.notes),
        }


def plan_events(result: PlanResult) -> list[dict[str, Any]]:
    """The portfolio as scenario event mappings (module docstring)."""
    spec = result.spec
    pf = result.portfolio
    events: list[dict[str, Any]] = []
    if pf.empty:
        return events
    start = spec.years.start
    for row in pf[pf.instrument == "stockpile"].itertuples(index=False):
        if row.product == "ndpr_oxide":
            continue
        chain = "rare_earths" if row.product == "ndfeb_magnet" else "dy_tb"
        for part in str(row.detail).removeprefix("fill t: ").split(", "):
            if ":" not in part:
                continue
            y, t = str(part).split(":")
            amount = float(str(t).replace(",", ""))
            if amount <= 0:
                continue
            events.append(
                {
                    "id": f"plan-stockpile-{str(row.buyer).lower()}-"
                    f"{str(row.product).replace('_', '-')}-{y.strip()}",
                    "date": dt.date(int(y), 1, 1),
                    "kind": "stockpile",
                    "commodities": [chain],
                    "region": row.buyer,
                    "amount_t": amount,
                }
            )
    off = pf[(pf.instrument == "offtake") & (pf.buyer != pf.host) & (pf["product"] != "dytb_oxide")]
    if not off.empty:
        off = off.assign(stage=np.where(off["product"] == "ndfeb_magnet", "magnet", "separation"))
        for (buyer, host, stage), g in off.groupby(["buyer", "host", "stage"]):
            events.append(
                {
                    "id": f"plan-offtake-{str(buyer).lower()}-{str(host).lower()}-{stage}",
                    "date": dt.date(start, 1, 1),
                    "kind": "offtake",
                    "region": buyer,
                    "seller": host,
                    "stages": [stage],
                    "volume_t_per_year": float(g["amount"].sum()),
                }
            )
    fl = pf[pf.instrument == "floor"]
    if not fl.empty:
        f = spec.instruments.floor
        events.append(
            {
                "id": "plan-price-floor",
                "date": dt.date(start, 1, 1),
                "kind": "price_floor",
                "region": f.payer_region,
                "stages": ["separation"],
                "price_usd_per_kg": f.strike_usd_per_kg,
                "covered_t_per_year": float(fl["amount"].sum()),
            }
        )
    return events


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
    events = plan_events(result)
    inputs, res = _replay(spec, events, paths, seed)
    regions = list(inputs.scenario.regions)
    chain = inputs.chains[0]
    sectors = chain.sectors.sectors if chain.sectors is not None else ()
    by = res.metrics.by_sector or {}
    peak = by.get("peak_shortfall_pct")  # [P, R, S]
    tr = res.trace
    n_y = len(spec.years.years)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
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
        return peak[:, regions.index(region), sectors.index("defence")] <= (1 - share) * 100 + 1e-9

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
    if not result.portfolio.empty and (result.portfolio.instrument == "cofinance").any():
        notes.append("co-financing is not replayed (no simulator event moves a project's start)")
    ver = Verification(
        paths, seed, tuple(_jsonable(e) for e in events), tuple(rows), tuple(dict.fromkeys(notes))
    )
    return replace(result, verification=ver)


def _jsonable(e: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in e.items()}


__all__ = ["SEED_OFFSET", "Verification", "plan_events", "verify_plan"]
