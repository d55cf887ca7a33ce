"""Bluesky search: ``app.bsky.feed.searchPosts`` through the account's PDS, signed in with an app password
(``com.atproto.server.createSession``; public unauthenticated search is mostly disabled, ../shared/sources/bluesky/).

The session's tokens live in this process's memory: the access token is refreshed with the refresh token when the
server says it expired, and a new session is opened when that fails too. Each poll asks for posts ``since`` the
newest one seen (less ``OVERLAP``), newest first, following the opaque ``cursor`` for up to ``MAX_PAGES`` pages.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from bot.config.sources import BlueskySource
from bot.sources.base import Fetch, Item, SourceError, whole
from bot.sources.http import Response, SourceClient, exhausted_until, host
from bot.sources.intake import BadItem, Intake, fresh_mark, iso_time, load_json, shown, text_field
from bot.sources.registry import Wiring, connector_type

PAGE_SIZE = 100
MAX_PAGES = 10
OVERLAP = timedelta(minutes=10)


@dataclass
class _Session:
    access: str
    refresh: str


_sessions: dict[tuple[str, str], _Session] = {}  # (service, handle) -> tokens
_sessions_lock = threading.Lock()


def post_item(post: object) -> Item | None:
    """A ``postView`` as a mention (None for a post without text: an image alone); BadItem when it is not one."""
    if not isinstance(post, dict):
        raise BadItem(f"the post is {shown(post)}, not an object")
    uri, record = post.get("uri"), post.get("record")
    if not isinstance(uri, str) or not uri.startswith("at://") or len(uri.split("/")) < 5:
        raise BadItem(f"uri is {shown(uri)}, not an at:// URI")
    if not isinstance(record, dict):
        raise BadItem(f"record is {shown(record)}, not an object")
    text = text_field(record.get("text"), "text").strip()
    if not text:
        return None
    # createdAt is the author's to write; indexedAt, the server's, stands in only where the author wrote none.
    when = iso_time(record.get("createdAt"), "createdAt") or iso_time(post.get("indexedAt"), "indexedAt")
    if when is None:
        raise BadItem("neither createdAt nor indexedAt")
    author = post.get("author") if isinstance(post.get("author"), dict) else {}
    assert isinstance(author, dict)
    handle = author.get("handle") if isinstance(author.get("handle"), str) else None
    langs = record.get("langs")
    rkey = uri.rsplit("/", 1)[-1]
    return Item(
        external_id=uri,
        text=text,
        created_at=when,
        url=f"https://bsky.app/profile/{handle or uri.split('/')[2]}/post/{rkey}",
        author=handle,
        language=langs[0][:16] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        likes=whole(post.get("likeCount")),
        reposts=whole(post.get("repostCount")),
        replies=whole(post.get("replyCount")),
    )


class BlueskyConnector:
    source = "bluesky"

    def __init__(
        self,
        *,
        query: str,
        handle: str,
        app_password: str,
        lang: str | None,
        lookback: timedelta,
        service: str,
        client: SourceClient,
    ) -> None:
        self.query, self.handle, self.password, self.lang, self.lookback = query, handle, app_password, lang, lookback
        self.service, self.client = service, client
        self.key = (service, handle)

    def _json(self, response: Response) -> dict[str, Any]:
        try:
            answer = load_json(response.body)
        except ValueError:
            raise SourceError(f"{host(self.service)} did not send JSON") from None
        if not isinstance(answer, dict):
            raise SourceError(f"{host(self.service)} sent an answer that is not an object")
        return answer

    def _store(self, answer: Mapping[str, Any]) -> _Session:
        access, refresh = answer.get("accessJwt"), answer.get("refreshJwt")
        if not isinstance(access, str) or not isinstance(refresh, str):
            raise SourceError(f"{host(self.service)} sent no session tokens")
        session = _Session(access, refresh)
        with _sessions_lock:
            if len(_sessions) > 100:
                _sessions.clear()
            _sessions[self.key] = session
        return session

    def _login(self, now: datetime) -> _Session:
        try:
            response = self.client.request(
                "POST",
                f"{self.service}/xrpc/com.atproto.server.createSession",
                now=now,
                json={"identifier": self.handle, "password": self.password},
            )
        except SourceError as exc:
            if exc.status in (400, 401):
                raise SourceError(f"{host(self.service)} refused the handle or app password ({exc})") from None
            raise
        return self._store(self._json(response))

    def _renew(self, session: _Session, now: datetime) -> _Session:
        try:
            response = self.client.request(
                "POST",
                f"{self.service}/xrpc/com.atproto.server.refreshSession",
                now=now,
                headers={"Authorization": f"Bearer {session.refresh}"},
            )
        except SourceError as exc:
            if exc.status in (400, 401):
                return self._login(now)  # the refresh token expired or was revoked too
            raise
        return self._store(self._json(response))

    def _search(self, params: dict[str, str | int], now: datetime) -> tuple[dict[str, Any], Response]:
        with _sessions_lock:
            session = _sessions.get(self.key)
        if session is None:
            session = self._login(now)
        url = f"{self.service}/xrpc/app.bsky.feed.searchPosts"
        for attempt in range(2):
            try:
                response = self.client.get(
                    url, now=now, headers={"Authorization": f"Bearer {session.access}"}, params=params
                )
                break
            except SourceError as exc:
                if exc.status not in (400, 401) or attempt:
                    raise
                session = self._renew(session, now)  # ExpiredToken: the access token lives minutes
        answer = self._json(response)
        if not isinstance(answer.get("posts"), list):
            raise SourceError(f"{host(self.service)} sent an answer without a posts list")
        return answer, response

    def fetch(self, cursor: Mapping[str, Any], *, now: datetime) -> Fetch:
        try:
            mark = fresh_mark(iso_time(cursor.get("created_at"), "the cursor"), now=now)
        except BadItem:
            mark = None
        since = now - self.lookback if mark is None else mark - OVERLAP
        params: dict[str, str | int] = {
            "q": self.query,
            "sort": "latest",
            "limit": PAGE_SIZE,
            "since": since.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        if self.lang:
            params["lang"] = self.lang
        intake = Intake(now=now)
        backoff = None
        for _ in range(MAX_PAGES):
            answer, response = self._search(params, now)
            backoff = exhausted_until(response.headers, now)
            for post in answer["posts"]:
                intake.admit(post_item, post, id_of=itemgetter("uri"))
            page_cursor = answer.get("cursor")
            if not answer["posts"] or not isinstance(page_cursor, str) or not page_cursor or backoff is not None:
                break
            params = {**params, "cursor": page_cursor}
        newest = max(filter(None, (mark, intake.newest)), default=None)
        next_cursor = {"created_at": newest.isoformat()} if newest is not None else {}
        return Fetch(intake.items, next_cursor, backoff_until=backoff, rejected=intake.rejected)


@connector_type("bluesky")
def build(config: BlueskySource, params: dict[str, Any], wiring: Wiring) -> BlueskyConnector:
    """The connector of a `bluesky` source of the brands file."""
    return BlueskyConnector(
        query=params["query"],
        handle=params["handle"],
        app_password=params["app_password"],
        lang=params["lang"],
        lookback=timedelta(hours=config.lookback_hours),
        service=params["service"],
        client=wiring.client,
    )
