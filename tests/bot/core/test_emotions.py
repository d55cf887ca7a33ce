"""Emotion shares as digests, reports and App Home show them."""

from __future__ import annotations

from bot.core.emotions import EmotionMix
from bot.slack.views.emotions import emotion_line


def test_shares_changes_and_order() -> None:
    mix = EmotionMix(now={"anger": 26, "joy": 46, "sadness": 20, "optimism": 8}, before={"anger": 263, "joy": 737})
    assert mix.read == 100 and mix.read_before == 1000
    assert mix.share("anger") == 0.26 and mix.share_before("anger") == 0.263
    # -0.3 points is "+0 pts", never "-0 pts"; -0.6 points is "-1 pts".
    assert mix.points("anger") == "+0 pts" and mix.points("sadness") == "+20 pts" and mix.points("joy") == "-28 pts"
    assert mix.ranked() == ["joy", "anger", "sadness", "optimism"]
    assert EmotionMix(now={"anger": 1}, before={"anger": 994, "joy": 6}).points("anger") == "+1 pts"
    assert EmotionMix(now={"anger": 994, "joy": 6}, before={"anger": 1}).points("anger") == "-1 pts"
    # Ties keep the task's order.
    assert EmotionMix(now={"sadness": 1, "anger": 1}).ranked() == ["anger", "sadness", "joy", "optimism"]


def test_the_line_says_nothing_without_emotions_and_no_change_without_a_period_before() -> None:
    assert emotion_line(EmotionMix()) is None
    assert emotion_line(EmotionMix(before={"anger": 3})) is None
    assert emotion_line(EmotionMix(now={"sadness": 3, "joy": 1}), emoji=False) == (
        "Emotions: sadness 75% · joy 25% · anger 0% · optimism 0%"
    )
