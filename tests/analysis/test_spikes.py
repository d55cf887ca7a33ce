"""The spike statistics against direct sums, and the words that distinguish a window from its baseline."""

from __future__ import annotations

import math

import pytest

from analysis.spikes import binomial_sf, distinguishing_terms, negative_share_test, poisson_sf, volume_test
from analysis.words import words


def _poisson_tail(k: int, lam: float) -> float:
    # Summed upwards term by term: 1 - (lower sum) would lose the small tails to rounding.
    return sum(math.exp(-lam + i * math.log(lam) - math.lgamma(i + 1)) for i in range(k, k + 2000))


def _binomial_tail(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


@pytest.mark.parametrize(("k", "lam"), [(0, 3.0), (1, 3.0), (3, 3.0), (10, 3.0), (2, 10.0), (30, 10.0), (100, 50.5)])
def test_poisson_tail(k: int, lam: float) -> None:
    assert poisson_sf(k, lam) == pytest.approx(_poisson_tail(k, lam), rel=1e-6, abs=1e-15)


@pytest.mark.parametrize(
    ("k", "n", "p"), [(1, 10, 0.2), (5, 10, 0.2), (0, 5, 0.5), (9, 10, 0.5), (40, 50, 0.2), (10, 50, 0.2)]
)
def test_binomial_tail(k: int, n: int, p: float) -> None:
    assert binomial_sf(k, n, p) == pytest.approx(_binomial_tail(k, n, p), rel=1e-9, abs=1e-15)


def test_tails_at_the_edges() -> None:
    assert poisson_sf(5, 0.0) == 0.0 and binomial_sf(3, 2, 0.5) == 0.0 and binomial_sf(2, 10, 1.0) == 1.0
    assert poisson_sf(5000, 4000.0) < 1e-40  # large counts neither overflow nor loop for ever


def test_volume_and_share_tests() -> None:
    quiet = volume_test(12, [10, 11, 9, 13, 10, 12, 11])
    loud = volume_test(60, [10, 11, 9, 13, 10, 12, 11])
    assert quiet.p_value > 0.1 and loud.p_value < 1e-12 and loud.ratio == pytest.approx(60 / 76 * 7)
    # A silent baseline does not make one mention infinitely unusual.
    assert volume_test(1, [0, 0, 0]).p_value > 0.1
    share = negative_share_test(30, 40, 20, 200)
    assert share.share == 0.75 and share.baseline_share == pytest.approx(21 / 202) and share.p_value < 1e-12
    assert negative_share_test(5, 40, 20, 200).p_value > 0.3  # 12% against 10%: nothing unusual
    with pytest.raises(ValueError):
        volume_test(3, [])


def test_words_drop_links_handles_numbers_and_stop_words() -> None:
    # stopwords-iso's English list is broad: "new", "great" and "isn't" go with "the".
    assert words("RT @bob The NEW iPhone's battery http://t.co/x #fail 2011 isn't great", frozenset({"iphone"})) == {
        "iphone's",
        "battery",
        "fail",
    }


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        # Devanagari vowel signs and Arabic letters stay inside their words (the re module splits at the signs).
        ("यह फोन बहुत अच्छा है और बैटरी भी खराब", "hi", {"फोन", "अच्छा", "बैटरी", "खराब"}),
        ("البطارية ضعيفة جدا في هذا الهاتف", "ar", {"البطارية", "ضعيفة", "جدا", "الهاتف"}),
        # Each language's stop words: "die" is German's article, and an English complaint.
        ("Die Batterie ist kaputt, die Rückrufaktion läuft", "de", {"batterie", "kaputt", "rückrufaktion", "läuft"}),
        ("My phone will die soon", "en", {"phone", "die"}),
        ("Questo telefono mi è piaciuto tantissimo, perché la batería dura", "it", {"telefono", "piaciuto", "tantissimo", "batería", "dura"}),
        ("La batería explota y nadie responde", "es", {"batería", "explota", "responde"}),
        # Chinese: pairs of characters, none with a stop character (的, 很).
        ("这个手机的电池很糟糕", "zh", {"手机", "电池", "糟糕"}),
        ("แบตเตอรี่แย่มาก phone", "th", {"phone"}),  # Thai is not split into words
        ("the battery", None, {"battery"}),  # no language known: English stop words
    ],
)  # fmt: skip
def test_words_keep_every_script_and_drop_the_stop_words_of_the_texts_language(
    text: str, language: str | None, expected: set[str]
) -> None:
    assert words(text, language=language) == expected


def test_distinguishing_terms_rank_what_is_new_in_the_window() -> None:
    window = ["battery explodes overnight"] * 8 + ["screen is lovely"] * 4
    baseline = ["screen is lovely"] * 40 + ["battery lasts"] * 10
    terms = distinguishing_terms(window, baseline)
    assert [t.word for t in terms][:2] == ["explodes", "overnight"]
    assert all(t.word not in ("screen", "lovely") for t in terms)
    assert terms[0].window_count == 8 and terms[0].baseline_count == 0
    # Words too rare in the window are not themes, however new.
    assert distinguishing_terms(["one-off oddity"], baseline) == []
    # Texts with their languages: Spanish stop words do not become themes of a Spanish spike.
    spanish = [("la batería explota en el bolsillo", "es")] * 6
    found = [t.word for t in distinguishing_terms(spanish + window, baseline, limit=10)]
    assert {"batería", "bolsillo", "explota"} <= set(found) and not {"la", "en", "el"} & set(found)
