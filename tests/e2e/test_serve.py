"""``critmin serve`` through the real entry point: loopback by default, token for other binds,
the token never in the log, a 1-path simulation over HTTP, a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.cli import EXE, run_cli

TOKEN = "e2e-token-0123456789abcdef-XYZ"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(home: Path, *args: str, token: str | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _port()
    env = {**os.environ, "CRITMIN_HOME": str(home)}
    env.pop("CRITMIN_TOKEN", None)
    if token:
        env["CRITMIN_TOKEN"] = token
    proc = subprocess.Popen(
        [str(EXE), "serve", "--port", str(port), *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        end = time.monotonic() + 120
        while time.monotonic() < end and proc.poll() is None:
            try:
                if httpx.get(base + "/api/v1/health", headers=headers, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def read_log(proc: subprocess.Popen[str], within_s: float = 30.0) -> str:
    """The server's whole output, read to its end; fails (never hangs) when something still
    holds the server's stdout ``within_s`` seconds later (a worker process left behind)."""
    out: list[str] = []

    def read() -> None:
        out.append(proc.stdout.read() if proc.stdout else "")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=within_s)
    assert not reader.is_alive(), "a process the server started still holds its output (left behind)"
    return out[0]


def test_non_loopback_without_token_is_refused(tmp_path: Path) -> None:
    env_token = os.environ.pop("CRITMIN_TOKEN", None)
    try:
        r = run_cli("serve", "--host", "0.0.0.0", home=tmp_path, ok=False)
    finally:
        if env_token is not None:
            os.environ["CRITMIN_TOKEN"] = env_token
    assert r.returncode == 2
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1
    assert "needs a token" in lines[0]
    assert "CRITMIN_TOKEN" in lines[0]
    assert "Traceback" not in r.stderr


@pytest.mark.slow
def test_serve_loopback_runs_a_simulation(tmp_path: Path) -> None:
    with serving(tmp_path) as (base, _proc):
        page = httpx.get(base + "/", timeout=10)
        assert page.status_code == 200
        assert "/assets/plotly.min.js" in page.text
        assert httpx.get(base + "/assets/plotly.min.js", timeout=10).status_code == 200
        r = httpx.post(
            base + "/api/v1/simulations",
            json={"scenario": "baseline", "paths": 1, "end": "2024-12"},
            timeout=30,
        )
        assert r.status_code == 202, r.text
        job = r.json()["job_id"]
        for _ in range(600):
            doc = httpx.get(f"{base}/api/v1/simulations/{job}", timeout=10).json()
            if doc["status"] not in ("queued", "running"):
                break
            time.sleep(0.1)
        assert doc["status"] == "done", doc
        runs = httpx.get(base + "/api/v1/runs", timeout=10).json()["runs"]
        assert [x["run_id"] for x in runs] == [doc["run_id"]]
    # the run is in the store the CLI reads
    listed = run_cli("runs", "list", "--format", "json", home=tmp_path)
    assert doc["run_id"] in listed.stdout


@pytest.mark.slow
def test_token_is_checked_and_never_logged(tmp_path: Path) -> None:
    with serving(tmp_path, "--host", "0.0.0.0", token=TOKEN) as (base, proc):
        assert httpx.get(base + "/api/v1/health", timeout=10).status_code == 401
        assert (
            httpx.get(
                base + "/api/v1/health", headers={"Authorization": "Bearer nope"}, timeout=10
            ).status_code
            == 403
        )
        ok = httpx.get(base + "/api/v1/exposure", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
        assert ok.status_code == 200
    log = read_log(proc)
    assert "token required" in log
    assert TOKEN not in log


@pytest.mark.slow
def test_a_killed_server_leaves_no_worker_process_behind(tmp_path: Path) -> None:
    """SIGKILL gives the server no shutdown: its job workers (started from the forkserver, not
    children of the server) notice it is gone and end, so nothing keeps its output open."""
    with serving(tmp_path) as (base, proc):
        for _ in range(300):  # the pool's workers have started (and loaded the dataset)
            if httpx.get(base + "/api/v1/health", timeout=10).json()["workers"]["warm"] >= 1:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)
        read_log(proc, within_s=30)
