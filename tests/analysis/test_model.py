"""The predict pipeline: preprocess, forward, postprocess, on a tiny model built in the session."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.errors import InvalidInput
from analysis.loading import load_model
from analysis.model import SentimentModel
from analysis.options import InferenceOptions
from analysis.prediction import Prediction

NASTY = [
    "😀🔥💯" * 200,
    "\u202eevil right-to-left override\u202c",
    "שלום עולם مرحبا بالعالم",
    "control \x01\x02\x07 chars",
    "NUL \x00 byte",
    "<!channel> <@U123> <http://evil|click>",
    "x" * 100_000,
    "word " * 20_000,
]


@pytest.fixture(scope="module")
def model(tiny_model: Path) -> SentimentModel:
    return load_model(str(tiny_model), InferenceOptions(precision="float32", batch_size=4))


def test_predictions_carry_label_scores_and_model(model: SentimentModel) -> None:
    prediction = model.predict_one("I love this phone")
    assert prediction.label in ("negative", "neutral", "positive")
    assert set(prediction.scores) == {"negative", "neutral", "positive"}
    assert sum(prediction.scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert prediction.confidence == max(prediction.scores.values())
    assert prediction.model == "tiny"


def test_batching_and_sorting_do_not_change_results(model: SentimentModel) -> None:
    texts = ["short", "a much longer text about the new phone and its battery", "mid length text", "ok"] * 3
    together = model.predict(texts)
    alone = [model.predict_one(t) for t in texts]
    for a, b in zip(together, alone, strict=True):
        assert a.label == b.label
        assert a.scores == pytest.approx(b.scores, abs=1e-5)


def test_nasty_texts_never_crash_and_long_ones_are_truncated(model: SentimentModel) -> None:
    results = model.classify(NASTY)
    assert all(isinstance(r, Prediction) for r in results)
    ids, _ = model.preprocess(NASTY)
    assert all(token_ids is not None and len(token_ids) <= model.max_length for token_ids in ids)


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\x00\x00", "\u202e"])
def test_empty_texts_are_invalid_input(model: SentimentModel, text: str) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        model.predict_one(text)
    results = model.classify(["fine", text, "also fine"])
    assert isinstance(results[1], InvalidInput)
    assert isinstance(results[0], Prediction) and isinstance(results[2], Prediction)
