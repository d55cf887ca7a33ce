"""Verdicts on the model's predictions, from the feedback buttons under ``/sentiment`` answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from storage.feedback import record_feedback
from storage.mentions import storable_text


def record_verdict(
    sessions: sessionmaker[Session],
    *,
    text: str,
    predicted: str,
    given: str,
    model_version: str,
    user: str,
    channel: str | None,
    at: datetime,
) -> None:
    """Store one verdict: the label a user gave a text the model labelled ``predicted``."""
    with sessions.begin() as session:
        record_feedback(
            session=session,
            text=storable_text(text),
            predicted_label=predicted,
            given_label=given,
            model_version=model_version,
            slack_user=user,
            slack_channel=channel,
            created_at=at,
        )
