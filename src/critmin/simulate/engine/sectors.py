"""End-use sectors of magnet demand: the split, the allocation under shortage, streamed metrics.

A region's NdFeB demand ``D[p, r]`` (t/month) is split among sectors s by fixed shares,

    D_s[p, r, s] = D[p, r] * a[r, s],        sum_s a[r, s] = 1,

with ``a`` from :func:`sector_shares` (``simulate/engine/sectors.yaml``: bundled ``end_uses`` rows,
parameter medians and labelled assumptions; see that file for each figure and its source).
The region's consumption ``U[p, r] <= D[p, r]`` is then shared among sectors by
:func:`allocate`: sectors are grouped in priority tiers (tier 0 first); tier k receives

    S_k = min(U, C_k) - min(U, C_{k-1}),     C_k = sum_{j <= k} D_tier_j   (C_{-1} = 0),

i.e. every earlier tier is served in full before tier k gets anything, and within the tier each
sector gets the same fraction f_k = S_k / D_tier_k of its demand (pro rata):

    U_s[p, r, s] = D_s[p, r, s] * f_{tier(s)}[p, r].

Hence 0 <= U_s <= D_s and sum_s U_s = U (mass balance). The default order (defence first, all
other sectors pro rata) is ``assumption:sim-sector-priority``.

:class:`SectorAccumulator` streams, per path, region and sector, the same metrics the engine
keeps per region (peak shortfall % of demand, cumulative shortfall t, months below 90% of
demand, optionally output at risk in USD) from one ``update(demand, use)`` per month.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from critmin import yamlio
from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.simulate.inputs.params import parameter_table

F = npt.NDArray[np.float64]
Idx = npt.NDArray[np.intp]

SECTORS_FILE = "sectors.yaml"
#: Share rows may differ from 1 by this much (rounding in hand-written YAML is not allowed).
SHARE_TOL = 1e-9
#: ``use`` may exceed ``demand`` by this relative amount (floating-point noise) before it is an error.
USE_TOL = 1e-9
#: A sector-month counts as "below 90%" when U_s < BELOW_FRACTION x D_s (as the engine counts).
BELOW_FRACTION = 0.9
#: The bundled table that `end_use:` shares are read from (sectors.yaml uses its NdFeB volume rows).
END_USE_TABLE = "end_uses"


# --------------------------------------------------------------------------- the YAML schema
class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EndUseRef(_Model):
    """A row of the bundled ``end_uses`` table, by ``scope`` and ``end_use`` (and ``year``)."""

    scope: str
    end_use: str
    year: str | None = None


class ShareSpec(_Model):
    """Where one sector's world share comes from: exactly one of the four kinds."""

    value: float | None = Field(default=None, ge=0, le=1)
    parameter: str | None = None
    end_use: EndUseRef | None = None
    residual: bool = False
    source: str | None = None
    assumption: str | None = Field(default=None, pattern=r"^assumption:[a-z0-9-]+$")
    see_also: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_kind(self) -> ShareSpec:
        kinds = [self.value is not None, self.parameter is not None, self.end_use is not None, self.residual]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of value, parameter, end_use, residual")
        if (self.value is not None or self.residual) and not (self.source or self.assumption):
            raise ValueError("a value or residual share needs a source or an assumption id")
        return self


class ValueSpec(_Model):
    """End-product output at risk per kg of magnet: ``product_usd`` / ``magnet_kg`` (US$/kg).

    The factory-gate value of one unit of the whole product that stops when its magnets are
    missing (``product``), over the kg of NdFeB in that unit; cited (``source``) or labelled
    (``assumption``), or both where a sourced magnet mass meets an assumed price.
    """

    product: str
    product_usd: float = Field(gt=0)
    magnet_kg: float = Field(gt=0)
    source: str | None = None
    assumption: str | None = Field(default=None, pattern=r"^assumption:[a-z0-9-]+$")
    see_also: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _provenance(self) -> ValueSpec:
        if not (self.source or self.assumption):
            raise ValueError("a value needs a source or an assumption id")
        return self

    @property
    def usd_per_kg(self) -> float:
        """US$ of end product per kg of NdFeB it contains."""
        return self.product_usd / self.magnet_kg


class SectorSpec(_Model):
    """One sector: id, label, priority tier (0 served first), its share and its value."""

    id: str = Field(pattern=r"^[a-z][a-z_]*$")
    label: str
    priority: int = Field(ge=0)
    share: ShareSpec
    #: the sector's magnets are high-coercivity grades that need Dy or Tb (critmin.simulate.chains.heavy)
    heavy_grade: bool = False
    #: end-product output at risk per kg of magnet (None: the flat value.output_usd_per_kg_magnet)
    value: ValueSpec | None = None


class RegionOverride(_Model):
    """Some sectors' shares for one region; the residual sector absorbs the difference."""

    shares: dict[str, float]
    source: str | None = None
    assumption: str | None = Field(default=None, pattern=r"^assumption:[a-z0-9-]+$")

    @model_validator(mode="after")
    def _provenance(self) -> RegionOverride:
        if not (self.source or self.assumption):
            raise ValueError("a region override needs a source or an assumption id")
        if any(not 0.0 <= v <= 1.0 for v in self.shares.values()):
            raise ValueError("shares must lie in [0, 1]")
        return self


class SectorsFile(_Model):
    """The whole ``sectors.yaml``: the sectors in order and per-region overrides."""

    sectors: tuple[SectorSpec, ...] = Field(min_length=1)
    regions: dict[str, RegionOverride] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> SectorsFile:
        ids = [s.id for s in self.sectors]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate sector ids in {ids}")
        residual = [s.id for s in self.sectors if s.share.residual]
        if len(residual) > 1:
            raise ValueError(f"at most one residual sector, got {residual}")
        for code, ov in self.regions.items():
            unknown = sorted(set(ov.shares) - set(ids))
            if unknown:
                raise ValueError(f"region {code}: unknown sectors {unknown}; use {ids}")
            if set(ov.shares) & set(residual):
                raise ValueError(f"region {code}: the residual sector {residual[0]!r} cannot be set")
        return self


def load_sectors(path: Path | str | None = None) -> SectorsFile:
    """Read and validate a sectors file (default: the packaged ``simulate/engine/sectors.yaml``)."""
    if path is None:
        where: str | Path = f"critmin/simulate/{SECTORS_FILE}"
        text = resources.files("critmin.simulate.engine").joinpath(SECTORS_FILE).read_text("utf-8")
    else:
        where = Path(path)
        text = where.read_text("utf-8")
    raw = yamlio.safe_load(text)
    try:
        return SectorsFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise DataError(
            err["msg"], path=where, column=loc or None, fix="see the header of sectors.yaml"
        ) from None


# --------------------------------------------------------------------------- the split
@dataclass(frozen=True)
class SectorShares:
    """Each region's NdFeB demand split among sectors.

    ``shares[r, s]`` is the fraction (t/t) of region ``regions[r]``'s magnet demand in sector
    ``sectors[s]``; rows sum to 1. ``priority[s]`` is the sector's tier under shortage (0 served
    first, see :func:`allocate`). ``source_ids`` are dataset sources, ``assumption_ids`` labelled
    assumptions (``simulate/inputs/assumptions.yaml``) behind the figures.
    """

    sectors: tuple[str, ...]
    labels: tuple[str, ...]
    regions: tuple[str, ...]
    shares: F
    priority: Idx
    source_ids: tuple[str, ...]
    assumption_ids: tuple[str, ...]
    #: [S] whether the sector's magnets need Dy or Tb (``heavy_grade`` in sectors.yaml)
    heavy_grade: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: [S] end-product output at risk per kg of magnet short (US$/kg, ``value`` in sectors.yaml);
    #: empty when a sector has no value (the engine then uses one flat value)
    usd_per_kg: F = field(default_factory=lambda: np.zeros(0))

    def index(self, sector: str) -> int:
        """Position of ``sector`` on the sector axis."""
        if sector not in self.sectors:
            raise DataError(f"unknown sector {sector!r}", fix=f"use one of {', '.join(self.sectors)}")
        return self.sectors.index(sector)

    def to_frame(self) -> pd.DataFrame:
        """Tidy rows (region, sector, share, priority)."""
        r, s = np.meshgrid(np.arange(len(self.regions)), np.arange(len(self.sectors)), indexing="ij")
        return pd.DataFrame(
            {
                "region": np.asarray(self.regions)[r.ravel()],
                "sector": np.asarray(self.sectors)[s.ravel()],
                "share": self.shares.ravel(),
                "priority": self.priority[s.ravel()],
            }
        )


def _end_use_share(ds: Dataset, ref: EndUseRef, sector: str) -> tuple[float, str]:
    t = ds.table(END_USE_TABLE)
    mask = (t["scope"] == ref.scope) & (t["end_use"] == ref.end_use) & t["share"].notna()
    if ref.year is not None:
        mask &= t["year"] == ref.year
    rows = t.loc[mask]
    if len(rows) != 1:
        raise DataError(
            f"sector {sector!r}: {len(rows)} {END_USE_TABLE} rows with scope {ref.scope!r} and "
            f"end_use {ref.end_use!r}" + (f" and year {ref.year!r}" if ref.year else ""),
            column="end_use",
            fix="name exactly one row (add year: to choose among several)",
        )
    return float(rows["share"].iloc[0]), str(rows["source_id"].iloc[0])


def _parameter_share(name: str, sector: str, values: Mapping[str, float]) -> tuple[float, str | None]:
    table = parameter_table()
    if name not in table:
        raise DataError(f"sector {sector!r}: unknown parameter {name!r}", fix="see parameters.yaml")
    spec = table[name]
    if name in values:
        return float(values[name]), spec.source
    default = spec.default
    return (float(default) if isinstance(default, int | float) else default.median()), spec.source


def sector_shares(
    ds: Dataset,
    regions: Sequence[str],
    *,
    spec: SectorsFile | Path | str | None = None,
    parameters: Mapping[str, float] | None = None,
) -> SectorShares:
    """The sector split of every region's NdFeB demand (see ``simulate/engine/sectors.yaml``).

    World shares: a sector's ``end_use`` row share (its ``source_id`` cited), a parameter's
    median (``parameters`` overrides it, e.g. a scenario's value), a stated value, or for the
    residual sector ``1 - sum(others)``. Each region takes the world shares (an assumption,
    ``assumption:sim-sector-uniform-regions``) unless ``regions:`` in the file overrides some of
    them; the residual sector then absorbs the difference. Shares are one [R, S] table for all
    paths: an uncertain parameter enters at its median unless ``parameters`` gives a value.
    Raises :class:`DataError` when a row does not sum to 1, a residual would be negative or a
    cited source is not in ``ds``.
    """
    cfg = spec if isinstance(spec, SectorsFile) else load_sectors(spec)
    values = dict(parameters or {})
    regions = tuple(regions)
    n_s = len(cfg.sectors)
    world = np.zeros(n_s)
    sources: set[str] = set()
    assumptions: set[str] = set()
    residual: int | None = None
    for k, sec in enumerate(cfg.sectors):
        sh = sec.share
        if sh.end_use is not None:
            world[k], sid = _end_use_share(ds, sh.end_use, sec.id)
            sources.add(sid)
        elif sh.parameter is not None:
            world[k], psrc = _parameter_share(sh.parameter, sec.id, values)
            if psrc is None and sh.assumption is None and sh.source is None:
                raise DataError(
                    f"sector {sec.id!r}: parameter {sh.parameter!r} has no source",
                    column="assumption",
                    fix="cite a labelled assumption id",
                )
            if psrc is not None:
                sources.add(psrc)
        elif sh.value is not None:
            world[k] = sh.value
        else:
            residual = k
        sources.update(([sh.source] if sh.source else []) + list(sh.see_also))
        if sh.assumption:
            assumptions.add(sh.assumption)
    valued = all(sec.value is not None for sec in cfg.sectors)
    for sec in cfg.sectors:
        if sec.value is not None:
            sources.update(([sec.value.source] if sec.value.source else []) + list(sec.value.see_also))
            assumptions.update([sec.value.assumption] if sec.value.assumption else [])
    assumptions.add("assumption:sim-sector-uniform-regions")
    assumptions.add("assumption:sim-sector-priority")
    ids = [s.id for s in cfg.sectors]
    table = np.tile(world, (len(regions), 1))
    for code, ov in cfg.regions.items():
        if code not in regions:
            continue  # regions outside the model are ignored (documented in sectors.yaml)
        for sid, v in ov.shares.items():
            table[regions.index(code), ids.index(sid)] = v
        sources.update([ov.source] if ov.source else [])
        assumptions.update([ov.assumption] if ov.assumption else [])
    if residual is not None:
        table[:, residual] = 0.0
        rest = 1.0 - table.sum(axis=1)
        if (rest < -SHARE_TOL).any():
            bad = regions[int(rest.argmin())]
            raise DataError(
                f"sector shares of region {bad} sum to {1 - rest.min():.4f} > 1 before the residual "
                f"{ids[residual]!r}",
                column="share",
                fix="lower the sourced shares or the override",
            )
        table[:, residual] = np.maximum(rest, 0.0)
    _check_shares(table)
    missing = sorted(sources - set(ds.sources))
    if missing:
        raise DataError(
            f"sectors cite source ids not in the dataset: {missing}", fix="add them to sources.yaml"
        )
    return SectorShares(
        sectors=tuple(ids),
        labels=tuple(s.label for s in cfg.sectors),
        regions=regions,
        shares=table,
        priority=np.array([s.priority for s in cfg.sectors], dtype=np.intp),
        source_ids=tuple(sorted(sources)),
        assumption_ids=tuple(sorted(assumptions)),
        heavy_grade=np.array([s.heavy_grade for s in cfg.sectors], dtype=bool),
        usd_per_kg=np.array([s.value.usd_per_kg for s in cfg.sectors if s.value is not None])
        if valued
        else np.zeros(0),
    )


# --------------------------------------------------------------------------- allocation
def _check_shares(shares: F) -> None:
    if shares.ndim != 2 or shares.shape[1] < 1:
        raise DataError(f"shares must be [region, sector], got shape {shares.shape}", column="shares")
    if not np.isfinite(shares).all() or (shares < 0).any():
        raise DataError("shares must be finite and non-negative", column="shares")
    dev = np.abs(shares.sum(axis=1) - 1.0)
    if (dev > SHARE_TOL * shares.shape[1]).any():
        r = int(dev.argmax())
        raise DataError(
            f"shares of region row {r} sum to {shares[r].sum():.12g}, not 1",
            column="shares",
            fix="normalise each row",
        )


def _check_flows(demand: F, use: F, n_r: int) -> None:
    if demand.ndim != 2 or demand.shape != use.shape or demand.shape[1] != n_r:
        raise DataError(
            f"demand {demand.shape} and use {use.shape} must both be [path, region] with {n_r} regions",
            column="demand",
        )
    if not (np.isfinite(demand).all() and np.isfinite(use).all()):
        raise DataError("demand and use must be finite", column="demand")
    if (demand < 0).any() or (use < 0).any():
        raise DataError("demand and use must be non-negative", column="use")
    if (use > demand * (1.0 + USE_TOL) + USE_TOL).any():
        raise DataError("use exceeds demand", column="use", fix="consumption is min(demand, available)")


@dataclass(frozen=True)
class _Tiers:
    """Tier structure of a priority vector and the shares, sector-major for speed.

    ``tier_of[s]`` is the sector's tier (0 served first), ``tier_share[k, r]`` the summed share
    of tier k in region r, ``share_sr[s, r]`` the shares transposed (contiguous per sector).
    Internally every [P, R, S] quantity is held as [S, P, R]: each sector's slice is then one
    contiguous [P, R] block, about four times faster to combine than the broadcast over a
    trailing axis of length S.
    """

    tier_of: Idx
    tier_share: F
    share_sr: F

    @classmethod
    def of(cls, shares: F, priority: npt.ArrayLike) -> _Tiers:
        pri = np.asarray(priority)
        if pri.shape != (shares.shape[1],) or not np.issubdtype(pri.dtype, np.integer):
            raise DataError(
                f"priority must be {shares.shape[1]} integers (one per sector), got {pri!r}",
                column="priority",
            )
        _, tier_of = np.unique(pri, return_inverse=True)
        onehot = np.zeros((int(tier_of.max()) + 1, shares.shape[1]))
        onehot[tier_of, np.arange(shares.shape[1])] = 1.0
        return cls(
            tier_of=tier_of.astype(np.intp),
            tier_share=onehot @ shares.T,
            share_sr=np.ascontiguousarray(shares.T),
        )

    def demand_by_sector(self, demand: F, out: F | None = None) -> F:
        """[S, P, R] sector demand D_s = D x a[r, s] (t)."""
        return np.multiply(self.share_sr[:, None, :], demand[None, :, :], out=out)

    def fill(self, demand: F, use: F, out: F | None = None) -> F:
        """[S, P, R] fraction of each sector's demand served: f_{tier(s)} (0 where D_tier = 0).

        Tier by tier (K <= S, a few), S_k = min(left, D_k) with left = U - S_0 - ... - S_{k-1},
        which equals min(U, C_k) - min(U, C_{k-1}); f_k = S_k / D_k <= 1.
        """
        left = use.copy()
        f = np.zeros((self.tier_share.shape[0], *demand.shape))
        for k in range(self.tier_share.shape[0]):
            d_k = demand * self.tier_share[k]
            s_k = np.minimum(left, d_k)
            left -= s_k
            np.divide(s_k, d_k, out=f[k], where=d_k > 0)
        np.minimum(f, 1.0, out=f)
        return np.take(f, self.tier_of, axis=0, out=out)


def growth_factors(sectors: Sequence[str], parameters: Mapping[str, float], n_months: int) -> F | None:
    """[T, S] relative growth of each sector's demand, m_s(t) = (1 + x_s)^(t / 12).

    ``x_s`` is parameter ``sector_growth.<sector id>`` (fraction per year; the sector's demand
    grows at (1 + g)(1 + x_s) - 1 with g = ``demand.growth_per_year``). Returns ``None`` when
    every x_s is 0 (all sectors grow alike, the default). Raises :class:`DataError` for an x_s
    at or below -1.
    """
    x = np.array([float(parameters.get(f"sector_growth.{s}", 0.0)) for s in sectors])
    if not np.isfinite(x).all() or (x <= -1.0).any():
        bad = [s for s, v in zip(sectors, x, strict=True) if not (np.isfinite(v) and v > -1.0)]
        raise DataError(
            f"sector growth of {bad} must be finite and above -1",
            column=f"sector_growth.{bad[0]}",
            fix="give a yearly rate relative to demand.growth_per_year, e.g. 0.05",
        )
    if not x.any():
        return None
    years = np.arange(n_months)[:, None] / 12.0
    return np.asarray((1.0 + x[None, :]) ** years, dtype=np.float64)


def heavy_grade_path(
    shares: F, weights: F, heavy: npt.NDArray[np.bool_], growth: F | None, n_months: int
) -> F:
    """[T] the heavy-grade share of magnet demand relative to its start value.

    With world shares a_s = sum_r w_r a[r, s] (``weights`` w: each region's share of baseline
    demand), H(t) = sum_{s heavy} a_s m_s(t) / sum_s a_s m_s(t) and the path is H(t) / H(0): 1
    throughout when ``growth`` is None (all sectors grow alike). The Dy + Tb feed scales its
    grade share h by it, so faster-growing EV demand raises the need for Dy + Tb.
    """
    a = np.asarray(weights, dtype=np.float64) @ np.asarray(shares, dtype=np.float64)
    if growth is None or not heavy.any():
        return np.ones(n_months)
    mix = a[None, :] * growth
    h = mix[:, heavy].sum(axis=1) / mix.sum(axis=1)
    return np.asarray(h / h[0], dtype=np.float64)


def allocate(demand: F, use: F, shares: F, priority: npt.ArrayLike) -> F:
    """Share each region's consumption among sectors: ``use_by_sector[p, r, s]`` (t).

    ``demand`` and ``use`` are [P, R] (t, 0 <= use <= demand), ``shares`` [R, S] (rows sum
    to 1), ``priority`` [S] integers: the tier of each sector, lower tiers served first (the
    values need not be consecutive). Tier k gets S_k = min(U, C_k) - min(U, C_{k-1}) with C_k
    the cumulative demand of tiers 0..k, shared pro rata to demand within the tier (module
    docstring). Guarantees 0 <= U_s <= D_s = demand x share, sum_s U_s = use, and no sector of
    a later tier gets anything while an earlier tier is short. O(P R S), no loop over paths.
    """
    demand = np.asarray(demand, dtype=np.float64)
    use = np.asarray(use, dtype=np.float64)
    shares = np.asarray(shares, dtype=np.float64)
    _check_shares(shares)
    _check_flows(demand, use, shares.shape[0])
    tiers = _Tiers.of(shares, priority)
    u_s = tiers.demand_by_sector(demand) * tiers.fill(demand, np.minimum(use, demand))
    return np.ascontiguousarray(u_s.transpose(1, 2, 0))


# --------------------------------------------------------------------------- streamed metrics
class SectorAccumulator:
    """Per-path, per-region, per-sector shortage metrics streamed month by month.

    Create one per block of paths (``n_paths`` = the block's size) and call :meth:`update`
    once per month with the block's [P, R] ``demand`` and ``use`` (t/month); join blocks with
    :meth:`join`. Per month, with D_s = demand x shares and U_s from :func:`allocate`:

    * ``peak_shortfall_pct``: max over months of 100 (D_s - U_s) / D_s (0 where D_s = 0);
    * ``cumulative_shortfall_t``: sum of D_s - U_s (t);
    * ``months_below_90pct``: count of months with U_s < 0.9 D_s;
    * ``cumulative_demand_t``: sum of D_s (t), the denominator for shares of shortfall;
    * ``output_at_risk_usd``: sum of (D_s - U_s) x v_s, only when ``usd_per_t_by_sector`` (v,
      USD of end-product output per t of magnet) is given: shape [S], [P, S] or [P, R, S].

    Cost per update: about a dozen element-wise passes over P x R x S values, no loop over paths
    (a loop over the few priority tiers only).
    """

    def __init__(
        self,
        shares: F,
        priority: npt.ArrayLike,
        n_paths: int,
        usd_per_t_by_sector: npt.ArrayLike | None = None,
    ) -> None:
        self.shares = np.asarray(shares, dtype=np.float64)
        _check_shares(self.shares)
        self.priority = np.asarray(priority)
        self.tiers = _Tiers.of(self.shares, self.priority)
        if n_paths < 1:
            raise DataError(f"n_paths must be at least 1, got {n_paths}", column="n_paths")
        n_r, n_s = self.shares.shape
        self.shape = (n_paths, n_r, n_s)
        inner = (n_s, n_paths, n_r)  # sector-major, see _Tiers
        self.peak = np.zeros(inner)
        self.cum = np.zeros(inner)
        self.below = np.zeros(inner)
        self.demand = np.zeros(inner)
        self.months = 0
        # scratch buffers of update()
        self._d, self._u, self._t, self._f = (np.empty(inner) for _ in range(4))
        self._m = np.empty(inner, dtype=bool)
        self.value: F | None = None
        self.at_risk: F | None = None
        if usd_per_t_by_sector is not None:
            v = np.asarray(usd_per_t_by_sector, dtype=np.float64)
            if v.ndim in (1, 2):
                v = v.reshape((1, 1, -1) if v.ndim == 1 else (v.shape[0], 1, v.shape[1]))
            try:
                ok = v.ndim == 3 and np.broadcast_shapes(v.shape, self.shape) == self.shape
            except ValueError:
                ok = False
            if not ok or not np.isfinite(v).all() or (v < 0).any():
                raise DataError(
                    f"usd_per_t_by_sector has shape {np.shape(usd_per_t_by_sector)}; need finite "
                    f"non-negative values of shape [{n_s}], [{n_paths}, {n_s}] or {list(self.shape)}",
                    column="usd_per_t_by_sector",
                )
            self.value = np.ascontiguousarray(np.broadcast_to(v, self.shape).transpose(2, 0, 1))
            self.at_risk = np.zeros(inner)

    def set_shares(self, shares: F) -> None:
        """Replace the [R, S] sector shares from this month on (sectors growing at their own
        rates, :func:`growth_factors`); rows must sum to 1 and the regions and sectors stay."""
        shares = np.asarray(shares, dtype=np.float64)
        if shares.shape != self.shares.shape:
            raise DataError(f"shares {shares.shape}, expected {self.shares.shape}", column="shares")
        _check_shares(shares)
        self.shares = shares
        self.tiers = _Tiers.of(shares, self.priority)

    def update(self, demand: F, use: F, *, check: bool = True) -> None:
        """Add one month of the block's ``demand`` and ``use`` [P, R] (t/month).

        Works in preallocated [S, P, R] buffers: fresh arrays of this size would cost a page
        fault per call (see the engine's note on block size). ``check=False`` skips the input
        validation, for a caller that guarantees finite flows with 0 <= use <= demand (the
        engine: use = min(demand, available) of non-negative stocks).
        """
        demand = np.asarray(demand, dtype=np.float64)
        use = np.asarray(use, dtype=np.float64)
        if check:
            _check_flows(demand, use, self.shape[1])
        if demand.shape[0] != self.shape[0]:
            raise DataError(
                f"{demand.shape[0]} paths given to an accumulator of {self.shape[0]}", column="demand"
            )
        d_s, u_s, tmp, f, mask = self._d, self._u, self._t, self._f, self._m
        self.tiers.demand_by_sector(demand, out=d_s)
        self.tiers.fill(demand, np.minimum(use, demand), out=f)
        np.multiply(d_s, f, out=u_s)
        np.multiply(d_s, BELOW_FRACTION, out=tmp)
        np.less(u_s, tmp, out=mask)
        self.below += mask
        # (D_s - U_s) / D_s = 1 - f where D_s > 0, else 0
        np.greater(d_s, 0.0, out=mask)
        np.subtract(1.0, f, out=f)
        f *= mask
        np.maximum(self.peak, f, out=self.peak)
        np.subtract(d_s, u_s, out=tmp)  # shortfall D_s - U_s >= 0, since f <= 1
        self.cum += tmp
        self.demand += d_s
        if self.at_risk is not None and self.value is not None:
            tmp *= self.value
            self.at_risk += tmp
        self.months += 1

    def metrics(self) -> dict[str, F]:
        """The streamed metrics so far, each [P, R, S] (copies; see the class docstring)."""

        def out(a: F, scale: float = 1.0) -> F:
            return np.ascontiguousarray(a.transpose(1, 2, 0)) * scale

        got = {
            "peak_shortfall_pct": out(self.peak, 100.0),
            "cumulative_shortfall_t": out(self.cum),
            "months_below_90pct": out(self.below),
            "cumulative_demand_t": out(self.demand),
        }
        if self.at_risk is not None:
            got["output_at_risk_usd"] = out(self.at_risk)
        return got

    @staticmethod
    def join(blocks: Sequence[SectorAccumulator]) -> dict[str, F]:
        """Metrics of consecutive blocks of paths, concatenated along the path axis."""
        if not blocks:
            raise DataError("no blocks to join", column="blocks")
        parts = [b.metrics() for b in blocks]
        keys = parts[0].keys()
        if any(p.keys() != keys for p in parts) or len({b.months for b in blocks}) != 1:
            raise DataError("blocks differ in metrics or months stepped", column="blocks")
        return {k: np.concatenate([p[k] for p in parts], axis=0) for k in keys}


__all__ = [
    "SectorAccumulator",
    "SectorShares",
    "SectorsFile",
    "ValueSpec",
    "allocate",
    "growth_factors",
    "heavy_grade_path",
    "load_sectors",
    "sector_shares",
]
