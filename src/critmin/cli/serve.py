"""``critmin serve``: the REST API and the dashboard on one port (FastAPI + uvicorn)."""

from __future__ import annotations

import typer

from critmin.cli._output import err_console


def serve_cmd(
    host: str = typer.Option("127.0.0.1", help="Address to bind; anything but loopback needs CRITMIN_TOKEN."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(
        2, "--workers", min=1, max=64, help="Jobs (simulations, plans) run at once, each in its own process."
    ),
    max_pending: int = typer.Option(
        16, "--max-jobs", min=1, max=10_000, help="Jobs queued or running at most."
    ),
    max_paths: int = typer.Option(
        20_000, "--max-paths", min=1, help="Most paths one API simulation may run."
    ),
    max_upload_mb: float = typer.Option(64.0, "--max-upload-mb", min=0.001, help="Largest upload (MB)."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the runs the API simulates."),
    job_threads: bool = typer.Option(
        False,
        "--job-threads",
        help="Run jobs in threads of the server process instead of worker processes (less memory; "
        "jobs then share the server's GIL).",
    ),
) -> None:
    """Serve the dashboard (http://HOST:PORT/) and the API (/api/v1, docs at /api/v1/docs).

    Loopback only by default. With --host other than 127.0.0.1/localhost/::1 the server needs
    CRITMIN_TOKEN (a long random secret), checked on every API call (Authorization: Bearer TOKEN).
    """
    import os

    from critmin.server.app import TOKEN_ENV, check_bind, serve
    from critmin.server.state import Settings
    from critmin.server.uploads import upload_limit

    token = os.environ.get(TOKEN_ENV) or None
    check_bind(host, token)
    settings = Settings(
        upload_limit=upload_limit(max_upload_mb),
        workers=workers,
        max_pending=max_pending,
        max_paths=max_paths,
        store_runs=not no_store,
        job_processes=not job_threads,
    )
    shown = "[::1]" if host == "::1" else host
    err_console.print(
        f"critmin serve: dashboard http://{shown}:{port}/  API http://{shown}:{port}/api/v1  "
        f"docs http://{shown}:{port}/api/v1/docs" + ("  (token required)" if token else ""),
        highlight=False,
    )
    serve(host, port, settings=settings)
