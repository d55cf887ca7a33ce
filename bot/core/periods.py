"""The one grammar of times users write, in the CLI, in Slack and on the API.

A *period* is a stretch of time: ``24h``, ``last 7 days``, ``today``, ``yesterday``, ``3 days ago``, ``last week``,
``this month``, ``last quarter``, ``this year``, ``2026-11-01``, ``2026-11-01..2026-11-30`` or
``2026-11-01T09:00..2026-11-01T17:30``. A *moment* (``--since``, ``--until``, the API's ``since`` and ``until``) is an
ISO 8601 date-time, a duration back from now (``30m``, ``24h``, ``7d``, ``2 weeks``), or any other period, meaning its
start: ``--since yesterday`` is yesterday's midnight, ``--until "last week"`` last week's Monday.

Calendar days, weeks (from Monday), months, quarters and years are those of the configured timezone; a period that
has not ended yet (today, this week) ends now.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from bot.core.timeparse import DAY_RANGE, in_range, out_of_range
from bot.errors import UsageError

MAX_PERIOD = timedelta(days=366)
PERIOD_HELP = (
    "a period such as `24h`, `7d`, `last 2 weeks`, `today`, `yesterday`, `3 days ago`, `this week`, `last week`, "
    "`last month`, `last quarter`, `this year`, `2026-11-01` or `2026-11-01..2026-11-30` (whole days, both included)"
)
MOMENT_HELP = (
    "an ISO 8601 date-time (2024-05-01, 2024-05-01T09:30, 2024-05-01T09:30+02:00), a duration back from now "
    "(30m, 24h, 7d, 2 weeks) or a period such as yesterday, 3 days ago, last week or last quarter (its start)"
)

_UNIT_NAMES = {
    "m": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
    "w": "weeks",
    "wk": "weeks",
    "wks": "weeks",
    "week": "weeks",
    "weeks": "weeks",
}
_DURATION = re.compile(r"^(?:(?:last|past)\s+)?(\d+)\s*([a-z]+)$")
_AGO = re.compile(r"^(\d{1,6})\s+(days?|weeks?|months?)\s+ago$")
_RANGE = re.compile(r"^(\S+?)\s*\.\.\s*(\S+)$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # excluded
    # How the user wrote it, for the answer ("last week").
    name: str


def during(name: str) -> str:
    """A period as an answer puts it after a count: "in the last 7d", "in the last 2 weeks", "yesterday",
    "2026-11-01..2026-11-30"."""
    duration = _DURATION.match(name)
    if duration and duration.group(2) in _UNIT_NAMES:
        unit = duration.group(2)
        return f"in the last {duration.group(1)}{'' if len(unit) == 1 else ' '}{unit}"
    return name


def local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _month_start(day: date, back: int = 0) -> date:
    months = day.year * 12 + day.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


def _quarter_start(day: date, back: int = 0) -> date:
    return _month_start(day.replace(month=day.month - (day.month - 1) % 3), 3 * back)


def _calendar(name: str, today: date) -> tuple[date, date] | None:
    """The first and last day of a calendar period named in words, or None."""
    monday = today - timedelta(days=today.weekday())
    named: dict[str, Callable[[], tuple[date, date]]] = {
        "today": lambda: (today, today),
        "yesterday": lambda: (today - timedelta(days=1), today - timedelta(days=1)),
        "this week": lambda: (monday, today),
        "last week": lambda: (monday - timedelta(days=7), monday - timedelta(days=1)),
        "this month": lambda: (_month_start(today), today),
        "last month": lambda: (_month_start(today, 1), _month_start(today) - timedelta(days=1)),
        "this quarter": lambda: (_quarter_start(today), today),
        "last quarter": lambda: (_quarter_start(today, 1), _quarter_start(today) - timedelta(days=1)),
        "this year": lambda: (date(today.year, 1, 1), today),
        "last year": lambda: (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    }
    if name in named:
        return named[name]()
    ago = _AGO.match(name)
    if ago is None:
        return None
    amount, unit = int(ago.group(1)), ago.group(2).rstrip("s")
    try:
        if unit == "day":
            day = today - timedelta(days=amount)
            return day, day
        if unit == "week":
            first = monday - timedelta(weeks=amount)
            return first, first + timedelta(days=6)
        first = _month_start(today, amount)
        return first, _month_start(first, -1) - timedelta(days=1)
    except (OverflowError, ValueError):
        raise UsageError(f"`{name}` is out of range: dates from {DAY_RANGE} are taken") from None


def meant_as_period(word: str) -> bool:
    """Whether ``word`` has a period's shape (``0d``, ``400d``, ``2026-13-01``, ``2026-11-01..x``) though it may not
    be a valid one: said as a wrong period rather than searched for. ``5g`` or ``2fa`` are words."""
    duration = _DURATION.match(word)
    return bool(duration and duration.group(2) in _UNIT_NAMES) or bool(re.match(r"^\d{4}-\d{2}-\d{2}", word))


def _duration(name: str) -> timedelta | None:
    """``24h``, ``7 days``, ``last 2 weeks``: the length, or None when ``name`` is no duration."""
    match = _DURATION.match(name)
    if match is None or match.group(2) not in _UNIT_NAMES:
        return None
    if len(match.group(1)) > 12:
        raise UsageError(out_of_range(name))
    try:
        return timedelta(**{_UNIT_NAMES[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise UsageError(out_of_range(name)) from None


def _edge(text: str, tz: tzinfo, *, end: bool, whole: str = "") -> datetime:
    """One side of ``A..B`` (``whole``, as the user wrote it): a day (its midnight; the next day's for the end: days
    are included) or a date-time."""
    try:
        if _ISO_DAY.match(text):
            day = date.fromisoformat(text)
            moment = local_midnight(day, tz)
        else:
            moment = datetime.fromisoformat(text)
            day = moment.date()
    except ValueError:
        raise UsageError(f"`{text}` is not a calendar date (write it as 2026-11-01 or 2026-11-01T09:30)") from None
    if not in_range(day):
        raise UsageError(f"`{whole or text}` is out of range: dates from {DAY_RANGE} are taken")
    if _ISO_DAY.match(text):
        return local_midnight(day + timedelta(days=1), tz) if end else moment
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def _days(first: date, last: date, tz: tzinfo, name: str, now: datetime) -> Period:
    if not (in_range(first) and in_range(last)):
        raise UsageError(f"`{name}` is out of range: dates from {DAY_RANGE} are taken")
    start, end = local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)
    # "today" and the current week, month, quarter or year end now: the rest of them has not happened.
    return Period(start, min(end, now) if start < now < end else end, name)


def parse_period(text: str, *, now: datetime, tz: tzinfo) -> Period:
    """The period ``text`` names (see the module's grammar), on days from 1970-01-01 to 2200-12-31 and at most
    ``MAX_PERIOD`` long; UsageError if none."""
    name = " ".join(text.lower().split())
    today = now.astimezone(tz).date()
    length = _duration(name)
    if length is not None:
        if not length:
            raise UsageError(f"`{text}` is an empty period")
        if length > MAX_PERIOD:
            raise UsageError("the longest period is a year (`366d`)")
        return Period(now - length, now, name)
    days = _calendar(name, today)
    if days is not None:
        period = _days(*days, tz, name, now)
    else:
        both = _RANGE.match(name)
        if both is not None:
            first, last = both.group(1), both.group(2)
        elif _ISO_DAY.match(name):
            first = last = name
        else:
            raise UsageError(f"`{text[:60]}` is not a period: write {PERIOD_HELP}")
        start, end = _edge(first, tz, end=False, whole=name), _edge(last, tz, end=True, whole=name)
        if end <= start:
            raise UsageError(f"`{name}` ends before it starts")
        period = Period(start, end, name)
    if period.end - period.start > MAX_PERIOD:
        raise UsageError("the longest period is a year")
    return period


def parse_moment(value: str, *, tz: tzinfo, now: datetime | None = None) -> datetime:
    """A moment (see the module's grammar): an ISO 8601 date-time (naive means ``tz``), a duration back from now of
    any length, or the start of a period; on a day from 1970-01-01 to 2200-12-31. ValueError otherwise."""
    now = now or datetime.now(UTC)
    name = " ".join(value.lower().split())
    try:
        length = _duration(name)
        if length is not None:
            moment = now - length
        elif (days := _calendar(name, now.astimezone(tz).date())) is not None:
            if not in_range(days[0]):
                raise UsageError(out_of_range(value))
            moment = local_midnight(days[0], tz)
        else:
            moment = _edge(value.strip(), tz, end=False)
    except OverflowError:  # further back than datetime goes
        raise ValueError(out_of_range(value)) from None
    except UsageError as exc:
        if "out of range" in str(exc):
            raise ValueError(out_of_range(value)) from None
        raise ValueError(f"{value[:60]!r} is not a date-time: use {MOMENT_HELP}") from None
    if not in_range(moment.astimezone(UTC).date()) and not in_range(moment.date()):
        raise ValueError(out_of_range(value))
    return moment
