"""``critmin backtest`` and ``critmin calibrate``: the engine against China's observed exports of a chain."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.table import Table

from critmin.cells import to_csv_text
from critmin.cli._output import Format, bold_lead, console, emit_json, records
from critmin.cli.choices import format_option
from critmin.data.load import load_dataset
from critmin.data.observed import CHAIN_SERIES, chain_series, read_series_csv
from critmin.errors import DataError
from critmin.simulate.analysis.backtest import CHAIN_SCENARIOS, FIT_UNTIL, BacktestResult, backtest
from critmin.simulate.analysis.calibrate import (
    DEFAULT_PARAMS,
    CalibrationResult,
    ExportModel,
    calibrate,
)
from critmin.simulate.budget import check_seed
from critmin.simulate.inputs.scenario import load_scenario


def _t(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"  # gallium months are a few t


def _pct(v: float | None) -> str:
    return "-" if v is None or math.isnan(v) else f"{100 * v:.1f}%"


CHAIN_HELP = f"Chain to compare with its customs series: {', '.join(CHAIN_SERIES)}."


def backtest_cmd(
    chain: str = typer.Option("rare_earths", "--chain", help=CHAIN_HELP),
    scenario: str | None = typer.Option(
        None,
        help="Bundled scenario name or a YAML path (default: the chain's bundled backtest scenario); "
        "it must simulate --chain.",
    ),
    calibrated: bool = typer.Option(
        False,
        "--calibrated",
        help="First fit approval rate and lag on the observed months up to --fit-until.",
    ),
    paths: int = typer.Option(
        1,
        help="Monte Carlo paths (1 = deterministic at the medians; >1 adds p5/p95; bounded by the "
        "memory estimate).",
    ),
    seed: int = typer.Option(0, help="Random seed, 0 to 2^63 - 1 (with --paths > 1)."),
    fit_until: str = typer.Option(FIT_UNTIL, help="Last month calibration may use (YYYY-MM)."),
    fmt: Format = format_option(),
) -> None:
    """Compare a chain's modelled exports from China (World and every destination) with the customs series."""
    chain_series(chain)
    sc = load_scenario(scenario if scenario is not None else CHAIN_SCENARIOS[chain])
    check_seed(seed)
    result = backtest(
        sc,
        chain=chain,
        paths=paths,
        seed=seed,
        calibrated=calibrated,
        fit_until=fit_until,
        dataset=load_dataset(),
    )
    if fmt is Format.JSON:
        emit_json(result.to_dict())
    elif fmt is Format.CSV:
        print(to_csv_text(result.series), end="")
    else:
        _render_backtest(result)


def _render_backtest(r: BacktestResult) -> None:
    console.print(
        bold_lead(
            r.scenario.name,
            f": China's exports of {chain_series(r.chain).title}, "
            f"{r.months[0]} to {r.months[-1]}, {r.paths} path{'s' if r.paths > 1 else ''}, "
            f"data_version {r.data_version}",
        ),
        highlight=False,
    )
    cal = r.calibration is not None
    # the table shows World and the partners with an observation; the JSON has every destination
    seen = set(r.observations["partner"])
    partners = tuple(
        p for p in dict.fromkeys(str(p) for p in r.series["partner"]) if p == "World" or p in seen
    )
    t = Table(title="t per month: observed vs modelled" + (" (p50 [p5-p95])" if r.paths > 1 else ""))
    t.add_column("month")
    for partner in partners:
        t.add_column(f"{partner} obs", justify="right")
        if cal:
            t.add_column(f"{partner} prior", justify="right")
        t.add_column(f"{partner} model", justify="right")
    t.add_column("basis")
    t.add_column("")
    by_key = {(str(x["partner"]), str(x["month"])): x for x in records(r.series)}
    multi = r.observations.loc[r.observations["first"] != r.observations["last"]]
    for month in r.months:
        cells = [month]
        bases = []
        for partner in partners:
            row = by_key[(partner, month)]
            cells.append(_t(row["observed_t"]))
            if cal:
                cells.append(_t(row["prior_t"]))
            model = _t(row["modelled_t"])
            if r.paths > 1:
                model += f" [{_t(row['modelled_p5_t'])}-{_t(row['modelled_p95_t'])}]"
            cells.append(str(model))
            if isinstance(row["basis"], str):
                bases.append(f"{partner}: {row['basis']}")
        cells += ["; ".join(bases), "fit" if month <= r.fit_until else "forecast"]
        t.add_row(*cells)
        for o in records(multi.loc[multi["last"] == month]):
            agg = [f"{o['first']}..{o['last']} total"]
            for partner in partners:
                here = o["partner"] == partner
                agg.append(_t(o["observed_t"]) if here else "")
                if cal:
                    agg.append(_t(o["prior_t"]) if here else "")
                agg.append(_t(o["modelled_t"]) if here else "")
            fit = "fit" if o["fitted"] else "forecast"
            t.add_row(*agg, f"{o['partner']}: {o['basis']}", fit, style="italic")
    console.print(t)
    console.print(f"MAPE over fitted periods (to {r.fit_until}): " + _mapes(r.mape), highlight=False)
    if r.forecast_mape and any(math.isfinite(v) for v in r.forecast_mape.values()):
        console.print(
            "forecast MAPE (later periods, not fitted): " + _mapes(r.forecast_mape), highlight=False
        )
    if r.prior_mape is not None and r.calibration is not None:
        console.print("prior MAPE: " + _mapes(r.prior_mape), highlight=False)
        _render_parameters(r.calibration)
    else:
        console.print(
            "parameters (prior medians): " + ", ".join(f"{k} {v:.3g}" for k, v in r.parameters.items()),
            highlight=False,
        )
    b = r.baseline
    refs = ", ".join(
        f"{x['label']} {x['t_per_month']:,.3g} (ratio {x['model_ratio']:.2f})" for x in records(b.references)
    )
    console.print(
        f"pre-control check: model {b.model_t_per_month:,.3g} t/month vs observed t/month: {refs or 'none'}",
        highlight=False,
    )
    for o in records(r.observations.loc[r.observations["basis"] == "derived"]):
        console.print(f"derived {o['partner']} {o['period']}: {o['rationale']}", style="dim", highlight=False)
    for note in r.notes:
        console.print(f"note: {note}", style="dim", highlight=False)
    console.print("Sources", style="bold")
    for i, src in enumerate(r.sources(), start=1):
        console.print(f" [{i}] {src.publisher}: {src.url} ({src.id})", highlight=False, soft_wrap=True)


def _mapes(m: dict[str, float]) -> str:
    return ", ".join(f"{k} {_pct(v)}" for k, v in m.items())


def _render_parameters(c: CalibrationResult) -> None:
    bound = c.at_bound
    for name, x0, v, se in zip(c.params, c.x0, c.values, c.std_error, strict=True):
        extra = " (held at prior: not identified)" if name in c.held else ""
        extra += " (at bound)" if bound[name] and name not in c.held else ""
        err = f" +- {se:.2g}" if math.isfinite(se) else ""
        console.print(f"  {name}: prior {x0:.3g} -> fitted {v:.3g}{err}{extra}", highlight=False)
    console.print(
        f"  fit: RMSE {c.rmse_t:,.0f} t (prior {c.prior_rmse_t:,.0f}), "
        f"MAPE {_pct(c.mape)} (prior {_pct(c.prior_mape)}), {c.evaluations} engine runs in "
        f"{c.seconds:.1f} s, {c.status.value}",
        highlight=False,
    )


def calibrate_cmd(
    scenario: str | None = typer.Argument(
        None, help="Bundled scenario name or a YAML path (default: the chain's backtest scenario)."
    ),
    observed: Path | None = typer.Option(
        None,
        "--observed",
        help="CSV with columns month,value_t (YYYY-MM, t) and optional partner, product, unit (t|kg).",
    ),
    joint: bool = typer.Option(
        False,
        "--joint",
        help="Fit the review dead time and lag jointly on the Ga/Ge 2023, Sb 2024 and REE 2025 "
        "episodes (bundled customs series, months to --fit-until); no --observed.",
    ),
    chain: str = typer.Option("rare_earths", "--chain", help=CHAIN_HELP),
    fit_until: str = typer.Option(FIT_UNTIL, help="Fit only periods ending by this month (YYYY-MM)."),
    partner: str = typer.Option("World", help="World, or a model region such as USA."),
    param: list[str] = typer.Option(
        list(DEFAULT_PARAMS), "--param", help="Parameter to fit (repeatable); default approval rate and lag."
    ),
    fmt: Format = format_option(),
) -> None:
    """Fit licence-regime parameters of a chain to an observed monthly export series (least squares)."""
    if joint:
        _joint(fit_until, fmt)
        return
    if observed is None:
        raise DataError(
            "--observed is required", column="--observed", fix="pass --observed series.csv, or --joint"
        )
    chain_series(chain)
    series = read_series_csv(observed)
    sc = load_scenario(scenario if scenario is not None else CHAIN_SCENARIOS[chain])
    model = ExportModel(sc, load_dataset(), chain=chain)
    result = calibrate(sc, series, params=tuple(param), fit_until=fit_until, partner=partner, model=model)
    if fmt is Format.JSON:
        emit_json(result.to_dict())
    elif fmt is Format.CSV:
        print(to_csv_text(result.table), end="")
    else:
        console.print(
            bold_lead(
                sc.name,
                f": fit to {observed} ({partner}, periods ending by {fit_until}), "
                f"data_version {result.data_version}",
            ),
            highlight=False,
        )
        t = Table(title="t: observed vs modelled")
        for col in ("month", "observed", "prior", "fitted model", "residual", ""):
            t.add_column(col, justify="left" if col in ("month", "") else "right")
        for row in records(result.table):
            t.add_row(
                str(row["month"]),
                _t(row["observed_t"]),
                _t(row["prior_t"]),
                _t(row["modelled_t"]),
                _t(row["residual_t"]),
                "fit" if row["fitted"] else "out of sample",
            )
        console.print(t)
        _render_parameters(result)
        if math.isfinite(result.holdout_mape):
            console.print(f"  out-of-sample MAPE {_pct(result.holdout_mape)}", highlight=False)
        for note in result.notes:
            console.print(f"note: {note}", style="dim", highlight=False)


def _joint(fit_until: str, fmt: Format) -> None:
    from critmin.simulate.analysis.joint import calibrate_joint

    r = calibrate_joint(fit_until=fit_until, dataset=load_dataset())
    if fmt is Format.JSON:
        emit_json(r.to_dict())
        return
    if fmt is Format.CSV:
        print(to_csv_text(r.table.drop(columns=["idx"])), end="")
        return
    t = Table(title=f"joint fit: World exports as an index of the pre-control level (fit to {fit_until})")
    for col in ("chain", "period", "observed t", "model t", "obs index", "model index", ""):
        t.add_column(col, justify="left" if col in ("chain", "period", "") else "right")
    for row in records(r.table):
        t.add_row(
            str(row["chain"]),
            str(row["period"]),
            _t(row["observed_t"]),
            _t(row["modelled_t"]),
            f"{row['observed_index']:.2f}",
            f"{row['modelled_index']:.2f}",
            "fit" if row["fitted"] else "forecast",
        )
    console.print(t)
    for name, x0, v, se in zip(r.params, r.x0, r.values, r.std_error, strict=True):
        err = f" +- {se:.2g}" if math.isfinite(se) else ""
        console.print(f"  {name}: prior {x0:.3g} -> fitted {v:.3g}{err}", highlight=False)
    console.print(
        f"  index RMSE fitted {r.rmse_index:.3f} (prior {r.prior_rmse_index:.3f}); forecast "
        f"{r.forecast_rmse_index:.3f} (prior {r.prior_forecast_rmse_index:.3f}); "
        f"{r.evaluations} evaluations in {r.seconds:.1f} s",
        highlight=False,
    )
