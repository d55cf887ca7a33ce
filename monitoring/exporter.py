"""The ``/metrics`` endpoint: a registry with the database's figures (and a process's own), served over HTTP."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
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


class MetricsServer:
    """prometheus_client's HTTP server in a thread; ``start()`` raises OSError when the port is taken."""

    def __init__(self, registry: CollectorRegistry, *, host: str, port: int) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._server, self._thread = start_http_server(self.port, addr=self.host, registry=self.registry)
        self.port = int(self._server.server_address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
