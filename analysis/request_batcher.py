"""One inference thread for many callers: texts that arrive together are classified in one batch.

Concurrent requests (Slack users typing ``/sentiment`` at once) would otherwise each run the model on their own
threads, fighting over the same cores; batching them gives one forward pass per burst.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from analysis.errors import AnalysisError, InvalidInput
from analysis.prediction import Classifier, Prediction

log = logging.getLogger(__name__)


class BatcherClosed(AnalysisError):
    """The batcher was closed; no more texts are classified."""


_STOP = object()


class Batcher:
    """Classify texts from any thread, up to ``max_batch`` per forward pass.

    After the first text of a batch it keeps gathering while texts keep coming (each within ``gap`` seconds of the
    last), for at most ``max_wait`` seconds: a lone request waits ``gap``, a burst of users goes in one batch.
    """

    def __init__(self, model: Classifier, *, max_batch: int = 32, max_wait: float = 0.05, gap: float = 0.005) -> None:
        self.model = model
        self.name = model.name
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.gap = gap
        self._queue: queue.Queue[object] = queue.Queue()
        self._closed = False
        # submit() and close() take it, so nothing is queued behind the stop marker.
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="brandpulse-inference", daemon=True)
        self._thread.start()

    def submit(self, text: str) -> Future[Prediction | InvalidInput]:
        future: Future[Prediction | InvalidInput] = Future()
        with self._lock:
            if not self._closed:
                self._queue.put((text, future))
                return future
        future.set_exception(BatcherClosed("the model is shutting down"))
        return future

    def predict(self, text: str, timeout: float | None = None) -> Prediction:
        """The prediction for one text; raises InvalidInput for an empty one."""
        result = self.submit(text).result(timeout)
        if isinstance(result, InvalidInput):
            raise result
        return result

    def classify(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> list[Prediction | InvalidInput]:
        """The :class:`Classifier` interface through the one inference thread: a job's batch shares the model with
        interactive requests instead of running beside them."""
        futures = [self.submit(text) for text in texts]
        results = [future.result() for future in futures]
        if progress is not None:
            progress(len(results))
        return results

    def swap(self, model: Classifier) -> Classifier:
        """Classify the next batches with ``model``; a batch being classified now finishes on the old one, which is
        returned. One assignment: every batch runs wholly on one model or the other."""
        with self._lock:
            old, self.model, self.name = self.model, model, model.name
        return old

    def close(self, timeout: float = 10.0) -> None:
        """Finish the texts already submitted, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout)

    def _gather(self, first: object) -> tuple[list[tuple[str, Future[Prediction | InvalidInput]]], bool]:
        """The first text and whatever follows it closely: a burst is gathered until it pauses for ``gap``."""
        items = [first]
        started = last = time.monotonic()
        while len(items) < self.max_batch:
            remaining = min(started + self.max_wait, last + self.gap) - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            items.append(item)
            last = time.monotonic()
        stop = _STOP in items
        return [item for item in items if item is not _STOP], stop  # type: ignore[misc]

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                break
            batch, stop = self._gather(first)
            live = [(text, future) for text, future in batch if future.set_running_or_notify_cancel()]
            if not live:
                continue
            model = self.model  # the model of this whole batch, even if another is swapped in meanwhile
            try:
                results = model.classify([text for text, _ in live])
                if len(results) != len(live):
                    raise RuntimeError(f"the model gave {len(results)} results for {len(live)} texts")
            except Exception as exc:  # noqa: BLE001 - every waiting caller must hear about it; the thread lives on
                log.exception("classification of a batch of %d texts failed", len(live))
                for _, future in live:
                    future.set_exception(exc)
                continue
            for (_, future), result in zip(live, results, strict=True):
                future.set_result(result)
