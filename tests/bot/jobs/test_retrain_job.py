"""The retrain job: it runs the oldest queued request, one at a time across processes, and says how it ended."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core.registry import promote, register
from bot.jobs.deps import JobContext
from bot.jobs.retrain import run_queued
from bot.runtime.context import AppContext
from storage.mlops_tables import GateDecision, RetrainRequest
from storage.models import OutboxMessage
from storage.retrains import ask, claim
from tests.support.models import build_tiny_model
from tests.support.pipeline import job_context
from tests.support.retrain import labelled_texts, write_labelled

NOW = datetime.now(UTC)


@pytest.fixture
def ctx(tmp_path: Path, db_url: str) -> Iterator[JobContext]:
    base = write_labelled(tmp_path / "base.jsonl", labelled_texts(150, 1))
    validation = write_labelled(tmp_path / "validation.jsonl", labelled_texts(60, 2))
    context = job_context(
        tmp_path,
        db_url,
        models_dir=str(tmp_path / "models"),
        ops_channel="#ml-ops",
        retrain_base_data=str(base),
        retrain_validation_data=str(validation),
        retrain_epochs=4,
        torch_threads=1,
    )
    register(context.sessions, build_tiny_model(tmp_path / "models" / "sentiment-v1"), at=NOW)
    promote(context.sessions, "sentiment-v1", actor="test", reason=None, at=NOW)
    app = AppContext(context.settings)
    context.model_choice, context.load_model = app.model_choice, app.load_model
    yield context
    app.close()


def _queue(ctx: JobContext, status: str = "queued", *, at: datetime = NOW, key: str | None = None) -> int:
    with ctx.sessions.begin() as session:
        request = ask(session=session, trigger="alert:ModelAccuracyBelowThreshold", reason="accuracy 0.58",
                      requested_by="alertmanager", status=status, at=at, dedup_key=key)  # fmt: skip
    assert request is not None
    return request


def test_the_job_runs_a_queued_retrain_once_and_posts_its_progress(ctx: JobContext) -> None:
    assert run_queued(ctx, NOW) == "no retrain to start"
    _queue(ctx, "recommended")  # waits for an admin: not run
    assert run_queued(ctx, NOW) == "no retrain to start"
    request = _queue(ctx)
    summary = run_queued(ctx, NOW)
    assert summary.startswith(f"retrain #{request}: sentiment-v2 promoted"), summary
    assert run_queued(ctx, NOW) == "no retrain to start"
    with ctx.sessions() as session:
        done = session.get(RetrainRequest, request)
        assert done is not None and (done.status, done.candidate) == ("succeeded", "sentiment-v2")
        assert [d.candidate for d in session.execute(select(GateDecision)).scalars()] == ["sentiment-v2"]
        posted = [
            m.payload["text"] for m in session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
        ]
    assert posted[0].startswith(f":hourglass_flowing_sand: Retrain #{request} is running")
    assert posted[1].startswith("Retrain: sentiment-v2 promoted")


def test_one_running_retrain_at_a_time_and_a_dead_one_is_taken_over(ctx: JobContext) -> None:
    first, second = _queue(ctx), _queue(ctx)
    taken = claim(ctx.sessions, owner="process-a", at=NOW)
    assert taken is not None and taken.id == first
    assert claim(ctx.sessions, owner="process-b", at=NOW) is None  # the unique index refuses a second runner
    # Twelve hours on, the first one's process is taken for dead: the next request runs.
    later = NOW + timedelta(hours=12, minutes=1)
    summary = run_queued(ctx, later)
    assert summary.startswith(f"retrain #{second}: sentiment-v2"), summary
    with ctx.sessions() as session:
        dead = session.get(RetrainRequest, first)
        assert dead is not None and dead.status == "failed" and dead.detail.startswith("abandoned")


def test_a_retrain_that_cannot_run_is_failed_and_said_in_the_channel(ctx: JobContext, tmp_path: Path) -> None:
    ctx.settings = ctx.settings.model_copy(update={"retrain_validation_data": tmp_path / "missing.jsonl"})
    request = _queue(ctx)
    summary = run_queued(ctx, NOW)
    assert summary == f"retrain #{request} failed: data file {tmp_path / 'missing.jsonl'} not found"
    with ctx.sessions() as session:
        failed = session.get(RetrainRequest, request)
        assert failed is not None and failed.status == "failed"
        [message] = session.execute(select(OutboxMessage)).scalars()
    assert message.payload["text"].startswith(f":x: Retrain #{request} failed: data file")
    assert run_queued(ctx, NOW) == "no retrain to start"  # the next one may run


def test_a_retrain_is_judged_on_each_brand_s_held_back_labels(ctx: JobContext) -> None:
    from bot.core.retrain_gate import brand_rows
    from storage.mlops_tables import PoolLabel

    # 150 answers to acme's labelling queue: about 30 held back, enough to judge acme on its own.
    with ctx.sessions.begin() as session:
        for text, label in labelled_texts(150, 7):
            session.add(
                PoolLabel(
                    text=f"acme {text}",
                    label=label,
                    origin="queue",
                    source="slack",
                    author="U0ANALYST1",
                    brand="acme",
                    created_at=NOW,
                )  # fmt: skip
            )
    _queue(ctx)
    summary = run_queued(ctx, NOW)
    with ctx.sessions() as session:
        [decision] = session.execute(select(GateDecision)).scalars().all()
    figures = decision.figures
    held = figures["data"]["brands"]["acme"]
    assert 20 <= held < 60 and figures["candidate"]["brands"]["acme"]["n"] == held
    [row] = brand_rows(figures)
    assert row[0] == "acme" and row[1] == str(held) and row[5] == "yes"
    assert ("acme " in decision.reason) == decision.promoted, (summary, decision.reason)
