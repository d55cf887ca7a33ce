from __future__ import annotations

import pytest

from analysis.errors import ModelUnavailable
from analysis.labels import map_model_labels, normalise_label, parse_label_map
from analysis.metrics import evaluate
from analysis.preprocess import normalise_tweet, prepare


@pytest.mark.parametrize(
    ("id2label", "expected"),
    [
        ({0: "negative", 1: "neutral", 2: "positive"}, ["negative", "neutral", "positive"]),
        ({0: "NEGATIVE", 1: "NEUTRAL", 2: "POSITIVE"}, ["negative", "neutral", "positive"]),
        ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, ["negative", "neutral", "positive"]),
        ({0: "positive", 1: "negative", 2: "neutral"}, ["positive", "negative", "neutral"]),
        ({"2": "Pos", "0": "Neg", "1": "Neu"}, ["negative", "neutral", "positive"]),
    ],
)
def test_model_labels_are_mapped(id2label: dict[int, str], expected: list[str]) -> None:
    assert map_model_labels(id2label, model="m") == expected


@pytest.mark.parametrize(
    ("id2label", "reason"),
    [
        ({0: "NEGATIVE", 1: "POSITIVE"}, "has 2 output labels"),
        ({0: "1 star", 1: "2 stars", 2: "3 stars"}, "not negative / neutral / positive"),
        ({0: "negative", 1: "negative", 2: "positive"}, "each of negative, neutral, positive must appear once"),
        ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_3"}, "not negative / neutral / positive"),
    ],
)
def test_unmappable_labels_are_refused_with_the_reason(id2label: dict[int, str], reason: str) -> None:
    with pytest.raises(ModelUnavailable, match=reason):
        map_model_labels(id2label, model="some/model")


def test_data_labels_and_label_maps() -> None:
    mapping = parse_label_map("bad=negative, Good = positive")
    assert mapping == {"bad": "negative", "good": "positive"}
    assert normalise_label("BAD", mapping) == "negative"
    assert normalise_label("Neutral", {}) == "neutral"
    assert normalise_label(2, {}) == "positive"
    assert normalise_label("irrelevant", {}) is None
    with pytest.raises(ValueError, match="expected VALUE=LABEL"):
        parse_label_map("bad=awful")


def test_tweet_preprocessing_matches_cardiffnlp() -> None:
    assert normalise_tweet("@Apple why?! see https://t.co/x and http://a.b") == "@user why?! see http and http"
    assert normalise_tweet("email me @ home") == "email me @ home"
    assert normalise_tweet("nul\x00byte \u202eevil\u202c  spaced\n\tout") == "nul byte evil spaced out"
    assert prepare("x" * 100_000, max_chars=1000) == "x" * 1000


def test_metrics_against_hand_computed_figures() -> None:
    gold = ["negative"] * 4 + ["neutral"] * 4 + ["positive"] * 2
    predicted = [
        "negative",
        "negative",
        "neutral",
        "positive",
        "neutral",
        "neutral",
        "neutral",
        "negative",
        "positive",
        "neutral",
    ]
    result = evaluate(gold, predicted)
    assert result.n == 10
    assert result.accuracy == pytest.approx(6 / 10)
    assert result.confusion_matrix == [[2, 1, 1], [1, 3, 0], [0, 1, 1]]
    assert result.per_class["negative"].precision == pytest.approx(2 / 3)
    assert result.per_class["negative"].recall == pytest.approx(2 / 4)
    assert result.per_class["neutral"].precision == pytest.approx(3 / 5)
    assert result.per_class["positive"].f1 == pytest.approx(0.5)
    assert result.macro_recall == pytest.approx((0.5 + 0.75 + 0.5) / 3)
    f1s = [2 * (2 / 3) * 0.5 / (2 / 3 + 0.5), 2 * 0.6 * 0.75 / 1.35, 0.5]
    assert result.macro_f1 == pytest.approx(sum(f1s) / 3)
    assert set(result.as_dict()) >= {"accuracy", "macro_f1", "macro_recall", "per_class", "confusion_matrix", "n"}
