"""``critmin trace synth`` and ``critmin trace firms`` through the installed entry point.

Skipped until ``trace_app`` is registered in ``critmin.cli`` (``app.add_typer(trace_app,
name="trace")``); the same commands are tested through Typer's runner in
tests/unit/test_trace_firms.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer.main

from critmin.cli import app

EXE = Path(sys.executable).parent / "critmin"


def _registered() -> bool:
    return "trace" in getattr(typer.main.get_command(app), "commands", {})


pytestmark = pytest.mark.skipif(
    not _registered(), reason="`critmin trace` is not registered in critmin.cli yet"
)


def run(*args: str, home: Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRITMIN_HOME": str(home), "COLUMNS": "200"}
    proc = subprocess.run(
        [str(EXE), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


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
