"""``critmin serve``: one ASGI app (FastAPI) with the REST API under ``/api/v1`` and the dashboard.

* :func:`critmin.server.app.create_app` builds the app (token, upload limit, job pool);
* :mod:`critmin.server.api` (data: exposure, criticality, tracing, screening),
  :mod:`critmin.server.api_sim` (scenarios, simulation jobs, stored runs) hold the routes;
* :mod:`critmin.server.jobs` is the bounded, cancellable simulation queue;
* :mod:`critmin.server.guard` checks every request (host, token, origin, body size) before
  any route runs; :mod:`critmin.server.uploads` keeps uploads in a private temp folder;
* ``static/`` is the dashboard (plain HTML + vanilla JS; plotly.js and the world map come from
  the installed packages, never from a CDN).

The API takes the same inputs as the CLI through the same validation and limits, and answers
errors as JSON ``{"error": one-line message, "field": ..., "fix": ...}`` with the CLI's messages.
"""

from __future__ import annotations

from critmin.lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__)
