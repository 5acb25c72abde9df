"""Reports of a run: one self-contained HTML page (opens offline) or an Excel workbook.

:class:`ReportRun` is what a report shows of one run, built from a fresh
:class:`~critmin.simulate.result.SimulationResult` (:meth:`ReportRun.from_result`) or from a
stored run (:meth:`ReportRun.from_stored`, :mod:`critmin.store.runs`). :func:`report_tables`
gives the report's tables with human column names and labels; :func:`report_html` the page;
:func:`write_report` writes ``.html`` or ``.xlsx`` atomically.

The HTML page holds: the scenario's description; its events timeline; fan charts of the
shortfall and price outside China of each chain (and of each region's shortfall); the summary
tables (region x product x metric, p5/p50/p95 across paths); with a second run, the difference
table and the second run drawn over the first; the assumptions and sources used (resolved
through the dataset's sources); the data version, seed, paths, run ids and critmin version.
plotly.js is inlined once from the installed plotly package: no script, style or data is
fetched from a network.

The workbook holds the same tables, one sheet each (Headline, Summary, By sector, Comparison, Events,
Assumptions), plus a Sources and a Metadata sheet; text cells that a spreadsheet would run as
a formula are neutralised (:func:`critmin.cells.safe_frame`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmin._version import __version__
from critmin.atomic import atomic_write_bytes
from critmin.errors import DataError
from critmin.report.labels import metric_label, product_label, region_label

if TYPE_CHECKING:
    import plotly.graph_objects as go  # type: ignore[import-untyped]

    from critmin.data.dataset import Dataset
    from critmin.simulate.result import SimulationResult
    from critmin.store.runs import RunRecord

#: Suffixes :func:`write_report` writes.
REPORT_SUFFIXES = (".html", ".htm", ".xlsx")
_Q = ("p5", "p50", "p95")


@dataclass(frozen=True)
class ReportRun:
    """One run as a report shows it: provenance and the tables of
    :func:`critmin.store.runs.simulation_tables` (``summary``, ``chain_bands``, ``region_bands``,
    ``events``)."""

    name: str
    description: str
    months: tuple[str, str]
    paths: int
    seed: int
    data_version: str
    package_version: str
    tables: dict[str, pd.DataFrame]
    #: chain id -> the chain's product id, in the run's order (the first is the primary chain).
    chains: dict[str, str]
    source_ids: tuple[str, ...] = ()
    assumption_ids: tuple[str, ...] = ()
    run_id: str | None = None
    created_at: str | None = None
    spec_yaml: str = ""
    label_suffix: str = field(default="", compare=False)

    @classmethod
    def from_result(cls, result: SimulationResult, run_id: str | None = None) -> ReportRun:
        """The report view of a fresh simulation (``run_id``: its stored id, if it was stored)."""
        from critmin.store.runs import simulation_meta, simulation_tables

        return cls._from(
            simulation_meta(result),
            simulation_tables(result),
            paths=result.paths,
            seed=result.seed,
            data_version=result.data_version,
            package_version=result.package_version,
            run_id=run_id,
        )

    @classmethod
    def from_stored(cls, record: RunRecord, tables: Mapping[str, pd.DataFrame]) -> ReportRun:
        """The report view of a stored simulation (:meth:`critmin.store.runs.RunStore.get`)."""
        if record.kind != "simulation" or "summary" not in tables:
            raise DataError(
                f"run {record.run_id} is a {record.kind} run without simulation tables",
                column="run",
                fix="give the id of a simulation run (`critmin runs list`)",
            )
        return cls._from(
            dict(record.meta or {}),
            dict(tables),
            paths=record.paths or 0,
            seed=record.seed or 0,
            data_version=record.data_version,
            package_version=record.package_version,
            run_id=record.run_id,
            created_at=record.created_at,
            spec_yaml=record.spec_yaml,
        )

    @classmethod
    def _from(cls, meta: Mapping[str, Any], tables: Mapping[str, pd.DataFrame], **kw: Any) -> ReportRun:
        months = list(meta.get("months") or ["", ""])
        chains = dict(meta.get("chains") or {})
        return cls(
            name=str(meta.get("scenario", "run")),
            description=str(meta.get("description", "")),
            months=(str(months[0]), str(months[-1])),
            tables=dict(tables),
            chains=chains,
            source_ids=tuple(meta.get("source_ids") or ()),
            assumption_ids=tuple(meta.get("assumption_ids") or ()),
            **kw,
        )

    @property
    def primary_chain(self) -> str:
        """The run's first chain (``bands`` and ``region_bands`` are its)."""
        return next(iter(self.chains), "")

    @property
    def label(self) -> str:
        """How figures and tables name the run: its scenario name (plus a suffix when two runs share it)."""
        return self.name + self.label_suffix

    @property
    def provenance(self) -> str:
        """One line: scenario, months, paths, seed (and run id)."""
        rid = f", run {self.run_id}" if self.run_id else ""
        return (
            f"{self.label}: {self.months[0]} to {self.months[1]}, {self.paths:,} paths, seed {self.seed}{rid}"
        )

    def chain_title(self, chain: str) -> str:
        """Display name of a chain's product."""
        return product_label(self.chains.get(chain, chain))

    def chain_bands(self, chain: str) -> pd.DataFrame | None:
        """Monthly ex-China bands of one chain, or ``None`` when the run lacks the chain."""
        cb = self.tables.get("chain_bands")
        if cb is not None and "chain" in cb.columns:
            sel = cb.loc[cb["chain"] == chain]
            return sel.reset_index(drop=True) if len(sel) else None
        return self.tables.get("bands") if chain == self.primary_chain else None


def distinguish(a: ReportRun, b: ReportRun) -> tuple[ReportRun, ReportRun]:
    """``a`` and ``b`` with labels that differ (same scenario name: add the seed or the run id)."""
    from dataclasses import replace

    if a.name != b.name:
        return a, b
    if a.seed != b.seed:
        return replace(a, label_suffix=f" (seed {a.seed})"), replace(b, label_suffix=f" (seed {b.seed})")
    return replace(a, label_suffix=" (A)"), replace(b, label_suffix=" (B)")


# ------------------------------------------------------------------------------ tables
def _labelled(summary: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "Product": summary["product"].map(product_label),
            "Region": summary["region"].map(region_label),
            "Metric": summary["metric"].map(metric_label),
        }
    )
    return out


def summary_table(run: ReportRun, *, sectors: bool = False) -> pd.DataFrame:
    """Region x product x metric p5/p50/p95 with human labels (``sectors``: the end-use rows only)."""
    s = run.tables["summary"]
    is_sector = s["product"].astype(str).str.contains(":", regex=False)
    s = s.loc[is_sector if sectors else ~is_sector].reset_index(drop=True)
    out = _labelled(s)
    for q in _Q:
        out[q] = s[q].astype(float).to_numpy()
    return out


def headline_table(run: ReportRun, other: ReportRun | None = None) -> pd.DataFrame:
    """The totals outside China (the ``exCHN`` rows) of each chain: p50 [p5-p95] per run as text."""

    def pick(r: ReportRun) -> dict[tuple[str, str], str]:
        s = r.tables["summary"]
        s = s.loc[(s["region"] == "exCHN") & ~s["product"].astype(str).str.contains(":", regex=False)]
        return {
            (str(p), str(m)): f"{_num(a)} [{_num(b)} to {_num(c)}]"
            for p, m, a, b, c in zip(s["product"], s["metric"], s["p50"], s["p5"], s["p95"], strict=True)
        }

    first = pick(run)
    second = pick(other) if other is not None else {}
    rows = []
    for (product, metric), text in first.items():
        row = {"Product": product_label(product), "Outside China": metric_label(metric), run.label: text}
        if other is not None:
            row[other.label] = second.get((product, metric), "")
        rows.append(row)
    cols = ["Product", "Outside China", run.label] + ([other.label] if other is not None else [])
    return pd.DataFrame(rows, columns=cols)


def _num(v: float) -> str:
    f = float(v)
    return f"{f:,.0f}" if abs(f) >= 100 else f"{f:.3g}"


def comparison_table(a: ReportRun, b: ReportRun) -> pd.DataFrame:
    """The summary rows (no sector rows) of both runs and the difference ``b - a`` per percentile."""
    from critmin.store.runs import compare_summaries

    c = compare_summaries(a.tables.get("summary"), b.tables.get("summary"))
    c = c.loc[~c["product"].astype(str).str.contains(":", regex=False)].reset_index(drop=True)
    out = _labelled(c)
    for q in _Q:
        out[f"{q}: {a.label}"] = c[f"{q}_a"].astype(float).to_numpy()
    for q in _Q:
        out[f"{q}: {b.label}"] = c[f"{q}_b"].astype(float).to_numpy()
    for q in _Q:
        out[f"{q} difference ({b.label} minus {a.label})"] = c[f"diff_{q}"].astype(float).to_numpy()
    return out


def events_table(run: ReportRun) -> pd.DataFrame:
    """The timeline: number, date, month the model applies it from, and what happens."""
    ev = run.tables.get("events")
    if ev is None or ev.empty:
        return pd.DataFrame(columns=["No.", "Date", "Applied from", "Event"])
    return pd.DataFrame(
        {
            "No.": ev["number"].astype(int),
            "Date": ev["date"],
            "Applied from": ev["month"],
            "Event": ev["label"],
        }
    )


def sources_table(runs: list[ReportRun], dataset: Dataset | None) -> pd.DataFrame:
    """Every source the runs cite (assumptions apart), resolved through ``dataset``'s sources."""
    ids = list(dict.fromkeys(s for r in runs for s in r.source_ids if not s.startswith("assumption:")))
    rows = []
    for sid in ids:
        src = dataset.sources.get(sid) if dataset is not None else None
        rows.append(
            {
                "Source": sid,
                "Publisher": getattr(src, "publisher", "") or "",
                "Title": getattr(src, "title", "") or "",
                "Year": getattr(src, "year", None),
                "Link": getattr(src, "url", "") or "",
                "Quality": getattr(src, "quality", "") or "",
            }
        )
    return pd.DataFrame(rows, columns=["Source", "Publisher", "Title", "Year", "Link", "Quality"])


def assumptions_table(runs: list[ReportRun], dataset: Dataset | None) -> pd.DataFrame:
    """Every labelled assumption the runs rest on: id, title and rationale."""
    from critmin.simulate.inputs.scenario import assumption_texts

    texts = assumption_texts()
    ids = list(
        dict.fromkeys(
            s for r in runs for s in (*r.assumption_ids, *r.source_ids) if s.startswith("assumption:")
        )
    )
    rows = []
    for aid in ids:
        t = texts.get(aid) or texts.get(aid.removeprefix("assumption:"))
        src = dataset.sources.get(aid) if dataset is not None and t is None else None
        rows.append(
            {
                "Assumption": aid,
                "Title": (t or {}).get("title") or getattr(src, "title", "") or "",
                "Rationale": (t or {}).get("rationale") or getattr(src, "rationale", "") or "",
            }
        )
    return pd.DataFrame(rows, columns=["Assumption", "Title", "Rationale"])


def metadata_table(runs: list[ReportRun], dataset: Dataset | None) -> pd.DataFrame:
    """Field / value rows: each run's scenario, months, paths, seed, run id, data and package versions."""
    rows: list[tuple[str, str]] = []
    for i, r in enumerate(runs):
        who = "" if len(runs) == 1 else (" (run A)" if i == 0 else " (run B)")
        rows += [
            (f"Scenario{who}", r.label),
            (f"Months{who}", f"{r.months[0]} to {r.months[1]}"),
            (f"Paths{who}", f"{r.paths:,}"),
            (f"Seed{who}", str(r.seed)),
            (f"Stored run{who}", r.run_id or "not stored"),
            (f"Data version{who}", r.data_version),
            (f"critmin version of the run{who}", r.package_version),
        ]
    if dataset is not None:
        rows.append(("Sources resolved with data version", dataset.version))
    rows += [
        ("Report written by critmin", __version__),
        ("Report written at (UTC)", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")),
    ]
    return pd.DataFrame(rows, columns=["Field", "Value"])


def report_tables(
    run: ReportRun, other: ReportRun | None = None, dataset: Dataset | None = None
) -> dict[str, pd.DataFrame]:
    """The report's tables by sheet name: Headline, Summary, By sector, Comparison (with ``other``), Events,
    Assumptions, Sources, Metadata (human column names and labels)."""
    runs = [run] if other is None else [run, other]
    out = {"Headline": headline_table(run, other), "Summary": summary_table(run)}
    sectors = summary_table(run, sectors=True)
    if len(sectors):
        out["By sector"] = sectors
    if other is not None:
        out["Comparison"] = comparison_table(run, other)
    out["Events"] = events_table(run)
    out["Assumptions"] = assumptions_table(runs, dataset)
    out["Sources"] = sources_table(runs, dataset)
    out["Metadata"] = metadata_table(runs, dataset)
    return out


# ------------------------------------------------------------------------------ figures
def report_figures(run: ReportRun, other: ReportRun | None = None) -> list[go.Figure]:
    """Fan charts: per chain the shortfall and the price outside China, then the regions' shortfall."""
    from critmin.report.run_figures import region_fans, run_fan

    figs = []
    for chain in run.chains:
        for metric in ("shortfall_pct_ex_china", "price_ratio_ex_china"):
            if run.chain_bands(chain) is not None:
                figs.append(run_fan(run, chain=chain, metric=metric, other=other))
    regional = region_fans(run, other=other)
    if regional is not None:
        figs.append(regional)
    return figs


# ------------------------------------------------------------------------------ HTML
_CSS = """
body { font-family: DejaVu Sans, Arial, Helvetica, sans-serif; margin: 2em auto; max-width: 1200px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ddd; padding: 3px 7px; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: #555; font-size: 0.9em; } .fig { margin: 1em 0; } details { margin: 0.5em 0 1em; }
"""


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "<td></td>"
    if isinstance(v, bool):
        return f"<td>{'yes' if v else 'no'}</td>"
    if isinstance(v, int | float):
        f = float(v)
        text = f"{f:,.0f}" if abs(f) >= 1000 else (f"{f:.3g}" if f != int(f) else f"{int(f):d}")
        return f'<td class="num">{html.escape(text)}</td>'
    return f"<td>{html.escape(str(v))}</td>"


def html_table(frame: pd.DataFrame, *, table_id: str = "") -> str:
    """``frame`` as an HTML table, every cell escaped; numbers right-aligned with 3 significant digits."""
    ident = f' id="{html.escape(table_id)}"' if table_id else ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>\n" for row in frame.itertuples(index=False)
    )
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>"


def _link_cells(frame: pd.DataFrame) -> str:
    """The sources table with links as plain text (a link is information, not a fetch)."""
    return html_table(frame, table_id="sources")


def report_html(run: ReportRun, other: ReportRun | None = None, dataset: Dataset | None = None) -> str:
    """The report as one self-contained HTML page (plotly.js inlined; nothing fetched)."""
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    if other is not None:
        run, other = distinguish(run, other)
    tables = report_tables(run, other, dataset)
    figs = report_figures(run, other)
    title = f"critmin report: {run.label}" + (f" compared with {other.label}" if other is not None else "")
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{html.escape(run.provenance)}; data version '
        f"{html.escape(run.data_version)}; critmin {html.escape(run.package_version)}</p>",
    ]
    for r in [run] if other is None else [run, other]:
        parts.append(f"<h2>Scenario: {html.escape(r.label)}</h2>")
        parts.append(f"<p>{html.escape(r.description.strip() or 'No description.')}</p>")
        parts.append(f'<p class="meta">{html.escape(r.provenance)}</p>')
    parts.append("<h2>Headline: totals outside China</h2>")
    parts.append(
        "<p>Median [5th to 95th percentile] across paths, summed over the regions outside China.</p>"
    )
    parts.append(html_table(tables["Headline"], table_id="headline"))
    parts.append("<h2>Events timeline</h2>")
    parts.append(
        "<p>Dated policy changes of the scenario (numbered lines in the charts), applied from the "
        "start of the month that contains them.</p>"
    )
    parts.append(html_table(tables["Events"], table_id="events"))
    parts.append("<h2>Fan charts</h2>")
    for i, fig in enumerate(figs):
        div = fig.to_html(
            include_plotlyjs=False,
            full_html=False,
            include_mathjax=False,
            div_id=f"fig{i}",
            config={"displaylogo": False, "responsive": True},
            default_width="100%",
        )
        parts.append(f'<div class="fig">{div}</div>')
    parts.append("<h2>Summary across paths</h2>")
    parts.append(
        "<p>p5, p50 and p95: the 5th percentile, median and 95th percentile across the Monte Carlo "
        "paths; units in the metric's name.</p>"
    )
    parts.append(html_table(tables["Summary"], table_id="summary"))
    if "By sector" in tables:
        parts.append("<details><summary>By end-use sector</summary>")
        parts.append(html_table(tables["By sector"], table_id="sectors") + "</details>")
    if "Comparison" in tables and other is not None:
        parts.append(f"<h2>Comparison: {html.escape(other.label)} minus {html.escape(run.label)}</h2>")
        parts.append(html_table(tables["Comparison"], table_id="comparison"))
    parts.append("<h2>Assumptions</h2>")
    parts.append(html_table(tables["Assumptions"], table_id="assumptions"))
    parts.append("<h2>Sources</h2>")
    parts.append(_link_cells(tables["Sources"]))
    parts.append("<h2>Metadata</h2>")
    parts.append(html_table(tables["Metadata"], table_id="metadata"))
    plotly_js = get_plotlyjs().replace("</script", "<\\/script")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="critmin {html.escape(__version__)}">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n"
        f'<script type="text/javascript">{plotly_js}</script>\n</head>\n<body>\n'
        + "\n".join(parts)
        + "\n</body>\n</html>\n"
    )


def check_report_path(path: str | Path) -> Path:
    """``path`` if a report can be written there (``.html``, ``.htm`` or ``.xlsx``), else a DataError."""
    from critmin.report.tables import check_output_path

    return check_output_path(path, REPORT_SUFFIXES)


def write_report(
    path: str | Path, run: ReportRun, other: ReportRun | None = None, dataset: Dataset | None = None
) -> Path:
    """Write the report to ``path`` atomically: ``.html`` (:func:`report_html`) or ``.xlsx``
    (:func:`report_tables`, one sheet per table); returns the path."""
    p = check_report_path(path)
    if p.name.lower().endswith(".xlsx"):
        from critmin.report.tables import write_tables

        if other is not None:
            run, other = distinguish(run, other)
        return write_tables(report_tables(run, other, dataset), p)
    atomic_write_bytes(p, report_html(run, other, dataset).encode("utf-8"))
    return p


__all__ = [
    "REPORT_SUFFIXES",
    "ReportRun",
    "assumptions_table",
    "check_report_path",
    "comparison_table",
    "distinguish",
    "events_table",
    "headline_table",
    "html_table",
    "metadata_table",
    "report_figures",
    "report_html",
    "report_tables",
    "sources_table",
    "summary_table",
    "write_report",
]
