"""A stochastic NdPr oxide price model fitted to the bundled price history, and its seeded paths.

**Model.** The log price ``x = ln P`` (P in US$/kg) follows an Ornstein-Uhlenbeck process,
sampled monthly with its exact discretisation::

    x[t+1] = mu + (x[t] - mu) b + s e[t],   b = exp(-kappa),   s = sigma sqrt((1 - b^2) / (2 kappa))

(``kappa`` per month, ``sigma`` per sqrt(month); ``kappa = 0`` is a driftless random walk in
logs, ``s = sigma``). ``ln P`` at a horizon of h months is then normal with mean
``mu + (x0 - mu) b^h`` and variance ``sigma^2 (1 - b^(2h)) / (2 kappa)``, so a put on P has the
Black-76 closed form (:func:`critmin.plan.floor.black76_put`).

**Fit** (:func:`fit_ou`). The series is the densest consistent NdPr oxide series bundled:
SMM's China domestic PrNd oxide quotation (``prices.csv``, product ``PrNd oxide``, CNY/t, VAT
included), Nov 2024 to Jan 2026. Each observation is turned into US$/kg ex-VAT at a constant
exchange rate and VAT rate (:data:`CNY_PER_USD`, :data:`CHINA_VAT`, both labelled assumptions;
a constant rate shifts the log level only, not the dynamics), averaged by month, and the AR(1)
``x[t+1] = a + b x[t] + e`` is fitted by OLS on the pairs of consecutive months. When the sample
is too thin (fewer than :data:`MIN_PAIRS` pairs) or the fit shows no mean reversion
(``b`` outside (0, 1)), the model falls back (``fit.fallback``): ``sigma`` from all gaps
(``mean((dx)^2 / dt)``, a random-walk estimate), the half-life :data:`FALLBACK_HALF_LIFE_MONTHS`
and the long-run level the sample's mean log price (both labelled assumptions).

**Paths** (:func:`simulate_paths`): months at or before the model's origin (the last observed
month) take the observed monthly price (log-linearly interpolated across gaps); later months
are simulated from the origin. Equal seeds give equal paths.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.errors import DataError

F = npt.NDArray[np.float64]
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

#: The bundled series the model is fitted to (``prices.csv``): product, market, unit.
SERIES_PRODUCT = "PrNd oxide"
SERIES_MARKET = "China domestic spot (SMM mainstream quotation)"
#: Assumption: CNY per US$ (the 2025 average was about 7.2; constant over the sample). At 7.3 (Dec
#: 2024) SMM's 397,000 CNY/t ex-VAT is US$48/kg, against Lynas's reported US$49/kg ex-VAT (bundled).
CNY_PER_USD = 7.2
#: China's standard VAT rate on goods (13%); SMM quotations include it, contract benchmarks do not.
CHINA_VAT = 0.13
#: Fewer consecutive-month pairs than this and the OLS fit is not used (``fit.fallback``).
MIN_PAIRS = 8
#: Assumption (fallback only): half-life of a log-price deviation, months. NdPr oxide went from its
#: early-2022 peak to the 2023-24 trough in about two years; 24 months is a round figure near it.
FALLBACK_HALF_LIFE_MONTHS = 24.0


def month_index(month: str) -> int:
    """``"YYYY-MM"`` as a month count (year x 12 + month - 1); a bad month is a DataError."""
    m = _MONTH.match(str(month))
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise DataError(f"{month!r} is not a month YYYY-MM", column="start", fix="e.g. 2025-10")
    return int(m.group(1)) * 12 + int(m.group(2)) - 1


def month_label(index: int) -> str:
    """The inverse of :func:`month_index`."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class OUFit:
    """How a model was fitted: its sample, the OLS figures and whether it fell back."""

    series: str
    source_ids: tuple[str, ...]
    first_month: str
    last_month: str
    n_observations: int
    n_months: int
    n_pairs: int
    ols_a: float | None
    ols_b: float | None
    residual_sd: float | None
    fallback: bool
    caveats: tuple[str, ...]
    cny_per_usd: float = CNY_PER_USD
    vat: float = CHINA_VAT


@dataclass(frozen=True)
class OUModel:
    """Mean-reverting log price (module docstring). ``mu``: long-run mean of ln(US$/kg);
    ``kappa``: reversion per month (>= 0); ``sigma``: volatility per sqrt(month) (>= 0);
    ``origin``: the month (YYYY-MM) whose log price is ``x0``; ``history``: observed US$/kg by
    month up to the origin (used for months at or before it)."""

    mu: float
    kappa: float
    sigma: float
    x0: float
    origin: str
    history: dict[str, float] = field(default_factory=dict)
    fit: OUFit | None = None

    def __post_init__(self) -> None:
        for name in ("mu", "kappa", "sigma", "x0"):
            v = getattr(self, name)
            if not math.isfinite(v):
                raise DataError(f"price model {name} = {v} is not finite", column=name, fix="give a number")
        if self.kappa < 0 or self.sigma < 0:
            raise DataError(
                f"price model kappa {self.kappa:g} and sigma {self.sigma:g} must be >= 0",
                column="kappa" if self.kappa < 0 else "sigma",
                fix="give a non-negative value",
            )
        month_index(self.origin)

    @property
    def half_life_months(self) -> float:
        """ln 2 / kappa (inf for a random walk)."""
        return math.inf if self.kappa == 0 else math.log(2.0) / self.kappa

    @property
    def long_run_usd_per_kg(self) -> float:
        """exp(mu): the median long-run price, US$/kg."""
        return math.exp(self.mu)

    def log_moments(self, h: float | F) -> tuple[F, F]:
        """Mean and standard deviation of ln P, ``h`` months after the origin (h >= 0)."""
        hh = np.maximum(np.asarray(h, dtype=np.float64), 0.0)
        b = np.exp(-self.kappa * hh)
        mean = self.mu + (self.x0 - self.mu) * b
        if self.kappa == 0:
            var = self.sigma**2 * hh
        else:
            var = self.sigma**2 * (1.0 - b**2) / (2.0 * self.kappa)
        return mean, np.sqrt(var)

    def with_sigma(self, sigma: float) -> OUModel:
        """The same model with volatility ``sigma`` (per sqrt(month))."""
        return OUModel(self.mu, self.kappa, sigma, self.x0, self.origin, dict(self.history), self.fit)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (parameters, derived figures, the fit)."""
        return {
            "model": "ornstein-uhlenbeck on ln(US$/kg), monthly",
            "mu": self.mu,
            "kappa_per_month": self.kappa,
            "sigma_per_sqrt_month": self.sigma,
            "sigma_annualised": self.sigma * math.sqrt(12.0),
            "half_life_months": self.half_life_months,
            "long_run_usd_per_kg": self.long_run_usd_per_kg,
            "origin": self.origin,
            "origin_usd_per_kg": math.exp(self.x0),
            "fit": asdict(self.fit) if self.fit is not None else None,
        }


def monthly_series(prices: pd.DataFrame) -> tuple[pd.Series, tuple[str, ...], int]:
    """The fitted series (module docstring): US$/kg ex-VAT by month (mean of the month's
    quotations), its source ids and the number of observations. A DataError when absent."""
    rows = prices[(prices["product"] == SERIES_PRODUCT) & (prices["market"] == SERIES_MARKET)]
    rows = rows[rows["unit"] == "cny_per_t"]
    rows = rows[rows["date"].astype(str).str.len() == 10]
    if rows.empty:
        raise DataError(
            f"the bundled prices table has no {SERIES_PRODUCT!r} rows in cny_per_t",
            column="prices.csv",
            fix="restore the bundled dataset (critmin data build)",
        )
    usd = rows["value"].astype(float) / 1000.0 / CNY_PER_USD / (1.0 + CHINA_VAT)
    months = rows["date"].astype(str).str.slice(0, 7)
    series = usd.groupby(months.to_numpy()).mean().sort_index()
    return series, tuple(sorted(set(rows["source_id"].astype(str)))), len(rows)


def fit_ou(
    series: pd.Series, *, source_ids: tuple[str, ...] = (), n_observations: int | None = None
) -> OUModel:
    """Fit :class:`OUModel` to a monthly US$/kg series (index ``YYYY-MM``) by OLS on consecutive
    months, falling back as the module docstring says when the sample is too thin."""
    if len(series) < 2 or (series <= 0).any():
        raise DataError(
            f"a price series needs two or more positive monthly prices (got {len(series)})",
            column="prices",
            fix="add observations",
        )
    idx = np.array([month_index(m) for m in series.index])
    x = np.log(series.to_numpy(dtype=np.float64))
    gaps = np.diff(idx)
    pairs = np.flatnonzero(gaps == 1)
    caveats = [
        f"{len(series)} months with quotations ({series.index[0]} to {series.index[-1]}), "
        f"{len(pairs)} consecutive-month pairs: a thin sample; the fit is indicative only",
        f"China domestic quotation converted at a constant {CNY_PER_USD} CNY/US$ and {CHINA_VAT:.0%} VAT "
        "(assumptions); the DoD-MP floor references a benchmark price that is redacted in the filing",
        "the sample (late 2024 to Jan 2026) spans China's 2025 export controls, a rising market",
    ]
    a = b = sd = None
    fallback = True
    if len(pairs) >= 2:
        x0s, x1s = x[pairs], x[pairs + 1]
        design = np.column_stack([np.ones_like(x0s), x0s])
        coef, *_ = np.linalg.lstsq(design, x1s, rcond=None)
        a, b = float(coef[0]), float(coef[1])
        resid = x1s - design @ coef
        dof = max(len(pairs) - 2, 1)
        sd = float(math.sqrt(float(resid @ resid) / dof))
        fallback = not (len(pairs) >= MIN_PAIRS and 0.0 < b < 1.0)
    if not fallback and a is not None and b is not None and sd is not None:
        kappa = -math.log(b)
        mu = a / (1.0 - b)
        sigma = sd * math.sqrt(2.0 * kappa / (1.0 - b * b))
    else:
        dx = np.diff(x)
        sigma = float(math.sqrt(np.mean(dx**2 / gaps)))
        kappa = math.log(2.0) / FALLBACK_HALF_LIFE_MONTHS
        mu = float(np.mean(x))
        why = (
            f"fewer than {MIN_PAIRS} consecutive-month pairs"
            if len(pairs) < MIN_PAIRS
            else f"the OLS slope b = {b:.3f} shows no mean reversion"
        )
        caveats.append(
            f"fallback ({why}): sigma from all gaps (random-walk estimate), half-life "
            f"{FALLBACK_HALF_LIFE_MONTHS:g} months and long-run level the sample mean (assumptions)"
        )
    history = {str(m): float(v) for m, v in series.items()}
    fit = OUFit(
        series=f"{SERIES_PRODUCT}, {SERIES_MARKET}, US$/kg ex-VAT",
        source_ids=source_ids,
        first_month=str(series.index[0]),
        last_month=str(series.index[-1]),
        n_observations=n_observations if n_observations is not None else len(series),
        n_months=len(series),
        n_pairs=len(pairs),
        ols_a=a,
        ols_b=b,
        residual_sd=sd,
        fallback=fallback,
        caveats=tuple(caveats),
    )
    return OUModel(mu, kappa, sigma, float(x[-1]), str(series.index[-1]), history, fit)


def fitted_model(prices: pd.DataFrame) -> OUModel:
    """The model fitted to the bundled NdPr oxide series (:func:`monthly_series`, :func:`fit_ou`)."""
    series, sources, n_obs = monthly_series(prices)
    return fit_ou(series, source_ids=sources, n_observations=n_obs)


def _history_price(model: OUModel, month: int) -> float:
    """Observed price of a month at or before the origin, log-linearly interpolated across gaps
    (before the first observation: the first observed price)."""
    hist = sorted((month_index(m), math.log(v)) for m, v in model.history.items())
    if not hist:
        return math.exp(model.x0)
    ms = np.array([h[0] for h in hist], dtype=np.float64)
    xs = np.array([h[1] for h in hist], dtype=np.float64)
    return float(np.exp(np.interp(float(month), ms, xs)))


def simulate_paths(model: OUModel, months: list[str] | tuple[str, ...], paths: int, seed: int) -> F:
    """Monthly US$/kg prices [T, paths] of ``months`` (consecutive YYYY-MM, ascending).

    Months up to the origin take the history (module docstring); later months are drawn from
    ``numpy.random.default_rng(seed)``, the same draws for the same seed.
    """
    if paths < 1:
        raise DataError(f"paths must be >= 1 (got {paths})", column="paths", fix="e.g. --paths 2000")
    idx = [month_index(m) for m in months]
    if any(b - a != 1 for a, b in itertools.pairwise(idx)):
        raise DataError("months must be consecutive", column="months", fix="give a month range")
    origin = month_index(model.origin)
    out = np.empty((len(idx), paths))
    rng = np.random.default_rng(seed)
    b = math.exp(-model.kappa)
    s = model.sigma if model.kappa == 0 else model.sigma * math.sqrt((1.0 - b * b) / (2.0 * model.kappa))
    x = np.full(paths, model.x0)
    last = origin
    for i, m in enumerate(idx):
        if m <= origin:
            out[i] = _history_price(model, m)
            continue
        while last < m:  # step from the origin (or the previous simulated month) to m
            x = model.mu + (x - model.mu) * b + s * rng.standard_normal(paths)
            last += 1
        out[i] = np.exp(x)
    return out
