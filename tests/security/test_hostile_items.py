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
from sqlalchemy import select

from bot.jobs.deps import JobContext
from bot.sources import reddit as reddit_connector
from bot.sources.http import HttpOptions
from bot.sources.poll import PollReport, poll_source
from storage.models import Mention, SourcePoll, SourceState
from tests.support import bluesky as bluesky_support
from tests.support import hackernews as hackernews_support
from tests.support import mastodon as mastodon_support
from tests.support import reddit as reddit_support
from tests.support.bluesky import FakeBluesky
from tests.support.feeds import FeedServer, Route, serve_feeds
from tests.support.hackernews import FakeAlgolia, comment
from tests.support.jetstream import FakeJetstream, recorded_events, serve_jetstream
from tests.support.mastodon import FakeMastodon
from tests.support.pipeline import dispose_engines, job_context
from tests.support.rawjson import Raw, dumps
from tests.support.reddit import FakeReddit, recorded_posts
from tests.support.sources import brands_with, poll

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=30)
DEEP = Raw("[" * 5000 + "]" * 5000)  # past what json.loads can follow: the whole page was "not JSON"
LONG_TEXT = "acmephone " + "a" * 40_000


@pytest.fixture(autouse=True)
def _dispose_job_context_engines() -> Iterator[None]:
    yield
    dispose_engines()


def stored(ctx: JobContext) -> set[str]:
    with ctx.sessions() as session:
        return {m.text for m in session.execute(select(Mention)).scalars()}


def state(ctx: JobContext, name: str) -> SourceState:
    with ctx.sessions() as session:
        found = session.get(SourceState, name)
        assert found is not None
        session.expunge(found)
        return found


def polls(ctx: JobContext, name: str) -> list[SourcePoll]:
    with ctx.sessions() as session:
        found = list(session.execute(select(SourcePoll).where(SourcePoll.source == name).order_by(SourcePoll.id)))
        return [row[0] for row in found]


def assert_rejected_once(ctx: JobContext, name: str, report: PollReport, reason: str) -> None:
    """The poll succeeded, with the hostile item its one rejection, recorded with why."""
    assert report.error is None, report.error
    assert report.rejected.count == 1, [str(r) for r in report.rejected.first]
    assert reason in str(report.rejected.first[0]), str(report.rejected.first[0])
    last = polls(ctx, name)[-1]
    assert last.error is None and last.rejected == 1 and last.rejections is not None and reason in last.rejections
    current = state(ctx, name)
    assert current.last_rejected is not None and reason in current.last_rejected and current.rejected_total >= 1


def assert_rejected_each(ctx: JobContext, name: str, report: PollReport, expected: dict[str, str]) -> None:
    """The poll succeeded, with one rejection for each hostile item (named in ``expected`` with what its rejection
    says), recorded with why."""
    assert report.error is None, report.error
    reasons = [str(r) for r in report.rejected.first]
    assert report.rejected.count == len(expected) == len(reasons), reasons
    left = list(reasons)
    # The most particular reason first, so that a general one ("not an object") takes no rejection another needs.
    for variant, reason in sorted(expected.items(), key=lambda e: -len(e[1])):
        found = next((r for r in left if reason in r), None)
        assert found is not None, f"{variant}: no rejection says {reason!r} among {left}"
        left.remove(found)
    last = polls(ctx, name)[-1]
    assert last.error is None and last.rejected == len(expected) and last.rejections == "\n".join(reasons)
    assert state(ctx, name).rejected_total >= len(expected)


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


SEARCHED: dict[str, Callable[[FeedServer], Searched]] = {
    "bluesky": bluesky,
    "mastodon": mastodon,
    "reddit": reddit,
    "hackernews": hackernews,
}


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    """A change to one field of a template item (``a.b``: field b of object a)."""

    def change(item: dict[str, Any]) -> Any:
        *parents, last = path.split(".")
        target = item
        for part in parents:
            target = target[part]
        target[last] = value
        return item

    return change


def _whole(value: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda item: value


# Per connector: (where its id, time and text are, and whether its time is ISO 8601 or Unix seconds).
FIELDS = {
    "bluesky": ("uri", "record.createdAt", "record.text", "iso"),
    "mastodon": ("uri", "created_at", "content", "iso"),
    "reddit": ("data.name", "data.created_utc", "data.title", "epoch"),
    "hackernews": ("objectID", "created_at_i", "comment_text", "epoch"),
}
LATEST = "is after 2026-11-30T12:10:00+00:00"


def variants(connector: str) -> dict[str, tuple[Callable[[dict[str, Any]], Any], str]]:
    """Hostile items of every kind for a connector: how each is made from the template, and what the rejection says."""
    id_at, time_at, text_at, kind = FIELDS[connector]
    name = id_at.split(".")[-1]
    when = time_at.split(".")[-1]
    text = text_at.split(".")[-1]
    made: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
        "null item": (_whole(None), "None, not an object"),
        "a string for an item": (_whole("acmephone"), "'acmephone', not an object"),
        "no id": (_set(id_at, None), f"{name} is None"),
        "a number for the id": (_set(id_at, 42), f"{name} is 42"),
        "an object for the text": (_set(text_at, {"acmephone": 1}), f"{text} is a JSON object, not a string"),
        "nested 5,000 levels": (_set(text_at, DEEP), "nested over 512 levels"),
        "a text of 40,010 characters": (_set(text_at, LONG_TEXT), "text of 40,010 characters, over the 40,000 limit"),
    }
    if connector == "reddit":
        made["null data"] = (_set("data", None), "None, not an object")
    if kind == "iso":
        made |= {
            "dated 2999": (_set(time_at, "2999-01-01T00:00:00Z"), LATEST),
            "dated 9999 at -23:59": (_set(time_at, "9999-12-31T23:59:59-23:59"), "has no UTC time a mention can have"),
            "dated 1969": (_set(time_at, "1969-07-20T20:17:00Z"), "is before 1990-01-01"),
            "dated with a number": (_set(time_at, 1700000000), f"{when} is 1700000000, not an ISO 8601 time"),
            "dated with words": (_set(time_at, "yesterday"), f"{when} is 'yesterday', not an ISO 8601 time"),
        }
    else:
        made |= {
            "dated 2999": (_set(time_at, int(datetime(2999, 1, 1, tzinfo=UTC).timestamp())), LATEST),
            "dated NaN": (_set(time_at, float("nan")), f"{when} is nan"),
            "dated 10**20": (_set(time_at, 10**20), f"{when} is 100000000000000000000, not a time"),
            "dated 1e300": (_set(time_at, 1e300), f"{when} is 1e+300, not a time"),
            "dated with a 5,000-digit number": (_set(time_at, Raw("7" * 5000)), "a number too long to read"),
            "dated with a string": (_set(time_at, "1700000000"), f"{when} is '1700000000', not a time"),
            "dated 1969": (_set(time_at, -14182940), "is before 1990-01-01"),
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

# The recorded posts that name the brand: all after the first post, where the hostile ones are put.
GOOD_POSTS = 3
JETSTREAM_BRANDS = """
brands:
  - name: gov
    keywords: [government, election]
sources:
  - {name: firehose, type: jetstream, url: 'URL', max_seconds: 20, idle_seconds: 0.3}
"""


def jetstream_posts() -> list[dict[str, Any]]:
    events = sorted(recorded_events(), key=lambda e: e["time_us"])
    return [e for e in events if e["kind"] == "commit" and e["commit"]["collection"] == "app.bsky.feed.post"]


def poll_firehose(ctx: JobContext, *, now: datetime = NOW) -> PollReport:
    config = ctx.brands.source("firehose")
    assert config is not None
    return poll_source(
        config=config, brands=ctx.brands, sessions=ctx.sessions, env={}, options=HttpOptions(timeout_seconds=5), now=now
    )


def firehose(tmp_path: Path, db_url: str, fake: FakeJetstream) -> Iterator[JobContext]:
    for url in serve_jetstream(fake):
        ctx = job_context(tmp_path, db_url, brands=JETSTREAM_BRANDS.replace("URL", url))
        first = min(e["time_us"] for e in fake.events)
        with ctx.sessions.begin() as session:
            session.add(SourceState(name="firehose", type="jetstream", cursor={"time_us": first}))
        yield ctx


def hostile_post(
    after: dict[str, Any], change: Callable[[dict[str, Any]], Any], *, rkey: str = "3lhostile"
) -> dict[str, Any]:
    """A post that names the brand, a microsecond after ``after``, changed by ``change``."""
    event = copy.deepcopy(after)
    event["time_us"] += 1
    event["commit"]["rkey"] = rkey
    event["commit"]["record"] = {
        "$type": "app.bsky.feed.post",
        "createdAt": "2026-11-30T11:00:00Z",
        "text": "the government lied",
    }
    return change(event)  # type: ignore[no-any-return]


JETSTREAM_VARIANTS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    # The example, then the other members of its class.
    "dated 9999 at -23:59": (
        _set("commit.record.createdAt", "9999-12-31T23:59:59-23:59"),
        "at://did:plc:",  # named by its id; why is asserted below
    ),
    "dated 2999": (_set("commit.record.createdAt", "2999-01-01T00:00:00Z"), LATEST),
    "dated 0001 at +23:59": (_set("commit.record.createdAt", "0001-01-01T00:00:00+23:59"), "no UTC time"),
    "dated with a number": (_set("commit.record.createdAt", 1.7e9), "createdAt is 1700000000.0, not an ISO 8601"),
    "an object for the text": (_set("commit.record.text", {"government": 1}), "text is a JSON object"),
    "a null record": (_set("commit.record", None), "record is None, not an object"),
    "a null commit": (_set("commit", None), "commit is None, not an object"),
    "a list for the record": (_set("commit.record", ["the government"]), "record is a JSON array, not an object"),
    "a number for the did": (_set("did", 7), "did is 7, not a DID"),
    "nested 5,000 levels": (_set("commit.record.facets", DEEP), "nested over 512 levels"),
    "a text of 40,010 characters": (
        _set("commit.record.text", "government " + "a" * 39_999),
        "text of 40,010 characters",
    ),
    "time_us as a string": (_set("time_us", "1725911162329308"), "time_us is '1725911162329308', not a positive"),
}


def test_hostile_posts_on_the_firehose_cost_only_themselves(tmp_path: Path, db_url: str) -> None:
    """Every kind of hostile post, each a frame of its own after the first recorded post: each is one rejection that
    says why, and every post after them is read and stored."""
    posts = jetstream_posts()
    frames = {
        posts[0]["time_us"] + 1 + n: dumps(hostile_post(posts[0], change, rkey=f"3lhostile{n}"))
        for n, (change, _) in enumerate(JETSTREAM_VARIANTS.values())
    }
    fake = FakeJetstream(raw=frames)
    for ctx in firehose(tmp_path, db_url, fake):
        report = poll_firehose(ctx)
        assert_rejected_each(ctx, "firehose", report, {v: reason for v, (_, reason) in JETSTREAM_VARIANTS.items()})
        # The example, by its id and with why.
        assert any(
            str(r).endswith(
                "/app.bsky.feed.post/3lhostile0: time: 9999-12-31T23:59:59-23:59 has no UTC time a mention can have"
            )
            for r in report.rejected.first
        )
        # Every post after them is read and stored (those that name the brand), and the cursor is past them all.
        assert len(stored(ctx)) == report.added == GOOD_POSTS
        assert state(ctx, "firehose").cursor == {"time_us": posts[-1]["time_us"]}
        again = poll_firehose(ctx)  # rewound 5 seconds, it reads the hostile posts again, and rejects them again
        assert again.error is None and again.added == 0 and again.rejected.count == len(JETSTREAM_VARIANTS)


def _sized(template: dict[str, Any], size: int) -> str:
    """A post event's frame of exactly ``size`` bytes, padded in a field the connector does not read."""
    event = copy.deepcopy(template)
    event["commit"]["record"]["pad"] = ""
    base = len(dumps(event).encode())
    event["commit"]["record"]["pad"] = "x" * (size - base)
    frame = dumps(event)
    assert len(frame.encode()) == size
    return frame


@pytest.mark.parametrize(("size", "kept"), [(1_000_000, True), (1_000_001, False), (5_000_000, False)])
def test_a_frame_over_the_size_cap_costs_only_itself(tmp_path: Path, db_url: str, size: int, kept: bool) -> None:
    """A server that ignores maxMessageSizeBytes sends the frame all the same: the post after it is still stored."""
    posts = jetstream_posts()
    big = hostile_post(posts[0], lambda e: e)
    fake = FakeJetstream(honour_max_size=False, raw={big["time_us"]: _sized(big, size)})
    for ctx in firehose(tmp_path, db_url, fake):
        report = poll_firehose(ctx)
        assert report.error is None
        assert fake.connections[0]["maxMessageSizeBytes"] == ["1000000"]
        assert ("the government lied" in stored(ctx)) == kept
        assert len(stored(ctx)) == GOOD_POSTS + kept
        assert state(ctx, "firehose").cursor == {"time_us": posts[-1]["time_us"]}
        if not kept:
            assert_rejected_once(ctx, "firehose", report, f"an event of {size:,} bytes, over the 1,000,000-byte limit")


def test_jetstream_is_asked_to_skip_frames_over_the_cap(tmp_path: Path, db_url: str) -> None:
    posts = jetstream_posts()
    big = hostile_post(posts[0], lambda e: e)
    fake = FakeJetstream(raw={big["time_us"]: _sized(big, 1_000_001)})  # honours maxMessageSizeBytes
    for ctx in firehose(tmp_path, db_url, fake):
        report = poll_firehose(ctx)
        assert (report.error, report.rejected.count, len(stored(ctx))) == (None, 0, GOOD_POSTS)


@pytest.mark.parametrize(("frame", "reason"), [("{not json", "an event that is not JSON"), ("[]", "time_us is None")])
def test_a_frame_that_is_not_an_event_costs_only_itself(tmp_path: Path, db_url: str, frame: str, reason: str) -> None:
    posts = jetstream_posts()
    fake = FakeJetstream(raw={posts[0]["time_us"] + 1: frame})
    for ctx in firehose(tmp_path, db_url, fake):
        report = poll_firehose(ctx)
        assert_rejected_once(ctx, "firehose", report, reason)
        assert len(stored(ctx)) == GOOD_POSTS


def test_a_jetstream_cursor_past_the_clock_is_not_kept(tmp_path: Path, db_url: str) -> None:
    """Jetstream's times are its own, but a cursor ahead of the clock would skip what comes next: it is not stored,
    and one stored before this fix is read as none (the live tail)."""
    posts = jetstream_posts()
    ahead = copy.deepcopy(posts[-1])
    ahead["time_us"] = 10**18  # the year 33658
    ahead["commit"]["rkey"] = "3lahead"
    fake = FakeJetstream(events=[*recorded_events(), ahead])
    for ctx in firehose(tmp_path, db_url, fake):
        report = poll_firehose(ctx)
        assert report.error is None
        now_us = int(NOW.timestamp() * 1e6)
        assert state(ctx, "firehose").cursor == {"time_us": now_us + 600_000_000}  # the clock plus 10 minutes
        with ctx.sessions.begin() as session:
            session.get(SourceState, "firehose").cursor = {"time_us": 10**18}  # type: ignore[union-attr]
        poll_firehose(ctx)
        assert "cursor" not in fake.connections[-1]


# Feeds ---------------------------------------------------------------------------------------------------------------

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
