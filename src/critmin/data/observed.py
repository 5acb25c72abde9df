"""China's observed export volumes (customs figures as reported in the press), with sources.

``observed_china_exports.csv`` (in this package) is a copy of every row of
``shared/data/observed/china_exports_to_2025-05.csv``: columns ``month`` (``YYYY-MM``, a
``YYYY-MM/YYYY-MM`` range for year-to-date rows, or ``YYYY``), ``product``, ``partner``,
``value``, ``unit``, ``mom_pct`` and ``yoy_pct`` as printed, ``qualifier``, ``period_type``
(``month|ytd|year``), ``source_url``, ``source_publisher``, ``notes``, plus ``source_id`` =
:func:`critmin.data.catalogue.web_source_id` of (``source_publisher``, first URL). Every id
resolves in :func:`observed_sources`. Nothing here reads outside the package.

Rows after the shared file's last row are added here (issue 12), each with a ``notes`` cell
starting ``added (calib, issue 12)``; those of months after 2025-05 also say
``forecast-judging``: they judge the backtest's forecast and are never fitted.

Series of different scope are kept apart (never joined): ``MAGNETS`` (HS 8505.11, magnets only)
is the backtest series; ``MAGNETS_AND_ALLOYS`` (the 2024 annual total, Adamas) is broader.
:data:`CHAIN_SERIES` says, per simulated chain, which printed ``product`` strings measure its
exports (and in what unit), so a series of one chain is never compared with another chain.

:func:`magnet_observations` turns the magnet rows into backtest observations:

* ``reported``: a monthly value as printed;
* ``derived`` from a printed month-on-month change: ``x_{m-1} = x_m / (1 + mom_m/100)``, only
  for a month inside the window that is not printed (April 2025: 1,238 t / (1 - 0.529) =
  2,628 t, as the observed-data README says; the rounding of -52.9% gives +-3 t);
* ``derived`` from a year-to-date total: ``YTD - sum(known months)`` over the months still
  unknown, kept as *one* observation of their sum when they are contiguous (Feb+Mar 2025 =
  19,132 - 6,357 - 2,628 - 1,238 = 8,909 t); it inherits the error of any derived month.

:func:`read_series_csv` reads a user's observed series (``month,value_t[,partner]``) for
``critmin calibrate`` through :mod:`critmin.infile`, with errors that name the file, line and
column.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from critmin.data.catalogue import Source
from critmin.errors import DataError
from critmin.errors import shown as quoted
from critmin.infile import csv_records, finite, read_input
from critmin.model.countries import is_known_code

OBSERVED_CSV = "observed_china_exports.csv"
#: The simulated product the magnet series observe (a chain's ``product`` in the registry).
OBSERVED_PRODUCT = "ndfeb_magnets"
MAGNETS = "RE permanent magnets (HS 8505.11)"
MAGNETS_AND_ALLOYS = "RE permanent magnets + magnet alloys (nearly all NdFeB)"
WEB_LICENCE = "Facts cited from a public web page (no text reproduced)"
#: Partner as printed -> the backtest's partner label (model region, or World).
PARTNERS: dict[str, str] = {"World": "World", "United States": "USA"}
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_PERIOD = re.compile(r"^(\d{4}-\d{2})(?:/(\d{4}-\d{2}))?$")


class Basis(StrEnum):
    """How an observation was obtained."""

    REPORTED = "reported"
    DERIVED = "derived"


def first_url(text: str) -> str:
    """The first URL of a ``source_url`` cell (several may be separated by ``;`` or spaces)."""
    return re.split(r"\s*;\s*|\s+", text.strip())[0]


@cache
def _table() -> pd.DataFrame:
    path = resources.files("critmin.data").joinpath(OBSERVED_CSV)
    with path.open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh, dtype=str, keep_default_na=False)
    frame["value"] = pd.to_numeric(frame["value"].replace("", None), errors="raise").astype(float)
    return frame


@dataclass(frozen=True)
class _Row:
    """One observed row, typed (the columns this module reads)."""

    month: str
    product: str
    partner: str
    value: float
    unit: str
    mom_pct: str
    period_type: str
    source_url: str
    source_publisher: str
    source_id: str


def _rows(frame: pd.DataFrame) -> list[_Row]:
    text = (
        "month",
        "product",
        "partner",
        "unit",
        "mom_pct",
        "period_type",
        "source_url",
        "source_publisher",
        "source_id",
    )
    recs: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")]
    return [_Row(value=float(r["value"]), **{c: str(r[c]) for c in text}) for r in recs]


def observed_exports() -> pd.DataFrame:
    """Every bundled observed row (a copy): text columns as printed, ``value`` a float (NaN = not printed)."""
    return _table().copy()


@cache
def _sources() -> dict[str, Source]:
    out: dict[str, Source] = {}
    products: dict[str, list[str]] = {}
    for row in _rows(_table()):
        sid = str(row.source_id)
        products.setdefault(sid, [])
        if row.product not in products[sid]:
            products[sid].append(str(row.product))
        if sid not in out:
            out[sid] = Source(
                id=sid,
                kind="web",
                publisher=str(row.source_publisher),
                title="",
                url=first_url(str(row.source_url)),
                licence=WEB_LICENCE,
            )
    return {
        sid: src.model_copy(update={"title": "China customs exports: " + "; ".join(products[sid])})
        for sid, src in out.items()
    }


def observed_sources() -> dict[str, Source]:
    """The web sources of the bundled observed rows, by ``source_id`` (kind ``web``)."""
    return dict(_sources())


# ------------------------------------------------------------------------ observations


@dataclass(frozen=True)
class Observation:
    """One observed total over ``first``..``last`` (inclusive months) for ``partner``, in t."""

    partner: str
    first: str
    last: str
    observed_t: float
    basis: Basis
    source_ids: tuple[str, ...]
    rationale: str = ""

    @property
    def period(self) -> str:
        """``YYYY-MM`` for one month, ``YYYY-MM/YYYY-MM`` for a multi-month total."""
        return self.first if self.first == self.last else f"{self.first}/{self.last}"

    @property
    def months(self) -> tuple[str, ...]:
        """Every month of the period."""
        return month_range(self.first, self.last)


def month_range(first: str, last: str) -> tuple[str, ...]:
    """Months ``first``..``last`` inclusive, as ``YYYY-MM``."""
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return tuple(out)


def _previous(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    return f"{y - 1:04d}-12" if m == 1 else f"{y:04d}-{m - 1:02d}"


@dataclass(frozen=True, kw_only=True)
class ChainSeries:
    """Which observed ``product`` strings measure one simulated chain's exports from China.

    ``chain`` and ``product`` are the registry's ids (:mod:`critmin.simulate.chains.registry`);
    ``products`` lists the printed product strings that measure the chain's whole export (the
    scope the backtest compares), in order of preference when two print the same month;
    ``parts`` are strings that are summed when every one of them is printed for a month and no
    whole-scope row is (gallium's wrought and unwrought lines of October 2023). The unit of
    every row is its ``unit`` cell (``t`` or ``kg``, converted to t). ``narrow`` lists strings of
    a narrower scope (gallium's wrought-only line) that are shown in the pre-control check but
    never fitted; ``scope_note`` says what the chain's modelled tonnes are against the series.
    """

    chain: str
    product: str
    title: str
    products: tuple[str, ...]
    parts: tuple[str, ...] = ()
    narrow: tuple[str, ...] = ()
    scope_note: str = ""
    #: last month before the chain's first control (the pre-control check's window ends here)
    pre_control_until: str = "2025-03"

    @property
    def all_products(self) -> tuple[str, ...]:
        """Every printed string that belongs to this chain."""
        return (*self.products, *self.parts, *self.narrow)


#: The explicit series <-> chain mapping (issue 12 item 2): the backtest of a chain reads only
#: these rows, and a user series naming another chain's product is refused.
CHAIN_SERIES: dict[str, ChainSeries] = {
    s.chain: s
    for s in (
        ChainSeries(
            chain="rare_earths",
            product="ndfeb_magnets",
            title="NdFeB magnets (HS 8505.11)",
            products=(MAGNETS,),
            narrow=(MAGNETS_AND_ALLOYS,),
            scope_note="modelled magnets leaving China vs HS 8505.11 (magnets only)",
        ),
        ChainSeries(
            chain="gallium",
            pre_control_until="2023-07",
            product="gallium_metal",
            title="gallium metal (wrought + unwrought, HS 8112.92 / 8112.99)",
            products=("gallium (wrought + unwrought)", "gallium"),
            parts=("gallium (wrought)", "gallium (unwrought)"),
            narrow=("gallium (wrought products)", "gallium products (broader scope)"),
            scope_note="modelled gallium metal leaving China vs customs gallium (wrought + unwrought)",
        ),
        ChainSeries(
            chain="germanium",
            pre_control_until="2023-07",
            product="germanium_metal",
            title="germanium metal (wrought + unwrought)",
            products=("germanium (wrought + unwrought)", "germanium"),
            narrow=("germanium (wrought products)",),
            scope_note="modelled germanium metal leaving China vs customs germanium (wrought + unwrought)",
        ),
        ChainSeries(
            chain="antimony",
            pre_control_until="2024-08",
            product="refined_antimony",
            title="antimony products (Reuters aggregate: ores, metal, oxide; gross weight)",
            products=("antimony products (Reuters aggregate)",),
            narrow=("antimony metal", "antimony oxide"),
            scope_note=(
                "modelled contained Sb leaving China vs the gross weight of antimony products "
                "(oxide is ~83.5% Sb): the observed tonnes overstate contained Sb by up to ~20%"
            ),
        ),
    )
}


def chain_series(chain: str) -> ChainSeries:
    """The :class:`ChainSeries` of ``chain``; DataError naming the chains that have one."""
    if chain not in CHAIN_SERIES:
        raise DataError(
            f"no observed export series for chain {chain!r}",
            column="chain",
            fix=f"use one of {', '.join(CHAIN_SERIES)}",
        )
    return CHAIN_SERIES[chain]


def chain_of_product(text: str) -> str | None:
    """The chain whose series includes the printed or registry ``product`` ``text`` (or None)."""
    name = text.strip().lower()
    for s in CHAIN_SERIES.values():
        if name in (s.chain, s.product) or name in (p.lower() for p in s.all_products):
            return s.chain
    return None


_TO_T = {"t": 1.0, "kg": 1.0e-3}


def _monthly_totals(rows: pd.DataFrame, spec: ChainSeries) -> dict[str, tuple[float, str]]:
    """Whole-scope value (t) and source id per single month: preferred product, else all parts."""
    out: dict[str, tuple[float, str]] = {}
    for product in spec.products:
        for r in _rows(rows.loc[rows["product"] == product]):
            if r.month not in out:
                out[r.month] = (r.value * _TO_T[r.unit], r.source_id)
    parts = rows.loc[rows["product"].isin(list(spec.parts))]
    for month, grp in parts.groupby("month"):
        got = set(grp["product"])
        if str(month) not in out and spec.parts and got == set(spec.parts):
            recs = _rows(grp)
            out[str(month)] = (sum(r.value * _TO_T[r.unit] for r in recs), recs[0].source_id)
    return out


def chain_observations(chain: str, first: str, last: str) -> tuple[Observation, ...]:
    """Observed exports of ``chain`` (World and every partner printed) for months ``first``..``last``.

    Reported months (the chain's whole-scope products, or the sum of its parts), months derived
    from a printed m/m change, then year-to-date or annual totals: their remainder over the
    still unknown months when those are contiguous, else the whole total as one observation
    (it then overlaps months observed alone, which the backtest allows and the fit counts once
    per row). Values in t. Sorted by partner and period.
    """
    spec = chain_series(chain)
    t = _table()
    mine = t.loc[t["product"].isin(list(spec.products + spec.parts)) & t["value"].notna()]
    obs: list[Observation] = []
    for printed in sorted(set(mine["partner"]), key=lambda p: (p != "World", p)):
        partner = PARTNERS.get(printed, printed)
        rows = mine.loc[mine["partner"] == printed]
        monthly = rows.loc[(rows["period_type"] == "month") & rows["month"].between(first, last)]
        known: dict[str, Observation] = {}
        for month, (value, sid) in sorted(_monthly_totals(monthly, spec).items()):
            known[month] = Observation(partner, month, month, value, Basis.REPORTED, (sid,))
        for r in _rows(monthly.loc[monthly["product"].isin(list(spec.products))]):
            prev = _previous(str(r.month))
            mom = str(r.mom_pct).strip()
            if prev in known or not (first <= prev <= last) or not _NUMBER.match(mom):
                continue
            change = float(mom) / 100.0
            scale = _TO_T[r.unit]
            value = round(float(r.value) / (1.0 + change)) * scale
            known[prev] = Observation(
                partner,
                prev,
                prev,
                float(value),
                Basis.DERIVED,
                (str(r.source_id),),
                f"not printed in any source found; {r.month}'s {r.value:,.0f} {r.unit} at {mom}% m/m "
                f"implies {r.value:,.0f} / (1 {'-' if change < 0 else '+'} {abs(change):.3f}) = "
                f"{value / scale:,.0f} {r.unit} (+-3 {r.unit} from the rounding of the printed change)",
            )
        obs.extend(known.values())
        totals = rows.loc[
            rows["period_type"].isin(["ytd", "year"]) & rows["product"].isin(list(spec.products))
        ]
        for r in _rows(totals):
            a, _, b = str(r.month).partition("/")
            if r.period_type == "year":
                a, b = f"{r.month}-01", f"{r.month}-12"
            if not (first <= a and b <= last):
                continue
            total = float(r.value) * _TO_T[r.unit]
            span = month_range(a, b)
            unknown = [m for m in span if m not in known]
            covered = [known[m] for m in span if m in known]
            rest = total - sum(o.observed_t for o in covered)
            contiguous = unknown == list(month_range(unknown[0], unknown[-1])) if unknown else False
            if contiguous and rest >= 0:
                if any(o.partner == partner and (o.first, o.last) == (unknown[0], unknown[-1]) for o in obs):
                    continue  # a second total (H1 after Jan-May) leaves the same remainder
                names = ", ".join(f"{o.first} ({o.basis.value})" for o in covered)
                kind = "year-to-date" if r.period_type == "ytd" else "annual"
                note = [f"{a}..{b} {kind} total {float(r.value):,.6g} {r.unit} minus {names}"]
                if len(unknown) > 1:
                    note.append("the months are not printed separately, so this is their total")
                note.append("inherits the error of any derived month")
                obs.append(
                    Observation(
                        partner,
                        unknown[0],
                        unknown[-1],
                        rest,
                        Basis.DERIVED,
                        (str(r.source_id), *sorted({s for o in covered for s in o.source_ids})),
                        "; ".join(note),
                    )
                )
            elif unknown:
                obs.append(
                    Observation(
                        partner,
                        a,
                        b,
                        total,
                        Basis.REPORTED,
                        (str(r.source_id),),
                        f"{a}..{b} total as printed (overlaps the months printed alone)",
                    )
                )
    return tuple(sorted(obs, key=lambda o: (o.partner != "World", o.partner, o.first, o.last)))


def magnet_observations(first: str = "2025-01", last: str = "2026-06") -> tuple[Observation, ...]:
    """Observed HS 8505.11 magnet exports (World and USA): :func:`chain_observations` of rare_earths."""
    return chain_observations("rare_earths", first, last)


def pre_control_reference(chain: str) -> pd.DataFrame:
    """Every printed World row of ``chain`` (whole and narrow scopes) ending by its last pre-control month.

    Columns as :func:`baseline_reference` (``t_per_month`` in t). For rare_earths this is
    :func:`baseline_reference` (the 2024 references).
    """
    if chain == "rare_earths":
        return baseline_reference()
    spec = chain_series(chain)
    t = _table()
    rows = t.loc[t["product"].isin(list(spec.all_products)) & (t["partner"] == "World") & t["value"].notna()]
    out = []
    for r in _rows(rows):
        period = str(r.month)
        a, _, b = period.partition("/")
        if r.period_type == "year":
            a, b = f"{period}-01", f"{period}-12"
        b = b or a
        if b > spec.pre_control_until:
            continue
        n = len(month_range(a, b))
        value = float(r.value) * _TO_T[r.unit]
        out.append(
            {
                "label": f"{r.product} {period}",
                "period": period,
                "scope": str(r.product),
                "observed_t": value,
                "n_months": n,
                "t_per_month": value / n,
                "source_ids": (str(r.source_id),),
            }
        )
    cols = ["label", "period", "scope", "observed_t", "n_months", "t_per_month", "source_ids"]
    return pd.DataFrame(out, columns=cols)


def baseline_reference() -> pd.DataFrame:
    """Pre-control (2024) magnet export references, as t per month.

    Columns: ``label``, ``period``, ``scope`` (product), ``observed_t`` (the printed total),
    ``n_months``, ``t_per_month`` = observed_t / n_months, ``source_ids``. The HS 8505.11 months of
    2024 are also averaged (``mean of printed 2024 months``). Scopes differ: the annual total
    includes magnet alloys and is the one the model's baseline export flow is set from.
    """
    t = _table()
    rows = t.loc[t["product"].isin([MAGNETS, MAGNETS_AND_ALLOYS]) & (t["partner"] == "World")]
    rows = rows.loc[rows["month"].str.startswith("2024") & rows["value"].notna()]
    out = []
    for r in _rows(rows):
        period = str(r.month)
        if r.period_type == "year":
            n = 12
        elif r.period_type == "ytd":
            a, _, b = period.partition("/")
            n = len(month_range(a, b))
        else:
            n = 1
        out.append(
            {
                "label": {"year": "2024 annual", "ytd": "2024 year-to-date"}.get(
                    str(r.period_type), "2024 month"
                ),
                "period": period,
                "scope": str(r.product),
                "observed_t": float(r.value),
                "n_months": n,
                "t_per_month": float(r.value) / n,
                "source_ids": (str(r.source_id),),
            }
        )
    frame = pd.DataFrame(out)
    months = frame.loc[frame["label"] == "2024 month"]
    mean = {
        "label": "mean of printed 2024 months",
        "period": ",".join(months["period"]),
        "scope": MAGNETS,
        "observed_t": float(months["observed_t"].sum()),
        "n_months": len(months),
        "t_per_month": float(months["observed_t"].mean()),
        "source_ids": tuple(sorted({s for ids in months["source_ids"] for s in ids})),
    }
    return pd.concat([frame, pd.DataFrame([mean])], ignore_index=True)


# ------------------------------------------------------------------------ user series


def parse_period(text: str) -> tuple[str, str] | None:
    """``YYYY-MM`` -> (m, m); ``YYYY-MM/YYYY-MM`` -> (first, last); None if malformed."""
    hit = _PERIOD.match(text.strip())
    if not hit:
        return None
    a, b = hit.group(1), hit.group(2) or hit.group(1)
    for m in (a, b):
        if not 1 <= int(m[5:7]) <= 12:
            return None
    return (a, b) if a <= b else None


#: Largest value an observed series may give, t per period: the parameter table's bound on a
#: chain's yearly volume (``volume.magnet_t_per_year``, 1e8 t).
MAX_OBSERVED_T = 1.0e8
SERIES_COLUMNS = ("month", "value_t")


def _partner(text: str, path: Path, line: int) -> str:
    """A series' partner as the backtest labels it: World, a printed name, or a region code."""
    name = text.strip()
    if name in PARTNERS:
        return PARTNERS[name]
    if name in PARTNERS.values() or is_known_code(name):
        return name
    raise DataError(
        f"unknown partner {name!r}",
        path=path,
        line=line,
        column="partner",
        fix="write World, United States, or a model region code such as USA or EU27",
    )


def read_series_csv(path: Path | str) -> pd.DataFrame:
    """Read an observed series ``month,value_t[,partner][,product][,unit]`` (others are ignored).

    ``product`` (optional) names what the series measures (a chain id such as ``gallium``, a
    registry product, or a customs product string of :data:`CHAIN_SERIES`); ``critmin
    calibrate`` refuses a series whose product is not the chain's. ``unit`` (optional, ``t`` or
    ``kg``) converts each value to t.

    ``month`` is ``YYYY-MM``, or ``YYYY-MM/YYYY-MM`` for a total over several months; ``value_t``
    a finite number of tonnes in [0, :data:`MAX_OBSERVED_T`]; the optional ``partner`` (World,
    United States, or a region code such as USA) lets one file carry several partners. Periods of
    one partner must not overlap (a month given twice, or inside a range given too, would be
    counted twice): both lines are named. The file is read through :mod:`critmin.infile`
    (regular file, size limit, UTF-8). Returns columns month, value_t, line (1-based file line)
    and partner when the file has one. Errors name the file, line and column, with a fix.
    """
    p = Path(path)
    records = csv_records(read_input(p, "csv", what="observed series").text(), p)
    first = next(records, None)
    if first is None or not any(c.strip() for c in first[1]):
        raise DataError(
            "empty file", path=p, line=1, fix="write a header `month,value_t` and one row a month"
        )
    cols = [h.strip() for h in first[1]]
    for i, c in enumerate(cols):
        if c and c in cols[:i]:
            raise DataError(
                f"column {c!r} appears twice in the header",
                path=p,
                line=1,
                column=c,
                fix="name each column once",
            )
    for need in SERIES_COLUMNS:
        if need not in cols:
            raise DataError(
                f"missing column {need!r} (found {', '.join(repr(c) for c in cols)})",
                path=p,
                line=1,
                fix="the header must name `month,value_t`",
            )
    im, iv = cols.index("month"), cols.index("value_t")
    ip = cols.index("partner") if "partner" in cols else None
    iprod = cols.index("product") if "product" in cols else None
    iunit = cols.index("unit") if "unit" in cols else None
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], tuple[int, str]] = {}  # (partner, month) -> (line, period)
    for line, rec in records:
        if not any(c.strip() for c in rec):
            continue
        if len(rec) != len(cols):
            raise DataError(
                f"{len(rec)} fields, the header has {len(cols)}",
                path=p,
                line=line,
                fix="one value per column",
            )
        month, raw = rec[im].strip(), rec[iv].strip()
        period = parse_period(month)
        if period is None:
            raise DataError(
                f"{month!r} is not a month YYYY-MM (or a range YYYY-MM/YYYY-MM, first <= last)",
                path=p,
                line=line,
                column="month",
                fix="write e.g. 2025-05",
            )
        try:
            value = float(raw.replace(",", "")) if raw else math.nan
        except ValueError:
            value = math.nan
        if math.isnan(value) and raw.lower().lstrip("+-") != "nan":
            shown = raw if len(raw) <= 40 else raw[:30] + "..."
            raise DataError(
                f"{shown!r} is not a number",
                path=p,
                line=line,
                column="value_t",
                fix="write tonnes, e.g. 1238",
            )
        value = finite(value, path=p, line=line, column="value_t", what="observed value", max_abs=math.inf)
        if iunit is not None:
            unit = rec[iunit].strip()
            if unit not in _TO_T:
                raise DataError(
                    f"unit {quoted(unit)} is not t or kg",
                    path=p,
                    line=line,
                    column="unit",
                    fix="write t or kg (kg values are divided by 1,000)",
                )
            value *= _TO_T[unit]
        if value > MAX_OBSERVED_T:
            raise DataError(
                f"observed value {value:g} t is above the {MAX_OBSERVED_T:.0e} t limit",
                path=p,
                line=line,
                column="value_t",
                fix="check the number and that it is in tonnes (not kg)",
            )
        if value < 0:
            raise DataError(
                f"negative export {value:g} t",
                path=p,
                line=line,
                column="value_t",
                fix="exports cannot be negative",
            )
        partner = _partner(rec[ip], p, line) if ip is not None else ""
        for m in month_range(*period):
            if (partner, m) in seen:
                other, was = seen[(partner, m)]
                who = f" for {partner}" if partner else ""
                what = (
                    f"month {month}{who} repeats line {other}"
                    if was == month
                    else f"{month}{who} overlaps {was} on line {other} (month {m} would count twice)"
                )
                raise DataError(
                    what,
                    path=p,
                    line=line,
                    column="month",
                    fix="give each month once per partner (a range YYYY-MM/YYYY-MM counts for its months)",
                )
            seen[(partner, m)] = (line, month)
        row: dict[str, Any] = {"month": month, "value_t": value, "line": line}
        if ip is not None:
            row["partner"] = partner
        if iprod is not None:
            row["product"] = rec[iprod].strip()
        rows.append(row)
    if not rows:
        raise DataError("no data rows", path=p, line=2, fix="add rows `YYYY-MM,value_t`")
    columns = [
        "month",
        "value_t",
        "line",
        *(["partner"] if ip is not None else []),
        *(["product"] if iprod is not None else []),
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame.attrs["path"] = str(p)
    return frame
