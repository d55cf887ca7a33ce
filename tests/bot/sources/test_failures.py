"""Every HTTP connector meets the same failures in its own endpoint, on loopback: a 5xx, no answer in time, an answer
over the size cap, and a payload that is not what the source's documentation describes. Each is the poll's one error,
recorded in the source's state; nothing is stored and the cursor stays where it was, so the next poll starts again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.sources import reddit
from bot.sources.http import HttpOptions
from storage.models import Mention, SourceState
from tests.support.connectors import CONNECTORS
from tests.support.feeds import FeedServer, Route, serve_feeds
from tests.support.pipeline import job_context
from tests.support.sources import brands_with, poll

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# The "timeout" route answers after 3 s, so its client gives up after 0.5 s. The others answer at once; their client
# waits longer, so that a prompt answer is never taken for silence while a busy CI machine stalls the fake's thread
# (a 503 once took over a second there).
OPTIONS = HttpOptions(timeout_seconds=5.0, max_bytes=100_000)
IMPATIENT = HttpOptions(timeout_seconds=0.5, max_bytes=100_000)


FAILURES: dict[str, Route] = {
    "5xx": Route(b'{"error": "upstream"}', status=503),
    "timeout": Route(b"{}", delay=3),
    "huge": Route(b"[" + b"0," * 100_000 + b"0]"),
    "html": Route(b"<html><body>Bad gateway</body></html>"),
    "deep": Route(b"[" * 50_000),
    "wrong-shape": Route(b'{"data": 42, "hits": "none", "posts": {}}'),
}
# What each connector's error says of each failure (the one message every connector gives, or one per connector).
NOT_JSON = "127.0.0.1 did not send JSON"
NOT_A_LISTING = "127.0.0.1 sent an answer that is not a listing"  # Reddit: anything but its listing object
EXPECTED: dict[str, str | dict[str, str]] = {
    "5xx": "127.0.0.1 answered HTTP 503",
    "timeout": "127.0.0.1 did not answer within 0.5 s",
    "huge": "127.0.0.1 sent 200,003 bytes, over the 100,000-byte cap",
    # GDELT refuses a search with a line of HTML: an answer that is no JSON is read as that refusal.
    "html": {"reddit": NOT_A_LISTING, "gdelt": "127.0.0.1 refused the search: Bad gateway"},
    "deep": {"reddit": NOT_A_LISTING},
    "wrong-shape": {
        "hackernews": "127.0.0.1 sent an answer without a hits list",
        "mastodon": "127.0.0.1 sent an answer that is not a list of statuses",
        "reddit": NOT_A_LISTING,
        "bluesky": "127.0.0.1 sent an answer without a posts list",
        "gdelt": "127.0.0.1 sent an answer without an articles list",
        "youtube": "127.0.0.1 sent an answer without an items list",
    },
}


def expected(connector: str, failure: str) -> str:
    said = EXPECTED[failure]
    return said if isinstance(said, str) else said.get(connector, NOT_JSON)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    reddit._tokens.clear()
    yield from serve_feeds()


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("connector", CONNECTORS)
def test_a_failure_of_the_source_is_one_recorded_error_and_stores_nothing(
    tmp_path: Path, db_url: str, server: FeedServer, connector: str, failure: str
) -> None:
    name, source, path, env = CONNECTORS[connector](server)
    server.routes[path] = FAILURES[failure]
    ctx = job_context(tmp_path, db_url, brands=brands_with(source))
    ctx.env = env
    report = poll(ctx, name, now=NOW, options=IMPATIENT if failure == "timeout" else OPTIONS)
    assert report.error is not None and expected(connector, failure) in report.error, report.error
    assert report.added == 0
    with ctx.sessions() as session:
        assert session.execute(select(func.count()).select_from(Mention)).scalar_one() == 0
        state = session.get(SourceState, name)
        assert state is not None and state.errors_total == 1 and state.cursor == {}
        assert state.last_error == report.error and state.last_success_at is None
