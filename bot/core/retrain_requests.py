"""Alert-driven retraining: Alertmanager's notifications of the model's accuracy alerts become retrain requests.

With automatic retraining a firing alert queues a retrain; without, it records a recommendation that an admin can
start from Slack. One request per alert episode: Alertmanager repeats a group's notification every repeat interval
and whenever the group changes, and none of those repeats asks again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker

from storage.outbox import enqueue
from storage.retrains import approve, ask

RETRAIN_ALERTS = ("ModelAccuracyBelowThreshold", "LiveAccuracyDrop")


class _Loose(BaseModel):
    # Alertmanager adds fields from one version to the next: what brandpulse does not read, it ignores.
    model_config = ConfigDict(extra="ignore")


class Alert(_Loose):
    status: str = Field(max_length=16)
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str = Field(max_length=64)  # noqa: N815 - Alertmanager's name


class Notification(_Loose):
    """The body of Alertmanager's webhook (``version`` 4)."""

    version: str = Field(max_length=8)
    groupKey: str = Field(max_length=4096)  # noqa: N815 - Alertmanager's name
    status: str = Field(max_length=16)
    receiver: str = Field(default="", max_length=256)
    alerts: list[Alert] = Field(max_length=1000)


@dataclass(frozen=True)
class AlertOutcome:
    """What a notification led to: "queued", "recommended", "duplicate" (this episode asked already) or "ignored"."""

    action: str
    request_id: int | None
    reason: str


# (request id, action, reason) -> (channel, Slack message) to queue beside the request, or None for no message.
Notify = Callable[[int, str, str], tuple[str, dict[str, Any]] | None]


def receive(
    sessions: sessionmaker[Session], notification: Notification, *, auto: bool, at: datetime, notify: Notify
) -> AlertOutcome:
    """Turn a notification into at most one retrain request, stored with its Slack message in one transaction."""
    firing = [a for a in notification.alerts if a.status == "firing" and a.labels.get("alertname") in RETRAIN_ALERTS]
    if notification.status != "firing" or not firing:
        return AlertOutcome("ignored", None, "no firing alert that asks for retraining")
    names = sorted({a.labels["alertname"] for a in firing})
    summaries = [a.annotations.get("summary") or a.labels["alertname"] for a in firing]
    reason = "; ".join(dict.fromkeys(s[:300] for s in summaries))
    # An episode of the group: its key and when its earliest alert began firing. A later episode (after the alert
    # resolved) asks again; a repeat of this one does not.
    episode = f"{notification.groupKey}|{min(a.startsAt for a in firing)}"
    dedup_key = "alert:" + hashlib.sha256(episode.encode()).hexdigest()
    action = "queued" if auto else "recommended"
    with sessions.begin() as session:
        request_id = ask(
            session=session,
            trigger=f"alert:{names[0]}",
            reason=reason,
            requested_by="alertmanager",
            status=action,
            at=at,
            dedup_key=dedup_key,
        )
        if request_id is None:
            return AlertOutcome("duplicate", None, reason)
        message = notify(request_id, action, reason)
        if message is not None:
            channel, payload = message
            enqueue(
                session=session,
                kind="retrain",
                channel=channel,
                payload=payload,
                at=at,
                dedup_key=f"retrain:{request_id}:{action}",
            )
    return AlertOutcome(action, request_id, reason)


def start_recommended(sessions: sessionmaker[Session], request_id: int, *, by: str) -> bool:
    """An admin starts a recommended retrain: queued for the next process that runs jobs. False: not waiting."""
    with sessions.begin() as session:
        return approve(session=session, request_id=request_id, by=by)
