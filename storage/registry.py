"""Queries on the model registry and on evaluation runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import EvaluationRun, ModelVersion


def register_model(
    *,
    session: Session,
    version: str,
    path: str,
    base_model: str,
    created_at: datetime,
    metrics: dict[str, Any],
    training_config: dict[str, Any],
) -> ModelVersion:
    entry = ModelVersion(
        version=version,
        path=path,
        base_model=base_model,
        created_at=created_at,
        metrics=metrics,
        training_config=training_config,
    )
    session.add(entry)
    session.flush()
    return entry


def model_versions(*, session: Session) -> list[ModelVersion]:
    return list(session.execute(select(ModelVersion).order_by(ModelVersion.created_at.desc())).scalars())


def record_evaluation(*, session: Session, run: EvaluationRun) -> EvaluationRun:
    session.add(run)
    session.flush()
    return run


def latest_evaluations(*, session: Session, model_version: str | None = None, limit: int = 20) -> list[EvaluationRun]:
    query = select(EvaluationRun).order_by(EvaluationRun.created_at.desc(), EvaluationRun.id.desc()).limit(limit)
    if model_version is not None:
        query = query.where(EvaluationRun.model_version == model_version)
    return list(session.execute(query).scalars())
