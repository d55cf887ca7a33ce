"""Which mentions to ask the team to label: those that would teach the model most.

The rule (Zhdanov, "Diverse mini-batch active learning", 2019): of the unlabelled texts, keep the ``PREFILTER`` x k
the model is least sure of (the smallest margin between its two most likely labels); group them into k clusters by
their sentence vectors, each text weighing by how unsure the model is of it (1 - margin); from each cluster, ask for
the text nearest its centre. Uncertainty alone picks outliers and near-duplicates (ten retweets of one complaint);
the clusters spread a batch over what the unsure texts talk about, and the centre of each stands for its group.

Without vectors, the least sure texts are taken in order, a text whose words are mostly those of one already taken
(Jaccard >= ``NEAR_DUPLICATE``) left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# How many of the least sure texts, per text asked for, the clusters are drawn from.
PREFILTER = 10
# Two texts whose sets of words overlap this much are the same question (retweets, templates).
NEAR_DUPLICATE = 0.8


def margins(scores: np.ndarray) -> np.ndarray:
    """Each row's margin between its two highest probabilities (0: the model cannot choose, 1: it is sure)."""
    if scores.shape[0] == 0:
        return np.zeros(0)
    top = np.sort(scores, axis=1)[:, -2:]
    result: np.ndarray = top[:, 1] - top[:, 0]
    return result


def _words(text: str) -> frozenset[str]:
    return frozenset(text.casefold().split())


def _distinct(order: Sequence[int], texts: Sequence[str], k: int) -> list[int]:
    chosen: list[int] = []
    seen: list[frozenset[str]] = []
    for index in order:
        words = _words(texts[index])
        if any(len(words & other) / max(len(words | other), 1) >= NEAR_DUPLICATE for other in seen):
            continue
        chosen.append(index)
        seen.append(words)
        if len(chosen) == k:
            break
    return chosen


def choose(
    margin: np.ndarray,
    texts: Sequence[str],
    k: int,
    *,
    vectors: np.ndarray | None = None,
    seed: int = 0,
) -> list[int]:
    """The indices of the ``k`` texts to ask about, the least sure first; ``vectors`` (one row per text) spread them
    over what the texts say."""
    if k <= 0 or len(texts) == 0:
        return []
    order = [int(i) for i in np.argsort(margin, kind="stable")]
    if vectors is None or len(texts) <= k:
        return _distinct(order, texts, k)
    # Near-duplicates out first: ten copies of one text would otherwise pull a cluster's centre onto themselves.
    pool = _distinct(order, texts, PREFILTER * k)
    if len(pool) <= k:
        return pool
    from sklearn.cluster import KMeans

    unit = vectors[pool] / np.maximum(np.linalg.norm(vectors[pool], axis=1, keepdims=True), 1e-12)
    weights = 1.0 - margin[pool] + 1e-3  # every text counts a little, the unsure ones most
    model = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(unit, sample_weight=weights)
    picked: list[int] = []
    for cluster in range(k):
        members = np.flatnonzero(model.labels_ == cluster)
        if members.size == 0:
            continue
        distances = np.linalg.norm(unit[members] - model.cluster_centers_[cluster], axis=1)
        picked.append(pool[int(members[int(np.argmin(distances))])])
    return sorted(picked, key=lambda i: (float(margin[i]), i))
