"""A fake Bluesky PDS on the loopback server, built from ../shared/sources/bluesky/: createSession and refreshSession
(lexicons com.atproto.server.*), searchPosts (lexicon app.bsky.feed.searchPosts: q, sort=latest, since, limit at
most 100, an opaque cursor; {posts, cursor}) whose posts are the recorded production postView of the Python SDK's
test data with their own uri, text and time, found by the AppView's sort time (the earlier of the author's createdAt
and the server's indexedAt, whatever the author wrote); an expired access token is 400 ExpiredToken (XRPC error
JSON); the xrpc-server's RateLimit-* headers (reset in Unix seconds). ``hostile`` items are sent as they are, first
on the first page of every answer."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support import rawjson
from tests.support.feeds import FeedServer, Route, Seen

RECORDED = (
    Path(__file__).resolve().parents[3]
    / "shared/sources/bluesky/marshalx-atproto/tests/test_atproto_client/models/test_data/thread_view_post_with_embed_media.json"
)


def recorded_post() -> dict[str, Any]:
    post = json.loads(RECORDED.read_text(encoding="utf-8"))["thread"]["post"]
    assert isinstance(post, dict)
    return post


@dataclass
class FakeBluesky:
    handle: str = "brand.example.com"
    password: str = "abcd-efgh-ijkl-mnop"
    posts: list[dict[str, Any]] = field(default_factory=list)
    sessions_created: int = 0
    refreshed: int = 0
    expired: set[str] = field(default_factory=set)  # access tokens the server now calls expired
    remaining: int = 3000
    reset_at: int = 0
    hostile: list[Any] = field(default_factory=list)
    _template: dict[str, Any] = field(default_factory=recorded_post)
    _issued: dict[str, str] = field(default_factory=dict)  # refresh token -> access token

    def install(self, server: FeedServer) -> str:
        server.routes["/xrpc/com.atproto.server.createSession"] = Route(handler=self.create_session)
        server.routes["/xrpc/com.atproto.server.refreshSession"] = Route(handler=self.refresh_session)
        server.routes["/xrpc/app.bsky.feed.searchPosts"] = Route(handler=self.search)
        return server.url

    def post(
        self, rkey: str, at: datetime, text: str, *, likes: int = 0, indexed_at: datetime | None = None
    ) -> dict[str, Any]:
        post = copy.deepcopy(self._template)
        did = post["author"]["did"]
        post["uri"] = f"at://{did}/app.bsky.feed.post/{rkey}"
        post["record"] = {
            "$type": "app.bsky.feed.post",
            "createdAt": at.isoformat().replace("+00:00", "Z"),
            "langs": ["en"],
            "text": text,
        }
        post["likeCount"], post["repostCount"], post["replyCount"] = likes, 1, 2
        post["indexedAt"] = (indexed_at or at).isoformat().replace("+00:00", "Z")
        self.posts.append(post)
        return post

    @staticmethod
    def _error(status: int, name: str, message: str) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps({"error": name, "message": message}).encode()

    def _tokens(self) -> tuple[int, dict[str, str], bytes]:
        n = self.sessions_created + self.refreshed
        access, refresh = f"access-{n}", f"refresh-{n}"
        self._issued[refresh] = access
        body = {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": self.handle,
            "did": "did:plc:brand",
            "active": True,
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def create_session(self, request: Seen) -> tuple[int, dict[str, str], bytes]:
        given = json.loads(request.body or b"{}")
        if given.get("identifier") != self.handle or given.get("password") != self.password:
            return self._error(401, "AuthenticationRequired", "Invalid identifier or password")
        self.sessions_created += 1
        return self._tokens()

    def refresh_session(self, request: Seen) -> tuple[int, dict[str, str], bytes]:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self._issued:
            return self._error(400, "ExpiredToken", "Token has expired")
        del self._issued[token]
        self.refreshed += 1
        return self._tokens()

    def search(self, request: Seen) -> tuple[int, dict[str, str], bytes]:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self._issued.values():
            return self._error(401, "AuthenticationRequired", "Authentication Required")
        if token in self.expired:
            return self._error(400, "ExpiredToken", "Token has expired")
        self.remaining -= 1
        headers = {
            "Content-Type": "application/json",
            "RateLimit-Limit": "3000",
            "RateLimit-Remaining": str(max(self.remaining, 0)),
            "RateLimit-Reset": str(self.reset_at),
            "RateLimit-Policy": "3000;w=300",
        }
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}
        if not query.get("q"):
            return self._error(400, "InvalidRequest", 'Error: Params must have the property "q"')
        words = query["q"].lower().split()
        found = [p for p in self.posts if all(w in _text(p).lower() for w in words)]
        if "since" in query:
            since = datetime.fromisoformat(query["since"].replace("Z", "+00:00"))
            found = [p for p in found if _sort_at(p) >= since]
        found.sort(key=_sort_at, reverse=True)
        start = int(query.get("cursor", "0"))
        limit = max(1, min(int(query.get("limit", "25")), 100))
        page = found[start : start + limit]
        if start == 0:
            page = [*self.hostile, *page]
        body: dict[str, Any] = {"posts": page, "hitsTotal": len(found)}
        if start + limit < len(found):
            body["cursor"] = str(start + limit)
        return 200, headers, rawjson.dumps(body).encode()


def _text(post: dict[str, Any]) -> str:
    record = post.get("record")
    text = record.get("text") if isinstance(record, dict) else None
    return text if isinstance(text, str) else rawjson.dumps(record)


def _sort_at(post: dict[str, Any]) -> datetime:
    """The AppView's sortAt: the earlier of createdAt (when it reads as a time) and indexedAt."""
    indexed = datetime.fromisoformat(post["indexedAt"].replace("Z", "+00:00"))
    record = post.get("record")
    created = record.get("createdAt") if isinstance(record, dict) else None
    try:
        return min(indexed, datetime.fromisoformat(str(created).replace("Z", "+00:00")))
    except (ValueError, TypeError, OverflowError):
        return indexed


SEARCH = "/xrpc/app.bsky.feed.searchPosts"


def source(url: str, handle: str = "brand.example.com") -> str:
    return (
        f"  - {{name: sky, type: bluesky, query: acmephone, handle: {handle}, app_password: '${{BRANDPULSE_SOURCE_BSKY_APP_PASSWORD}}',"
        f" service: '{url}'}}\n"
    )
