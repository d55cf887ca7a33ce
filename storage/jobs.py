"""Runs of scheduled jobs: one row per occurrence, whose unique key makes one process the one that runs it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.db import insert_unless_exists
from storage.models import JobRun


def claim_run(*, session: Session, job: str, scheduled_for: datetime, owner: str, at: datetime) -> int | None:
    """Claim one occurrence of a job in the caller's transaction (commit it at once: the claim is what other
    processes see); the run's id, or None when another process claimed it first."""
    values = {"job": job, "scheduled_for": scheduled_for, "owner": owner, "status": "running", "started_at": at}
    return insert_unless_exists(session, JobRun, values)


def finish_run(*, session: Session, run_id: int, succeeded: bool, at: datetime, detail: str | None) -> None:
    session.execute(
        update(JobRun)
        .where(JobRun.id == run_id)
        .values(status="succeeded" if succeeded else "failed", finished_at=at, detail=(detail or "")[:2000])
    )


def last_successes(*, session: Session) -> dict[str, datetime]:
    """When each job last finished successfully."""
    return _last_finished(session, "succeeded")


def last_failures(*, session: Session) -> dict[str, datetime]:
    """When each job last failed."""
    return _last_finished(session, "failed")


def _last_finished(session: Session, status: str) -> dict[str, datetime]:
    query = select(JobRun.job, func.max(JobRun.finished_at)).where(JobRun.status == status).group_by(JobRun.job)
    return {job: at for job, at in session.execute(query) if at is not None}


def delete_runs_before(*, session: Session, before: datetime) -> int:
    statement = delete(JobRun).where(JobRun.scheduled_for < before, JobRun.status != "running")
    return int(session.connection().execute(statement).rowcount)
