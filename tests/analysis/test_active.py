"""The labelling queue's rule: the least sure first, spread over what the texts say, never ten copies of one."""

from __future__ import annotations

import numpy as np

from analysis.active import choose, margins


def test_the_margin_is_the_gap_between_the_two_likeliest_labels() -> None:
    scores = np.array([[0.4, 0.35, 0.25], [0.9, 0.05, 0.05], [0.1, 0.45, 0.45]])
    assert np.allclose(margins(scores), [0.05, 0.85, 0.0])
    assert margins(np.zeros((0, 3))).shape == (0,)


def test_without_vectors_the_least_sure_come_first_and_a_near_copy_is_left_out() -> None:
    texts = ["the battery died again today", "RT the battery died again today", "love the camera", "meh", "ok then"]
    margin = np.array([0.01, 0.02, 0.5, 0.03, 0.9])
    assert choose(margin, texts, 3) == [0, 3, 2]  # the retweet (5 of its 6 words) is the same question
    assert choose(margin, texts, 0) == [] and choose(np.zeros(0), [], 3) == []


def test_with_vectors_a_batch_is_spread_over_what_the_unsure_texts_say() -> None:
    rng = np.random.default_rng(0)
    # Three topics; the model is least sure of the twenty complaints of topic 0, about as sure of topics 1 and 2.
    centres = np.eye(3, 16) * 5
    vectors = np.vstack([centres[t] + rng.normal(0, 0.1, (20, 16)) for t in range(3)])
    texts = [f"topic {t} text {i} {'x' * i}" for t in range(3) for i in range(20)]
    margin = np.concatenate([rng.uniform(0.0, 0.05, 20), rng.uniform(0.1, 0.3, 20), rng.uniform(0.1, 0.3, 20)])
    picked = choose(margin, texts, 3, vectors=vectors)
    assert sorted(i // 20 for i in picked) == [0, 1, 2]  # one per topic, not three of topic 0
    assert [float(margin[i]) for i in picked] == sorted(float(margin[i]) for i in picked)  # least sure first
    uncertainty_alone = [int(i) for i in np.argsort(margin)[:3]]
    assert {i // 20 for i in uncertainty_alone} == {0}  # what the rule avoids
    assert choose(margin, texts, 3, vectors=vectors) == picked  # the same batch from the same data


def test_a_batch_keeps_away_from_what_was_asked_before() -> None:
    rng = np.random.default_rng(1)
    # Four topics of fifteen texts; the model is least sure of topics 0 and 1 alike.
    centres = np.eye(4, 16) * 5
    vectors = np.vstack([centres[t] + rng.normal(0, 0.1, (15, 16)) for t in range(4)])
    texts = [f"topic {t} text {i} {'x' * i}" for t in range(4) for i in range(15)]
    margin = np.concatenate([rng.uniform(0.0, 0.05, 30), rng.uniform(0.2, 0.3, 30)])
    first = choose(margin, texts, 2, vectors=vectors)
    assert sorted(i // 15 for i in first) == [0, 1]
    # Those two answered (and gone from the candidates), the same model asks again: the next batch goes to the
    # topics nobody was asked about, not to the unanswered texts beside the first batch's.
    left = [i for i in range(60) if i not in first]
    again = choose(margin[left], [texts[i] for i in left], 2, vectors=vectors[left], covered=vectors[first])
    assert sorted(left[i] // 15 for i in again) == [2, 3]
    unaware = choose(margin[left], [texts[i] for i in left], 2, vectors=vectors[left])
    assert sorted(left[i] // 15 for i in unaware) == [0, 1]  # what a batch chosen on its own would ask again
