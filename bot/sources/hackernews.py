"""Hacker News through Algolia's HN Search API (``search_by_date``): stories and comments matching a query.

Polling follows the API's own advice (../shared/sources/hackernews/): ``numericFilters=created_at_i>X`` from the
newest item seen, newest first, 100 a page. Items reach the index a little after they are posted, so each poll looks
back ``OVERLAP`` before that mark; what it sees twice is stored once (a mention is unique by source and id).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from bot.config.sources import HackerNewsSource
from bot.sources.base import Fetch, Item, SourceError, whole
from bot.sources.feeds import plain
from bot.sources.http import SourceClient, host
from bot.sources.intake import BadItem, Intake, epoch_time, fresh_mark, load_json, shown, text_field
from bot.sources.registry import Wiring, connector_type

PAGE_SIZE = 100
MAX_PAGES = 10  # at most 1,000 items a poll; a busier query should be polled more often
OVERLAP = timedelta(minutes=10)
ITEM_URL = "https://news.ycombinator.com/item?id={}"


def item(hit: object) -> Item | None:
    """A search hit as a mention (None when it has no text); BadItem when it is not one."""
    if not isinstance(hit, dict):
        raise BadItem(f"the hit is {shown(hit)}, not an object")
    object_id = hit.get("objectID")
    if not isinstance(object_id, str) or not object_id.strip():
        raise BadItem(f"objectID is {shown(object_id)}, not an id")
    created = hit.get("created_at_i")
    if not isinstance(created, int) or isinstance(created, bool):
        raise BadItem(f"created_at_i is {shown(created)}, not a time in Unix seconds")
    when = epoch_time(created, "created_at_i")
    tags = hit.get("_tags")
    if isinstance(tags, list) and "comment" in tags:
        text = plain(text_field(hit.get("comment_text"), "comment_text"))
        link = ITEM_URL.format(object_id)
    else:
        title = text_field(hit.get("title"), "title")
        story = plain(text_field(hit.get("story_text"), "story_text"))
        text = " — ".join(p.strip() for p in (title, story) if p and p.strip())
        url = hit.get("url")
        link = url if isinstance(url, str) and url else ITEM_URL.format(object_id)
    if not text:
        return None
    author = hit.get("author")
    return Item(
        external_id=object_id,
        text=text,
        created_at=when,
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
            answer = load_json(response.body)
        except ValueError:
            raise SourceError(f"{host(self.url)} did not send JSON") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("hits"), list):
            raise SourceError(f"{host(self.url)} sent an answer without a hits list")
        return answer

    def fetch(self, cursor: Mapping[str, Any], *, now: datetime) -> Fetch:
        try:
            mark = fresh_mark(epoch_time(cursor.get("created_at_i"), "the cursor"), now=now)
        except BadItem:
            mark = None
        since = int((now - self.lookback if mark is None else mark - OVERLAP).timestamp())
        intake = Intake(now=now)
        for page in range(MAX_PAGES):
            answer = self._page(since, page, now)
            for hit in answer["hits"]:
                intake.admit(item, hit, id_of=itemgetter("objectID"))
            pages = whole(answer.get("nbPages")) or 0
            if page + 1 >= pages or not answer["hits"]:
                break
        newest = max(filter(None, (mark, intake.newest)), default=None)
        next_cursor = {"created_at_i": int(newest.timestamp())} if newest is not None else {}
        return Fetch(intake.items, next_cursor, rejected=intake.rejected)


@connector_type("hackernews")
def build(config: HackerNewsSource, params: dict[str, Any], wiring: Wiring) -> HackerNewsConnector:
    """The connector of a `hackernews` source of the brands file."""
    return HackerNewsConnector(
        query=params["query"],
        tags=params["tags"],
        lookback=timedelta(hours=config.lookback_hours),
        base_url=params["base_url"],
        client=wiring.client,
    )
