"""Parsing the date-times users type and files contain."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime

_RELATIVE = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TWITTER_FORMAT = "%a %b %d %H:%M:%S %z %Y"


def parse_moment(value: str, *, tz: tzinfo, now: datetime | None = None) -> datetime:
    """A CLI date-time: ISO 8601 (date or date-time, naive means ``tz``) or a duration back from now (``24h``, ``7d``)."""
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"{value!r} is not a date-time: use ISO 8601 (2024-05-01, 2024-05-01T09:30, 2024-05-01T09:30+02:00) "
            "or a duration back from now (30m, 24h, 7d, 2w)"
        ) from None
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
