"""Classification quality: accuracy, macro-F1, macro-recall (TweetEval's official metric), per class and confusion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analysis.labels import LABELS


@dataclass(frozen=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    n: int
    accuracy: float
    macro_f1: float
    macro_recall: float
    per_class: dict[str, ClassScores]
    # Rows are the true labels, columns the predicted ones, both in ``labels`` order.
    confusion_matrix: list[list[int]]
    labels: tuple[str, ...] = LABELS

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "macro_recall": self.macro_recall,
            "per_class": {label: vars(scores) for label, scores in self.per_class.items()},
            "confusion_matrix": self.confusion_matrix,
            "labels": list(self.labels),
        }


def _ratio(numerator: int | float, denominator: int | float) -> float:
    return numerator / denominator if denominator else 0.0


def evaluate(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = LABELS) -> Evaluation:
    """Scores of ``predicted`` against ``gold``, two equally long sequences of ``labels`` (a task's; sentiment's by
    default)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for truth, guess in zip(gold, predicted, strict=True):
        matrix[index[truth]][index[guess]] += 1
    per_class = {}
    for i, label in enumerate(labels):
        true_positive = matrix[i][i]
        predicted_total = sum(row[i] for row in matrix)
        support = sum(matrix[i])
        precision = _ratio(true_positive, predicted_total)
        recall = _ratio(true_positive, support)
        per_class[label] = ClassScores(precision, recall, _ratio(2 * precision * recall, precision + recall), support)
    n = len(gold)
    return Evaluation(
        n=n,
        accuracy=_ratio(sum(matrix[i][i] for i in range(len(labels))), n),
        macro_f1=sum(s.f1 for s in per_class.values()) / len(labels),
        macro_recall=sum(s.recall for s in per_class.values()) / len(labels),
        per_class=per_class,
        confusion_matrix=matrix,
        labels=tuple(labels),
    )
