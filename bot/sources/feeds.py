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

from bot.sources.base import Fetch, Item, SourceError, external_id
from bot.sources.http import SourceClient, host

# A feed's entry text: its title and summary, cut here (an article's full content is not a mention).
MAX_TEXT = 2_000


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
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        moment = entry.get(key)
        if isinstance(moment, time.struct_time):
            try:
                return datetime.fromtimestamp(calendar.timegm(moment), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
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
        items: list[Item] = []
        for entry in parsed.entries:
            text = entry_text(entry)
            if not text:
                continue  # nothing to say
            entry_id = self._entry_id(entry, text)
            author = str(entry.get("author") or "").strip()[:255] or None
            link = str(entry.get("link") or "").strip() or None
            items.append(
                Item(
                    external_id=entry_id,
                    text=text,
                    created_at=_when(entry),
                    url=link,
                    author=author,
                    language=_language(entry.get("language")) or language,
                )
            )
        next_cursor = {
            "etag": response.headers.get("etag"),
            "modified": response.headers.get("last-modified"),
        }
        return Fetch(items, {k: v for k, v in next_cursor.items() if v})
