"""The periods a report covers, as users write them: ``last week``, ``7d``, ``2026-11-01..2026-11-30``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.timeparse import DAY_RANGE, in_range
from bot.errors import UsageError

MAX_PERIOD = timedelta(days=366)
PERIOD_HELP = (
    "a period such as `24h`, `7d`, `4w`, `today`, `yesterday`, `this week`, `last week`, `this month`, "
    "`last month`, `2026-11-01` or `2026-11-01..2026-11-30` (whole days, both included)"
)
_RELATIVE = re.compile(r"^(?:last\s+)?(\d{1,4})\s*(h|hours?|d|days?|w|weeks?)$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_DAYS = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s*\.\.\s*(\d{4}-\d{2}-\d{2}))?$")


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # excluded
    # How the user wrote it, for the answer ("last week").
    name: str


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _days(first: date, last: date, tz: ZoneInfo, name: str) -> Period:
    if last < first:
        raise UsageError(f"`{name}` ends before it starts")
    return Period(local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz), name)


def parse_period(text: str, *, now: datetime, tz: ZoneInfo) -> Period:
    """The period ``text`` names, in ``tz`` for calendar days, weeks (from Monday) and months, on days from
    1970-01-01 to 2200-12-31 (``timeparse.FIRST_DAY``, ``LAST_DAY``) and at most ``MAX_PERIOD`` long; UsageError if
    none."""
    name = " ".join(text.lower().split())
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    relative = _RELATIVE.match(name)
    if relative:
        amount = int(relative.group(1))
        if amount == 0:
            raise UsageError(f"`{text}` is an empty period")
        length = amount * _UNITS[relative.group(2)[0]]
        if length > MAX_PERIOD:
            raise UsageError("the longest period is a year (`366d`)")
        return Period(now - length, now, name)
    calendar = {
        "today": lambda: _days(today, today, tz, name),
        "yesterday": lambda: _days(today - timedelta(days=1), today - timedelta(days=1), tz, name),
        "this week": lambda: _days(monday, today, tz, name),
        "last week": lambda: _days(monday - timedelta(days=7), monday - timedelta(days=1), tz, name),
        "this month": lambda: _days(_month_start(today), today, tz, name),
        "last month": lambda: _days(
            _month_start(_month_start(today) - timedelta(days=1)), _month_start(today) - timedelta(days=1), tz, name
        ),
    }
    if name in calendar:
        period = calendar[name]()
        # "today" and the current week or month end now: the rest of them has not happened.
        return Period(period.start, min(period.end, now), name) if period.end > now > period.start else period
    days = _DAYS.match(name)
    if days:
        try:
            first = date.fromisoformat(days.group(1))
            last = date.fromisoformat(days.group(2) or days.group(1))
        except ValueError:
            raise UsageError(f"`{text}` is not a calendar date (write it as 2026-11-01)") from None
        if not (in_range(first) and in_range(last)):
            raise UsageError(f"`{name}` is out of range: dates from {DAY_RANGE} are taken")
        period = _days(first, last, tz, name)
        if period.end - period.start > MAX_PERIOD:
            raise UsageError("the longest period is a year")
        return period
    raise UsageError(f"`{text[:60]}` is not a period: write {PERIOD_HELP}")
