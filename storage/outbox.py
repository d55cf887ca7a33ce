"""The outbox: messages for Slack, webhooks and e-mail, stored first, delivered by whichever process takes them (a
deliverer per target), at least once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.db import insert_unless_exists
from storage.models import OutboxMessage, OutboxStatus, OutboxTarget


def enqueue(
    *,
    session: Session,
    kind: str,
    channel: str,
    payload: dict[str, Any],
    at: datetime,
    dedup_key: str | None = None,
    attachment: bytes | None = None,
    attachment_name: str | None = None,
    target: OutboxTarget = OutboxTarget.SLACK,
) -> int | None:
    """Queue a message in the session's transaction: its id, or None if ``dedup_key`` is already queued."""
    values = {
        "kind": kind,
        "target": target.value,
        "channel": channel,
        "payload": payload,
        "attachment": attachment,
        "attachment_name": attachment_name,
        "dedup_key": dedup_key,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "created_at": at,
        "next_attempt_at": at,
    }
    return insert_unless_exists(session, OutboxMessage, values)


def claim_due(
    *,
    session: Session,
    now: datetime,
    lease: timedelta,
    limit: int = 10,
    target: OutboxTarget = OutboxTarget.SLACK,
) -> list[OutboxMessage]:
    """Take up to ``limit`` messages for ``target`` that are due, for ``lease``, in the caller's transaction (commit
    it at once).

    Taking one counts an attempt and moves its next attempt past the lease: a deliverer that dies holding it
    leaves it to be taken again when the lease runs out. On PostgreSQL rows another transaction is taking are
    skipped (``SKIP LOCKED``); SQLite has no row locks, so each take is an update that only the first taker's
    condition still matches.
    """
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.target == target.value,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    taken: list[OutboxMessage] = []
    for message in session.execute(query).scalars().all():
        take = (
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message.id,
                OutboxMessage.status == OutboxStatus.PENDING.value,
                OutboxMessage.next_attempt_at <= now,
            )
            .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=now + lease)
        )
        if session.connection().execute(take).rowcount == 1:
            session.refresh(message)
            taken.append(message)
    return taken


def _holding(message_id: int, attempt: int) -> Any:
    """The row, as long as nobody has taken it since this attempt's claim (a claim counts an attempt)."""
    return (OutboxMessage.id == message_id) & (OutboxMessage.attempts == attempt)


def record_step(*, session: Session, message_id: int, attempt: int, **values: str) -> bool:
    """Remember that Slack took one step of a message (``slack_channel``/``slack_ts`` of the post, ``file_id`` of
    the attachment), so that a retry skips it. False when another deliverer has taken the message since."""
    result = session.connection().execute(update(OutboxMessage).where(_holding(message_id, attempt)).values(**values))
    return bool(result.rowcount)


def mark_sent(*, session: Session, message_id: int, attempt: int, at: datetime) -> bool:
    statement = (
        update(OutboxMessage)
        .where(_holding(message_id, attempt))
        .values(status=OutboxStatus.SENT.value, sent_at=at, last_error=None)
    )
    return bool(session.connection().execute(statement).rowcount)


def mark_failed(*, session: Session, message_id: int, attempt: int, error: str, retry_at: datetime | None) -> bool:
    """A failed attempt: try again at ``retry_at``, or, with None, give up (the message is dead)."""
    values: dict[str, Any] = {"last_error": error[:2000]}
    if retry_at is None:
        values["status"] = OutboxStatus.DEAD.value
    else:
        values["next_attempt_at"] = retry_at
    return bool(
        session.connection()
        .execute(update(OutboxMessage).where(_holding(message_id, attempt)).values(**values))
        .rowcount
    )


def list_messages(*, session: Session, status: str | None = None, limit: int = 50) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return list(session.execute(query).scalars())


def messages_after(*, session: Session, after: int, limit: int = 100) -> list[OutboxMessage]:
    """The messages queued after the one of id ``after``, oldest first."""
    query = select(OutboxMessage).where(OutboxMessage.id > after).order_by(OutboxMessage.id).limit(limit)
    return list(session.execute(query).scalars())


def retry_dead(*, session: Session, now: datetime, ids: Sequence[int] | None = None) -> int:
    """Give dead messages (all, or those of ``ids``) a fresh set of attempts; returns how many."""
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.DEAD.value)
        .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now)
    )
    if ids is not None:
        statement = statement.where(OutboxMessage.id.in_(list(ids)))
    return int(session.connection().execute(statement).rowcount)


def count_by_status(*, session: Session) -> dict[str, int]:
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    return {status: int(n) for status, n in session.execute(query)}


def delete_sent_before(*, session: Session, before: datetime) -> int:
    statement = delete(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.SENT.value, OutboxMessage.sent_at < before
    )
    return int(session.connection().execute(statement).rowcount)
