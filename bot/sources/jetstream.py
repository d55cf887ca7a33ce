"""The Bluesky firehose through Jetstream (v1 wire, ../shared/sources/bluesky/jetstream-v1-legacy/README.md):
``/subscribe?wantedCollections=app.bsky.feed.post&cursor=<time_us>`` over a websocket, no authentication.

Polled in catch-up mode: each poll connects with the stored ``time_us`` cursor (rewound ``REWIND`` as the docs
advise on reconnecting; what is read twice is stored once), reads events until it has caught up with the moment it
started, the stream goes quiet, or ``max_seconds`` pass, and stores the cursor of the last event read. A dropped
connection ends a poll like that, and the next resumes where it stopped: no gap, no duplicate. The first poll starts
at the live tail. Jetstream keeps about 36 hours: a source stopped longer than that loses what is older.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import connect

from analysis.brand_match import BrandMatcher
from analysis.language import detector_for
from bot.config.sources import JetstreamSource
from bot.core.ingest import MAX_AHEAD
from bot.sources.base import Fetch, Item, SourceError, item_doc
from bot.sources.http import host
from bot.sources.intake import BadItem, Intake, epoch_time, iso_time, load_json, shown, text_field
from bot.sources.registry import Wiring, connector_type

COLLECTION = "app.bsky.feed.post"
REWIND = timedelta(seconds=5)
# The largest event read: Jetstream is asked to skip larger ones (maxMessageSizeBytes); one that comes all the same is
# rejected, and the events after it are read. A frame over MAX_FRAME_BYTES ends the connection (the websocket library
# cannot skip it), and so the poll; the next poll meets it again.
MAX_MESSAGE_BYTES = 1_000_000
MAX_FRAME_BYTES = 16 * 1024 * 1024
MAX_EVENTS = 500_000


def post_item(event: Mapping[str, Any]) -> Item | None:
    """A commit that creates a post, as a mention (None for any other event, and a post without text); BadItem when
    the commit is not what Jetstream documents."""
    commit = event.get("commit")
    if event.get("kind") != "commit":
        return None
    if not isinstance(commit, dict):
        raise BadItem(f"commit is {shown(commit)}, not an object")
    if commit.get("operation") != "create" or commit.get("collection") != COLLECTION:
        return None
    record, did, rkey = commit.get("record"), event.get("did"), commit.get("rkey")
    if not isinstance(record, dict):
        raise BadItem(f"record is {shown(record)}, not an object")
    if not isinstance(did, str) or not did or "/" in did:
        raise BadItem(f"did is {shown(did)}, not a DID")
    if not isinstance(rkey, str) or not rkey or "/" in rkey:
        raise BadItem(f"rkey is {shown(rkey)}, not a record key")
    text = text_field(record.get("text"), "text").strip()
    if not text:
        return None
    # createdAt is the author's to write; the event's time, Jetstream's, stands in only where the author wrote none.
    when = iso_time(record.get("createdAt"), "createdAt") or epoch_time(event.get("time_us"), "time_us", scale=1e6)
    langs = record.get("langs")
    return Item(
        external_id=f"at://{did}/{COLLECTION}/{rkey}",
        text=text,
        created_at=when,
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        author=did,
        language=langs[0][:16] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
    )


def _post_id(event: Mapping[str, Any]) -> str | None:
    """The post's id, to name a rejected one by (None when the event has none)."""
    commit, did = event.get("commit"), event.get("did")
    if isinstance(commit, dict) and isinstance(did, str) and isinstance(commit.get("rkey"), str):
        return f"at://{did}/{COLLECTION}/{commit['rkey']}"
    return None


class JetstreamConnector:
    source = "bluesky"  # the same posts as the search finds: stored once whichever source brings them

    def __init__(
        self,
        *,
        url: str,
        matches: Callable[[Item], bool],
        max_seconds: float,
        timeout_seconds: float,
        open_socket: Callable[[str], socket.socket],
        idle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url, self.matches = url, matches
        self.max_seconds, self.timeout, self.idle = max_seconds, timeout_seconds, idle_seconds
        # The source's checked connections (bot/sources/network.py): the stream follows no redirect.
        self.open_socket = open_socket
        self.clock = clock

    def fetch(self, cursor: Mapping[str, Any], *, now: datetime) -> Fetch:
        caught_up_at = int(now.timestamp() * 1e6)
        # Jetstream's times are its own, but none is taken past the clock: a cursor ahead of it would skip what comes.
        latest = caught_up_at + int(MAX_AHEAD.total_seconds() * 1e6)
        last = cursor.get("time_us")
        if not isinstance(last, int) or isinstance(last, bool) or not 0 < last <= latest:
            last = None
        params: dict[str, str | int] = {"wantedCollections": COLLECTION, "maxMessageSizeBytes": MAX_MESSAGE_BYTES}
        if last is not None:
            params["cursor"] = last - int(REWIND.total_seconds() * 1e6)
        intake = Intake(now=now)
        newest = last
        deadline = self.clock() + self.max_seconds
        try:
            with (
                closing(self.open_socket(self.url)) as sock,
                connect(
                    f"{self.url}?{urlencode(params)}",
                    sock=sock,
                    open_timeout=self.timeout,
                    max_size=MAX_FRAME_BYTES,
                    compression=None,
                ) as stream,
            ):
                for _ in range(MAX_EVENTS):
                    wait = min(self.idle, deadline - self.clock())
                    if wait <= 0:
                        break
                    try:
                        message = stream.recv(timeout=wait, decode=False)
                    except TimeoutError:
                        break  # quiet: caught up with the live stream
                    time_us = self._read(message, intake)
                    if time_us is None:
                        continue  # one bad frame is not the stream's end
                    newest = max(newest or 0, min(time_us, latest))
                    if time_us >= caught_up_at:
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
        next_cursor = {"time_us": newest} if newest is not None else {}
        return Fetch(intake.items, next_cursor, rejected=intake.rejected)

    def _read(self, message: bytes, intake: Intake) -> int | None:
        """One frame through the door: the event's time_us, or None when the frame is not an event."""
        if len(message) > MAX_MESSAGE_BYTES:
            intake.reject(f"an event of {len(message):,} bytes, over the {MAX_MESSAGE_BYTES:,}-byte limit")
            return None
        try:
            event = load_json(message)
        except ValueError:
            intake.reject("an event that is not JSON")
            return None
        time_us = event.get("time_us") if isinstance(event, dict) else None
        if not isinstance(time_us, int) or isinstance(time_us, bool) or time_us <= 0:
            intake.reject(f"an event whose time_us is {shown(time_us)}, not a positive integer")
            return None
        intake.admit(self._matching, event, id_of=_post_id)
        return time_us

    def _matching(self, event: Mapping[str, Any]) -> Item | None:
        """The post an event creates, when it names a brand of the source: the firehose carries every post of the
        network, and only those are the source's to admit or reject."""
        found = post_item(event)
        return found if found is not None and self.matches(found) else None


def prefilter(matcher: BrandMatcher, languages: Sequence[str] = ()) -> Callable[[Item], bool]:
    """Whether a post names a brand of the source; a post without a language has it detected (among ``languages``,
    the team's) when a brand's query asks for it (``lang:``, inflections)."""
    if not matcher.needs_language:
        return lambda item: matcher.first(item_doc(item, JetstreamConnector.source)) is not None
    detector = detector_for(tuple(sorted(languages)))

    def detect(text: str) -> str | None:
        found = detector.detect(text)
        return found.code if found is not None else None

    return lambda item: matcher.first(item_doc(item, JetstreamConnector.source), detect=detect) is not None


@connector_type("jetstream")
def build(config: JetstreamSource, params: dict[str, Any], wiring: Wiring) -> JetstreamConnector:
    """The connector of a `jetstream` source of the brands file."""
    # The firehose carries every post: only those that name a brand of this source are kept.
    matcher = wiring.brands.matcher_for(config.brands)
    return JetstreamConnector(
        url=params["url"],
        matches=prefilter(matcher, wiring.languages),
        max_seconds=config.max_seconds,
        idle_seconds=config.idle_seconds,
        timeout_seconds=wiring.client.options.timeout_seconds,
        open_socket=wiring.client.connect,
    )
