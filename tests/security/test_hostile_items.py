"""One post cannot blind a source (issue 28, class 2). Anyone writes their post's date, size and shape; each connector
meets hostile items among good ones in its own fake (built from the source's published schema), on SQLite and
PostgreSQL: the hostile item is rejected with why (in the poll's record, the source's state and `sources list`), the
good ones around it are stored, the poll succeeds, and the source's cursor moves no further than its clock, so that
the next poll finds the next good post."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.sources import reddit as reddit_connector
from bot.sources.gdelt import SEEN_FORMAT
from storage.models import SourceState
from tests.support import bluesky as bluesky_support
from tests.support import gdelt as gdelt_support
from tests.support import hackernews as hackernews_support
from tests.support import mastodon as mastodon_support
from tests.support import reddit as reddit_support
from tests.support import youtube as youtube_support
from tests.support.bluesky import FakeBluesky
from tests.support.feeds import FeedServer, Route, serve_feeds
from tests.support.gdelt import FakeGdelt, article
from tests.support.hackernews import FakeAlgolia, comment
from tests.support.hostile import (
    LATEST,
    NOW,
    assert_rejected_each,
    assert_rejected_once,
    polls,
    set_field,
    state,
    stored,
    whole,
)
from tests.support.mastodon import FakeMastodon
from tests.support.pipeline import dispose_engines, job_context
from tests.support.rawjson import Raw
from tests.support.reddit import FakeReddit, recorded_posts
from tests.support.sources import brands_with, poll
from tests.support.youtube import FakeYouTube
from tests.support.youtube import comment as yt_comment
from tests.support.youtube import thread as yt_thread

LATER = NOW + timedelta(minutes=30)
DEEP = Raw("[" * 5000 + "]" * 5000)  # past what json.loads can follow: the whole page was "not JSON"
LONG_TEXT = "acmephone " + "a" * 40_000


@pytest.fixture(autouse=True)
def _dispose_job_context_engines() -> Iterator[None]:
    yield
    dispose_engines()


# The connectors that search (each poll resumes from the newest time or id seen) -----------------------------------


@dataclass
class Searched:
    """A search connector and its fake: good posts are added as the source would serve them, hostile items sent as
    they are, first on the first page."""

    name: str
    source: str
    env: dict[str, str]
    add: Callable[[int, datetime], None]  # a good post, numbered, at a time
    hostile: list[Any]
    template: Callable[[], dict[str, Any]]  # a good item as the source sends it, to make hostile ones from
    cursor_time: Callable[[dict[str, Any]], datetime | None]  # the time a stored cursor stands for, if any


def secret(source: str, value: str) -> dict[str, str]:
    """The environment that gives the one ``${VARIABLE}`` a source's line refers to."""
    found = re.search(r"\$\{(\w+)\}", source)
    assert found is not None
    return {found.group(1): value}


def bluesky(server: FeedServer) -> Searched:
    fake = FakeBluesky()
    url = fake.install(server)

    numbers = iter(range(1000))

    def template() -> dict[str, Any]:
        post = fake.post(f"3khostile{next(numbers)}", NOW - timedelta(minutes=30), "acmephone hostile")
        fake.posts.remove(post)
        return post

    return Searched(
        name="sky",
        source=bluesky_support.source(url),
        env=secret(bluesky_support.source(url), fake.password),
        add=lambda n, at: fake.post(f"3kgood{n}", at, f"acmephone good {n}") and None,
        hostile=fake.hostile,
        template=template,
        cursor_time=lambda c: datetime.fromisoformat(c["created_at"]) if "created_at" in c else None,
    )


def mastodon(server: FeedServer) -> Searched:
    fake = FakeMastodon()
    numbers = iter(range(10**15, 10**16))

    def template() -> dict[str, Any]:
        fake.post(next(numbers), NOW - timedelta(minutes=30), "acmephone hostile")
        return fake.statuses.pop()

    url = fake.install(server)
    return Searched(
        name="masto",
        source=mastodon_support.hashtag_source(url),
        env={},
        add=lambda n, at: fake.post(next(numbers), at, f"acmephone good {n}"),
        hostile=fake.hostile,
        template=template,
        cursor_time=lambda c: None,  # ids, the server's
    )


def reddit(server: FeedServer) -> Searched:
    fake = FakeReddit()
    base = recorded_posts()[0]

    def post(n: int | str, at: datetime, text: str) -> dict[str, Any]:
        made = {**copy.deepcopy(base), "name": f"t3_{n}", "title": text, "selftext": "", "created_utc": at.timestamp()}
        made["created"] = made["created_utc"]
        return made

    url = fake.install(server)
    reddit_connector._tokens.clear()
    numbers = iter(range(1000))
    return Searched(
        name="red",
        source=reddit_support.source(url, query="acmephone"),
        env=secret(reddit_support.source(url, query="acmephone"), fake.client_secret),
        add=lambda n, at: fake.posts.append(post(n, at, f"acmephone good {n}")),
        hostile=fake.hostile,
        template=lambda: {
            "kind": "t3",
            "data": post(f"hostile{next(numbers)}", NOW - timedelta(minutes=30), "acmephone hostile"),
        },
        cursor_time=lambda c: datetime.fromtimestamp(c["created_utc"], UTC) if "created_utc" in c else None,
    )


def hackernews(server: FeedServer) -> Searched:
    fake = FakeAlgolia()
    url = fake.install(server)
    numbers = iter(range(1000))
    return Searched(
        name="hn",
        source=hackernews_support.source(url),
        env={},
        add=lambda n, at: fake.hits.append(comment(100 + n, int(at.timestamp()), f"acmephone good {n}")),
        hostile=fake.hostile,
        template=lambda: comment(
            10_000 + next(numbers), int((NOW - timedelta(minutes=30)).timestamp()), "acmephone hostile"
        ),
        cursor_time=lambda c: datetime.fromtimestamp(c["created_at_i"], UTC) if "created_at_i" in c else None,
    )


def gdelt(server: FeedServer) -> Searched:
    fake = FakeGdelt()
    url = fake.install(server)
    numbers = iter(range(1000))
    return Searched(
        name="news",
        source=gdelt_support.source(url),
        env={},
        add=lambda n, at: fake.articles.append(article(100 + n, at, f"acmephone good {n}")),
        hostile=fake.hostile,
        template=lambda: article(10_000 + next(numbers), NOW - timedelta(minutes=30), "acmephone hostile"),
        cursor_time=lambda c: datetime.strptime(c["seendate"], SEEN_FORMAT).replace(tzinfo=UTC) if c else None,
    )


def youtube(server: FeedServer) -> Searched:
    """A channel's comments (a search would store its videos too)."""
    fake = FakeYouTube()
    url = fake.install(server)
    line = youtube_support.source(url, channel_id="UC" + "x" * 22)
    numbers = iter(range(1000))

    def good(n: int, at: datetime) -> None:
        fake.channel_threads.append(yt_thread(yt_comment(f"Ug-good{n}", "aaaaaaaaaaa", at, f"acmephone good {n}")))

    return Searched(
        name="yt",
        source=line,
        env=secret(line, fake.key),
        add=good,
        hostile=fake.hostile,
        template=lambda: yt_thread(
            yt_comment(f"Ug-hostile{next(numbers)}", "aaaaaaaaaaa", NOW - timedelta(minutes=30), "acmephone hostile")
        ),
        cursor_time=lambda c: datetime.fromisoformat(c["channel_seen"]) if "channel_seen" in c else None,
    )


SEARCHED: dict[str, Callable[[FeedServer], Searched]] = {
    "bluesky": bluesky,
    "mastodon": mastodon,
    "reddit": reddit,
    "hackernews": hackernews,
    "gdelt": gdelt,
    "youtube": youtube,
}


# Per connector: (where its id, time and text are, and whether its time is ISO 8601 or Unix seconds).
FIELDS = {
    "bluesky": ("uri", "record.createdAt", "record.text", "iso"),
    "mastodon": ("uri", "created_at", "content", "iso"),
    "reddit": ("data.name", "data.created_utc", "data.title", "epoch"),
    "hackernews": ("objectID", "created_at_i", "comment_text", "epoch"),
    "gdelt": ("url", "seendate", "title", "gdelt"),
    "youtube": (
        "snippet.topLevelComment.id",
        "snippet.topLevelComment.snippet.publishedAt",
        "snippet.topLevelComment.snippet.textDisplay",
        "iso",
    ),
}


def variants(connector: str) -> dict[str, tuple[Callable[[dict[str, Any]], Any], str]]:
    """Hostile items of every kind for a connector: how each is made from the template, and what the rejection says."""
    id_at, time_at, text_at, kind = FIELDS[connector]
    name = id_at.split(".")[-1]
    when = time_at.split(".")[-1]
    text = text_at.split(".")[-1]
    made: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
        "null item": (whole(None), "None, not an object"),
        "a string for an item": (whole("acmephone"), "'acmephone', not an object"),
        "no id": (set_field(id_at, None), f"{name} is None"),
        "a number for the id": (set_field(id_at, 42), f"{name} is 42"),
        "an object for the text": (set_field(text_at, {"acmephone": 1}), f"{text} is a JSON object, not a string"),
        "nested 5,000 levels": (set_field(text_at, DEEP), "nested over 512 levels"),
        "a text of 40,010 characters": (
            set_field(text_at, LONG_TEXT),
            "text of 40,010 characters, over the 40,000 limit",
        ),
    }
    if connector == "reddit":
        made["null data"] = (set_field("data", None), "None, not an object")
    if kind == "gdelt":
        made |= {
            "dated 2999": (set_field(time_at, "29990101T000000Z"), LATEST),
            "dated 1969": (set_field(time_at, "19690720T201700Z"), "is before 1990-01-01"),
            "dated with a number": (set_field(time_at, 1700000000), f"{when} is 1700000000, not a time"),
            "dated with words": (set_field(time_at, "yesterday"), f"{when} is 'yesterday', not a time"),
            "dated in no calendar": (set_field(time_at, "20261331T250000Z"), f"{when} is '20261331T250000Z', not a"),
        }
    elif kind == "iso":
        made |= {
            "dated 2999": (set_field(time_at, "2999-01-01T00:00:00Z"), LATEST),
            "dated 9999 at -23:59": (
                set_field(time_at, "9999-12-31T23:59:59-23:59"),
                "has no UTC time a mention can have",
            ),
            "dated 1969": (set_field(time_at, "1969-07-20T20:17:00Z"), "is before 1990-01-01"),
            "dated with a number": (set_field(time_at, 1700000000), f"{when} is 1700000000, not an ISO 8601 time"),
            "dated with words": (set_field(time_at, "yesterday"), f"{when} is 'yesterday', not an ISO 8601 time"),
        }
    else:
        made |= {
            "dated 2999": (set_field(time_at, int(datetime(2999, 1, 1, tzinfo=UTC).timestamp())), LATEST),
            "dated NaN": (set_field(time_at, float("nan")), f"{when} is nan"),
            "dated 10**20": (set_field(time_at, 10**20), f"{when} is 100000000000000000000, not a time"),
            "dated 1e300": (set_field(time_at, 1e300), f"{when} is 1e+300, not a time"),
            "dated with a 5,000-digit number": (set_field(time_at, Raw("7" * 5000)), "a number too long to read"),
            "dated with a string": (set_field(time_at, "1700000000"), f"{when} is '1700000000', not a time"),
            "dated 1969": (set_field(time_at, -14182940), "is before 1990-01-01"),
        }
    return made


@pytest.fixture
def server() -> Iterator[FeedServer]:
    yield from serve_feeds()


@pytest.mark.parametrize("connector", SEARCHED)
def test_hostile_items_cost_only_themselves_and_the_next_post_is_found(
    tmp_path: Path, db_url: str, server: FeedServer, connector: str
) -> None:
    """Every kind of hostile item the connector can meet, on the page of a search among good posts: each is one
    rejection that says why, the good posts are stored, and a post made after them is found by the next poll."""
    searched = SEARCHED[connector](server)
    made = variants(connector)
    searched.add(1, NOW - timedelta(minutes=40))
    searched.add(2, NOW - timedelta(minutes=20))
    for make, _ in made.values():
        searched.hostile.append(make(searched.template()))
    ctx = job_context(tmp_path, db_url, brands=brands_with(searched.source))
    ctx.env = searched.env

    report = poll(ctx, searched.name, now=NOW)
    assert_rejected_each(ctx, searched.name, report, {variant: reason for variant, (_, reason) in made.items()})
    assert stored(ctx) == {"acmephone good 1", "acmephone good 2"}
    mark = searched.cursor_time(state(ctx, searched.name).cursor)
    assert mark is None or mark <= NOW

    searched.add(3, LATER - timedelta(minutes=5))  # posted after the hostile items: found all the same
    again = poll(ctx, searched.name, now=LATER)
    assert again.error is None and again.rejected.count <= len(made)
    assert stored(ctx) == {"acmephone good 1", "acmephone good 2", "acmephone good 3"}


def test_a_bluesky_search_result_dated_2999_does_not_move_the_search_cursor(
    tmp_path: Path, db_url: str, server: FeedServer
) -> None:
    """The issue's example: the AppView finds the post by its own time (indexedAt); its author dated it 2999."""
    fake = FakeBluesky()
    url = fake.install(server)
    fake.post("3kgood1", NOW - timedelta(minutes=20), "acmephone good 1")
    fake.post(
        "3kfuture", datetime(2999, 1, 1, tzinfo=UTC), "acmephone from 2999", indexed_at=NOW - timedelta(minutes=5)
    )
    ctx = job_context(tmp_path, db_url, brands=brands_with(bluesky_support.source(url)))
    ctx.env = secret(bluesky_support.source(url), fake.password)
    report = poll(ctx, "sky", now=NOW)
    assert_rejected_once(ctx, "sky", report, "time: 2999-01-01T00:00:00+00:00 is after 2026-11-30T12:10:00+00:00")
    assert str(report.rejected.first[0].external_id).endswith("/app.bsky.feed.post/3kfuture")
    assert state(ctx, "sky").cursor == {"created_at": (NOW - timedelta(minutes=20)).isoformat()}
    fake.post("3kgood2", LATER - timedelta(minutes=5), "acmephone good 2")
    assert poll(ctx, "sky", now=LATER).added == 1
    assert stored(ctx) == {"acmephone good 1", "acmephone good 2"}


@pytest.mark.parametrize(
    ("connector", "cursor", "since"),
    [
        ("bluesky", {"created_at": "2999-01-01T00:00:00+00:00"}, "since"),
        ("reddit", {"created_utc": 32503680000.0}, None),
        ("hackernews", {"created_at_i": 32503680000}, "numericFilters"),
        ("gdelt", {"seendate": "29990101T000000Z"}, "startdatetime"),
    ],
)
def test_a_cursor_stored_past_the_clock_before_this_fix_is_forgotten(
    tmp_path: Path, db_url: str, server: FeedServer, connector: str, cursor: dict[str, Any], since: str | None
) -> None:
    """A source blinded by a future-dated post before the fix sees again: its mark past the clock is read as none."""
    searched = SEARCHED[connector](server)
    searched.add(1, NOW - timedelta(minutes=20))
    ctx = job_context(tmp_path, db_url, brands=brands_with(searched.source))
    ctx.env = searched.env
    with ctx.sessions.begin() as session:
        session.add(SourceState(name=searched.name, type=connector, cursor=cursor))
    report = poll(ctx, searched.name, now=NOW)
    assert (report.error, report.added) == (None, 1)
    mark = searched.cursor_time(state(ctx, searched.name).cursor)
    assert mark is not None and mark <= NOW


# Jetstream: the firehose, one event a frame ------------------------------------------------------------------------

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>News</title><link>https://news.example/</link>
<item><title>Acmephone good 1</title><link>https://news.example/1</link><pubDate>Mon, 30 Nov 2026 09:00:00 GMT</pubDate></item>
<item><title>Acmephone hostile</title><link>https://news.example/h</link><pubDate>PUBDATE</pubDate></item>
<item><title>Acmephone good 2</title><link>https://news.example/2</link><pubDate>Mon, 30 Nov 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"""


@pytest.mark.parametrize(
    ("pubdate", "reason"),
    [
        ("Fri, 31 Dec 2999 23:59:59 GMT", "is after 2026-11-30T12:10:00+00:00"),
        ("Fri, 31 Dec 9999 23:59:59 GMT", "is after 2026-11-30T12:10:00+00:00"),
        ("9999-12-31T23:59:59-23:59", "published 10000-01-01T23:58 UTC is in no calendar a mention can have"),
        ("Mon, 01 Jan 1900 00:00:00 GMT", "is before 1990-01-01"),
    ],
)
def test_a_feed_entry_dated_out_of_range_costs_only_itself(
    tmp_path: Path, db_url: str, server: FeedServer, pubdate: str, reason: str
) -> None:
    server.routes["/news.xml"] = Route(FEED.replace("PUBDATE", pubdate).encode())
    ctx = job_context(
        tmp_path, db_url, brands=brands_with(f"  - {{name: news, type: feed, url: '{server.url}/news.xml'}}\n")
    )
    report = poll(ctx, "news", now=NOW)
    assert_rejected_once(ctx, "news", report, reason)
    assert str(report.rejected.first[0]).startswith("https://news.example/h: time: ")
    assert stored(ctx) == {"Acmephone good 1", "Acmephone good 2"}


# What the database itself refuses --------------------------------------------------------------------------------

_REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse_globex BEFORE INSERT ON mentions WHEN NEW.text LIKE '%Globex%' "
        "BEGIN SELECT RAISE(ABORT, 'no globex here'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_globex() RETURNS trigger AS $$ BEGIN IF NEW.text LIKE '%Globex%' THEN "
        "RAISE EXCEPTION 'no globex here' USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$ "
        "LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_globex BEFORE INSERT ON mentions FOR EACH ROW EXECUTE FUNCTION refuse_globex()",
    ],
}


def test_a_mention_the_database_refuses_costs_only_itself(tmp_path: Path, db_url: str, server: FeedServer) -> None:
    """Whatever the door lets through, a row the database refuses (here a trigger refuses one) is one rejected item:
    the others are stored and the source's cursor moves on, so that the next poll does not fail on it again."""
    from sqlalchemy import text

    from tests.support.sources import RSS

    server.routes["/feed.xml"] = Route(RSS)
    ctx = job_context(
        tmp_path, db_url, brands=brands_with(f"  - {{name: news, type: feed, url: '{server.url}/feed.xml'}}\n")
    )
    with ctx.sessions.begin() as session:
        for statement in _REFUSE[session.get_bind().dialect.name]:
            session.execute(text(statement))
    report = poll(ctx, "news", now=NOW)
    assert report.error is None and report.added == 1 and report.rejected.count == 1
    assert "https://news.example/a2: the database refused it: " in str(report.rejected.first[0])
    assert "no globex here" in str(report.rejected.first[0])
    assert stored(ctx) == {"Acmephone 5 review: a battery that lasts — We used the acmephone for a week."}
    last = polls(ctx, "news")[-1]
    assert (last.error, last.added, last.rejected) == (None, 1, 1)
    again = poll(ctx, "news", now=LATER)  # the source goes on: the same refusal, nothing else lost
    assert (again.error, again.added, again.rejected.count) == (None, 0, 1)
