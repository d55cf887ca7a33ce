"""A fake Reddit on the loopback server, built from ../shared/sources/reddit/: the token endpoint (HTTP Basic client
id and secret, ``grant_type=client_credentials``, answering like the recorded token response) and ``/search`` and
``/r/{sub}/search`` (bearer token required, ``sort=new``, ``limit`` at most 100, ``after`` fullnames, a Listing)
serving the 31 real posts of asyncpraw's recorded search (TestSubreddit.test_search.json), their times moved to
end just before the test's clock; ``x-ratelimit-*`` headers as Reddit writes them (remaining as a decimal).
``hostile`` listing children are sent as they are, first on the first page of every answer."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support import rawjson
from tests.support.feeds import FeedServer, Route, Seen

CASSETTE = (
    Path(__file__).resolve().parents[3]
    / "shared/sources/reddit/asyncpraw/tests/integration/cassettes/TestSubreddit.test_search.json"
)


def recorded_posts() -> list[dict[str, Any]]:
    """The t3 children of the recorded search answer."""
    interactions = json.loads(CASSETTE.read_text(encoding="utf-8"))["interactions"]
    listing = json.loads(interactions[-1]["response"]["body"]["string"])
    return [child["data"] for child in listing["data"]["children"] if child["kind"] == "t3"]


@dataclass
class FakeReddit:
    client_id: str = "app-id"
    client_secret: str = "app-secret"
    remaining: float = 600.0
    reset_seconds: int = 120
    posts: list[dict[str, Any]] = field(default_factory=list)
    tokens_issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    hostile: list[Any] = field(default_factory=list)

    def install(self, server: FeedServer) -> str:
        server.routes["/api/v1/access_token"] = Route(handler=self.token)
        server.routes["/search"] = Route(handler=self.search)
        for sub in {str(p["subreddit"]) for p in self.posts}:
            server.routes[f"/r/{sub}/search"] = Route(handler=self.search)
        return server.url

    def load_recorded(self, newest: datetime) -> None:
        """The recorded posts, newest first, moved so that the newest was created at ``newest``, a minute apart."""
        posts = sorted(recorded_posts(), key=lambda p: p["created_utc"], reverse=True)
        for i, post in enumerate(posts):
            moved = copy.deepcopy(post)
            moved["created_utc"] = moved["created"] = newest.timestamp() - 60 * i
            self.posts.append(moved)

    def token(self, request: Seen) -> tuple[int, dict[str, str], bytes]:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if (
            request.headers.get("authorization") != f"Basic {expected}"
            or b"grant_type=client_credentials" not in request.body
        ):
            return 401, {"Content-Type": "application/json"}, b'{"message": "Unauthorized", "error": 401}'
        token = f"token-{len(self.tokens_issued) + 1}"
        self.tokens_issued.append(token)
        body = {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        return 200, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(body).encode()

    def search(self, request: Seen) -> tuple[int, dict[str, str], bytes]:
        given = request.headers.get("authorization", "")
        token = given[len("bearer ") :] if given.lower().startswith("bearer ") else ""
        if token not in self.tokens_issued or token in self.revoked:
            return 401, {"Content-Type": "application/json"}, b'{"message": "Unauthorized", "error": 401}'
        self.remaining -= 1
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "x-ratelimit-remaining": f"{max(self.remaining, 0):.1f}",
            "x-ratelimit-used": "1",
            "x-ratelimit-reset": str(self.reset_seconds),
        }
        if self.remaining < 0:
            return 429, headers, b'{"message": "Too Many Requests", "error": 429}'
        path = urlsplit(request.path)
        query = {k: v[-1] for k, v in parse_qs(path.query).items()}
        words = query.get("q", "").lower().split()
        found = [p for p in self.posts if all(w in f"{p['title']} {p['selftext']}".lower() for w in words)]
        if path.path.startswith("/r/") and query.get("restrict_sr") in ("1", "true"):
            found = [p for p in found if p["subreddit"].lower() == path.path.split("/")[2].lower()]
        found.sort(key=lambda p: p["created_utc"], reverse=True)
        if "after" in query:
            names = [p["name"] for p in found]
            found = found[names.index(query["after"]) + 1 :] if query["after"] in names else []
        limit = min(int(query.get("limit", "25")), 100)
        page = found[:limit]
        after = page[-1]["name"] if len(found) > limit else None
        listing = {
            "kind": "Listing",
            "data": {
                "after": after,
                "dist": len(page),
                "facets": {},
                "modhash": None,
                "children": [*([] if "after" in query else self.hostile), *({"kind": "t3", "data": p} for p in page)],
                "before": None,
            },
        }
        return 200, headers, rawjson.dumps(listing).encode()


UA = "linux:brandpulse-test:0.1 (by /u/brandpulse)"


def source(url: str, *, query: str = "praw", extra: str = "") -> str:
    return (
        f"  - {{name: red, type: reddit, query: '{query}', client_id: app-id, client_secret: '${{BRANDPULSE_SOURCE_REDDIT_SECRET}}',"
        f" user_agent: '{UA}', token_url: '{url}/api/v1/access_token', api_url: '{url}', brands: [acme]{extra}}}\n"
    )
