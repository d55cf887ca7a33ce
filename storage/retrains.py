"""Retrain requests: asked for, approved, claimed by one process at a time, finished."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import insert_unless_exists
from storage.mlops_tables import RetrainRequest


def ask(
    *,
    session: Session,
    trigger: str,
    reason: str,
    requested_by: str,
    status: str,
    at: datetime,
    dedup_key: str | None = None,
    owner: str | None = None,
) -> int | None:
    """A new request; None when ``dedup_key`` was asked for already, or when it would run (``status`` running)
    while another runs."""
    values = {
        "dedup_key": dedup_key,
        "trigger": trigger[:64],
        "reason": reason,
        "requested_by": requested_by[:64],
        "status": status,
        "owner": owner,
        "created_at": at,
        "started_at": at if status == "running" else None,
    }
    return insert_unless_exists(session, RetrainRequest, values)


def approve(*, session: Session, request_id: int, by: str) -> bool:
    """A recommended retrain started by an admin: queued. False when it was not waiting for one (started already)."""
    statement = (
        update(RetrainRequest)
        .where(RetrainRequest.id == request_id, RetrainRequest.status == "recommended")
        .values(status="queued", requested_by=by[:64])
    )
    return bool(session.connection().execute(statement).rowcount)


def claim(sessions: sessionmaker[Session], *, owner: str, at: datetime) -> RetrainRequest | None:
    """Take the oldest queued request and mark it running, in a transaction of its own; None when none is queued or
    another one is running (the unique index on running requests refuses the second, in any process)."""
    with sessions() as session:
        try:
            with session.begin():
                oldest = session.execute(
                    select(RetrainRequest.id)
                    .where(RetrainRequest.status == "queued")
                    .order_by(RetrainRequest.id)
                    .limit(1)
                ).scalar_one_or_none()
                if oldest is None:
                    return None
                taken = (
                    session.connection()
                    .execute(
                        update(RetrainRequest)
                        .where(RetrainRequest.id == oldest, RetrainRequest.status == "queued")
                        .values(status="running", owner=owner[:255], started_at=at)
                    )
                    .rowcount
                )
                if not taken:
                    return None
                request = session.get(RetrainRequest, oldest)
                assert request is not None
                session.expunge(request)
                return request
        except IntegrityError:
            return None


def finish(
    *, session: Session, request_id: int, succeeded: bool, at: datetime, detail: str, candidate: str | None = None
) -> None:
    session.execute(
        update(RetrainRequest)
        .where(RetrainRequest.id == request_id)
        .values(
            status="succeeded" if succeeded else "failed", finished_at=at, detail=detail[:2000], candidate=candidate
        )
    )


def abandon_stale(*, session: Session, started_before: datetime, at: datetime) -> int:
    """Running requests whose process has surely died (started before ``started_before``): failed, so that the
    next one can run."""
    return int(
        session.connection()
        .execute(
            update(RetrainRequest)
            .where(RetrainRequest.status == "running", RetrainRequest.started_at < started_before)
            .values(status="failed", finished_at=at, detail="abandoned: its process stopped before finishing")
        )
        .rowcount
    )


def running(*, session: Session) -> RetrainRequest | None:
    return session.execute(select(RetrainRequest).where(RetrainRequest.status == "running")).scalar_one_or_none()


def retrain_requests(*, session: Session, limit: int = 20) -> list[RetrainRequest]:
    return list(session.execute(select(RetrainRequest).order_by(RetrainRequest.id.desc()).limit(limit)).scalars())
