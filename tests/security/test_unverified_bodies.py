"""What an unauthenticated client can make the HTTP server hold: a request that only claims a signature (a Standard
Webhooks delivery, a Slack request) costs no body unless its headers could verify, and the bodies being read before
they verify share one budget (503 past it) and a deadline (408); a client that hangs up mid-body is one debug line.

Memory is asserted through the budget the server keeps (what it holds, what it refuses), never through timing."""

from __future__ import annotations

import logging
import select
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.runtime.bodies import UnverifiedBodies
from tests.support.api import SECRET, TOKEN, Api, start_api
from tests.support.slack import served

MB = 1_000_000


def _eventually(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.02)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _webhook_claim(*, at: float | None = None, signature: str = "v1," + "A" * 43 + "=") -> str:
    """Headers that look like a Standard Webhooks delivery; the signature cannot verify."""
    stamp = int(time.time() if at is None else at)
    return f"webhook-id: msg_1\r\nwebhook-timestamp: {stamp}\r\nwebhook-signature: {signature}\r\n"


def _slack_claim(*, at: float | None = None) -> str:
    stamp = int(time.time() if at is None else at)
    return f"X-Slack-Request-Timestamp: {stamp}\r\nX-Slack-Signature: v0={'0' * 64}\r\n"


def _start(port: int, path: str, headers: str, *, declared: int, send: bytes = b"{") -> socket.socket:
    """A POST whose headers declare ``declared`` bytes and whose body stops after ``send``: held open."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn.sendall(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n".encode()
        + f"{headers}\r\n".encode()
        + send
    )
    return conn


def _answer(conn: socket.socket) -> bytes:
    """What the server answered (waiting for it, up to the socket's timeout)."""
    data = b""
    try:
        while b"\r\n\r\n" not in data and (chunk := conn.recv(65536)):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def _answered(conns: list[socket.socket]) -> list[socket.socket]:
    readable, _, _ = select.select(conns, [], [], 0)
    return readable


@pytest.fixture
def bodies() -> UnverifiedBodies:
    # Three bodies of 1 MB at once; a deadline far beyond what the tests wait (the deadline has its own test).
    return UnverifiedBodies(budget=3 * MB, seconds=600)


@pytest.fixture
def api(engine: Engine, bodies: UnverifiedBodies) -> Iterator[Api]:
    running = start_api(engine, tokens=[TOKEN], secrets=[SECRET], bodies=bodies)
    yield running
    running.server.stop()


def test_without_webhook_secrets_a_signature_header_does_not_skip_the_token(engine: Engine) -> None:
    api = start_api(engine, tokens=[TOKEN], secrets=[])
    try:
        # 4 MB declared, one byte sent: once the server waited for (and buffered) the rest; now 401 from the headers.
        with _start(_port(api.url), "/api/v1/mentions", _webhook_claim(), declared=4 * MB) as conn:
            assert _answer(conn).startswith(b"HTTP/1.1 401")
    finally:
        api.server.stop()


@pytest.mark.parametrize(
    "claim",
    [
        _webhook_claim(at=time.time() - 3600),  # outside the five-minute tolerance
        _webhook_claim(signature="v1,short"),  # not the base64 of a SHA-256 digest
        _webhook_claim(signature="v1a,whatever"),  # no v1 signature at all
        _webhook_claim().replace("webhook-id: msg_1\r\n", ""),
    ],
    ids=["stale", "short", "not-v1", "no-id"],
)
def test_a_claim_the_headers_already_refuse_costs_no_body(api: Api, bodies: UnverifiedBodies, claim: str) -> None:
    with _start(_port(api.url), "/api/v1/mentions", claim, declared=4 * MB) as conn:
        assert _answer(conn).startswith(b"HTTP/1.1 401")
    assert bodies.held == 0


def test_bodies_that_merely_claim_a_signature_share_one_budget(api: Api, bodies: UnverifiedBodies) -> None:
    # The example: 60 requests that claim a signature and declare a large body (once +293 MB).
    conns = [_start(_port(api.url), "/api/v1/mentions", _webhook_claim(), declared=MB) for _ in range(60)]
    try:
        _eventually(lambda: len(_answered(conns)) == 57, "57 of the 60 refused")
        refused = _answered(conns)
        for conn in refused:
            answer = _answer(conn)
            assert answer.startswith(b"HTTP/1.1 503") and b"retry-after: 5" in answer.lower()
        # Three fit the budget exactly, and are being read; the server holds no more than the budget.
        assert bodies.held == 3 * MB and len([c for c in conns if c not in refused]) == 3
        # A request with a token is verified before its body is read: the budget is not its business.
        assert api.post({"text": "acme works while the budget is spent"}).status_code == 200
        stored_before = len(api.stored())
    finally:
        for conn in conns:
            conn.close()
    # The held ones hung up: their shares come back, and the next claim is read (and refused as unverified).
    _eventually(lambda: bodies.held == 0, "the budget given back")
    body = b'{"text": "acme"}'
    with _start(_port(api.url), "/api/v1/mentions", _webhook_claim(), declared=len(body), send=body) as conn:
        assert _answer(conn).startswith(b"HTTP/1.1 401")
    assert len(api.stored()) == stored_before == 1


def test_slack_requests_that_claim_a_signature_share_the_budget(tmp_path: Path) -> None:
    bodies = UnverifiedBodies(budget=2 * MB, seconds=600)
    with served(tmp_path, None, bodies=bodies) as app:
        port = _port(app.url)
        conns = [_start(port, "/slack/events", _slack_claim(), declared=MB) for _ in range(20)]
        try:
            _eventually(lambda: len(_answered(conns)) == 18, "18 of the 20 refused")
            assert all(_answer(conn).startswith(b"HTTP/1.1 503") for conn in _answered(conns))
            assert bodies.held == 2 * MB
            # A stale or malformed claim is refused from its headers, whatever the budget.
            for claim in (_slack_claim(at=time.time() - 3600), "X-Slack-Signature: v0=abc\r\n"):
                with _start(port, "/slack/events", claim, declared=MB) as conn:
                    assert _answer(conn).startswith(b"HTTP/1.1 401")
        finally:
            for conn in conns:
                conn.close()
        _eventually(lambda: bodies.held == 0, "the budget given back")


def test_a_body_that_does_not_arrive_in_time_is_408_and_gives_its_share_back(engine: Engine) -> None:
    bodies = UnverifiedBodies(budget=3 * MB, seconds=0.5)
    api = start_api(engine, tokens=[TOKEN], secrets=[SECRET], bodies=bodies)
    try:
        port = _port(api.url)
        with _start(port, "/api/v1/mentions", _webhook_claim(), declared=MB) as slow:
            answer = _answer(slow)
        assert answer.startswith(b"HTTP/1.1 408") and b"connection: close" in answer.lower()
        assert bodies.held == 0
        # A body sent at once arrives within the deadline: read, and refused only for its signature.
        body = b'{"text": "acme"}'
        with _start(port, "/api/v1/mentions", _webhook_claim(), declared=len(body), send=body) as quick:
            assert _answer(quick).startswith(b"HTTP/1.1 401")
    finally:
        api.server.stop()


def test_clients_that_hang_up_mid_body_leave_a_debug_line_each_and_no_traceback(
    tmp_path: Path, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="bot.runtime.web")
    api = start_api(engine, tokens=[TOKEN], secrets=[SECRET])
    try:
        with served(tmp_path, None) as slack:
            kinds = [
                (_port(api.url), "/api/v1/mentions", f"Authorization: Bearer {TOKEN}\r\n"),
                (_port(api.url), "/api/v1/mentions", _webhook_claim()),
                (_port(slack.url), "/slack/events", _slack_claim()),
            ]
            for port, path, headers in kinds * 30:
                _start(port, path, headers, declared=100_000, send=b"x" * 50_000).close()

            def gone() -> int:
                return sum("hung up before its request body arrived" in r.getMessage() for r in caplog.records)

            _eventually(lambda: gone() == 90, "a line for each of the 90 clients")
            assert slack.get("/healthz")[0] == 200
    finally:
        api.server.stop()
    assert all(r.levelno == logging.DEBUG for r in caplog.records if "hung up" in r.getMessage())
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
