"""The GDELT DOC 2.0 connector against a fake of its artlist API on loopback: the brands' words as the search, the
time window and its paging, languages and countries stored (so that lang: and country: work), GDELT's refusals and
its invalid JSON, and items that cost only themselves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from bot.config.brands import BrandsConfig
from bot.sources.gdelt import searches
from bot.sources.http import HttpOptions
from storage.models import Mention, SourceState
from tests.support.feeds import FeedServer, serve_feeds
from tests.support.gdelt import PATH, FakeGdelt, article, source
from tests.support.pipeline import job_context
from tests.support.sources import NOW, brands_with, poll


@pytest.fixture
def gdelt() -> Iterator[tuple[FeedServer, FakeGdelt, str]]:
    for server in serve_feeds():
        fake = FakeGdelt()
        yield server, fake, fake.install(server)


def asked(server: FeedServer) -> list[dict[str, str]]:
    return [{k: v[-1] for k, v in parse_qs(urlsplit(r.path).query).items()} for r in server.requests_to(PATH)]


def stored(ctx) -> dict[str, Mention]:  # type: ignore[no-untyped-def]
    with ctx.sessions() as session:
        return {m.external_id: m for m in session.execute(select(Mention)).scalars()}


def test_articles_are_searched_by_the_brands_words_stored_with_language_and_country_and_resumed(
    tmp_path: Path, db_url: str, gdelt: tuple[FeedServer, FakeGdelt, str]
) -> None:
    server, fake, base = gdelt
    fake.articles = [
        article(1, NOW - timedelta(hours=2), "Acmephone 5 recall widens", country="United Kingdom"),
        article(2, NOW - timedelta(hours=1), "Richiamo dell'Acmephone: cosa fare", language="Italian", country="Italy"),
        article(
            3, NOW - timedelta(minutes=30), "Globex &amp; Acmephone: the merger", language="Spanish", country="Mexico"
        ),
        article(4, NOW - timedelta(hours=30), "Acmephone 4 review"),  # before the first poll's 24 hours
        article(5, NOW - timedelta(hours=1), "Weather warning for Sunday"),
    ]
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(base)))
    first = poll(ctx, "news")
    assert (first.error, first.added) == (None, 4)  # article 3 names both brands: a mention of each
    params = asked(server)[0]
    assert (
        params["query"] == "(acme OR acmephone OR globex)"
        and params["mode"] == "artlist"
        and params["format"] == "json"
    )
    assert params["sort"] == "datedesc" and params["maxrecords"] == "250"
    assert params["startdatetime"] == (NOW - timedelta(hours=24)).strftime("%Y%m%d%H%M%S")
    assert params["enddatetime"] == NOW.strftime("%Y%m%d%H%M%S")
    mentions = stored(ctx)
    italian = mentions["https://news2.example/story/2"]
    assert (italian.source, italian.brand, italian.language, italian.country) == ("gdelt", "acme", "it", "it")
    assert italian.text == "Richiamo dell'Acmephone: cosa fare" and italian.created_at == NOW - timedelta(hours=1)
    assert mentions["https://news1.example/story/1"].country == "gb"
    merger = mentions["https://news3.example/story/3"]
    assert (merger.text, merger.language, merger.country) == ("Globex & Acmephone: the merger", "es", "mx")
    with ctx.sessions() as session:
        assert session.get(SourceState, "news").cursor == {
            "seendate": (NOW - timedelta(minutes=30)).strftime("%Y%m%dT%H%M%SZ")
        }

    # The next poll starts 30 minutes before the newest article seen: GDELT indexes late.
    fake.articles.append(article(6, NOW - timedelta(minutes=40), "Acmephone, indexed late"))
    second = poll(ctx, "news", now=NOW + timedelta(minutes=15))
    assert asked(server)[-1]["startdatetime"] == (NOW - timedelta(minutes=60)).strftime("%Y%m%d%H%M%S")
    assert second.added == 1 and "https://news1.example/story/6" in stored(ctx)


def test_a_full_page_is_followed_by_the_same_search_ending_at_its_oldest_article(
    tmp_path: Path, db_url: str, gdelt: tuple[FeedServer, FakeGdelt, str]
) -> None:
    server, fake, base = gdelt
    fake.articles = [article(n, NOW - timedelta(minutes=2 * n + 1), f"Acmephone story {n}") for n in range(600)]
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(base)))
    report = poll(ctx, "news")
    assert (report.error, report.added) == (None, 600)
    ends = [p["enddatetime"] for p in asked(server)]
    assert len(ends) == 3 and ends[0] == NOW.strftime("%Y%m%d%H%M%S")
    assert ends[1] == (NOW - timedelta(minutes=2 * 249 + 1)).strftime("%Y%m%d%H%M%S")  # page 1's oldest


def test_queries_filter_on_the_country_and_language_gdelt_gives(
    tmp_path: Path, db_url: str, gdelt: tuple[FeedServer, FakeGdelt, str]
) -> None:
    _, fake, base = gdelt
    fake.articles = [
        article(1, NOW - timedelta(hours=1), "Acmephone recall", country="Italy", language="Italian"),
        article(2, NOW - timedelta(hours=1), "Acmephone recall", country="Mexico", language="Spanish"),
        article(3, NOW - timedelta(hours=1), "Acmephone recall", country="Spain", language="Spanish"),
    ]
    brands = (
        "brands:\n"
        "  - name: acme-italy\n    query: 'acmephone AND country:Italy'\n"
        "  - name: acme-spanish\n    query: 'acmephone lang:es -country:es'\n"
        "sources:\n" + source(base)
    )
    ctx = job_context(tmp_path, db_url, brands=brands)
    assert poll(ctx, "news").added == 2
    by_brand = {m.brand: m.external_id for m in stored(ctx).values()}
    assert by_brand == {"acme-italy": "https://news1.example/story/1", "acme-spanish": "https://news2.example/story/2"}


def test_the_sources_own_query_is_sent_as_it_is_and_a_refused_one_is_the_polls_error(
    tmp_path: Path, db_url: str, gdelt: tuple[FeedServer, FakeGdelt, str]
) -> None:
    server, fake, base = gdelt
    fake.articles = [article(1, NOW - timedelta(hours=1), "Acmephone sales")]
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(base, query="'\"acmephone\" sourcelang:english'")))
    assert poll(ctx, "news").added == 1
    assert asked(server)[-1]["query"] == '"acmephone" sourcelang:english'

    (tmp_path / "2").mkdir()
    refused = job_context(tmp_path / "2", db_url, brands=brands_with(source(base, query="ab")))
    report = poll(refused, "news")
    assert report.error == "127.0.0.1 refused the search: The specified phrase is too short."
    with refused.sessions() as session:
        state = session.get(SourceState, "news")
        # The same source, now with a broken query: its cursor stays where the working one left it.
        assert state is not None and state.cursor == {"seendate": "20261130T110000Z"} and state.errors_total == 1


def test_a_brand_gdelt_cannot_search_for_asks_for_a_query_of_the_sources_own(
    tmp_path: Path, db_url: str, gdelt: tuple[FeedServer, FakeGdelt, str]
) -> None:
    _, _, base = gdelt
    brands = "brands:\n  - name: acme\n    query: 'recall*'\nsources:\n" + source(base)
    report = poll(job_context(tmp_path, db_url, brands=brands), "news")
    assert report.error is not None and "give the source a GDELT query of its own" in report.error
    (tmp_path / "short").mkdir()
    brands = "brands:\n  - name: hp\n    keywords: [hp]\nsources:\n" + source(base)
    report = poll(job_context(tmp_path / "short", db_url, brands=brands), "news")
    assert report.error is not None and "all shorter than 3 letters, which GDELT does not search for" in report.error


def test_words_gdelt_does_not_search_for_are_left_to_the_matching() -> None:
    config = BrandsConfig.model_validate(
        {
            "brands": [{"name": "acme", "keywords": ["ac", "acme phone"]}, {"name": "globex", "query": "globex OR gx"}],
            "sources": [{"name": "news", "type": "gdelt"}],
        }
    )
    assert searches(config.sources[0], config) == ['("acme phone" OR acme OR globex)']


def test_invalid_json_is_read_leniently_and_a_bad_article_costs_only_itself(
    tmp_path: Path, db_url: str, gdelt: tuple[FeedServer, FakeGdelt, str]
) -> None:
    _, fake, base = gdelt
    fake.broken = True
    bad_time = article(2, NOW, "Acmephone bad time")
    bad_time["seendate"] = "20261130T1200"  # cut short
    no_link = article(3, NOW, "Acmephone no link")
    no_link["url"] = None
    fake.articles = [article(1, NOW - timedelta(hours=1), "Acmephone fine"), bad_time, no_link]
    fake.articles.append({**article(4, NOW, "Acmephone odd country"), "sourcecountry": "Atlantis", "language": 7})
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(base)))
    report = poll(ctx, "news")
    assert (report.error, report.added, report.rejected.count) == (None, 2, 2)
    odd = stored(ctx)["https://news4.example/story/4"]
    assert odd.text == "Acmephone odd country" and odd.country is None and odd.language is not None  # detected
    assert stored(ctx)["https://news1.example/story/1"].text == "Acmephone fine"


def test_a_poll_reads_at_most_eight_full_pages(
    tmp_path: Path, db_url: str, gdelt: tuple[FeedServer, FakeGdelt, str]
) -> None:
    server, fake, base = gdelt
    fake.articles = [article(n, NOW - timedelta(seconds=30 * n + 30), f"Acmephone story {n}") for n in range(2_100)]
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(base)))
    report = poll(ctx, "news")
    assert len(asked(server)) == 8 and (report.error, report.added) == (None, 8 * 250 - 7)  # each page's oldest again


def test_many_terms_make_several_searches_each_under_the_limit() -> None:
    words = [f"brandword{n:03d}" for n in range(120)]
    config = BrandsConfig.model_validate(
        {
            "brands": [{"name": f"b{n}", "keywords": words[n * 10 : n * 10 + 10]} for n in range(12)],
            "sources": [{"name": "news", "type": "gdelt"}],
        }
    )
    queries = searches(config.sources[0], config)
    assert len(queries) > 1 and all(len(q) <= 400 for q in queries)
    found = {term for q in queries for term in q.strip("()").split(" OR ")}
    assert found == set(words) | {f"b{n}" for n in range(12)} - {f"b{n}" for n in range(12) if len(f"b{n}") < 3}


def test_gdelt_asking_to_wait_midway_keeps_what_was_read_and_holds_the_cursor(
    tmp_path: Path, db_url: str, gdelt: tuple[FeedServer, FakeGdelt, str]
) -> None:
    _, fake, base = gdelt
    fake.articles = [article(n, NOW - timedelta(minutes=n + 1), f"Acmephone story {n}") for n in range(300)]
    fake.busy_after = 1  # the second page is a 429
    ctx = job_context(tmp_path, db_url, brands=brands_with(source(base)))
    report = poll(ctx, "news")
    assert (report.error, report.added) == (None, 250)
    with ctx.sessions() as session:
        state = session.get(SourceState, "news")
        # The window was not read to its end: the next poll, after the backoff, searches it again.
        assert state is not None and state.cursor == {} and state.backoff_until is not None


def test_a_search_the_polls_time_leaves_no_room_for_holds_the_cursor(
    tmp_path: Path, db_url: str, gdelt: tuple[FeedServer, FakeGdelt, str]
) -> None:
    """Two searches (the brands' words do not fit one), 2 seconds apart, in a poll of 6 seconds whose requests may
    take 5: the second does not run, and the cursor stays where it was."""
    server, fake, base = gdelt
    words = [f"brandword{n:03d}" for n in range(60)]
    fake.articles = [article(1, NOW - timedelta(minutes=5), "brandword000 news")]
    brands = "brands:\n  - name: big\n    keywords: [" + ", ".join(words) + "]\nsources:\n" + source(base)
    ctx = job_context(tmp_path, db_url, brands=brands.replace("pause_seconds: 0", "pause_seconds: 2"))
    report = poll(ctx, "news", options=HttpOptions(timeout_seconds=5, poll_seconds=6))
    assert (report.error, report.added, len(asked(server))) == (None, 1, 1)
    with ctx.sessions() as session:
        state = session.get(SourceState, "news")
        assert state is not None and state.cursor == {}
