"""The replay's job runner: classification waits for the next job that reads labels, and for the end; the model
reads ahead along the file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from analysis.errors import InvalidInput
from analysis.labels import LABELS
from analysis.prediction import Prediction
from bot.jobs.deps import Job
from bot.jobs.triggers import every
from bot.runtime.replay import DeferredClassification, Lookahead

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_classification_runs_only_before_a_job_that_reads_labels_and_at_the_end() -> None:
    classify, spikes = Job("classify", every(60), lambda now: ""), Job("spikes", every(300), lambda now: "")
    ran: list[tuple[str, datetime, bool]] = []
    runner = DeferredClassification([classify, spikes], lambda job, at, quiet: ran.append((job.name, at, quiet)) or 1)
    minute = timedelta(minutes=1)
    assert runner.run(classify, T0 + minute) is None  # deferred
    assert runner.run(spikes, T0 + 5 * minute) == 1
    assert ran == [("spikes", T0 + 5 * minute, False)]  # nothing had arrived: nothing to classify
    runner.arrived += 3
    runner.run(classify, T0 + 6 * minute)
    runner.run(spikes, T0 + 10 * minute)
    assert ran[1:] == [("classify", T0 + 10 * minute, True), ("spikes", T0 + 10 * minute, False)]
    runner.arrived += 1
    assert runner.finish(T0 + 11 * minute) == 2
    assert ran[-1] == ("classify", T0 + 11 * minute, True) and runner.arrived == 0


class Recording:
    """A stand-in classifier whose answer depends on the text alone, recording the texts of each call."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def classify(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> list[Prediction | InvalidInput]:
        self.calls.append(list(texts))
        return [self.answer(text) for text in texts]

    @staticmethod
    def answer(text: str) -> Prediction | InvalidInput:
        if not text.strip():
            return InvalidInput("empty text")
        label = LABELS[len(text) % 3]
        return Prediction(label=label, scores={lbl: float(lbl == label) for lbl in LABELS}, model="recording")


def test_the_model_reads_ahead_along_the_file_and_answers_as_it_would() -> None:
    texts = [f"mention number {i} " + "x" * (i % 5) for i in range(1000)]
    texts[500] = texts[10]  # a text met again long after
    texts[700] = " "  # the model refuses it
    model = Recording()
    lookahead = Lookahead(model, texts, ahead=100)
    assert lookahead.name == "recording"
    answered: list[Prediction | InvalidInput] = []
    for start in range(0, len(texts), 7):  # the classify job's calls: what arrived since the last spike run
        answered += lookahead.classify(texts[start : start + 7])
    assert [str(a) if isinstance(a, InvalidInput) else a for a in answered] == [
        str(a) if isinstance(a, InvalidInput) else a for a in map(Recording.answer, texts)
    ]
    assert len(model.calls) == 10  # 1,000 texts, 100 at a time, rather than 143 calls of 7
    assert lookahead.classify(["not in the file"]) == [Recording.answer("not in the file")]
    assert model.calls[-1][0] == "not in the file"


def test_a_text_met_again_after_the_kept_results_is_classified_again() -> None:
    texts = ["early"] + [f"t{i}" for i in range(1000)] + ["early"]
    model = Recording()
    lookahead = Lookahead(model, texts, ahead=50)
    for start in range(0, len(texts), 10):
        assert lookahead.classify(texts[start : start + 10]) == [Recording.answer(t) for t in texts[start : start + 10]]
    assert sum(call.count("early") for call in model.calls) == 2  # forgotten after 4 x 50 newer texts
