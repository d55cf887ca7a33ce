"""The inference batcher: many threads, one model, batched forward passes, every caller gets its own answer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from analysis.errors import InvalidInput
from analysis.loading import load_model
from analysis.model import SentimentModel
from analysis.options import InferenceOptions
from analysis.prediction import Prediction
from analysis.request_batcher import Batcher, BatcherClosed


class Recording:
    """The real model, with a record of the batch sizes it was given."""

    def __init__(self, model: SentimentModel) -> None:
        self.model, self.name, self.batches = model, model.name, []  # type: ignore[var-annotated]
        self.release = threading.Event()
        self.release.set()

    def classify(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> list[Prediction | InvalidInput]:
        self.release.wait()
        self.batches.append(len(texts))
        if "explode" in texts:
            raise RuntimeError("model crashed")
        return self.model.classify(texts)


@pytest.fixture(scope="module")
def model(tiny_model: Path) -> SentimentModel:
    return load_model(str(tiny_model), InferenceOptions(precision="float32"))


def test_concurrent_callers_share_batches_and_get_their_own_answers(model: SentimentModel) -> None:
    recording = Recording(model)
    recording.release.clear()  # hold the first batch so that the others queue up behind it
    batcher = Batcher(recording, max_batch=8, max_wait=0.05)
    texts = [f"text number {i} is {'great' if i % 2 else 'awful'}" for i in range(20)]
    results: dict[int, Prediction] = {}

    def call(i: int) -> None:
        results[i] = batcher.predict(texts[i], timeout=30)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    recording.release.set()
    for thread in threads:
        thread.join()
    batcher.close()
    expected = model.predict(texts)
    assert [results[i] for i in range(20)] == expected
    assert sum(recording.batches) == 20 and max(recording.batches) > 1 and max(recording.batches) <= 8


def test_an_invalid_text_fails_alone_and_a_crash_reaches_every_caller_in_its_batch(model: SentimentModel) -> None:
    batcher = Batcher(Recording(model))
    with pytest.raises(InvalidInput):
        batcher.predict("   ", timeout=30)
    assert batcher.predict("fine text", timeout=30).label in ("negative", "neutral", "positive")
    with pytest.raises(RuntimeError, match="model crashed"):
        batcher.predict("explode", timeout=30)
    assert batcher.predict("still alive", timeout=30).model == model.name
    batcher.close()
    with pytest.raises(BatcherClosed):
        batcher.predict("too late", timeout=30)


def test_a_job_classifies_a_list_through_the_same_thread(model: SentimentModel) -> None:
    recording = Recording(model)
    batcher = Batcher(recording, max_batch=32)
    try:
        texts = [f"text number {i}" for i in range(40)] + ["   "]
        seen: list[int] = []
        results = batcher.classify(texts, progress=seen.append)
        assert batcher.name == model.name and seen == [41]
        assert [r.label for r in results[:40] if isinstance(r, Prediction)] == [
            r.label for r in model.classify(texts[:40])
        ]  # type: ignore[union-attr]
        assert isinstance(results[40], InvalidInput)
        assert sum(recording.batches) == 41 and max(recording.batches) <= 32
    finally:
        batcher.close()


class Named:
    """A model that answers every text with its own name as the model, once ``release`` is set."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()

    def classify(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> list[Prediction | InvalidInput]:
        self.started.set()
        self.release.wait()
        return [Prediction(label="neutral", scores={"negative": 0, "neutral": 1, "positive": 0}, model=self.name)
                for _ in texts]  # fmt: skip


def test_a_swap_leaves_the_running_batch_on_the_old_model_and_the_next_on_the_new() -> None:
    old, new = Named("old"), Named("new")
    old.release.clear()
    batcher = Batcher(old, max_batch=4, max_wait=0.01, gap=0.001)
    running = batcher.submit("in flight")
    assert old.started.wait(10)  # the batch is inside the old model
    assert batcher.swap(new) is old and batcher.name == "new"
    queued = batcher.submit("after the swap")
    old.release.set()
    assert running.result(10).model == "old"  # type: ignore[union-attr]
    assert queued.result(10).model == "new"  # type: ignore[union-attr]
    batcher.close()
