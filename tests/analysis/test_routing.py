"""Per-language routes: parsing the setting, and a classifier that sends each text to its language's model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from analysis.errors import InvalidInput
from analysis.language import LanguageDetector
from analysis.prediction import Prediction
from analysis.routing import ACTIVE, RoutedClassifier, Routes


def test_routes_parse_languages_and_a_default() -> None:
    routes = Routes.parse(" EN = active , de=models/de-v2, *=cardiffnlp/twitter-xlm-roberta-base-sentiment ")
    assert routes.by_language == {"en": ACTIVE, "de": "models/de-v2"}
    assert routes.default == "cardiffnlp/twitter-xlm-roberta-base-sentiment"
    assert routes.source_for("de") == "models/de-v2" and routes.source_for("it") == routes.default
    assert routes.source_for(None) == routes.default  # no language known: the default route
    assert routes.sources == ["cardiffnlp/twitter-xlm-roberta-base-sentiment", ACTIVE, "models/de-v2"]
    assert Routes.parse("it=models/it-v1").default == ACTIVE  # the languages not named: the model run otherwise
    assert Routes.parse(routes.describe()) == routes


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("en", "write LANGUAGE=MODEL"),
        ("en=", "write LANGUAGE=MODEL"),
        ("english=active", "'english' is not an ISO 639-1 language code"),
        ("en=a,en=b", "en is routed twice"),
    ],
)
def test_bad_routes_say_what_is_wrong(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Routes.parse(value)


class Tagging:
    """A stand-in model that labels every text by its own name's choice and records what it was given."""

    def __init__(self, name: str, label: str) -> None:
        self.name, self.label, self.seen = name, label, []  # type: list[str]

    def classify(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> list[Prediction | InvalidInput]:
        self.seen.extend(texts)
        return [Prediction(self.label, {"negative": 0.2, "neutral": 0.2, "positive": 0.6}, self.name) for _ in texts]


def test_each_text_goes_to_its_languages_model_and_answers_keep_their_order() -> None:
    english, multilingual = Tagging("english-v1", "positive"), Tagging("multi-v1", "negative")
    loaded: list[str] = []

    def model_for(source: str) -> Any:
        loaded.append(source)
        return {ACTIVE: english, "multi": multilingual, "german": Tagging("never", "neutral")}[source]

    detector = LanguageDetector()
    routed = RoutedClassifier(
        Routes.parse("en=active,de=german,*=multi"),
        model_for=model_for,
        detect=lambda text: found.code if (found := detector.detect(text)) else None,
    )
    texts = ["I love my new phone", "Questo telefono è fantastico", "👍", "What a great battery"]
    results = routed.classify(texts)
    assert [r.model for r in results if isinstance(r, Prediction)] == [
        "english-v1",
        "multi-v1",
        "multi-v1",
        "english-v1",
    ]
    assert english.seen == ["I love my new phone", "What a great battery"]
    assert multilingual.seen == ["Questo telefono è fantastico", "👍"]  # no language: the default route
    assert "german" not in loaded  # no German text, no German model loaded
    # Stored languages (a source's word) win over detection.
    again = routed.classify(["I love my new phone"], languages=["de"])
    assert again[0].model == "never"  # type: ignore[union-attr]


def test_with_a_fallback_a_route_that_cannot_load_sends_its_texts_to_the_fallback_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from analysis.errors import ModelUnavailable

    english, multilingual = Tagging("english-v1", "positive"), Tagging("multi-v1", "negative")
    broken = {"multi": True}

    def model_for(source: str) -> Any:
        if source == "multi" and broken["multi"]:
            raise ModelUnavailable("models/multi is missing")
        return {ACTIVE: english, "multi": multilingual}[source]

    routes = Routes.parse("en=active,*=multi")
    strict = RoutedClassifier(routes, model_for=model_for, detect=lambda text: None)
    with pytest.raises(ModelUnavailable, match="missing"):  # a one-off command says so
        strict.classify(["ciao"], languages=["it"])

    routed = RoutedClassifier(routes, model_for=model_for, detect=lambda text: None, fallback=ACTIVE)
    with caplog.at_level("INFO", logger="analysis.routing"):
        for _ in range(3):
            results = routed.classify(["ciao", "hello"], languages=["it", "en"])
            assert [r.model for r in results if isinstance(r, Prediction)] == ["english-v1", "english-v1"]
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert warnings == [
            "route model multi unavailable (models/multi is missing): its languages go to active for now"
        ]
        broken["multi"] = False
        results = routed.classify(["ciao", "hello"], languages=["it", "en"])
        assert [r.model for r in results if isinstance(r, Prediction)] == ["multi-v1", "english-v1"]
    assert "route model multi is back: its languages go to it again" in caplog.text
    assert multilingual.seen == ["ciao"] and english.seen == ["ciao", "hello"] * 3 + ["hello"]
