from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.stats import regroup
from storage.mention_queries import QuarterCount


def q(moment: datetime) -> int:
    return int(moment.timestamp()) // 900


def test_days_follow_the_local_calendar_across_daylight_saving() -> None:
    tz = ZoneInfo("America/New_York")
    # 2024-03-10: clocks go forward at 02:00, so that local day has 23 hours.
    counts = [
        QuarterCount(q(datetime(2024, 3, 10, 4, 59, tzinfo=UTC)), "negative", 2),  # 23:59 on the 9th, local
        QuarterCount(q(datetime(2024, 3, 10, 5, 0, tzinfo=UTC)), "positive", 3),  # 00:00 on the 10th
        QuarterCount(q(datetime(2024, 3, 11, 3, 45, tzinfo=UTC)), None, 4),  # 23:45 on the 10th (EDT)
        QuarterCount(q(datetime(2024, 3, 11, 4, 0, tzinfo=UTC)), "neutral", 1),  # 00:00 on the 11th
    ]
    buckets = regroup(counts, tz=tz, by="day")
    assert [(b.start.date().isoformat(), b.count) for b in buckets] == [
        ("2024-03-09", 2),
        ("2024-03-10", 7),
        ("2024-03-11", 1),
    ]
    assert buckets[1].classified == 3 and buckets[1].share("positive") == 1.0
    assert buckets[1].share("negative") == 0.0


def test_quarter_hour_offsets_and_the_repeated_hour() -> None:
    kathmandu = ZoneInfo("Asia/Kathmandu")  # UTC+05:45
    counts = [
        QuarterCount(q(datetime(2024, 1, 1, 18, 0, tzinfo=UTC)), None, 1),  # 23:45 local
        QuarterCount(q(datetime(2024, 1, 1, 18, 15, tzinfo=UTC)), None, 1),
    ]  # 00:00 next day
    assert [b.count for b in regroup(counts, tz=kathmandu, by="day")] == [1, 1]

    new_york = ZoneInfo("America/New_York")
    # 2024-11-03 01:00-02:00 happens twice; each is its own hour bucket.
    first, second = datetime(2024, 11, 3, 5, 30, tzinfo=UTC), datetime(2024, 11, 3, 6, 30, tzinfo=UTC)
    buckets = regroup([QuarterCount(q(first), None, 1), QuarterCount(q(second), None, 2)], tz=new_york, by="hour")
    assert [(b.start.hour, b.start.utcoffset(), b.count) for b in buckets] == [
        (1, timedelta(hours=-4), 1),
        (1, timedelta(hours=-5), 2),
    ]


def test_since_lists_empty_buckets() -> None:
    since = datetime(2024, 1, 1, tzinfo=UTC)
    buckets = regroup([], tz=ZoneInfo("UTC"), by="day", since=since, until=since + timedelta(days=3))
    assert [(b.start.day, b.count, b.share("negative")) for b in buckets] == [(1, 0, None), (2, 0, None), (3, 0, None)]
