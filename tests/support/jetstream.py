"""A fake Jetstream (v1 wire) on loopback: a websocket server that replays production events recorded from
jetstream1.us-east.bsky.network (../shared/sources/bluesky/jetstream/internal/corpus/testdata/expected_v1.jsonl,
152 events, 17 post creates), honouring ``wantedCollections``, the ``cursor`` (unix microseconds: events from that
time on) and ``maxMessageSizeBytes`` (a frame larger than it is skipped; 0, absent or malformed: no cap), then staying
open like the live tail; it can drop the connection after a number of events, ignore the size cap as a server of
another make might, and send frames that are not JSON at all (``raw``: time_us -> frame)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.sync.server import Server, ServerConnection, serve

from tests.support import rawjson

RECORDED = (
    Path(__file__).resolve().parents[3] / "shared/sources/bluesky/jetstream/internal/corpus/testdata/expected_v1.jsonl"
)


def recorded_events() -> list[dict[str, Any]]:
    return [json.loads(line) for line in RECORDED.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class FakeJetstream:
    events: list[dict[str, Any]] = field(default_factory=recorded_events)
    drop_after: int | None = None  # close the connection abruptly after this many events (once)
    honour_max_size: bool = True
    raw: dict[int, str] = field(default_factory=dict)  # frames sent as they are, at their time_us among the events
    connections: list[dict[str, list[str]]] = field(default_factory=list)  # each connection's query
    _stop: threading.Event = field(default_factory=threading.Event)
    _server: Server | None = None

    def handler(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        query = parse_qs(urlsplit(connection.request.path).query)
        self.connections.append(query)
        wanted = set(query.get("wantedCollections", []))
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        given = query.get("maxMessageSizeBytes", ["0"])[0]
        max_size = int(given) if given.isdigit() and self.honour_max_size else 0
        frames = [(e["time_us"], e) for e in self.events] + list(self.raw.items())
        sent = 0
        for time_us, event in sorted(frames, key=lambda f: f[0]):
            if cursor is None:
                break  # no cursor: the live tail, which this recording does not have
            if time_us < cursor:
                continue
            if isinstance(event, dict):
                commit = event.get("commit")
                collection = commit.get("collection") if isinstance(commit, dict) else None
                if wanted and event.get("kind") == "commit" and collection not in wanted:
                    continue
            frame = event if isinstance(event, str) else rawjson.dumps(event)
            if max_size and len(frame.encode()) > max_size:
                continue
            if self.drop_after is not None and sent == self.drop_after:
                self.drop_after = None
                connection.socket.close()  # dropped, without a close frame
                return
            connection.send(frame)
            sent += 1
        self._stop.wait(30)  # live: nothing more for now

    def start(self) -> str:
        self._server = serve(self.handler, "127.0.0.1", 0)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/subscribe"

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()


def serve_jetstream(fake: FakeJetstream) -> Iterator[str]:
    url = fake.start()
    try:
        yield url
    finally:
        fake.stop()
