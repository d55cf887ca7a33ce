"""Worldwide online news through GDELT's DOC 2.0 API (``mode=artlist``): articles in 65 languages, no key.

GDELT answers with articles' titles, links, languages and source countries, not their text: the title is the
mention's text, the language is mapped to its code ("Spanish": es) and the country to its ISO code ("Mexico": mx), so
that ``lang:`` and ``country:`` work in queries (../shared/sources/gdelt/README.md).

Each poll searches from the newest article seen (less ``OVERLAP``: articles are indexed a little after GDELT sees
them) to now, newest first, 250 a request; a full page is followed by the same search ending at its oldest article.
Without a ``query`` of its own, the source searches for the words and phrases that the brands' definitions need
(``Query.phrases``), OR-ed, and every article is then matched to the brands as any source's items are. GDELT asks
clients to keep their pace low: the requests of one poll are ``pause_seconds`` apart, and a 429 backs the source off.
A search that does not run (a 429 first, or too little of the poll's time left) keeps the cursor where it was; a
window of more than ``MAX_PAGES`` full pages keeps its newest articles (the documented cost of a cap, as Hacker News's).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

from analysis.countries import country_code
from analysis.language import language_code
from bot.config.brands import BrandsConfig
from bot.config.sources import GdeltSource
from bot.errors import ConfigError
from bot.sources.base import Fetch, Item, RateLimited, SourceError
from bot.sources.feeds import plain
from bot.sources.http import SourceClient, host
from bot.sources.intake import BadItem, Intake, fresh_mark, load_json, shown, text_field
from bot.sources.registry import Wiring, connector_type

PAGE_SIZE = 250  # the API's most
MAX_PAGES = 8
OVERLAP = timedelta(minutes=30)
# GDELT's time format, in UTC: seendate 20230918T031500Z; startdatetime/enddatetime 20230918031500.
SEEN_FORMAT = "%Y%m%dT%H%M%SZ"
WINDOW_FORMAT = "%Y%m%d%H%M%S"
# One search's query stays under this many characters; more terms make more searches.
MAX_QUERY_CHARS = 400
MIN_TERM_CHARS = 3
_TAGS = re.compile(r"<[^>]*>")


def _term(words: tuple[str, ...]) -> str:
    text = " ".join(words).replace('"', "")
    return f'"{text}"' if len(words) > 1 else text


def searches(config: GdeltSource, brands: BrandsConfig) -> list[str]:
    """The GDELT queries one poll runs: the source's own, or the brands' words and phrases OR-ed, in as few queries
    of at most ``MAX_QUERY_CHARS`` as they fit. ConfigError when a brand has nothing GDELT can search for."""
    if config.query is not None:
        return [config.query]
    terms: set[str] = set()
    for brand in brands.brands:
        if config.brands is not None and brand.name not in config.brands:
            continue
        phrases = brand.terms().as_query().phrases()
        if phrases is None:
            raise ConfigError(
                f"source {config.name}: brand {brand.name}'s definition holds no word or phrase that every mention of "
                "it has (a prefix* or a filter alone): give the source a GDELT query of its own (query: ...)"
            )
        # GDELT refuses a search for a word under 3 letters: such a word is left to the matching of the articles.
        searchable = [p for p in phrases if len(" ".join(p)) >= MIN_TERM_CHARS]
        if not searchable:
            raise ConfigError(
                f"source {config.name}: brand {brand.name}'s words are all shorter than {MIN_TERM_CHARS} letters, "
                "which GDELT does not search for: give the source a GDELT query of its own (query: ...)"
            )
        terms.update(_term(p) for p in searchable)
    chunks: list[list[str]] = [[]]
    for term in sorted(terms):
        if chunks[-1] and len(" OR ".join([*chunks[-1], term])) + 2 > MAX_QUERY_CHARS:
            chunks.append([])
        chunks[-1].append(term)
    return [f"({' OR '.join(c)})" if len(c) > 1 else c[0] for c in chunks if c]


def seen_time(value: object) -> datetime:
    """An article's ``seendate`` (20230918T031500Z) in UTC; BadItem when it is not one."""
    if isinstance(value, str):
        try:
            return datetime.strptime(value.strip(), SEEN_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            pass
    raise BadItem(f"seendate is {shown(value)}, not a time such as 20230918T031500Z")


def article_item(article: object) -> Item | None:
    """An article as a mention (None when it has no title); BadItem when it is not one."""
    if not isinstance(article, dict):
        raise BadItem(f"the article is {shown(article)}, not an object")
    url = article.get("url")
    if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
        raise BadItem(f"url is {shown(url)}, not a link")
    title = plain(text_field(article.get("title"), "title"))
    if not title:
        return None
    language, country = article.get("language"), article.get("sourcecountry")
    return Item(
        external_id=url,
        text=title,
        created_at=seen_time(article.get("seendate")),
        url=url,
        language=language_code(language) if isinstance(language, str) and language.strip() else None,
        country=country_code(country) if isinstance(country, str) and country.strip() else None,
    )


def _answer(body: bytes, where: str) -> Any:
    """The JSON of an answer. GDELT's is sometimes invalid (a raw control character inside a title): read again
    leniently before giving up."""
    try:
        return load_json(body)
    except ValueError:
        pass
    try:
        return json.loads(body.decode("utf-8", "replace"), strict=False)
    except (ValueError, RecursionError):
        raise SourceError(f"{where} did not send JSON") from None


class GdeltConnector:
    source = "gdelt"

    def __init__(
        self, *, queries: Sequence[str], lookback: timedelta, pause: float, base_url: str, client: SourceClient
    ) -> None:
        self.queries, self.lookback, self.pause = list(queries), lookback, pause
        self.url, self.client = base_url, client
        self._requests = self._answered = 0

    def _time_for_a_request(self) -> bool:
        """Whether a request (after its pause) can end before the poll's deadline."""
        pause = self.pause if self._requests else 0
        return self.client.seconds_left() > pause + self.client.options.timeout_seconds

    def _page(self, query: str, start: datetime, end: datetime, now: datetime) -> list[Any]:
        if self._requests and self.pause:
            time.sleep(self.pause)
        self._requests += 1
        params: dict[str, str | int] = {
            "query": query,
            "mode": "artlist",
            "format": "json",
            "maxrecords": PAGE_SIZE,
            "sort": "datedesc",
            "startdatetime": start.strftime(WINDOW_FORMAT),
            "enddatetime": end.strftime(WINDOW_FORMAT),
        }
        response = self.client.get(self.url, now=now, params=params)
        self._answered += 1
        where = host(self.url)
        if not response.body.lstrip().startswith((b"{", b"[")):
            # GDELT refuses a query it cannot run with a 200 and a line of text or HTML saying why.
            said = " ".join(_TAGS.sub(" ", response.body[:2000].decode("utf-8", "replace")).split())
            raise SourceError(f"{where} refused the search: {said[:200] or 'an empty answer'}")
        answer = _answer(response.body, where)
        if not isinstance(answer, dict):
            raise SourceError(f"{where} sent an answer that is not an object")
        if not answer:
            return []  # {}: no article matched
        articles = answer.get("articles")
        if not isinstance(articles, list):
            raise SourceError(f"{where} sent an answer without an articles list")
        return articles

    def _search(self, query: str, start: datetime, now: datetime, intake: Intake, seen: set[str]) -> datetime | None:
        """One search, newest first, page after page while pages come full (each ending at the oldest article of
        the one before), up to MAX_PAGES and the poll's time: the newest article it admitted."""
        newest: datetime | None = None
        end = now
        for page in range(MAX_PAGES):
            if page and not self._time_for_a_request():
                break
            articles = self._page(query, start, end, now)
            oldest = None
            for article in articles:
                url = article.get("url") if isinstance(article, dict) else None
                if isinstance(url, str) and url in seen:
                    continue  # the page before ended with it: this one ends at its time
                found = intake.admit(article_item, article, id_of=itemgetter("url"))
                if isinstance(url, str):
                    seen.add(url)
                if found is not None and found.created_at is not None:
                    oldest = found.created_at if oldest is None else min(oldest, found.created_at)
                    newest = found.created_at if newest is None else max(newest, found.created_at)
            # A full page: the rest is older; the same search again, ending at this page's oldest article.
            if len(articles) < PAGE_SIZE or oldest is None or oldest >= end or oldest <= start:
                break
            end = oldest
        return newest

    def fetch(self, cursor: Mapping[str, Any], *, now: datetime) -> Fetch:
        self._requests = self._answered = 0
        try:
            mark = fresh_mark(seen_time(cursor.get("seendate")), now=now)
        except BadItem:
            mark = None
        start = now - self.lookback if mark is None else max(mark - OVERLAP, now - self.lookback)
        intake = Intake(now=now)
        seen: set[str] = set()
        # The newest article read. A search that did not run (the poll's time was short, or GDELT asked to wait) holds
        # the cursor where it was, so that the next poll searches its window again.
        newest: datetime | None = mark
        held = False
        backoff = None
        for query in self.queries:
            if backoff is not None or (self._requests and not self._time_for_a_request()):
                held = True
                continue
            try:
                found = self._search(query, start, now, intake, seen)
            except RateLimited as limited:
                if not self._answered:
                    raise
                backoff, held = limited.until, True  # what was read is kept
                continue
            if found is not None:
                newest = found if newest is None else max(newest, found)
        if held:
            newest = mark
        next_cursor = {"seendate": newest.strftime(SEEN_FORMAT)} if newest is not None else {}
        return Fetch(intake.items, next_cursor, backoff_until=backoff, rejected=intake.rejected)


@connector_type("gdelt")
def build(config: GdeltSource, params: dict[str, Any], wiring: Wiring) -> GdeltConnector:
    """The connector of a `gdelt` source of the brands file."""
    return GdeltConnector(
        queries=[params["query"]] if params["query"] is not None else searches(config, wiring.brands),
        lookback=timedelta(hours=config.lookback_hours),
        pause=config.pause_seconds,
        base_url=params["base_url"],
        client=wiring.client,
    )
