"""Cron schedules in settings and the brands file, checked when they are read, run as cron runs them.

APScheduler 3 reads a crontab's day-of-week field its own way: 0 is Monday there, Sunday in cron, so a digest set
for "0 9 * * 1" (Mondays) would come on Tuesdays. ``cron_trigger`` turns cron's days into day names first. Cron also
runs a job whose day of the month *and* day of the week are both restricted on either day, where APScheduler would
need both: such an expression is refused, saying so, rather than run on other days than meant.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Annotated

from apscheduler.triggers.cron import CronTrigger
from pydantic import AfterValidator

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day(token: str) -> int:
    """A day as cron writes it: 0-7 (0 and 7 Sunday) or a name (sun, Monday)."""
    name = token.strip().lower()[:3]
    if name in DAY_NAMES:
        return DAY_NAMES.index(name)
    if not token.isdigit() or not 0 <= int(token) <= 7:
        raise ValueError(f"{token!r} is not a day of the week (0-7 or sun-sat)")
    return int(token)


def weekdays(field: str) -> str:
    """cron's day-of-week field as day names APScheduler reads the same way: "1-5" -> "mon,tue,wed,thu,fri"."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        body, slash, step_text = part.partition("/")
        if slash and not (step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"{part!r}: a step is a whole number from 1")
        step = int(step_text) if slash else 1
        if body == "*":
            first, last = 0, 6
        elif "-" in body:
            start, end = body.split("-", 1)
            first, last = _day(start), _day(end)
            if last < first:
                raise ValueError(f"{body!r} runs backwards")
        else:
            first = _day(body)
            last = 7 if slash else first  # "1/2": from Monday, every other day
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(DAY_NAMES[day] for day in sorted(days))


def cron_trigger(value: str, tz: tzinfo | None = None) -> CronTrigger:
    """The trigger of a 5-field cron expression (minute hour day month weekday), days of the week as cron has them;
    ValueError saying what is wrong."""
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(f"wrong number of fields; got {len(fields)}, expected 5")
    minute, hour, day, month, day_of_week = fields
    if day != "*" and day_of_week != "*":
        raise ValueError(
            "a day of the month and a day of the week together run on either in cron, on both in brandpulse's "
            "scheduler: give one of them"
        )
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=weekdays(day_of_week), timezone=tz)


def cron_expression(value: str) -> str:
    """``value`` if it is a 5-field cron expression; ValueError (for pydantic) saying what is expected if not."""
    try:
        cron_trigger(value)
    except ValueError as exc:
        raise ValueError(f"expected a 5-field cron expression such as '0 9 * * 1-5' ({exc})") from None
    return value


# A setting or brands-file field holding a cron schedule, checked when it is read.
CronExpression = Annotated[str, AfterValidator(cron_expression)]
