"""The ASGI app: :func:`create_app` (REST API, dashboard, local API docs) and :func:`serve`.

Security defaults (see :mod:`critmin.server.guard`): loopback only unless a token is set; a
non-loopback ``host`` without ``CRITMIN_TOKEN`` is refused at start. No page or asset is
loaded from a CDN: plotly.js comes from the installed ``plotly`` package
(``package_data/plotly.min.js``), the world map from :mod:`critmin.report` (``world_110m.json``),
and the API docs page (``/api/v1/docs``) is a local page reading ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import threading
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from critmin._version import __version__
from critmin.errors import DataError
from critmin.server.errors import install_handlers
from critmin.server.guard import LOOPBACK_BINDS, Guard
from critmin.server.state import AppState, Settings

#: Environment variable holding the API token.
TOKEN_ENV = "CRITMIN_TOKEN"
STATIC = Path(str(resources.files("critmin.server").joinpath("static")))
UPLOAD_PATHS = ("/api/v1/screen", "/api/v1/trace/firms")


def plotly_js() -> Path:
    """``plotly.min.js`` of the installed plotly package."""
    import plotly  # type: ignore[import-untyped]

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise DataError(f"plotly.js not found at {path}", fix="reinstall the plotly package with pip")
    return path


def world_topojson() -> Path:
    """The world map (``world_110m.json``) bundled with :mod:`critmin.report`."""
    return Path(str(resources.files("critmin.report").joinpath("world_110m.json")))


def create_app(settings: Settings | None = None, *, preload: bool = False) -> FastAPI:
    """The app with its routes, error handlers, job queue and the request guard.

    ``settings`` (default :class:`Settings()`: no token, loopback only); ``preload`` loads the
    dataset at start-up instead of on the first request that needs it, and starts the job worker
    processes (in the background; ``GET /api/v1/health`` says how many are warm).

    Jobs run in worker processes (:mod:`critmin.server.procs`) unless
    ``settings.job_processes`` is False. As with any ``multiprocessing`` program, a script that
    builds the app at its top level must guard it with ``if __name__ == "__main__":`` (the
    workers import the main module); ``critmin serve``, uvicorn and pytest do.
    """
    from critmin.server import api, api_plan, api_sim, plan_jobs
    from critmin.server.jobs import JobQueue

    settings = settings or Settings()
    st = AppState(settings)
    runner: Any = None
    if settings.job_processes and mp.parent_process() is None:  # never a pool inside a worker
        from critmin.server.procs import ProcessRunner

        runner = ProcessRunner(settings, workers=settings.workers, preload=preload)
        st.job_mode = runner.describe
    else:
        st.job_mode = lambda: {"mode": "threads", "workers": settings.workers, "warm": settings.workers}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if preload:
            from starlette.concurrency import run_in_threadpool

            await run_in_threadpool(st.dataset)
            if runner is not None:  # start the worker processes (each loads the dataset) meanwhile
                threading.Thread(target=runner.warm, name="critmin-warm", daemon=True).start()
        yield
        if st.jobs is not None:
            st.jobs.close()
        if runner is not None:
            runner.close()

    app = FastAPI(
        title="critmin API",
        version=__version__,
        description="Stress-test critical-mineral supply chains on cited public data. Errors are JSON: "
        '{"error": one-line message, "field": ..., "fix": ...}.',
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        lifespan=lifespan,
    )
    app.state.critmin = st
    st.jobs = JobQueue(
        runner if runner is not None else (lambda job: plan_jobs.run_any(st, job)),
        workers=settings.workers,
        max_pending=settings.max_pending,
    )
    install_handlers(app)
    app.include_router(api.router)
    app.include_router(api_sim.router)
    app.include_router(api_plan.router)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=_NO_STORE)

    @app.get("/api/v1/docs", include_in_schema=False)
    def docs() -> FileResponse:
        return FileResponse(STATIC / "docs.html")

    @app.get("/docs", include_in_schema=False)
    def docs_redirect() -> RedirectResponse:
        return RedirectResponse("/api/v1/docs")

    @app.get("/assets/plotly.min.js", include_in_schema=False)
    def plotly_asset() -> FileResponse:
        return FileResponse(plotly_js(), media_type="text/javascript", headers=_CACHE)

    @app.get("/assets/world_110m.json", include_in_schema=False)
    def world_asset() -> FileResponse:
        return FileResponse(world_topojson(), media_type="application/json", headers=_CACHE)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(
        Guard,
        token=settings.token,
        body_limit=settings.body_limit,
        upload_limit=settings.upload_limit,
        upload_prefixes=UPLOAD_PATHS,
    )
    return app


_CACHE = {"Cache-Control": "public, max-age=86400"}
_NO_STORE = {"Cache-Control": "no-store"}


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback ``host`` without a token (one line, exit 2 in the CLI)."""
    if host not in LOOPBACK_BINDS and not token:
        raise DataError(
            f"--host {host} makes the server reachable from other machines and needs a token",
            column="host",
            fix=f"set {TOKEN_ENV} to a long random secret (e.g. `export {TOKEN_ENV}=$(python -c "
            "'import secrets; print(secrets.token_urlsafe(32))')`), or keep the default --host 127.0.0.1",
        )
    if token is not None and len(token) < 16:
        raise DataError(f"{TOKEN_ENV} is shorter than 16 characters", fix="use a long random secret")


def serve(
    host: str = "127.0.0.1", port: int = 8000, *, settings: Settings | None = None, **uvicorn_kw: Any
) -> None:
    """Run the app under uvicorn until interrupted (the token is read from ``CRITMIN_TOKEN``)."""
    import uvicorn

    token = os.environ.get(TOKEN_ENV) or None
    check_bind(host, token)
    base = settings or Settings()
    settings = Settings(**{**base.__dict__, "token": token})
    app = create_app(settings, preload=True)
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False, **uvicorn_kw)
