"""Cron schedules run on the days cron runs them (APScheduler 3 counts the days of the week from Monday = 0)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config.cron import cron_expression, cron_trigger

MONDAY = datetime(2026, 11, 2, 10, tzinfo=UTC)  # Monday 2 November 2026, after 09:00


def _days(expression: str, tz: ZoneInfo | None = None) -> list[str]:
    """The weekdays of the next seven days on which ``expression`` fires."""
    trigger = cron_trigger(expression, tz or UTC)
    fired, previous = [], None
    now = MONDAY
    while True:
        moment = trigger.get_next_fire_time(previous, now)
        if moment is None or moment >= MONDAY + timedelta(days=7):
            return fired
        fired.append(moment.strftime("%a"))
        previous, now = moment, moment + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("expression", "days"),
    [
        ("0 9 * * 1", ["Mon"]),  # APScheduler's own reading would be Tuesday
        ("0 18 * * 0", ["Sun"]),  # and Monday here
        ("0 18 * * 7", ["Sun"]),
        ("0 9 * * 1-5", ["Tue", "Wed", "Thu", "Fri", "Mon"]),
        ("0 9 * * mon-fri", ["Tue", "Wed", "Thu", "Fri", "Mon"]),
        ("0 9 * * 0,6", ["Sat", "Sun"]),
        ("0 9 * * 5-7", ["Fri", "Sat", "Sun"]),
        ("0 9 * * */2", ["Tue", "Thu", "Sat", "Sun"]),
        ("0 9 * * *", ["Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Mon"]),
    ],
)
def test_days_of_the_week_are_crons(expression: str, days: list[str]) -> None:
    assert _days(expression) == days


def test_a_schedule_runs_in_its_timezone() -> None:
    rome = ZoneInfo("Europe/Rome")
    moment = cron_trigger("0 9 * * 1", rome).get_next_fire_time(None, MONDAY)
    assert moment == datetime(2026, 11, 9, 9, tzinfo=rome)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("0 9 1 * 1", "give one of them"),
        ("0 9 * * 8", "'8' is not a day of the week"),
        ("0 9 * * 5-1", "runs backwards"),
        ("0 9 * * */0", "a step is a whole number from 1"),
        ("0 9 * *", "expected 5"),
        ("61 9 * * *", "expected a 5-field cron expression"),
    ],
)
def test_what_cron_would_read_otherwise_is_refused(expression: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        cron_expression(expression)
