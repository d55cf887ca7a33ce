"""The connectors' reading of rate-limit headers, as each source writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.sources.http import MAX_BACKOFF, exhausted_until, rate_limit_reset, retry_after

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-ratelimit-reset": "2026-11-30T12:04:00.000Z"}, NOW + timedelta(minutes=4)),  # Mastodon: a time
        (
            {"ratelimit-reset": str(int((NOW + timedelta(seconds=90)).timestamp()))},
            NOW + timedelta(seconds=90),
        ),  # Bluesky
        ({"x-ratelimit-reset": "42"}, NOW + timedelta(seconds=42)),  # Reddit: seconds from now
        ({"x-ratelimit-reset": "99999999"}, NOW + MAX_BACKOFF),  # capped
        ({"x-ratelimit-reset": "2026-11-30T11:00:00Z"}, NOW),  # already past: now
        ({"x-ratelimit-reset": "nan"}, None),
        ({"x-ratelimit-reset": "soon"}, None),
        ({}, None),
    ],
)
def test_a_reset_in_each_sources_format(headers: dict[str, str], expected: datetime | None) -> None:
    assert rate_limit_reset(headers, NOW) == expected


def test_an_exhausted_window_waits_for_its_reset() -> None:
    reset = {"x-ratelimit-reset": "30"}
    assert exhausted_until({**reset, "x-ratelimit-remaining": "0.0"}, NOW) == NOW + timedelta(
        seconds=30
    )  # Reddit's float
    assert exhausted_until({**reset, "x-ratelimit-remaining": "12"}, NOW) is None
    assert exhausted_until(reset, NOW) is None


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after({"retry-after": "120"}, NOW) == NOW + timedelta(seconds=120)
    assert retry_after({"retry-after": "Mon, 30 Nov 2026 12:10:00 GMT"}, NOW) == NOW + timedelta(minutes=10)
    assert retry_after({"retry-after": "1" * 40}, NOW) is None
