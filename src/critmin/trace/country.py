"""Country-level origin tracing along the bundled rare-earth chain.

Stages k = mining -> separation -> metal_alloy -> magnet. At each stage the country shares
s_k (fractions of world output, residual rows pooled as the pseudo-country ``ROW``) come from
:func:`critmin.metrics.exposure.shares_at_stage`. World output is normalised to 1 at every
stage (``assumption:ree-chain-share-scopes``).

**Allocation** (who feeds whom), transition k -> k+1, in shares of world flow F[i, j] (supplier
country i at stage k to consumer country j at stage k+1):

1. ``fixed`` consumers take their documented sourcing mix: F[i, j] = s_{k+1}[j] * mix[i]
   (capped at what i has left; the shortfall joins the pool);
2. every other country supplies itself first: F[j, j] = min(s_k[j], s_{k+1}[j]);
3. the remaining surplus a_i and need r_j are matched by RAS (biproportional scaling of a
   start matrix a r^T, zero on ``blocked`` pairs) so that rows sum to a and columns to r
   (Bacharach 1970, *Biproportional Matrices and Input-Output Change*). Any part that blocks
   make impossible to place is reported as ``unallocated``.

**Input mix** P_k[i, j] = F[i, j] / s_{k+1}[j]: the share of consumer j's input from i
(columns sum to 1). **Origin matrix** from stage m to stage n > m:
O = P_m P_{m+1} ... P_{n-1}, so O[i, j] = share of country j's stage-n output that originated
in country i at stage m. With no recycling between stages the chain is acyclic and the
product of column-stochastic matrices is exact (the Leontief inverse (I - A)^-1 reduces to it).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin import yamlio
from critmin.data.dataset import Dataset
from critmin.errors import DataError
from critmin.metrics.exposure import shares_at_stage
from critmin.model.countries import REST_OF_WORLD, is_country
from critmin.model.stages import Stage

CHAIN: tuple[Stage, ...] = (Stage.MINING, Stage.SEPARATION, Stage.METAL_ALLOY, Stage.MAGNET)
COMMODITY = "rare_earths"
#: Years :func:`origin_matrix` accepts (the stage shares fall back to their latest year inside).
FIRST_YEAR, LAST_YEAR = 1900, 2100


@dataclass(frozen=True)
class Allocation:
    """Flows between two consecutive stages, with provenance.

    ``flows`` (supplier x consumer, shares of world flow), ``mix`` (the same, each column
    divided by the consumer's output: columns sum to 1), the stage ``supply`` and ``demand``
    vectors, ``unallocated`` flow that blocks made impossible to place, and the ids of the
    sources and assumptions used.
    """

    source_stage: str
    target_stage: str
    year: int
    flows: pd.DataFrame
    mix: pd.DataFrame
    supply: pd.Series
    demand: pd.Series
    unallocated: float
    source_ids: tuple[str, ...]
    assumption_ids: tuple[str, ...]


@dataclass(frozen=True)
class OriginResult:
    """Origin matrix: rows = country at ``origin_stage``, columns = country at ``stage``."""

    origin_stage: str
    stage: str
    year: int
    matrix: pd.DataFrame
    allocations: tuple[Allocation, ...] = field(default=())

    @property
    def source_ids(self) -> list[str]:
        """Every source behind the stage shares and the allocation rules."""
        return sorted({s for a in self.allocations for s in a.source_ids})

    @property
    def assumption_ids(self) -> list[str]:
        """Every labelled assumption used."""
        return sorted({s for a in self.allocations for s in a.assumption_ids})

    def long(self) -> pd.DataFrame:
        """Tidy form: ``country, origin, share`` (non-zero shares only)."""
        m = self.matrix.copy()
        m.index.name, m.columns.name = "origin", "country"
        out = m.reset_index().melt(id_vars="origin", var_name="country", value_name="share")
        out = out.loc[out["share"] > 1e-12, ["country", "origin", "share"]]
        return out.sort_values(["country", "share"], ascending=[True, False]).reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "origin_stage": self.origin_stage,
            "stage": self.stage,
            "year": self.year,
            "origins": [
                {"country": c, "origins": dict(zip(g["origin"], map(float, g["share"]), strict=True))}
                for c, g in self.long().groupby("country", sort=True)
            ],
            "source_ids": self.source_ids,
            "assumption_ids": self.assumption_ids,
        }


@cache
def chain_rules() -> dict[str, Any]:
    """The bundled allocation rules (``trace/ree_chain.yaml``)."""
    text = resources.files("critmin.trace").joinpath("ree_chain.yaml").read_text("utf-8")
    rules: dict[str, Any] = yamlio.safe_load(text)
    return rules


def stage_vector(
    ds: Dataset, stage: Stage | str, year: int, commodity: str = COMMODITY
) -> tuple[pd.Series, list[str], list[str]]:
    """Country shares at ``stage`` (latest data up to ``year``), residual pooled as ROW.

    Returns (shares summing to 1, source ids, assumption ids). Uses the same stage choice as
    :func:`critmin.metrics.exposure.exposure`: tonnage table for ``year`` if it exists, else the
    best published set, else the labelled assumption.
    """
    st = Stage(stage)
    got = shares_at_stage(ds, commodity, st, year)
    if got is None:
        got = shares_at_stage(ds, commodity, st, None)
    if got is None:
        raise DataError(
            f"no country shares for {commodity} at stage {st.value!r}", fix="add an overlay of shares"
        )
    rows = got.rows.loc[got.rows["share"].notna()]
    code = rows["country"].where(rows["country"].map(is_country), REST_OF_WORLD)
    s = rows.groupby(code.to_numpy())["share"].sum()
    total = float(s.sum())
    if total < 1.0:
        s.loc[REST_OF_WORLD] = s.get(REST_OF_WORLD, 0.0) + (1.0 - total)
    s = s / s.sum()
    assumptions = [sid for sid in got.source_ids if sid.startswith("assumption:")]
    return s.sort_index(), got.source_ids, assumptions


def ras(
    start: npt.NDArray[np.float64],
    rows: npt.NDArray[np.float64],
    cols: npt.NDArray[np.float64],
    *,
    tol: float = 1e-12,
    max_iter: int = 10_000,
) -> npt.NDArray[np.float64]:
    """Biproportional scaling (RAS): scale ``start`` so row sums -> ``rows``, column sums -> ``cols``.

    Zeros in ``start`` stay zero (blocked pairs). Converges to the unique matrix of that form
    when one exists (Bacharach 1970); otherwise stops at ``max_iter`` with the closest fit,
    and the caller reports what could not be placed.
    """
    x = start.astype(float).copy()
    for _ in range(max_iter):
        rs = x.sum(axis=1)
        x *= np.divide(rows, rs, out=np.zeros_like(rs), where=rs > 0)[:, None]
        cs = x.sum(axis=0)
        x *= np.divide(cols, cs, out=np.zeros_like(cs), where=cs > 0)[None, :]
        if np.abs(x.sum(axis=1) - rows).max(initial=0.0) < tol:
            break
    return x


def allocate(
    supply: pd.Series,
    demand: pd.Series,
    rules: dict[str, Any] | None = None,
    year: int = 2024,
) -> tuple[pd.DataFrame, float, list[str], list[str]]:
    """Flows F (supplier x consumer) from stage shares and one transition's rules.

    Returns (flows, unallocated, source ids, assumption ids); see the module docstring.
    """
    rules = rules or {}
    codes = sorted(set(supply.index) | set(demand.index))
    idx = {c: i for i, c in enumerate(codes)}
    s = supply.reindex(codes, fill_value=0.0).to_numpy(dtype=float)
    d = demand.reindex(codes, fill_value=0.0).to_numpy(dtype=float)
    n = len(codes)
    f = np.zeros((n, n))
    avail = s.copy()
    need = d.copy()
    sources: list[str] = []
    assumptions = ["assumption:ree-chain-domestic-first", "assumption:ree-chain-share-scopes"]
    fixed = {r["consumer"]: r for r in rules.get("fixed", [])}
    for consumer, rule in fixed.items():
        if consumer not in idx:
            continue
        j = idx[consumer]
        for supplier, frac in rule["mix"].items():
            if supplier not in idx:
                continue
            i = idx[supplier]
            take = min(d[j] * float(frac), avail[i])
            f[i, j] += take
            avail[i] -= take
            need[j] -= take
        sources.append(rule["source_id"])
    for c, j in idx.items():
        if c in fixed:
            continue
        own = min(avail[j], need[j])
        f[j, j] += own
        avail[j] -= own
        need[j] -= own
    mask = np.ones((n, n))
    for b in rules.get("blocked", []):
        in_force = int(b.get("from_year", 0)) <= year <= int(b.get("to_year", 9999))
        if in_force and b["supplier"] in idx and b["consumer"] in idx:
            mask[idx[b["supplier"]], idx[b["consumer"]]] = 0.0
            sources.append(b["source_id"])
            if b.get("assumption"):
                assumptions.append(b["assumption"])
    avail = np.clip(avail, 0.0, None)
    need = np.clip(need, 0.0, None)
    if need.sum() > 1e-15 and avail.sum() > 1e-15:
        start = np.outer(avail, need) * mask
        pooled = ras(start, avail * (need.sum() / avail.sum()) if avail.sum() > need.sum() else avail, need)
        f += pooled
    placed = f.sum(axis=0)
    unallocated = float(max(0.0, d.sum() - placed.sum()))
    flows = pd.DataFrame(f, index=pd.Index(codes, name="supplier"), columns=pd.Index(codes, name="consumer"))
    return flows, unallocated, sorted(set(sources)), sorted(set(assumptions))


def allocation_matrices(
    ds: Dataset, year: int = 2024, *, rules_year: int | None = None
) -> tuple[Allocation, ...]:
    """Allocation between every pair of consecutive stages of the rare-earth chain.

    Stage shares are those of ``year``; dated rules (blocks) are applied as of ``rules_year``
    (default ``year``), e.g. 2024 shares with the 2025 end of US concentrate shipments to China.
    """
    rules = chain_rules()
    vecs = {st: stage_vector(ds, st, year) for st in CHAIN}
    out = []
    for a, b in itertools.pairwise(CHAIN):
        sup, s_src, s_ass = vecs[a]
        dem, d_src, d_ass = vecs[b]
        trule = (rules.get("transitions") or {}).get(f"{a.value}->{b.value}") or {}
        flows, unalloc, r_src, r_ass = allocate(
            sup, dem, trule, rules_year if rules_year is not None else year
        )
        col = flows.sum(axis=0)
        mix = flows.div(col.where(col > 0), axis=1).fillna(0.0)
        out.append(
            Allocation(
                a.value,
                b.value,
                year,
                flows,
                mix,
                sup,
                dem,
                unalloc,
                tuple(sorted(set(s_src) | set(d_src) | set(r_src))),
                tuple(sorted(set(s_ass) | set(d_ass) | set(r_ass))),
            )
        )
    return tuple(out)


def origin_matrix(
    ds: Dataset | None = None,
    stage: Stage | str = Stage.MAGNET,
    origin_stage: Stage | str = Stage.MINING,
    year: int = 2024,
) -> OriginResult:
    """For each country's output at ``stage``, the share originating in each country at ``origin_stage``.

    O = P_m ... P_{n-1} (product of the column-stochastic input-mix matrices; see the module
    docstring). Columns of the result sum to 1 (up to unallocated flow).
    """
    from critmin.data.load import load_dataset

    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise DataError(
            f"year {year} is outside {FIRST_YEAR}-{LAST_YEAR}",
            column="year",
            fix="give a year such as 2024 (a stage without shares for it uses its latest shares)",
        )
    ds = ds if ds is not None else load_dataset()
    st, ost = Stage(stage), Stage(origin_stage)
    if st not in CHAIN or ost not in CHAIN:
        raise DataError(
            f"the rare-earth chain traces {', '.join(s.value for s in CHAIN)}",
            column="stage",
            fix="choose stages from that list",
        )
    if CHAIN.index(ost) >= CHAIN.index(st):
        raise DataError(
            f"origin stage {ost.value!r} must be upstream of {st.value!r}",
            column="origin_stage",
            fix="e.g. --stage magnet --origin-stage mining",
        )
    allocs = allocation_matrices(ds, year)
    used = allocs[CHAIN.index(ost) : CHAIN.index(st)]
    m = used[0].mix
    for a in used[1:]:
        codes = sorted(set(m.columns) | set(a.mix.index))
        m = m.reindex(columns=codes, fill_value=0.0) @ a.mix.reindex(index=codes, fill_value=0.0)
    m = m.loc[:, m.sum(axis=0) > 0]
    m = m.loc[m.sum(axis=1) > 1e-12]
    m.index.name, m.columns.name = "origin", "country"
    return OriginResult(ost.value, st.value, year, m, tuple(allocs))
