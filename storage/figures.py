"""Aggregates the monitoring reads at scrape time: counts by brand, source, label and state, the latest evaluation,
feedback agreement, prediction confidence. Each is one grouped query over indexed columns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.mentions import model_label
from storage.mlops_tables import EvaluationRun, Feedback
from storage.models import Mention, MentionTally


def mentions_by_brand_and_source(*, session: Session) -> list[tuple[str, str, int]]:
    """Mentions ever stored, by brand and source: those stored now and those deleted since."""
    query = select(Mention.brand, Mention.source, func.count()).group_by(Mention.brand, Mention.source)
    removed = select(MentionTally.brand, MentionTally.source, func.sum(MentionTally.removed)).group_by(
        MentionTally.brand, MentionTally.source
    )
    rows = [*session.execute(query), *session.execute(removed)]
    return [(brand, source, int(n)) for brand, source, n in rows]


def mentions_by_brand_status_and_label(*, session: Session) -> list[tuple[str, str, str | None, int]]:
    """Mentions by brand, status and label; deleted classified ones count as classified (status ``classified``)."""
    # The model's label: an admin's correction does not move a mention between the model's counters.
    label = model_label()
    query = select(Mention.brand, Mention.status, label, func.count()).group_by(Mention.brand, Mention.status, label)
    removed = (
        select(MentionTally.brand, MentionTally.label, func.sum(MentionTally.removed))
        .where(MentionTally.label != "")
        .group_by(MentionTally.brand, MentionTally.label)
    )
    rows = [(brand, status, label, int(n)) for brand, status, label, n in session.execute(query)]
    rows += [(brand, "classified", label, int(n)) for brand, label, n in session.execute(removed)]
    return rows


def last_ingested_at(*, session: Session) -> datetime | None:
    return session.execute(select(func.max(Mention.ingested_at))).scalar_one_or_none()


def latest_evaluation(*, session: Session, dataset: str | None = None) -> EvaluationRun | None:
    """The newest evaluation run, of ``dataset`` if given."""
    query = select(EvaluationRun).order_by(EvaluationRun.created_at.desc(), EvaluationRun.id.desc()).limit(1)
    if dataset is not None:
        query = query.where(EvaluationRun.dataset == dataset)
    return session.execute(query).scalar_one_or_none()


def feedback_agreement(*, session: Session, since: datetime, until: datetime) -> tuple[int, int]:
    """(verdicts, verdicts that agreed with the model) given in [since, until]."""
    agreed = func.coalesce(func.sum(case((Feedback.predicted_label == Feedback.given_label, 1), else_=0)), 0)
    query = select(func.count(), agreed).where(Feedback.created_at >= since, Feedback.created_at <= until)
    total, right = session.execute(query).one()
    return int(total), int(right)


def label_counts_between(*, session: Session, since: datetime, until: datetime) -> dict[str, int]:
    """Classified mentions per label, created in [since, until)."""
    query = (
        select(Mention.label, func.count())
        .where(Mention.label.is_not(None), Mention.created_at >= since, Mention.created_at < until)
        .group_by(Mention.label)
    )
    return {str(label): int(n) for label, n in session.execute(query)}


def mean_confidence(*, session: Session, since: datetime, until: datetime) -> float | None:
    """Mean probability of the predicted label of the mentions created in [since, until)."""
    confidence = case(
        (Mention.label == "negative", Mention.score_negative),
        (Mention.label == "neutral", Mention.score_neutral),
        else_=Mention.score_positive,
    )
    query = select(func.avg(confidence)).where(
        Mention.label.is_not(None), Mention.created_at >= since, Mention.created_at < until
    )
    mean = session.execute(query).scalar_one_or_none()
    return None if mean is None else float(mean)
