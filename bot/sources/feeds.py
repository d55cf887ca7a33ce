"""RSS and Atom feeds (a Google News search is one): fetched with conditional GET, parsed by feedparser.

The cursor keeps the feed's ETag and Last-Modified, so an unchanged feed costs a 304 and no parsing. Entries seen
before are stored once all the same: a mention is unique by (source, external id).
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import feedparser

from bot.config.sources import FeedSource
from bot.sources.base import Fetch, Item, SourceError, external_id
from bot.sources.http import SourceClient, host
from bot.sources.intake import BadItem, Intake
from bot.sources.registry import Wiring, connector_type

# A feed's entry text: its title and summary, cut here (an article's full content is not a mention).
MAX_TEXT = 2_000
# The longest ETag or Last-Modified kept in the cursor (a longer one is not sent back: the feed is fetched whole).
MAX_VALIDATOR_CHARS = 1_000


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain(html: str) -> str:
    """The text of an HTML fragment, whitespace folded."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def _when(entry: Mapping[str, Any]) -> datetime | None:
    """The entry's time (feedparser's, in UTC): None when it gives none it could read; BadItem when the one it gives
    is in no calendar (9999-12-31T23:59:59-23:59 is in the year 10000 in UTC)."""
    given = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # ``in`` first: feedparser's get() of a missing updated_parsed warns, then answers with published_parsed.
        moment = entry.get(key) if key in entry else None
        if isinstance(moment, time.struct_time):
            try:
                return datetime.fromtimestamp(calendar.timegm(moment), tz=UTC)
            except (OverflowError, ValueError, OSError):
                given = given or (key.removesuffix("_parsed"), moment)
    if given is not None:
        key, moment = given
        shown = (
            f"{moment.tm_year:04d}-{moment.tm_mon:02d}-{moment.tm_mday:02d}T{moment.tm_hour:02d}:{moment.tm_min:02d}"
        )
        raise BadItem(f"time: {key} {shown} UTC is in no calendar a mention can have")
    return None


def _language(value: object) -> str | None:
    """'en-US' -> 'en'; None when the feed does not say."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().split("-")[0].split("_")[0].lower()[:16] or None


def entry_text(entry: Mapping[str, Any]) -> str:
    title = plain(str(entry.get("title") or ""))
    summary = plain(str(entry.get("summary") or ""))
    if set(re.findall(r"\w+", summary.lower())) <= set(re.findall(r"\w+", title.lower())):
        summary = ""  # Google News's description repeats the title and the outlet
    elif summary.startswith(title):
        title = ""
    return " — ".join(part for part in (title, summary) if part)[:MAX_TEXT]


class FeedConnector:
    source = "feed"

    def __init__(self, *, url: str, client: SourceClient) -> None:
        self.url = url
        self.client = client

    def _entry_id(self, entry: Mapping[str, Any], text: str) -> str:
        """The entry's id, made global: a guid such as '42' is only unique within its feed, and an entry with
        neither id nor link is known by its text."""
        value = str(entry.get("id") or entry.get("link") or "").strip()
        if ":" in value:  # a URL or a URN: unique as it is
            return external_id(value)
        parts = urlsplit(self.url)  # the feed's address without its query, which may hold a token
        feed = f"{parts.scheme}://{parts.netloc}{parts.path}"
        if value:
            return external_id(f"{feed}#{value}")
        return "sha256:" + hashlib.sha256(f"{feed}\n{text}".encode("utf-8", "replace")).hexdigest()

    def fetch(self, cursor: Mapping[str, Any], *, now: datetime) -> Fetch:
        headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"}
        if cursor.get("etag"):
            headers["If-None-Match"] = str(cursor["etag"])
        if cursor.get("modified"):
            headers["If-Modified-Since"] = str(cursor["modified"])
        response = self.client.get(self.url, now=now, headers=headers)
        if response.status == 304:
            return Fetch([], dict(cursor))
        # httpx has already undone any Content-Encoding; the location lets feedparser resolve relative links.
        response_headers = {k.lower(): v for k, v in response.headers.items() if k.lower() != "content-encoding"}
        response_headers["content-location"] = response.url
        parsed = feedparser.parse(response.body, response_headers=response_headers)
        if parsed.bozo and not parsed.entries and not parsed.get("version"):  # ill-formed, and no feed in it
            reason = getattr(parsed.get("bozo_exception"), "getMessage", lambda: None)() or str(
                parsed.get("bozo_exception") or "unknown problem"
            )
            raise SourceError(f"{host(self.url)} did not send a feed: {reason}"[:300])
        language = _language(parsed.feed.get("language"))
        intake = Intake(now=now)
        for entry in parsed.entries:
            intake.admit(lambda e: self._item(e, language), entry, id_of=_given_id)
        # The validators are the server's, sent back as they came: only their size is ours to bound.
        next_cursor = {
            "etag": response.headers.get("etag"),
            "modified": response.headers.get("last-modified"),
        }
        kept = {k: v for k, v in next_cursor.items() if v and len(v) <= MAX_VALIDATOR_CHARS}
        return Fetch(intake.items, kept, rejected=intake.rejected)

    def _item(self, entry: Mapping[str, Any], language: str | None) -> Item | None:
        text = entry_text(entry)
        if not text:
            return None  # nothing to say
        return Item(
            external_id=self._entry_id(entry, text),
            text=text,
            created_at=_when(entry),
            url=str(entry.get("link") or "").strip() or None,
            author=str(entry.get("author") or "").strip() or None,
            language=_language(entry.get("language")) or language,
        )


def _given_id(entry: Mapping[str, Any]) -> object:
    return entry.get("id") or entry.get("link")


@connector_type("feed")
def build(config: FeedSource, params: dict[str, Any], wiring: Wiring) -> FeedConnector:
    """The connector of a `feed` source of the brands file."""
    return FeedConnector(url=params["url"], client=wiring.client)
