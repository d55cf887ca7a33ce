"""The Reddit connector against a fake built from Reddit's code and a recorded search (31 real posts): app-only
OAuth, paging back with ``after`` to the newest post seen, a revoked token replaced once, rate-limit headers, and
credentials that never reach the database or the log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from bot.sources import reddit
from storage.models import Mention, SourcePoll, SourceState
from tests.support.feeds import FeedServer, serve_feeds
from tests.support.pipeline import job_context
from tests.support.reddit import UA, FakeReddit, source
from tests.support.sources import brands_with, poll

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    # Tokens are kept per process, by token URL: a fake on a port an earlier test's fake had would otherwise be sent
    # that fake's token first (a 401, then a fresh token), and the requests a test counts would include it.
    reddit._tokens.clear()
    yield from serve_feeds()


def test_posts_are_fetched_with_an_app_token_and_resumed_from_the_newest_seen(
    tmp_path: Path, db_url: str, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeReddit()
    fake.load_recorded(newest=NOW - timedelta(minutes=1))
    matching = [p for p in fake.posts if "praw" in f"{p['title']} {p['selftext']}".lower()]
    url = fake.install(server)
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(url)))
    ctx.env = {"BRANDPULSE_SOURCE_REDDIT_SECRET": fake.client_secret}
    caplog.set_level("DEBUG")
    first = poll(ctx, "red")
    assert (first.error, first.fetched, first.added) == (None, len(matching), len(matching))
    assert len(matching) >= 20
    searches = server.requests_to("/search")
    query = parse_qs(urlsplit(searches[0].path).query)
    assert query["sort"] == ["new"] and query["limit"] == ["100"] and query["raw_json"] == ["1"]
    assert searches[0].headers["user-agent"] == UA and searches[0].headers["authorization"] == "bearer token-1"
    with ctx.sessions() as session:
        newest = session.execute(select(Mention).order_by(Mention.created_at.desc())).scalars().first()
        assert newest is not None and newest.source == "reddit" and newest.external_id.startswith("t3_")
        assert newest.url is not None and newest.url.startswith("https://www.reddit.com/r/")
        assert newest.likes == matching[0]["score"] and newest.replies == matching[0]["num_comments"]
        state = session.get(SourceState, "red")
        assert state is not None and state.cursor == {"created_utc": (NOW - timedelta(minutes=1)).timestamp()}

    # Two new posts; the token is revoked meanwhile: one fresh token, and only the new posts are read.
    for i in (1, 2):
        post = dict(matching[0], name=f"t3_new{i}", id=f"new{i}", created_utc=(NOW + timedelta(minutes=i)).timestamp())
        fake.posts.append(post)
    fake.revoked.add("token-1")
    second = poll(ctx, "red", now=NOW + timedelta(minutes=5))
    assert (second.error, second.added) == (None, 2)
    assert fake.tokens_issued == ["token-1", "token-2"]
    secrets = (fake.client_secret, "token-1", "token-2")
    assert not any(s in r.getMessage() for r in caplog.records for s in secrets)
    with ctx.sessions() as session:
        stored = [str(s.cursor) for s in session.execute(select(SourceState)).scalars()]
        stored += [str(p.error) for p in session.execute(select(SourcePoll)).scalars()]
    assert not any(s in text for text in stored for s in secrets)


def test_a_deep_backlog_pages_with_after_up_to_ten_pages(tmp_path: Path, db_url: str, server: FeedServer) -> None:
    fake = FakeReddit()
    fake.load_recorded(newest=NOW)
    base = fake.posts[0]
    fake.posts = [
        dict(
            base,
            name=f"t3_b{i}",
            id=f"b{i}",
            title=f"praw backlog {i}",
            created_utc=(NOW - timedelta(seconds=i)).timestamp(),
        )
        for i in range(1200)
    ]
    url = fake.install(server)
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(url)))
    ctx.env = {"BRANDPULSE_SOURCE_REDDIT_SECRET": fake.client_secret}
    assert poll(ctx, "red").added == 1000
    afters = [parse_qs(urlsplit(r.path).query).get("after") for r in server.requests_to("/search")]
    assert afters[0] is None and afters[1:] == [[f"t3_b{99 + 100 * k}"] for k in range(9)]


def test_wrong_credentials_limits_and_a_subreddit(tmp_path: Path, db_url: str, server: FeedServer) -> None:
    fake = FakeReddit(remaining=2.0, reset_seconds=90)
    fake.load_recorded(newest=NOW - timedelta(minutes=1))
    url = fake.install(server)
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(url, extra=", subreddit: redditdev")))
    ctx.env = {"BRANDPULSE_SOURCE_REDDIT_SECRET": "wrong"}
    refused = poll(ctx, "red")
    assert refused.error == "127.0.0.1 refused the client id or secret (127.0.0.1 answered HTTP 401)"
    ctx.env = {"BRANDPULSE_SOURCE_REDDIT_SECRET": fake.client_secret}
    report = poll(ctx, "red", now=NOW + timedelta(minutes=1))
    assert report.error is None and report.added > 0
    with ctx.sessions() as session:
        assert {m.url.split("/")[4] for m in session.execute(select(Mention)).scalars() if m.url} == {"redditdev"}
    assert "restrict_sr=1" in server.requests_to("/r/redditdev/search")[0].path
    # That request left 1.0 of the window: the next one uses it up, and the source waits for the reset.
    poll(ctx, "red", now=NOW + timedelta(minutes=2))
    with ctx.sessions() as session:
        state = session.get(SourceState, "red")
        assert state is not None and state.backoff_until == NOW + timedelta(minutes=2, seconds=90)
