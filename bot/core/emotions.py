"""How a brand's mentions feel: the shares of each emotion (anger, joy, optimism, sadness) among the mentions the
emotion model read, in a period and in the one before. Digests, reports and App Home show them."""

from __future__ import annotations

from dataclasses import dataclass, field

from analysis.labels import EMOTIONS


@dataclass(frozen=True)
class EmotionMix:
    """Mentions per emotion in a period (``now``) and in the period before; only mentions the model read count."""

    now: dict[str, int] = field(default_factory=dict)
    before: dict[str, int] = field(default_factory=dict)

    @property
    def read(self) -> int:
        return sum(self.now.get(emotion, 0) for emotion in EMOTIONS)

    @property
    def read_before(self) -> int:
        return sum(self.before.get(emotion, 0) for emotion in EMOTIONS)

    def share(self, emotion: str) -> float | None:
        return self.now.get(emotion, 0) / self.read if self.read else None

    def share_before(self, emotion: str) -> float | None:
        return self.before.get(emotion, 0) / self.read_before if self.read_before else None

    def change(self, emotion: str) -> float | None:
        """The share's change against the period before, in points (None: either period has none read)."""
        now, before = self.share(emotion), self.share_before(emotion)
        return None if now is None or before is None else (now - before) * 100

    def points(self, emotion: str) -> str:
        """The change as a reader reads it: "+8 pts", "-3 pts", "+0 pts" (never "-0"); "" without a period before."""
        moved = self.change(emotion)
        return "" if moved is None else f"{round(moved):+d} pts"

    def ranked(self) -> list[str]:
        """The emotions, the largest share first (ties in the task's order)."""
        return sorted(EMOTIONS, key=lambda emotion: (-self.now.get(emotion, 0), EMOTIONS.index(emotion)))
