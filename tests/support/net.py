"""Loopback servers in tests: free ports, waiting for what a server does, and reading its metrics."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any


def free_port() -> int:
    """A port free on 127.0.0.1 now (the server that takes it binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float = 30) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def metrics_text(port: int) -> str:
    """The Prometheus exposition a server gives on /metrics at ``port``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return str(response.read().decode())


def finishes(call: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Run ``call`` in a thread and give up on it after a generous ``timeout``: a reader blocked on a FIFO never
    returns, and the test must say so rather than hang."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the reader is still blocked"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
