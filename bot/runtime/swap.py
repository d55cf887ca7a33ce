"""Hot swap: a running ``serve`` or ``worker`` follows the registry's active version without a restart.

A watcher thread looks at the registry every BRANDPULSE_MODEL_POLL_SECONDS. When another version has become active,
it loads that version beside the running model, probes it, and only then hands it over in one assignment: requests
being classified finish on the old model, the next ones run on the new. A version that fails to load or probe is
logged and left alone (the old model keeps serving) until the registry names another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from analysis.errors import AnalysisError, ModelUnavailable
from analysis.prediction import Classifier, Prediction
from bot.core.registry import ModelChoice
from bot.runtime.context import AppContext

if TYPE_CHECKING:
    from analysis.model import SentimentModel

log = logging.getLogger("brandpulse")

# A new model must label these before it serves: a checkpoint that loads but cannot classify never takes over.
PROBE_TEXTS = ("I love this, it works perfectly", "This is awful and broken", "The store opens at nine")


def probe(model: Classifier) -> None:
    results = model.classify(list(PROBE_TEXTS))
    if len(results) != len(PROBE_TEXTS) or not all(isinstance(r, Prediction) for r in results):
        raise ModelUnavailable(f"{model.name} did not label the probe texts")


class ModelWatcher:
    """Calls ``on_swap(model, choice)`` with a loaded and probed model whenever the registry names another one."""

    def __init__(
        self,
        app: AppContext,
        *,
        current: str | None,
        on_swap: Callable[[SentimentModel, ModelChoice], None],
        interval: float,
        on_failure: Callable[[], None] = lambda: None,
    ) -> None:
        self.app = app
        self.current = current  # the source the process runs now
        self.on_swap = on_swap
        self.on_failure = on_failure
        self.interval = interval
        self._refused: str | None = None  # a source that failed: not tried again until the registry moves on
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """One look at the registry; whether the model was swapped."""
        try:
            choice = self.app.model_choice(strict=True)
        except ModelUnavailable as exc:
            if self._refused != str(exc):
                log.error("model swap: %s; the running model keeps serving", exc)
                self._refused = str(exc)
            return False
        except Exception as exc:  # noqa: BLE001 - a database hiccup must not end the watcher
            log.warning("model swap: cannot read the registry (%s); trying again later", type(exc).__name__)
            return False
        if choice.source in (self.current, self._refused):
            return False
        log.info("model swap: %s is now %s; loading it beside the running model", choice.source, choice.how)
        try:
            model = self.app.load_model(choice)
            probe(model)
        except AnalysisError as exc:
            log.error("model swap: %s cannot serve (%s); the running model keeps serving", choice.source, exc)
            self._refused = choice.source
            self.on_failure()
            return False
        previous, self.current, self._refused = self.current, choice.source, None
        self.on_swap(model, choice)
        log.info("model swap: %s -> %s (%s)", previous or "none", model.name, model.report.summary)
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="brandpulse-model-watcher", daemon=True)
        self._thread.start()
        log.info("following the registry's active model version (every %g s)", self.interval)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def watcher_for(
    app: AppContext,
    *,
    current: str | None,
    on_swap: Callable[[SentimentModel, ModelChoice], None],
    on_failure: Callable[[], None] = lambda: None,
) -> ModelWatcher | None:
    """A watcher, unless BRANDPULSE_MODEL pins the model or BRANDPULSE_MODEL_POLL_SECONDS is 0."""
    settings = app.settings
    if settings.model:
        log.info("BRANDPULSE_MODEL is set: promotions in the registry are not followed")
        return None
    if not settings.model_poll_seconds:
        return None
    return ModelWatcher(
        app, current=current, on_swap=on_swap, interval=settings.model_poll_seconds, on_failure=on_failure
    )
