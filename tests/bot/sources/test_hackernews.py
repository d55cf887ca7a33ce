"""The Hacker News connector against a fake of Algolia's search_by_date on loopback: paging, the created_at_i cursor
with its overlap for late-indexed items, resume after a restart, and the API's failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from storage.models import Mention, SourceState
from tests.support.feeds import FeedServer, Route, serve_feeds
from tests.support.hackernews import PATH, FakeAlgolia, comment, source, story
from tests.support.pipeline import job_context
from tests.support.sources import brands_with, poll

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())


@pytest.fixture
def hn() -> Iterator[tuple[FeedServer, FakeAlgolia, str]]:
    for server in serve_feeds():
        fake = FakeAlgolia()
        yield server, fake, fake.install(server)


def mentions(ctx) -> dict[str, Mention]:  # type: ignore[no-untyped-def]
    with ctx.sessions() as session:
        return {m.external_id: m for m in session.execute(select(Mention)).scalars()}


def test_stories_and_comments_are_paged_stored_and_resumed_from_the_newest_seen(
    tmp_path: Path, db_url: str, hn: tuple[FeedServer, FakeAlgolia, str]
) -> None:
    server, fake, base = hn
    fake.hits = [
        story(1, T - 3600, "Acmephone 5 is out", url="https://acme.example/5", points=120, comments=45),
        comment(2, T - 1800, "I returned my <i>acmephone</i>, the battery&#x27;s dead<p>Never again.", story_id=1),
        story(3, T - 2 * 86400, "Acmephone 4, two days ago"),  # before the first poll's 24 hours
        story(4, T - 600, "Unrelated launch"),
        *[comment(100 + i, T - 4000 + i, f"acmephone thoughts {i}") for i in range(230)],
    ]
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(base)))
    first = poll(ctx, "hn")
    assert (first.error, first.fetched, first.added) == (None, 232, 232)
    pages = [parse_qs(urlsplit(r.path).query) for r in server.requests_to(PATH)]
    assert [p["page"] for p in pages] == [["0"], ["1"], ["2"]]
    assert pages[0]["numericFilters"] == [f"created_at_i>{T - 86400}"] and pages[0]["hitsPerPage"] == ["100"]
    assert pages[0]["tags"] == ["(story,comment)"] and pages[0]["query"] == ["acmephone"]
    stored = mentions(ctx)
    launch, returned = stored["1"], stored["2"]
    assert (launch.source, launch.brand, launch.url, launch.likes, launch.replies) == (
        "hackernews",
        "acme",
        "https://acme.example/5",
        120,
        45,
    )
    assert launch.text == "Acmephone 5 is out" and launch.created_at == NOW - timedelta(hours=1)
    assert returned.text == "I returned my acmephone , the battery's dead Never again."
    assert returned.url == "https://news.ycombinator.com/item?id=2" and returned.author == "user2"
    assert "3" not in stored and "4" not in stored
    with ctx.sessions() as session:
        assert session.get(SourceState, "hn").cursor == {"created_at_i": T - 1800}  # the newest: comment 2

    # Later, in a new process: it resumes from the newest seen, less 10 minutes for items indexed late.
    fake.hits.append(comment(500, T + 300, "acmephone update broke it"))
    fake.hits.append(comment(501, T - 1800 - 60, "acmephone, indexed late"))  # older than the mark, within 10 min
    restarted = job_context(tmp_path, db_url, brands=brands_with(source(base)))
    second = poll(restarted, "hn", now=NOW + timedelta(minutes=10))
    assert server.requests_to(PATH)[-1].path.count(f"created_at_i%3E{T - 1800 - 600}") == 1
    assert second.added == 2 and {"500", "501"} <= set(mentions(ctx))
    assert second.fetched > second.added  # the overlap's items came again and were not stored twice


def test_a_poll_reads_at_most_ten_pages(tmp_path: Path, db_url: str, hn: tuple[FeedServer, FakeAlgolia, str]) -> None:
    server, fake, base = hn
    fake.hits = [comment(i, T - 10 - i, f"acmephone {i}") for i in range(1500)]
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(base)))
    assert poll(ctx, "hn").added == 1000
    assert len(server.requests_to(PATH)) == 10


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        (Route(b'{"message": "Too many requests"}', status=429, headers={"Retry-After": "60"}), "answered 429"),
        (Route(b'{"message": "Internal error"}', status=500), "127.0.0.1 answered HTTP 500"),
        (Route(b"<html>gateway</html>"), "127.0.0.1 did not send JSON"),
        (Route(json.dumps({"message": "ok", "hits": None}).encode()), "127.0.0.1 sent an answer without a hits list"),
        (Route(b"[" * 100_000), "127.0.0.1 did not send JSON"),
    ],
    ids=["429", "5xx", "html", "no-hits", "deep-nesting"],
)
def test_the_apis_failures_are_the_sources_errors(
    tmp_path: Path, db_url: str, hn: tuple[FeedServer, FakeAlgolia, str], route: Route, expected: str
) -> None:
    server, _, base = hn
    server.routes[PATH] = route
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(base)))
    report = poll(ctx, "hn")
    assert report.error is not None and expected in report.error
    with ctx.sessions() as session:
        state = session.get(SourceState, "hn")
        assert state is not None and state.errors_total == 1 and state.cursor == {}
    if "429" in expected:
        assert state.backoff_until == NOW + timedelta(seconds=60)


def test_hits_without_an_id_a_time_or_text_are_skipped(
    tmp_path: Path, db_url: str, hn: tuple[FeedServer, FakeAlgolia, str]
) -> None:
    _, fake, base = hn
    fake.hits = [
        {**comment(1, T - 60, "acmephone"), "objectID": None},
        {**comment(2, T - 60, "acmephone"), "created_at_i": T - 60.5},  # not a whole number of seconds
        {**comment(3, T - 60, "acmephone"), "comment_text": "<p></p>"},  # no text once the HTML is gone
        {"objectID": "4", "created_at_i": T - 60, "_tags": ["story"], "title": "acmephone minimal"},  # keys missing
    ]
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(base, tags="comment")))
    ctx2 = job_context(tmp_path, db_url, brands=brands_with(source(base)))
    assert poll(ctx, "hn").fetched == 0  # tags=comment: the minimal story is not asked for, the comments are unusable
    report = poll(ctx2, "hn", now=NOW + timedelta(minutes=1))
    assert (report.error, report.fetched, report.added) == (None, 1, 1)
    assert mentions(ctx2)["4"].text == "acmephone minimal"


def test_a_brand_that_filters_on_the_language_sees_the_detected_one(
    tmp_path: Path, db_url: str, hn: tuple[FeedServer, FakeAlgolia, str]
) -> None:
    """Hacker News gives no language: an item's is detected before a brand's lang: looks at it."""
    _, fake, base = hn
    fake.hits = [
        comment(1, T - 600, "acmephone è fantastico, lo adoro davvero"),
        comment(2, T - 600, "acmephone is great, I really love it"),
    ]
    brands = "brands:\n  - name: acme-it\n    query: 'acmephone lang:it'\n  - name: globex\n    keywords: [globex]\n"
    ctx = job_context(tmp_path, db_url, brands=brands + "sources:\n" + source(base))
    assert poll(ctx, "hn").added == 1
    [italian] = mentions(ctx).values()
    assert (italian.external_id, italian.brand, italian.language) == ("1", "acme-it", "it")
