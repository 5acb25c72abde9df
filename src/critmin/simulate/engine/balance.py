"""Independent per-node accounting for the engine's ``check_balance`` (dense [P, R, R] flows).

For every stage k, region r and month t (t units of the stage's product), with every term
recomputed from dense exporter x destination flows, independently of the engine's fast update:

    stock_k[t] - stock_k[t-1] = y_k - shipped_k (incl. to self and offtakes out) + receipts_k
                                (incl. offtakes in) + returned_k - input used by stage k+1
                                + trade outside China + rerouted_in - rerouted_out
                                (+ recycling + stockpile release - consumption at the last stage)
    backlog_k[t] - backlog_k[t-1] = applications_k - processed_k   (per flow)
    stockpile[t] - stockpile[t-1] = additions - release
    (an intermediate stage's public stockpile adds its release less its purchases to stock_k)
    unmet demand = D - consumption >= 0

A residual above ``BALANCE_RTOL`` of the node's throughput, or a negative stock, backlog or
stockpile, raises :class:`MassBalanceError`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from critmin.errors import CritminError
from critmin.simulate.inputs.policy import StageControls

F = npt.NDArray[np.float64]
#: Relative tolerance of the mass-balance check (residual / node throughput).
BALANCE_RTOL = 1e-9


class MassBalanceError(CritminError):
    """A node's accounts do not balance, or a stock went negative (``check_balance=True``)."""


class Balance:
    """Independent per-node accounting for ``check_balance`` (dense [P, R, R] flows)."""

    def __init__(self, n_paths: int, r_n: int) -> None:
        self.p, self.r = n_paths, r_n

    def open(self, stock: list[F], backlog: list[F], stockpile: F) -> None:
        self.s0 = [s.copy() for s in stock]
        self.b0 = [b.copy() for b in backlog]
        self.sp0 = stockpile.copy()
        self.flows: list[dict[str, F]] = []
        self.resid = 0.0

    def _dense(self, ctl: StageControls, e: F) -> F:
        out = np.zeros((self.p, self.r, self.r))
        out[:, ctl.src, ctl.dst] = e
        return out

    def stage(self, prod: F, inp: F, ship: F, ctl: StageControls, flows: dict[str, F]) -> None:
        none = np.zeros((self.p, 0))
        e = {n: flows.get(n, none) for n in ("home", "apply", "delivered", "approved", "refused")}
        off_out = flows.get("off_out", np.zeros_like(prod))
        off_in = flows.get("off_in", np.zeros_like(prod))
        # An offtake moves product from seller to buyer; it conserves mass on its own.
        self._note(np.abs(off_out.sum(axis=1) - off_in.sum(axis=1)), off_out.sum(axis=1))
        x = (prod - off_out)[:, :, None] * ship[None, :, :]
        home, apply_ = self._dense(ctl, e["home"]), self._dense(ctl, e["apply"])
        deliv = x.copy()
        deliv[:, ctl.src, ctl.dst] = e["delivered"]
        appr, refu = self._dense(ctl, e["approved"]), self._dense(ctl, e["refused"])
        # Rerouted via a third country: taken from what returned home, added to the receipts.
        rer = self._dense(ctl, flows["rerouted"]) if "rerouted" in flows else np.zeros_like(x)
        self._note(np.maximum(rer - home - refu, 0.0), x)  # never more than was held back
        # A flow's parts add up to it: delivered + kept home + applied for = shipped.
        self._note(np.abs(deliv + home + apply_ - x), x)
        self.flows.append(
            {
                "prod": prod,
                "inp": inp,
                "allied": flows.get("allied_net", np.zeros_like(prod)),
                "shipped": (deliv + home + apply_).sum(axis=2) + off_out,
                "receipts": deliv.sum(axis=1) + appr.sum(axis=1) + off_in + rer.sum(axis=1),
                "returned": home.sum(axis=2) + refu.sum(axis=2) - rer.sum(axis=2),
                "d_backlog": apply_ - appr - refu,
            }
        )

    def _note(self, resid: F, scale: F | float) -> None:
        worst = float(resid.max(initial=0.0))
        self.resid = max(self.resid, worst)
        if (resid > BALANCE_RTOL * (1.0 + np.abs(scale))).any():
            raise MassBalanceError(f"mass-balance residual {worst:.3g} t exceeds {BALANCE_RTOL:g} relative")

    def close(
        self,
        t: int,
        stock: list[F],
        backlog: list[F],
        ctls: list[StageControls],
        stockpile: F,
        sp_flows: tuple[F, F],
        users: tuple[F, F, F, F, F],
        piles: dict[int, F] | None = None,
    ) -> float:
        """Check month t's accounts; ``piles``: per intermediate stage, what its public
        stockpiles added to the stage's stock (released less bought; engine/inventory.py)."""
        recycled, release, use, demand, short = users
        for k, f in enumerate(self.flows):
            used_next = self.flows[k + 1]["inp"] if k + 1 < len(self.flows) else 0.0
            rhs = f["prod"] - f["shipped"] + f["receipts"] + f["returned"] - used_next + f["allied"]
            scale = self.s0[k] + stock[k] + f["prod"] + f["receipts"] + f["returned"] + used_next
            if piles is not None and k in piles:
                rhs = rhs + piles[k]
                scale = scale + np.abs(piles[k])
            if k == len(self.flows) - 1:
                rhs = rhs + recycled + release - use
                scale = scale + recycled + release + use
            self._note(np.abs(stock[k] - self.s0[k] - rhs), scale)
            d_b = self._dense(ctls[k], backlog[k]) - self._dense(ctls[k], self.b0[k])
            self._note(np.abs(d_b - f["d_backlog"]), self._dense(ctls[k], self.b0[k] + backlog[k]))
        add, rel = sp_flows
        self._note(np.abs(stockpile - self.sp0 - (add - rel)), self.sp0 + stockpile)
        self._note(np.abs(short - (demand - use)), demand)
        negative = [
            name
            for name, arrs in (("stock", stock), ("backlog", backlog), ("stockpile", [stockpile]))
            if any((a < 0).any() for a in arrs)
        ]
        if negative or (short < 0).any():
            raise MassBalanceError(f"month {t}: negative {', '.join(negative) or 'unmet demand'}")
        return self.resid
