"""Hostile firm networks (issue 11): the readers refuse bad input with one DataError line, and
the solver that replaced the level-by-level one gives the same shares (to 1e-9) on random
networks, cycles and deep chains included.

The old solver is frozen in ``benchmarks/firms_solver_v1.py`` (imported from there, as
tests/unit/test_baseline_loop.py imports the baseline loop). The CLI side (exit code 2, one
stderr line, nothing written) is tests/e2e/test_cli_trace_hostile.py.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import string
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import critmin.trace.firms as tf
from critmin.errors import DataError
from critmin.model.stages import Stage
from critmin.trace import read_network, synth_network, trace_files, trace_firms
from critmin.trace.firms_io import check_network
from tests.fuzzing import fuzz_examples
from tests.hostile import only_data_errors

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

FIRMS_CSV = "firm_id,country,stage\nM1,AUS,mining\nS1,CHN,separation\nG,DEU,magnet\n"
EDGES_CSV = "supplier_id,customer_id,quantity\nM1,S1,10\nS1,G,4.5\n"


@pytest.fixture(scope="module")
def v1() -> Iterator[ModuleType]:
    """The level-by-level solver this issue replaced, from ``benchmarks/``."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import firms_solver_v1

        yield firms_solver_v1
    finally:
        sys.path.remove(str(BENCHMARKS))


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8", newline="")
    return p


def refused(read: Callable[[], Any]) -> DataError:
    """The DataError ``read()`` raises; it is one line with a fix."""
    with pytest.raises(DataError) as info:
        read()
    msg = str(info.value)
    assert "\n" not in msg, msg
    assert "Fix:" in msg, msg
    return info.value


# --- solver: new == old on random networks -----------------------------------------------------


def _dense(sol: Any, n: int, K: int) -> np.ndarray:
    Y = np.zeros((n, K))
    live = sol.inv < sol.Yp.shape[0]
    Y[live] = sol.Yp[sol.inv[live]]
    return Y


def _system(firms: pd.DataFrame, edges: pd.DataFrame, stage: str) -> tuple[Any, ...]:
    net = check_network(firms, edges, None)
    n = len(net.firms)
    is_origin = (net.firms["stage"] == stage).to_numpy()
    origin_idx = np.flatnonzero(is_origin)
    country = net.firms["country"].to_numpy()
    countries = sorted(set(country[origin_idx].tolist()))
    origin_k = np.searchsorted(np.asarray(countries, dtype=object), country[origin_idx]).astype(np.int64)
    M = tf.calc_M(tf.calc_Q(n, net.supplier, net.customer, net.quantity), is_origin)
    rank = np.asarray(net.firms["stage"].map({s.value: s.order for s in Stage}), dtype=np.int64)
    return M, origin_idx, origin_k, len(countries), rank, n


STAGES = [s.value for s in Stage]


@st.composite
def networks(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Small random networks: any stage mix, parallel edges, self-loops, rings, zero quantities."""
    n = draw(st.integers(1, 14))
    stage = draw(st.sampled_from(STAGES[:3]))
    firms = pd.DataFrame(
        {
            "firm_id": [f"F{i}" for i in range(n)],
            "country": draw(st.lists(st.sampled_from(["CHN", "AUS", "USA"]), min_size=n, max_size=n)),
            "stage": draw(st.lists(st.sampled_from(STAGES), min_size=n, max_size=n)),
        }
    )
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n))
    if draw(st.booleans()):  # a ring through every firm
        pairs += [(i, (i + 1) % n) for i in range(n)]
    qty = draw(
        st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0, 1e-6, 7e3]), min_size=len(pairs), max_size=len(pairs))
    )
    edges = pd.DataFrame(
        {
            "supplier_id": [f"F{s}" for s, _ in pairs],
            "customer_id": [f"F{c}" for _, c in pairs],
            "quantity": qty,
            "note": [str(i) for i in range(len(pairs))],  # parallel edges differ: summed, not copies
        }
    )
    return firms, edges, stage


def _permuted_labels(real: Callable[..., Any]) -> Callable[..., Any]:
    """``connected_components`` whose labels are shuffled: not a topological order any more."""

    def cc(*args: Any, **kwargs: Any) -> Any:
        nc, label = real(*args, **kwargs)
        perm = np.random.default_rng(nc).permutation(nc)
        return nc, perm[label]

    return cc


MODES: dict[str, dict[str, Any]] = {
    "default": {},
    "deep (no level batching)": {"_LEVEL_CAP": 1},
    "sweeps on every cycle": {"_DIRECT_MAX": 1},
    "deep sweeps": {"_DIRECT_MAX": 1, "_LEVEL_CAP": 1},
    "deep, labels not topological (Kahn fallback)": {"_LEVEL_CAP": 1, "connected_components": None},
}


@pytest.mark.parametrize("mode", list(MODES))
@settings(max_examples=fuzz_examples(60), suppress_health_check=[HealthCheck.too_slow])
@given(net=networks())
def test_new_solver_matches_the_old_one(v1: ModuleType, mode: str, net: tuple[Any, ...]) -> None:
    firms, edges, stage = net
    M, oi, ok, K, rank, n = _system(firms, edges, stage)
    old = _dense(v1.solve_Y(M, oi, ok, K, rank), n, K)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in MODES[mode].items():
            mp.setattr(tf, name, _permuted_labels(tf.connected_components) if value is None else value)
        new = tf.solve_Y(M, oi, ok, K, rank)
    assert np.abs(_dense(new, n, K) - old).max(initial=0.0) <= 1e-9
    assert (new.Yp >= -1e-15).all()
    assert (new.Yp.sum(axis=1) <= 1 + 1e-9).all()


def test_the_comparison_can_fail(v1: ModuleType) -> None:
    # The old solver on a network with one quantity changed gives different shares.
    firms = pd.DataFrame(
        {"firm_id": ["S", "T", "A"], "country": ["CHN", "AUS", "JPN"], "stage": "separation"}
    )
    firms.loc[2, "stage"] = "metal_alloy"
    edges = pd.DataFrame({"supplier_id": ["S", "T"], "customer_id": ["A", "A"], "quantity": [1.0, 1.0]})
    M, oi, ok, K, rank, n = _system(firms, edges, "separation")
    new = _dense(tf.solve_Y(M, oi, ok, K, rank), n, K)
    edges.loc[1, "quantity"] = 1.0 + 1e-6
    M2, *_ = _system(firms, edges, "separation")
    assert np.abs(_dense(v1.solve_Y(M2, oi, ok, K, rank), n, K) - new).max() > 1e-9


def _ring(n: int, leak: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """S (separator, CHN) -> F1 -> ... -> Fn -> F1; with ``leak``, F1 also buys from X (unknown)."""
    ids = [f"F{i}" for i in range(1, n + 1)]
    firms = pd.DataFrame(
        {"firm_id": ["S", "X", *ids], "country": ["CHN", "JPN", *["JPN"] * n], "stage": "metal_alloy"}
    )
    firms.loc[0, "stage"] = "separation"
    sup = ["S", *ids]
    cus = ["F1", *ids[1:], "F1"]
    if leak:
        sup, cus = [*sup, "X"], [*cus, "F1"]
    return firms, pd.DataFrame({"supplier_id": sup, "customer_id": cus, "quantity": 1.0})


def test_deep_chain_and_giant_ring_exact() -> None:
    n = 30_000
    ids = ["S", *(f"F{i}" for i in range(1, n + 1))]
    firms = pd.DataFrame({"firm_id": ids, "country": "CHN", "stage": "metal_alloy"})
    firms.loc[0, "stage"] = "separation"
    chain = pd.DataFrame({"supplier_id": ids[:-1], "customer_id": ids[1:], "quantity": 2.0})
    res = trace_firms(firms, chain, "separation")
    assert res.coverage["levels"] is None  # deeper than the level cap: one sparse LU
    assert res.coverage["solve_blocks"] == 1
    assert (res.shares[res.shares.firm_id != "S"]["share"] == 1.0).all()
    # y_F1 = 1/3 CHN + 1/3 unknown (X) + 1/3 y_Fn and y_Fn = y_F1: every ring firm half CHN.
    res = trace_firms(*_ring(n, leak=True), "separation")
    assert res.coverage["largest_cycle"] == n
    assert res.coverage["max_sweeps"] > 1
    ring = res.shares[res.shares.firm_id.str.startswith("F")]
    assert np.allclose(ring["share"], 0.5, atol=1e-12)
    assert len(ring) == 2 * n


def test_deep_networks_match_level_batching(monkeypatch: pytest.MonkeyPatch) -> None:
    f, e = synth_network(2000, 10_000, seed=5)
    shallow = trace_firms(f, e, "separation")
    monkeypatch.setattr(tf, "_LEVEL_CAP", 1)
    deep = trace_firms(f, e, "separation")
    assert shallow.coverage["levels"] is not None
    assert deep.coverage["levels"] is None
    assert shallow.shares[["firm_id", "origin"]].equals(deep.shares[["firm_id", "origin"]])
    assert np.allclose(shallow.shares["share"], deep.shares["share"], atol=1e-11)


# --- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("1e308", "beyond 1e+15"),
        ("2e15", "beyond 1e+15"),
        ("9" * 400, "(400 characters) is beyond 1e+15"),
        ("1e400", "infinite"),
        ("inf", "infinite"),
        ("-inf", "negative"),
        ("-0.5", "negative"),
        ("nan", "is not a number"),
        ("NaN", "is not a number"),
        ('"1,200"', "is not a number"),
        ("0x10", "is not a number"),
    ],
)
@pytest.mark.parametrize("column", ["quantity", "value_usd"])
def test_absurd_numbers_refused_with_line_and_column(
    tmp_path: Path, cell: str, words: str, column: str
) -> None:
    f = write(tmp_path, "f.csv", FIRMS_CSV)
    e = write(
        tmp_path,
        "e.csv",
        f"supplier_id,customer_id,quantity,value_usd\nM1,S1,10,5\nS1,G,{cell if column == 'quantity' else 4},"
        f"{cell if column == 'value_usd' else 4}\n",
    )
    err = refused(lambda: trace_files(f, e, "mining"))
    assert str(err).startswith(f"{e}:3: column '{column}'"), err
    assert words in str(err)


def test_large_but_plausible_numbers_pass() -> None:
    firms = pd.DataFrame(
        {"firm_id": ["S", "A"], "country": ["CHN", "JPN"], "stage": ["separation", "magnet"]}
    )
    edges = pd.DataFrame(
        {"supplier_id": ["S"], "customer_id": ["A"], "quantity": [1e15], "value_usd": [1e15]}
    )
    assert trace_firms(firms, edges, "separation").coverage["input_mass"] == 1e15


# --- duplicate edges -----------------------------------------------------------------------------


def test_copied_edge_refused_naming_both_lines(tmp_path: Path) -> None:
    f = write(tmp_path, "f.csv", FIRMS_CSV)
    e = write(tmp_path, "e.csv", EDGES_CSV + "M1,S1,3\nS1,G,4.5\n")
    err = refused(lambda: read_network(f, e))
    assert str(err).startswith(f"{e}:5: column 'supplier_id': edge 'S1' -> 'G' repeats line 3"), err
    # "4.50" is the same number: still a copy; a multi-line quoted note keeps physical lines right.
    e = write(
        tmp_path, "e.csv", 'supplier_id,customer_id,quantity,note\nM1,S1,10,"a\nb"\nS1,G,4.5,x\nS1,G,4.50,x\n'
    )
    err = refused(lambda: read_network(f, e))
    assert str(err).startswith(f"{e}:5:"), err
    assert "repeats line 4" in str(err), err


def test_parallel_edges_that_differ_are_summed_and_reported(tmp_path: Path) -> None:
    f = write(tmp_path, "f.csv", FIRMS_CSV)
    e = write(tmp_path, "e.csv", EDGES_CSV + "S1,G,1.5\nM1,S1,11\n")
    cov = trace_files(f, e, "separation").coverage
    assert cov["parallel_edges"] == 2
    assert cov["parallel_example"] == f"{e}:4 repeats 'S1' -> 'G' of line 3"
    cov = trace_files(f, write(tmp_path, "e2.csv", EDGES_CSV), "separation").coverage
    assert cov["parallel_edges"] == 0
    assert cov["parallel_example"] is None


def test_copies_in_frames_and_other_commodities() -> None:
    firms = pd.DataFrame(
        {"firm_id": ["S", "A"], "country": ["CHN", "JPN"], "stage": ["separation", "magnet"]}
    )
    edges = pd.DataFrame(
        {
            "supplier_id": ["S", "S", "S"],
            "customer_id": ["A"] * 3,
            "quantity": 1.0,
            "commodity": ["nd", "dy", "nd"],
        }
    )
    err = refused(lambda: trace_firms(firms, edges, "separation"))
    assert str(err).startswith("edges row 3: column 'supplier_id'")
    assert "repeats row 1" in str(err)
    edges.loc[2, "commodity"] = "tb"  # same pair, three commodities: nothing summed within one
    assert trace_firms(firms, edges, "separation", commodity="nd").coverage["parallel_edges"] == 0
    assert trace_firms(firms, edges, "separation").coverage["parallel_edges"] == 2


# --- files: kinds, sizes, encodings, CSV shape ---------------------------------------------------


def test_special_files_refused(tmp_path: Path) -> None:
    e = write(tmp_path, "e.csv", EDGES_CSV)
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    assert "is a folder" in str(refused(lambda: read_network(folder, e)))
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert "FIFO" in str(refused(lambda: read_network(fifo, e)))  # refused before it is opened
    link = tmp_path / "zero.csv"
    link.symlink_to("/dev/zero")
    assert "device" in str(refused(lambda: read_network(link, e)))
    assert "no such file" in str(refused(lambda: read_network(tmp_path / "gone.csv", e)))


def test_size_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = write(tmp_path, "f.csv", FIRMS_CSV + "".join(f"X{i},JPN,magnet\n" for i in range(20_000)))
    e = write(tmp_path, "e.csv", EDGES_CSV)
    monkeypatch.setenv("CRITMIN_MAX_CSV_MB", "0.1")
    assert "above the 0 MB limit" in str(refused(lambda: read_network(f, e))) or "limit" in str(
        refused(lambda: read_network(f, e))
    )
    # a small gzip that decompresses beyond the limit (a gzip bomb)
    bomb = tmp_path / "f.csv.gz"
    bomb.write_bytes(gzip.compress((FIRMS_CSV + "A,JPN,magnet," + "x" * 300_000 + "\n").encode()))
    assert bomb.stat().st_size < 0.1 * 2**20
    assert "decompressed" in str(refused(lambda: read_network(bomb, e)))
    monkeypatch.setenv("CRITMIN_MAX_PARQUET_MB", "0.0001")
    pd.DataFrame({"firm_id": ["A"] * 100, "country": "JPN", "stage": "magnet"}).to_parquet(
        tmp_path / "f.parquet"
    )
    assert "limit" in str(refused(lambda: read_network(tmp_path / "f.parquet", e)))


def test_gzip_csv_read_and_broken_gzip_refused(tmp_path: Path) -> None:
    fz = tmp_path / "f.csv.gz"
    fz.write_bytes(gzip.compress(FIRMS_CSV.encode()))
    e = write(tmp_path, "e.csv", EDGES_CSV)
    assert len(read_network(fz, e)[0]) == 3
    fz.write_bytes(gzip.compress(FIRMS_CSV.encode())[:20])
    assert "gzip" in str(refused(lambda: read_network(fz, e)))


@pytest.mark.parametrize(
    ("data", "where", "words"),
    [
        (FIRMS_CSV.encode("utf-16"), "f.csv:1", "UTF-16"),
        (FIRMS_CSV.replace("DEU", "Köln").encode("latin-1"), "f.csv:4", "not UTF-8"),
        (b"\x00\x01\x02binary\xff" * 10, "f.csv:1", "binary"),
        (b"", "f.csv:1", "empty"),
        (b"\n\n", "f.csv:1", "empty"),
        (b"firm_id,country,stage\n", "f.csv:2", "no firms"),
        (b"firm_id,country,stage,country\nA,CHN,mining,JPN\n", "f.csv:1", "'country' appears twice"),
        (b"firm_id, stage,country,stage \nA,mining,CHN,mining\n", "f.csv:1", "'stage' appears twice"),
        (b'firm_id,country,stage\nA,CHN,"mining\n', "f.csv:2", "malformed CSV"),
        (b"firm_id,country,stage\nA,CHN,mining\nB,JPN,magnet,extra,more\n", "f.csv:3", "5 fields"),
        (b"firm_id,country\nA,CHN\n", "f.csv:1", "missing column(s) ['stage']"),
        (
            "\ufefffirm_id,country,stage\nA,CHN,mining\nA,JPN,magnet\n".encode(),
            "f.csv:3",
            "duplicate firm_id",
        ),
        (f"firm_id,country,stage\nA,CHN,{'m' * 200_000}\n".encode(), "f.csv:2", "200,000 characters"),
        (f"firm_id,country,stage\nA,{'C' * 131_073},mining\n".encode(), "f.csv:2", "131,073 characters"),
    ],
)
def test_bad_firms_files(tmp_path: Path, data: bytes, where: str, words: str) -> None:
    f = tmp_path / "f.csv"
    f.write_bytes(data)
    err = refused(lambda: read_network(f, write(tmp_path, "e.csv", EDGES_CSV)))
    assert str(err).startswith(str(tmp_path / where)), err
    assert words in str(err), err
    assert len(str(err)) < 600  # long fields are named by their length, not repeated


def test_fields_over_the_csv_module_limit_are_read(tmp_path: Path) -> None:
    long_id = "F" * 200_000
    f = write(tmp_path, "f.csv", FIRMS_CSV + f"{long_id},JPN,magnet\n")
    e = write(tmp_path, "e.csv", EDGES_CSV + f"S1,{long_id},1\n")
    firms, _edges = read_network(f, e)
    assert firms["firm_id"].str.len().max() == 200_000
    e = write(tmp_path, "e.csv", EDGES_CSV + f"S1,{long_id}X,1\n")
    err = refused(lambda: read_network(f, e))
    assert "unknown firm" in str(err)
    assert "200,001 characters" in str(err)
    assert len(str(err)) < 600


# --- Parquet -------------------------------------------------------------------------------------


def _pq(tmp: Path, name: str, columns: dict[str, Any]) -> Path:
    p = tmp / name
    pq.write_table(pa.table(columns), p)
    return p


GOOD_FIRMS = {"firm_id": ["S", "A"], "country": ["CHN", "JPN"], "stage": ["separation", "magnet"]}
GOOD_EDGES = {"supplier_id": ["S"], "customer_id": ["A"], "quantity": [2.0]}


@pytest.mark.parametrize(
    ("table", "column", "values", "words"),
    [
        ("firms", "firm_id", pa.array([["S"], ["A"]]), "list<"),
        ("firms", "stage", pa.array([["separation"], ["magnet"]]), "list<"),
        ("firms", "country", pa.array([1, 2]), "int64"),
        ("firms", "firm_id", pa.array([1.0, 2.0]), "double"),
        ("firms", "firm_id", pa.array([{"a": 1}, {"a": 2}]), "struct<"),
        ("edges", "supplier_id", pa.array([["S"]]), "list<"),
        ("edges", "quantity", pa.array(["2"]), "string"),
        ("edges", "quantity", pa.array([True]), "bool"),
        ("edges", "value_usd", pa.array([[1.0]]), "list<"),
        ("edges", "commodity", pa.array([b"nd"]), "binary"),
    ],
)
def test_parquet_column_types(tmp_path: Path, table: str, column: str, values: Any, words: str) -> None:
    firms, edges = dict(GOOD_FIRMS), dict(GOOD_EDGES)
    (firms if table == "firms" else edges)[column] = values
    f, e = _pq(tmp_path, "f.parquet", firms), _pq(tmp_path, "e.parquet", edges)
    err = refused(lambda: read_network(f, e))
    assert str(err).startswith(
        f"{tmp_path / (table[0] + '.parquet')}: column '{column}': Parquet column of type"
    )
    assert words in str(err)


def test_parquet_integer_dictionary_and_null_columns(tmp_path: Path) -> None:
    f = _pq(
        tmp_path,
        "f.parquet",
        {
            **GOOD_FIRMS,
            "firm_id": pa.array([1, 2]),
            "stage": pa.array(GOOD_FIRMS["stage"]).dictionary_encode(),
        },
    )
    e = _pq(
        tmp_path,
        "e.parquet",
        {"supplier_id": ["1"], "customer_id": pa.array([2], pa.int32()), "quantity": [2]},
    )
    res = trace_files(f, e, "separation").shares
    assert res[res.firm_id == 2]["origin"].astype(str).tolist() == ["CHN"]
    f = _pq(tmp_path, "f.parquet", {**GOOD_FIRMS, "country": pa.nulls(2)})
    assert "empty value" in str(refused(lambda: read_network(f, e)))
    f = _pq(tmp_path, "f.parquet", {**GOOD_FIRMS, "firm_id": pa.array([1, None])})
    assert str(refused(lambda: read_network(f, e))).startswith(f"{f} row 2: column 'firm_id': empty value")


def test_damaged_parquet_files(tmp_path: Path) -> None:
    e = _pq(tmp_path, "e.parquet", GOOD_EDGES)
    good = _pq(tmp_path, "good.parquet", GOOD_FIRMS).read_bytes()
    for name, data in {
        "truncated.parquet": good[: len(good) // 2],
        "csv.parquet": FIRMS_CSV.encode(),
        "magic.parquet": b"PAR1" + b"\x00" * 64 + b"PAR1",
        "flipped.parquet": good[:40] + bytes(b ^ 0xFF for b in good[40:80]) + good[80:],
        "empty.parquet": b"",
    }.items():
        (tmp_path / name).write_bytes(data)
        err = refused(lambda p=tmp_path / name: read_network(p, e))  # type: ignore[misc]
        assert str(err).startswith(str(tmp_path / name)), err


# --- in-memory frames: the same checks -------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "value", "words"),
    [
        ("firms", "firm_id", ["S"], "list value"),
        ("firms", "stage", {"a": 1}, "dict value"),
        ("edges", "supplier_id", ("S",), "tuple value"),
        ("edges", "quantity", [1.0], "list value"),
        ("edges", "quantity", 1e308, "beyond 1e+15"),
    ],
)
def test_frames_with_odd_cells(table: str, column: str, value: Any, words: str) -> None:
    firms = pd.DataFrame(GOOD_FIRMS).astype(object)
    edges = pd.DataFrame(GOOD_EDGES).astype(object)
    frame = firms if table == "firms" else edges
    frame.at[0, column] = value
    err = refused(lambda: trace_firms(firms, edges, "separation"))
    assert str(err).startswith(f"{table} row 1: column '{column}'"), err
    assert words in str(err)


# --- fuzz: only DataError (or success) -------------------------------------------------------------

_CELLS = st.one_of(
    st.sampled_from(
        ["M1", "S1", "G", "X9", "AUS", "China", "World", "NA", "mining", "separation", "seperation",
         "magnet", "", " ", '"', "\x00", "1e308", "-1", "nan", "inf", "9" * 400, "1,5", "[/bold]",
         "=cmd()", "\ufeff"]
    ),
    st.text(string.printable, max_size=6),
)  # fmt: skip


def _csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


_FUZZ = settings(
    max_examples=fuzz_examples(40),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.fuzz
@_FUZZ
@given(
    firm_rows=st.lists(st.lists(_CELLS, min_size=2, max_size=4), max_size=5),
    edge_rows=st.lists(st.lists(_CELLS, min_size=2, max_size=5), max_size=5),
    real_headers=st.booleans(),
)
def test_fuzz_csv_rowsonly_data_errors(
    tmp_path_factory: pytest.TempPathFactory,
    firm_rows: list[list[str]],
    edge_rows: list[list[str]],
    real_headers: bool,
) -> None:
    d = tmp_path_factory.mktemp("fuzz")
    fh = (
        ["firm_id", "country", "stage"]
        if real_headers
        else ["firm_id", "country", "stage", "stage"][: 2 + len(firm_rows) % 3]
    )
    eh = ["supplier_id", "customer_id", "quantity", "value_usd", "commodity"][: 3 + len(edge_rows) % 3]
    f = write(d, "f.csv", _csv_text([fh, *firm_rows]))
    e = write(d, "e.csv", _csv_text([eh, *edge_rows]))
    only_data_errors(lambda: trace_files(f, e, "mining"))


@pytest.mark.fuzz
@_FUZZ
@given(data=st.binary(max_size=200), which=st.booleans())
def test_fuzz_csv_bytesonly_data_errors(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, which: bool
) -> None:
    d = tmp_path_factory.mktemp("fuzz")
    f = d / "f.csv"
    e = d / "e.csv"
    f.write_bytes((b"firm_id,country,stage\nM1,AUS,mining\n" + data) if which else FIRMS_CSV.encode())
    e.write_bytes(EDGES_CSV.encode() if which else b"supplier_id,customer_id,quantity\n" + data)
    only_data_errors(lambda: trace_files(f, e, "mining"))


_ARROW = st.sampled_from(
    [
        pa.array(["S", "A"]),
        pa.array([1, 2]),
        pa.array([1.5, 2.0]),
        pa.array([True, False]),
        pa.array([["S"], ["A"]]),
        pa.array([{"x": 1}, {"x": 2}]),
        pa.array(["S", None]),
        pa.nulls(2),
        pa.array(["separation", "magnet"]).dictionary_encode(),
        pa.array([b"S", b"A"]),
        pa.array([1e308, -1.0]),
        pa.array(["2020-01-01", "x"]).cast(pa.large_string()),
    ]
)


@pytest.mark.fuzz
@_FUZZ
@given(
    firm_cols=st.dictionaries(st.sampled_from(["firm_id", "country", "stage", "extra"]), _ARROW, max_size=4),
    edge_cols=st.dictionaries(
        st.sampled_from(["supplier_id", "customer_id", "quantity", "value_usd", "commodity"]),
        _ARROW,
        max_size=5,
    ),
    cut=st.integers(0, 3),
)
def test_fuzz_parquetonly_data_errors(
    tmp_path_factory: pytest.TempPathFactory, firm_cols: dict[str, Any], edge_cols: dict[str, Any], cut: int
) -> None:
    d = tmp_path_factory.mktemp("fuzz")
    f = _pq(d, "f.parquet", {**GOOD_FIRMS, **firm_cols})
    e = _pq(
        d,
        "e.parquet",
        {"supplier_id": ["S", "S"], "customer_id": ["A", "A"], "quantity": [1.0, 2.0], **edge_cols},
    )
    if cut:  # damage the bytes too
        data = e.read_bytes()
        e.write_bytes(data[: len(data) * cut // 4])
    only_data_errors(lambda: trace_files(f, e, "separation"))
