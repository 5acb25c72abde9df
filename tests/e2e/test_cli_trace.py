"""``critmin trace synth`` and ``critmin trace firms`` through the installed entry point.

The same commands are tested through Typer's runner in tests/unit/test_trace_firms.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tests.e2e.cli import run_cli as run


def test_synth_then_trace_parquet(tmp_path: Path) -> None:
    run(
        "trace",
        "synth",
        "--firms",
        "500",
        "--edges",
        "2500",
        "--seed",
        "3",
        "--out-dir",
        str(tmp_path),
        "--format",
        "parquet",
        home=tmp_path,
    )
    out = tmp_path / "result.parquet"
    proc = run(
        "trace", "firms", str(tmp_path / "firms.parquet"), str(tmp_path / "edges.parquet"),
        "--origin-stage", "separation", "--out", str(out), home=tmp_path,
    )  # fmt: skip
    assert "input mass with known origin" in proc.stdout
    shares = pd.read_parquet(out)
    assert list(shares.columns) == ["firm_id", "origin", "share"]
    assert np.allclose(shares.groupby("firm_id")["share"].sum(), 1.0)
    assert shares["firm_id"].nunique() == 500


def test_trace_csv_json_and_bad_input(tmp_path: Path) -> None:
    firms = tmp_path / "firms.csv"
    edges = tmp_path / "edges.csv"
    firms.write_text("firm_id,country,stage\nM1,AUS,mining\nS1,CHN,separation\nG,DEU,magnet\n")
    edges.write_text("supplier_id,customer_id,quantity\nM1,S1,10\nS1,G,4\n")
    doc = json.loads(
        run(
            "trace",
            "firms",
            str(firms),
            str(edges),
            "--origin-stage",
            "mining",
            "--format",
            "json",
            home=tmp_path,
        ).stdout
    )
    assert doc["coverage"]["firms"] == 3
    assert {"firm_id": "G", "origin": "AUS", "share": 1.0} in doc["rows"]
    edges.write_text("supplier_id,customer_id,quantity\nM1,S1,10\nS9,G,4\n")
    out = tmp_path / "never.csv"
    proc = run(
        "trace",
        "firms",
        str(firms),
        str(edges),
        "--origin-stage",
        "mining",
        "--out",
        str(out),
        home=tmp_path,
        ok=False,
    )
    assert proc.returncode == 2
    assert f"{edges}:3: column 'supplier_id': unknown firm 'S9'" in proc.stderr
    assert not out.exists()
