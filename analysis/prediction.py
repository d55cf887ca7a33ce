"""What a classifier answers: a ``Prediction`` per text, and the ``Classifier`` protocol batcher, jobs and tests
share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from analysis.errors import InvalidInput


@dataclass(frozen=True)
class Prediction:
    label: str
    scores: dict[str, float]
    model: str

    @property
    def confidence(self) -> float:
        return self.scores[self.label]

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "confidence": self.confidence, "scores": dict(self.scores), "model": self.model}


class Classifier(Protocol):
    """What classifies texts: :class:`SentimentModel`, or a test's stand-in for it."""

    name: str

    def classify(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> list[Prediction | InvalidInput]: ...
