"""The web app's outer wall (plain ASGI, no framework): host and origin checks, request bodies
limited while they stream in, and security headers on every response.

* **Host**: only the names in ``allowed_hosts`` are served (loopback names by default), which
  stops DNS-rebinding pages from driving the API through a victim's browser. ``"*"`` allows any.
* **Origin**: a state-changing request (POST, PUT, PATCH, DELETE) that carries an ``Origin``
  header must come from an allowed host, so another site cannot post to the server (CSRF).
* **Body size**: ``Content-Length`` over the route's limit is refused before any byte is read;
  a chunked body is counted as it arrives and refused (413) the moment it passes the limit, so a
  2 GB upload is never held in memory or written to disk.
* **Headers**: ``Content-Security-Policy`` (scripts, styles and connections from this origin
  only, no framing), ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LOOPBACK_HOSTS", "Guard", "host_name"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def host_name(value: str) -> str:
    """The host of a ``Host`` header value (``name``, ``name:port``, ``[v6]:port``), lower-case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class _TooLarge(Exception):
    pass


class Guard:
    """ASGI middleware. ``body_limit(method, path)`` gives the most bytes a request body may have."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        *,
        allowed_hosts: Iterable[str],
        body_limit: Callable[[str, str], int],
    ):
        self.app = app
        self.allowed = {h.lower().strip("[]") for h in allowed_hosts}
        self.body_limit = body_limit

    def _host_ok(self, host: str) -> bool:
        return "*" in self.allowed or host in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = host_name(headers.get("host", ""))
        if not self._host_ok(host):
            await _refuse(send, 400, f"host {host!r} is not served here (clearzoom serve --allow-host)")
            return
        method = scope["method"]
        origin = headers.get("origin")
        if method in _UNSAFE_METHODS and origin is not None:
            origin_host = (urlsplit(origin).hostname or "") if origin != "null" else ""
            if not self._host_ok(origin_host):
                await _refuse(send, 403, f"requests from {origin} are not accepted")
                return
        limit = self.body_limit(method, scope["path"])
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _refuse(send, 413, _too_large(limit, int(length)))
            return
        await self._call_counted(scope, receive, send, limit)

    async def _call_counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        state = {"seen": 0, "over": False, "started": False}

        async def counted_receive() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > limit:
                    state["over"] = True
                    raise _TooLarge()
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            if state["over"]:  # whatever the app made of the interrupted body, the answer is 413
                if not state["started"]:
                    state["started"] = True
                    await _refuse(send, 413, _too_large(limit))
                return
            if message["type"] == "http.response.start":
                state["started"] = True
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not state["over"]:
                raise
            if not state["started"]:
                await _refuse(send, 413, _too_large(limit))


def _too_large(limit: int, length: int | None = None) -> str:
    mb = 1 << 20
    size = f"of {length / mb:.1f} MB " if length is not None else ""
    return f"request body {size}is over the {limit / mb:.1f} MB limit (clearzoom serve --max-upload-mb)"


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *SECURITY_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
