"""Feedback on predictions: recording it, and the live accuracy it gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.models import Feedback


def record_feedback(
    *,
    session: Session,
    text: str,
    predicted_label: str,
    given_label: str,
    model_version: str,
    slack_user: str,
    slack_channel: str | None,
    created_at: datetime,
) -> Feedback:
    row = Feedback(
        text=text,
        predicted_label=predicted_label,
        given_label=given_label,
        model_version=model_version,
        slack_user=slack_user,
        slack_channel=slack_channel,
        created_at=created_at,
    )
    session.add(row)
    session.commit()
    return row


@dataclass(frozen=True)
class LiveAccuracy:
    correct: int
    total: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None


def live_accuracy(*, session: Session, since: datetime) -> LiveAccuracy:
    """Share of predictions people confirmed, among the feedback given since ``since``."""
    correct = func.sum(case((Feedback.predicted_label == Feedback.given_label, 1), else_=0))
    total, right = session.execute(select(func.count(), correct).where(Feedback.created_at >= since)).one()
    return LiveAccuracy(correct=int(right or 0), total=int(total))
