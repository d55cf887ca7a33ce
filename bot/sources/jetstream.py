"""The Bluesky firehose through Jetstream (v1 wire, ../shared/sources/bluesky/jetstream-v1-legacy/README.md):
``/subscribe?wantedCollections=app.bsky.feed.post&cursor=<time_us>`` over a websocket, no authentication.

Polled in catch-up mode: each poll connects with the stored ``time_us`` cursor (rewound ``REWIND`` as the docs
advise on reconnecting; what is read twice is stored once), reads events until it has caught up with the moment it
started, the stream goes quiet, or ``max_seconds`` pass, and stores the cursor of the last event read. A dropped
connection ends a poll like that, and the next resumes where it stopped: no gap, no duplicate. The first poll starts
at the live tail. Jetstream keeps about 36 hours: a source stopped longer than that loses what is older.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import connect

from bot.sources.base import Fetch, Item, SourceError, iso_time
from bot.sources.http import host

COLLECTION = "app.bsky.feed.post"
REWIND = timedelta(seconds=5)
MAX_MESSAGE_BYTES = 1_000_000
MAX_EVENTS = 500_000


def post_item(event: Mapping[str, Any]) -> Item | None:
    """A commit that creates a post, as a mention (None for anything else)."""
    commit = event.get("commit")
    if event.get("kind") != "commit" or not isinstance(commit, dict) or commit.get("operation") != "create":
        return None
    record, did, rkey = commit.get("record"), event.get("did"), commit.get("rkey")
    if commit.get("collection") != COLLECTION or not isinstance(record, dict):
        return None
    if not isinstance(did, str) or not isinstance(rkey, str) or not did or not rkey:
        return None
    text = str(record.get("text") or "").strip()
    time_us = event.get("time_us")
    when = iso_time(record.get("createdAt"))
    if when is None and isinstance(time_us, int):
        when = datetime.fromtimestamp(time_us / 1e6, tz=UTC)
    if not text or when is None:
        return None
    langs = record.get("langs")
    return Item(
        external_id=f"at://{did}/{COLLECTION}/{rkey}",
        text=text,
        created_at=when,
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        author=did,
        language=langs[0][:16] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
    )


class JetstreamConnector:
    source = "bluesky"  # the same posts as the search finds: stored once whichever source brings them

    def __init__(
        self,
        *,
        url: str,
        matches: Callable[[str], bool],
        max_seconds: float,
        timeout_seconds: float,
        open_socket: Callable[[str], socket.socket],
        idle_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url, self.matches = url, matches
        self.max_seconds, self.timeout, self.idle = max_seconds, timeout_seconds, idle_seconds
        # The source's checked connections (bot/sources/network.py): the stream follows no redirect.
        self.open_socket = open_socket
        self.clock = clock

    def fetch(self, cursor: Mapping[str, Any], *, now: datetime) -> Fetch:
        last = cursor.get("time_us")
        params: dict[str, str | int] = {"wantedCollections": COLLECTION}
        if isinstance(last, int) and not isinstance(last, bool):
            params["cursor"] = last - int(REWIND.total_seconds() * 1e6)
        caught_up_at = int(now.timestamp() * 1e6)
        items: list[Item] = []
        newest = last if isinstance(last, int) else None
        deadline = self.clock() + self.max_seconds
        try:
            with (
                closing(self.open_socket(self.url)) as sock,
                connect(
                    f"{self.url}?{urlencode(params)}",
                    sock=sock,
                    open_timeout=self.timeout,
                    max_size=MAX_MESSAGE_BYTES,
                    compression=None,
                ) as stream,
            ):
                for _ in range(MAX_EVENTS):
                    wait = min(self.idle, deadline - self.clock())
                    if wait <= 0:
                        break
                    try:
                        message = stream.recv(timeout=wait)
                    except TimeoutError:
                        break  # quiet: caught up with the live stream
                    try:
                        event = json.loads(message)
                    except (ValueError, RecursionError):
                        continue  # one bad frame is not the stream's end
                    if not isinstance(event, dict) or not isinstance(event.get("time_us"), int):
                        continue
                    newest = max(newest or 0, event["time_us"])
                    found = post_item(event)
                    if found is not None and self.matches(found.text):
                        items.append(found)
                    if event["time_us"] >= caught_up_at:
                        break
        except ConnectionClosed:
            pass  # dropped: what was read is kept, and the next poll resumes after it
        except ValueError as exc:
            # websockets refuses to follow a redirect on a socket it was given.
            if not isinstance(exc.__cause__, InvalidStatus):
                raise
            status = exc.__cause__.response.status_code
            raise SourceError(
                f"{host(self.url)} answered HTTP {status}: a jetstream source follows no redirect"
            ) from None
        except (InvalidHandshake, InvalidURI, OSError) as exc:
            if newest is None or newest == last:
                raise SourceError(f"cannot stream from {host(self.url)}: {exc}"[:300]) from None
        return Fetch(items, {"time_us": newest} if newest is not None else dict(cursor))
