"""Which mentions to ask the team to label: those that would teach the model most.

The rule (Zhdanov, "Diverse mini-batch active learning", 2019): of the unlabelled texts, keep the ``PREFILTER`` x k
the model is least sure of (the smallest margin between its two most likely labels); group them into k clusters by
their sentence vectors, each text weighing by how unsure the model is of it (1 - margin); from each cluster, ask for
the text nearest its centre. Uncertainty alone picks outliers and near-duplicates (ten retweets of one complaint);
the clusters spread a batch over what the unsure texts talk about, and the centre of each stands for its group.

The queue asks a few texts at a time, and the model that rates them changes only at a retrain: a batch chosen on its
own would land next to the one before (the same unsure texts, less the few already asked). So the texts asked
already in the period (``covered``) take part in the clustering as if they were being chosen again, with as many
more clusters: a cluster holding one of them is answered, and the batch comes from the others. Twenty batches of
five then spread as one batch of a hundred would.

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
    covered: np.ndarray | None = None,
    seed: int = 0,
) -> list[int]:
    """The indices of the ``k`` texts to ask about, the least sure first; ``vectors`` (one row per text) spread them
    over what the texts say, away from ``covered`` (the vectors of texts asked about already, not among ``texts``)."""
    if k <= 0 or len(texts) == 0:
        return []
    order = [int(i) for i in np.argsort(margin, kind="stable")]
    if vectors is None or len(texts) <= k:
        return _distinct(order, texts, k)
    asked = np.zeros((0, vectors.shape[1])) if covered is None else np.asarray(covered, dtype=float)
    # Near-duplicates out first: ten copies of one text would otherwise pull a cluster's centre onto themselves.
    pool = _distinct(order, texts, PREFILTER * (k + len(asked)))
    if len(pool) <= k:
        return pool
    from sklearn.cluster import KMeans

    points = np.vstack([vectors[pool], asked])
    unit = points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-12)
    # Every text counts a little, the unsure ones most; one asked already counts as the least sure would.
    weights = np.concatenate([1.0 - margin[pool], np.ones(len(asked))]) + 1e-3
    clusters = min(k + len(asked), len(unit))
    # A few starts when the clusters are few (one bad start would decide the whole batch), one when texts asked
    # before make them many: k-means++ spreads its start over them, and the fit's cost grows with every start.
    starts = 3 if clusters <= 50 else 1
    model = KMeans(n_clusters=clusters, n_init=starts, max_iter=100, random_state=seed).fit(unit, sample_weight=weights)
    answered = set(model.labels_[len(pool) :].tolist())
    found: list[tuple[float, int]] = []
    for cluster in range(clusters):
        members = np.flatnonzero(model.labels_[: len(pool)] == cluster)
        if cluster in answered or members.size == 0:
            continue
        distances = np.linalg.norm(unit[members] - model.cluster_centers_[cluster], axis=1)
        found.append((float(weights[members].sum()), pool[int(members[int(np.argmin(distances))])]))
    # The k weightiest groups (the most unsure texts) when the asked ones leave more than k.
    picked = [index for _, index in sorted(found, key=lambda item: (-item[0], item[1]))[:k]]
    return sorted(picked, key=lambda i: (float(margin[i]), i))
