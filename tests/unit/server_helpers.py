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


#: A small plan (4 futures, 2 years, 2 projects, one product): a solve takes seconds.
TOY_PLAN = """\
name: toy-api
scenario: controls-reimposed-2026-11
futures: 4
seed: 1
years: {start: 2027, end: 2028}
products: [ndfeb_magnet]
projects: [vulcan-benson, neo-narva-p2]
buyers:
  - {region: USA, payer: DoD}
constraints:
  concentration:
    - {region: USA, stage: magnet, max_share: 0.8, from_year: 2028}
"""


def wait_plan(c: TestClient, job_id: str, timeout: float = 240.0) -> dict[str, Any]:
    """Poll a plan or stockpile job until it leaves queued/running; its last status document."""
    end = time.monotonic() + timeout
    while True:
        doc: dict[str, Any] = c.get(f"/api/v1/plans/{job_id}").json()
        if doc["status"] not in ("queued", "running") or time.monotonic() > end:
            return doc
        time.sleep(0.05)


def post(c: TestClient, body: dict[str, Any], path: str = "/api/v1/plans") -> Any:
    """POST ``body`` as JSON to ``path`` (default the plan jobs)."""
    return c.post(path, json=body)
