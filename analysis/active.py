"""Which mentions to ask the team to label: those that would teach the model most.

The rule, measured against labels chosen at random (benchmarks/bench_learning_curve.py): group the candidates by
their sentence vectors into as many clusters as texts are wanted, each text weighing 1 plus how unsure the model is
of it (1 - the margin between its two most likely labels), so that the clusters lean to where the model hesitates; ask
about the text nearest each cluster's centre, the weightiest clusters first. A batch thus asks for the typical text
of each thing the unsure texts say. (Asking for the least sure texts themselves, even spread over clusters of only
the ten times k least sure as in Zhdanov's "Diverse mini-batch active learning", 2019, lost to random labels by 1 to
7 points on the Sanders corpus: the least sure texts are what the stream rarely says.)

The queue asks a few texts at a time, and the model that rates them changes only at a retrain: a batch chosen on its
own would land next to the one before. So the texts asked already in the period (``covered``) take part in the
clustering, with one more cluster each: a cluster holding one of them is answered, and the batch comes from the
others. Twenty batches of five then spread as one batch of a hundred would.

Near-copies (a text whose words are mostly those of one already taken, Jaccard >= ``NEAR_DUPLICATE``: retweets,
templates) are never asked twice in a batch. Without vectors, the least sure texts are taken in order, near-copies
left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

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
    from sklearn.cluster import KMeans

    asked = np.zeros((0, vectors.shape[1])) if covered is None else np.asarray(covered, dtype=float)
    points = np.vstack([np.asarray(vectors, dtype=float), asked])
    unit = points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-12)
    clusters = min(k + len(asked), len(unit))
    # A few starts when the clusters are few (one bad start would decide the whole batch), one when texts asked
    # before make them many: k-means++ spreads its start over them, and the fit's cost grows with every start.
    starts = 3 if clusters <= 50 else 1
    # Every text counts, an unsure one up to twice; one asked already counts as the least sure would.
    weights = 1.0 + np.concatenate([1.0 - margin, np.ones(len(asked))])
    model = KMeans(n_clusters=clusters, n_init=starts, max_iter=100, random_state=seed).fit(unit, sample_weight=weights)
    n = len(texts)
    answered = set(model.labels_[n:].tolist())
    found: list[tuple[float, int]] = []
    for cluster in range(clusters):
        members = np.flatnonzero(model.labels_[:n] == cluster)
        if cluster in answered or members.size == 0:
            continue
        distances = np.linalg.norm(unit[members] - model.cluster_centers_[cluster], axis=1)
        found.append((float(weights[members].sum()), int(members[int(np.argmin(distances))])))
    ranked = [index for _, index in sorted(found, key=lambda item: (-item[0], item[1]))]
    picked = _distinct(ranked, texts, k)
    return sorted(picked, key=lambda i: (float(margin[i]), i))
