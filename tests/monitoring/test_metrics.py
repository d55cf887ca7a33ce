"""Metrics on a fresh registry per test: the database's figures read at scrape time, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from analysis.loading import load_model
from analysis.options import InferenceOptions
from monitoring.exporter import MetricsServer, build_registry
from monitoring.metrics import DatabaseCollector, Metrics, jensen_shannon_distance
from storage.feedback import record_feedback
from storage.jobs import claim_run, finish_run
from storage.models import Mention
from storage.outbox import enqueue
from storage.registry import record_evaluation
from storage.sources import PollRecord, record_poll
from tests.support.pipeline import M, add, evaluation, job_context

NOW = datetime.now(UTC).replace(microsecond=0)


def test_jensen_shannon_distance() -> None:
    assert jensen_shannon_distance([1, 1, 1], [2, 2, 2]) == 0
    assert jensen_shannon_distance([1, 0, 0], [0, 0, 1]) == pytest.approx(1.0)
    assert 0 < jensen_shannon_distance([30, 50, 20], [20, 50, 30]) < 0.2
    with pytest.raises(ValueError):
        jensen_shannon_distance([0, 0, 0], [1, 1, 1])


def test_the_collector_reports_what_the_database_holds(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url)
    recent = [M(NOW - timedelta(minutes=10 + i), f"acmephone {i}", "negative") for i in range(6)]
    recent += [M(NOW - timedelta(minutes=20 + i), f"acmephone ok {i}", "positive") for i in range(4)]
    reference = [M(NOW - timedelta(days=3, minutes=i), f"acmephone then {i}", "positive") for i in range(10)]
    add(ctx.sessions, recent + reference + [M(NOW - timedelta(minutes=5), "acmephone waiting")])
    add(ctx.sessions, [M(NOW - timedelta(hours=2), "globex thing", "neutral", brand="globex")])
    with ctx.sessions() as session:
        record_evaluation(
            session=session,
            run=evaluation(accuracy=0.61, macro_f1=0.6, macro_recall=0.62, at=NOW - timedelta(hours=1)),
        )
        for given in ("negative", "negative", "positive", "neutral"):
            record_feedback(
                session=session,
                text="t",
                predicted_label="negative",
                given_label=given,
                model_version="demo-v1",
                slack_user="U1",
                slack_channel=None,
                created_at=NOW - timedelta(hours=3),
            )
        enqueue(session=session, kind="alert", channel="#c", payload={"text": "x"}, at=NOW)
        session.commit()
    with ctx.sessions.begin() as session:
        run = claim_run(session=session, job="spikes", scheduled_for=NOW, owner="t", at=NOW)
    assert run is not None
    with ctx.sessions.begin() as session:
        finish_run(session=session, run_id=run, succeeded=True, at=NOW + timedelta(seconds=2), detail="ok")

    registry = CollectorRegistry()
    registry.register(
        DatabaseCollector(ctx.sessions, brands=["acme", "globex"], accuracy_threshold=0.65, clock=lambda: NOW)
    )
    with ctx.sessions.begin() as session:
        # A hand-run evaluation of another model on another set, newer than the reference set's.
        record_evaluation(
            session=session,
            run=evaluation(model="candidate", dataset="other.csv", accuracy=0.2, at=NOW - timedelta(minutes=30)),
        )
    reference = CollectorRegistry()
    reference.register(
        DatabaseCollector(
            ctx.sessions,
            brands=["acme"],
            accuracy_threshold=0.65,
            reference_dataset="validation.jsonl",
            clock=lambda: NOW,
        )
    )
    assert (
        reference.get_sample_value("brandpulse_model_accuracy", {"model": "demo-v1", "dataset": "validation.jsonl"})
        == 0.61
    )
    assert (
        reference.get_sample_value("brandpulse_model_accuracy", {"model": "candidate", "dataset": "other.csv"}) is None
    )
    value = registry.get_sample_value
    assert value("brandpulse_mentions_ingested_total", {"brand": "acme", "source": "test"}) == 21
    assert value("brandpulse_mentions_classified_total", {"brand": "acme", "label": "positive"}) == 14
    assert value("brandpulse_classification_backlog") == 1
    # Without a reference set, the newest evaluation of any set.
    assert value("brandpulse_model_accuracy", {"model": "candidate", "dataset": "other.csv"}) == 0.2
    assert value("brandpulse_model_macro_recall", {"model": "candidate", "dataset": "other.csv"}) == 0.2
    assert value("brandpulse_model_accuracy_threshold") == 0.65
    age = value("brandpulse_model_evaluation_age_seconds", {"model": "candidate", "dataset": "other.csv"})
    assert age == pytest.approx(1800, abs=1)
    assert value("brandpulse_live_accuracy") == 0.5 and value("brandpulse_live_feedback_samples") == 4
    # Last 24 hours: 6 negative, 4 positive, 1 neutral (globex); the week before: 10 positive.
    assert value("brandpulse_prediction_drift_jsd") == pytest.approx(jensen_shannon_distance([6, 1, 4], [0, 0, 10]))
    assert value("brandpulse_prediction_confidence_mean") == pytest.approx(0.8)
    assert value("brandpulse_brand_recent_mentions", {"brand": "acme"}) == 11
    assert value("brandpulse_brand_negative_share", {"brand": "acme"}) == 0.6
    assert value("brandpulse_brand_negative_share", {"brand": "globex"}) is None  # nothing classified this hour
    assert value("brandpulse_outbox_messages", {"status": "pending"}) == 1
    assert value("brandpulse_outbox_messages", {"status": "dead"}) == 0
    finished = value("brandpulse_job_last_success_timestamp_seconds", {"job_name": "spikes"})
    assert finished == (NOW + timedelta(seconds=2)).timestamp()
    assert value("brandpulse_job_last_failure_timestamp_seconds", {"job_name": "spikes"}) is None
    assert value("brandpulse_brand_recent_classified", {"brand": "acme"}) == 10
    last = value("brandpulse_last_ingest_timestamp_seconds")
    assert last is not None and math.isclose(last, (NOW - timedelta(minutes=5)).timestamp(), abs_tol=1)


def test_an_empty_database_scrapes_without_invented_figures(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url)
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(ctx.sessions, brands=["acme"], accuracy_threshold=0.7))
    value = registry.get_sample_value
    assert value("brandpulse_classification_backlog") == 0
    for absent in ("brandpulse_model_accuracy", "brandpulse_live_accuracy", "brandpulse_prediction_drift_jsd"):
        assert not [s for m in registry.collect() for s in m.samples if s.name == absent]


def test_classification_is_timed_per_batch(tiny_model: Path) -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    model = metrics.measured(load_model(str(tiny_model), InferenceOptions(precision="float32")))
    model.classify(["one", "two", "three"])
    model.classify(["four"])
    assert registry.get_sample_value("brandpulse_classification_batch_size_sum") == 4
    assert registry.get_sample_value("brandpulse_classification_duration_seconds_count") == 2
    metrics.serving(name="tiny", source="/models/tiny", device="cpu", precision="float32")
    assert (
        registry.get_sample_value(
            "brandpulse_model_info",
            {"name": "/models/tiny", "version": "tiny", "device": "cpu", "precision": "float32"},
        )
        == 1
    )


def test_metrics_are_served_over_http(tmp_path: Path) -> None:
    ctx = job_context(tmp_path, f"sqlite:///{tmp_path / 'm.db'}")
    registry, _ = build_registry(ctx.sessions, brands=["acme"], accuracy_threshold=0.65)
    server = MetricsServer(registry, host="127.0.0.1", port=0)
    server.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10) as response:
            body = response.read().decode()
    finally:
        server.stop()
    assert "brandpulse_model_accuracy_threshold 0.65" in body
    assert "# TYPE brandpulse_mentions_ingested_total counter" in body


def test_running_totals_survive_deletions(tmp_path: Path, db_url: str) -> None:
    from storage.labels import correct_label
    from storage.mentions import delete_mention, delete_older_than

    ctx = job_context(tmp_path, db_url)
    add(ctx.sessions, [M(NOW - timedelta(days=40 + i), f"acmephone old {i}", "negative") for i in range(5)])
    add(ctx.sessions, [M(NOW - timedelta(days=41), "acmephone pending")])
    add(ctx.sessions, [M(NOW - timedelta(hours=i), f"acmephone new {i}", "positive") for i in range(3)])
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(ctx.sessions, brands=["acme"], accuracy_threshold=0.65))

    def totals() -> tuple[float | None, ...]:
        return (
            registry.get_sample_value("brandpulse_mentions_ingested_total", {"brand": "acme", "source": "test"}),
            registry.get_sample_value("brandpulse_mentions_classified_total", {"brand": "acme", "label": "negative"}),
            registry.get_sample_value("brandpulse_mentions_classified_total", {"brand": "acme", "label": "positive"}),
        )

    before = totals()
    assert before == (9, 5, 3)
    # Admins' corrections move neither the model's counters now nor, once the mentions are deleted, their tallies.
    with ctx.sessions() as session, session.begin():
        for text, label in (("acmephone new 1", "negative"), ("acmephone old 0", "positive")):
            [mention] = session.execute(select(Mention).where(Mention.text == text)).scalars()
            assert correct_label(session=session, mention_id=mention.id, label=label, author="U1", at=NOW)
    assert totals() == before
    with ctx.sessions() as session, session.begin():
        assert delete_older_than(session=session, before=NOW - timedelta(days=30)) == 6
    with ctx.sessions() as session, session.begin():
        [newest] = session.execute(select(Mention).where(Mention.text == "acmephone new 0")).scalars()
        assert delete_mention(session=session, source="test", external_id=newest.external_id)
    assert totals() == before  # counters never go down: Prometheus would read a drop as a reset
    assert registry.get_sample_value("brandpulse_classification_backlog") == 0


def test_each_source_reports_its_polls_errors_additions_and_last_outcomes(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url)
    earlier, later = NOW - timedelta(minutes=30), NOW - timedelta(minutes=15)
    with ctx.sessions.begin() as session:
        poll = PollRecord(at=earlier, fetched=5, matched=4, added=3, rejected=2, rejections=("a: bad", "b: bad"))
        record_poll(session=session, name="news", type="feed", poll=poll)
        record_poll(session=session, name="news", type="feed", poll=PollRecord(at=later, error="answered HTTP 500"))
        record_poll(session=session, name="blog", type="feed", poll=PollRecord(at=later, error="answered HTTP 404"))
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(ctx.sessions, brands=["acme"], accuracy_threshold=0.7))
    value = registry.get_sample_value
    assert value("brandpulse_source_polls_total", {"source": "news"}) == 2
    assert value("brandpulse_source_errors_total", {"source": "news"}) == 1
    assert value("brandpulse_source_mentions_added_total", {"source": "news"}) == 3
    assert value("brandpulse_source_items_rejected_total", {"source": "news"}) == 2
    assert value("brandpulse_source_items_rejected_total", {"source": "blog"}) == 0
    assert value("brandpulse_source_last_success_timestamp_seconds", {"source": "news"}) == earlier.timestamp()
    assert value("brandpulse_source_last_error_timestamp_seconds", {"source": "news"}) == later.timestamp()
    assert value("brandpulse_source_last_success_timestamp_seconds", {"source": "blog"}) is None  # never succeeded
    assert value("brandpulse_source_errors_total", {"source": "blog"}) == 1
