"""One post cannot blind the firehose (issue 28, class 2): hostile posts and frames on Jetstream, among good ones, cost
only themselves; the cursor never passes the clock."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.jobs.deps import JobContext
from bot.sources.http import HttpOptions
from bot.sources.poll import PollReport, poll_source
from storage.models import SourceState
from tests.support.hostile import LATEST, NOW, assert_rejected_each, assert_rejected_once, set_field, state, stored
from tests.support.jetstream import FakeJetstream, recorded_events, serve_jetstream
from tests.support.pipeline import dispose_engines, job_context
from tests.support.rawjson import Raw, dumps

DEEP = Raw("[" * 5000 + "]" * 5000)  # past what json.loads can follow


@pytest.fixture(autouse=True)
def _dispose_job_context_engines() -> Iterator[None]:
    yield
    dispose_engines()


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
        set_field("commit.record.createdAt", "9999-12-31T23:59:59-23:59"),
        "at://did:plc:",  # named by its id; why is asserted below
    ),
    "dated 2999": (set_field("commit.record.createdAt", "2999-01-01T00:00:00Z"), LATEST),
    "dated 0001 at +23:59": (set_field("commit.record.createdAt", "0001-01-01T00:00:00+23:59"), "no UTC time"),
    "dated with a number": (set_field("commit.record.createdAt", 1.7e9), "createdAt is 1700000000.0, not an ISO 8601"),
    "an object for the text": (set_field("commit.record.text", {"government": 1}), "text is a JSON object"),
    "a null record": (set_field("commit.record", None), "record is None, not an object"),
    "a null commit": (set_field("commit", None), "commit is None, not an object"),
    "a list for the record": (set_field("commit.record", ["the government"]), "record is a JSON array, not an object"),
    "a number for the did": (set_field("did", 7), "did is 7, not a DID"),
    "nested 5,000 levels": (set_field("commit.record.facets", DEEP), "nested over 512 levels"),
    "a text of 40,010 characters": (
        set_field("commit.record.text", "government " + "a" * 39_999),
        "text of 40,010 characters",
    ),
    "time_us as a string": (set_field("time_us", "1725911162329308"), "time_us is '1725911162329308', not a positive"),
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
