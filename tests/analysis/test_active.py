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
    # Four topics of fifteen texts, the model as unsure of each.
    centres = np.eye(4, 16) * 5
    vectors = np.vstack([centres[t] + rng.normal(0, 0.1, (15, 16)) for t in range(4)])
    texts = [f"topic {t} text {i} {'x' * i}" for t in range(4) for i in range(15)]
    margin = rng.uniform(0.0, 0.3, 60)
    first = choose(margin, texts, 2, vectors=vectors)
    assert len({i // 15 for i in first}) == 2
    # Those two answered (and gone from the candidates), the same model asks again: the next batch goes to the
    # topics nobody was asked about, not to the unanswered texts beside the first batch's.
    left = [i for i in range(60) if i not in first]
    again = [
        left[i]
        for i in choose(margin[left], [texts[i] for i in left], 2, vectors=vectors[left], covered=vectors[first])
    ]
    assert {i // 15 for i in first + again} == {0, 1, 2, 3}


def test_one_question_per_cluster_its_typical_text_not_its_outlier() -> None:
    rng = np.random.default_rng(2)
    # Two topics; in each, the model is least sure of a far-out text (an outlier).
    centres = np.eye(2, 16) * 5
    vectors = np.vstack([centres[t] + rng.normal(0, 0.1, (20, 16)) for t in range(2)])
    vectors[0] += 1.0  # topic 0's outlier
    vectors[20] += 1.0  # topic 1's outlier
    vectors[7], vectors[27] = centres[0], centres[1]  # typical texts
    texts = [f"topic {t} text {i} {'x' * i}" for t in range(2) for i in range(20)]
    margin = rng.uniform(0.3, 0.6, 40)
    margin[[0, 20]] = 0.01  # the outliers: the least sure of all
    assert sorted(choose(margin, texts, 2, vectors=vectors)) == [7, 27]
    assert choose(margin, texts, 2) == [0, 20]  # without vectors: the least sure, whatever they are
