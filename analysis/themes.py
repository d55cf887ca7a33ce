"""Themes: what a set of mentions talks about, found by clustering their sentence vectors and named by the phrases
that set each cluster apart.

- **Clusters**: k-means (scikit-learn) on the unit vectors, for each k from 2 (or one per 200 mentions, up to 6) to
  ``MAX_THEMES``; the k kept is the one whose clustering of a sample scores the best mean silhouette (cosine), so a
  day of one-subject chatter gives two or three themes and a busy week up to twelve. k is chosen on up to ``SAMPLE`` vectors, then the final k-means
  runs on all of them.
- **Names**: class-based TF-IDF (BERTopic's c-TF-IDF) over words and two-word phrases, the stop words of each
  mention's language left out: a phrase scores by the share of the theme's mentions that hold it, times
  ``log(1 + A / f)``, where ``f`` is how many mentions of all themes hold it and ``A`` the mean theme size. The name is
  the top phrases, a two-word phrase replacing the word it contains ("battery life" rather than "battery"); a
  phrase that half the mentions of every theme hold names none.
- **Two periods at once**: the mentions of the period and of the one before are clustered together, so a theme is
  the same theme in both and its change is a count on each side (new, growing, fading, steady: ``trend``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from analysis.words import phrases

MAX_THEMES = 12
# Fewer mentions than this make one theme: clusters of a handful say nothing.
MIN_MENTIONS = 12
# A theme holds at least this many mentions, so no k is tried that would split them finer.
MIN_THEME_SIZE = 4
SAMPLE = 3000
# Silhouettes of short texts are low and flat: left alone they pick two themes for thousands of mentions about many
# things. k starts at one theme per MENTIONS_PER_THEME mentions, up to MIN_THEMES_CAP.
MENTIONS_PER_THEME = 200
MIN_THEMES_CAP = 6
NAME_PHRASES = 3
# A phrase names a theme only when at least this many of its mentions hold it.
MIN_PHRASE_MENTIONS = 2
# ... and never a phrase that at least half the mentions of every theme hold (a campaign's hashtag, the brand's name
# spelt another way): it is what they all share, not what sets one apart.
SHARED_PHRASE = 0.5
# Trends, on counts of two periods of the same length: "new" when the period before had under a tenth as many,
# "growing"/"fading" when one side is at least 1.5 times the other and they differ by at least MIN_CHANGE mentions.
NEW_RATIO = 0.1
CHANGE_RATIO = 1.5
MIN_CHANGE = 3


class Trend(StrEnum):
    NEW = "new"
    GROWING = "growing"
    FADING = "fading"
    STEADY = "steady"


def trend(now: int, before: int) -> Trend:
    """How a theme moved between two periods of the same length, from its mentions in each (rules above)."""
    if now >= MIN_CHANGE and before <= now * NEW_RATIO:
        return Trend.NEW
    if now >= before * CHANGE_RATIO and now - before >= MIN_CHANGE:
        return Trend.GROWING
    if before >= now * CHANGE_RATIO and before - now >= MIN_CHANGE:
        return Trend.FADING
    return Trend.STEADY


@dataclass(frozen=True)
class Cluster:
    """One theme: its members (indices into the texts given), their centroid, and the phrases that name it."""

    members: np.ndarray
    centroid: np.ndarray
    phrases: list[str]

    def central(self, vectors: np.ndarray, among: np.ndarray | None = None, limit: int = 3) -> list[int]:
        """The members closest to the centroid (of ``among`` only, when given), most central first."""
        chosen = self.members if among is None else np.intersect1d(self.members, among)
        if not len(chosen):
            return []
        closeness = vectors[chosen] @ self.centroid
        return [int(chosen[i]) for i in np.argsort(-closeness, kind="stable")[:limit]]


def cluster(vectors: np.ndarray, *, seed: int = 0, max_themes: int = MAX_THEMES) -> np.ndarray:
    """A theme number per vector (0 .. k-1), k chosen by silhouette as the module says."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(vectors)
    most = min(max_themes, n // MIN_THEME_SIZE)
    if n < MIN_MENTIONS or most < 2:
        return np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    sample = vectors if n <= SAMPLE else vectors[rng.choice(n, SAMPLE, replace=False)]
    least = max(2, min(n // MENTIONS_PER_THEME, MIN_THEMES_CAP, most))
    best_k, best_score, best_labels = least, -2.0, None
    for k in range(least, most + 1):
        labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(sample)
        if len(set(labels.tolist())) < 2:
            continue
        score = float(silhouette_score(sample, labels, metric="cosine"))
        if score > best_score:
            best_k, best_score, best_labels = k, score, labels
    if n <= SAMPLE and best_labels is not None:
        return np.asarray(best_labels, dtype=np.int64)
    return np.asarray(KMeans(n_clusters=best_k, n_init=3, random_state=seed).fit_predict(vectors), dtype=np.int64)


def name_clusters(
    texts: Sequence[tuple[str, str | None]],
    labels: np.ndarray,
    *,
    exclude: frozenset[str] = frozenset(),
    top: int = NAME_PHRASES,
) -> list[list[str]]:
    """The phrases that name each theme (labels 0 .. k-1), by class-based TF-IDF; ``exclude`` (the brand's own
    words, which every mention holds) never names one."""
    k = int(labels.max()) + 1 if len(labels) else 0
    held = [phrases(text, exclude, language) for text, language in texts]
    per_theme = [Counter[str]() for _ in range(k)]
    sizes = np.bincount(labels, minlength=k)
    overall: Counter[str] = Counter()
    for found, theme in zip(held, labels.tolist(), strict=True):
        per_theme[theme].update(found)
        overall.update(found)
    mean_size = len(labels) / max(k, 1)
    shared = (
        set.intersection(*({p for p, n in per_theme[t].items() if n >= SHARED_PHRASE * sizes[t]} for t in range(k)))
        if k > 1
        else set()
    )
    names = []
    for theme in range(k):
        scored = [
            (count / sizes[theme] * np.log1p(mean_size / overall[phrase]), phrase)
            for phrase, count in per_theme[theme].items()
            if count >= MIN_PHRASE_MENTIONS and phrase not in shared
        ]
        scored.sort(key=lambda item: (-item[0], item[1]))
        names.append(_pick(scored, top))
    return names


def _pick(scored: list[tuple[float, str]], top: int) -> list[str]:
    """The best phrases, a two-word phrase standing in for a word it holds when it scores at least half as well."""
    chosen: list[tuple[float, str]] = []
    for score, phrase in scored:
        parts = set(phrase.split())
        overlapping = [i for i, (_, kept) in enumerate(chosen) if parts & set(kept.split())]
        if not overlapping:
            if len(chosen) < top:
                chosen.append((score, phrase))
        elif " " in phrase and all(" " not in chosen[i][1] and score >= chosen[i][0] / 2 for i in overlapping):
            keep = overlapping[0]
            chosen[keep] = (chosen[keep][0], phrase)
            for i in reversed(overlapping[1:]):
                del chosen[i]
        if len(chosen) >= top and all(" " in kept for _, kept in chosen):
            break
    return [phrase for _, phrase in chosen]


def find_themes(
    vectors: np.ndarray,
    texts: Sequence[tuple[str, str | None]],
    *,
    exclude: frozenset[str] = frozenset(),
    seed: int = 0,
    max_themes: int = MAX_THEMES,
) -> list[Cluster]:
    """The themes of these texts (with their unit vectors), largest first."""
    if not len(vectors):
        return []
    labels = cluster(vectors, seed=seed, max_themes=max_themes)
    names = name_clusters(texts, labels, exclude=exclude)
    found = []
    for theme, name in enumerate(names):
        members = np.flatnonzero(labels == theme)
        if not len(members):
            continue
        centroid = vectors[members].mean(axis=0)
        norm = float(np.linalg.norm(centroid))
        found.append(Cluster(members=members, centroid=centroid / norm if norm else centroid, phrases=name))
    found.sort(key=lambda c: (-len(c.members), c.phrases))
    return found
