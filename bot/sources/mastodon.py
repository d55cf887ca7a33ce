"""Mastodon: a hashtag's public timeline (``/api/v1/timelines/tag/:hashtag``, no token by default), or a full-text
search of statuses (``/api/v2/search``, which needs a token: unauthenticated requests cannot search post text).

Polling reads forward from the newest status seen: ``min_id`` gives the page just after it, and the ``Link`` header's
``rel="prev"`` the page after that (../shared/sources/mastodon/: api/guidelines.md). The first poll reads the newest
page only. Boosts are skipped: the boosted post is what is said, and it arrives on its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from bot.sources.base import Fetch, Item, SourceError, iso_time, whole
from bot.sources.feeds import plain
from bot.sources.http import Response, SourceClient, exhausted_until, host

PAGE_SIZE = 40  # the API's most
MAX_PAGES = 10


def _id(value: object) -> int | None:
    """Status ids are strings of digits (snowflakes): compared as numbers."""
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) <= 20 else None


def status_item(status: Mapping[str, Any]) -> Item | None:
    """A status as a mention (None for a boost, or one without an id, a time or text)."""
    if status.get("reblog") is not None:
        return None
    uri, created = status.get("uri"), status.get("created_at")
    if not isinstance(uri, str) or not uri or not isinstance(created, str):
        return None
    when = iso_time(created)
    if when is None:
        return None
    spoiler = plain(str(status.get("spoiler_text") or ""))
    text = " — ".join(part for part in (spoiler, plain(str(status.get("content") or ""))) if part)
    if not text:
        return None
    account = status.get("account") if isinstance(status.get("account"), dict) else {}
    assert isinstance(account, dict)
    language = status.get("language")
    return Item(
        external_id=uri,
        text=text,
        created_at=when,
        url=status.get("url") if isinstance(status.get("url"), str) else uri,
        author=str(account.get("acct"))[:255] if account.get("acct") else None,
        language=language[:16] if isinstance(language, str) and language else None,
        likes=whole(status.get("favourites_count")),
        reposts=whole(status.get("reblogs_count")),
        replies=whole(status.get("replies_count")),
        author_followers=whole(account.get("followers_count")),
    )


class MastodonConnector:
    source = "mastodon"

    def __init__(
        self, *, instance: str, hashtag: str | None, query: str | None, token: str | None, client: SourceClient
    ) -> None:
        self.instance, self.hashtag, self.query, self.client = instance, hashtag, query, client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _get(self, url: str, params: dict[str, str | int] | None, now: datetime) -> tuple[list[Any], Response]:
        # params=None keeps a Link URL's own query (an empty mapping would replace it with nothing)
        response = self.client.get(url, now=now, headers=self.headers, params=params)
        try:
            answer = json.loads(response.body)
        except (ValueError, RecursionError):
            raise SourceError(f"{host(url)} did not send JSON") from None
        statuses = answer.get("statuses") if isinstance(answer, dict) and self.query is not None else answer
        if not isinstance(statuses, list):
            raise SourceError(f"{host(url)} sent an answer that is not a list of statuses")
        return statuses, response

    def fetch(self, cursor: Mapping[str, Any], *, now: datetime) -> Fetch:
        if self.hashtag is not None:
            url = f"{self.instance}/api/v1/timelines/tag/{quote(self.hashtag, safe='')}"
            params: dict[str, str | int] = {"limit": PAGE_SIZE}
        else:
            url = f"{self.instance}/api/v2/search"
            params = {"q": self.query or "", "type": "statuses", "limit": PAGE_SIZE}
        newest = _id(cursor.get("since_id"))
        if newest is not None:
            params["min_id"] = str(newest)
        items: list[Item] = []
        next_url: str | None = url
        next_params: dict[str, str | int] | None = params
        backoff = None
        for _ in range(MAX_PAGES):
            assert next_url is not None
            statuses, response = self._get(next_url, next_params, now)
            backoff = exhausted_until(response.headers, now)
            for status in statuses:
                if not isinstance(status, dict):
                    continue
                number = _id(status.get("id"))
                if number is not None and (newest is None or number > newest):
                    newest = number
                if (found := status_item(status)) is not None:
                    items.append(found)
            # Forward from the cursor: the page newer than this one is rel="prev". The first poll stops here.
            following = httpx.Response(200, headers=response.headers).links.get("prev", {}).get("url")
            if not statuses or not following or cursor.get("since_id") is None or backoff is not None:
                break
            if urlsplit(following).netloc != urlsplit(self.instance).netloc:
                raise SourceError(f"{host(url)} sent a next page on another host ({host(following)})")
            next_url, next_params = following, None
        next_cursor = {"since_id": str(newest)} if newest is not None else dict(cursor)
        return Fetch(items, next_cursor, backoff_until=backoff)
