"""A fake of Algolia's HN Search API ``search_by_date`` on the loopback feed server, built from its documentation and
code (../shared/sources/hackernews/: Api.tsx, base_controller.rb, item.rb): query words, ``tags`` (comma = AND,
parentheses = OR), ``numericFilters`` on ``created_at_i``, newest first, ``page``/``hitsPerPage``/``nbPages``, the
server-added parameters echoed in ``params``, hits with ``null``s and ``_highlightResult``; an Algolia error is
``{"message": ...}`` with its status. ``hostile`` hits are sent as they are, first on the first page of every answer."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.support import rawjson
from tests.support.feeds import FeedServer, Route, Seen

PATH = "/api/v1/search_by_date"
_FILTER = re.compile(r"^(created_at_i|points|num_comments)(<=|>=|<|>|=)(-?\d+)$")


def story(
    object_id: int, at: int, title: str, *, url: str | None = None, points: int = 1, comments: int = 0
) -> dict[str, Any]:
    """A story hit, shaped like the documented example (the "Y Combinator" story by pg)."""
    return {
        "created_at": f"@{at}",
        "title": title,
        "url": url,
        "author": f"user{object_id % 7}",
        "points": points,
        "story_text": None,
        "comment_text": None,
        "num_comments": comments,
        "story_id": None,
        "story_title": None,
        "story_url": None,
        "parent_id": None,
        "created_at_i": at,
        "_tags": ["story", f"author_user{object_id % 7}", f"story_{object_id}"],
        "objectID": str(object_id),
        "_highlightResult": {"title": {"value": html.escape(title), "matchLevel": "none", "matchedWords": []}},
    }


def comment(object_id: int, at: int, text_html: str, *, story_id: int = 1) -> dict[str, Any]:
    """A comment hit, as search_by_date pages show them: HTML-escaped text, nulls for the story's fields."""
    return {
        "created_at": f"@{at}",
        "title": None,
        "url": None,
        "author": f"user{object_id % 5}",
        "points": None,
        "story_text": None,
        "comment_text": text_html,
        "num_comments": None,
        "story_id": story_id,
        "story_title": "A story",
        "story_url": "https://example.com/story",
        "parent_id": story_id,
        "created_at_i": at,
        "_tags": ["comment", f"author_user{object_id % 5}", f"story_{story_id}"],
        "objectID": str(object_id),
        "_highlightResult": {},
    }


def _tag_groups(tags: str) -> list[set[str]]:
    """'a,(b,c)' -> [{a}, {b, c}]: every group must match, any tag of a group does."""
    groups: list[set[str]] = []
    for part in re.findall(r"\([^)]*\)|[^,]+", tags):
        groups.append(set(part.strip("()").split(",")))
    return groups


@dataclass
class FakeAlgolia:
    hits: list[dict[str, Any]] = field(default_factory=list)
    hostile: list[Any] = field(default_factory=list)

    def install(self, server: FeedServer) -> str:
        server.routes[PATH] = Route(handler=self.answer)
        return f"{server.url}/api/v1"

    def answer(self, request: Seen) -> tuple[int, dict[str, str], bytes]:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query, keep_blank_values=True).items()}
        try:
            page = int(query.get("page", "0"))
            per_page = min(int(query.get("hitsPerPage", "20")), 1000)
        except ValueError:
            return self._error(400, "Invalid value for page or hitsPerPage")
        found = list(self.hits)
        words = query.get("query", "").lower().split()
        if words:
            found = [
                h
                for h in found
                if all(
                    w in " ".join(str(h.get(k) or "") for k in ("title", "story_text", "comment_text", "url")).lower()
                    for w in words
                )
            ]
        if query.get("tags"):
            found = [h for h in found if all(set(h["_tags"]) & group for group in _tag_groups(query["tags"]))]
        for condition in filter(None, query.get("numericFilters", "").split(",")):
            match = _FILTER.match(condition.strip())
            if match is None:
                return self._error(400, f"Invalid syntax for numeric condition: {condition}")
            attribute, operator, value = match.group(1), match.group(2), int(match.group(3))
            compare = {
                "<": lambda a, b: a < b,
                "<=": lambda a, b: a <= b,
                ">": lambda a, b: a > b,
                ">=": lambda a, b: a >= b,
                "=": lambda a, b: a == b,
            }[operator]
            found = [h for h in found if isinstance(h.get(attribute), int) and compare(h[attribute], value)]
        found.sort(key=lambda h: h["created_at_i"] if isinstance(h.get("created_at_i"), int) else 0, reverse=True)
        pages = (len(found) + per_page - 1) // per_page
        params = {"advancedSyntax": "true", "analytics": "true", "analyticsTags": "backend", **query}
        body = {
            "hits": [*(self.hostile if page == 0 else []), *found[page * per_page : (page + 1) * per_page]],
            "nbHits": len(found),
            "page": page,
            "nbPages": pages,
            "hitsPerPage": per_page,
            "exhaustiveNbHits": True,
            "query": query.get("query", ""),
            "params": urlencode(params),
            "processingTimeMS": 1,
        }
        return 200, {"Content-Type": "application/json; charset=utf-8"}, rawjson.dumps(body).encode()

    @staticmethod
    def _error(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode()


def source(base: str, **extra: str) -> str:
    params = "".join(f", {k}: {v}" for k, v in extra.items())
    return f"  - {{name: hn, type: hackernews, query: acmephone, base_url: '{base}'{params}}}\n"
