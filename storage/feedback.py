"""Feedback on predictions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from storage.mlops_tables import Feedback


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
    session.flush()
    return row
