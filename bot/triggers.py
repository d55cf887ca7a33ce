"""Time arithmetic on APScheduler triggers: which occurrences fall in a span, which one came last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import AfterValidator

# Interval jobs count from here, so that every process fires them at the same instants.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_TICK = timedelta(microseconds=1)


def cron_expression(value: str) -> str:
    """``value`` if it is a 5-field cron expression; ValueError (for pydantic) saying what is expected if not."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValueError(f"expected a 5-field cron expression such as '0 9 * * 1-5' ({exc})") from None
    return value


# A setting or brands-file field holding a cron schedule, checked when it is read.
CronExpression = Annotated[str, AfterValidator(cron_expression)]


def every(seconds: int) -> IntervalTrigger:
    return IntervalTrigger(seconds=seconds, start_date=EPOCH, timezone=UTC)


def fire_times(trigger: BaseTrigger, after: datetime, until: datetime, limit: int | None = None) -> list[datetime]:
    """The trigger's fire times in (after, until], the first ``limit`` of them if given."""
    times: list[datetime] = []
    previous: datetime | None = None
    moment = after + _TICK
    while True:
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None or fire > until or (limit is not None and len(times) >= limit):
            return times
        if fire > after:
            times.append(fire.astimezone(UTC))
        previous, moment = fire, fire + _TICK


def latest_fire_time(trigger: BaseTrigger, now: datetime, lookback: timedelta) -> datetime | None:
    """The last fire time at or before ``now`` within ``lookback``: the occurrence a late-running job stands for."""
    times = fire_times(trigger, now - lookback - _TICK, now)
    return times[-1] if times else None


def previous_fire_time(trigger: BaseTrigger, before: datetime) -> datetime | None:
    """The last fire time strictly before ``before`` (within a year)."""
    for span in (timedelta(hours=1), timedelta(days=1), timedelta(days=8), timedelta(days=32), timedelta(days=367)):
        times = fire_times(trigger, before - span, before - _TICK)
        if times:
            return times[-1]
    return None
