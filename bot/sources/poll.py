"""Polling a source: resume from its stored cursor, fetch, match the items to brands, store them with the new cursor.

The fetch holds no transaction open: the state is read in one, the items and the cursor are written in another, so
a crash between the two refetches rather than loses. On PostgreSQL a named lock keeps two processes from polling one
source at once.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from analysis.language import detector_for
from bot.config.brands import BrandsConfig
from bot.config.sources import SourceConfig, redact, referenced_values, resolved
from bot.core.ingest import connection_trouble
from bot.core.languages import LazyLanguage
from bot.errors import BrandpulseError, ConfigError
from bot.sources.base import Fetch, Item, RateLimited, Rejected, Rejection, SourceError, item_doc
from bot.sources.http import HttpOptions, SourceClient
from bot.sources.network import Reach
from bot.sources.registry import build
from storage.mentions import MAX_TEXT_CHARS, MentionRow, insert_mentions, new_mention, storable_text, stored_keys
from storage.sources import PollRecord, claim_poll, record_poll, release_poll, source_state

log = logging.getLogger(__name__)


def reach(config: SourceConfig, env: Mapping[str, str]) -> Reach:
    """Where the source's requests may connect: its own URLs' addresses, public ones, and private ones if it says."""
    params = resolved(config, env)
    return Reach.of([params[key] for key in config.url_fields if params.get(key)], allow_private=config.allow_private)


@dataclass
class Match:
    """An item about one brand (an item that names two brands is two matches, stored as a mention of each)."""

    item: Item
    brand: str
    new: bool = True  # not stored yet (a dry run says what it would add)


@dataclass
class PollReport:
    name: str
    fetched: int = 0
    matches: list[Match] = field(default_factory=list)
    added: int = 0
    skipped: str | None = None  # why it did not poll (another process is, or the source asked us to wait)
    error: str | None = None
    rejected: Rejected = field(default_factory=Rejected)  # items no mention can be made of, each with why

    @property
    def matched(self) -> int:
        """Items that name a brand."""
        return len({match.item.external_id for match in self.matches})

    def summary(self) -> str:
        if self.skipped:
            return f"{self.name}: not polled: {self.skipped}"
        if self.error:
            return f"{self.name}: failed: {self.error}"
        line = f"{self.name}: {self.fetched} fetched, {self.matched} matched a brand, {self.added} added"
        return line + (f", {self.rejected.count} rejected" if self.rejected.count else "")


def _brand_finder(
    config: SourceConfig, brands: BrandsConfig, source: str, languages: Mapping[str, LazyLanguage]
) -> Callable[[Item], list[str]]:
    """The brands an item is about, for this source (built once a poll: a matcher compiles its queries); ``source``
    is what its mentions store as their source (what a query's ``source:`` compares). When a brand's query needs the
    language (``lang:``, inflections), an item is matched with its language, detected when the source gives none."""
    if config.brands is not None and len(config.brands) == 1:
        only = [config.brands[0]]
        return lambda item: only  # a source set up for one brand: everything it finds is about that brand
    matcher = brands.matcher_for(config.brands)
    if not matcher.needs_language:
        return lambda item: matcher.matches(item_doc(item, source))

    def brands_of(item: Item) -> list[str]:
        language = languages[item.external_id]
        return matcher.matches(replace(item_doc(item, source), language=language.given_code), detect=language.code)

    return brands_of


def _redacted(item: Item, secrets: Mapping[str, str]) -> Item:
    """The item without the source's secrets: a feed's relative link resolves against the feed's URL, token and all."""
    if not secrets:
        return item
    return replace(
        item,
        text=redact(item.text, secrets),
        url=item.url and redact(item.url, secrets),
        author=item.author and redact(item.author, secrets),
        context=item.context and redact(item.context, secrets),
    )


def _row(item: Item, brand: str, source: str, now: datetime, found: tuple[str | None, float | None]) -> MentionRow:
    language, confidence = found
    return new_mention(
        source=source,
        external_id=item.external_id,
        brand=brand,
        text=storable_text(item.text)[:MAX_TEXT_CHARS],
        created_at=item.created_at or now,
        ingested_at=now,
        author=item.author,
        url=item.url,
        language=language,
        language_confidence=confidence,
        country=item.country,
        context=item.context,
        likes=item.likes,
        reposts=item.reposts,
        replies=item.replies,
        author_followers=item.author_followers,
    )


def poll_source(
    *,
    config: SourceConfig,
    brands: BrandsConfig,
    sessions: sessionmaker[Session],
    env: Mapping[str, str],
    options: HttpOptions,
    now: datetime,
    dry_run: bool = False,
    languages: Sequence[str] = (),
) -> PollReport:
    """Poll one source now. Failures are recorded in its state and returned in the report, never raised."""
    report = PollReport(config.name)
    poll = functools.partial(
        _poll,
        report,
        config=config,
        brands=brands,
        sessions=sessions,
        env=env,
        options=options,
        now=now,
        dry_run=dry_run,
        languages=languages,
    )
    if dry_run:  # stores nothing: another process may poll meanwhile
        return poll()
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    # On the real clock (``now`` may be a replay's): twice the poll's deadline, which the fetch cannot pass. A process
    # that dies mid-poll holds the source until then.
    wall = datetime.now(UTC)
    with sessions.begin() as session:
        claimed = claim_poll(
            session=session,
            name=config.name,
            type=config.type,
            owner=owner,
            now=wall,
            until=wall + timedelta(seconds=2 * options.poll_seconds),
        )
    if not claimed:
        report.skipped = "another process is polling it"
        return report
    try:
        return poll()
    finally:
        try:
            with sessions.begin() as session:
                release_poll(session=session, name=config.name, owner=owner)
        except SQLAlchemyError as exc:  # the database went away: the claim lapses by itself
            log.warning("source %s: could not release its poll claim (%s); it lapses by itself", config.name, exc)


def _poll(
    report: PollReport,
    *,
    config: SourceConfig,
    brands: BrandsConfig,
    sessions: sessionmaker[Session],
    env: Mapping[str, str],
    options: HttpOptions,
    now: datetime,
    dry_run: bool,
    languages: Sequence[str],
) -> PollReport:
    with sessions() as session:
        state = source_state(session=session, name=config.name)
        cursor = dict(state.cursor) if state is not None else {}
        backoff = state.backoff_until if state is not None else None
    if backoff is not None and backoff > now and not dry_run:
        report.skipped = f"the source asked to wait until {backoff:%Y-%m-%d %H:%M:%S} UTC"
        return report
    backoff_until = None
    try:
        with SourceClient(options, reach=reach(config, env)) as client:
            made = build(config, env=env, client=client, brands=brands, languages=languages)
            fetch_source = made.source
            fetch = made.fetch(cursor, now=now)
    except RateLimited as exc:
        report.error, backoff_until = str(exc), exc.until
    except (SourceError, ConfigError) as exc:
        report.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - a connector's bug fails this source's poll, not the others
        log.debug("source %s: unexpected failure", config.name, exc_info=exc)
        report.error = f"unexpected {type(exc).__name__}: {exc}"
    secrets = referenced_values(config, env)
    if report.error is not None:
        report.error = redact(report.error, secrets)[:500]  # cut after: a cut secret is not found
        log.warning("source %s: %s", config.name, report.error)
        if not dry_run:
            with sessions.begin() as session:
                poll = PollRecord(at=now, error=report.error)
                record_poll(session=session, name=config.name, type=config.type, poll=poll, backoff_until=backoff_until)
        return report
    report.fetched, report.rejected = len(fetch.items), fetch.rejected
    if fetch.rejected.first:
        log.warning("source %s: %d items rejected (%s)", config.name, fetch.rejected.count, fetch.rejected.first[0])
    source = fetch_source
    unique = {item.external_id: _redacted(item, secrets) for item in fetch.items}  # a page may repeat an item
    detector = detector_for(tuple(sorted(languages)))
    found = {key: LazyLanguage(item.text, item.language, detector) for key, item in unique.items()}
    brands_of = _brand_finder(config, brands, source, found)
    for item in unique.values():
        report.matches.extend(Match(item, brand) for brand in brands_of(item))
    rows = [_row(m.item, m.brand, source, now, found[m.item.external_id].found()) for m in report.matches]
    if dry_run:
        with sessions() as session:
            keys = [(source, m.item.external_id) for m in report.matches]
            stored = stored_keys(connection=session.connection(), keys=keys)
        for match in report.matches:
            match.new = (source, match.item.external_id, match.brand) not in stored
        report.added = sum(m.new for m in report.matches)
        return report
    try:
        with sessions.begin() as session:
            report.added = insert_mentions(connection=session.connection(), rows=rows) if rows else 0
            _record(session, config, report, fetch, now)
        return report
    except StatementError as exc:
        if connection_trouble(exc):
            raise
        log.warning("source %s: a batch of %d mentions was refused; storing them one by one", config.name, len(rows))
    # One by one, so that a mention the database refuses (whatever the door let through) costs only itself, and the
    # cursor moves on: a poll that failed here would fetch and fail on the same item for ever.
    report.added = 0
    for match, row in zip(report.matches, rows, strict=True):
        try:
            with sessions.begin() as session:
                report.added += insert_mentions(connection=session.connection(), rows=[row])
        except StatementError as exc:
            if connection_trouble(exc):
                raise
            detail = str(exc.orig or exc).strip().splitlines()[0][:200]
            fetch.rejected.add(Rejection(match.item.external_id, f"the database refused it: {detail}"))
    with sessions.begin() as session:
        _record(session, config, report, fetch, now)
    return report


def _record(session: Session, config: SourceConfig, report: PollReport, fetch: Fetch, now: datetime) -> None:
    """Store how the poll went and move the source's cursor on, in the transaction that stored its mentions."""
    poll = PollRecord(
        at=now,
        fetched=report.fetched,
        matched=report.matched,
        added=report.added,
        rejected=fetch.rejected.count,
        rejections=tuple(str(rejection) for rejection in fetch.rejected.first),
    )
    record_poll(
        session=session,
        name=config.name,
        type=config.type,
        poll=poll,
        cursor=fetch.cursor,
        backoff_until=fetch.backoff_until,
    )


def check(config: SourceConfig, env: Mapping[str, str]) -> str | None:
    """What keeps a source from being polled (an unset variable), or None."""
    try:
        resolved(config, env)
    except BrandpulseError as exc:
        return str(exc)
    return None
