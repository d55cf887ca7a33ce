"""Mentions that other systems send (the ingest API): each item checked on its own, the valid ones stored together,
or all or nothing on request; reading them back with the history filters."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from analysis.query import QuerySyntaxError, parse
from bot.core.history import ranked_mentions, resume_after, search_mentions
from bot.core.ingest import MAX_AUTHOR_CHARS, MAX_ID_CHARS, Importer, RowError, connection_trouble
from bot.core.languages import language_filter
from bot.core.periods import parse_moment
from bot.errors import UsageError
from storage.mention_queries import MentionFilter, Order
from storage.mentions import MAX_TEXT_CHARS, MentionRow, insert_mentions, stored_keys
from storage.models import Label, Mention, MentionStatus

# The documented limits of one request (docs/operate/ingest-api.md and the OpenAPI document state them).
MAX_ITEMS = 1000
MAX_PAGE = 500
# The largest count of likes, reposts, replies or followers a mention keeps (a 32-bit column).
MAX_COUNT = 2**31 - 1

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


class MentionIn(BaseModel):
    """One mention as a sender gives it; only ``text`` is required."""

    model_config = ConfigDict(extra="forbid", strict=True, title="MentionIn")

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="What was said.")
    id: Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)] | Annotated[int, Field(ge=0)] | None = Field(
        default=None,
        description="The sender's id of the mention; with `source`, what makes a resend a duplicate. "
        "Without it, the brand, author, time and text identify the mention.",
    )
    source: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,31}$",
        description="Where the mention comes from (default `api`).",
    )
    brand: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="A brand of the brands file; without it, the brands named in the text.",
    )
    author: str | None = Field(default=None, max_length=MAX_AUTHOR_CHARS)
    url: str | None = Field(default=None, max_length=2048)
    created_at: str | float | None = Field(
        default=None,
        description="When it was said: ISO 8601 (2026-11-30T09:30:00Z) or Unix seconds; default: when received.",
    )
    language: str | None = Field(default=None, max_length=16, description="Language code (en, it, pt-BR).")
    country: str | None = Field(
        default=None,
        max_length=100,
        description="Where it was published: an ISO 3166 code (`it`) or an English name (`Italy`); stored as the "
        "lowercase alpha-2 code.",
    )
    likes: Count | None = None
    reposts: Count | None = None
    replies: Count | None = None
    author_followers: Count | None = None


class ItemError(BaseModel):
    """Why one item of the request was not stored."""

    index: int = Field(description="The item's position in the request, from 0.")
    reasons: list[str]


class SubmitResult(BaseModel):
    """What became of a request's items."""

    received: int
    created: int = Field(description="Items stored now.")
    duplicates: int = Field(description="Valid items that were already stored (same source and id).")
    rejected: int = Field(description="Items not stored; `errors` says why.")
    atomic: bool = Field(description="Whether the request asked for all or nothing.")
    errors: list[ItemError]


class MentionOut(BaseModel):
    """A stored mention."""

    id: int
    source: str
    external_id: str
    brand: str
    text: str
    author: str | None
    url: str | None
    language: str | None = Field(description="ISO 639-1 code: the source's, else the detector's.")
    language_confidence: float | None = Field(
        description="How sure the language detector was (0-1); null when the source gave the language."
    )
    country: str | None = Field(description="ISO 3166-1 alpha-2 code, lowercase, where the source gave one.")
    context: str | None = Field(description="What the mention answers (a YouTube comment's video title), if anything.")
    created_at: datetime
    ingested_at: datetime
    status: MentionStatus
    label: Label | None
    scores: dict[str, float] | None
    model_version: str | None
    classified_at: datetime | None
    failure_reason: str | None = Field(description="Why classification failed (status `failed`).")
    model_label: Label | None = Field(
        description="The model's label when a person corrected it (`label` is then theirs)."
    )
    corrected_by: str | None = Field(description="Slack user ID of who corrected the label.")
    corrected_at: datetime | None
    handled_by: str | None = Field(description="Slack user ID of who marked it handled.")
    handled_at: datetime | None
    assignee: str | None = Field(description="Slack user ID it is assigned to.")
    assigned_by: str | None
    assigned_at: datetime | None
    muted: bool = Field(description="Its author or domain is muted for its brand.")
    likes: int | None
    reposts: int | None
    replies: int | None
    author_followers: int | None
    emotion: Literal["anger", "joy", "optimism", "sadness"] | None = Field(
        description="The emotion model's reading, where an emotion model is active."
    )
    emotion_score: float | None = Field(description="The emotion model's probability for `emotion` (0-1).")
    emotion_model: str | None = Field(
        description="The emotion model that read it (set even where it refused the text)."
    )


class MentionPage(BaseModel):
    """Stored mentions, newest first."""

    mentions: list[MentionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last one.")


class TooManyItems(UsageError):
    """More items in one request than it may hold."""


class Unavailable(Exception):
    """The database cannot be reached: nothing was stored, the sender should try again."""


@dataclass
class _Checked:
    items: list[tuple[int, list[MentionRow]]] = field(default_factory=list)  # each valid item's rows
    errors: list[ItemError] = field(default_factory=list)


def items_of(payload: Any) -> list[Any]:
    """The items of a request body: one mention, a list of them, ``{"mentions": [...]}``, or a Standard Webhooks
    envelope (``{"type", "timestamp", "data"}``) whose ``data`` is one of those."""
    if isinstance(payload, dict) and "data" in payload and "text" not in payload:
        payload = payload["data"]
    if isinstance(payload, dict) and "mentions" in payload and "text" not in payload:
        payload = payload["mentions"]
    if isinstance(payload, dict):
        return [payload]
    if isinstance(payload, list):
        if not payload:
            raise UsageError("no mentions: the list is empty")
        if len(payload) > MAX_ITEMS:
            raise TooManyItems(f"{len(payload):,} mentions in one request; at most {MAX_ITEMS:,} are taken")
        return payload
    raise UsageError('expected a mention (a JSON object), a list of mentions, or {"mentions": [...]}')


def _reasons(error: ValidationError) -> list[str]:
    reasons = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "unknown field"
        reasons.append(f"{where}: {message}" if where else message)
    return reasons


class Submissions:
    """The ingest API's use cases: ``submit`` stores items, ``page`` reads stored mentions back."""

    def __init__(self, *, engine: Engine, sessions: sessionmaker[Session], importer: Importer) -> None:
        self.engine = engine
        self.sessions = sessions
        self.importer = importer

    def check(self, items: Sequence[Any], ingested_at: datetime) -> _Checked:
        checked = _Checked()
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                checked.errors.append(ItemError(index=index, reasons=[f"expected an object, got {_kind(item)}"]))
                continue
            try:
                mention = MentionIn.model_validate(item)
            except ValidationError as exc:
                checked.errors.append(ItemError(index=index, reasons=_reasons(exc)))
                continue
            try:
                rows = self.importer.to_rows(mention.model_dump(exclude_none=True), ingested_at)
            except RowError as exc:
                checked.errors.append(ItemError(index=index, reasons=[str(exc)]))
                continue
            except (ValueError, TypeError, OverflowError) as exc:
                checked.errors.append(ItemError(index=index, reasons=[f"unreadable value ({str(exc)[:120]})"]))
                continue
            checked.items.append((index, rows))
        return checked

    def submit(self, payload: Any, *, atomic: bool = False, now: datetime | None = None) -> SubmitResult:
        """Store the valid items of ``payload`` (with ``atomic``, only when every item is valid)."""
        items = items_of(payload)
        checked = self.check(items, now or datetime.now(UTC))
        created = 0
        if not (atomic and checked.errors):
            created = self._store(checked, atomic=atomic)
        stored_or_duplicate = len(checked.items) if not (atomic and checked.errors) else 0
        checked.errors.sort(key=lambda e: e.index)
        return SubmitResult(
            received=len(items),
            created=created,
            duplicates=stored_or_duplicate - created,
            rejected=len(items) - stored_or_duplicate,
            atomic=atomic,
            errors=checked.errors,
        )

    def _store(self, checked: _Checked, *, atomic: bool) -> int:
        """Store the checked items in one transaction; how many were new (an item whose every row was stored
        before, or earlier in the same request, is a duplicate)."""
        if not checked.items:
            return 0
        rows = [row for _, item_rows in checked.items for row in item_rows]
        try:
            with self.engine.begin() as connection:
                seen = stored_keys(connection=connection, keys=[(r["source"], r["external_id"]) for r in rows])
                created = 0
                for _, item_rows in checked.items:
                    keys = {(r["source"], r["external_id"], r["brand"]) for r in item_rows}
                    created += not keys <= seen
                    seen |= keys
                insert_mentions(connection=connection, rows=rows)
                return created
        except StatementError as exc:
            if connection_trouble(exc):
                raise Unavailable(f"the database is unavailable ({type(exc.orig or exc).__name__})") from None
            if atomic:
                # All or nothing: the items the database refuses are found one by one below, none is stored.
                return self._refusals(checked, store=False)
        return self._refusals(checked, store=True)

    def _refusals(self, checked: _Checked, *, store: bool) -> int:
        """Item by item, so that an item the database refuses costs that item only, with its index; without
        ``store`` (all or nothing) every item is rolled back, whatever the database said."""
        created, kept = 0, []
        with self.engine.connect() as connection:
            for index, rows in checked.items:
                transaction = connection.begin()
                try:
                    added = insert_mentions(connection=connection, rows=rows)
                except StatementError as exc:
                    transaction.rollback()
                    if connection_trouble(exc):
                        raise Unavailable("the database is unavailable") from None
                    detail = str(exc.orig or exc).strip().splitlines()[0][:200]
                    checked.errors.append(ItemError(index=index, reasons=[f"the database refused the item: {detail}"]))
                    continue
                if store:
                    transaction.commit()
                    created += added > 0
                else:
                    transaction.rollback()
                kept.append((index, rows))
        checked.items = kept if store else []
        return created

    def page(
        self,
        *,
        brand: str | None = None,
        since: str | None = None,
        until: str | None = None,
        label: str | None = None,
        source: str | None = None,
        search: str | None = None,
        q: str | None = None,
        language: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        sort: str | None = None,
        now: datetime | None = None,
    ) -> MentionPage:
        """Stored mentions newest first (or, with ``sort``, the widest reach or the most engagement first), filtered
        as ``brandpulse history`` filters them; UsageError for a bad filter."""
        tz = self.importer.tz
        if not 1 <= limit <= MAX_PAGE:
            raise UsageError(f"limit must be between 1 and {MAX_PAGE}")
        if label is not None and label not in {item.value for item in Label}:
            raise UsageError("label must be negative, neutral or positive")
        try:
            start = parse_moment(since, tz=tz, now=now) if since is not None else None
            end = parse_moment(until, tz=tz, now=now) if until is not None else None
        except ValueError as exc:
            raise UsageError(f"since/until: {exc}") from None
        orders = {order.value: order for order in Order}
        if sort is not None and sort not in orders:
            raise UsageError("sort must be time, reach or engagement")
        order = orders[sort] if sort is not None else Order.TIME
        if order is not Order.TIME and cursor is not None:
            raise UsageError("cursor: a page sorted by reach or engagement is the only page; raise limit instead")
        before = decode_cursor(cursor) if cursor is not None else None
        try:
            query = parse(q) if q is not None else None
        except QuerySyntaxError as exc:
            raise UsageError(f"q: {exc}") from None
        where = MentionFilter(
            brand=brand.lower() if brand else None,
            since=start,
            until=end,
            label=label,
            source=source,
            search=search,
            language=language_filter(language),
        )
        if order is not Order.TIME:
            ranked = ranked_mentions(self.sessions, where, query, order=order, limit=limit)
            return MentionPage(mentions=[_out(m) for m in ranked], next_cursor=None)
        page = search_mentions(self.sessions, where, query, limit=limit, before=before)
        following = encode_resume(*page.resume) if page.resume is not None else None
        return MentionPage(mentions=[_out(m) for m in page.mentions], next_cursor=following)


def encode_resume(at: datetime, mention_id: int) -> str:
    """A page's ``next_cursor``: where the next page starts (the last row the page read)."""
    raw = f"{at.isoformat()}|{mention_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, number = raw.partition("|")
        return resume_after(at, number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise UsageError("cursor: not a cursor this API gave (pass next_cursor as it came)") from None


def _out(mention: Mention) -> MentionOut:
    scores = None
    if mention.score_negative is not None:
        scores = {
            "negative": mention.score_negative,
            "neutral": mention.score_neutral or 0.0,
            "positive": mention.score_positive or 0.0,
        }
    return MentionOut.model_validate(
        {
            "id": mention.id,
            "source": mention.source,
            "external_id": mention.external_id,
            "brand": mention.brand,
            "text": mention.text,
            "author": mention.author,
            "url": mention.url,
            "language": mention.language,
            "language_confidence": mention.language_confidence,
            "country": mention.country,
            "context": mention.context,
            "created_at": mention.created_at,
            "ingested_at": mention.ingested_at,
            "status": mention.status,
            "label": mention.label,
            "scores": scores,
            "model_version": mention.model_version,
            "classified_at": mention.classified_at,
            "failure_reason": mention.failure_reason,
            "model_label": mention.model_label,
            "corrected_by": mention.corrected_by,
            "corrected_at": mention.corrected_at,
            "handled_by": mention.handled_by,
            "handled_at": mention.handled_at,
            "assignee": mention.assignee,
            "assigned_by": mention.assigned_by,
            "assigned_at": mention.assigned_at,
            "muted": mention.muted,
            "likes": mention.likes,
            "reposts": mention.reposts,
            "replies": mention.replies,
            "author_followers": mention.author_followers,
            "emotion": mention.emotion,
            "emotion_score": mention.emotion_score,
            "emotion_model": mention.emotion_model,
        }
    )


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


__all__ = [
    "MAX_ITEMS",
    "MAX_PAGE",
    "MentionIn",
    "MentionOut",
    "MentionPage",
    "SubmitResult",
    "Submissions",
    "TooManyItems",
    "Unavailable",
    "items_of",
]
