"""The one grammar of times users write: periods (reports, Slack's history and stats) and moments (--since, --until,
the API's since and until)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.periods import during, parse_moment, parse_period
from bot.errors import UsageError

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2027, 1, 14, 10, 30, tzinfo=ROME)  # a Thursday


def _days(text: str, now: datetime = NOW) -> tuple[date, date]:
    """The first and last whole day a period covers."""
    period = parse_period(text, now=now, tz=ROME)
    assert period.start == datetime.combine(period.start.date(), datetime.min.time(), ROME)
    last = period.end - timedelta(microseconds=1) if period.end != now else now
    return period.start.date(), last.astimezone(ROME).date()


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("today", date(2027, 1, 14), date(2027, 1, 14)),
        ("yesterday", date(2027, 1, 13), date(2027, 1, 13)),
        ("3 days ago", date(2027, 1, 11), date(2027, 1, 11)),
        ("1 day ago", date(2027, 1, 13), date(2027, 1, 13)),
        ("2 weeks ago", date(2026, 12, 28), date(2027, 1, 3)),
        ("1 month ago", date(2026, 12, 1), date(2026, 12, 31)),
        ("13 months ago", date(2025, 12, 1), date(2025, 12, 31)),
        ("this week", date(2027, 1, 11), date(2027, 1, 14)),
        ("last week", date(2027, 1, 4), date(2027, 1, 10)),
        ("this month", date(2027, 1, 1), date(2027, 1, 14)),
        ("last month", date(2026, 12, 1), date(2026, 12, 31)),
        ("this quarter", date(2027, 1, 1), date(2027, 1, 14)),
        ("last quarter", date(2026, 10, 1), date(2026, 12, 31)),
        ("this year", date(2027, 1, 1), date(2027, 1, 14)),
        ("last year", date(2026, 1, 1), date(2026, 12, 31)),
        ("Last  Quarter", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026-11-01", date(2026, 11, 1), date(2026, 11, 1)),
        ("2026-11-01..2026-11-30", date(2026, 11, 1), date(2026, 11, 30)),
        ("2026-11-01 .. 2026-11-30", date(2026, 11, 1), date(2026, 11, 30)),
    ],
)
def test_calendar_periods(text: str, first: date, last: date) -> None:
    assert _days(text) == (first, last)


def test_quarters_follow_the_calendar() -> None:
    for month, last_quarter in ((2, 10), (5, 1), (8, 4), (11, 7), (12, 7)):
        now = datetime(2026, month, 20, tzinfo=ROME)
        first = _days("last quarter", now)[0]
        assert (first.month, first.day) == (last_quarter, 1)
        assert _days("this quarter", now)[0] == date(2026, (month - 1) // 3 * 3 + 1, 1)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("90 minutes", timedelta(minutes=90)),
        ("last 3 days", timedelta(days=3)),
        ("past 24 hours", timedelta(hours=24)),
        ("last 2 weeks", timedelta(weeks=2)),
        ("366d", timedelta(days=366)),
    ],
)
def test_durations_end_now(text: str, length: timedelta) -> None:
    period = parse_period(text, now=NOW, tz=ROME)
    assert (period.start, period.end) == (NOW - length, NOW)


def test_a_range_of_date_times_is_taken_as_written() -> None:
    period = parse_period("2026-11-01T09:00..2026-11-01T17:30+00:00", now=NOW, tz=ROME)
    assert period.start == datetime(2026, 11, 1, 9, tzinfo=ROME)
    assert period.end == datetime(2026, 11, 1, 17, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0d", "`0d` is an empty period"),
        ("367d", "the longest period is a year"),
        ("2025-01-01..2026-01-02", "the longest period is a year"),
        ("2026-11-30..2026-11-01", "ends before it starts"),
        ("2026-13-01", "`2026-13-01` is not a calendar date"),
        ("a fortnight", "is not a period: write a period such as `24h`"),
        ("3 years ago", "is not a period"),
        ("99999 months ago", "out of range: dates from 1970-01-01 to 2200-12-31"),
    ],
)
def test_what_is_not_a_period_says_why(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        parse_period(text, now=NOW, tz=ROME)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("yesterday", datetime(2027, 1, 13, tzinfo=ROME)),
        ("today", datetime(2027, 1, 14, tzinfo=ROME)),
        ("3 days ago", datetime(2027, 1, 11, tzinfo=ROME)),
        ("last week", datetime(2027, 1, 4, tzinfo=ROME)),
        ("last quarter", datetime(2026, 10, 1, tzinfo=ROME)),
        ("24h", NOW - timedelta(hours=24)),
        ("2 weeks", NOW - timedelta(weeks=2)),
        ("30m", NOW - timedelta(minutes=30)),
        ("400d", NOW - timedelta(days=400)),  # a moment may lie further back than the longest period
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=ROME)),
        ("2026-11-01T09:30", datetime(2026, 11, 1, 9, 30, tzinfo=ROME)),
        ("2026-11-01 09:30+02:00", datetime.fromisoformat("2026-11-01T09:30+02:00")),
    ],
)
def test_moments(text: str, moment: datetime) -> None:
    assert parse_moment(text, tz=ROME, now=NOW) == moment


def test_what_is_not_a_moment_says_how_to_write_one() -> None:
    with pytest.raises(ValueError, match="is not a date-time: use an ISO 8601 date-time .* or a period such as"):
        parse_moment("the day before", tz=ROME, now=NOW)


def test_answers_name_durations_and_calendar_periods_alike() -> None:
    assert during("7d") == "in the last 7d"
    assert during("last 2 weeks") == "in the last 2 weeks"
    assert during("yesterday") == "yesterday"
    assert during("2026-11-01..2026-11-30") == "2026-11-01..2026-11-30"
