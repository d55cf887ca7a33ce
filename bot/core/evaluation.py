"""Scoring a model on a labelled set and recording the run: ``brandpulse evaluate`` and the evaluation job."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from analysis.data import LabelledSet
from analysis.errors import InvalidInput
from analysis.labels import SENTIMENT, Task
from analysis.metrics import Evaluation, evaluate
from analysis.prediction import Classifier, Prediction
from storage.mlops_tables import EvaluationRun
from storage.registry import record_evaluation


@dataclass(frozen=True)
class Scored:
    result: Evaluation
    seconds: float
    # Texts the model refused (counted as neutral for sentiment; left out for a task without a neutral label).
    invalid: int
    # The same figures per language (the data set's, else the detector's; "unknown" where neither says).
    by_language: dict[str, Evaluation] = field(default_factory=dict)
    # How many predictions each model made (several behind per-language routes).
    by_model: dict[str, int] = field(default_factory=dict)
    # The label given to each text, in the data set's order (a refused text as the task's fallback, else "").
    predicted: list[str] = field(default_factory=list)


UNKNOWN = "unknown"


def score(
    model: Classifier,
    data: LabelledSet,
    progress: Callable[[int], None] | None = None,
    detect: Callable[[str], str | None] | None = None,
    task: Task = SENTIMENT,
) -> Scored:
    """The model's figures on ``data`` in ``task``'s labels, overall and per language (``detect`` names the language
    of a text the data set does not); texts it refuses count as the task's fallback (neutral), else are left out."""
    started = time.perf_counter()
    results = model.classify(data.texts, progress=progress)
    seconds = time.perf_counter() - started
    predicted = [r.label if isinstance(r, Prediction) else (task.fallback or "") for r in results]
    invalid = sum(isinstance(r, InvalidInput) for r in results)
    groups: dict[str, list[int]] = {}
    for index, example in enumerate(data.examples):
        if not predicted[index]:
            continue
        language = example.language or (detect(example.text) if detect is not None else None)
        groups.setdefault(language or UNKNOWN, []).append(index)

    def figures(indexes: list[int]) -> Evaluation:
        return evaluate([data.labels[i] for i in indexes], [predicted[i] for i in indexes], task.labels)

    by_language = {}
    if detect is not None or any(e.language for e in data.examples):
        by_language = {language: figures(indexes) for language, indexes in sorted(groups.items())}
    by_model = Counter(r.model for r in results if isinstance(r, Prediction))
    scored = [i for i, label in enumerate(predicted) if label]
    return Scored(figures(scored), seconds, invalid, by_language, dict(by_model), predicted)


def record(sessions: sessionmaker[Session], *, model: str, dataset: str, scored: Scored) -> None:
    """Store an evaluation run: the latest one of the reference set is what the accuracy alert reads."""
    result = scored.result
    with sessions.begin() as session:
        record_evaluation(
            session=session,
            run=EvaluationRun(
                model_version=model,
                dataset=dataset,
                n=result.n,
                accuracy=result.accuracy,
                macro_f1=result.macro_f1,
                macro_recall=result.macro_recall,
                per_class={k: vars(v) for k, v in result.per_class.items()},
                confusion_matrix=result.confusion_matrix,
                seconds=scored.seconds,
                created_at=datetime.now(UTC),
            ),
        )


def score_and_record(
    *,
    sessions: sessionmaker[Session],
    model: Classifier,
    data: LabelledSet,
    progress: Callable[[int], None] | None = None,
    detect: Callable[[str], str | None] | None = None,
    task: Task = SENTIMENT,
) -> Scored:
    scored = score(model, data, progress, detect, task)
    record(sessions, model=model.name, dataset=data.name, scored=scored)
    return scored
