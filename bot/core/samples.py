"""The mentions a digest or an alert quotes: reposts and copies shown once, the most engaged first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from analysis.duplicates import text_key
from storage.models import Mention


@dataclass(frozen=True)
class Sample:
    """One mention quoted for all the copies of it (``copies`` counts them, itself included)."""

    mention: Mention
    copies: int
    engagement: int

    @property
    def reach(self) -> str:
        """What the quote adds in a few words: copies and engagement, when there is any."""
        mention, parts = self.mention, []
        if self.copies > 1:
            parts.append(f"×{self.copies}")
        for value, what in ((mention.likes, "likes"), (mention.reposts, "reposts"), (mention.replies, "replies")):
            if value:
                parts.append(f"{value:,} {what}")
        return ", ".join(parts)


def engagement(mention: Mention) -> int:
    """Likes, reposts and replies, as far as the source gives them."""
    return (mention.likes or 0) + (mention.reposts or 0) + (mention.replies or 0)


_SCORE: dict[str | None, Callable[[Mention], float | None]] = {
    "negative": lambda m: m.score_negative,
    "neutral": lambda m: m.score_neutral,
    "positive": lambda m: m.score_positive,
    None: lambda m: None,
}


def pick_samples(mentions: Sequence[Mention], *, limit: int, label: str | None = None) -> list[Sample]:
    """At most ``limit`` samples from ``mentions``: copies of one text grouped (each copy counts as a repost), the
    groups ordered by engagement, then by the model's score for ``label`` (the label shown), then newest."""
    score = _SCORE[label]

    def strength(mention: Mention) -> float:
        return score(mention) or 0.0

    groups: dict[str, list[Mention]] = {}
    for mention in mentions:
        groups.setdefault(text_key(mention.text) or mention.text, []).append(mention)
    samples = []
    for copies in groups.values():
        # The copy to quote: the most engaged one, else the original rather than a repost (the shortest text).
        shown = max(copies, key=lambda m: (engagement(m), -len(m.text), m.created_at))
        total = sum(engagement(m) for m in copies) + len(copies) - 1
        samples.append(Sample(shown, len(copies), total))
    samples.sort(key=lambda s: (s.engagement, strength(s.mention), s.mention.created_at), reverse=True)
    return samples[:limit]
