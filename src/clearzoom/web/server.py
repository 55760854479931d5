"""Serving the app with uvicorn, hardened against slow clients.

uvicorn's keep-alive timer starts only after a first response, so a client that opens a
connection and never finishes its request line and headers holds it forever; enough of them
(a "slowloris") exhaust the process's file descriptors and the server stops answering. Here a
connection must deliver its first request's headers within ``header_timeout`` seconds or it is
closed, and the open-files limit is raised to its hard maximum.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

__all__ = ["raise_open_files_limit", "serve_app", "server_config"]

log = logging.getLogger(__name__)


def raise_open_files_limit() -> int:
    """Raise the soft limit on open files to the hard one; returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # pragma: no cover - a sandbox may refuse
            log.debug("could not raise the open-files limit from %d", soft)
    return soft


def _protocol(header_timeout: float):
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutProtocol(H11Protocol):
        """uvicorn's h11 protocol, closing connections that send no complete request in time."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _headers_too_slow(self) -> None:
            if self.cycle is None and not self.transport.is_closing():
                log.debug("closing a connection that sent no request in %.0f s", header_timeout)
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._header_timer.cancel()
            super().connection_lost(exc)

    return HeaderTimeoutProtocol


def server_config(app: Any, host: str, port: int, *, header_timeout: float = 10.0):
    """The uvicorn config clearzoom serves with."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        http=_protocol(header_timeout),
        timeout_keep_alive=5,
        server_header=False,
    )


def serve_app(app: Any, host: str, port: int, *, header_timeout: float = 10.0) -> None:
    """Run ``app`` until interrupted (blocking)."""
    import uvicorn

    raise_open_files_limit()
    uvicorn.Server(server_config(app, host, port, header_timeout=header_timeout)).run()
