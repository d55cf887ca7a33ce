"""A fake of GDELT's DOC 2.0 API (``/api/v2/doc/doc``, ``mode=artlist``) on the loopback feed server, built from its
client and announcement (../shared/sources/gdelt/): the query's bare words, "phrases" and (a OR b) groups matched in
the title (the real one looks at the article's text), ``startdatetime``/``enddatetime`` on ``seendate``, newest first
(oldest first with ``sort=dateasc``), at most ``maxrecords`` (250); ``{}`` when nothing matches; a query it cannot run answered with a 200 and a line of
HTML saying why, as GDELT does; and (``broken``) a raw control character inside a title, the invalid JSON its client
repairs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support import rawjson
from tests.support.feeds import FeedServer, Route, Seen

PATH = "/api/v2/doc/doc"
_TERM = re.compile(r'"([^"]*)"|([^\s()"]+)')


def article(
    n: int, seen: datetime, title: str, *, language: str = "English", country: str = "United States", domain: str = ""
) -> dict[str, Any]:
    """An article as artlist gives it (the shape of the client's README and tests)."""
    site = domain or f"news{n % 5}.example"
    return {
        "url": f"https://{site}/story/{n}",
        "url_mobile": "",
        "title": title,
        "seendate": seen.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "socialimage": f"https://{site}/img/{n}.jpg",
        "domain": site,
        "language": language,
        "sourcecountry": country,
    }


def _groups(query: str) -> tuple[list[list[str]], dict[str, str]] | str:
    """The query as AND-ed groups of OR-ed terms and its sourcelang:/sourcecountry: filters, or why GDELT would
    refuse it."""
    groups: list[list[str]] = []
    filters: dict[str, str] = {}
    for part in re.findall(r"\([^)]*\)|\"[^\"]*\"|[^\s()]+", query):
        name, _, value = part.partition(":")
        if value and name in ("sourcelang", "sourcecountry"):
            filters[name] = value.lower()
            continue
        terms = [(a or b).lower() for a, b in _TERM.findall(part) if (a or b).upper() != "OR"]
        if part.startswith("(") and " OR " not in part:
            return "Parentheses may only be used around OR'd statements."
        if any(len(t) < 3 for t in terms):
            return "The specified phrase is too short."
        groups.append(terms)
    return (groups, filters) if groups else "Please specify a search term."


def _holds(title: object, term: str) -> bool:
    """Whether a title holds a word or phrase, whole words (as GDELT matches them)."""
    return isinstance(title, str) and re.search(rf"(?<!\w){re.escape(term)}(?!\w)", title.lower()) is not None


def _country(found: dict[str, Any]) -> str:
    return str(found["sourcecountry"]).lower().replace(" ", "")


@dataclass
class FakeGdelt:
    articles: list[dict[str, Any]] = field(default_factory=list)
    broken: bool = False  # a raw tab in every title: JSON that json.loads refuses
    limit: int = 250
    hostile: list[Any] = field(default_factory=list)  # sent as they are, first in every answer
    busy_after: int | None = None  # requests answered before GDELT's 429
    answered: int = 0

    def install(self, server: FeedServer) -> str:
        server.routes[PATH] = Route(handler=self.answer)
        return f"{server.url}{PATH}"

    def answer(self, request: Seen) -> tuple[int, dict[str, str], bytes]:
        if self.busy_after is not None and self.answered >= self.busy_after:
            return 429, {"Content-Type": "text/html"}, b"Please limit requests to one every 5 seconds."
        self.answered += 1
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query, keep_blank_values=True).items()}
        parsed = _groups(query.get("query", ""))
        if isinstance(parsed, str):
            return 200, {"Content-Type": "text/html; charset=utf-8"}, f"<p>{parsed}</p>".encode()
        groups, filters = parsed
        if query.get("mode", "").lower() != "artlist" or query.get("format") != "json":
            return 200, {"Content-Type": "text/html"}, b"Invalid mode or format."
        start = query.get("startdatetime", "00000000000000")
        end = query.get("enddatetime", "99999999999999")
        found = [
            a
            for a in self.articles
            if start <= a["seendate"].replace("T", "").rstrip("Z") <= end
            and all(any(_holds(a["title"], term) for term in group) for group in groups)
            and filters.get("sourcelang", str(a["language"]).lower()) == str(a["language"]).lower()
            and filters.get("sourcecountry", _country(a)) == _country(a)
        ]
        found.sort(key=lambda a: a["seendate"], reverse=query.get("sort", "datedesc").lower() != "dateasc")
        found = found[: min(int(query.get("maxrecords", "75")), self.limit)]
        found = [*self.hostile, *found]
        body = rawjson.dumps({"articles": found} if found else {})
        if self.broken:
            body = body.replace('"title": "', '"title": "\t')
        return 200, {"Content-Type": "application/json; charset=utf-8"}, body.encode()


def source(base: str, **extra: str) -> str:
    params = "".join(f", {k}: {v}" for k, v in extra.items())
    return f"  - {{name: news, type: gdelt, base_url: '{base}', pause_seconds: 0{params}}}\n"
