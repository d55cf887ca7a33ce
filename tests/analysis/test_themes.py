"""Themes without an encoder: k chosen by silhouette, names by class-based TF-IDF, and the trend rule on both sides
of each of its numbers."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.themes import MIN_MENTIONS, Trend, cluster, find_themes, name_clusters, trend


def blobs(sizes: list[int], dimension: int = 16, spread: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around one random direction per group."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), dimension))
    points, truth = [], []
    for group, size in enumerate(sizes):
        points.append(
            centres[group] + rng.normal(scale=spread * np.linalg.norm(centres[group]), size=(size, dimension))
        )
        truth += [group] * size
    vectors = np.vstack(points)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), np.array(truth)


@pytest.mark.parametrize("groups", [2, 4, 7])
def test_k_is_the_number_of_groups_the_vectors_form(groups: int) -> None:
    vectors, truth = blobs([30 + 5 * g for g in range(groups)], seed=groups)
    labels = cluster(vectors)
    assert len(set(labels.tolist())) == groups
    # Each group is one theme: the labels are the truth renamed.
    pairs = set(zip(truth.tolist(), labels.tolist(), strict=True))
    assert len(pairs) == groups


def test_too_few_mentions_make_one_theme() -> None:
    vectors, _ = blobs([MIN_MENTIONS // 2, MIN_MENTIONS // 2 - 1])
    assert set(cluster(vectors).tolist()) == {0}
    vectors, _ = blobs([MIN_MENTIONS // 2, MIN_MENTIONS // 2])
    assert len(set(cluster(vectors).tolist())) == 2


def test_a_theme_is_named_by_what_sets_it_apart_not_by_what_all_share() -> None:
    texts = [
        ("Acme battery life is awful #acmenews", "en"),
        ("the battery life died again #acmenews", "en"),
        ("battery life, two hours! #acmenews", "en"),
        ("new price is too high #acmenews", "en"),
        ("price too high for a phone #acmenews", "en"),
        ("the price!!! #acmenews", "en"),
    ]
    names = name_clusters(texts, np.array([0, 0, 0, 1, 1, 1]), exclude=frozenset({"acme"}))
    # "battery life" stands for "battery" and "life"; the hashtag every mention holds, and the brand, name nothing.
    assert names == [["battery life"], ["price"]]


def test_stop_words_of_each_mention_s_language_name_nothing() -> None:
    texts = [("la batería no dura nada", "es"), ("la batería se muere", "es"), ("the screen cracked", "en"),
             ("screen cracked again", "en")]  # fmt: skip
    names = name_clusters(texts, np.array([0, 0, 1, 1]))
    assert names[0] == ["batería"] and names[1] == ["screen cracked"]


def test_find_themes_orders_by_size_and_picks_central_members() -> None:
    vectors, truth = blobs([40, 25])
    texts = [("battery dies fast", "en") if t == 0 else ("price is high", "en") for t in truth]
    found = find_themes(vectors, texts)
    assert [len(c.members) for c in found] == [40, 25]
    assert found[0].phrases[0].startswith("battery") and found[1].phrases[0] == "price"
    central = found[0].central(vectors, limit=2)
    closeness = vectors[found[0].members] @ found[0].centroid
    assert vectors[central[0]] @ found[0].centroid == pytest.approx(closeness.max())
    assert found[0].central(vectors, among=np.flatnonzero(truth == 1)) == []


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        (10, 1, Trend.NEW),  # under a tenth before
        (10, 2, Trend.GROWING),  # a fifth: not new, but 5x
        (2, 0, Trend.STEADY),  # too few to call new
        (3, 0, Trend.NEW),
        (6, 4, Trend.STEADY),  # 1.5x but only 2 more
        (9, 6, Trend.GROWING),  # 1.5x and 3 more
        (8, 6, Trend.STEADY),  # 3 more would need 1.5x
        (6, 9, Trend.FADING),
        (0, 3, Trend.FADING),
        (0, 2, Trend.STEADY),
        (7, 7, Trend.STEADY),
    ],
)
def test_trend_rule_on_both_sides_of_its_numbers(now: int, before: int, expected: Trend) -> None:
    assert trend(now, before) is expected


@pytest.mark.parametrize(("size", "themes"), [(299, {2}), (300, {3, 4, 5, 6}), (599, {5, 6}), (600, {6})])
def test_a_large_set_has_at_least_one_theme_per_200_mentions_up_to_six(size: int, themes: set[int]) -> None:
    # Two tight groups: silhouette alone says two (as it does up to 598 mentions); from 1,200 mentions, six at least.
    vectors, _ = blobs([size, size], spread=0.02)
    assert len(set(cluster(vectors, max_themes=6).tolist())) in themes
