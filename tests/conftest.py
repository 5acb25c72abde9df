"""Shared fixtures. Every test gets its own empty CRITMIN_HOME so no test sees another's store."""

from __future__ import annotations

from pathlib import Path

import pytest

RAW = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "raw"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("critmin_home")
    monkeypatch.setenv("CRITMIN_HOME", str(home))
    return home


@pytest.fixture
def raw_dir() -> Path:
    """../shared/data/raw (maintainer data). Tests using it are skipped where it is absent."""
    if not RAW.exists():
        pytest.skip("../shared/data/raw is not present")
    return RAW
