"""The HTTP server's connections: how many may be open at once, and how long each may take to send its request's
headers.

uvicorn gives a connection as long as it likes to send its first request's headers, and accepts connections as
long as the process has descriptors: 20,000 idle sockets with unfinished headers were enough to stop ``/healthz``
answering. Here each connection must send a request's headers within ``header_seconds`` (the first request's, and
the next one's on a kept-alive connection), and at most ``limit`` are open: when a new one would pass it, the one
that has waited longest for its headers is closed to make room (a client that sends its request at once, as Slack,
a monitor or a sender of the API does, is served); when every open connection is busy with a request, the new one
is answered 503.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.runtime.slack_http import ThrottledLog

log = logging.getLogger(__name__)

# Open connections at once (BRANDPULSE_HTTP_MAX_CONNECTIONS) and the time a request's headers may take
# (BRANDPULSE_HTTP_HEADER_TIMEOUT_SECONDS).
MAX_CONNECTIONS = 1000
HEADER_TIMEOUT_SECONDS = 10.0
# Descriptors kept for everything else beside the connections: database, model files, logs, Slack, metrics.
SPARE_DESCRIPTORS = 256
# uvicorn accepts up to the listen backlog in one go, before any connection is looked at: no more than the limit.
MAX_BACKLOG = 2048
# The request line and headers, at most (h11 answers 400 past it); and how long a kept-alive connection may idle.
MAX_HEADER_BYTES = 16 * 1024
KEEP_ALIVE_SECONDS = 5

_BUSY_BODY = b'{"error": "too many connections; try again shortly"}'
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\nretry-after: 1\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY)
)


class ConnectionGuard:
    """Counts the open connections and keeps, oldest first, those waiting for a request's headers.

    Used on the server's event loop only: no lock is needed."""

    def __init__(self, limit: int = MAX_CONNECTIONS, header_seconds: float = HEADER_TIMEOUT_SECONDS) -> None:
        self.limit, self.header_seconds = limit, header_seconds
        self._open: set[H11Protocol] = set()
        self._waiting: OrderedDict[H11Protocol, asyncio.TimerHandle] = OrderedDict()
        self._waited_cycle: dict[H11Protocol, Any] = {}
        # What happened, for tests and the log: the most open at once, and the connections closed or refused.
        self.peak = 0
        self.evicted = 0
        self.timed_out = 0
        self.refused = 0
        self._full = ThrottledLog(log, every=60)

    @property
    def open(self) -> int:
        return len(self._open)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def opened(self, connection: H11Protocol) -> bool:
        """Admit a new connection, closing the one that has waited longest for its headers if the limit is reached;
        False when every open connection is busy with a request (the new one is to be refused)."""
        if len(self._open) >= self.limit:
            if not self._waiting:
                self.refused += 1
                self._full.warning(
                    "HTTP connection limit (%d) reached, every connection busy: answered 503", self.limit
                )
                return False
            oldest = next(iter(self._waiting))
            self._drop(oldest)
            self.evicted += 1
            self._full.warning(
                "HTTP connection limit (%d) reached: the connection waiting longest for its headers closed", self.limit
            )
            oldest.transport.close()
        self._open.add(connection)
        self.peak = max(self.peak, len(self._open))
        return True

    def await_headers(self, connection: H11Protocol) -> None:
        """From now on ``connection`` owes a request's headers: within ``header_seconds``, or it is closed."""
        self._stop_waiting(connection)
        if connection not in self._open:
            return
        self._waited_cycle[connection] = connection.cycle
        self._waiting[connection] = connection.loop.call_later(self.header_seconds, self._too_slow, connection)

    def received(self, connection: H11Protocol) -> None:
        """Data arrived: once it completed a request's headers (uvicorn started a new request), nothing is owed."""
        if connection in self._waiting and connection.cycle is not self._waited_cycle.get(connection):
            self._stop_waiting(connection)

    def closed(self, connection: H11Protocol) -> None:
        self._drop(connection)

    def _too_slow(self, connection: H11Protocol) -> None:
        if connection in self._waiting:
            self._waiting.pop(connection)
            self._waited_cycle.pop(connection, None)
            self.timed_out += 1
            log.debug("closed an HTTP connection that sent no request headers in %g seconds", self.header_seconds)
            connection.transport.close()

    def _stop_waiting(self, connection: H11Protocol) -> None:
        timer = self._waiting.pop(connection, None)
        if timer is not None:
            timer.cancel()
        self._waited_cycle.pop(connection, None)

    def _drop(self, connection: H11Protocol) -> None:
        self._stop_waiting(connection)
        self._open.discard(connection)

    def protocol(self) -> type[H11Protocol]:
        """uvicorn's h11 protocol, answering to this guard."""
        guard = self

        class GuardedH11Protocol(H11Protocol):
            def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
                super().connection_made(transport)
                if not guard.opened(self):
                    transport.write(BUSY)
                    transport.close()
                    return
                guard.await_headers(self)

            def data_received(self, data: bytes) -> None:
                super().data_received(data)
                guard.received(self)

            def on_response_complete(self) -> None:
                answered = self.cycle
                super().on_response_complete()
                # Kept alive and no pipelined request started: the next request's headers are owed.
                if not self.transport.is_closing() and self.cycle is answered:
                    guard.await_headers(self)

            def connection_lost(self, exc: Exception | None) -> None:
                guard.closed(self)
                super().connection_lost(exc)

        return GuardedH11Protocol


class ClientNoise(logging.Filter):
    """uvicorn's warnings that any client can cause (a malformed request, a WebSocket upgrade nobody serves): one of
    each per ``every`` seconds, with how many were held back, so that a flood of them cannot fill the log."""

    MESSAGES = ("Invalid HTTP request received.", "Unsupported upgrade request.", "No supported WebSocket library")

    def __init__(self, every: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every, self.clock = every, clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        key = next((m for m in self.MESSAGES if message.startswith(m)), None)
        if key is None:
            return True
        now = self.clock()
        if now - self._last.get(key, -1e9) < self.every:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{message} (and {held} more since the last report)"
        return True


def quiet_client_noise() -> None:
    """Install ``ClientNoise`` on uvicorn's logger, once per process."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, ClientNoise) for f in logger.filters):
        logger.addFilter(ClientNoise())


def ensure_descriptors(connections: int) -> int:
    """Raise this process's open-file limit so that ``connections`` fit with ``SPARE_DESCRIPTORS`` to spare (as far
    as the hard limit allows); the soft limit now in force. Warns when they do not fit."""
    needed = connections + SPARE_DESCRIPTORS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < needed:
        log.warning(
            "the open-file limit (ulimit -n %d) is below BRANDPULSE_HTTP_MAX_CONNECTIONS (%d) + %d for the rest: "
            "raise it, or lower the connection limit",
            soft,
            connections,
            SPARE_DESCRIPTORS,
        )
    return int(soft)
