"""Classifying stored mentions: take pending ones in batches, store the model's verdicts, one transaction a batch."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from analysis.errors import InvalidInput
from analysis.labels import LABELS
from analysis.options import InferenceOptions
from analysis.prediction import Classifier, Prediction
from analysis.routing import RoutedClassifier
from storage.mentions import (
    Classification,
    EmotionReading,
    claim_pending,
    claim_unread_emotions,
    store_emotions,
    store_results,
)
from storage.models import Mention

log = logging.getLogger(__name__)


@dataclass
class ClassifyReport:
    classified: int = 0
    failed: int = 0
    batches: int = 0


def _verdict(mention_id: int, result: Prediction | InvalidInput, model: str) -> Classification:
    if isinstance(result, InvalidInput):
        # Marked failed, not left pending: the same text would be refused again on every run.
        return Classification(mention_id, model, failure_reason=f"model refused the text: {result}")
    scores = (result.scores[LABELS[0]], result.scores[LABELS[1]], result.scores[LABELS[2]])
    return Classification(mention_id, result.model, label=result.label, scores=scores)


def in_batches(
    *,
    sessions: sessionmaker[Session],
    claim: Callable[[Session, int], list[Mention]],
    handle: Callable[[Session, list[Mention]], int],
    batch_size: int,
    limit: int | None,
    progress: Callable[[int], None] | None,
) -> ClassifyReport:
    """Claim mentions and ``handle`` them (it stores what it made of them and returns how many failed), a batch per
    transaction, until ``claim`` finds none (or ``limit`` are done)."""
    report = ClassifyReport()
    while limit is None or report.classified + report.failed < limit:
        size = batch_size if limit is None else min(batch_size, limit - report.classified - report.failed)
        with sessions() as session, session.begin():
            mentions = claim(session, size)
            if not mentions:
                break
            failed = handle(session, mentions)
        report.batches += 1
        report.failed += failed
        report.classified += len(mentions) - failed
        if progress is not None:
            progress(len(mentions))
    return report


def classify_pending(
    *,
    sessions: sessionmaker[Session],
    model: Classifier,
    batch_size: int = InferenceOptions.batch_size,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ClassifyReport:
    """Classify pending mentions until none are left (or ``limit`` are done).

    Each batch is claimed, classified and written in one transaction: if the process dies mid-batch the
    transaction never commits and the batch stays pending for the next run.
    """

    def classify(session: Session, mentions: list[Mention]) -> int:
        texts = [m.text for m in mentions]
        if isinstance(model, RoutedClassifier):
            # Each mention goes to its stored language's model (the source's word, else the detector's).
            results = model.classify(texts, languages=[m.language for m in mentions])
        else:
            results = model.classify(texts)
        verdicts = [_verdict(m.id, r, model.name) for m, r in zip(mentions, results, strict=True)]
        store_results(session=session, results=verdicts, at=datetime.now(UTC))
        return sum(v.label is None for v in verdicts)

    report = in_batches(
        sessions=sessions,
        claim=lambda session, size: claim_pending(session=session, limit=size),
        handle=classify,
        batch_size=batch_size,
        limit=limit,
        progress=progress,
    )
    if report.classified or report.failed:
        # DEBUG: the job's line and the CLI's summary say it for the reader.
        log.debug("classified %d mentions (%d failed) in %d batches", report.classified, report.failed, report.batches)
    return report


def read_emotions(
    *,
    sessions: sessionmaker[Session],
    model: Classifier,
    batch_size: int = InferenceOptions.batch_size,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ClassifyReport:
    """Give classified mentions the emotion model's reading, until none is left unread (or ``limit`` are done): one
    transaction a batch, as ``classify_pending``. A text the model refuses keeps no emotion and is not offered again."""

    def read(session: Session, mentions: list[Mention]) -> int:
        results = model.classify([m.text for m in mentions])
        readings = [
            EmotionReading(m.id, model.name)
            if isinstance(r, InvalidInput)
            else EmotionReading(m.id, r.model, r.label, r.confidence)
            for m, r in zip(mentions, results, strict=True)
        ]
        store_emotions(session=session, readings=readings)
        return sum(r.emotion is None for r in readings)

    return in_batches(
        sessions=sessions,
        claim=lambda session, size: claim_unread_emotions(session=session, limit=size),
        handle=read,
        batch_size=batch_size,
        limit=limit,
        progress=progress,
    )
