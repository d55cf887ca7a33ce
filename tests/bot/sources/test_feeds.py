"""The feed connector over real HTTP on loopback: conditional GET, matching, storing once, and every failure a poll
must survive without stopping the other sources."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.sources.http import HttpOptions
from storage.models import SourcePoll, SourceState
from tests.support.feeds import FeedServer, Route, serve_feeds
from tests.support.pipeline import job_context
from tests.support.sources import NOW, RSS, brands_with, poll, state, stored

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr"><title>Blog</title><id>urn:uuid:blog</id>
<updated>2026-11-30T08:00:00Z</updated>
<entry><title>Mon acmephone est en panne</title><id>urn:uuid:e1</id><updated>2026-11-30T08:00:00Z</updated>
<link href="https://blog.example/e1"/><author><name>Luc</name></author><summary>Encore.</summary></entry>
</feed>"""

# A Google News search feed, as pygooglenews reads it (../shared/sources/rss/README.md): the title ends with the
# outlet, the description repeats it as escaped HTML, the guid is not a URL.
GOOGLE_NEWS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><generator>NFE/5.0</generator>
<title>"acmephone" - Google News</title><link>https://news.google.com/search?q=acmephone&amp;hl=en-US</link>
<language>en-US</language><webMaster>news-webmaster@google.com</webMaster>
<item><title>Acmephone recall widens - The Daily</title>
<link>https://news.google.com/rss/articles/CBMiK2h0dHBz?oc=5</link><guid isPermaLink="false">CBMiK2h0dHBz</guid>
<pubDate>Mon, 30 Nov 2026 07:30:00 GMT</pubDate>
<description>&lt;a href="https://news.google.com/rss/articles/CBMiK2h0dHBz?oc=5" target="_blank"&gt;Acmephone recall widens&lt;/a&gt;&amp;nbsp;&amp;nbsp;&lt;font color="#6f6f6f"&gt;The Daily&lt;/font&gt;</description>
<source url="https://daily.example">The Daily</source></item>
</channel></rss>"""


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    yield from serve_feeds()


def test_a_feed_is_matched_stored_once_and_fetched_again_only_when_it_changed(
    tmp_path: Path, db_url: str, feeds: FeedServer
) -> None:
    feeds.routes["/tech.xml"] = Route(RSS, headers={"Content-Type": "application/rss+xml"}, etag='"v1"')
    feeds.routes["/blog.atom"] = Route(ATOM, last_modified="Mon, 30 Nov 2026 08:00:00 GMT")
    ctx = job_context(
        tmp_path,
        db_url,
        brands=brands_with(
            f"  - {{name: tech, type: feed, url: '{feeds.url}/tech.xml'}}\n",
            f"  - {{name: blog, type: feed, url: '{feeds.url}/blog.atom', brands: [acme]}}\n",
        ),
    )
    first = poll(ctx, "tech")
    assert (first.fetched, first.matched, first.added, first.error) == (3, 2, 2, None)
    assert poll(ctx, "blog").added == 1
    rows = {m.url: m for m in stored(ctx)}
    review = rows["https://news.example/a1"]
    assert review.brand == "acme" and review.source == "feed" and review.language == "en"
    assert review.text == "Acmephone 5 review: a battery that lasts — We used the acmephone for a week."
    assert review.created_at == datetime(2026, 11, 30, 9, 15, tzinfo=UTC) and review.ingested_at == NOW
    assert review.author == "jane@news.example (Jane Roe)" and review.status == "pending"
    assert rows["https://news.example/a2"].brand == "globex"
    french = rows["https://blog.example/e1"]
    assert (french.brand, french.language, french.author, french.external_id) == ("acme", "fr", "Luc", "urn:uuid:e1")

    # Unchanged: a 304 for each, nothing parsed or added; the validators were sent back.
    later = NOW + timedelta(minutes=15)
    assert (poll(ctx, "tech", now=later).fetched, poll(ctx, "blog", now=later).fetched) == (0, 0)
    assert feeds.requests_to("/tech.xml")[-1].headers["if-none-match"] == '"v1"'
    assert feeds.requests_to("/blog.atom")[-1].headers["if-modified-since"] == "Mon, 30 Nov 2026 08:00:00 GMT"

    # Changed: a new ETag and one more item; the items already stored are not stored again.
    more = RSS.replace(
        b"</channel>",
        b"<item><title>acmephone 6 leaks</title><link>https://news.example/a4</link><guid>https://news.example/a4</guid>"
        b"</item></channel>",
    )
    feeds.routes["/tech.xml"] = Route(more, etag='"v2"')
    third = poll(ctx, "tech", now=later + timedelta(minutes=15))
    assert (third.fetched, third.matched, third.added) == (4, 3, 1)
    undated = next(m for m in stored(ctx) if m.url == "https://news.example/a4")
    assert undated.created_at == later + timedelta(minutes=15)  # no date in the feed: when it was fetched
    tech = state(ctx, "tech")
    assert tech.cursor == {"etag": '"v2"'} and tech.polls_total == 3 and tech.added_total == 3
    assert tech.errors_total == 0 and tech.last_success_at == later + timedelta(minutes=15)


def test_a_google_news_search_feed_gives_plain_text_and_ids_without_the_feeds_query(
    tmp_path: Path, db_url: str, feeds: FeedServer
) -> None:
    feeds.routes["/rss/search"] = Route(GOOGLE_NEWS)
    ctx = job_context(
        tmp_path,
        db_url,
        brands=brands_with(
            f"  - {{name: gnews, type: feed, url: '{feeds.url}/rss/search?q=acmephone&key=${{BRANDPULSE_SOURCE_NEWS_KEY}}'}}\n"
        ),
    )
    ctx.env = {"BRANDPULSE_SOURCE_NEWS_KEY": "s3cret-key"}
    assert poll(ctx, "gnews").added == 1
    assert feeds.requests_to("/rss/search")[0].path.endswith("key=s3cret-key")
    (mention,) = stored(ctx)
    assert mention.text == "Acmephone recall widens - The Daily"  # the description only repeats it
    assert mention.external_id == f"{feeds.url}/rss/search#CBMiK2h0dHBz"  # global, and no key in it
    assert mention.url == "https://news.google.com/rss/articles/CBMiK2h0dHBz?oc=5"


def test_an_unset_variable_is_the_sources_error_not_a_crash(tmp_path: Path, db_url: str, feeds: FeedServer) -> None:
    ctx = job_context(
        tmp_path,
        db_url,
        brands=brands_with(
            f"  - {{name: gnews, type: feed, url: '{feeds.url}/x?k=${{BRANDPULSE_SOURCE_NEWS_KEY}}'}}\n"
        ),
    )
    ctx.env = {}
    report = poll(ctx, "gnews")
    assert (
        report.error == "source gnews: url refers to ${BRANDPULSE_SOURCE_NEWS_KEY}, which is not set in the environment"
    )
    assert feeds.requests == [] and state(ctx, "gnews").errors_total == 1


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        (Route(b"busy", status=503), "127.0.0.1 answered HTTP 503"),
        (Route(b"hello, not a feed", headers={"Content-Type": "text/plain"}), "127.0.0.1 did not send a feed"),
        (Route(RSS, delay=3), "127.0.0.1 did not answer within 0.5 s"),
        (Route(endless=True), "127.0.0.1 sent more than the 100,000-byte cap"),
        (Route(b"x" * 200_000), "127.0.0.1 sent 200,000 bytes, over the 100,000-byte cap"),
    ],
    ids=["5xx", "not-a-feed", "timeout", "endless-body", "declared-too-big"],
)
def test_a_failing_source_records_one_error_and_the_others_go_on(
    tmp_path: Path, db_url: str, feeds: FeedServer, route: Route, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    feeds.routes["/bad.xml"] = route
    feeds.routes["/good.xml"] = Route(RSS)
    ctx = job_context(
        tmp_path,
        db_url,
        brands=brands_with(
            f"  - {{name: bad, type: feed, url: '{feeds.url}/bad.xml'}}\n",
            f"  - {{name: good, type: feed, url: '{feeds.url}/good.xml'}}\n",
        ),
    )
    options = HttpOptions(timeout_seconds=0.5, max_bytes=100_000)
    caplog.set_level("WARNING", logger="bot.sources.poll")
    report = poll(ctx, "bad", options=options)
    assert report.error is not None and report.error.startswith(expected), report.error
    assert [r.getMessage() for r in caplog.records] == [f"source bad: {report.error}"]  # one line
    assert poll(ctx, "good", options=options).added == 2
    bad = state(ctx, "bad")
    assert (bad.errors_total, bad.polls_total, bad.last_success_at, bad.cursor) == (1, 1, None, {})
    assert bad.last_error == report.error and bad.last_error_at == NOW
    with ctx.sessions() as session:
        polls = session.execute(select(SourcePoll.source, SourcePoll.error).order_by(SourcePoll.id)).all()
    assert polls == [("bad", report.error), ("good", None)]


def test_a_429_keeps_the_source_quiet_until_retry_after(tmp_path: Path, db_url: str, feeds: FeedServer) -> None:
    feeds.routes["/busy.xml"] = Route(b"slow down", status=429, headers={"Retry-After": "120"})
    ctx = job_context(
        tmp_path, db_url, brands=brands_with(f"  - {{name: busy, type: feed, url: '{feeds.url}/busy.xml'}}\n")
    )
    report = poll(ctx, "busy")
    assert report.error is not None and "429" in report.error
    assert state(ctx, "busy").backoff_until == NOW + timedelta(seconds=120)
    quiet = poll(ctx, "busy", now=NOW + timedelta(seconds=60))
    assert quiet.skipped is not None and "asked to wait until" in quiet.skipped
    assert len(feeds.requests_to("/busy.xml")) == 1  # not asked again while it said to wait
    feeds.routes["/busy.xml"] = Route(RSS)
    assert poll(ctx, "busy", now=NOW + timedelta(seconds=121)).added == 2
    assert state(ctx, "busy").backoff_until is None


def test_an_ill_formed_feed_with_entries_is_read(tmp_path: Path, db_url: str, feeds: FeedServer) -> None:
    # An unescaped '&' makes the XML ill-formed (feedparser's "bozo"); its lenient parser still finds the item.
    broken = RSS.replace(b"Globex shares fall", b"Globex & partners shares fall")
    feeds.routes["/broken.xml"] = Route(broken)
    ctx = job_context(
        tmp_path, db_url, brands=brands_with(f"  - {{name: broken, type: feed, url: '{feeds.url}/broken.xml'}}\n")
    )
    report = poll(ctx, "broken")
    assert report.error is None and report.added == 2
    assert any(m.text.startswith("Globex & partners") for m in stored(ctx))


def test_an_item_naming_two_brands_is_a_mention_of_each(tmp_path: Path, db_url: str, feeds: FeedServer) -> None:
    feed = RSS.replace(
        b"</channel>",
        b"<item><title>Acme and Globex merge</title><link>https://news.example/m1</link>"
        b"<guid>https://news.example/m1</guid></item></channel>",
    )
    feeds.routes["/tech.xml"] = Route(feed)
    ctx = job_context(
        tmp_path, db_url, brands=brands_with(f"  - {{name: tech, type: feed, url: '{feeds.url}/tech.xml'}}\n")
    )
    report = poll(ctx, "tech")
    assert (report.fetched, report.matched, report.added) == (4, 3, 4)
    merged = sorted(m.brand for m in stored(ctx) if m.url == "https://news.example/m1")
    assert merged == ["acme", "globex"]
    again = poll(ctx, "tech", now=NOW + timedelta(minutes=15))
    assert again.added == 0


@pytest.mark.parametrize(("length", "kept"), [(1_000, True), (1_001, False)])
def test_a_validator_over_1000_characters_is_not_kept(
    tmp_path: Path, db_url: str, feeds: FeedServer, length: int, kept: bool
) -> None:
    etag = '"' + "v" * (length - 2) + '"'
    feeds.routes["/tech.xml"] = Route(RSS, etag=etag)
    ctx = job_context(
        tmp_path, db_url, brands=brands_with(f"  - {{name: tech, type: feed, url: '{feeds.url}/tech.xml'}}\n")
    )
    assert poll(ctx, "tech").added == 2
    with ctx.sessions() as session:
        state = session.get(SourceState, "tech")
        assert state is not None and state.cursor == ({"etag": etag} if kept else {})
