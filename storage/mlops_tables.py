"""The tables of the model's life: registered versions and which one is active, evaluations, the retrain requests and
the gate's decisions, and the labelled pool (Slack feedback and the other labels). On the same ``Base`` as
storage/models.py (the mentions and the pipeline's bookkeeping); importing ``storage`` registers both."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigId, Label, UTCDateTime, one_of


class ModelVersion(Base):
    """A trained model in the registry: where it lies, what it was trained from, how it scored."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(255), unique=True)
    # What it labels: "sentiment" or "emotion" (analysis.labels.TASKS); each task has its own active version.
    task: Mapped[str] = mapped_column(String(16), default="sentiment", server_default="sentiment")
    path: Mapped[str] = mapped_column(Text)
    base_model: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    # Validation figures of the kept epoch: accuracy, macro_f1, macro_recall, per_class, confusion_matrix.
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    training_config: Mapped[dict[str, Any]] = mapped_column(JSON)


class ModelActivation(Base):
    """A registered version made the active one: by a promotion (by hand or by the retrain gate) or a rollback.
    The latest row of a task names its active version, so exactly one per task is active at any time."""

    __tablename__ = "model_activations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The task whose active version this names: the latest row of a task is that task's active version.
    task: Mapped[str] = mapped_column(String(16), default="sentiment", server_default="sentiment")
    version: Mapped[str] = mapped_column(String(255))
    previous: Mapped[str | None] = mapped_column(String(255))  # the version active until then
    action: Mapped[str] = mapped_column(String(16))  # "promote" or "rollback"
    actor: Mapped[str | None] = mapped_column(String(64))  # a Slack user ID, "cli:<user>" or "gate"
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("action IN ('promote', 'rollback')", name="action"),)


class GateDecision(Base):
    """A retrain's candidate against the active model: promoted or refused, why, and the figures behind it."""

    __tablename__ = "gate_decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    candidate: Mapped[str] = mapped_column(String(255))
    baseline: Mapped[str] = mapped_column(String(255))
    promoted: Mapped[bool]
    reason: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class RetrainRequest(Base):
    """A retrain asked for: by an alert (``recommended`` until an admin starts it, or ``queued`` with automatic
    retraining), by an admin in Slack, or by the CLI. A unique index lets at most one be ``running``."""

    __tablename__ = "retrain_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # One request per alert episode: Alertmanager repeats a notification, the request is not.
    dedup_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    trigger: Mapped[str] = mapped_column(String(64))  # "alert:<alertname>", "slack" or "cli"
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(255))  # the process running it
    candidate: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("status IN ('recommended', 'queued', 'running', 'succeeded', 'failed')", name="status"),
        Index(None, "status", "id"),
        Index(
            "uq_retrain_requests_one_running",
            "status",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )


class EvaluationRun(Base):
    """One scoring of a model against a labelled data set."""

    __tablename__ = "evaluation_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    model_version: Mapped[str] = mapped_column(String(255))
    dataset: Mapped[str] = mapped_column(Text)
    n: Mapped[int] = mapped_column(Integer)
    accuracy: Mapped[float] = mapped_column(Float)
    macro_f1: Mapped[float] = mapped_column(Float)
    macro_recall: Mapped[float] = mapped_column(Float)
    per_class: Mapped[dict[str, Any]] = mapped_column(JSON)
    confusion_matrix: Mapped[list[list[int]]] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]

    __table_args__ = (Index(None, "model_version", "created_at"),)


class Feedback(Base):
    """A person's verdict on one prediction: the label the model gave, and the label they say is right."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    predicted_label: Mapped[str] = mapped_column(String(16))
    given_label: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str] = mapped_column(String(255))
    slack_user: Mapped[str] = mapped_column(String(64))
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(one_of("predicted_label", Label), name="predicted_label"),
        CheckConstraint(one_of("given_label", Label), name="given_label"),
        # Live accuracy over a recent window.
        Index(None, "created_at"),
    )


class PoolLabel(Base):
    """A label for a text that is not a Slack verdict: imported from a file, or an admin's correction of a stored
    mention. With the feedback table, it makes the labelled pool that retraining learns from."""

    __tablename__ = "pool_labels"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(16))
    # "import", "correction" (an admin set a mention's label) or "queue" (an analyst answered the labelling queue).
    origin: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))  # the import's name, "slack" or "cli"
    author: Mapped[str | None] = mapped_column(String(64))
    mention_id: Mapped[int | None] = mapped_column(BigInteger)
    # The brand whose mention it labels (None: an import, about no brand in particular).
    brand: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(one_of("label", Label), name="label"),
        CheckConstraint("origin IN ('import', 'correction', 'queue')", name="origin"),
        Index(None, "origin", "source"),
        Index(None, "created_at"),
    )


class LabelRequest(Base):
    """A mention put to a brand's analysts by the labelling queue: open until answered with a label or skipped (a
    mention is asked about once)."""

    __tablename__ = "label_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    brand: Mapped[str] = mapped_column(String(64))
    mention_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    # The model's margin between its two likeliest labels when it was asked (the smaller, the less sure).
    margin: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # "open", "answered", "skipped"
    asked_at: Mapped[datetime]
    answer: Mapped[str | None] = mapped_column(String(16))
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("status IN ('open', 'answered', 'skipped')", name="status"),
        CheckConstraint(f"answer IS NULL OR {one_of('answer', Label)}", name="answer"),
        Index(None, "brand", "status"),
    )
