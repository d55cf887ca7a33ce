"""The Jetstream firehose source against a fake that replays production events: posts matched to the brands on our
side, the time_us cursor resumed after a restart and after a dropped connection, no gap and no duplicate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config.brands import BrandsConfig
from bot.jobs.deps import JobContext
from bot.sources.base import Item
from bot.sources.http import HttpOptions
from bot.sources.jetstream import prefilter
from bot.sources.poll import PollReport, poll_source
from storage.models import Mention, SourceState
from tests.support.jetstream import FakeJetstream, recorded_events, serve_jetstream
from tests.support.pipeline import job_context

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# Brands whose words occur in the recorded posts: English, Turkish-English, and a Japanese phrase.
BRANDS = """
brands:
  - name: gov
    keywords: [government, election]
  - name: netflix
    keywords: [ネトフリ]
  - name: ufo
    keywords: ["tic tac"]
sources:
  - {name: firehose, type: jetstream, url: 'URL', max_seconds: 20, idle_seconds: 0.3}
"""


@pytest.fixture
def fake() -> FakeJetstream:
    return FakeJetstream()


@pytest.fixture
def url(fake: FakeJetstream) -> Iterator[str]:
    yield from serve_jetstream(fake)


def poll(ctx: JobContext) -> PollReport:
    config = ctx.brands.source("firehose")
    assert config is not None
    return poll_source(
        config=config, brands=ctx.brands, sessions=ctx.sessions, env={}, options=HttpOptions(timeout_seconds=5), now=NOW
    )


def cursor(ctx: JobContext) -> dict[str, int]:
    with ctx.sessions() as session:
        state = session.get(SourceState, "firehose")
        assert state is not None
        return dict(state.cursor)


def stored(ctx: JobContext) -> list[Mention]:
    with ctx.sessions() as session:
        return list(session.execute(select(Mention).order_by(Mention.created_at)).scalars())


def start_at(ctx: JobContext, time_us: int) -> None:
    with ctx.sessions.begin() as session:
        session.add(
            SourceState(
                name="firehose",
                type="jetstream",
                cursor={"time_us": time_us},
                polls_total=0,
                errors_total=0,
                added_total=0,
            )
        )


def test_recorded_posts_are_matched_on_our_side_and_the_cursor_moves_on(
    tmp_path: Path, db_url: str, fake: FakeJetstream, url: str
) -> None:
    events = recorded_events()
    sent = [e for e in events if e["kind"] != "commit" or e["commit"]["collection"] == "app.bsky.feed.post"]
    first_us, last_us = events[0]["time_us"], max(e["time_us"] for e in sent)
    ctx = job_context(tmp_path, db_url, brands=BRANDS.replace("URL", url))
    first = poll(ctx)  # no cursor: the live tail, quiet here
    assert (first.error, first.fetched) == (None, 0) and fake.connections[0]["wantedCollections"] == [
        "app.bsky.feed.post"
    ]
    assert "cursor" not in fake.connections[0]
    start_at_ctx = job_context(tmp_path, db_url, brands=BRANDS.replace("URL", url))  # a restart
    with start_at_ctx.sessions.begin() as session:
        session.get(SourceState, "firehose").cursor = {"time_us": first_us}  # type: ignore[union-attr]
    report = poll(start_at_ctx)
    assert report.error is None and fake.connections[1]["cursor"] == [str(first_us - 5_000_000)]  # rewound 5 s
    by_brand = {m.brand: m for m in stored(start_at_ctx)}
    assert set(by_brand) == {"gov", "netflix", "ufo"}
    assert (report.fetched, report.added) == (len(stored(start_at_ctx)), len(stored(start_at_ctx)))
    japanese = by_brand["netflix"]
    assert (
        japanese.language == "ja" and japanese.source == "bluesky" and japanese.external_id.startswith("at://did:plc:")
    )
    assert japanese.url is not None and japanese.url.startswith("https://bsky.app/profile/did:plc:")
    assert cursor(start_at_ctx) == {"time_us": last_us}  # every event read, matching or not, moves the cursor


def test_a_dropped_connection_resumes_without_gap_or_duplicate(
    tmp_path: Path, db_url: str, fake: FakeJetstream, url: str
) -> None:
    events = sorted(recorded_events(), key=lambda e: e["time_us"])
    posts = [e for e in events if e["kind"] == "commit" and e["commit"]["collection"] == "app.bsky.feed.post"]
    fake.drop_after = 8  # the stream breaks after the 8th post event
    ctx = job_context(tmp_path, db_url, brands=BRANDS.replace("URL", url))
    start_at(ctx, events[0]["time_us"])
    broken = poll(ctx)
    assert broken.error is None
    assert cursor(ctx) == {"time_us": posts[7]["time_us"]}
    resumed = poll(ctx)
    assert resumed.error is None and cursor(ctx) == {"time_us": posts[-1]["time_us"]}
    matcher = ctx.brands.matcher()
    matching = [
        p for p in posts if p["commit"].get("record", {}).get("text") and matcher.first(p["commit"]["record"]["text"])
    ]
    texts = [m.text for m in stored(ctx)]
    assert len(texts) == len(set(texts)) == len(matching) == 5  # every matching post, once, across the break
    assert broken.added >= 1 and broken.added + resumed.added == 5


def test_an_unreachable_stream_is_the_sources_error(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url, brands=BRANDS.replace("URL", "ws://127.0.0.1:9/subscribe"))
    report = poll(ctx)
    assert report.error is not None and report.error.startswith("cannot stream from 127.0.0.1")


def test_a_post_without_a_language_is_detected_before_a_brands_lang_filter() -> None:
    config = BrandsConfig.model_validate({"brands": [{"name": "acme-it", "query": "acmephone lang:it"}]})
    matches = prefilter(config.matcher())
    italian = Item("at://1", "acmephone è fantastico, lo adoro davvero", None)
    english = Item("at://2", "acmephone is great, I really love it", None)
    assert [matches(italian), matches(english)] == [True, False]
    assert matches(Item("at://3", "acmephone is great, I really love it", None, language="it"))  # the post's own
