"""What the team does with a spike alert in Slack: acknowledge it, snooze the brand, or say it was not a spike.

Repeated "not a spike" verdicts lower the brand's sensitivity: NOT_A_SPIKE_LIMIT of them within NOT_A_SPIKE_WINDOW
(counted since the last change) raise its thresholds one step (AlertConfig.lowered), at most MAX_LEVEL steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from storage.alerts import (
    acknowledge,
    get_alert,
    judge_not_a_spike,
    not_a_spike_count,
    sensitivity_levels,
    set_sensitivity,
    snooze,
)
from storage.db import lock_for_transaction
from storage.models import SpikeAlert

NOT_A_SPIKE_LIMIT = 3
NOT_A_SPIKE_WINDOW = timedelta(days=30)
MAX_LEVEL = 3
SNOOZE_HOURS = (1, 4, 24)


@dataclass(frozen=True)
class AlertState:
    """An alert as the team left it."""

    id: int
    brand: str
    kind: str
    severity: str
    window: tuple[datetime, datetime]
    details: dict[str, Any]
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    verdict: str | None
    verdict_by: str | None

    @classmethod
    def of(cls, alert: SpikeAlert) -> AlertState:
        return cls(
            alert.id,
            alert.brand,
            alert.kind,
            alert.severity,
            (alert.window_start, alert.window_end),
            dict(alert.details),
            alert.acknowledged_by,
            alert.acknowledged_at,
            alert.verdict,
            alert.verdict_by,
        )


@dataclass(frozen=True)
class Verdict:
    alert: AlertState
    new: bool
    # The brand's new sensitivity level when this verdict lowered it, with how many verdicts did.
    lowered_to: int | None = None
    verdicts: int = 0


def alert_state(sessions: sessionmaker[Session], alert_id: int) -> AlertState | None:
    with sessions() as session:
        alert = get_alert(session=session, alert_id=alert_id)
        return AlertState.of(alert) if alert is not None else None


def acknowledge_alert(sessions: sessionmaker[Session], alert_id: int, *, user: str, at: datetime) -> AlertState | None:
    """The alert once acknowledged (by ``user``, or by whoever did first); None when it is not stored."""
    with sessions.begin() as session:
        alert = acknowledge(session=session, alert_id=alert_id, user=user, at=at)
        return AlertState.of(alert) if alert is not None else None


def snooze_brand(sessions: sessionmaker[Session], brand: str, hours: int, *, user: str, at: datetime) -> datetime:
    """No spike alert for ``brand`` until ``hours`` from now; returns when that is."""
    if hours not in SNOOZE_HOURS:
        raise ValueError(f"snoozes last {', '.join(map(str, SNOOZE_HOURS))} hours")
    until = at + timedelta(hours=hours)
    with sessions.begin() as session:
        snooze(session=session, brand=brand, until=until, user=user, at=at)
    return until


def not_a_spike(sessions: sessionmaker[Session], alert_id: int, *, user: str, at: datetime) -> Verdict | None:
    """Record the verdict; lower the brand's sensitivity when it is the NOT_A_SPIKE_LIMIT-th since the last change."""
    with sessions.begin() as session:
        alert = get_alert(session=session, alert_id=alert_id)
        if alert is None:
            return None
        # One verdict at a time per brand, so that two at once cannot both lower the sensitivity, or neither.
        lock_for_transaction(session, f"brandpulse-sensitivity:{alert.brand}")
        alert, new = judge_not_a_spike(session=session, alert_id=alert_id, user=user, at=at)
        assert alert is not None
        if not new:
            return Verdict(AlertState.of(alert), new=False)
        current = sensitivity_levels(session=session).get(alert.brand)
        level = current.level if current is not None else 0
        since = at - NOT_A_SPIKE_WINDOW
        if current is not None and current.changed_at >= since:
            since = current.changed_at + timedelta(microseconds=1)  # the verdicts after the last change
        verdicts = not_a_spike_count(session=session, brand=alert.brand, since=since)
        if verdicts < NOT_A_SPIKE_LIMIT or level >= MAX_LEVEL:
            return Verdict(AlertState.of(alert), new=True, verdicts=verdicts)
        reason = f"{verdicts} alerts marked not a spike (the last by {user})"
        set_sensitivity(session=session, brand=alert.brand, level=level + 1, reason=reason, at=at)
        return Verdict(AlertState.of(alert), new=True, lowered_to=level + 1, verdicts=verdicts)


def sensitivities(sessions: sessionmaker[Session]) -> dict[str, tuple[int, datetime, str]]:
    """Each brand whose sensitivity was ever changed: its level, when and why."""
    with sessions() as session:
        return {b: (row.level, row.changed_at, row.reason) for b, row in sensitivity_levels(session=session).items()}


def reset_sensitivity(sessions: sessionmaker[Session], brand: str, *, at: datetime) -> int:
    """Back to the brands file's thresholds; returns the level it had."""
    with sessions.begin() as session:
        current = sensitivity_levels(session=session).get(brand)
        if current is None or current.level == 0:
            return 0
        level = current.level
        set_sensitivity(session=session, brand=brand, level=0, reason="reset from the command line", at=at)
        return level
