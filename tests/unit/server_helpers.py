"""Shared helpers of the server tests: an app on its own CRITMIN_HOME and a loopback client."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from critmin.server.app import create_app
from critmin.server.state import Settings

BASE = "http://127.0.0.1"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BOM = FIXTURES / "bom" / "example.csv"


def client(home: Path, **kw: Any) -> TestClient:
    """A TestClient of a fresh app (loopback base URL) whose store lives under ``home``."""
    return TestClient(create_app(Settings(home=home, **kw)), base_url=BASE, raise_server_exceptions=False)


def wait(
    c: TestClient, job_id: str, timeout: float = 120.0, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Poll a job until it leaves queued/running; its last status document."""
    end = time.monotonic() + timeout
    while True:
        doc: dict[str, Any] = c.get(f"/api/v1/simulations/{job_id}", headers=headers).json()
        if doc["status"] not in ("queued", "running") or time.monotonic() > end:
            return doc
        time.sleep(0.05)


def assert_error(r: Any, status: int, *needles: str) -> dict[str, Any]:
    """``r`` is a JSON error with ``status`` whose one-line message holds every needle."""
    assert r.status_code == status, r.text
    doc: dict[str, Any] = r.json()
    assert set(doc) == {"error", "field", "fix"}, doc
    assert "\n" not in doc["error"]
    for n in needles:
        assert n in doc["error"], (n, doc)
    return doc
