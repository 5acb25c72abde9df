"""Shared fixtures. Every test gets its own empty CRITMIN_HOME so no test sees another's store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

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


# Hypothesis profiles: "ci" (the default, and what CI uses) is derandomised with no example
# database, so every run draws the same examples and a result never depends on an earlier run;
# "dev" draws more, fresh examples (HYPOTHESIS_PROFILE=dev make test).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("dev", max_examples=200, deadline=None)
# "fuzz" (make fuzz, run by CI after make test): the readers' fuzz tests with more examples,
# still derandomised, so the bounded run is the same every time.
settings.register_profile(
    "fuzz", derandomize=True, database=None, print_blob=True, deadline=None, max_examples=2000
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
