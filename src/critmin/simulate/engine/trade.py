"""Trade rules the engine applies each month: offtake contracts and trade outside China.

Pure functions on [P, R] arrays (paths x regions), t/month; all conserve mass (what leaves
one region arrives in another). Equations in docs/model.md sections 5.5b and 5.5c.

* :func:`serve_offtakes`: contracts first (a seller's output to its buyer, in priority order).
* :func:`surplus_trade`: then surplus to deficit among regions outside China, each seller's
  offer split over the deficits by a preference weight (:func:`preference_weights`, a gravity
  weight 1 / distance^0.9 between capitals; Disdier & Head 2008). Under an extraterritorial
  rule only the non-Chinese-origin part of a surplus moves (``movable``).
* :func:`allied_rebalance`: the earlier pro-rata rule (uniform preference), kept for callers.

Preference, not a cost optimum: a one-pass proportional allocation is vectorised over paths
with two [P, R] x [R, R] products (no [P, R, R] array), where a transport problem per path
and month would cost a solver call each. What a one-pass allocation cannot place (a buyer
offered more than its deficit) stays with the seller this month.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from critmin import yamlio
from critmin.simulate.chains.network import Network
from critmin.simulate.inputs.events import LicenceEvent
from critmin.simulate.inputs.policy import Offtake, PolicyPath

F = npt.NDArray[np.float64]

#: Distance elasticity of bilateral trade: the mean of 1,467 estimates in Disdier & Head
#: (2008, Review of Economics and Statistics 90(1), Table 1: 0.9).
DISTANCE_ELASTICITY = 0.9
COORDINATES_ASSUMPTION = "assumption:trade-capital-coordinates"


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


def surplus_trade(stock: F, required: F, exf: F, share: F, pref: F, movable: F | None = None) -> F:
    """Net change per region [P, R] when ex-China surplus is sold to ex-China deficits (pure).

    With s_i = (stock_i - required_i)^+ m_i (m = ``movable``, the share of a holding free to
    move, 1 without an extraterritorial rule) and d_j = (required_j - stock_j)^+ outside China,
    the traded total is T = share x min(S, D) (S, D the totals). Seller i offers
    o_i = s_i T / S, split over buyers by w_ij d_j (w = ``pref``, [R, R]):
    f_ij = o_i w_ij d_j / n_i, n_i = sum_j w_ij d_j. A buyer offered more than d_j takes d_j,
    each seller's flow to it cut by the same factor c_j = min(1, d_j / sum_i f_ij); the rest
    stays with the seller. Returns delta = received - sent (sums to 0 per path). With w all
    ones it is the pro-rata rule of :func:`allied_rebalance`.
    """
    diff = stock - required
    surplus = np.maximum(diff, 0.0) * exf
    if movable is not None:
        surplus *= movable
    deficit = np.maximum(-diff, 0.0) * exf  # (required - stock)^+: negation is exact
    s_tot = surplus.sum(axis=1, keepdims=True)
    d_tot = deficit.sum(axis=1, keepdims=True)
    traded = share * np.minimum(s_tot, d_tot)
    if not traded.any():  # nothing to trade on any path: every flow below is 0
        return np.zeros_like(stock)
    offer = surplus * np.divide(traded, s_tot, out=np.zeros_like(s_tot), where=s_tot > 0)
    reach = deficit @ pref.T  # n_i
    per_weight = np.divide(offer, reach, out=np.zeros_like(offer), where=reach > 0)
    offered = deficit * (per_weight @ pref)  # sum_i f_ij
    # c_j = min(1, d_j / sum_i f_ij): below 1 only where a buyer is offered more than d_j
    cut = np.divide(deficit, offered, out=np.ones_like(offered), where=offered > deficit)
    received = offered * cut
    sent = per_weight * ((deficit * cut) @ pref.T)
    return received - sent


def allied_rebalance(stock: F, required: F, exf: F, share: F) -> F:
    """Move surplus stock among regions outside China to those short of it, in place.

    surplus_j = (stock_j - required_j)^+ and deficit_j = (required_j - stock_j)^+ outside China;
    traded T = share x min(sum surplus, sum deficit), taken from surpluses and given to deficits
    pro rata. Returns the net change per region (sums to zero per path: mass is conserved).
    """
    r = stock.shape[1]
    delta = surplus_trade(stock, required, exf, share, np.ones((r, r)))
    stock += delta
    return delta


@cache
def _coordinates() -> dict[str, tuple[float, float]]:
    text = resources.files("critmin.simulate.chains").joinpath("trade.yaml").read_text("utf-8")
    raw = yamlio.safe_load(text)["capitals"]
    return {str(k): (float(v[0]), float(v[1])) for k, v in raw.items()}


def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance (km) between two (lat, lon) points in degrees, Earth radius 6,371 km."""
    la1, lo1, la2, lo2 = map(np.radians, (a[0], a[1], b[0], b[1]))
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return float(2 * 6371.0 * np.arcsin(np.sqrt(h)))


def preference_weights(regions: tuple[str, ...]) -> F:
    """[R, R] gravity preference w_ij = (dist_ij / 1,000 km)^-0.9 between region capitals.

    Capitals in ``simulate/chains/trade.yaml`` (EU27 at Brussels); a region without one (ROW,
    an aggregate) takes the median distance of the pairs that have one. The diagonal is 0 (a
    region does not trade with itself). Only relative weights matter.
    """
    xy = _coordinates()
    r_n = len(regions)
    dist = np.full((r_n, r_n), np.nan)
    for i, a in enumerate(regions):
        for j, b in enumerate(regions):
            if i != j and a in xy and b in xy:
                dist[i, j] = max(great_circle_km(xy[a], xy[b]), 100.0)
    known = dist[np.isfinite(dist)]
    fill = float(np.median(known)) if known.size else 1000.0
    dist = np.where(np.isfinite(dist), dist, fill)
    w = (dist / 1000.0) ** (-DISTANCE_ELASTICITY)
    np.fill_diagonal(w, 0.0)
    return w


def held_share_china_origin(net: Network) -> F:
    """[K, R] Chinese-origin share of what each region holds at stage k (its baseline receipts).

    h_kj = sum_i q_ki ship_kij o_ki / sum_i q_ki ship_kij, with q the output shares and o the
    origin share of each exporter's output (``net.china_origin``; China's own output is 1).
    A baseline mix: under controls less Chinese product arrives, so it overstates the
    Chinese-origin part of a holding (the holdback errs on the strict side).
    """
    flows = net.share[:, :, None] * net.ship  # [K, R_exp, R_dst]
    inflow = flows.sum(axis=1)
    mixed = np.einsum("ki,kij->kj", net.china_origin, flows)
    return np.divide(mixed, inflow, out=np.zeros_like(inflow), where=inflow > 0)


def held_origin(net: Network, policy: PolicyPath) -> F:
    """[T, K, R] share of each holding free to trade outside China in month t.

    1 - h_kj (:func:`held_share_china_origin`) while an extraterritorial licence rule covers
    stage k (k >= ``net.extraterritorial_from``): re-exporting Chinese-origin product then
    needs China's licence, so only the non-Chinese-origin part moves freely; 1 otherwise.
    """
    k_n, r_n = net.share.shape
    out = np.ones((policy.months, k_n, r_n))
    free = 1.0 - held_share_china_origin(net)
    for reg in policy.licences:
        if not (isinstance(reg.event, LicenceEvent) and reg.event.extraterritorial):
            continue
        for k in reg.stages:
            if k >= net.extraterritorial_from and k < k_n:
                out[reg.active, k, :] = np.minimum(out[reg.active, k, :], free[k][None, :])
    return out


def export_pull(gap: F, spare: F, exf: F, share: F) -> F:
    """[P, R] extra output makers outside China turn out for other ex-China regions' gaps.

    With g_j the users' gap (target inventory - stock)^+ and c_j = (spare capacity after the
    baseline output)^+: each region first covers its own gap, o_j = min(g_j, c_j); what is
    left, G = sum_j (g_j - o_j) outside China, is made by the makers with capacity to spare,
    f_i = (c_i - g_i)^+, in proportion: x_i = share f_i min(1, G / sum f). The extra output
    ships by the baseline shares and the users' surplus trade (:func:`surplus_trade`) moves
    it on, so a region whose makers can make more than its users need sells to regions
    short of magnets (section 5.5b).
    """
    room = np.maximum(spare, 0.0) * exf
    own = np.minimum(gap, room)
    left = ((gap - own) * exf).sum(axis=1, keepdims=True)
    free = np.maximum(room - gap, 0.0)
    f_tot = free.sum(axis=1, keepdims=True)
    scale = np.minimum(np.divide(left, f_tot, out=np.zeros_like(left), where=f_tot > 0), 1.0)
    return share * free * scale
