"""The labelled pool's rule for a text labelled more than once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.labels import resolve, weekly_counts
from storage.labels import PoolEntry

T = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def entry(text: str, label: str, origin: str = "feedback", minutes: int = 0, source: str = "slack") -> PoolEntry:
    return PoolEntry(text, label, origin, source if origin != "import" else "crm", "U1", T + timedelta(minutes=minutes))


def test_a_correction_beats_an_import_which_beats_the_verdicts() -> None:
    entries = [
        entry("Battery died", "negative", "feedback", 0),
        entry("battery  DIED", "neutral", "import", 1),
        entry("Battery died", "positive", "correction", 2),
        entry("battery died", "negative", "correction", 3),  # the latest correction wins
        entry("battery died", "neutral", "feedback", 4),
        entry("meh phone", "neutral", "import", 0),
        entry("meh phone", "positive", "feedback", 5),  # a verdict never overrides an import
    ]
    examples = {e.text.casefold(): e for e in resolve(entries)}
    assert set(examples) == {"battery died", "meh phone"}
    assert (examples["battery died"].label, examples["battery died"].origin, examples["battery died"].entries) == (
        "negative",
        "correction",
        5,
    )
    assert (examples["meh phone"].label, examples["meh phone"].origin) == ("neutral", "import")


def test_verdicts_alone_go_by_majority_then_by_the_latest() -> None:
    votes = [entry("ok", "positive", minutes=0), entry("ok", "neutral", minutes=1), entry("ok", "positive", minutes=2)]
    assert [e.label for e in resolve(votes)] == ["positive"]
    tie = [entry("fine", "positive", minutes=0), entry("fine", "negative", minutes=1)]
    assert [e.label for e in resolve(tie)] == ["negative"]


def test_weekly_counts_group_by_iso_week_origin_and_label() -> None:
    examples = resolve([entry("a", "negative"), entry("b", "negative"), entry("c", "positive", "import", 60 * 24 * 7)])
    assert weekly_counts(examples) == [
        ("2026-W50", "import:crm", "positive", 1),
        ("2026-W49", "feedback:slack", "negative", 2),
    ]
