"""Running a long-lived process until SIGTERM or Ctrl-C: ``serve``, ``worker`` and ``exporter`` share this loop."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any, Protocol

log = logging.getLogger("brandpulse")


class Service(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def until_signalled() -> threading.Event:
    """An event set by SIGTERM or SIGINT (Ctrl-C), for commands that run until stopped."""
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop


def run_until_signalled(service: Service, *, running: str) -> None:
    """Start ``service``, log ``running``, wait for SIGTERM or Ctrl-C, then stop it, whatever happened."""
    # The handlers go in before the start: a Ctrl-C while the model loads stops the service rather than killing it.
    stop = until_signalled()
    try:
        service.start()
        log.info(running)
        while not stop.wait(timeout=1.0):
            pass
    finally:
        service.stop()
        log.info("stopped")
