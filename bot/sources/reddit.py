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
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from bot.config.sources import RedditSource
from bot.sources.base import Fetch, Item, SourceError
from bot.sources.http import Response, SourceClient, exhausted_until, host
from bot.sources.intake import PARTLY_READ, BadItem, Intake, count, epoch_time, fresh_mark, load_json, shown, text_field
from bot.sources.registry import Wiring, connector_type

PAGE_SIZE = 100
MAX_PAGES = 10
OVERLAP = timedelta(minutes=10)

_tokens: dict[tuple[str, str], tuple[str, datetime]] = {}  # (token URL, client id) -> (token, expiry)
_tokens_lock = threading.Lock()


def post_item(data: object) -> Item | None:
    """A ``t3`` listing child's data as a mention (None without text); BadItem when it is not one."""
    if not isinstance(data, dict):
        raise BadItem(f"the post is {shown(data)}, not an object")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise BadItem(f"name is {shown(name)}, not a fullname")
    created = epoch_time(data.get("created_utc"), "created_utc")
    title = text_field(data.get("title"), "title").strip()
    body = text_field(data.get("selftext"), "selftext").strip()
    text = " — ".join(part for part in (title, body) if part)
    if not text:
        return None
    permalink = data.get("permalink")
    author = data.get("author")
    return Item(
        external_id=name,
        text=text,
        created_at=created,
        url=f"https://www.reddit.com{permalink}" if isinstance(permalink, str) and permalink.startswith("/") else None,
        author=author if isinstance(author, str) and author and author != "[deleted]" else None,
        likes=count(data.get("score")),
        replies=count(data.get("num_comments")),
    )


def _child_data(child: object) -> object:
    """A listing child's data (the child itself when it has none, for the door to say what is wrong with it)."""
    return child.get("data") if isinstance(child, dict) and not isinstance(child, PARTLY_READ) else child


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
            listing = load_json(response.body)
            data = listing["data"]
            if not isinstance(data.get("children"), list):
                raise TypeError
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise SourceError(f"{host(self.url)} sent an answer that is not a listing") from None
        return data, response

    def fetch(self, cursor: Mapping[str, Any], *, now: datetime) -> Fetch:
        try:
            mark = fresh_mark(epoch_time(cursor.get("created_utc"), "the cursor"), now=now)
        except BadItem:
            mark = None
        since = now - self.lookback if mark is None else mark - OVERLAP
        intake = Intake(now=now)
        after: str | None = None
        backoff = None
        reached = False

        def recent(found: Item) -> bool:
            nonlocal reached
            if found.created_at is not None and found.created_at <= since:
                reached = True  # newest first: the rest is older still
                return False
            return True

        for _ in range(MAX_PAGES):
            data, response = self._page(after, now)
            backoff = exhausted_until(response.headers, now)
            for child in data["children"]:
                intake.admit(post_item, _child_data(child), id_of=itemgetter("name"), wanted=recent)
            after = data.get("after") if isinstance(data.get("after"), str) else None
            if reached or not after or backoff is not None:
                break
        newest = max(filter(None, (mark, intake.newest)), default=None)
        return Fetch(
            intake.items,
            {"created_utc": newest.timestamp()} if newest is not None else {},
            backoff_until=backoff,
            rejected=intake.rejected,
        )


@connector_type("reddit")
def build(config: RedditSource, params: dict[str, Any], wiring: Wiring) -> RedditConnector:
    """The connector of a `reddit` source of the brands file."""
    return RedditConnector(
        query=params["query"],
        subreddit=params["subreddit"],
        client_id=params["client_id"],
        client_secret=params["client_secret"],
        user_agent=params["user_agent"],
        lookback=timedelta(hours=config.lookback_hours),
        token_url=params["token_url"],
        api_url=params["api_url"],
        client=wiring.client,
    )
