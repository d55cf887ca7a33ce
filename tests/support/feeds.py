"""A feed server on loopback, as feedparser's own test harness serves its corpus (../shared/sources/rss/
feedparser-v6.0.14/excerpts/runtests.py_loopback_server_L66-150.py): each path's body and headers, 304 when
If-None-Match or If-Modified-Since match the path's ETag or Last-Modified; plus the failures a poll must survive
(429 with Retry-After, 5xx, an answer that never comes, a body without end, an answer that trickles in)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds before the answer
    endless: bool = False  # chunked, without end
    # Seconds between the bytes of the answer: all of it (status line, headers, body) one byte at a time, or with
    # ``endless``, the headers at once and then a chunked body of spaces, one byte a chunk, that never ends.
    drip: float = 0.0
    # Answers computed from the request (a fake API): (status, headers, body).
    handler: Callable[[Seen], tuple[int, dict[str, str], bytes]] | None = None


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.dripping = 0  # answers trickling out now
        self._count = threading.Lock()
        self._closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body in one segment: written apart, Nagle's algorithm and the client's delayed ACK add
            # 40 ms to every answer.
            disable_nagle_algorithm = True
            wbufsize = 1 << 16

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    self._answer(404, b"not found", {"Content-Type": "text/plain"})
                    return
                if route.delay:
                    server._closing.wait(route.delay)
                if route.drip:
                    self._drip(route)
                    return
                if route.endless:
                    self._endless()
                    return
                if route.handler is not None:
                    status, headers, body = route.handler(server.requests[-1])
                    self._answer(status, body, headers)
                    return
                validators = {"ETag": route.etag, "Last-Modified": route.last_modified}
                validators = {k: v for k, v in validators.items() if v}
                if route.status == 200 and (
                    (route.etag and self.headers.get("If-None-Match") == route.etag)
                    or (route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified)
                ):
                    self._answer(304, b"", validators)
                    return
                self._answer(route.status, route.body, {**route.headers, **validators})

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 1_000_000))
                server.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                route = server.routes.get(self.path.split("?")[0])
                if route is None or route.handler is None:
                    self._answer(404 if route is None else 405, b"", {"Content-Type": "text/plain"})
                    return
                status, headers, answer = route.handler(server.requests[-1])
                self._answer(status, answer, headers)

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _drip(self, route: Route) -> None:
                if route.endless:
                    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nTransfer-Encoding: chunked\r\n\r\n"
                    self.wfile.write(head)
                    slow = itertools.repeat(b"1\r\n \r\n")  # a chunk of one byte
                else:
                    head = (
                        f"HTTP/1.1 {route.status} OK\r\nContent-Type: application/rss+xml\r\n"
                        f"Content-Length: {len(route.body)}\r\n\r\n"
                    ).encode()
                    slow = (bytes([byte]) for byte in head + route.body)
                with server._count:
                    server.dripping += 1
                try:
                    for piece in slow:
                        self.wfile.write(piece)
                        self.wfile.flush()
                        if server._closing.wait(route.drip):
                            break
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with server._count:
                        server.dripping -= 1
                self.close_connection = True

            def _endless(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"<rss>" + b"<item><title>x</title></item>" * 2000
                try:
                    while not server._closing.is_set():
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        time.sleep(0)

    def requests_to(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path.split("?")[0] == path]


def serve_feeds() -> Iterator[FeedServer]:
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()
