"""The Mastodon connector against a fake instance built from the documentation: a hashtag timeline read forward
from the newest status seen (min_id, then Link rel="prev"), no gap and no duplicate across polls and restarts,
rate-limit headers, feeds that need a token or are disabled, and search with a token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from bot.config.brands import load_brands
from bot.errors import ConfigError
from storage.models import Mention, SourceState
from tests.support.feeds import FeedServer, serve_feeds
from tests.support.mastodon import TIMELINE, FakeMastodon, hashtag_source
from tests.support.pipeline import job_context, write_brands
from tests.support.sources import brands_with, poll

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    yield from serve_feeds()


def stored(ctx) -> dict[str, Mention]:  # type: ignore[no-untyped-def]
    with ctx.sessions() as session:
        return {m.external_id: m for m in session.execute(select(Mention)).scalars()}


def test_a_hashtag_timeline_is_read_forward_without_gap_or_duplicate(
    tmp_path: Path, db_url: str, server: FeedServer
) -> None:
    fake = FakeMastodon()
    for n in range(1, 61):
        fake.post(1000 + n, NOW - timedelta(minutes=120 - n), f"acmephone post {n}")
    fake.post(2000, NOW - timedelta(minutes=1), "boosted acmephone", boost=True)
    url = fake.install(server)
    ctx = job_context(tmp_path, db_url, brands=brands_with(hashtag_source(url)))

    first = poll(ctx, "masto")  # the newest page only: 40 statuses, the boost not among the mentions
    assert (first.error, first.fetched, first.added) == (None, 39, 39)
    with ctx.sessions() as session:
        assert session.get(SourceState, "masto").cursor == {"since_id": "2000"}
    newest = stored(ctx)["https://social.example/users/u7/statuses/1060"]
    assert newest.text == "acmephone post 60" and newest.language == "en" and newest.brand == "acme"
    assert newest.language_confidence is None  # Mastodon gave the language: nothing was detected
    assert (newest.source, newest.author, newest.author_followers) == ("mastodon", "u7@social.example", 1060)
    assert (newest.likes, newest.reposts, newest.replies) == (11, 6, 5)  # the documented example's counts
    assert newest.url == "https://social.example/@u7/1060"

    # 95 new posts arrive; a new process reads them forward, three pages, from the id it stored.
    for n in range(95):
        fake.post(3000 + n, NOW + timedelta(seconds=n), f"acmephone news {n}")
    restarted = job_context(tmp_path, db_url, brands=brands_with(hashtag_source(url)))
    second = poll(restarted, "masto", now=NOW + timedelta(minutes=5))
    assert (second.fetched, second.added) == (95, 95)
    asked = [parse_qs(urlsplit(r.path).query) for r in server.requests_to(TIMELINE)][1:]
    assert asked[0]["min_id"] == ["2000"] and [a.get("min_id") for a in asked[1:]] == [["3039"], ["3079"], ["3094"]]
    assert poll(restarted, "masto", now=NOW + timedelta(minutes=10)).fetched == 0
    texts = [m.text for m in stored(ctx).values()]
    assert len(texts) == len(set(texts)) == 39 + 95


def test_rate_limit_headers_and_429_keep_the_source_quiet_until_the_reset(
    tmp_path: Path, db_url: str, server: FeedServer
) -> None:
    fake = FakeMastodon(rate_limit=2, reset_at=NOW + timedelta(minutes=4))
    fake.post(1, NOW - timedelta(minutes=5), "acmephone one")
    url = fake.install(server)
    ctx = job_context(tmp_path, db_url, brands=brands_with(hashtag_source(url)))
    assert poll(ctx, "masto").added == 1
    fake.post(2, NOW, "acmephone two")
    # The second request uses the window's last one: the answer says so, and the source waits for the reset.
    assert poll(ctx, "masto", now=NOW + timedelta(minutes=1)).added == 1
    with ctx.sessions() as session:
        assert session.get(SourceState, "masto").backoff_until == NOW + timedelta(minutes=4)
    skipped = poll(ctx, "masto", now=NOW + timedelta(minutes=2))
    assert skipped.skipped is not None and len(server.requests_to(TIMELINE)) == 2
    # A 429 all the same (another client used the window): its X-RateLimit-Reset sets the wait.
    limited = poll(ctx, "masto", now=NOW + timedelta(minutes=4, seconds=1))
    assert limited.error is not None and "429" in limited.error
    with ctx.sessions() as session:
        assert session.get(SourceState, "masto").backoff_until == NOW + timedelta(minutes=4, seconds=1)


def test_a_feed_that_needs_a_token_and_one_that_is_disabled(tmp_path: Path, db_url: str, server: FeedServer) -> None:
    fake = FakeMastodon(access="authenticated")
    fake.post(1, NOW, "acmephone")
    url = fake.install(server)
    anonymous = job_context(tmp_path, db_url, brands=brands_with(hashtag_source(url)))
    assert poll(anonymous, "masto").error == "127.0.0.1 answered HTTP 401"
    ctx = job_context(
        tmp_path, db_url, brands=brands_with(hashtag_source(url, token="${BRANDPULSE_SOURCE_MASTODON_TOKEN}"))
    )
    ctx.env = {"BRANDPULSE_SOURCE_MASTODON_TOKEN": fake.token}
    assert poll(ctx, "masto", now=NOW + timedelta(minutes=1)).added == 1
    fake.access = "disabled"  # 4.5.0+: a disabled feed is an empty list, not an error
    fake.post(2, NOW, "acmephone again")
    report = poll(ctx, "masto", now=NOW + timedelta(minutes=2))
    assert (report.error, report.fetched) == (None, 0)


def test_search_with_a_token_finds_posts_by_their_text(tmp_path: Path, db_url: str, server: FeedServer) -> None:
    fake = FakeMastodon()
    fake.post(1, NOW - timedelta(minutes=3), "my acmephone screen cracked", tags=("phones",))
    fake.post(2, NOW - timedelta(minutes=2), "nothing to see", tags=("phones",))
    url = fake.install(server)
    search = f"  - {{name: masto, type: mastodon, instance: '{url}', query: acmephone, token: '${{BRANDPULSE_SOURCE_MASTODON_TOKEN}}'}}\n"
    ctx = job_context(tmp_path, db_url, brands=brands_with(search))
    ctx.env = {"BRANDPULSE_SOURCE_MASTODON_TOKEN": "wrong"}
    assert poll(ctx, "masto").error == "127.0.0.1 answered HTTP 401"
    ctx.env = {"BRANDPULSE_SOURCE_MASTODON_TOKEN": fake.token}
    report = poll(ctx, "masto", now=NOW + timedelta(minutes=1))
    assert (report.error, report.added) == (None, 1)
    assert [m.text for m in stored(ctx).values()] == ["my acmephone screen cracked"]


def test_a_next_page_on_another_host_is_refused(tmp_path: Path, db_url: str, server: FeedServer) -> None:
    fake = FakeMastodon(link_host="http://169.254.169.254")
    fake.post(1, NOW, "acmephone")
    url = fake.install(server)
    ctx = job_context(tmp_path, db_url, brands=brands_with(hashtag_source(url)))
    with ctx.sessions.begin() as session:
        session.add(
            SourceState(
                name="masto", type="mastodon", cursor={"since_id": "0"}, polls_total=0, errors_total=0, added_total=0
            )
        )
    report = poll(ctx, "masto")
    assert report.error == "127.0.0.1 sent a next page on another host (169.254.169.254)"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("instance: 'https://m.example', query: acme", "a Mastodon search needs a token"),
        (
            "instance: 'https://m.example', hashtag: acme, query: acme, token: '${BRANDPULSE_SOURCE_T}'",
            "give either hashtag",
        ),
        ("instance: 'https://m.example', hashtag: acme, token: 'abc123'", "write the credential as a ${VARIABLE}"),
        ("instance: 'https://m.example', hashtag: '#acme'", "hashtag: expected a hashtag without its '#'"),
    ],
)
def test_mastodon_settings_are_checked_at_load(tmp_path: Path, source: str, expected: str) -> None:
    text = brands_with(f"  - {{name: masto, type: mastodon, {source}}}\n")
    with pytest.raises(ConfigError) as error:
        load_brands(write_brands(tmp_path, text))
    assert expected in str(error.value)
