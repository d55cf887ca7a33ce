"""Tables, as typed SQLAlchemy 2.0 models: the mentions and the pipeline's bookkeeping (outbox, jobs, alerts, sources).
The model's life (versions, evaluations, retrains, the labelled pool) is in storage/mlops_tables.py. Every datetime is
stored and returned in UTC."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# The largest id either holds (a signed 64-bit integer): a larger number names no row, and neither driver takes it.
MAX_ROW_ID = 2**63 - 1


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes in, UTC datetimes out, on databases with and without timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: brandpulse stores timezone-aware datetimes only")
        value = value.astimezone(UTC)
        # SQLite keeps text; a fixed UTC form keeps comparisons and strftime('%s') correct.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class MentionStatus(enum.StrEnum):
    PENDING = "pending"
    CLASSIFIED = "classified"
    FAILED = "failed"


class Label(enum.StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


def one_of(column: str, values: type[enum.StrEnum]) -> str:
    """A check constraint's SQL: ``column`` holds one of an enum's values (``status IN ('pending', ...)``)."""
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime()}


class Mention(Base):
    """One piece of text that talks about a brand, from one source, and what the model made of it."""

    __tablename__ = "mentions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    brand: Mapped[str] = mapped_column(String(64))
    author: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    # The detector's confidence in ``language``; NULL when the source gave the language (or none was found).
    language_confidence: Mapped[float | None] = mapped_column(Float)
    # Where it was published, as a lowercase ISO 3166-1 alpha-2 code, when the source says (GDELT's news does).
    country: Mapped[str | None] = mapped_column(String(2))
    # What it answers, read with its text by the brands' queries and searches: a YouTube comment's video title.
    context: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    ingested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=MentionStatus.PENDING.value)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(String(16))
    score_negative: Mapped[float | None] = mapped_column(Float)
    score_neutral: Mapped[float | None] = mapped_column(Float)
    score_positive: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(255))
    classified_at: Mapped[datetime | None]
    # An admin's correction: ``label`` then holds the admin's label and ``model_label`` what the model had said.
    model_label: Mapped[str | None] = mapped_column(String(16))
    corrected_by: Mapped[str | None] = mapped_column(String(64))
    corrected_at: Mapped[datetime | None]
    # The team's triage in Slack: handled (by whom, when) and assigned (to whom, by whom, when).
    handled_by: Mapped[str | None] = mapped_column(String(64))
    handled_at: Mapped[datetime | None]
    assignee: Mapped[str | None] = mapped_column(String(64))
    assigned_by: Mapped[str | None] = mapped_column(String(64))
    assigned_at: Mapped[datetime | None]
    # By a muted author or from a muted domain of its brand: left out of history, stats, digests and alerts.
    muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Engagement, where the source gives it (None: not given, not zero).
    likes: Mapped[int | None] = mapped_column(Integer)
    reposts: Mapped[int | None] = mapped_column(Integer)
    replies: Mapped[int | None] = mapped_column(Integer)
    author_followers: Mapped[int | None] = mapped_column(Integer)
    # The emotion model's reading (anger, joy, optimism or sadness) and its probability, when an emotion model is
    # active. ``emotion_model`` names the model that read it, and is set even where that model refused the text, so
    # that a mention is offered to it once.
    emotion: Mapped[str | None] = mapped_column(String(16))
    emotion_score: Mapped[float | None] = mapped_column(Float)
    emotion_model: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        # A mention that names two brands is one row for each, so that each brand counts it.
        UniqueConstraint("source", "external_id", "brand"),
        CheckConstraint(one_of("status", MentionStatus), name="status"),
        CheckConstraint(f"label IS NULL OR {one_of('label', Label)}", name="label"),
        # History of one brand, newest first, optionally by label; and the stats query, which it covers.
        Index(None, "brand", "created_at", "label"),
        # History across all brands, newest first.
        Index(None, "created_at"),
        # What was stored lately: the keyword alerts' search.
        Index(None, "ingested_at"),
        # The mentions the emotion model has not read yet (emotion_model IS NULL), oldest first.
        Index(None, "emotion_model", "id"),
    )


class MentionEmbedding(Base):
    """A mention's sentence vector, as the themes encoder ``encoder`` made it: computed once, read by every themes
    report that covers the mention, and gone with the mention."""

    __tablename__ = "mention_embeddings"

    mention_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    encoder: Mapped[str] = mapped_column(String(200), primary_key=True)
    # float16, little-endian: 768 bytes for a 384-dimension encoder.
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class OutboxTarget(enum.StrEnum):
    SLACK = "slack"
    WEBHOOK = "webhook"
    EMAIL = "email"


class OutboxMessage(Base):
    """A message for Slack, a webhook or a mailbox, written before it is sent: a crash or an outage of the receiver
    delays it but does not lose it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    # Who delivers it: Slack (channel: a channel), a webhook (channel: its name in the brands file), e-mail (channel:
    # the scheduled report's name; the recipients in the payload).
    target: Mapped[str] = mapped_column(String(16), default=OutboxTarget.SLACK.value, server_default="slack")
    channel: Mapped[str] = mapped_column(String(80))
    # Slack: arguments of chat.postMessage besides the channel (text, the fallback, and blocks). A webhook: the JSON
    # event it is sent. E-mail: recipients, subject and text.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # A file sent with the message: a digest's chart uploaded with files_upload_v2 into its thread, a report's PDF
    # attached to its e-mail.
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    attachment_name: Mapped[str | None] = mapped_column(String(255))
    # Two steps, each remembered once Slack has taken it, so a retry does not repeat a step that succeeded.
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    file_id: Mapped[str | None] = mapped_column(String(64))
    # What the message is about (a digest's brand and period, an alert's window): the same key is queued once.
    dedup_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    # When it may be tried next: after a backoff, or when the lease of a deliverer that took it runs out.
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(one_of("status", OutboxStatus), name="status"),
        CheckConstraint(one_of("target", OutboxTarget), name="target"),
        Index(None, "status", "next_attempt_at"),
    )


class JobRun(Base):
    """One occurrence of a scheduled job; the unique key lets exactly one process run it."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(128))
    scheduled_for: Mapped[datetime]
    owner: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("job", "scheduled_for"),
        CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),
    )


class SpikeAlert(Base):
    """A spike the detector reported, kept for the cooldown and so that one spike is reported once."""

    __tablename__ = "spike_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    brand: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    # What the team did with it in Slack.
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None]
    # "not_a_spike" when someone said so: repeated ones lower the brand's sensitivity.
    verdict: Mapped[str | None] = mapped_column(String(16))
    verdict_by: Mapped[str | None] = mapped_column(String(64))
    verdict_at: Mapped[datetime | None]

    __table_args__ = (
        # Also the index of the cooldown's query: the latest alert of a brand and kind.
        UniqueConstraint("brand", "kind", "window_end"),
    )


class MentionAction(Base):
    """Everything the team did to a mention from Slack, who and when: handled, reopened, assigned, corrected."""

    __tablename__ = "mention_actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    mention_id: Mapped[int] = mapped_column(BigId)
    brand: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    value: Mapped[str | None] = mapped_column(String(255))
    user: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]

    __table_args__ = (Index(None, "mention_id", "id"),)


class Mute(Base):
    """An author or a web domain whose mentions of a brand the team does not want to see (muted from Slack)."""

    __tablename__ = "mutes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    brand: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # "author" or "domain"
    value: Mapped[str] = mapped_column(String(255))  # lowercase
    muted_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("brand", "kind", "value"),
        CheckConstraint("kind IN ('author', 'domain')", name="kind"),
    )


class AlertSnooze(Base):
    """A brand's spike alerts snoozed from Slack until a given time."""

    __tablename__ = "alert_snoozes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    brand: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime]
    snoozed_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]

    __table_args__ = (Index(None, "brand", "until"),)


class BrandSensitivity(Base):
    """How far a brand's spike thresholds were raised after repeated "not a spike" verdicts (level 0: as configured)."""

    __tablename__ = "brand_sensitivity"

    brand: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)


class KeywordHit(Base):
    """A mention that holds one of a brand's alert phrases: alerted, or counted during the phrase's cooldown."""

    __tablename__ = "keyword_hits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    brand: Mapped[str] = mapped_column(String(64))
    phrase: Mapped[str] = mapped_column(String(200))
    mention_id: Mapped[int] = mapped_column(BigId)
    alerted: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]

    __table_args__ = (
        # One hit per mention and phrase, however many processes look at once.
        UniqueConstraint("brand", "phrase", "mention_id"),
        # The cooldown's query: the latest alerted hit of a phrase, and the hits since.
        Index(None, "brand", "phrase", "created_at"),
    )


class MentionTally(Base):
    """Mentions deleted (by retention, or by their author in Slack), counted by brand, source and label ('' when
    unclassified), so that the metrics' running totals of mentions never go down."""

    __tablename__ = "mention_tallies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    brand: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(16))
    removed: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("brand", "source", "label"),)


class SeenRequest(Base):
    """Signed requests already answered, kept for as long as their signature is accepted (Slack's five minutes), so
    that a replayed request is answered once, whichever process of a deployment it reaches."""

    __tablename__ = "seen_requests"

    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SourceState(Base):
    """Where a configured source stands: its cursor (what the connector needs to resume), its backoff, and how its
    polls went. One row per source name, written in the transaction that stores what a poll fetched."""

    __tablename__ = "source_states"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON)
    backoff_until: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Running totals for the metrics (counters never go down, so they are not derived from pruned poll rows).
    polls_total: Mapped[int] = mapped_column(BigInteger, default=0)
    errors_total: Mapped[int] = mapped_column(BigInteger, default=0)
    added_total: Mapped[int] = mapped_column(BigInteger, default=0)
    # Items its polls rejected (a date, size or shape no mention can have): how many, and the latest reasons.
    rejected_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_rejected_at: Mapped[datetime | None]
    last_rejected: Mapped[str | None] = mapped_column(Text)
    # A process's claim to poll it (so that two processes never poll one source at once), lapsing at polling_until:
    # a process that dies mid-poll holds the source no longer than that.
    polling_until: Mapped[datetime | None]
    polling_by: Mapped[str | None] = mapped_column(String(128))


class SourcePoll(Base):
    """One poll of a source: what it fetched, matched to brands and added, or why it failed."""

    __tablename__ = "source_polls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    fetched: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    rejected: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rejections: Mapped[str | None] = mapped_column(Text)  # the first rejected items' reasons, one a line

    __table_args__ = (Index(None, "source", "at"), Index(None, "at"))
