"""Mastodon: a hashtag's public timeline (``/api/v1/timelines/tag/:hashtag``, no token by default), or a full-text
search of statuses (``/api/v2/search``, which needs a token: unauthenticated requests cannot search post text).

Polling reads forward from the newest status seen: ``min_id`` gives the page just after it, and the ``Link`` header's
``rel="prev"`` the page after that (../shared/sources/mastodon/: api/guidelines.md). The first poll reads the newest
page only. Boosts are skipped: the boosted post is what is said, and it arrives on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from operator import itemgetter
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from bot.config.sources import MastodonSource
from bot.sources.base import Fetch, Item, SourceError, whole
from bot.sources.feeds import plain
from bot.sources.http import Response, SourceClient, exhausted_until, host
from bot.sources.intake import BadItem, Intake, iso_time, load_json, shown, text_field
from bot.sources.registry import Wiring, connector_type

PAGE_SIZE = 40  # the API's most
MAX_PAGES = 10
MAX_ID = 2**63 - 1


def _id(value: object) -> int | None:
    """Status ids are strings of digits (snowflakes, a bigint on the server): compared as numbers."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    number = int(value)
    return number if number <= MAX_ID else None


def status_item(status: object) -> Item | None:
    """A status as a mention (None for a boost, or one without text); BadItem when it is not one."""
    if not isinstance(status, dict):
        raise BadItem(f"the status is {shown(status)}, not an object")
    if status.get("reblog") is not None:
        return None
    uri = status.get("uri")
    if not isinstance(uri, str) or not uri.strip():
        raise BadItem(f"uri is {shown(uri)}, not a URI")
    when = iso_time(status.get("created_at"), "created_at")
    if when is None:
        raise BadItem("no created_at")
    spoiler = plain(text_field(status.get("spoiler_text"), "spoiler_text"))
    content = plain(text_field(status.get("content"), "content"))
    text = " — ".join(part for part in (spoiler, content) if part)
    if not text:
        return None
    account = status.get("account") if isinstance(status.get("account"), dict) else {}
    assert isinstance(account, dict)
    acct, language, url = account.get("acct"), status.get("language"), status.get("url")
    return Item(
        external_id=uri,
        text=text,
        created_at=when,
        url=url if isinstance(url, str) else uri,
        author=acct if isinstance(acct, str) and acct else None,
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
            answer = load_json(response.body)
        except ValueError:
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
        intake = Intake(now=now)
        next_url: str | None = url
        next_params: dict[str, str | int] | None = params
        backoff = None
        for _ in range(MAX_PAGES):
            assert next_url is not None
            statuses, response = self._get(next_url, next_params, now)
            backoff = exhausted_until(response.headers, now)
            for status in statuses:
                # The id is the server's (its snowflake): the cursor moves past a status rejected for what it holds.
                number = _id(status.get("id")) if isinstance(status, dict) else None
                if number is not None and (newest is None or number > newest):
                    newest = number
                intake.admit(status_item, status, id_of=itemgetter("uri"))
            # Forward from the cursor: the page newer than this one is rel="prev". The first poll stops here.
            following = httpx.Response(200, headers=response.headers).links.get("prev", {}).get("url")
            if not statuses or not following or cursor.get("since_id") is None or backoff is not None:
                break
            if urlsplit(following).netloc != urlsplit(self.instance).netloc:
                raise SourceError(f"{host(url)} sent a next page on another host ({host(following)})")
            next_url, next_params = following, None
        next_cursor = {"since_id": str(newest)} if newest is not None else {}
        return Fetch(intake.items, next_cursor, backoff_until=backoff, rejected=intake.rejected)


@connector_type("mastodon")
def build(config: MastodonSource, params: dict[str, Any], wiring: Wiring) -> MastodonConnector:
    """The connector of a `mastodon` source of the brands file."""
    return MastodonConnector(
        instance=params["instance"],
        hashtag=params["hashtag"],
        query=params["query"],
        token=params["token"],
        client=wiring.client,
    )
