"""The YouTube connector against a fake of the Data API v3 on loopback: videos found by a search and their comment
threads (replies included) stored as mentions of the brand the video is about, the newest comment seen per video,
paging, a channel's comments, the quota (spent midway: what was read is kept), refusals in Google's envelope, and the
fake held to the API's discovery document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from analysis.query import parse
from bot.core.history import search_mentions
from bot.core.queries import mention_doc
from bot.sources.youtube import quota_reset
from storage.mention_queries import MentionFilter
from storage.models import Mention, SourceState
from tests.support.feeds import FeedServer, Route, serve_feeds
from tests.support.pipeline import job_context
from tests.support.sources import NOW, brands_with, poll
from tests.support.youtube import SEARCH, THREADS, FakeYouTube, comment, error, source, thread, video

DISCOVERY = (
    Path(__file__).resolve().parents[4]
    / "shared/sources/youtube/google-api-python-client-2.202.0/googleapiclient/discovery_cache/documents/youtube.v3.json"
)
VIDEO_A, VIDEO_B, VIDEO_C = "aaaaaaaaaaa", "bbbbbbbbbbb", "ccccccccccc"


@pytest.fixture
def youtube() -> Iterator[tuple[FeedServer, FakeYouTube, str]]:
    for server in serve_feeds():
        fake = FakeYouTube()
        yield server, fake, fake.install(server)


def context(tmp_path: Path, db_url: str, fake: FakeYouTube, line: str):  # type: ignore[no-untyped-def]
    ctx = job_context(tmp_path, db_url, brands=brands_with(line))
    ctx.env = {"BRANDPULSE_SOURCE_YOUTUBE_KEY": fake.key}
    return ctx


def stored(ctx) -> dict[str, Mention]:  # type: ignore[no-untyped-def]
    with ctx.sessions() as session:
        return {m.external_id: m for m in session.execute(select(Mention)).scalars()}


def review_videos(fake: FakeYouTube) -> None:
    fake.videos = [
        video(VIDEO_A, NOW - timedelta(days=1), "Acmephone 5 review: it's fast", description="Our verdict."),
        video(VIDEO_B, NOW - timedelta(days=10), "Acmephone 4, last year"),  # older than video_days
        video(VIDEO_C, NOW - timedelta(hours=5), "Acmephone unboxing"),
    ]
    fake.threads[VIDEO_A] = [
        thread(
            comment("Ug-1", VIDEO_A, NOW - timedelta(hours=3), "The battery <b>died</b> in a day", likes=41),
            comment("Ug-1.r1", VIDEO_A, NOW - timedelta(hours=2), "Same here", parent="Ug-1"),
        ),
        thread(comment("Ug-2", VIDEO_A, NOW - timedelta(hours=1), "Globex did it better")),
    ]
    fake.comments_off.add(VIDEO_C)


def test_videos_and_their_comments_are_stored_as_mentions_of_the_brand_the_video_is_about(
    tmp_path: Path, db_url: str, youtube: tuple[FeedServer, FakeYouTube, str]
) -> None:
    server, fake, base = youtube
    review_videos(fake)
    ctx = context(tmp_path, db_url, fake, source(base, query="acmephone"))
    first = poll(ctx, "yt")
    assert first.error is None
    mentions = stored(ctx)
    # The video, its two comments and a reply (the video's title names acme); "Globex did it better" is about both.
    with ctx.sessions() as session:
        rows = session.execute(select(Mention.external_id, Mention.brand).order_by(Mention.external_id, Mention.brand))
        assert [tuple(row) for row in rows] == [
            ("Ug-1", "acme"),
            ("Ug-1.r1", "acme"),
            ("Ug-2", "acme"),
            ("Ug-2", "globex"),
            (VIDEO_A, "acme"),
            (VIDEO_C, "acme"),
        ]
    review = mentions[VIDEO_A]
    assert review.text == "Acmephone 5 review: it's fast — Our verdict." and review.author == "Tech Reviews"
    assert review.url == f"https://www.youtube.com/watch?v={VIDEO_A}" and review.source == "youtube"
    died = mentions["Ug-1"]
    assert died.text == "The battery <b>died</b> in a day"  # plainText: as the author wrote it, never HTML-decoded
    assert died.url == f"https://www.youtube.com/watch?v={VIDEO_A}&lc=Ug-1"
    assert (died.likes, died.replies, died.author, died.created_at) == (41, 1, "@viewer", NOW - timedelta(hours=3))
    # The video's title is kept as what the comment answers: searches and query previews read it with the text, keyword
    # alerts do not (a comment does not say what its video's title says).
    assert died.context == "Acmephone 5 review: it's fast" and review.context is None
    acme = parse("acmephone")
    assert acme.matches(mention_doc(died)) and not acme.matches(mention_doc(died, context=False))
    found = search_mentions(ctx.sessions, MentionFilter(brand="acme"), parse("battery acmephone"), limit=10)
    assert [m.external_id for m in found.mentions] == ["Ug-1"]
    asked = [parse_qs(urlsplit(r.path).query) for r in server.requests]
    search = asked[0]
    assert search["q"] == ["acmephone"] and search["type"] == ["video"] and search["order"] == ["date"]
    assert search["publishedAfter"] == [(NOW - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert {q["textFormat"][0] for q in asked[1:]} == {"plainText"} and {q["order"][0] for q in asked[1:]} == {"time"}
    assert fake.spent == 100 + 2  # a search, and a page of threads for each of the two recent videos
    with ctx.sessions() as session:
        state = session.get(SourceState, "yt")
        assert state is not None and state.errors_total == 0
        # The video with comments turned off is no longer followed; the other resumes from its newest comment.
        assert set(state.cursor["videos"]) == {VIDEO_A}
        assert state.cursor["videos"][VIDEO_A]["seen"] == (NOW - timedelta(hours=1)).isoformat()

    fake.threads[VIDEO_A].insert(0, thread(comment("Ug-3", VIDEO_A, NOW + timedelta(minutes=30), "Returned mine")))
    second = poll(ctx, "yt", now=NOW + timedelta(hours=1))
    assert second.error is None and second.added == 1 and stored(ctx)["Ug-3"].brand == "acme"


def test_threads_are_paged_newest_first_down_to_the_newest_comment_seen(
    tmp_path: Path, db_url: str, youtube: tuple[FeedServer, FakeYouTube, str]
) -> None:
    server, fake, base = youtube
    fake.videos = [video(VIDEO_A, NOW - timedelta(days=1), "Acmephone review")]
    fake.threads[VIDEO_A] = [
        thread(comment(f"Ug-{n}", VIDEO_A, NOW - timedelta(minutes=n + 1), f"comment {n}")) for n in range(250)
    ]
    ctx = context(tmp_path, db_url, fake, source(base, query="acmephone"))
    assert poll(ctx, "yt").added == 251
    pages = [parse_qs(urlsplit(r.path).query).get("pageToken") for r in server.requests_to(THREADS)]
    assert pages == [None, ["100"], ["200"]]

    fake.threads[VIDEO_A].append(thread(comment("Ug-new", VIDEO_A, NOW + timedelta(minutes=5), "new one")))
    before = len(server.requests_to(THREADS))
    assert poll(ctx, "yt", now=NOW + timedelta(minutes=10)).added == 1
    assert len(server.requests_to(THREADS)) == before + 1  # the first page reaches what was seen: no more pages


def test_a_channels_comments_go_to_the_one_brand_of_the_source(
    tmp_path: Path, db_url: str, youtube: tuple[FeedServer, FakeYouTube, str]
) -> None:
    server, fake, base = youtube
    channel = "UC" + "x" * 22
    fake.channel_threads = [thread(comment("Ug-c1", VIDEO_A, NOW - timedelta(hours=2), "Love this channel"))]
    ctx = context(tmp_path, db_url, fake, source(base, channel_id=channel, brands="[acme]"))
    report = poll(ctx, "yt")
    assert (report.error, report.added) == (None, 1) and stored(ctx)["Ug-c1"].brand == "acme"
    assert not server.requests_to(SEARCH) and fake.spent == 1
    assert parse_qs(urlsplit(server.requests_to(THREADS)[0].path).query)["allThreadsRelatedToChannelId"] == [channel]


def test_a_quota_spent_midway_keeps_what_was_read_and_waits_for_midnight_pacific(
    tmp_path: Path, db_url: str, youtube: tuple[FeedServer, FakeYouTube, str]
) -> None:
    _, fake, base = youtube
    review_videos(fake)
    fake.comments_off.clear()
    fake.threads[VIDEO_C] = [thread(comment("Ug-c", VIDEO_C, NOW - timedelta(hours=1), "unboxed"))]
    fake.quota = 101  # the search and one page of threads
    ctx = context(tmp_path, db_url, fake, source(base, query="acmephone"))
    report = poll(ctx, "yt")
    assert report.error is None and report.added == 2 + 1  # two videos, and the comments of the newest
    with ctx.sessions() as session:
        state = session.get(SourceState, "yt")
        assert state is not None and state.backoff_until == quota_reset(NOW)
    assert quota_reset(NOW) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # midnight in Los Angeles (PST, UTC-8)

    # A second source on the same project, once the quota is spent: its first request is refused.
    (tmp_path / "later").mkdir()
    spent = context(tmp_path / "later", db_url, fake, source(base, query="acmephone").replace("name: yt", "name: yt2"))
    again = poll(spent, "yt2", now=NOW + timedelta(hours=1))
    assert again.error is not None and "the project's daily quota is spent (quotaExceeded)" in again.error


def test_a_bad_key_is_the_polls_error_in_googles_words_without_the_key(
    tmp_path: Path, db_url: str, youtube: tuple[FeedServer, FakeYouTube, str]
) -> None:
    _, fake, base = youtube
    review_videos(fake)
    ctx = context(tmp_path, db_url, fake, source(base, query="acmephone"))
    ctx.env = {"BRANDPULSE_SOURCE_YOUTUBE_KEY": "AIzaSy-wrong-key-000000000000000"}
    report = poll(ctx, "yt")
    assert report.error == "127.0.0.1 refused the request: API key not valid. Please pass a valid API key. (keyInvalid)"
    assert report.added == 0


def _properties(schemas: dict[str, Any], name: str) -> set[str]:
    return set(schemas[name]["properties"])


def test_the_fake_speaks_the_discovery_document(
    tmp_path: Path, db_url: str, youtube: tuple[FeedServer, FakeYouTube, str]
) -> None:
    server, fake, base = youtube
    review_videos(fake)
    poll(context(tmp_path, db_url, fake, source(base, query="acmephone")), "yt")
    document = json.loads(DISCOVERY.read_text())
    schemas, methods = document["schemas"], document["resources"]
    for path, resource in (
        (SEARCH, "search"),
        (THREADS, "commentThreads"),
    ):
        allowed = set(methods[resource]["methods"]["list"]["parameters"]) | set(document["parameters"])
        for request in server.requests_to(path):
            assert set(parse_qs(urlsplit(request.path).query)) <= allowed
        assert methods[resource]["methods"]["list"]["path"] == "youtube/v3/" + resource
    for found in fake.videos:
        assert set(found) <= _properties(schemas, "SearchResult")
        assert set(found["snippet"]) <= _properties(schemas, "SearchResultSnippet")
    for threads in fake.threads.values():
        for each in threads:
            assert set(each) <= _properties(schemas, "CommentThread")
            assert set(each["snippet"]) <= _properties(schemas, "CommentThreadSnippet")
            for reply in [each["snippet"]["topLevelComment"], *each.get("replies", {}).get("comments", [])]:
                assert set(reply) <= _properties(schemas, "Comment")
                assert set(reply["snippet"]) <= _properties(schemas, "CommentSnippet")
    assert {"items", "nextPageToken", "pageInfo"} <= _properties(schemas, "CommentThreadListResponse")


def test_the_newest_videos_are_followed_and_a_videos_threads_are_read_five_pages_a_poll(
    tmp_path: Path, db_url: str, youtube: tuple[FeedServer, FakeYouTube, str]
) -> None:
    server, fake, base = youtube
    fake.videos = [
        video(VIDEO_A, NOW - timedelta(hours=1), "Acmephone review"),
        video(VIDEO_B, NOW - timedelta(hours=2), "Acmephone unboxing"),
        video(VIDEO_C, NOW - timedelta(hours=3), "Acmephone teardown"),
    ]
    for each in (VIDEO_A, VIDEO_B, VIDEO_C):
        fake.threads[each] = [
            thread(comment(f"{each}-{n}", each, NOW - timedelta(seconds=n + 1), "hi")) for n in range(600)
        ]
    ctx = context(tmp_path, db_url, fake, source(base, query="acmephone", max_videos="2"))
    report = poll(ctx, "yt")
    followed = {parse_qs(urlsplit(r.path).query)["videoId"][0] for r in server.requests_to(THREADS)}
    assert followed == {VIDEO_A, VIDEO_B}  # the two newest (the search asks for no more)
    assert len(server.requests_to(THREADS)) == 2 * 5 and report.added == 2 + 2 * 500

    # A newer video: it and the newest of the others are followed, the oldest no longer.
    video_d = "ddddddddddd"
    fake.videos.append(video(video_d, NOW + timedelta(minutes=1), "Acmephone ad"))
    fake.threads[video_d] = []
    before = len(server.requests_to(THREADS))
    poll(ctx, "yt", now=NOW + timedelta(minutes=5))
    later = {parse_qs(urlsplit(r.path).query)["videoId"][0] for r in server.requests_to(THREADS)[before:]}
    assert later == {video_d, VIDEO_A}
    with ctx.sessions() as session:
        state = session.get(SourceState, "yt")
        assert state is not None and set(state.cursor["videos"]) == {video_d, VIDEO_A}


def test_requests_too_fast_wait_minutes_not_a_day(
    tmp_path: Path, db_url: str, youtube: tuple[FeedServer, FakeYouTube, str]
) -> None:
    server, fake, base = youtube
    review_videos(fake)
    server.routes[THREADS] = Route(
        handler=lambda request: error(403, "rateLimitExceeded", "Rate Limit Exceeded", "youtube.quota")
    )
    ctx = context(tmp_path, db_url, fake, source(base, query="acmephone"))
    report = poll(ctx, "yt")
    assert report.error is None and report.added == 2  # the videos the search found
    with ctx.sessions() as session:
        state = session.get(SourceState, "yt")
        assert state is not None and state.backoff_until == NOW + timedelta(minutes=5)
