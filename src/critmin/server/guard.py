"""Checks every request gets before any route runs (a pure ASGI middleware).

* **Host**: without a token the server is for this machine only; a request whose ``Host`` is
  not a loopback name (``127.0.0.1``, ``localhost``, ``[::1]``) is refused (403), which stops
  DNS-rebinding pages from reaching the API through a browser.
* **Token**: with a token (``CRITMIN_TOKEN``; required for any non-loopback bind), every
  ``/api/`` request must carry it as ``Authorization: Bearer TOKEN`` or ``X-Critmin-Token``;
  compared in constant time (:func:`hmac.compare_digest`), never logged or echoed. The
  dashboard's static files need no token (they hold no data).
* **Origin**: a state-changing request (POST, PUT, PATCH, DELETE) sent by a browser from
  another origin (its ``Origin`` header names another host) is refused (403), so another web
  page cannot submit jobs or uploads.
* **Body size**: a body over the limit (``Content-Length`` or the bytes actually received) is
  refused with 413 before a route reads it; upload routes have their own, larger limit.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from critmin.server.errors import BodyTooLarge, error_body, too_large_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
LOOPBACK_BINDS = frozenset({"127.0.0.1", "localhost", "::1"})
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def host_name(host_header: str) -> str:
    """``Host`` header without the port (``[::1]:8000`` -> ``[::1]``, ``a:80`` -> ``a``)."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[: h.find("]") + 1] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def token_matches(given: str | None, token: str) -> bool:
    """Whether ``given`` equals ``token`` (constant time in the token's length)."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


class Guard:
    """ASGI middleware applying the checks of the module docstring to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        body_limit: int,
        upload_limit: int,
        upload_prefixes: tuple[str, ...],
    ) -> None:
        self.app = app
        self.token = token or None
        self.body_limit = body_limit
        self.upload_limit = upload_limit
        self.upload_prefixes = upload_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path = str(scope.get("path", ""))
        method = str(scope.get("method", "GET")).upper()
        refusal = self._refusal(headers, path, method)
        if refusal is not None:
            await _send_json(send, *refusal)
            return
        limit = self.upload_limit if path.startswith(self.upload_prefixes) else self.body_limit
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await _send_json(send, 400, error_body("Content-Length is not a number"))
                return
            if int(length) > limit:
                await _send_json(send, 413, too_large_body(limit))
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if not started:
                await _send_json(send, 413, too_large_body(limit))

    def _refusal(self, headers: dict[str, str], path: str, method: str) -> tuple[int, dict[str, Any]] | None:
        host = host_name(headers.get("host", ""))
        if self.token is None and host not in LOOPBACK_NAMES:
            return 403, error_body(
                f"host {host!r} refused: this server answers loopback names only",
                fix="open http://127.0.0.1:PORT/, or restart with --host and CRITMIN_TOKEN set",
            )
        origin = headers.get("origin")
        if (
            method in _UNSAFE
            and origin
            and urlsplit(origin).netloc.lower() != headers.get("host", "").lower()
        ):
            return 403, error_body("cross-origin request refused", fix="call the API from its own origin")
        if self.token is not None and path.startswith("/api/"):
            auth = headers.get("authorization", "")
            given = auth[7:].strip() if auth[:7].lower() == "bearer " else headers.get("x-critmin-token")
            if given is None:
                return 401, error_body(
                    "this server needs a token",
                    field="Authorization",
                    fix="send the header Authorization: Bearer $CRITMIN_TOKEN",
                )
            if not token_matches(given, self.token):
                return 403, error_body(
                    "wrong token", field="Authorization", fix="send the token the server was started with"
                )
        return None


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})
