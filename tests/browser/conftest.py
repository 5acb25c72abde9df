"""Browser-test fixtures: a uvicorn server on a free loopback port and headless Chromium.

Playwright cannot download its browser here: the tests launch the system Chromium
(``/usr/bin/chromium``, or ``CRITMIN_CHROMIUM``, or ``chromium`` on the PATH) through
``executable_path``. Without one, every browser test is skipped with that reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def chromium_path() -> str | None:
    """The Chromium to drive, or None."""
    for cand in (
        os.environ.get("CRITMIN_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the app served by uvicorn in a thread (its own store)."""
    import uvicorn

    from critmin.server.app import create_app
    from critmin.server.state import Settings

    app = create_app(Settings(home=tmp_path_factory.mktemp("home")), preload=True)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    end = time.monotonic() + 60
    while not srv.started and time.monotonic() < end:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    th.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None and os.environ.get("CRITMIN_REQUIRE_BROWSER"):  # set by .ci/run: never skipped in CI
        pytest.fail("no Chromium found and CRITMIN_REQUIRE_BROWSER is set (.ci/run installs chromium)")
    if path is None:
        pytest.skip(
            "no Chromium found (/usr/bin/chromium, CRITMIN_CHROMIUM or chromium on the PATH); "
            ".ci/run installs Debian's chromium"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A page whose every request to anything but 127.0.0.1 is aborted and recorded
    (``page.left_loopback``); console errors in ``page.console_errors``."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    left: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(server + "/") or url == server:
            r.continue_()
        else:
            left.append(url)
            r.abort()

    pg.route("**/*", route)
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.left_loopback = left
    pg.console_errors = errors
    yield pg
    ctx.close()
