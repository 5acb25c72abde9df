"""The bundled dataset is exactly what the build script makes from the raw files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from critmin.data.build.orchestrate import apply_corrections, build_dataset
from critmin.data.schemas import TABLES
from critmin.errors import DataError


@pytest.mark.raw
def test_rebuild_is_byte_identical(raw_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundled"
    ds = build_dataset(raw_dir, out)
    shipped = Path(str(resources.files("critmin.data").joinpath("bundled")))
    for fname in [f for f, _ in TABLES.values()] + ["sources.yaml"]:
        assert (out / fname).read_bytes() == (shipped / fname).read_bytes(), fname
    assert ds.version == ds.from_dir(shipped).version


def test_stale_correction_is_an_error(tmp_path: Path) -> None:
    corr = tmp_path / "c.yaml"
    corr.write_text(
        "corrections:\n  - {id: x, table: production, match: {country: AUS}, field: value,"
        " printed: 5, corrected: 6, evidence: e}\n",
        encoding="utf-8",
    )
    tables = {"production": pd.DataFrame({"country": ["AUS"], "value": [7.0], "note": [None]})}
    with pytest.raises(DataError, match="matches 0 rows"):
        apply_corrections(tables, corr)
    tables["production"].loc[0, "value"] = 5.0
    assert apply_corrections(tables, corr) == ["x"]
    assert tables["production"].loc[0, "value"] == 6.0
    assert "printed 5" in tables["production"].loc[0, "note"]
