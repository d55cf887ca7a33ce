from __future__ import annotations

import pytest

from analysis.duplicates import text_key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("RT @fan: acme died again https://t.co/abc", "acme died again"),
        ("rt @a_b: RT @c: Acme   DIED again…", "acme died again"),
        ("acme died again http://x.test/1", "acme died again https://y.test/2"),
        ("Acme died again!", "acme died again."),
    ],
)
def test_reposts_and_copies_share_a_key(a: str, b: str) -> None:
    assert text_key(a) == text_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("acme died again", "acme died yesterday"),
        ("I love acme", "I don't love acme"),
        ("@fan acme died", "acme died"),  # a reply to someone is not a repost of them
    ],
)
def test_different_texts_keep_different_keys(a: str, b: str) -> None:
    assert text_key(a) != text_key(b)
