"""The ``/metrics`` endpoint: a registry with the database's figures (and a process's own), served over HTTP."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Mapping, Sequence
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from sqlalchemy.orm import Session, sessionmaker

from monitoring.metrics import DatabaseCollector, Metrics

log = logging.getLogger(__name__)


def build_registry(
    sessions: sessionmaker[Session],
    *,
    brands: Sequence[str],
    accuracy_threshold: float,
    reference_dataset: str | None = None,
    thresholds: Mapping[str, tuple[float, int]] | None = None,
) -> tuple[CollectorRegistry, Metrics]:
    """A fresh registry holding the database collector and the process metrics (with each brand's spike
    ``thresholds``: negative share, minimum volume)."""
    registry = CollectorRegistry()
    registry.register(
        DatabaseCollector(
            sessions, brands=brands, accuracy_threshold=accuracy_threshold, reference_dataset=reference_dataset
        )
    )
    metrics = Metrics(registry)
    metrics.thresholds(thresholds or {})
    return registry, metrics


# Connections the metrics server serves at once, and how long it waits for each read of a request. Prometheus scrapes
# over one connection at a time and sends its request at once; a client that opens many and sends nothing must not
# hold a thread and a descriptor each (the process's descriptors, which the bot's HTTP server and database share).
MAX_CONNECTIONS = 32
READ_TIMEOUT_SECONDS = 10.0


class _Handler(WSGIRequestHandler):
    """A request read with a timeout on every read, and not logged."""

    timeout = READ_TIMEOUT_SECONDS

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the name BaseHTTPRequestHandler gives it
        pass


class _Server(ThreadingMixIn, WSGIServer):
    """A thread per connection, at most ``limit`` at once: a connection past it is closed as it is accepted."""

    daemon_threads = True
    limit = MAX_CONNECTIONS

    def server_activate(self) -> None:
        self.slots = threading.BoundedSemaphore(self.limit)
        self.refused = 0
        super().server_activate()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.refused += 1
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up or never sends its request: one debug line, not a traceback on stderr.
        log.debug("metrics: a request from %s failed", client_address[0], exc_info=True)


class MetricsServer:
    """prometheus_client's WSGI app served in a thread, at most ``max_connections`` at once, each read of a request
    waited for ``read_timeout`` seconds at most; ``start()`` raises OSError when the port is taken."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        host: str,
        port: int,
        max_connections: int = MAX_CONNECTIONS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self.max_connections, self.read_timeout = max_connections, read_timeout
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def refused(self) -> int:
        """Connections closed as they came because every slot was taken."""
        return self._server.refused if self._server is not None else 0

    def start(self) -> None:
        # The address family of the host asked for (an IPv6 one included), as prometheus_client's own server does.
        family, _, _, _, sockaddr = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        server_class = type("MetricsHTTPServer", (_Server,), {"address_family": family, "limit": self.max_connections})
        handler_class = type("MetricsHandler", (_Handler,), {"timeout": self.read_timeout})
        self._server = make_server(
            str(sockaddr[0]), self.port, make_wsgi_app(self.registry), server_class, handler_class=handler_class
        )
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
