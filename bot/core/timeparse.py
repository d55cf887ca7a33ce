"""Parsing the date-times users type and files contain."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime

# The days a user may name (a --since, an API filter, a report's dates): every day a stored mention can have (ingest
# takes 1990 to 2200), and near enough that a period built on them (a day added, the period before it) stays inside
# what datetime and the databases hold.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2200, 12, 31)
DAY_RANGE = f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"

_RELATIVE = re.compile(r"^\s*([0-9]+)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TWITTER_FORMAT = "%a %b %d %H:%M:%S %z %Y"


def in_range(day: date) -> bool:
    """Whether ``day`` is one a user may name (see ``FIRST_DAY``)."""
    return FIRST_DAY <= day <= LAST_DAY


def out_of_range(value: str) -> str:
    """Why ``value`` (as the user wrote it) names a day that cannot be used."""
    shown = value if len(value) <= 40 else value[:39] + "…"
    return f"{shown!r} is out of range: dates from {DAY_RANGE} are taken"


def parse_moment(value: str, *, tz: tzinfo, now: datetime | None = None) -> datetime:
    """A CLI date-time: ISO 8601 (date or date-time, naive means ``tz``) or a duration back from now (``24h``, ``7d``),
    on a day from ``FIRST_DAY`` to ``LAST_DAY``; ValueError otherwise."""
    relative = _RELATIVE.match(value)
    if relative:
        digits, unit = relative.group(1), relative.group(2).lower()
        if len(digits) > 12:  # more minutes than datetime holds, and int() of a huge string is slow
            raise ValueError(out_of_range(value))
        try:
            moment = (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: int(digits)})
        except OverflowError:  # further back than datetime goes
            raise ValueError(out_of_range(value)) from None
        if not in_range(moment.astimezone(UTC).date()):
            raise ValueError(out_of_range(value))
        return moment
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"{value[:60]!r} is not a date-time: use ISO 8601 (2024-05-01, 2024-05-01T09:30, 2024-05-01T09:30+02:00) "
            "or a duration back from now (30m, 24h, 7d, 2w)"
        ) from None
    # The day as written: its offset (at most a day) cannot carry it outside what datetime holds.
    if not in_range(moment.date()):
        raise ValueError(out_of_range(value))
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def parse_timestamp(value: object, *, tz: tzinfo) -> datetime:
    """A date-time from a data file: ISO 8601, epoch seconds, RFC 2822 or Twitter's API format."""
    if isinstance(value, bool):
        raise ValueError(f"cannot parse date {value!r}")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"epoch seconds {value!r} out of range") from None
    if not isinstance(value, str):
        raise ValueError(f"cannot parse date {value!r}")
    text = value.strip()
    if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
        return parse_timestamp(float(text), tz=tz)
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        for parse in (lambda s: datetime.strptime(s, _TWITTER_FORMAT), parsedate_to_datetime):
            try:
                moment = parse(text)
                break
            except (ValueError, TypeError, IndexError):
                continue
    if moment is None:
        raise ValueError(f"cannot parse date {value[:60]!r} (expected ISO 8601, e.g. 2011-10-15T05:36:56Z)")
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment
