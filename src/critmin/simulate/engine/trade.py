"""Trade rules the engine applies each month: offtake contracts and allied rebalancing.

Pure functions on [P, R] arrays (paths x regions), t/month; both conserve mass (what leaves
one region arrives in another). Equations in docs/model.md sections 5.5b and 5.5c.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from critmin.simulate.inputs.policy import Offtake

F = npt.NDArray[np.float64]


def serve_offtakes(prod: F, offs: list[Offtake], t: int) -> tuple[F, F, F]:
    """Serve the offtakes in force first: (output left to ship, taken from sellers, received).

    In priority order, contract o takes min(q_o, output left at its seller) (t/month) from
    ``o.seller`` to ``o.buyer``; what is left ships by the baseline shares.
    """
    left = prod.copy()
    out = np.zeros_like(prod)
    got = np.zeros_like(prod)
    for o in offs:
        if not o.active[t]:
            continue
        take = np.minimum(left[:, o.seller], o.t_month)
        left[:, o.seller] -= take
        out[:, o.seller] += take
        got[:, o.buyer] += take
    return left, out, got


def allied_rebalance(stock: F, required: F, exf: F, share: F) -> F:
    """Move surplus stock among regions outside China to those short of it, in place.

    surplus_j = (stock_j - required_j)^+ and deficit_j = (required_j - stock_j)^+ outside China;
    traded T = share x min(sum surplus, sum deficit), taken from surpluses and given to deficits
    pro rata. Returns the net change per region (sums to zero per path: mass is conserved).
    """
    surplus = np.maximum(stock - required, 0.0) * exf
    deficit = np.maximum(required - stock, 0.0) * exf
    s_tot = surplus.sum(axis=1, keepdims=True)
    d_tot = deficit.sum(axis=1, keepdims=True)
    traded = share * np.minimum(s_tot, d_tot)
    give = surplus * np.divide(traded, s_tot, out=np.zeros_like(s_tot), where=s_tot > 0)
    take = deficit * np.divide(traded, d_tot, out=np.zeros_like(d_tot), where=d_tot > 0)
    delta = take - give
    stock += delta
    return delta
