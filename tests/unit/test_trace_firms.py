"""Firm-level origin tracing: toy networks worked out by hand, hostile input, synth, CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import critmin.trace.firms as tf
from critmin.cli.trace import trace_app
from critmin.errors import DataError
from critmin.model.stages import Stage
from critmin.trace import UNKNOWN, read_network, synth_network, trace_files, trace_firms

Rows = list[tuple[str, str, str]]
EdgeRows = list[tuple[str, str, float]]


def net(firms: Rows, edges: EdgeRows) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.DataFrame(firms, columns=["firm_id", "country", "stage"]),
        pd.DataFrame(edges, columns=["supplier_id", "customer_id", "quantity"]),
    )


def shares_of(firms: Rows, edges: EdgeRows, stage: str) -> dict[str, dict[str, float]]:
    res = trace_firms(*net(firms, edges), stage).shares
    out: dict[str, dict[str, float]] = {}
    for r in res.itertuples(index=False):
        out.setdefault(str(r.firm_id), {})[str(r.origin)] = float(r.share)
    return out


def assert_shares(got: dict[str, dict[str, float]], want: dict[str, dict[str, float]]) -> None:
    assert set(got) == set(want)
    for firm, w in want.items():
        assert set(got[firm]) == set(w), firm
        for origin, share in w.items():
            assert got[firm][origin] == pytest.approx(share, abs=1e-12), (firm, origin)


# --- hand-worked toy networks --------------------------------------------------------------

DIAMOND_FIRMS: Rows = [
    ("M1", "AUS", "mining"),
    ("M2", "CHN", "mining"),
    ("SA", "CHN", "separation"),
    ("SB", "MYS", "separation"),
    ("G", "DEU", "magnet"),
]
DIAMOND_EDGES: EdgeRows = [("M1", "SA", 1), ("M2", "SA", 3), ("M1", "SB", 2), ("SA", "G", 1), ("SB", "G", 1)]


def test_diamond_mining_origin() -> None:
    # SA: 1/4 AUS + 3/4 CHN; SB: all AUS; G: half each -> AUS 1/8 + 1/2 = 5/8, CHN 3/8.
    got = shares_of(DIAMOND_FIRMS, DIAMOND_EDGES, "mining")
    assert_shares(
        got,
        {
            "M1": {UNKNOWN: 1.0},
            "M2": {UNKNOWN: 1.0},
            "SA": {"AUS": 0.25, "CHN": 0.75},
            "SB": {"AUS": 1.0},
            "G": {"AUS": 0.625, "CHN": 0.375},
        },
    )


def test_diamond_separation_origin_counts_country_of_separator() -> None:
    # Origin at separation: G's content is where it was separated, half CHN (SA), half MYS (SB);
    # the separators' own inputs come from miners, which have no path to a separator: unknown.
    got = shares_of(DIAMOND_FIRMS, DIAMOND_EDGES, "separation")
    assert got["G"] == pytest.approx({"CHN": 0.5, "MYS": 0.5})
    assert got["SA"] == {UNKNOWN: 1.0}


def test_output_sorted_by_firm_then_share_desc() -> None:
    res = trace_firms(*net(DIAMOND_FIRMS, DIAMOND_EDGES), Stage.MINING).shares
    assert list(res.columns) == ["firm_id", "origin", "share"]
    assert list(res["firm_id"]) == ["G", "G", "M1", "M2", "SA", "SA", "SB"]
    assert list(res["origin"].astype(str)) == ["AUS", "CHN", UNKNOWN, UNKNOWN, "CHN", "AUS", "AUS"]
    assert (res["share"] > 0).all()


CYCLE_FIRMS: Rows = [
    ("S1", "CHN", "separation"),
    ("A", "JPN", "metal_alloy"),
    ("E", "USA", "end_use"),
    ("M2", "KOR", "metal_alloy"),
]
# A buys 3 from S1 and 1 recycled from E; E buys 1 from A and 1 from M2 (no inputs: unknown).
CYCLE_EDGES: EdgeRows = [("S1", "A", 3), ("E", "A", 1), ("A", "E", 1), ("M2", "E", 1)]


def cycle_answer() -> dict[str, dict[str, float]]:
    # y_A = 3/4 CHN + 1/4 y_E, y_E = 1/2 y_A -> y_A = (3/4) / (7/8) = 6/7 CHN, y_E = 3/7 CHN.
    return {
        "S1": {UNKNOWN: 1.0},
        "M2": {UNKNOWN: 1.0},
        "A": {"CHN": 6 / 7, UNKNOWN: 1 / 7},
        "E": {"CHN": 3 / 7, UNKNOWN: 4 / 7},
    }


def test_cycle_with_inflow_direct() -> None:
    assert_shares(shares_of(CYCLE_FIRMS, CYCLE_EDGES, "separation"), cycle_answer())


def test_cycle_with_inflow_iterative(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tf, "_DIRECT_MAX", 1)  # force the Gauss-Seidel path on a 2-firm cycle
    res = trace_firms(*net(CYCLE_FIRMS, CYCLE_EDGES), "separation")
    assert res.coverage["max_sweeps"] > 1
    assert_shares(shares_of(CYCLE_FIRMS, CYCLE_EDGES, "separation"), cycle_answer())


def test_sweep_cap_falls_back_to_exact_lu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tf, "_DIRECT_MAX", 1)
    monkeypatch.setattr(tf, "_MAX_SWEEPS", 2)
    assert_shares(shares_of(CYCLE_FIRMS, CYCLE_EDGES, "separation"), cycle_answer())


def test_closed_loop_without_inflow_is_unknown() -> None:
    # Traders T1 <-> T2 only trade with each other: their content never meets a separator.
    firms: Rows = [
        ("T1", "JPN", "metal_alloy"),
        ("T2", "JPN", "metal_alloy"),
        ("S", "CHN", "separation"),
        ("G", "DEU", "magnet"),
    ]
    edges: EdgeRows = [("T1", "T2", 1), ("T2", "T1", 1), ("T1", "G", 1), ("S", "G", 1)]
    got = shares_of(firms, edges, "separation")
    assert_shares(
        got,
        {
            "T1": {UNKNOWN: 1.0},
            "T2": {UNKNOWN: 1.0},
            "S": {UNKNOWN: 1.0},
            "G": {"CHN": 0.5, UNKNOWN: 0.5},
        },
    )
    res = trace_firms(*net(firms, edges), "separation")
    assert res.coverage["cyclic_components"] == 1
    assert res.coverage["firms_fully_unknown"] == 3
    assert res.coverage["known_mass_share"] == pytest.approx(1 / 4)  # 1 of 4 units of input mass


def test_unknown_input_from_firm_without_suppliers() -> None:
    # A metal maker buys 1 from a separator (CHN) and 3 from a metal trader with no known inputs.
    firms: Rows = [("S", "CHN", "separation"), ("X", "SGP", "metal_alloy"), ("A", "JPN", "metal_alloy")]
    got = shares_of(firms, [("S", "A", 1), ("X", "A", 3)], "separation")
    assert got["A"] == pytest.approx({"CHN": 0.25, UNKNOWN: 0.75})


def test_multi_stage_pass_through() -> None:
    # mine (AUS) -> separator (MYS) -> metal (JPN) -> magnet (DEU) -> motor (USA)
    firms: Rows = [
        ("MI", "AUS", "mining"),
        ("SE", "MYS", "separation"),
        ("ME", "JPN", "metal_alloy"),
        ("MA", "DEU", "magnet"),
        ("CO", "USA", "component"),
    ]
    edges: EdgeRows = [("MI", "SE", 5), ("SE", "ME", 4), ("ME", "MA", 3), ("MA", "CO", 2)]
    got = shares_of(firms, edges, "separation")
    assert_shares(
        got,
        {
            "MI": {UNKNOWN: 1.0},
            "SE": {UNKNOWN: 1.0},
            "ME": {"MYS": 1.0},
            "MA": {"MYS": 1.0},
            "CO": {"MYS": 1.0},
        },
    )
    assert shares_of(firms, edges, "mining")["CO"] == {"AUS": 1.0}
    assert shares_of(firms, edges, "magnet")["CO"] == {"DEU": 1.0}


def test_self_loops() -> None:
    # A (metal) reuses 1 of its own scrap and buys 3 from S: y_A = 1/4 y_A + 3/4 CHN -> 100% CHN.
    # S (separator) recycles 1 of its own oxide and buys 1 ore (unknown): x_S = 1/2 CHN + 1/2 unknown.
    firms: Rows = [("S", "CHN", "separation"), ("A", "JPN", "metal_alloy"), ("MI", "AUS", "mining")]
    edges: EdgeRows = [("A", "A", 1), ("S", "A", 3), ("S", "S", 1), ("MI", "S", 1)]
    got = shares_of(firms, edges, "separation")
    assert got["A"] == pytest.approx({"CHN": 1.0})
    assert got["S"] == pytest.approx({"CHN": 0.5, UNKNOWN: 0.5})
    # A firm whose only input is its own output is a closed loop: unknown.
    assert shares_of([("A", "JPN", "metal_alloy")], [("A", "A", 1)], "separation") == {"A": {UNKNOWN: 1.0}}


def test_origin_stage_traders_buy_from_each_other() -> None:
    # A separation trader in CHN buying from a separator in MYS has MYS input content.
    firms: Rows = [("S1", "CHN", "separation"), ("S2", "MYS", "separation")]
    assert shares_of(firms, [("S2", "S1", 2)], "separation")["S1"] == {"MYS": 1.0}


def test_parallel_edges_are_summed_and_zero_quantities_ignored() -> None:
    firms: Rows = [("S1", "CHN", "separation"), ("S2", "MYS", "separation"), ("A", "JPN", "metal_alloy")]
    edges: EdgeRows = [("S1", "A", 1), ("S1", "A", 2), ("S2", "A", 1), ("S2", "A", 0)]
    assert shares_of(firms, edges, "separation")["A"] == pytest.approx({"CHN": 0.75, "MYS": 0.25})


def test_commodity_filter() -> None:
    firms, edges = net(
        [("S1", "CHN", "separation"), ("S2", "MYS", "separation"), ("A", "JPN", "metal_alloy")],
        [("S1", "A", 1), ("S2", "A", 1)],
    )
    edges["commodity"] = ["dysprosium", "neodymium"]
    res = trace_firms(firms, edges, "separation", commodity="neodymium")
    assert res.shares[res.shares.firm_id == "A"]["origin"].astype(str).tolist() == ["MYS"]
    assert res.coverage["edges"] == 1
    with pytest.raises(DataError, match="no edges with commodity 'cobalt'"):
        trace_firms(firms, edges, "separation", commodity="cobalt")
    with pytest.raises(DataError, match="no 'commodity' column"):
        trace_firms(firms, edges.drop(columns="commodity"), "separation", commodity="neodymium")


def test_no_origin_firms_and_empty_network() -> None:
    got = shares_of([("A", "CHN", "magnet"), ("B", "USA", "magnet")], [("A", "B", 1)], "mining")
    assert got == {"A": {UNKNOWN: 1.0}, "B": {UNKNOWN: 1.0}}
    res = trace_firms(*net([], []), "mining")
    assert res.shares.empty
    assert res.coverage["firms"] == 0
    assert res.coverage["known_mass_share"] is None


def test_integer_ids_match_string_ids() -> None:
    firms = pd.DataFrame({"firm_id": [1, 2], "country": ["CHN", "JPN"], "stage": ["separation", "magnet"]})
    edges = pd.DataFrame({"supplier_id": ["1"], "customer_id": ["2"], "quantity": [1.0]})
    res = trace_firms(firms, edges, "separation").shares
    assert res[res.firm_id == 2]["origin"].astype(str).tolist() == ["CHN"]


def test_coverage_counts() -> None:
    cov = trace_firms(*net(DIAMOND_FIRMS, DIAMOND_EDGES), "mining").coverage
    assert cov["firms"] == 5
    assert cov["edges"] == 5
    assert cov["origin_firms"] == 2
    assert cov["origin_countries"] == 2
    assert cov["firms_without_inputs"] == 2
    assert cov["firms_fully_unknown"] == 2
    assert cov["known_mass_share"] == pytest.approx(1.0)
    assert cov["input_mass"] == pytest.approx(8.0)


# --- hostile input -------------------------------------------------------------------------


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


FIRMS_CSV = "firm_id,country,stage,note\nM1,AUS,mining,x\nS1,China,separation,y\nG,DEU,magnet,z\n"
EDGES_CSV = "supplier_id,customer_id,quantity\nM1,S1,10\nS1,G,4.5\n"


def test_read_network_normalises_and_keeps_extra_columns(tmp_path: Path) -> None:
    firms, edges = read_network(write(tmp_path, "f.csv", FIRMS_CSV), write(tmp_path, "e.csv", EDGES_CSV))
    assert firms["country"].tolist() == ["AUS", "CHN", "DEU"]  # "China" -> CHN
    assert firms["note"].tolist() == ["x", "y", "z"]
    assert edges["quantity"].tolist() == [10.0, 4.5]
    assert trace_firms(firms, edges, "separation").shares.iloc[0].to_dict() == {
        "firm_id": "G",
        "origin": "CHN",
        "share": 1.0,
    }


def test_trace_files_validates_once_with_file_lines(tmp_path: Path) -> None:
    f, e = write(tmp_path, "f.csv", FIRMS_CSV), write(tmp_path, "e.csv", EDGES_CSV)
    pd.testing.assert_frame_equal(
        trace_files(f, e, "mining").shares, trace_firms(*read_network(f, e), "mining").shares
    )
    write(tmp_path, "e.csv", EDGES_CSV + "S1,G,-1\n")
    with pytest.raises(DataError, match=r"e\.csv:4: column 'quantity'"):
        trace_files(f, e, "mining")


def test_namibia_is_not_missing(tmp_path: Path) -> None:
    firms, _ = read_network(
        write(tmp_path, "f.csv", "firm_id,country,stage\nA,NA,mining\n"),
        write(tmp_path, "e.csv", "supplier_id,customer_id,quantity\n"),
    )
    assert firms["country"].tolist() == ["NAM"]


@pytest.mark.parametrize(
    ("firms_text", "edges_text", "where", "column", "words"),
    [
        (
            FIRMS_CSV + "S1,CHN,separation,dup\n",
            EDGES_CSV,
            "f.csv:5",
            "firm_id",
            "duplicate firm_id 'S1', first on line 3",
        ),
        (
            FIRMS_CSV.replace("S1,China,separation", "S1,China,seperation"),
            EDGES_CSV,
            "f.csv:3",
            "stage",
            "did you mean 'separation'",
        ),
        (
            FIRMS_CSV.replace("G,DEU", "G,Atlantis"),
            EDGES_CSV,
            "f.csv:4",
            "country",
            "unknown country 'Atlantis'",
        ),
        (FIRMS_CSV.replace("G,DEU", "G,World"), EDGES_CSV, "f.csv:4", "country", "aggregate"),
        (FIRMS_CSV.replace("G,DEU", "G,"), EDGES_CSV, "f.csv:4", "country", "empty value"),
        (FIRMS_CSV, EDGES_CSV + "X9,G,1\n", "e.csv:4", "supplier_id", "unknown firm 'X9'"),
        (FIRMS_CSV, EDGES_CSV + "S1,Y9,1\n", "e.csv:4", "customer_id", "unknown firm 'Y9'"),
        (FIRMS_CSV, EDGES_CSV + "S1,G,-3\n", "e.csv:4", "quantity", "negative quantity -3"),
        (FIRMS_CSV, EDGES_CSV + "S1,G,lots\n", "e.csv:4", "quantity", "'lots' is not a number"),
        (FIRMS_CSV, EDGES_CSV + "S1,G,\n", "e.csv:4", "quantity", "empty value"),
        (FIRMS_CSV, EDGES_CSV + "S1,G,inf\n", "e.csv:4", "quantity", "infinite"),
        (FIRMS_CSV, "supplier_id,customer,quantity\n", "e.csv:1", None, "missing column(s) ['customer_id']"),
    ],
)
def test_bad_input_names_file_line_and_column(
    tmp_path: Path, firms_text: str, edges_text: str, where: str, column: str | None, words: str
) -> None:
    f, e = write(tmp_path, "f.csv", firms_text), write(tmp_path, "e.csv", edges_text)
    with pytest.raises(DataError) as info:
        read_network(f, e)
    msg = str(info.value)
    assert msg.startswith(str(tmp_path / where)), msg
    assert words in msg
    assert info.value.fix
    if column is not None:
        assert info.value.column == column


def test_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    f = write(tmp_path, "f.csv", FIRMS_CSV)
    e = write(tmp_path, "e.csv", "supplier_id,customer_id,quantity\n\nM1,S1,10\n\nS1,G,-1\n")
    with pytest.raises(DataError, match=r"e\.csv:5: column 'quantity'"):
        read_network(f, e)


def test_parquet_errors_say_row(tmp_path: Path) -> None:
    firms = pd.DataFrame({"firm_id": ["A", "B"], "country": ["CHN", "JPN"], "stage": ["separation", "magnt"]})
    firms.to_parquet(tmp_path / "f.parquet")
    pd.DataFrame({"supplier_id": ["A"], "customer_id": ["B"], "quantity": [1.0]}).to_parquet(
        tmp_path / "e.parquet"
    )
    with pytest.raises(DataError, match=r"f\.parquet row 2: column 'stage': unknown stage 'magnt'"):
        read_network(tmp_path / "f.parquet", tmp_path / "e.parquet")


def test_dataframe_errors_say_table_and_row() -> None:
    firms, edges = net(DIAMOND_FIRMS, DIAMOND_EDGES)
    edges.loc[2, "quantity"] = -1.0
    with pytest.raises(DataError, match=r"^edges row 3: column 'quantity': negative"):
        trace_firms(firms, edges, "mining")
    with pytest.raises(DataError, match="did you mean 'separation'"):
        trace_firms(firms, edges, "seperation")


def test_unsupported_or_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unsupported file type"):
        read_network(tmp_path / "f.xlsx", tmp_path / "e.csv")
    with pytest.raises(DataError, match="no such file"):
        read_network(tmp_path / "f.csv", tmp_path / "e.csv")


# --- synthetic networks --------------------------------------------------------------------


def test_synth_is_deterministic_and_valid() -> None:
    f1, e1 = synth_network(600, 3000, seed=7)
    f2, e2 = synth_network(600, 3000, seed=7)
    pd.testing.assert_frame_equal(f1, f2)
    pd.testing.assert_frame_equal(e1, e2)
    f3, _ = synth_network(600, 3000, seed=8)
    assert not f1.equals(f3)
    assert len(f1) == 600
    assert len(e1) == 3000
    counts = f1["stage"].value_counts()
    order = [s.value for s in Stage]
    assert all(counts[a] < counts[b] for a, b in itertools.pairwise(order))  # fewer upstream
    sep = f1[f1.stage == "separation"]["country"].value_counts(normalize=True)
    assert sep.index[0] == "CHN"
    assert (e1["supplier_id"] == e1["customer_id"]).any()  # self-loops
    stage_of = f1.set_index("firm_id")["stage"]
    rec = (e1["supplier_id"].map(stage_of) == "end_use") & e1["customer_id"].map(stage_of).isin(
        ["separation", "metal_alloy"]
    )
    assert rec.any()  # recycling edges make cycles
    assert (e1["quantity"] > 0).all()
    res = trace_firms(f1, e1, "separation")
    assert res.coverage["cyclic_components"] >= 1
    sums = res.shares.groupby("firm_id")["share"].sum()
    assert np.allclose(sums, 1.0)
    assert len(sums) == 600


def test_large_cycles_iterative_matches_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    f, e = synth_network(3000, 15000, seed=3)
    direct = trace_firms(f, e, "metal_alloy")
    monkeypatch.setattr(tf, "_DIRECT_MAX", 10**9)
    lu = trace_firms(f, e, "metal_alloy")
    assert direct.coverage["max_sweeps"] > 0
    assert lu.coverage["max_sweeps"] == 0
    assert direct.shares[["firm_id", "origin"]].equals(lu.shares[["firm_id", "origin"]])
    assert np.allclose(direct.shares["share"], lu.shares["share"], atol=1e-11)


def test_synth_rejects_bad_arguments() -> None:
    with pytest.raises(DataError, match="at least 6 firms"):
        synth_network(3, 10, seed=0)
    with pytest.raises(DataError, match="unknown tier"):
        synth_network(10, 10, seed=0, tiers=("mine", "separation"))
    f, e = synth_network(50, 200, seed=0, tiers=("mining", "separation", "metal_alloy"))
    assert set(f["stage"]) == {"mining", "separation", "metal_alloy"}
    assert len(e) == 200


# --- CLI (Typer app directly; tests/e2e/test_cli_trace.py runs the installed entry point) -----

runner = CliRunner()


def test_cli_synth_then_firms(tmp_path: Path) -> None:
    res = runner.invoke(
        trace_app, ["synth", "--firms", "300", "--edges", "1500", "--seed", "1", "--out-dir", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "firms.csv").exists()
    out = tmp_path / "res.parquet"
    res = runner.invoke(
        trace_app,
        [
            "firms",
            str(tmp_path / "firms.csv"),
            str(tmp_path / "edges.csv"),
            "--origin-stage",
            "separation",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "input mass with known origin" in res.output
    table = pd.read_parquet(out)
    assert list(table.columns) == ["firm_id", "origin", "share"]
    assert np.allclose(table.groupby("firm_id")["share"].sum(), 1.0)


def test_cli_bad_stage_writes_nothing(tmp_path: Path) -> None:
    f, e = write(tmp_path, "f.csv", FIRMS_CSV), write(tmp_path, "e.csv", EDGES_CSV)
    out = tmp_path / "out.csv"
    res = runner.invoke(
        trace_app, ["firms", str(f), str(e), "--origin-stage", "seperation", "--out", str(out)]
    )
    assert isinstance(res.exception, DataError)
    assert "did you mean 'separation'" in str(res.exception)
    assert set(tmp_path.iterdir()) == {f, e}


def test_cli_bad_data_writes_nothing(tmp_path: Path) -> None:
    f = write(tmp_path, "f.csv", FIRMS_CSV)
    e = write(tmp_path, "e.csv", EDGES_CSV + "S1,G,-2\n")
    res = runner.invoke(
        trace_app, ["firms", str(f), str(e), "--origin-stage", "separation", "-o", str(tmp_path / "o.csv")]
    )
    assert isinstance(res.exception, DataError)
    assert set(tmp_path.iterdir()) == {f, e}


def test_cli_formats(tmp_path: Path) -> None:
    f, e = write(tmp_path, "f.csv", FIRMS_CSV), write(tmp_path, "e.csv", EDGES_CSV)
    res = runner.invoke(trace_app, ["firms", str(f), str(e), "--origin-stage", "mining", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert "firm_id,origin,share" in res.output
    assert "G,AUS,1.0" in res.output
    res = runner.invoke(trace_app, ["firms", str(f), str(e), "--origin-stage", "mining", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["coverage"]["firms"] == 3
    assert {"firm_id": "S1", "origin": "AUS", "share": 1.0} in doc["rows"]
    res = runner.invoke(trace_app, ["firms", str(f), str(e), "--origin-stage", "mining"])
    assert res.exit_code == 0, res.output
    assert "Coverage: origin stage mining" in res.output
