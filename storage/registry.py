"""Queries on the model registry (versions, which one is active, the retrain gate's decisions) and evaluation runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.mlops_tables import EvaluationRun, GateDecision, ModelActivation, ModelVersion


def register_model(
    *,
    session: Session,
    version: str,
    path: str,
    base_model: str,
    created_at: datetime,
    metrics: dict[str, Any],
    training_config: dict[str, Any],
    task: str = "sentiment",
) -> ModelVersion:
    entry = ModelVersion(
        version=version,
        task=task,
        path=path,
        base_model=base_model,
        created_at=created_at,
        metrics=metrics,
        training_config=training_config,
    )
    session.add(entry)
    session.flush()
    return entry


def model_versions(*, session: Session, task: str | None = None) -> list[ModelVersion]:
    query = select(ModelVersion).order_by(ModelVersion.created_at.desc())
    if task is not None:
        query = query.where(ModelVersion.task == task)
    return list(session.execute(query).scalars())


def model_version(*, session: Session, version: str) -> ModelVersion | None:
    return session.execute(select(ModelVersion).where(ModelVersion.version == version)).scalar_one_or_none()


def current_activation(*, session: Session, task: str = "sentiment") -> ModelActivation | None:
    """The task's activation in force: its latest one (None: no version of the task was ever made active)."""
    query = select(ModelActivation).where(ModelActivation.task == task).order_by(ModelActivation.id.desc()).limit(1)
    return session.execute(query).scalar_one_or_none()


def activations(*, session: Session, task: str | None = None, limit: int = 20) -> list[ModelActivation]:
    query = select(ModelActivation).order_by(ModelActivation.id.desc()).limit(limit)
    if task is not None:
        query = query.where(ModelActivation.task == task)
    return list(session.execute(query).scalars())


def activate(
    *,
    session: Session,
    version: str,
    previous: str | None,
    action: str,
    actor: str | None,
    reason: str | None,
    at: datetime,
    task: str = "sentiment",
) -> ModelActivation:
    """Make ``version`` the task's active one; ``previous`` is the version a rollback from it returns to."""
    entry = ModelActivation(
        task=task,
        version=version,
        previous=previous,
        action=action,
        actor=actor,
        reason=reason,
        created_at=at,
    )
    session.add(entry)
    session.flush()
    return entry


def rollback_target(*, session: Session, task: str = "sentiment") -> tuple[str, str | None] | None:
    """The version a rollback of the task returns to (the one active before the current one) and the version that
    was active before that one, so that rollbacks walk back through the history rather than toggle. None: nothing to
    return to.
    """
    current = current_activation(session=session, task=task)
    if current is None or current.previous is None:
        return None
    earlier = session.execute(
        select(ModelActivation.previous)
        .where(
            ModelActivation.task == task,
            ModelActivation.id < current.id,
            ModelActivation.version == current.previous,
        )
        .order_by(ModelActivation.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return current.previous, earlier


def record_gate_decision(*, session: Session, decision: GateDecision) -> GateDecision:
    session.add(decision)
    session.flush()
    return decision


def gate_decisions(*, session: Session, candidate: str | None = None, limit: int = 20) -> list[GateDecision]:
    query = select(GateDecision).order_by(GateDecision.id.desc()).limit(limit)
    if candidate is not None:
        query = query.where(GateDecision.candidate == candidate)
    return list(session.execute(query).scalars())


def record_evaluation(*, session: Session, run: EvaluationRun) -> EvaluationRun:
    session.add(run)
    session.flush()
    return run


def latest_evaluations(*, session: Session, model_version: str | None = None, limit: int = 20) -> list[EvaluationRun]:
    query = select(EvaluationRun).order_by(EvaluationRun.created_at.desc(), EvaluationRun.id.desc()).limit(limit)
    if model_version is not None:
        query = query.where(EvaluationRun.model_version == model_version)
    return list(session.execute(query).scalars())
