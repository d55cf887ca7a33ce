"""Parsing the date-times users type and files contain."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from email.utils import parsedate_to_datetime

from dateutil import parser as dateutil_parser

# The days a user may name (a --since, an API filter, a report's dates): every day a stored mention can have (ingest
# takes 1990 to 2200), and near enough that a period built on them (a day added, the period before it) stays inside
# what datetime and the databases hold.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2200, 12, 31)
DAY_RANGE = f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"

_TWITTER_FORMAT = "%a %b %d %H:%M:%S %z %Y"
# Dates as spreadsheets and people write them, read with dateutil: numbers (01/11/2026, 1.11.26 14:05, 2026/11/01) or
# a month's name with a four-digit year (1 Nov 2026, November 1, 2026 10:00 PM). Anything looser ("5", "Monday")
# would be a guess: dateutil fills what is missing from today.
_NUMERIC_DATE = re.compile(r"^(\d{1,2})[/.-]\d{1,2}[/.-]\d{2}(?:\d{2})?(?=$|[\sT,])")
_YEAR_FIRST_DATE = re.compile(r"^\d{4}[/.]\d{1,2}[/.]\d{1,2}(?=$|[\sT,])")
_MONTH_NAME = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?![a-z])", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")


def in_range(day: date) -> bool:
    """Whether ``day`` is one a user may name (see ``FIRST_DAY``)."""
    return FIRST_DAY <= day <= LAST_DAY


def out_of_range(value: str) -> str:
    """Why ``value`` (as the user wrote it) names a day that cannot be used."""
    shown = value if len(value) <= 40 else value[:39] + "…"
    return f"{shown!r} is out of range: dates from {DAY_RANGE} are taken"


def parse_timestamp(value: object, *, tz: tzinfo, dayfirst: bool = False) -> datetime:
    """A date-time from a data file: ISO 8601, epoch seconds, RFC 2822, Twitter's API format, or a date as people
    write it (01/11/2026 14:05, 1 Nov 2026): month first unless ``dayfirst`` (``ingest --dayfirst``)."""
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
        # dateutil before RFC 2822: the email parser also takes "Nov 1, 2026 10:00 PM", and drops the PM.
        written = lambda s: _written_date(s, dayfirst=dayfirst)  # noqa: E731 - one of the readers tried in turn
        for parse in (lambda s: datetime.strptime(s, _TWITTER_FORMAT), written, parsedate_to_datetime):
            try:
                moment = parse(text)
            except (ValueError, TypeError, IndexError):
                continue
            if moment is not None:
                break
    if moment is None:
        raise ValueError(
            f"cannot parse date {value[:60]!r} (expected ISO 8601, e.g. 2011-10-15T05:36:56Z, or a date such as "
            f"{'15/10/2011 05:36' if dayfirst else '10/15/2011 05:36'} or 15 Oct 2011)"
        )
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def _written_date(text: str, *, dayfirst: bool) -> datetime | None:
    """``text`` read by dateutil when it is a whole date as people write it (see ``_NUMERIC_DATE``), else None."""
    year_first = _YEAR_FIRST_DATE.match(text) is not None
    if not (year_first or _NUMERIC_DATE.match(text) or (_MONTH_NAME.search(text) and _YEAR.search(text))):
        return None
    if len(text) > 100:  # dateutil's tokenizer on a long string: no date is that long
        return None
    try:
        moment: datetime = dateutil_parser.parse(text, dayfirst=dayfirst and not year_first, yearfirst=year_first)
    except (ValueError, OverflowError):
        return None
    return moment
