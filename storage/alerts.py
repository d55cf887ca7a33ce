"""Spike alerts that were raised: the cooldown reads the latest, and a spike is stored (and reported) once; what the
team did with them in Slack (acknowledged, not a spike), the brands' snoozes and their lowered sensitivity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import insert_unless_exists
from storage.models import AlertSnooze, BrandSensitivity, SpikeAlert


def latest_alert(*, session: Session, brand: str, kind: str) -> SpikeAlert | None:
    query = (
        select(SpikeAlert)
        .where(SpikeAlert.brand == brand, SpikeAlert.kind == kind)
        .order_by(SpikeAlert.window_end.desc())
        .limit(1)
    )
    return session.execute(query).scalar_one_or_none()


def record_alert(
    *,
    session: Session,
    brand: str,
    kind: str,
    severity: str,
    window: tuple[datetime, datetime],
    details: dict[str, Any],
    at: datetime,
) -> int | None:
    """Store an alert in the session's transaction: its id, or None when this window's alert was already stored."""
    values = {
        "brand": brand,
        "kind": kind,
        "severity": severity,
        "window_start": window[0],
        "window_end": window[1],
        "details": details,
        "created_at": at,
    }
    return insert_unless_exists(session, SpikeAlert, values)


def get_alert(*, session: Session, alert_id: int) -> SpikeAlert | None:
    return session.get(SpikeAlert, alert_id)


def acknowledge(*, session: Session, alert_id: int, user: str, at: datetime) -> SpikeAlert | None:
    """Mark an alert acknowledged (the first acknowledgement stands); None when there is no such alert."""
    # populate_existing: the row as it is once locked, not a copy this session read before waiting for the lock.
    alert = session.get(SpikeAlert, alert_id, with_for_update=True, populate_existing=True)
    if alert is not None and alert.acknowledged_by is None:
        alert.acknowledged_by, alert.acknowledged_at = user, at
    return alert


def judge_not_a_spike(*, session: Session, alert_id: int, user: str, at: datetime) -> tuple[SpikeAlert | None, bool]:
    """Record that an alert was not a spike: (the alert, whether this verdict is new)."""
    alert = session.get(SpikeAlert, alert_id, with_for_update=True, populate_existing=True)
    if alert is None or alert.verdict is not None:
        return alert, False
    alert.verdict, alert.verdict_by, alert.verdict_at = "not_a_spike", user, at
    return alert, True


def not_a_spike_count(*, session: Session, brand: str, since: datetime) -> int:
    """Verdicts "not a spike" on a brand's alerts given since ``since``."""
    query = select(func.count()).where(
        SpikeAlert.brand == brand, SpikeAlert.verdict == "not_a_spike", SpikeAlert.verdict_at >= since
    )
    return int(session.execute(query).scalar_one())


def snooze(*, session: Session, brand: str, until: datetime, user: str, at: datetime) -> None:
    session.add(AlertSnooze(brand=brand, until=until, snoozed_by=user, created_at=at))


def snoozed_until(*, session: Session, brands: list[str], now: datetime) -> dict[str, tuple[datetime, str]]:
    """The brands snoozed at ``now``: until when, and by whom (the snooze that ends last)."""
    query = (
        select(AlertSnooze.brand, AlertSnooze.until, AlertSnooze.snoozed_by)
        .where(AlertSnooze.brand.in_(brands), AlertSnooze.until > now)
        .order_by(AlertSnooze.until)
    )
    return {brand: (until, by) for brand, until, by in session.execute(query)}


def sensitivity_levels(*, session: Session) -> dict[str, BrandSensitivity]:
    return {row.brand: row for row in session.execute(select(BrandSensitivity)).scalars()}


def set_sensitivity(*, session: Session, brand: str, level: int, reason: str, at: datetime) -> None:
    row = session.get(BrandSensitivity, brand, with_for_update=True)
    if row is None:
        session.add(BrandSensitivity(brand=brand, level=level, changed_at=at, reason=reason))
    else:
        row.level, row.changed_at, row.reason = level, at, reason
