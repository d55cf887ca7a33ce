"""What every command needs, built once and only when needed: settings, database engine, brands."""

from __future__ import annotations

import logging
import threading
import time
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from analysis.errors import ModelUnavailable
from analysis.labels import SENTIMENT, Task
from analysis.language import detector_for
from analysis.options import InferenceOptions
from analysis.prediction import Classifier
from analysis.routing import ACTIVE, RoutedClassifier
from bot.config.brands import BrandsConfig, load_brands
from bot.config.settings import Settings, cache_dir
from bot.core.registry import ModelChoice, choose_emotion_model, choose_model, choose_routes, route_source
from storage.db import make_engine, make_sessionmaker
from storage.migrate import ensure_schema, grant_dashboard_reads

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from analysis.encoder import SentenceEncoder
    from analysis.model import SentimentModel
    from monitoring.metrics import Metrics


# After a route's model fails to load, the next try waits this long, doubling on each failure up to the cap: a
# missing directory or an unreachable hub is not retried on every batch.
ROUTE_RETRY_SECONDS = 30.0
ROUTE_RETRY_MAX_SECONDS = 900.0


class AppContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._migrated = False
        self._routes_lock = threading.Lock()
        self._route_models: dict[str, Classifier] = {}
        # source -> (why it failed, when to try again, the wait after that)
        self._route_failures: dict[str, tuple[str, float, float]] = {}
        self.clock = time.monotonic
        self._encoder_lock = threading.Lock()
        self._encoder: SentenceEncoder | None = None

    @cached_property
    def engine(self) -> Engine:
        """The database engine (connecting lazily); ``migrate()`` brings its schema up to date."""
        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)

    def migrate(self) -> Engine:
        """Bring the database's schema up to date (once per process); every command that uses the database calls
        this first, so a database behind the code is never queried."""
        if not self._migrated:
            ensure_schema(self.engine)
            role = self.settings.dashboard_db_role
            if role is not None and grant_dashboard_reads(self.engine, role):
                log.info("database role %s may read the mentions and spike alerts (the brands dashboard)", role)
            self._migrated = True
        return self.engine

    @cached_property
    def brands(self) -> BrandsConfig:
        return load_brands(self.settings.brands_file)

    def inference_options(self) -> InferenceOptions:
        settings = self.settings
        return InferenceOptions(
            batch_size=settings.batch_size,
            threads=settings.torch_threads,
            device=settings.device,
            precision=settings.precision,
            tolerance=settings.probe_tolerance,
            compile=settings.compile,
            cache_dir=cache_dir(),
        )

    def model_choice(self, *, strict: bool = False) -> ModelChoice:
        """The model to run: BRANDPULSE_MODEL, else the registry's active version, else the hub default (``strict``:
        a database that cannot be read raises rather than meaning the default)."""
        return choose_model(self.sessions, self.settings.model, strict=strict)

    def classifier(
        self, model: Classifier, choice: ModelChoice | None = None, *, keep_going: bool = False
    ) -> Classifier:
        """What classifies mentions: ``model`` (the one ``choice`` names) alone, or behind the per-language routes,
        whose other models load on first use, once per process. ``keep_going`` (the bot's long-running processes):
        a route whose model cannot load sends its languages to ``model`` until it loads, rather than failing."""
        routes = choose_routes(self.settings.model_routes, choice or self.model_choice())
        if routes is None or routes.sources == [ACTIVE]:
            return model

        def model_for(source: str) -> Classifier:
            return model if source == ACTIVE else self.route_model(source)

        return RoutedClassifier(
            routes, model_for=model_for, detect=self.detect_language, fallback=ACTIVE if keep_going else None
        )

    def detect_language(self, text: str) -> str | None:
        """A text's language as ingestion detects it (among BRANDPULSE_LANGUAGES where it can)."""
        found = detector_for(tuple(sorted(self.settings.languages))).detect(text)
        return found.code if found is not None else None

    def route_model(self, source: str) -> Classifier:
        """A model a route names, loaded once per process. ModelUnavailable when it cannot be; after a failure, the
        same one until the retry time (ROUTE_RETRY_SECONDS, doubling), without trying again."""
        with self._routes_lock:
            if source in self._route_models:
                return self._route_models[source]
            now = self.clock()
            failure = self._route_failures.get(source)
            if failure is not None and now < failure[1]:
                raise ModelUnavailable(failure[0])  # a new one each time: a raised one keeps growing its traceback
            try:
                loaded = self.load_model(route_source(self.sessions, source))
            except ModelUnavailable as exc:
                wait = failure[2] if failure is not None else ROUTE_RETRY_SECONDS
                self._route_failures[source] = (str(exc), now + wait, min(wait * 2, ROUTE_RETRY_MAX_SECONDS))
                log.error("cannot load route model %s: %s (next try in %.0f s)", source, exc, wait)
                raise
            self._route_failures.pop(source, None)
            log.info("model %s loaded for its languages (%s)", loaded.name, loaded.report.summary)
            self._route_models[source] = loaded
            return loaded

    def encoder(self) -> SentenceEncoder:
        """The themes encoder (BRANDPULSE_THEMES_ENCODER), loaded on first use, once per process; ModelUnavailable
        when it cannot be (tried again at the next call: a report asks rarely)."""
        from analysis.encoder import load_encoder

        with self._encoder_lock:
            if self._encoder is None:
                quiet_transformers()
                self._encoder = load_encoder(self.settings.themes_encoder)
            return self._encoder

    def load_model(self, source: str | ModelChoice | None = None, *, task: Task = SENTIMENT) -> SentimentModel:
        """The sentiment model (or ``task``'s): a directory or hub id, a ``ModelChoice``, or ``model_choice()`` when
        none is given; ModelUnavailable says why not, naming what chose the model (the default, BRANDPULSE_MODEL)."""
        # torch and transformers load with the model (seconds): `--help` and the commands that need no model skip them.
        from analysis.loading import load_model

        quiet_transformers()
        choice = self.model_choice() if source is None else source
        if isinstance(choice, str):
            return load_model(choice, self.inference_options(), task=task)
        role = {"default": "default", "BRANDPULSE_MODEL": "BRANDPULSE_MODEL"}.get(
            choice.how, choice.how if choice.how.startswith("BRANDPULSE_") else "the registry's active version"
        )
        return load_model(choice.source, self.inference_options(), role=role, task=task)

    def emotion_choice(self) -> ModelChoice | None:
        """The emotion model to run: BRANDPULSE_EMOTION_MODEL, else the registry's active emotion version, else
        None (no emotion is read)."""
        return choose_emotion_model(self.sessions, self.settings.emotion_model)

    def metrics_registry(self) -> tuple[CollectorRegistry, Metrics]:
        """A registry with the database's figures and room for this process's own metrics."""
        # Imported when asked for (about 0.6 s cold): the one-off commands that serve no metrics need not pay for it.
        from monitoring.exporter import build_registry

        settings = self.settings
        # The evaluate job names its runs by the data file's path, as load_labelled reads it.
        reference = str(settings.evaluation_data.expanduser()) if settings.evaluation_data is not None else None
        return build_registry(
            self.sessions,
            brands=self.brands.names,
            accuracy_threshold=settings.accuracy_threshold,
            reference_dataset=reference,
            thresholds={
                brand.name: (brand.alerts.negative_share, brand.alerts.min_volume)
                for brand in self.brands.brands
                if brand.alerts is not None
            },
        )

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def quiet_transformers() -> None:
    """transformers narrates every load (progress bars, weight reports); brandpulse logs what matters itself."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
