"""The Bluesky search connector against a fake PDS built from the lexicons and a recorded postView: a session from
an app password, an expired access token refreshed, a refused refresh answered with a new session, cursor paging,
and resuming from the newest post seen."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from storage.models import Mention, SourceState
from tests.support.bluesky import SEARCH, FakeBluesky, source
from tests.support.feeds import FeedServer, serve_feeds
from tests.support.pipeline import job_context
from tests.support.sources import brands_with, poll

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    yield from serve_feeds()


def test_search_signs_in_pages_refreshes_and_resumes(tmp_path: Path, db_url: str, server: FeedServer) -> None:
    fake = FakeBluesky()
    for i in range(150):
        fake.post(f"3k{i:04d}", NOW - timedelta(minutes=200 - i), f"my acmephone, day {i}", likes=i)
    fake.post("3kold", NOW - timedelta(days=3), "acmephone long ago")
    url = fake.install(server)
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(url)))
    ctx.env = {"BRANDPULSE_SOURCE_BSKY_APP_PASSWORD": fake.password}
    first = poll(ctx, "sky")
    assert (first.error, first.fetched, first.added) == (None, 150, 150)
    asked = [parse_qs(urlsplit(r.path).query) for r in server.requests_to(SEARCH)]
    assert [a.get("cursor") for a in asked] == [None, ["100"]] and asked[0]["sort"] == ["latest"]
    assert asked[0]["since"] == [(NOW - timedelta(hours=24)).isoformat().replace("+00:00", "Z")]
    with ctx.sessions() as session:
        newest = session.execute(select(Mention).where(Mention.text == "my acmephone, day 149")).scalar_one()
        assert (newest.source, newest.brand, newest.likes, newest.reposts, newest.replies) == (
            "bluesky",
            "acme",
            149,
            1,
            2,
        )
        assert newest.author == "test.marshal.dev" and newest.language == "en"
        assert newest.url == "https://bsky.app/profile/test.marshal.dev/post/3k0149"
        state = session.get(SourceState, "sky")
        assert state is not None and state.cursor == {"created_at": (NOW - timedelta(minutes=51)).isoformat()}

    # The access token expires: refreshed once, and the poll asks only since the newest post seen, less 10 minutes.
    fake.expired.add("access-1")
    fake.post("3knew", NOW + timedelta(minutes=1), "acmephone update")
    second = poll(ctx, "sky", now=NOW + timedelta(minutes=5))
    assert (second.error, second.added) == (None, 1) and (fake.sessions_created, fake.refreshed) == (1, 1)
    assert parse_qs(urlsplit(server.requests_to(SEARCH)[-1].path).query)["since"] == [
        (NOW - timedelta(minutes=61)).isoformat().replace("+00:00", "Z")
    ]


def test_a_refused_refresh_opens_a_new_session_and_a_wrong_password_is_the_error(
    tmp_path: Path, db_url: str, server: FeedServer
) -> None:
    fake = FakeBluesky()
    fake.post("3k1", NOW - timedelta(minutes=5), "acmephone")
    url = fake.install(server)
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(url, handle="other.example.com")))
    ctx.env = {"BRANDPULSE_SOURCE_BSKY_APP_PASSWORD": fake.password}
    assert poll(ctx, "sky").error == "127.0.0.1 refused the handle or app password (127.0.0.1 answered HTTP 401)"
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(url)))
    ctx.env = {"BRANDPULSE_SOURCE_BSKY_APP_PASSWORD": fake.password}
    assert poll(ctx, "sky").added == 1
    fake.expired.add("access-1")
    fake._issued.clear()  # the refresh token is no longer valid either (and the old access token is gone)
    fake._issued["refresh-x"] = "access-1"
    fake.post("3k2", NOW, "acmephone two")
    report = poll(ctx, "sky", now=NOW + timedelta(minutes=1))
    assert (report.error, report.added, fake.sessions_created) == (None, 1, 2)


def test_an_exhausted_rate_limit_waits_for_its_reset(tmp_path: Path, db_url: str, server: FeedServer) -> None:
    fake = FakeBluesky(remaining=1, reset_at=int((NOW + timedelta(minutes=3)).timestamp()))
    fake.post("3k1", NOW - timedelta(minutes=5), "acmephone")
    url = fake.install(server)
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(url)))
    ctx.env = {"BRANDPULSE_SOURCE_BSKY_APP_PASSWORD": fake.password}
    assert poll(ctx, "sky").added == 1
    with ctx.sessions() as session:
        state = session.get(SourceState, "sky")
        assert state is not None and state.backoff_until == NOW + timedelta(minutes=3)
