"""Idle and half-open connections against the HTTP server: at most BRANDPULSE_HTTP_MAX_CONNECTIONS are open, each
must send its request's headers within BRANDPULSE_HTTP_HEADER_TIMEOUT_SECONDS, and /healthz keeps answering.

Once, 20,000 connections with unfinished headers used up the process's descriptors and /healthz stopped answering.
Bounds are asserted through the server's own counts (the most connections open at once, those it closed), and every
wait is bounded generously: nothing here is a timing assertion."""

from __future__ import annotations

import logging
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.runtime.connections import MAX_HEADER_BYTES, SPARE_DESCRIPTORS, ensure_descriptors
from bot.runtime.web import HttpServer, build_web_app
from tests.support.net import free_port
from tests.support.serve import serving


def _eventually(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.02)


def _closed_by_server(conn: socket.socket) -> bool:
    """Whether the server closed ``conn`` (EOF or reset), waiting up to the socket's timeout; False if it answered."""
    try:
        return conn.recv(1024) == b""
    except ConnectionResetError:
        return True


def _response(conn: socket.socket) -> bytes:
    """One whole response (headers, and the body its Content-Length gives), read from a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += conn.recv(4096)
    return head + b"\r\n\r\n" + body


def _healthz(url: str) -> int:
    return httpx.get(f"{url}/healthz", timeout=30).status_code


@pytest.fixture
def start() -> Iterator[Callable[..., HttpServer]]:
    servers: list[HttpServer] = []

    def start(
        *, limit: int, header_timeout: float, health: Callable[[], dict[str, Any]] = lambda: {"status": "ok"}
    ) -> HttpServer:
        server = HttpServer(
            build_web_app(slack=None, health=health),
            host="127.0.0.1",
            port=0,
            max_connections=limit,
            header_timeout=header_timeout,
        )
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _idle(server: HttpServer, n: int, *, partial: bool) -> list[socket.socket]:
    conns = []
    for _ in range(n):
        conn = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        if partial:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # headers that never end
        conns.append(conn)
    return conns


def test_hundreds_of_idle_connections_leave_healthz_answering_and_are_closed(
    start: Callable[..., HttpServer],
) -> None:
    server = start(limit=20, header_timeout=1.0)
    guard = server.connections
    url = f"http://127.0.0.1:{server.port}"
    idle = _idle(server, 150, partial=False) + _idle(server, 150, partial=True)
    try:
        # The symptom, inverted: the server never holds more than its limit, and answers /healthz.
        assert _healthz(url) == 200
        # Every idle one is closed: the oldest to make room for newer ones, the last ones once their time is up.
        assert all(_closed_by_server(conn) for conn in idle)
    finally:
        for conn in idle:
            conn.close()
    _eventually(lambda: guard.open == 0, "every connection closed")
    assert guard.peak <= 20
    # Closed to make room or for their time (how many of each depends on how fast the sockets were opened); the
    # last ones can only have run out of time.
    assert guard.evicted + guard.timed_out in (300, 301)  # 301: /healthz's own, had it been slow with its headers
    assert guard.timed_out >= 19


def test_the_connection_limit_on_both_sides(start: Callable[..., HttpServer]) -> None:
    server = start(limit=20, header_timeout=600)
    guard = server.connections
    idle = _idle(server, 20, partial=True)
    try:
        _eventually(lambda: guard.open == 20, "20 connections open")
        assert guard.evicted == 0  # the limit itself: all kept
        extra = _idle(server, 1, partial=True)
        _eventually(lambda: guard.evicted == 1, "one closed for the 21st")
        assert _closed_by_server(idle[0])  # the one that waited longest
        assert guard.open == 20 and guard.peak == 20
    finally:
        for conn in idle + extra:
            conn.close()


def test_the_header_timeout_on_both_sides_and_on_a_kept_alive_connection(start: Callable[..., HttpServer]) -> None:
    server = start(limit=50, header_timeout=2.0)
    guard = server.connections
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as quick:
        # Headers in two parts, well within the time: served.
        quick.sendall(b"GET /healthz HTTP/1.1\r\n")
        quick.sendall(b"Host: x\r\n\r\n")
        assert _response(quick).startswith(b"HTTP/1.1 200")
        # Kept alive; the next request's headers start and never end. uvicorn's own keep-alive timer stops at the
        # first byte: the header deadline is what closes it.
        quick.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        assert _closed_by_server(quick)
    assert guard.timed_out == 1
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as silent:
        assert _closed_by_server(silent)
    assert guard.timed_out == 2


def test_when_every_connection_is_busy_a_new_one_is_answered_503(start: Callable[..., HttpServer]) -> None:
    release = threading.Event()

    def slow_health() -> dict[str, Any]:
        release.wait(30)
        return {"status": "ok"}

    server = start(limit=2, header_timeout=600, health=slow_health)
    url = f"http://127.0.0.1:{server.port}"
    results: list[int] = []
    busy = [threading.Thread(target=lambda: results.append(_healthz(url))) for _ in range(2)]
    for thread in busy:
        thread.start()
    try:
        _eventually(lambda: server.connections.open == 2 and server.connections.waiting == 0, "two requests busy")
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as third:
            answer = third.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503") and b"retry-after: 1" in answer
        assert server.connections.refused == 1
    finally:
        release.set()
        for thread in busy:
            thread.join(30)
    assert results == [200, 200]


def test_a_flood_of_malformed_requests_is_a_log_line_now_and_then(
    start: Callable[..., HttpServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server = start(limit=50, header_timeout=600)
    for n in range(100):
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
            conn.sendall(b"NOT HTTP AT ALL\r\n\r\n" if n % 2 else b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
            assert conn.recv(1024).startswith(b"HTTP/1.1 400")
    noise = [r for r in caplog.records if r.name == "uvicorn.error" and r.levelno >= logging.WARNING]
    assert len(noise) <= 2, [r.getMessage() for r in noise]


def test_serve_raises_its_open_file_limit_to_fit_the_connections(caplog: pytest.LogCaptureFixture) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2000:
        pytest.skip(f"the hard open-file limit ({hard}) leaves no room to raise the soft one")
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
        assert ensure_descriptors(1000) == 1000 + SPARE_DESCRIPTORS
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 1000 + SPARE_DESCRIPTORS
        assert not caplog.records
        if hard != resource.RLIM_INFINITY:
            # More than the hard limit allows: raised as far as it goes, and said.
            assert ensure_descriptors(hard) == hard
            assert "the open-file limit (ulimit -n" in caplog.text
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_headers_still_arriving_hold_at_most_16_kb(start: Callable[..., HttpServer]) -> None:
    server = start(limit=50, header_timeout=600)
    start_line = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: "
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as within:
        within.sendall(start_line + b"a" * (MAX_HEADER_BYTES - 1024))
        within.sendall(b"\r\n\r\n")
        assert _response(within).startswith(b"HTTP/1.1 200")
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as over:
        over.sendall(start_line + b"a" * (MAX_HEADER_BYTES + 1024))  # and the headers do not end
        assert over.recv(1024).startswith(b"HTTP/1.1 400")


def test_serve_applies_the_connection_settings(tmp_path: Path) -> None:
    port = free_port()
    with serving(
        tmp_path,
        BRANDPULSE_HTTP_PORT=str(port),
        BRANDPULSE_HTTP_MAX_CONNECTIONS="5",
        BRANDPULSE_HTTP_HEADER_TIMEOUT_SECONDS="1",
    ) as (_, lines):
        assert "at most 5 connections, request headers within 1 s" in "".join(lines)
        idle = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(50)]
        try:
            assert _healthz(f"http://127.0.0.1:{port}") == 200
            assert all(_closed_by_server(conn) for conn in idle)
        finally:
            for conn in idle:
                conn.close()


def _metrics_threads() -> int:
    return sum(1 for t in threading.enumerate() if "process_request_thread" in t.name)


def test_idle_connections_to_the_metrics_port_hold_no_more_than_its_limit() -> None:
    """The metrics port (serve's and the exporter's) is reached by whoever reaches Prometheus: a client that opens
    many connections and sends nothing holds at most ``max_connections`` threads; the others are closed as they come,
    and once the client lets go, scrapes are answered."""
    from prometheus_client import CollectorRegistry

    from monitoring.exporter import MetricsServer

    # A read timeout longer than the test: no slot frees itself while the connections are counted.
    server = MetricsServer(CollectorRegistry(), host="127.0.0.1", port=0, max_connections=4, read_timeout=60)
    server.start()
    idle: list[socket.socket] = []
    try:
        before = _metrics_threads()
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(50)]
        _eventually(lambda: server.refused == 46, f"46 connections refused (refused: {server.refused})")
        assert _metrics_threads() - before == 4
        for conn in idle:
            conn.close()
        _eventually(lambda: _metrics_threads() == before, "the idle connections' threads ended")
        assert httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10).status_code == 200
    finally:
        for conn in idle:
            conn.close()
        server.stop()


def test_a_connection_to_the_metrics_port_that_sends_nothing_is_closed_after_the_read_timeout() -> None:
    from prometheus_client import CollectorRegistry

    from monitoring.exporter import MetricsServer

    server = MetricsServer(CollectorRegistry(), host="127.0.0.1", port=0, max_connections=1, read_timeout=0.5)
    server.start()
    before = _metrics_threads()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as silent:
            assert _closed_by_server(silent)  # within the socket's 20 s: the server's 0.5 s read timeout closed it
        # Its slot is free again: the one scrape the server takes at a time is answered.
        _eventually(lambda: _metrics_threads() == before, "the silent connection's thread ended")
        assert httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10).status_code == 200
        assert server.refused == 0
    finally:
        server.stop()
