"""Muted authors and domains per brand: their mentions are stored, marked ``muted``, and left out of what the team
reads (history, stats, digests, alerts). A mute applies to the mentions already stored and to those that come."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.orm import Session

from storage.db import insert_unless_exists
from storage.models import Mention, Mute

KINDS = ("author", "domain")
# Hosts of whole platforms: muting one would hide every mention from it, so only their authors are offered.
PLATFORMS = frozenset(
    {
        "twitter.com",
        "x.com",
        "t.co",
        "reddit.com",
        "bsky.app",
        "news.ycombinator.com",
        "youtube.com",
        "youtu.be",
        "facebook.com",
        "instagram.com",
        "tiktok.com",
        "linkedin.com",
        "threads.net",
        "mastodon.social",
        "slack.com",
        "medium.com",
        "substack.com",
        "github.com",
        "google.com",
        "news.google.com",
    }
)


def mutable_domain(url: str | None) -> str | None:
    """The domain a mention's link offers to mute: None for no web link, or a link to a whole platform."""
    domain = domain_of(url)
    if domain is None or any(domain == p or domain.endswith("." + p) for p in PLATFORMS):
        return None
    return domain


def domain_of(url: str | None) -> str | None:
    """The host of a web link, lowercase, without a leading ``www.``; None for anything else."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.lower().removeprefix("www.")


def _hits(domain: str | None, muted: Iterable[str]) -> bool:
    return domain is not None and any(domain == d or domain.endswith("." + d) for d in muted)


class MutedSet:
    """The mutes of some brands, to tell whether a mention is muted without asking the database per row."""

    def __init__(self, mutes: Iterable[tuple[str, str, str]]) -> None:
        self.authors: dict[str, set[str]] = {}
        self.domains: dict[str, set[str]] = {}
        for brand, kind, value in mutes:
            (self.authors if kind == "author" else self.domains).setdefault(brand, set()).add(value)

    def __bool__(self) -> bool:
        return bool(self.authors or self.domains)

    def muted(self, brand: str, author: str | None, url: str | None) -> bool:
        if author and author.strip().lower() in self.authors.get(brand, ()):
            return True
        return _hits(domain_of(url), self.domains.get(brand, ()))


def mutes_of(*, connection: Connection, brands: Iterable[str]) -> MutedSet:
    query = select(Mute.brand, Mute.kind, Mute.value).where(Mute.brand.in_(sorted(set(brands))))
    return MutedSet((brand, kind, value) for brand, kind, value in connection.execute(query))


def mark_muted(*, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    """The rows to insert, with ``muted`` set on every one when any of their brands has mutes (else as given)."""
    mutes = mutes_of(connection=connection, brands={str(r["brand"]) for r in rows})
    if not mutes:
        return rows
    return [{**r, "muted": mutes.muted(str(r["brand"]), r.get("author"), r.get("url"))} for r in rows]


def add_mute(*, session: Session, brand: str, kind: str, value: str, user: str, at: datetime) -> tuple[int | None, int]:
    """Mute ``value`` for ``brand`` and mark its stored mentions: (the new mute's id or None if it was muted already,
    how many stored mentions it hides)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    value = value.strip().lower()
    values = {"brand": brand, "kind": kind, "value": value, "muted_by": user, "created_at": at}
    mute_id = insert_unless_exists(session, Mute, values)
    return mute_id, _apply(session, brand, kind, value)


def _apply(session: Session, brand: str, kind: str, value: str) -> int:
    visible = (Mention.brand == brand) & Mention.muted.is_(False)
    if kind == "author":
        # Compared in Python, as new mentions are (MutedSet): SQL's lower() folds ASCII letters only.
        authors = session.execute(select(Mention.id, Mention.author).where(visible, Mention.author.is_not(None))).all()
        ids = [mention_id for mention_id, author in authors if str(author).strip().lower() == value]
    else:
        # The host is read from each candidate link: a LIKE alone would also take "…?next=https://value/".
        like = or_(Mention.url.ilike(f"%://{value}%"), Mention.url.ilike(f"%.{value}%"))
        candidates = session.execute(select(Mention.id, Mention.url).where(visible, like)).all()
        ids = [mention_id for mention_id, url in candidates if _hits(domain_of(url), [value])]
    for start in range(0, len(ids), 1000):
        session.execute(update(Mention).where(Mention.id.in_(ids[start : start + 1000])).values(muted=True))
    return len(ids)


def list_mutes(*, session: Session) -> list[Mute]:
    return list(session.execute(select(Mute).order_by(Mute.brand, Mute.kind, Mute.value)).scalars())


def remove_mute(*, session: Session, mute_id: int) -> Mute | None:
    """Unmute: the brand's mentions are shown again, but for those another of its mutes still hides."""
    mute = session.get(Mute, mute_id)
    if mute is None:
        return None
    session.delete(mute)
    session.flush()
    session.execute(update(Mention).where(Mention.brand == mute.brand, Mention.muted.is_(True)).values(muted=False))
    for other in session.execute(select(Mute).where(Mute.brand == mute.brand)).scalars():
        _apply(session, other.brand, other.kind, other.value)
    return mute
