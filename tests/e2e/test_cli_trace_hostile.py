"""Hostile firm networks through the installed ``critmin`` entry point (issue 11).

Each case: exit code 2, exactly one stderr line naming the file (and line/column where the
format has them) with a fix, no traceback, and the ``--out`` file never written (the folder
holds only the inputs afterwards). The library-level cases, property and fuzz tests are in
tests/unit/test_hostile_firms.py.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from tests.e2e.cli import run_cli, run_main

FIRMS = "firm_id,country,stage\nM1,AUS,mining\nS1,CHN,separation\nG,DEU,magnet\n"
EDGES = "supplier_id,customer_id,quantity\nM1,S1,10\nS1,G,4.5\n"


def _csv(firms: str | bytes = FIRMS, edges: str | bytes = EDGES) -> Callable[[Path], tuple[Path, Path]]:
    def make(d: Path) -> tuple[Path, Path]:
        f, e = d / "f.csv", d / "e.csv"
        f.write_bytes(firms.encode() if isinstance(firms, str) else firms)
        e.write_bytes(edges.encode() if isinstance(edges, str) else edges)
        return f, e

    return make


def _parquet(**columns: pa.Array) -> Callable[[Path], tuple[Path, Path]]:
    def make(d: Path) -> tuple[Path, Path]:
        firms = {"firm_id": ["S", "A"], "country": ["CHN", "JPN"], "stage": ["separation", "magnet"]}
        edges = {"supplier_id": ["S"], "customer_id": ["A"], "quantity": [2.0]}
        for k, v in columns.items():
            (firms if k in firms else edges)[k] = v
        f, e = d / "f.parquet", d / "e.parquet"
        pq.write_table(pa.table(firms), f)
        pq.write_table(pa.table(edges), e)
        return f, e

    return make


def _special(kind: str) -> Callable[[Path], tuple[Path, Path]]:
    def make(d: Path) -> tuple[Path, Path]:
        _, e = _csv()(d)
        f = d / "f.csv"
        f.unlink()
        if kind == "fifo":
            os.mkfifo(f)
        elif kind == "zero":
            f.symlink_to("/dev/zero")
        elif kind == "gzip bomb":
            f = d / "f.csv.gz"
            f.write_bytes(gzip.compress((FIRMS + "A,JPN,magnet," + "x" * 3_000_000 + "\n").encode()))
        return f, e

    return make


def _damaged_parquet(d: Path) -> tuple[Path, Path]:
    f, e = _parquet()(d)
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    return f, e


#: case -> (make the inputs, the start of the error after "error: <folder>/", words in it, env)
CASES: dict[str, tuple[Callable[[Path], tuple[Path, Path]], str, str, dict[str, str]]] = {
    "edge quantity 1e308": (
        _csv(edges=EDGES + "S1,G,1e308\n"),
        "e.csv:4: column 'quantity'",
        "beyond",
        {},
    ),
    "edge quantity inf": (
        _csv(edges=EDGES + "S1,G,inf\n"),
        "e.csv:4: column 'quantity'",
        "infinite",
        {},
    ),
    "edge quantity nan": (
        _csv(edges=EDGES + "S1,G,nan\n"),
        "e.csv:4: column 'quantity'",
        "not a number",
        {},
    ),
    "negative value_usd": (
        _csv(edges="supplier_id,customer_id,quantity,value_usd\nM1,S1,1,-5\n"),
        "e.csv:2: column 'value_usd'",
        "negative",
        {},
    ),
    "copied edge": (
        _csv(edges=EDGES + "S1,G,4.5\n"),
        "e.csv:4: column 'supplier_id'",
        "repeats line 3",
        {},
    ),
    "field over 131,072 chars": (
        _csv(edges=EDGES + "S1,G," + "x" * 200_000 + "\n"),
        "e.csv:4: column 'quantity'",
        "(200,000 characters)",
        {},
    ),
    "UTF-16 firms": (
        _csv(firms=FIRMS.encode("utf-16")),
        "f.csv:1: ",
        "UTF-16",
        {},
    ),
    "Latin-1 firms": (
        _csv(firms=FIRMS.replace("DEU", "Köln").encode("latin-1")),
        "f.csv:4: ",
        "not UTF-8",
        {},
    ),
    "empty firms file": (
        _csv(firms=b""),
        "f.csv:1: ",
        "empty",
        {},
    ),
    "header-only firms": (
        _csv(firms="firm_id,country,stage\n"),
        "f.csv:2: ",
        "no firms",
        {},
    ),
    "duplicate column": (
        _csv(edges="supplier_id,customer_id,quantity,quantity\nM1,S1,1,2\n"),
        "e.csv:1: ",
        "twice",
        {},
    ),
    "row longer than header": (
        _csv(edges=EDGES + "S1,G,1,2\n"),
        "e.csv:4: ",
        "4 fields",
        {},
    ),
    "unclosed quote": (
        _csv(edges=EDGES + 'S1,"G,1\n'),
        "e.csv:4: ",
        "malformed CSV",
        {},
    ),
    "stage markup": (
        _csv(firms=FIRMS + "X,JPN,[/bold]magnet\n"),
        "f.csv:5: column 'stage'",
        "'[/bold]magnet'",
        {},
    ),
    "fifo": (
        _special("fifo"),
        "f.csv: ",
        "FIFO",
        {},
    ),
    "/dev/zero": (
        _special("zero"),
        "f.csv: ",
        "device",
        {},
    ),
    "gzip bomb": (_special("gzip bomb"), "f.csv.gz: ", "decompressed", {"CRITMIN_MAX_CSV_MB": "1"}),
    "over the size limit": (
        _csv(firms=FIRMS + "".join(f"X{i},JPN,magnet\n" for i in range(50_000))),
        "f.csv: ",
        "limit",
        {"CRITMIN_MAX_CSV_MB": "0.5"},
    ),
    "parquet list ids": (
        _parquet(firm_id=pa.array([["S"], ["A"]])),
        "f.parquet: column 'firm_id'",
        "list<",
        {},
    ),
    "parquet list stages": (
        _parquet(stage=pa.array([["separation"], ["m"]])),
        "f.parquet: column 'stage'",
        "list<",
        {},
    ),
    "parquet string quantity": (
        _parquet(quantity=pa.array(["2"])),
        "e.parquet: column 'quantity'",
        "string",
        {},
    ),
    "parquet 1e308": (
        _parquet(quantity=pa.array([1e308])),
        "e.parquet row 1: column 'quantity'",
        "beyond",
        {},
    ),
    "parquet damaged": (
        _damaged_parquet,
        "f.parquet: ",
        "not a readable Parquet file",
        {},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_firm_network_exit_2_one_line_nothing_written(tmp_path: Path, case: str) -> None:
    make, start, words, env = CASES[case]
    d = tmp_path / "in"
    d.mkdir()
    f, e = make(d)
    before = sorted(p.name for p in d.iterdir())
    out = d / "shares.csv"
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        # The first case goes through the installed script, the others through critmin.cli.main
        # in this process (the same entry point, without a second of interpreter start-up each).
        runner = run_cli if case == next(iter(CASES)) else run_main
        proc = runner(
            "trace", "firms", str(f), str(e), "--origin-stage", "separation", "--out", str(out),
            home=tmp_path / "home", ok=False, timeout=60,
        )  # fmt: skip
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith(f"error: {d}/{start}"), lines[0]
    assert words in lines[0], lines[0]
    assert "Fix:" in lines[0]
    assert len(lines[0]) < 600
    assert proc.stdout == ""
    assert sorted(p.name for p in d.iterdir()) == before  # no --out, no temp file left


def test_parallel_edges_are_summed_with_one_note(tmp_path: Path) -> None:
    f, e = _csv(edges=EDGES + "S1,G,1.5\n")(tmp_path)
    proc = run_cli(
        "trace", "firms", str(f), str(e), "--origin-stage", "separation", "--format", "json", home=tmp_path
    )
    assert proc.stderr.splitlines() == [
        f"note: 1 edge repeats the supplier and customer of an earlier edge and was summed with it "
        f"(first: {e}:4 repeats 'S1' -> 'G' of line 3). Fix: if they are copies, delete them; if they "
        "are separate shipments, nothing to do"
    ]
    assert '"parallel_edges": 1' in proc.stdout
