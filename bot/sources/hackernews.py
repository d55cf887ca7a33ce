"""Hacker News through Algolia's HN Search API (``search_by_date``): stories and comments matching a query.

Polling follows the API's own advice (../shared/sources/hackernews/): ``numericFilters=created_at_i>X`` from the
newest item seen, newest first, 100 a page. Items reach the index a little after they are posted, so each poll looks
back ``OVERLAP`` before that mark; what it sees twice is stored once (a mention is unique by source and id).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.sources.base import Fetch, Item, SourceError, whole
from bot.sources.feeds import plain
from bot.sources.http import SourceClient, host

PAGE_SIZE = 100
MAX_PAGES = 10  # at most 1,000 items a poll; a busier query should be polled more often
OVERLAP = timedelta(minutes=10)
ITEM_URL = "https://news.ycombinator.com/item?id={}"


def item(hit: Mapping[str, Any]) -> Item | None:
    """A search hit as a mention (None when it has no id, no time or no text)."""
    object_id, created = hit.get("objectID"), whole(hit.get("created_at_i"))
    if not isinstance(object_id, str) or not object_id or created is None:
        return None
    tags = hit.get("_tags")
    if isinstance(tags, list) and "comment" in tags:
        text = plain(str(hit.get("comment_text") or ""))
        link = ITEM_URL.format(object_id)
    else:
        parts = [str(hit.get("title") or ""), plain(str(hit.get("story_text") or ""))]
        text = " — ".join(p.strip() for p in parts if p and p.strip())
        link = str(hit.get("url") or "") or ITEM_URL.format(object_id)
    if not text:
        return None
    author = hit.get("author")
    return Item(
        external_id=object_id,
        text=text,
        created_at=datetime.fromtimestamp(created, tz=UTC),
        url=link,
        author=author if isinstance(author, str) and author else None,
        likes=whole(hit.get("points")),
        replies=whole(hit.get("num_comments")),
    )


class HackerNewsConnector:
    source = "hackernews"

    def __init__(self, *, query: str, tags: str, lookback: timedelta, base_url: str, client: SourceClient) -> None:
        self.query, self.tags, self.lookback = query, tags, lookback
        self.url = base_url.rstrip("/") + "/search_by_date"
        self.client = client

    def _page(self, since: int, page: int, now: datetime) -> dict[str, Any]:
        params: dict[str, str | int] = {
            "query": self.query,
            "tags": self.tags,
            "numericFilters": f"created_at_i>{since}",
            "hitsPerPage": PAGE_SIZE,
            "page": page,
        }
        response = self.client.get(self.url, now=now, params=params)
        try:
            answer = json.loads(response.body)
        except (ValueError, RecursionError):
            raise SourceError(f"{host(self.url)} did not send JSON") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("hits"), list):
            raise SourceError(f"{host(self.url)} sent an answer without a hits list")
        return answer

    def fetch(self, cursor: Mapping[str, Any], *, now: datetime) -> Fetch:
        mark = whole(cursor.get("created_at_i"))
        since = int((now - self.lookback).timestamp()) if mark is None else mark - int(OVERLAP.total_seconds())
        items: list[Item] = []
        newest = mark or 0
        for page in range(MAX_PAGES):
            answer = self._page(since, page, now)
            for hit in answer["hits"]:
                if isinstance(hit, dict) and (found := item(hit)) is not None:
                    items.append(found)
                    newest = max(newest, whole(hit.get("created_at_i")) or 0)
            pages = whole(answer.get("nbPages")) or 0
            if page + 1 >= pages or not answer["hits"]:
                break
        return Fetch(items, {"created_at_i": newest} if newest else dict(cursor))
