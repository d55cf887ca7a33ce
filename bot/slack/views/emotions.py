"""A brand's emotion shares as one line, for digests, reports and App Home."""

from __future__ import annotations

from bot.core.emotions import EmotionMix

EMOTION_EMOJI = {"anger": ":rage:", "joy": ":joy:", "optimism": ":sunrise:", "sadness": ":cry:"}


def emotion_line(mix: EmotionMix, *, emoji: bool = True) -> str | None:
    """``Emotions: :rage: anger 42% (+8 pts) · :cry: sadness 25% (-3 pts) · ...``, the largest first; None when the
    emotion model read none of the period's mentions (no emotion model, or not yet). ``emoji``: off for a message's
    plain-text fallback."""
    if not mix.read:
        return None
    parts = []
    for emotion in mix.ranked():
        share, moved = mix.share(emotion), mix.points(emotion)
        assert share is not None
        points = f" ({moved})" if moved else ""
        icon = f"{EMOTION_EMOJI[emotion]} " if emoji else ""
        parts.append(f"{icon}{emotion} {share:.0%}{points}")
    return "Emotions: " + " · ".join(parts)
