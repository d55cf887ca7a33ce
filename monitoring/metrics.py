"""brandpulse's Prometheus metrics, defined once.

Two kinds: what a process measures as it works (:class:`Metrics`: latencies, batch sizes, the model it serves), and
what the database knows (:class:`DatabaseCollector`, read at scrape time, so that ``brandpulse exporter`` reports the
same figures whichever process ingested, classified or delivered). Label values are bounded: brands come from the
brands file (anything else is ``other``), labels are the three sentiments, statuses and jobs are the code's own.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from analysis.errors import InvalidInput
from analysis.labels import LABELS
from analysis.prediction import Classifier, Prediction
from storage.figures import (
    feedback_agreement,
    label_counts_between,
    last_ingested_at,
    latest_evaluation,
    mean_confidence,
    mentions_by_brand_and_source,
    mentions_by_brand_status_and_label,
)
from storage.jobs import last_failures, last_successes
from storage.mention_queries import label_counts
from storage.models import MentionStatus, OutboxStatus
from storage.outbox import count_by_status
from storage.sources import source_states

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    """The metrics a running process updates; give each process (and each test) its own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.classification_seconds = Histogram(
            "brandpulse_classification_duration_seconds",
            "Time the model took to classify one batch of texts.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.classification_batch_size = Histogram(
            "brandpulse_classification_batch_size",
            "Texts per classification batch.",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.slash_command_seconds = Histogram(
            "brandpulse_slash_command_duration_seconds",
            "Time from receiving a /sentiment command to posting its answer.",
            ["command"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.model_info = Info("brandpulse_model", "The sentiment model this process serves.", registry=registry)
        self.model_swaps = Counter(
            "brandpulse_model_swaps",
            "Newly promoted model versions this process took over (ok) or refused to (failed: it kept the old one).",
            ["outcome"],
            registry=registry,
        )
        # The brands file's spike thresholds, so that the NegativeSentimentSpike rule applies each brand's own.
        self.alert_negative_share = Gauge(
            "brandpulse_brand_alert_negative_share",
            "Negative share over which a brand's last hour is a spike (alerts.negative_share in the brands file).",
            ["brand"],
            registry=registry,
        )
        self.alert_min_volume = Gauge(
            "brandpulse_brand_alert_min_volume",
            "Classified mentions a brand's last hour needs before its negative share counts (alerts.min_volume).",
            ["brand"],
            registry=registry,
        )

    def thresholds(self, thresholds: Mapping[str, tuple[float, int]]) -> None:
        """Each brand's (negative share, minimum volume) alert thresholds."""
        for brand, (negative_share, min_volume) in thresholds.items():
            self.alert_negative_share.labels(brand).set(negative_share)
            self.alert_min_volume.labels(brand).set(min_volume)

    def serving(self, *, name: str, source: str, device: str, precision: str) -> None:
        self.model_info.info({"name": source, "version": name, "device": device, "precision": precision})

    def measured(self, model: Classifier) -> Classifier:
        return MeasuredClassifier(model, self)


class MeasuredClassifier:
    """A :class:`Classifier` that records every call's duration and batch size."""

    def __init__(self, model: Classifier, metrics: Metrics) -> None:
        self.model = model
        self.name = model.name
        self.metrics = metrics

    def classify(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> list[Prediction | InvalidInput]:
        started = time.perf_counter()
        try:
            return self.model.classify(texts, progress=progress)
        finally:
            self.metrics.classification_seconds.observe(time.perf_counter() - started)
            self.metrics.classification_batch_size.observe(len(texts))


def jensen_shannon_distance(p: Sequence[float], q: Sequence[float]) -> float:
    """The Jensen-Shannon distance (base 2, so between 0 and 1) of two distributions given as counts or shares."""
    total_p, total_q = sum(p), sum(q)
    if not total_p or not total_q:
        raise ValueError("both distributions need some mass")
    p = [x / total_p for x in p]
    q = [x / total_q for x in q]
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(a: Sequence[float], b: Sequence[float]) -> float:
        return sum(x * math.log2(x / y) for x, y in zip(a, b, strict=True) if x > 0)

    return math.sqrt(max(0.0, (kl(p, m) + kl(q, m)) / 2))


@dataclass(frozen=True)
class Windows:
    """The periods the database figures are computed over."""

    live_accuracy: timedelta = timedelta(days=7)
    drift_recent: timedelta = timedelta(hours=24)
    drift_reference: timedelta = timedelta(days=7)
    brand_recent: timedelta = timedelta(hours=1)


# Every figure the database collector may yield: name -> (type, help, label names). collect() builds its families from
# here and describe() returns them, so that a registry knows the names before the first scrape, and the docs' metrics
# reference lists them from the same place.
DATABASE_METRICS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "brandpulse_database_up": ("gauge", "1 when the last scrape could read the database, 0 while it cannot.", ()),
    "brandpulse_mentions_ingested": ("counter", "Mentions stored, by brand and source.", ("brand", "source")),
    "brandpulse_mentions_classified": ("counter", "Mentions classified, by brand and label.", ("brand", "label")),
    "brandpulse_classification_backlog": ("gauge", "Mentions waiting to be classified.", ()),
    "brandpulse_classification_failed": ("gauge", "Mentions the model refused (kept, not retried).", ()),
    "brandpulse_last_ingest_timestamp_seconds": (
        "gauge",
        "When the newest stored mention was ingested (Unix time).",
        (),
    ),
    "brandpulse_model_accuracy_threshold": (
        "gauge",
        "Accuracy on the reference set under which the model should be retrained (BRANDPULSE_ACCURACY_THRESHOLD).",
        (),
    ),
    "brandpulse_model_accuracy": (
        "gauge",
        "Accuracy of the latest evaluation on the reference labelled set.",
        ("model", "dataset"),
    ),
    "brandpulse_model_macro_f1": (
        "gauge",
        "Macro-F1 of the latest evaluation on the reference labelled set.",
        ("model", "dataset"),
    ),
    "brandpulse_model_macro_recall": (
        "gauge",
        "Macro-recall of the latest evaluation (TweetEval's metric).",
        ("model", "dataset"),
    ),
    "brandpulse_model_evaluation_timestamp_seconds": (
        "gauge",
        "When the latest evaluation ran (Unix time).",
        ("model", "dataset"),
    ),
    "brandpulse_model_evaluation_age_seconds": (
        "gauge",
        "How long ago the latest evaluation ran.",
        ("model", "dataset"),
    ),
    "brandpulse_live_feedback_samples": ("gauge", "Slack feedback verdicts in the live-accuracy window (7 days).", ()),
    "brandpulse_live_accuracy": (
        "gauge",
        "Share of Slack feedback verdicts that agreed with the model, over 7 days.",
        (),
    ),
    "brandpulse_prediction_drift_jsd": (
        "gauge",
        "Jensen-Shannon distance between the label shares of the last 24 hours and of the 7 days before.",
        (),
    ),
    "brandpulse_prediction_confidence_mean": (
        "gauge",
        "Mean probability of the predicted label over the last 24 hours.",
        (),
    ),
    "brandpulse_brand_recent_mentions": ("gauge", "Mentions of each brand in the last hour.", ("brand",)),
    "brandpulse_brand_recent_classified": (
        "gauge",
        "Mentions of each brand in the last hour that are classified.",
        ("brand",),
    ),
    "brandpulse_brand_negative_share": (
        "gauge",
        "Share of the last hour's classified mentions of each brand that are negative.",
        ("brand",),
    ),
    "brandpulse_outbox_messages": ("gauge", "Messages for Slack, by state.", ("status",)),
    # "job_name", not "job": Prometheus keeps "job" for the scrape job and would rename ours.
    "brandpulse_job_last_success_timestamp_seconds": (
        "gauge",
        "When each scheduled job last finished successfully (Unix time).",
        ("job_name",),
    ),
    "brandpulse_job_last_failure_timestamp_seconds": (
        "gauge",
        "When each scheduled job last failed (Unix time).",
        ("job_name",),
    ),
    "brandpulse_source_polls": ("counter", "Polls of each source.", ("source",)),
    "brandpulse_source_errors": ("counter", "Polls of each source that failed.", ("source",)),
    "brandpulse_source_mentions_added": ("counter", "Mentions each source added.", ("source",)),
    "brandpulse_source_items_rejected": (
        "counter",
        "Items of each source rejected for a date, size or shape no mention can have.",
        ("source",),
    ),
    "brandpulse_source_last_success_timestamp_seconds": (
        "gauge",
        "When each source was last polled successfully (Unix time).",
        ("source",),
    ),
    "brandpulse_source_last_error_timestamp_seconds": (
        "gauge",
        "When each source last failed (Unix time).",
        ("source",),
    ),
}


def _family(name: str, value: float | None = None) -> GaugeMetricFamily | CounterMetricFamily:
    """The empty family of one of :data:`DATABASE_METRICS` (with one unlabelled sample when ``value`` is given)."""
    kind, text, labels = DATABASE_METRICS[name]
    family = (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(name, text, labels=list(labels))
    if value is not None:
        family.add_metric([], value)
    return family


class DatabaseCollector(Collector):
    """Figures the database holds, computed when Prometheus scrapes."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        brands: Sequence[str],
        accuracy_threshold: float,
        reference_dataset: str | None = None,
        windows: Windows | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.brands = list(brands)
        self.accuracy_threshold = accuracy_threshold
        # The evaluate job's data set (BRANDPULSE_EVALUATION_DATA): a hand-run evaluation of a candidate model on
        # another set must not stand for the served model's accuracy.
        self.reference_dataset = reference_dataset
        self.windows = windows or Windows()
        self.clock = clock
        self._database_up = True

    def _brand(self, brand: str) -> str:
        return brand if brand in self.brands else "other"

    def describe(self) -> Iterator[Metric]:
        # Registering must not query the database: the families collect() may yield, empty.
        return (_family(name) for name in DATABASE_METRICS)

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        up = _family("brandpulse_database_up")
        try:
            # Read whole before anything is yielded: a scrape never carries half the database's figures.
            with self.sessions() as session:
                figures = [
                    *self._mentions(session),
                    *self._evaluation(session, now),
                    *self._live_accuracy(session, now),
                    *self._predictions(session, now),
                    *self._brands_recent(session, now),
                    *self._outbox_and_jobs(session),
                    *self._sources(session),
                ]
        except DBAPIError as exc:
            # The process's own metrics still answer; the gauge says why the database's are missing.
            if self._database_up:
                log.warning("metrics: the database cannot be read (%s)", type(exc).__name__)
            self._database_up = False
            up.add_metric([], 0)
            yield up
            return
        if not self._database_up:
            log.info("metrics: the database can be read again")
        self._database_up = True
        up.add_metric([], 1)
        yield up
        yield from figures

    def _mentions(self, session: Session) -> Iterator[Metric]:
        ingested = _family("brandpulse_mentions_ingested")
        counts: dict[tuple[str, str], int] = {}
        for brand, source, n in mentions_by_brand_and_source(session=session):
            key = (self._brand(brand), source)
            counts[key] = counts.get(key, 0) + n
        for (brand, source), n in sorted(counts.items()):
            ingested.add_metric([brand, source], n)
        yield ingested

        classified = _family("brandpulse_mentions_classified")
        pending = 0
        failed = 0
        by_label: dict[tuple[str, str], int] = {}
        for brand, status, label, n in mentions_by_brand_status_and_label(session=session):
            if status == MentionStatus.PENDING.value:
                pending += n
            elif status == MentionStatus.FAILED.value:
                failed += n
            elif label in LABELS:
                key = (self._brand(brand), label)
                by_label[key] = by_label.get(key, 0) + n
        for (brand, label), n in sorted(by_label.items()):
            classified.add_metric([brand, label], n)
        yield classified
        yield _family("brandpulse_classification_backlog", pending)
        yield _family("brandpulse_classification_failed", failed)
        last = last_ingested_at(session=session)
        if last is not None:
            yield _family("brandpulse_last_ingest_timestamp_seconds", last.timestamp())

    def _evaluation(self, session: Session, now: datetime) -> Iterator[Metric]:
        yield _family("brandpulse_model_accuracy_threshold", self.accuracy_threshold)
        run = latest_evaluation(session=session, dataset=self.reference_dataset)
        if run is None:
            return
        values = [run.model_version, run.dataset]
        for name, value in (
            ("accuracy", run.accuracy),
            ("macro_f1", run.macro_f1),
            ("macro_recall", run.macro_recall),
            ("evaluation_timestamp_seconds", run.created_at.timestamp()),
            ("evaluation_age_seconds", max(0.0, (now - run.created_at).total_seconds())),
        ):
            family = _family(f"brandpulse_model_{name}")
            family.add_metric(values, value)
            yield family

    def _live_accuracy(self, session: Session, now: datetime) -> Iterator[Metric]:
        total, right = feedback_agreement(session=session, since=now - self.windows.live_accuracy, until=now)
        yield _family("brandpulse_live_feedback_samples", int(total))
        if total:
            yield _family("brandpulse_live_accuracy", right / total)

    def _label_counts(self, session: Session, since: datetime, until: datetime) -> list[int]:
        counts = label_counts_between(session=session, since=since, until=until)
        return [counts.get(label, 0) for label in LABELS]

    def _predictions(self, session: Session, now: datetime) -> Iterator[Metric]:
        w = self.windows
        recent = self._label_counts(session, now - w.drift_recent, now)
        reference = self._label_counts(session, now - w.drift_recent - w.drift_reference, now - w.drift_recent)
        if sum(recent) and sum(reference):
            yield _family("brandpulse_prediction_drift_jsd", jensen_shannon_distance(recent, reference))
        mean = mean_confidence(session=session, since=now - w.drift_recent, until=now)
        if mean is not None:
            yield _family("brandpulse_prediction_confidence_mean", mean)

    def _brands_recent(self, session: Session, now: datetime) -> Iterator[Metric]:
        since = now - self.windows.brand_recent
        volume = _family("brandpulse_brand_recent_mentions")
        classified_volume = _family("brandpulse_brand_recent_classified")
        share = _family("brandpulse_brand_negative_share")
        counts = label_counts(session=session, since=since, until=now)
        for brand in self.brands:
            by_label = counts.get(brand, {})
            volume.add_metric([brand], sum(by_label.values()))
            classified = sum(by_label.get(label, 0) for label in LABELS)
            classified_volume.add_metric([brand], classified)
            if classified:
                share.add_metric([brand], by_label.get("negative", 0) / classified)
        yield volume
        yield classified_volume
        yield share

    def _outbox_and_jobs(self, session: Session) -> Iterator[Metric]:
        outbox = _family("brandpulse_outbox_messages")
        states = count_by_status(session=session)
        for status in (s.value for s in OutboxStatus):
            outbox.add_metric([status], states.get(status, 0))
        yield outbox
        for name, times in (("success", last_successes(session=session)), ("failure", last_failures(session=session))):
            family = _family(f"brandpulse_job_last_{name}_timestamp_seconds")
            for job, at in sorted(times.items()):
                family.add_metric([job], at.timestamp())
            yield family

    def _sources(self, session: Session) -> Iterator[Metric]:
        """Each polled source's totals and last outcomes (its name is bounded by the brands file)."""
        states = source_states(session=session)
        polls = _family("brandpulse_source_polls")
        errors = _family("brandpulse_source_errors")
        added = _family("brandpulse_source_mentions_added")
        rejected = _family("brandpulse_source_items_rejected")
        success = _family("brandpulse_source_last_success_timestamp_seconds")
        error = _family("brandpulse_source_last_error_timestamp_seconds")
        for state in states:
            polls.add_metric([state.name], state.polls_total)
            errors.add_metric([state.name], state.errors_total)
            added.add_metric([state.name], state.added_total)
            rejected.add_metric([state.name], state.rejected_total)
            if state.last_success_at is not None:
                success.add_metric([state.name], state.last_success_at.timestamp())
            if state.last_error_at is not None:
                error.add_metric([state.name], state.last_error_at.timestamp())
        yield from (polls, errors, added, rejected, success, error)
