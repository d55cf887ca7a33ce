"""The language detector on short social texts: accuracy on tweets of seven languages, and its limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.language import BackgroundDetector, LanguageDetector, detect_all
from tests.conftest import DATASETS

XLM_T = DATASETS / "xlm_t_sentiment"
# Measured on this data with the bundled compact model (docs/guide/command-line.md, "Languages"): these are floors a regression breaks.
FLOORS = {"arabic": ("ar", 0.97), "english": ("en", 0.99), "french": ("fr", 0.97), "german": ("de", 0.88),
          "italian": ("it", 0.95), "portuguese": ("pt", 0.88), "spanish": ("es", 0.96)}  # fmt: skip


def _texts(language: str) -> list[str]:
    path = XLM_T / language / "validation.jsonl"
    if not path.exists():
        pytest.skip(f"data set not found at {path}; set BRANDPULSE_DATASETS")
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("language", sorted(FLOORS))
def test_tweets_of_seven_languages_are_told_apart(language: str) -> None:
    code, floor = FLOORS[language]
    detector = LanguageDetector()
    texts = _texts(language)
    found = [detector.detect(text) for text in texts]
    right = sum(1 for f in found if f is not None and f.code == code)
    assert right / len(texts) >= floor, (language, right / len(texts))


def test_romanised_hindi_is_not_recognised_and_the_docs_say_so() -> None:
    detector = LanguageDetector()
    texts = _texts("hindi")
    hindi = sum(1 for text in texts if (f := detector.detect(text)) is not None and f.code == "hi")
    assert hindi / len(texts) < 0.05  # written in Latin letters: read as English and others
    devanagari = LanguageDetector().detect("यह फोन बहुत अच्छा है और बैटरी भी")
    assert devanagari is not None and devanagari.code == "hi"  # in its own script, Hindi is recognised
    model_page = Path(__file__).resolve().parents[2] / "docs" / "model" / "index.md"
    assert "Romanised Hindi" in model_page.read_text(encoding="utf-8")


def test_watched_languages_win_among_close_guesses_and_noise_is_not_a_language() -> None:
    text = "Bom dia a todos"  # Portuguese; Spanish and Catalan are the model's next guesses
    assert LanguageDetector().detect(text).code == "pt"  # type: ignore[union-attr]
    only_spanish = LanguageDetector(["es", "en"]).detect(text)
    assert only_spanish is not None and only_spanish.code == "es"  # the best watched guess
    assert LanguageDetector().detect("@user https://t.co/abc #ok 👍") is None
    # The compact model alone says Thai (0.77) for this; a text in Latin letters is not Thai.
    assert LanguageDetector().detect("I love my new phone").code == "en"  # type: ignore[union-attr]
    assert LanguageDetector().detect("скромненько, быстренько без пафоса").code == "ru"  # type: ignore[union-attr]
    assert LanguageDetector().detect("") is None


def test_a_background_detector_answers_as_this_process_would_and_fails_cleanly_when_its_child_dies() -> None:
    texts = ["Questo progetto mi è piaciuto tantissimo!", "Das ist gut", "👍", "c'est la vie, mes amis"] * 50
    detector = BackgroundDetector(["de", "en", "fr", "it"])
    try:
        first, second = detector.submit(texts), detector.submit(texts[::-1])  # two batches in flight at once
        assert first.result(timeout=60) == detect_all(texts, ("de", "en", "fr", "it"))
        assert second.result(timeout=60) == detect_all(texts[::-1], ("de", "en", "fr", "it"))
        assert first.result()[:3] == [("it", first.result()[0][1]), ("de", first.result()[1][1]), (None, None)]
        child = detector._child
        assert child is not None
        child.kill()
        child.wait()
        with pytest.raises((OSError, ChildProcessError)):
            detector.submit(texts).result(timeout=60)
    finally:
        detector.close()
    assert child.stdout is not None and child.stdout.closed  # nothing left open
