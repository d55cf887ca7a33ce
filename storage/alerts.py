"""Spike alerts that were raised: the cooldown reads the latest, and a spike is stored (and reported) once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import insert_unless_exists
from storage.models import SpikeAlert


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
) -> bool:
    """Store an alert in the session's transaction; False when this window's alert was already stored."""
    values = {
        "brand": brand,
        "kind": kind,
        "severity": severity,
        "window_start": window[0],
        "window_end": window[1],
        "details": details,
        "created_at": at,
    }
    return insert_unless_exists(session, SpikeAlert, values) is not None
