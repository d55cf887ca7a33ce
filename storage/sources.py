"""The state of each configured source (its cursor, backoff and totals) and the record of its polls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import SourcePoll, SourceState


def source_state(*, session: Session, name: str) -> SourceState | None:
    return session.get(SourceState, name)


def claim_poll(*, session: Session, name: str, type: str, owner: str, now: datetime, until: datetime) -> bool:
    """Claim the source for one poll, until ``until`` (commit at once: the claim is what other processes see); False
    while another claim stands. A row, not a lock held on a connection: a poll that waits on a slow server for minutes
    holds no connection of the pool meanwhile, and processes sharing a SQLite file take turns as on PostgreSQL."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(SourceState)
        .values(name=name, type=type, cursor={}, polls_total=0, errors_total=0, added_total=0, rejected_total=0)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    claimed = session.execute(
        update(SourceState)
        .where(SourceState.name == name, or_(SourceState.polling_until.is_(None), SourceState.polling_until <= now))
        .values(polling_until=until, polling_by=owner)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def release_poll(*, session: Session, name: str, owner: str) -> None:
    """End ``owner``'s claim on the source (a claim that lapsed and was taken by another process is left alone)."""
    session.execute(
        update(SourceState)
        .where(SourceState.name == name, SourceState.polling_by == owner)
        .values(polling_until=None, polling_by=None)
    )


@dataclass(frozen=True)
class PollRecord:
    """How one poll went, as the caller stores it beside the items it fetched."""

    at: datetime
    fetched: int = 0
    matched: int = 0
    added: int = 0
    error: str | None = None
    rejected: int = 0  # items that cost only themselves
    rejections: tuple[str, ...] = ()  # why the first of them were rejected


def record_poll(
    *,
    session: Session,
    name: str,
    type: str,
    poll: PollRecord,
    cursor: dict[str, Any] | None = None,
    backoff_until: datetime | None = None,
) -> None:
    """Store a poll and move the source's state on: its new cursor (None: unchanged), its backoff, its totals.

    Called in the transaction that stores the poll's mentions, so the cursor moves exactly when they are stored."""
    state = session.get(SourceState, name, with_for_update=True)
    if state is None:
        state = SourceState(
            name=name, type=type, cursor={}, polls_total=0, errors_total=0, added_total=0, rejected_total=0
        )
        session.add(state)
    state.type = type
    if cursor is not None:
        state.cursor = cursor
    state.backoff_until = backoff_until
    state.last_attempt_at = poll.at
    state.polls_total += 1
    state.added_total += poll.added
    if poll.error is None:
        state.last_success_at = poll.at
    else:
        state.errors_total += 1
        state.last_error_at, state.last_error = poll.at, poll.error
    reasons = "\n".join(poll.rejections) or None
    if poll.rejected:
        state.rejected_total += poll.rejected
        more = poll.rejected - len(poll.rejections)
        state.last_rejected_at = poll.at
        state.last_rejected = (poll.rejections[0] if poll.rejections else "") + (
            f" (and {more:,} more)" if more else ""
        )
    session.add(
        SourcePoll(
            source=name,
            at=poll.at,
            fetched=poll.fetched,
            matched=poll.matched,
            added=poll.added,
            error=poll.error,
            rejected=poll.rejected,
            rejections=reasons,
        )
    )
    session.flush()


def source_states(*, session: Session) -> list[SourceState]:
    return list(session.execute(select(SourceState).order_by(SourceState.name)).scalars())


@dataclass(frozen=True)
class SourceSummary:
    state: SourceState
    added_recently: int  # mentions its polls added since the time asked about
    rejected_recently: int = 0  # items its polls rejected since then


def source_summaries(*, session: Session, since: datetime) -> dict[str, SourceSummary]:
    """Every source that has been polled, by name, with the mentions its polls added and the items they rejected
    since ``since``."""
    totals = {
        source: (int(added or 0), int(rejected or 0))
        for source, added, rejected in session.execute(
            select(SourcePoll.source, func.sum(SourcePoll.added), func.sum(SourcePoll.rejected))
            .where(SourcePoll.at >= since)
            .group_by(SourcePoll.source)
        ).all()
    }
    return {s.name: SourceSummary(s, *totals.get(s.name, (0, 0))) for s in source_states(session=session)}


def delete_polls_before(*, session: Session, before: datetime) -> int:
    """Forget poll records older than ``before`` (the totals in source_states stay)."""
    return int(session.connection().execute(delete(SourcePoll).where(SourcePoll.at < before)).rowcount)
