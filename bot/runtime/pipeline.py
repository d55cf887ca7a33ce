"""The proactive half of brandpulse, as ``serve`` and ``worker`` run it: the job scheduler and the outbox deliverer."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from analysis.errors import ModelUnavailable
from analysis.labels import EMOTION
from analysis.prediction import Classifier
from bot.config.brands import BrandsConfig, BrandsFile
from bot.core.delivery import Deliverers, OutboxDeliverer
from bot.core.registry import ModelChoice
from bot.jobs.deps import Job, JobContext
from bot.jobs.registry import build_jobs, run_occurrence
from bot.jobs.scheduler import JobScheduler
from bot.outbound.mail import EmailDeliverer
from bot.outbound.webhooks import WebhookDeliverer, webhook_client
from bot.runtime.brands_watch import BrandsWatcher
from bot.runtime.context import AppContext
from bot.runtime.swap import ModelWatcher, watcher_for
from bot.slack.client import web_client
from bot.slack.outbox import Deliverer
from storage.models import OutboxStatus
from storage.outbox import count_by_status

log = logging.getLogger("brandpulse")

OUTBOX_POLL_SECONDS = 2.0


class ModelSlot:
    """The worker's model: loaded on first use, once (later calls get it, or the same error, at once); ``swap``
    puts a newly promoted one in its place for the next job, while a job running now finishes on the old one."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
        self.source: str | None = None
        self._lock = threading.Lock()
        self._model: Classifier | ModelUnavailable | None = None

    def __call__(self) -> Classifier:
        with self._lock:
            if self._model is None:
                try:
                    choice = self.app.model_choice()
                    self._model = self.app.classifier(self.app.load_model(choice), choice, keep_going=True)
                    self.source = choice.source
                except ModelUnavailable as exc:
                    self._model = exc
            model = self._model
        if isinstance(model, ModelUnavailable):
            raise model
        return model

    def swap(self, model: Classifier, choice: ModelChoice) -> None:
        routed = self.app.classifier(model, choice, keep_going=True)  # the other languages' models stay loaded
        with self._lock:
            self._model, self.source = routed, choice.source


class EmotionSlot:
    """The worker's emotion model: BRANDPULSE_EMOTION_MODEL or the registry's active emotion version, looked up at
    each call and loaded when it changed (so a newly promoted one reads from the next job on), once per source: a
    model that cannot load is not tried again until another is chosen. None while there is none."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._source: str | None = None
        self._model: Classifier | ModelUnavailable | None = None

    def __call__(self) -> Classifier | None:
        choice = self.app.emotion_choice()
        if choice is None:
            return None
        with self._lock:
            if choice.source != self._source:
                try:
                    self._model = self.app.load_model(choice, task=EMOTION)
                    log.info("emotion model %s loaded (%s)", choice.version or choice.source, choice.how)
                except ModelUnavailable as exc:
                    self._model = exc
                    log.error("emotion model %s cannot load: %s", choice.source, exc)
                self._source = choice.source
            model = self._model
        if isinstance(model, ModelUnavailable):
            raise ModelUnavailable(str(model))  # a new one each time: a raised one keeps growing its traceback
        return model


def job_context(app: AppContext, model: Callable[[], Classifier]) -> JobContext:
    return JobContext(
        settings=app.settings,
        sessions=app.sessions,
        brands=app.brands,
        model=model,
        model_choice=app.model_choice,
        load_model=app.load_model,
        encoder=app.encoder,
        emotion_model=EmotionSlot(app),
    )


def make_deliverer(app: AppContext) -> Deliverers | None:
    """The outbox's deliverers: Slack's with a bot token, webhooks' when the brands file has any, e-mail's with an
    SMTP server; None without any (messages then wait in the outbox)."""
    settings, sessions = app.settings, app.sessions
    attempts, lease = settings.outbox_max_attempts, timedelta(seconds=settings.outbox_lease_seconds)
    found: list[OutboxDeliverer] = []
    if settings.slack_bot_token is not None:
        client = web_client(settings)
        found.append(Deliverer(sessions=sessions, client=client, max_attempts=attempts, lease=lease))
    if app.brands.webhooks:
        # The brands file of the moment: a webhook removed from it is not sent to any more.
        hooks = webhook_client(settings.webhook_timeout_seconds)
        found.append(
            WebhookDeliverer(
                sessions=sessions, brands=lambda: app.brands, client=hooks, max_attempts=attempts, lease=lease
            )
        )
    if settings.smtp_host is not None:
        found.append(EmailDeliverer(sessions=sessions, settings=settings, max_attempts=attempts, lease=lease))
    return Deliverers(found) if found else None


MODEL_JOBS = ("classify", "evaluate")


def without_model_jobs_if_unavailable(jobs: list[Job], ctx: JobContext) -> list[Job]:
    """Without a model, the jobs that need one would fail at every occurrence: leave them out, and say so once."""
    try:
        ctx.model()
    except ModelUnavailable as exc:
        skipped = [j.name for j in jobs if j.name in MODEL_JOBS]
        if skipped:
            log.warning("not scheduling %s: the model is unavailable (%s)", " and ".join(skipped), exc)
        return [j for j in jobs if j.name not in MODEL_JOBS]
    return jobs


class Pipeline:
    """Scheduled jobs (unless ``run_jobs`` is off) and outbox delivery, started and stopped together."""

    def __init__(self, app: AppContext, model: Callable[[], Classifier], *, run_jobs: bool = True) -> None:
        self.app = app
        self.ctx = job_context(app, model)
        self.run_jobs = run_jobs
        self.scheduler: JobScheduler | None = None
        self.deliverer: Deliverers | None = None
        self.jobs: list[Job] = []
        self.brands_watcher: BrandsWatcher | None = None
        # Told of each new version of the brands file, after the jobs (serve's Slack app and ingest API).
        self.on_brands: list[Callable[[BrandsConfig], None]] = []

    def apply_brands(self, config: BrandsConfig) -> None:
        """Use a new version of the brands file from now on: the jobs' brands, the schedule, then the listeners."""
        self.app.brands = config
        self.ctx.brands = config
        if self.scheduler is not None:
            self.jobs = without_model_jobs_if_unavailable(build_jobs(self.ctx), self.ctx)
            self.scheduler.replace(self.jobs)
        for listener in self.on_brands:
            listener(config)

    def _watch_brands(self) -> None:
        settings = self.app.settings
        if settings.brands_reload_seconds <= 0:
            return
        self.brands_watcher = BrandsWatcher(
            BrandsFile(settings.brands_file, self.ctx.brands),
            apply=self.apply_brands,
            sessions=self.app.sessions,
            ops_channel=settings.ops_channel,
            queued=lambda: self.ctx.queued(),
            interval=settings.brands_reload_seconds,
        )
        self.brands_watcher.start()

    def start(self) -> None:
        self.deliverer = make_deliverer(self.app)
        if self.deliverer is not None:
            self.ctx.queued = self.deliverer.wake
            self.deliverer.start(OUTBOX_POLL_SECONDS)
            log.info("outbox: delivering to %s", ", ".join(self.deliverer.targets))
        else:
            with self.app.sessions() as session:
                waiting = count_by_status(session=session).get(OutboxStatus.PENDING.value, 0)
            log.info("outbox: not delivering (no BRANDPULSE_SLACK_BOT_TOKEN); %d messages wait", waiting)
        if not self.run_jobs:
            log.info("scheduled jobs: off (BRANDPULSE_RUN_JOBS=false); `brandpulse worker` runs them")
            self._watch_brands()
            return
        self.jobs = without_model_jobs_if_unavailable(build_jobs(self.ctx), self.ctx)
        ctx = self.ctx
        self.scheduler = JobScheduler(
            self.jobs, lambda job, at: run_occurrence(ctx, job, at), grace_seconds=self.app.settings.job_grace_seconds
        )
        self.scheduler.start()
        self._watch_brands()

    def stop(self) -> None:
        if self.brands_watcher is not None:
            self.brands_watcher.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.deliverer is not None:
            self.deliverer.stop()


class Worker:
    """``brandpulse worker``: the scheduled jobs and outbox delivery, without Slack listeners or HTTP server."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
        self.pipeline: Pipeline | None = None
        self.watcher: ModelWatcher | None = None

    def start(self) -> None:
        self.app.migrate()
        model = ModelSlot(self.app)
        try:
            loaded = model()
            log.info("model %s ready", loaded.name)
        except ModelUnavailable as exc:
            log.error("model unavailable: %s", exc)
        self.pipeline = Pipeline(self.app, model, run_jobs=True)
        self.pipeline.start()
        log.info("worker %s running %d jobs", self.pipeline.ctx.owner, len(self.pipeline.jobs))
        self.watcher = watcher_for(self.app, current=model.source, on_swap=lambda new, choice: model.swap(new, choice))
        if self.watcher is not None:
            self.watcher.start()

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        if self.pipeline is not None:
            self.pipeline.stop()
