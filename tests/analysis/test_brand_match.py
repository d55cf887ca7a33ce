from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.brand_match import BrandMatcher, BrandTerms
from analysis.query_nodes import Doc

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
    from bot.config.connection_settings import EXAMPLE_BRANDS_FILE

    matcher = load_brands(EXAMPLE_BRANDS_FILE).matcher()
    rows = [json.loads(line) for line in sanders.read_text(encoding="utf-8").splitlines()]
    found = sum(row["brand"] in matcher.matches(row["text"]) for row in rows)
    assert found / len(rows) > 0.99


def test_the_word_table_finds_what_a_search_of_every_brand_finds() -> None:
    """The matcher evaluates only the brands whose query needs a word of the text; the answer must equal an evaluation
    of every brand's query, whatever the text (hashtags, handles, phrases, scripts without spaces, queries)."""
    import random

    from analysis.query import parse
    from analysis.query_nodes import Prepared

    rng = random.Random(7)
    vocabulary = ["iphone", "steve jobs", "google+", "c++", "苹果", "café", "ios5", "o'reilly", "x", "pie"]
    brands = [
        BrandTerms(
            f"brand{i}", [vocabulary[i], *rng.sample(vocabulary, 2)], exclude=rng.sample(["pie", "x box", ""], 1)
        )
        for i in range(len(vocabulary))
    ]
    brands += [
        BrandTerms("q1", query=parse('iphone AND (pie OR "steve jobs") NOT cafe')),
        BrandTerms("q2", query=parse("ios* OR #brand5")),
        BrandTerms("q3", query=parse('"iphone pie"~2 OR x NEAR/1 苹果')),
        BrandTerms("q4", query=parse("NOT iphone")),
    ]
    matcher = BrandMatcher(brands)
    queries = [(b.name, b.as_query()) for b in brands]
    pieces = [*vocabulary, "Brand3", "#brand5", "@brand1", "a@brand2", "IPHONE", "steve   jobs", "行列", " ", ".", "-"]
    for _ in range(3000):
        text = "".join(rng.choice([*pieces, " ", " "]) for _ in range(rng.randint(0, 8)))
        doc = Prepared(Doc(text))
        expected = []
        for order, (name, query) in enumerate(queries):
            at = query.first(doc)
            if at is not None:
                expected.append((at, order, name))
        assert matcher.matches(text) == [name for _, _, name in sorted(expected)], text
