"""What every connector shares: the items it fetched, those it rejected, the cursor it leaves, and the errors it
raises."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from analysis.query_nodes import Doc, with_context
from bot.errors import BrandpulseError
from storage.mentions import storable_text

# The longest external id a mention keeps (the column's size); longer ones are replaced by their hash.
MAX_EXTERNAL_ID = 255
# The rejected items of a poll whose reasons are kept (all are counted).
MAX_REJECTIONS_KEPT = 20


class SourceError(BrandpulseError):
    """A poll failed (the source answered with an error, too much, or nothing in time); one line for the log."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status that made it, when one did


class RateLimited(SourceError):
    """The source asked us to wait: no poll of it until ``until``."""

    def __init__(self, message: str, *, until: datetime) -> None:
        super().__init__(message, status=429)
        self.until = until


@dataclass(frozen=True)
class Item:
    """One post, comment or article as a source gave it."""

    external_id: str
    text: str
    created_at: datetime | None  # None: the source gave no time; the poll's time is used
    url: str | None = None
    author: str | None = None
    language: str | None = None
    country: str | None = None  # an ISO 3166-1 alpha-2 code, lowercase (analysis/countries.py)
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    author_followers: int | None = None
    # What the item answers, read with its text when brands are matched but not stored: a comment's video title (a
    # comment on "Acmephone 5 review" is about acme, whether it names it or not).
    context: str | None = None


@dataclass(frozen=True)
class Rejection:
    """An item a source sent that cannot be a mention, and why (its id when it has a usable one)."""

    external_id: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.external_id}: {self.reason}" if self.external_id else self.reason


@dataclass
class Rejected:
    """The items a poll rejected: all counted, the first ``MAX_REJECTIONS_KEPT`` kept with their reasons."""

    count: int = 0
    first: list[Rejection] = field(default_factory=list)

    def add(self, rejection: Rejection) -> None:
        self.count += 1
        if len(self.first) < MAX_REJECTIONS_KEPT:
            self.first.append(rejection)


@dataclass(frozen=True)
class Fetch:
    """What one poll brought: items (any order), the cursor to store once they are, and how long to wait."""

    items: list[Item]
    cursor: dict[str, Any]
    backoff_until: datetime | None = None  # the source's rate-limit headers said to slow down
    rejected: Rejected = field(default_factory=Rejected)  # items that cost only themselves, with why


class Connector(Protocol):
    # The mentions' ``source``: one per network, so that two queries finding the same post store it once.
    source: str

    def fetch(self, cursor: Mapping[str, Any], *, now: datetime) -> Fetch: ...


def whole(value: object) -> int | None:
    """A JSON integer (not a bool, not a float), or None: counts and times as the sources send them."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def external_id(value: str) -> str:
    """An id that fits the column: itself, or a hash of it when it is longer or holds what no database keeps
    (NUL, a lone surrogate)."""
    if len(value) <= MAX_EXTERNAL_ID and storable_text(value) == value:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def item_doc(item: Item, source: str) -> Doc:
    """What a brand's query sees of an item: its text, and the fields its mention will store (``source``: the
    connector's source name)."""
    return Doc(
        with_context(item.text, item.context),
        language=item.language,
        source=source,
        author=item.author,
        url=item.url,
        country=item.country,
    )
