"""Synthetic multi-tier firm networks for tests and benchmarks (stylised rare-earth chain).

``synth_network(n_firms, n_edges, seed)`` returns ``(firms, edges)`` in the format that
:func:`critmin.trace.firms.read_network` reads. Equal seeds give equal outputs
(``numpy.random.default_rng(seed)`` is the only source of randomness). The structure:

* **Tiers.** There are fewer firms upstream: the tier ``k`` (0 = mining) gets a share of firms
  proportional to ``1.8^k``, with at least one firm per tier.
* **Countries.** Each tier draws countries from a skewed mix, by default ``COUNTRY_MIX``.
  That mix is a stylised assumption shaped like the rare-earth stage shares in the bundled
  data: about 60% of miners and 85% of separators, metal makers and magnet makers are in CHN.
  It is not a firm census.
* **Sizes.** Firm sizes are lognormal(0, 1). A supplier is drawn with probability
  proportional to its size, which gives heavy-tailed out-degrees. With probability 0.3 the
  supplier is drawn from the customer's own country (home bias) when that country has firms
  in the tier.
* **Edges.** Every firm below mining first gets one supplier from the tier above, while edges
  last. The other edges are of these types: 81% tier ``k-1 -> k``; 5% skip a tier
  (``k-2 -> k``); 8% traders within a tier; 3% recycling from the last tier back to tiers 1-2
  (separation, metal), which makes cycles; 1% self-loops (in-plant scrap); 2% random
  upstream edges.
* **Quantities.** Quantities in t are ``sqrt(size_supplier) x lognormal(0, 1.2)``, heavy
  tailed. Recycling edges and self-loops carry a tenth of that. ``value_usd`` is the quantity
  times an illustrative price per tier. ``commodity`` is ``rare_earths``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.errors import DataError
from critmin.model.stages import Stage

TIERS: tuple[str, ...] = tuple(s.value for s in Stage)

#: Share of firms by country in each tier (stylised; see the module docstring).
COUNTRY_MIX: dict[str, dict[str, float]] = {
    "mining": {
        "CHN": 0.60, "USA": 0.10, "MMR": 0.08, "AUS": 0.07, "THA": 0.03, "NGA": 0.03,
        "IND": 0.02, "RUS": 0.02, "VNM": 0.02, "BRA": 0.02, "MDG": 0.01,
    },
    "separation": {
        "CHN": 0.85, "MYS": 0.05, "EST": 0.02, "USA": 0.02, "JPN": 0.02, "IND": 0.02,
        "VNM": 0.01, "FRA": 0.01,
    },
    "metal_alloy": {"CHN": 0.85, "JPN": 0.06, "VNM": 0.04, "USA": 0.02, "THA": 0.02, "GBR": 0.01},
    "magnet": {"CHN": 0.85, "JPN": 0.08, "DEU": 0.03, "VNM": 0.02, "USA": 0.01, "KOR": 0.01},
    "component": {
        "CHN": 0.45, "JPN": 0.12, "DEU": 0.10, "USA": 0.08, "KOR": 0.08, "MEX": 0.05,
        "VNM": 0.04, "THA": 0.04, "POL": 0.04,
    },
    "end_use": {
        "CHN": 0.30, "USA": 0.18, "DEU": 0.12, "JPN": 0.10, "KOR": 0.07, "FRA": 0.05,
        "MEX": 0.04, "IND": 0.04, "GBR": 0.04, "ITA": 0.03, "ESP": 0.03,
    },
}  # fmt: skip

#: Illustrative prices in USD per t of contained material, by tier position.
_PRICE_USD_PER_T = (5_000.0, 60_000.0, 90_000.0, 150_000.0, 250_000.0, 400_000.0)
_EDGE_TYPES = ("main", "skip", "trader", "recycle", "self", "upstream")
_EDGE_P = (0.81, 0.05, 0.08, 0.03, 0.01, 0.02)
_HOME_BIAS = 0.3
_TIER_GROWTH = 1.8

Ints = npt.NDArray[np.int64]


def _tier_sizes(n_firms: int, n_tiers: int) -> Ints:
    w = _TIER_GROWTH ** np.arange(n_tiers)
    sizes = np.maximum(1, np.floor(n_firms * w / w.sum())).astype(np.int64)
    sizes[-1] += n_firms - sizes.sum()  # the remainder goes to the most numerous tier
    return sizes


class _Picker:
    """Draw firms of a tier (or of a tier and country) with probability proportional to size."""

    def __init__(self, tier: Ints, country: Ints, size: npt.NDArray[np.float64], n_countries: int) -> None:
        self.n_countries = n_countries
        group = tier * n_countries + country
        self.order = np.lexsort((np.arange(len(tier)), group))
        g = group[self.order]
        n_groups = int(tier.max() + 1) * n_countries
        self.g_start = np.searchsorted(g, np.arange(n_groups), side="left")
        self.g_end = np.searchsorted(g, np.arange(n_groups), side="right")
        t = tier[self.order]
        self.t_start = np.searchsorted(t, np.arange(tier.max() + 1), side="left")
        self.t_end = np.searchsorted(t, np.arange(tier.max() + 1), side="right")
        self.cum = np.concatenate([[0.0], np.cumsum(size[self.order])])

    def draw(self, rng: np.random.Generator, tier: Ints, country: Ints, home: npt.NDArray[np.bool_]) -> Ints:
        lo, hi = self.t_start[tier], self.t_end[tier]
        g = tier * self.n_countries + country
        use_home = home & (self.g_end[g] > self.g_start[g])
        lo = np.where(use_home, self.g_start[g], lo)
        hi = np.where(use_home, self.g_end[g], hi)
        u = self.cum[lo] + rng.random(len(tier)) * (self.cum[hi] - self.cum[lo])
        pos = np.clip(np.searchsorted(self.cum, u, side="right") - 1, lo, hi - 1)
        return np.asarray(self.order[pos], dtype=np.int64)


def synth_network(
    n_firms: int,
    n_edges: int,
    seed: int,
    *,
    countries: Mapping[str, Mapping[str, float]] | None = None,
    tiers: Sequence[str] = TIERS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A synthetic multi-tier network ``(firms, edges)``; see the module docstring.

    ``countries`` maps each tier to ``{ISO3: weight}`` (default ``COUNTRY_MIX``); ``tiers`` are
    stage values, upstream first. Firm ids are ``F0000001``-style strings in random tier order.
    """
    tiers = tuple(tiers)
    mix = dict(countries) if countries is not None else COUNTRY_MIX
    if len(tiers) < 2:
        raise DataError("at least two tiers are needed", fix="pass e.g. tiers=('mining', 'separation')")
    if n_firms < len(tiers) or n_edges < 0:
        raise DataError(
            f"need at least {len(tiers)} firms (one per tier) and a non-negative edge count",
            fix=f"use --firms >= {len(tiers)}",
        )
    bad = [t for t in tiers if t not in TIERS]
    if bad:
        raise DataError(f"unknown tier(s) {bad}", fix=f"tiers are stage values: {', '.join(TIERS)}")
    missing = [t for t in tiers if t not in mix]
    if missing:
        raise DataError(f"no country mix for tier(s) {missing}", fix="give countries for every tier")
    rng = np.random.default_rng(seed)
    n_t = len(tiers)
    tier = rng.permutation(np.repeat(np.arange(n_t), _tier_sizes(n_firms, n_t)))
    codes = sorted({c for t in tiers for c in mix[t]})
    country = np.zeros(n_firms, dtype=np.int64)
    for k, t in enumerate(tiers):
        at = np.flatnonzero(tier == k)
        names = list(mix[t])
        p = np.asarray([mix[t][c] for c in names], dtype=np.float64)
        pick = rng.choice(len(names), size=len(at), p=p / p.sum())
        country[at] = np.searchsorted(codes, np.asarray(names))[pick]
    size = rng.lognormal(0.0, 1.0, n_firms)
    picker = _Picker(tier, country, size, len(codes))

    downstream = np.flatnonzero(tier > 0)
    n_base = min(n_edges, len(downstream))
    base_cust = rng.permutation(downstream)[:n_base]
    kind = np.concatenate(
        [np.zeros(n_base, dtype=np.int64), rng.choice(len(_EDGE_TYPES), size=n_edges - n_base, p=_EDGE_P)]
    )
    customer = np.concatenate([base_cust, downstream[rng.integers(0, len(downstream), n_edges - n_base)]])
    recycle_to = np.flatnonzero((tier >= 1) & (tier <= 2))
    is_rec = kind == _EDGE_TYPES.index("recycle")
    customer[is_rec] = recycle_to[rng.integers(0, len(recycle_to), int(is_rec.sum()))]
    ct = tier[customer]
    sup_tier = ct - 1
    sup_tier = np.where(kind == _EDGE_TYPES.index("skip"), np.maximum(ct - 2, 0), sup_tier)
    sup_tier = np.where(kind == _EDGE_TYPES.index("trader"), ct, sup_tier)
    sup_tier = np.where(is_rec, n_t - 1, sup_tier)
    up = kind == _EDGE_TYPES.index("upstream")
    sup_tier[up] = (rng.random(int(up.sum())) * ct[up]).astype(np.int64)
    supplier = picker.draw(rng, sup_tier, country[customer], rng.random(n_edges) < _HOME_BIAS)
    is_self = kind == _EDGE_TYPES.index("self")
    supplier[is_self] = customer[is_self]

    quantity = np.sqrt(size[supplier]) * rng.lognormal(0.0, 1.2, n_edges)
    quantity[is_rec | is_self] *= 0.1
    quantity = np.maximum(np.round(quantity, 3), 0.001)
    price = np.asarray(_PRICE_USD_PER_T[:n_t] + (_PRICE_USD_PER_T[-1],) * max(0, n_t - 6))
    value = np.round(quantity * price[tier[supplier]] * rng.lognormal(0.0, 0.1, n_edges), 2)

    width = len(str(n_firms))
    ids = pd.Series([f"F{i:0{width}d}" for i in range(1, n_firms + 1)], dtype="str")
    firms = pd.DataFrame(
        {
            "firm_id": ids,
            "country": pd.Series(np.asarray(codes, dtype=object)[country], dtype="str"),
            "stage": pd.Series(np.asarray(tiers, dtype=object)[tier], dtype="str"),
            "capacity_t": np.round(size * 1000.0, 1),
        }
    )
    edges = pd.DataFrame(
        {
            "supplier_id": ids.take(supplier).reset_index(drop=True),
            "customer_id": ids.take(customer).reset_index(drop=True),
            "quantity": quantity,
            "commodity": pd.Series("rare_earths", index=range(n_edges), dtype="str"),
            "value_usd": value,
        }
    )
    return firms, edges


def write_network(
    firms: pd.DataFrame, edges: pd.DataFrame, out_dir: str | Path, fmt: str = "csv"
) -> tuple[Path, Path]:
    """Write ``firms.<fmt>`` and ``edges.<fmt>`` (``csv`` or ``parquet``) into ``out_dir``, atomically."""
    from critmin.trace.firms import write_table

    if fmt not in ("csv", "parquet"):
        raise DataError(f"unknown format {fmt!r}", fix="use csv or parquet")
    d = Path(out_dir)
    return write_table(firms, d / f"firms.{fmt}"), write_table(edges, d / f"edges.{fmt}")
