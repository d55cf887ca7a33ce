"""Reddit: posts matching a query, newest first (``/search`` or ``/r/{sub}/search`` with ``sort=new``), with an
app-only OAuth token (``client_credentials``; ../shared/sources/reddit/).

Each poll pages back (``after``) from the newest post until it meets posts older than the newest one seen (less
``OVERLAP``), at most ``MAX_PAGES`` pages. Tokens live in this process's memory until they expire, never in the
database or the log.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.sources.base import Fetch, Item, SourceError
from bot.sources.http import Response, SourceClient, exhausted_until, host

PAGE_SIZE = 100
MAX_PAGES = 10
OVERLAP = timedelta(minutes=10)

_tokens: dict[tuple[str, str], tuple[str, datetime]] = {}  # (token URL, client id) -> (token, expiry)
_tokens_lock = threading.Lock()


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def post_item(data: Mapping[str, Any]) -> Item | None:
    """A ``t3`` listing child's data as a mention (None without a name, a time or text)."""
    name, created = data.get("name"), _number(data.get("created_utc"))
    if not isinstance(name, str) or not name or created is None:
        return None
    title, body = str(data.get("title") or "").strip(), str(data.get("selftext") or "").strip()
    text = " — ".join(part for part in (title, body) if part)
    if not text:
        return None
    permalink = data.get("permalink")
    author = data.get("author")
    score, comments = _number(data.get("score")), _number(data.get("num_comments"))
    return Item(
        external_id=name,
        text=text,
        created_at=datetime.fromtimestamp(created, tz=UTC),
        url=f"https://www.reddit.com{permalink}" if isinstance(permalink, str) and permalink.startswith("/") else None,
        author=author if isinstance(author, str) and author and author != "[deleted]" else None,
        likes=int(score) if score is not None else None,
        replies=int(comments) if comments is not None else None,
    )


class RedditConnector:
    source = "reddit"

    def __init__(
        self,
        *,
        query: str,
        subreddit: str | None,
        client_id: str,
        client_secret: str,
        user_agent: str,
        lookback: timedelta,
        token_url: str,
        api_url: str,
        client: SourceClient,
    ) -> None:
        self.query, self.subreddit, self.lookback = query, subreddit, lookback
        self.client_id, self.client_secret, self.user_agent = client_id, client_secret, user_agent
        self.token_url, self.client = token_url, client
        self.url = f"{api_url}/r/{subreddit}/search" if subreddit else f"{api_url}/search"

    def _token(self, now: datetime, *, fresh: bool = False) -> str:
        key = (self.token_url, self.client_id)
        with _tokens_lock:
            cached = _tokens.get(key)
        if cached is not None and cached[1] > now and not fresh:
            return cached[0]
        try:
            response = self.client.request(
                "POST",
                self.token_url,
                now=now,
                headers={"User-Agent": self.user_agent},
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret),
            )
        except SourceError as exc:
            if exc.status in (400, 401, 403):
                raise SourceError(f"{host(self.token_url)} refused the client id or secret ({exc})") from None
            raise
        try:
            answer = json.loads(response.body)
            token, lifetime = str(answer["access_token"]), float(answer.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError, RecursionError):
            raise SourceError(f"{host(self.token_url)} sent no access token") from None
        with _tokens_lock:
            if len(_tokens) > 100:
                _tokens.clear()
            _tokens[key] = (token, now + timedelta(seconds=max(0.0, lifetime - 60)))
        return token

    def _page(self, after: str | None, now: datetime) -> tuple[dict[str, Any], Response]:
        params: dict[str, str | int] = {"q": self.query, "sort": "new", "t": "all", "limit": PAGE_SIZE, "raw_json": 1}
        if self.subreddit:
            params["restrict_sr"] = 1
        if after:
            params["after"] = after
        for attempt in range(2):
            headers = {"Authorization": f"bearer {self._token(now, fresh=attempt > 0)}", "User-Agent": self.user_agent}
            try:
                response = self.client.get(self.url, now=now, headers=headers, params=params)
                break
            except SourceError as exc:
                if exc.status != 401 or attempt:
                    raise  # a 401 with a cached token: it expired or was revoked; one fresh token, once
        try:
            listing = json.loads(response.body)
            data = listing["data"]
            if not isinstance(data.get("children"), list):
                raise TypeError
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise SourceError(f"{host(self.url)} sent an answer that is not a listing") from None
        return data, response

    def fetch(self, cursor: Mapping[str, Any], *, now: datetime) -> Fetch:
        mark = _number(cursor.get("created_utc"))
        since = (now - self.lookback).timestamp() if mark is None else mark - OVERLAP.total_seconds()
        items: list[Item] = []
        newest = mark or 0.0
        after: str | None = None
        backoff = None
        for _ in range(MAX_PAGES):
            data, response = self._page(after, now)
            backoff = exhausted_until(response.headers, now)
            reached = False
            for child in data["children"]:
                post = child.get("data") if isinstance(child, dict) else None
                if not isinstance(post, dict) or (found := post_item(post)) is None or found.created_at is None:
                    continue
                stamp = found.created_at.timestamp()
                if stamp <= since:
                    reached = True  # newest first: the rest is older still
                    continue
                items.append(found)
                newest = max(newest, stamp)
            after = data.get("after") if isinstance(data.get("after"), str) else None
            if reached or not after or backoff is not None:
                break
        return Fetch(items, {"created_utc": newest} if newest else dict(cursor), backoff_until=backoff)
