"""Spike statistics: is a window's volume or negative share out of line with its baseline, and which words drive it.

Volume: the window's count against a Poisson law whose rate is the baseline windows' mean. Negative share: the
window's negative count against a binomial law with the baseline's (smoothed) negative share. Words: the weighted
log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi and Quinn, "Fightin' Words", 2008), the prior
being the pooled counts of both sides scaled to a tenth, so a word needs both a large and a well-supported difference
to rank.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from analysis.words import words


def _log_poisson_pmf(k: int, lam: float) -> float:
    return -lam + k * math.log(lam) - math.lgamma(k + 1)


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    term = math.exp(_log_poisson_pmf(k, lam))
    if k > lam:  # the upper tail, summed upwards; its terms shrink geometrically
        total, i = 0.0, k
        while term > 0 and (total == 0 or term > total * 1e-17):
            total += term
            i += 1
            term *= lam / i
        return min(1.0, total)
    # The lower part, summed downwards from k-1, is the smaller sum here.
    term = term * k / lam
    lower, i = 0.0, k - 1
    while i >= 0 and term > 0:
        lower += term
        term *= i / lam
        i -= 1
    return max(0.0, 1.0 - lower)


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_pmf = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    log_pmf += k * math.log(p) + (n - k) * math.log1p(-p)
    term = math.exp(log_pmf)
    odds = p / (1 - p)
    if k > n * p:
        total, i = 0.0, k
        while i <= n and term > 0 and (total == 0 or term > total * 1e-17):
            total += term
            term *= (n - i) / (i + 1) * odds
            i += 1
        return min(1.0, total)
    term *= k / (n - k + 1) / odds  # P(X = k-1)
    lower, i = 0.0, k - 1
    while i >= 0 and term > 0:
        lower += term
        term *= i / (n - i + 1) / odds
        i -= 1
    return max(0.0, 1.0 - lower)


@dataclass(frozen=True)
class VolumeTest:
    observed: int
    baseline_mean: float
    baseline_windows: int
    p_value: float

    @property
    def ratio(self) -> float:
        return self.observed / max(self.baseline_mean, 1e-9)


def volume_test(observed: int, baseline: Sequence[int]) -> VolumeTest:
    """The window's count against the baseline windows' counts (one-sided: only rises count)."""
    if not baseline:
        raise ValueError("a volume test needs at least one baseline window")
    mean = sum(baseline) / len(baseline)
    # Half a mention of pseudo-count keeps a silent baseline from making any single mention "infinitely" unusual.
    rate = (sum(baseline) + 0.5) / len(baseline)
    return VolumeTest(observed, mean, len(baseline), poisson_sf(observed, rate))


@dataclass(frozen=True)
class ShareTest:
    negative: int
    classified: int
    baseline_negative: int
    baseline_classified: int
    p_value: float

    @property
    def share(self) -> float:
        return self.negative / self.classified if self.classified else 0.0

    @property
    def baseline_share(self) -> float:
        return (self.baseline_negative + 1) / (self.baseline_classified + 2)


def negative_share_test(negative: int, classified: int, baseline_negative: int, baseline_classified: int) -> ShareTest:
    """The window's negative count against the baseline's share (Laplace-smoothed), one-sided."""
    smoothed = (baseline_negative + 1) / (baseline_classified + 2)
    p_value = binomial_sf(negative, classified, smoothed)
    return ShareTest(negative, classified, baseline_negative, baseline_classified, p_value)


def word_counts(texts: Iterable[str | tuple[str, str | None]], exclude: frozenset[str] = frozenset()) -> Counter[str]:
    """How many of the texts (strings, or (text, language)) hold each content word."""
    counts: Counter[str] = Counter()
    for item in texts:
        text, language = (item, None) if isinstance(item, str) else item
        counts.update(words(text, exclude, language))
    return counts


@dataclass(frozen=True)
class Term:
    word: str
    z: float
    window_count: int
    baseline_count: int


def distinguishing_terms(
    window_texts: Iterable[str | tuple[str, str | None]],
    baseline_texts: Iterable[str | tuple[str, str | None]],
    *,
    exclude: frozenset[str] = frozenset(),
    limit: int = 5,
    min_count: int = 3,
    min_z: float = 1.96,
    prior_strength: float = 0.1,
) -> list[Term]:
    """Words over-represented in the window, ranked by the z-score of their weighted log-odds ratio.

    Each text is a string, or (text, language) so that the stop words of its language are left out. Counts are
    documents that contain the word, so one text repeating a word does not make it a theme.
    """
    window = word_counts(window_texts, exclude)
    baseline = word_counts(baseline_texts, exclude)
    n_window, n_baseline = sum(window.values()), sum(baseline.values())
    if not n_window:
        return []
    # The prior's total weight; each word's share of it is its share of the pooled counts.
    alpha_total = prior_strength * (n_window + n_baseline)
    terms = []
    for word, count in window.items():
        if count < min_count:
            continue
        other = baseline.get(word, 0)
        alpha = prior_strength * (count + other)
        log_odds_window = math.log((count + alpha) / (n_window + alpha_total - count - alpha))
        log_odds_baseline = math.log((other + alpha) / (n_baseline + alpha_total - other - alpha))
        variance = 1 / (count + alpha) + 1 / (other + alpha)
        z = (log_odds_window - log_odds_baseline) / math.sqrt(variance)
        if z >= min_z:
            terms.append(Term(word, z, count, other))
    terms.sort(key=lambda t: (-t.z, t.word))
    return terms[:limit]
