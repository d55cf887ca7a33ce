"""A fake Mastodon instance on the loopback server, built from the documentation in ../shared/sources/mastodon/:
statuses are the documented Status example (entities/Status.md) with their own id, time, text and tags; the hashtag
timeline and the search take ``limit`` (at most 40), ``max_id``, ``since_id`` and ``min_id`` and answer newest first
with a ``Link`` header (``rel="next"``: older, ``rel="prev"``: newer) and ``X-RateLimit-*`` headers; a feed may be
public, need a token (401) or be disabled (an empty list, 4.5.0+); search needs a token. ``hostile`` items are sent
as they are, first on the first page of every answer."""

from __future__ import annotations

import copy
import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.support import rawjson
from tests.support.feeds import FeedServer, Route, Seen

DOCS = Path(__file__).resolve().parents[3] / "shared" / "sources" / "mastodon" / "documentation" / "content" / "en"


def documented_status() -> dict[str, Any]:
    """The Status example of the Mastodon documentation (its first JSON block)."""
    text = (DOCS / "entities" / "Status.md").read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)\n```", text, re.DOTALL)
    assert block is not None, "entities/Status.md has no JSON example"
    example = json.loads(block.group(1))
    assert isinstance(example, dict)
    return example


@dataclass
class FakeMastodon:
    token: str = "app-token-123"
    access: str = "public"  # the hashtag feed: "public", "authenticated" or "disabled"
    rate_limit: int = 300
    reset_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5))
    statuses: list[dict[str, Any]] = field(default_factory=list)
    server_url: str = ""
    link_host: str | None = None  # answer with Link URLs on another host
    hostile: list[Any] = field(default_factory=list)
    _template: dict[str, Any] = field(default_factory=documented_status)
    _used: int = 0

    def install(self, server: FeedServer) -> str:
        self.server_url = server.url
        server.routes["/api/v2/search"] = Route(handler=self.search)
        for tag in {t["name"] for s in self.statuses for t in s["tags"]} | {"acmephone"}:
            server.routes[f"/api/v1/timelines/tag/{tag}"] = Route(handler=self.timeline)
        return server.url

    def post(
        self, number: int, at: datetime, text: str, *, tags: tuple[str, ...] = ("acmephone",), boost: bool = False
    ) -> None:
        status = copy.deepcopy(self._template)
        status.update(
            id=str(number),
            created_at=at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            uri=f"https://social.example/users/u{number % 9}/statuses/{number}",
            url=f"https://social.example/@u{number % 9}/{number}",
            content=f"<p>{html.escape(text)}</p>",
            tags=[{"name": t, "url": f"https://social.example/tags/{t}"} for t in tags],
            reblog=copy.deepcopy(self._template) if boost else None,
            language="en",
        )
        status["account"] = {**status["account"], "acct": f"u{number % 9}@social.example", "followers_count": number}
        self.statuses.append(status)

    def _limits(self) -> tuple[int, dict[str, str], bytes] | None:
        self._used += 1
        if self._used > self.rate_limit:
            return self._error(429, "Too many requests")
        return None

    def _headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json; charset=utf-8",
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(0, self.rate_limit - self._used)),
            "X-RateLimit-Reset": self.reset_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }

    def _error(self, status: int, message: str) -> tuple[int, dict[str, str], bytes]:
        return status, {**self._headers(), "Content-Type": "application/json"}, json.dumps({"error": message}).encode()

    def _authorised(self, request: Seen) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def _page(self, request: Seen, found: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}
        limit = max(1, min(int(query.get("limit", "20")), 40))
        newest_first = sorted(found, key=lambda s: int(s["id"]), reverse=True)
        if "max_id" in query:
            newest_first = [s for s in newest_first if int(s["id"]) < int(query["max_id"])]
        if "since_id" in query:
            newest_first = [s for s in newest_first if int(s["id"]) > int(query["since_id"])]
        if "min_id" in query:  # the page immediately newer than min_id
            newer = [s for s in newest_first if int(s["id"]) > int(query["min_id"])]
            page = newer[-limit:]
        else:
            page = newest_first[:limit]
        headers = self._headers()
        if page:
            base = f"{self.link_host or self.server_url}{urlsplit(request.path).path}"
            rest = {k: v for k, v in query.items() if k not in ("max_id", "since_id", "min_id")}
            older = urlencode({**rest, "max_id": page[-1]["id"]})
            newer_link = urlencode({**rest, "min_id": page[0]["id"]})
            headers["Link"] = f'<{base}?{older}>; rel="next", <{base}?{newer_link}>; rel="prev"'
        if not {"max_id", "min_id"} & set(query):
            page = [*self.hostile, *page]
        return page, headers

    def timeline(self, request: Seen) -> tuple[int, dict[str, str], bytes]:
        if (limited := self._limits()) is not None:
            return limited
        if self.access == "authenticated" and not self._authorised(request):
            return self._error(401, "The access token is invalid")
        tag = urlsplit(request.path).path.rsplit("/", 1)[1].lower()
        found = [s for s in self.statuses if any(t["name"].lower() == tag for t in s["tags"])]
        if self.access == "disabled":
            found = []
        page, headers = self._page(request, found)
        return 200, headers, rawjson.dumps(page).encode()

    def search(self, request: Seen) -> tuple[int, dict[str, str], bytes]:
        if (limited := self._limits()) is not None:
            return limited
        if not self._authorised(request):
            return self._error(401, "The access token is invalid")
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}
        if not query.get("q"):
            return self._error(400, "Validation failed: q can't be blank")
        words = query["q"].lower().split()
        found = [s for s in self.statuses if all(w in html.unescape(str(s["content"])).lower() for w in words)]
        page, headers = self._page(request, found)
        headers.pop("Link", None)  # search pages by offset or ids, without a Link header
        body = {"accounts": [], "statuses": page, "hashtags": []}
        return 200, headers, rawjson.dumps(body).encode()


TIMELINE = "/api/v1/timelines/tag/acmephone"


def hashtag_source(url: str, **extra: str) -> str:
    params = "".join(f", {k}: '{v}'" for k, v in extra.items())
    return f"  - {{name: masto, type: mastodon, instance: '{url}', hashtag: acmephone, brands: [acme]{params}}}\n"
