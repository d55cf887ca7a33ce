from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.brand_match import BrandMatcher, BrandTerms

MATCHER = BrandMatcher(
    [
        BrandTerms("apple", ["iPhone", "#ios", "steve jobs"], exclude=["apple pie"]),
        BrandTerms("google", ["android", "google+"]),
    ]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I love my Apple watch", ["apple"]),
        ("APPLE", ["apple"]),
        ("#apple event tonight", ["apple"]),
        ("thanks @Apple!", ["apple"]),
        ("apple's new store", ["apple"]),
        ("new iphone, who dis", ["apple"]),
        ("iOS update broke it", ["apple"]),
        ("Steve   Jobs keynote", ["apple"]),
        ("iphone行列並んだ", ["apple"]),
        ("pineapple juice", []),
        ("applesauce", []),
        ("mail me at someone@apple.com", []),
        ("@bigapple_fan says hi", []),
        ("grandma's apple pie", []),
        ("android beats iphone", ["google", "apple"]),
        ("Google+ circles", ["google"]),
        ("", []),
        ("\x00\u202e emoji 🍎 only", []),
    ],
)
def test_matches_whole_words_hashtags_and_handles(text: str, expected: list[str]) -> None:
    assert MATCHER.matches(text) == expected


def test_first_is_the_earliest_mention() -> None:
    assert MATCHER.first("android beats iphone") == "google"
    assert MATCHER.first("nothing here") is None


def test_example_brands_recognise_the_sanders_corpus(sanders: Path) -> None:
    from bot.config.brands import load_brands
    from bot.config.settings import EXAMPLE_BRANDS_FILE

    matcher = load_brands(EXAMPLE_BRANDS_FILE).matcher()
    rows = [json.loads(line) for line in sanders.read_text(encoding="utf-8").splitlines()]
    found = sum(row["brand"] in matcher.matches(row["text"]) for row in rows)
    assert found / len(rows) > 0.99
