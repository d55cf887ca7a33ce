"""Time arithmetic on APScheduler triggers: which occurrences fall in a span, which one came last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

# Interval jobs count from here, so that every process fires them at the same instants.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_TICK = timedelta(microseconds=1)


def every(seconds: int) -> IntervalTrigger:
    return IntervalTrigger(seconds=seconds, start_date=EPOCH, timezone=UTC)


def _second_pass(fire: datetime) -> bool:
    """Whether ``fire`` is a wall-clock time's second occurrence, in the hour repeated when clocks go back."""
    return fire.fold == 1 and fire.replace(fold=0).utcoffset() != fire.utcoffset()


def fire_times(trigger: BaseTrigger, after: datetime, until: datetime, limit: int | None = None) -> list[datetime]:
    """The trigger's fire times in (after, until], the first ``limit`` of them if given.

    A cron time in the hour that repeats when clocks go back counts once (its first pass): a daily digest at 01:30
    goes out once that night, not twice.
    """
    times: list[datetime] = []
    moment = (after + _TICK).astimezone(UTC)
    while True:
        # From a UTC instant each time: one microsecond added to a local time would lose its fold and, in the
        # repeated hour, give back the same occurrence for ever.
        fire = trigger.get_next_fire_time(None, moment)
        if fire is None or fire > until or (limit is not None and len(times) >= limit):
            return times
        instant = fire.astimezone(UTC)
        if instant <= moment - _TICK:  # never go backwards, whatever the trigger answers
            raise RuntimeError(f"trigger {trigger} went back from {moment} to {instant}")
        if instant > after and not _second_pass(fire):
            times.append(instant)
        moment = instant + _TICK


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
