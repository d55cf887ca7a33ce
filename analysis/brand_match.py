"""Find which configured brand a piece of text talks about."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BrandTerms:
    """The words that identify one brand, and the phrases that rule it out."""

    name: str
    keywords: Sequence[str]
    exclude: Sequence[str] = ()


# Letters of scripts that separate words with spaces; a keyword touching one of these is part of a longer
# word. Scripts written without spaces (Chinese, Japanese, Thai...) count as boundaries, so "iphone行列"
# still mentions the iPhone.
_WORD = r"0-9A-Za-z_\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF"


def _normalise(term: str) -> str:
    return term.strip().lstrip("#@").strip()


def _phrase_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    """Case-insensitive whole-word alternation; each term also matches as #hashtag or @handle."""
    words = sorted({_normalise(t).lower() for t in terms if _normalise(t)}, key=len, reverse=True)
    if not words:
        return None
    alternatives = "|".join(r"\s+".join(re.escape(part) for part in w.split()) for w in words)
    # A bare word must not follow a word character (pine|apple) nor be the tail of someone's
    # handle or an e-mail address (x@apple); the # or @ prefix itself is allowed.
    return re.compile(rf"(?:(?<![{_WORD}@#])[#@]|(?<![{_WORD}@#]))(?:{alternatives})(?![{_WORD}])")


_RUN = re.compile(f"[{_WORD}]+")


class BrandMatcher:
    """Matches text against brands: whole words, any case, plain, ``#hashtag`` or ``@handle``.

    A keyword that starts with a word character matches only where its first word is a whole word of the text
    (``_phrase_pattern`` requires a boundary on both sides), so the text's words, looked up in a table, name the few
    brands worth a regular-expression search: the cost of a text barely grows with the number of brands.
    """

    def __init__(self, brands: Iterable[BrandTerms]) -> None:
        terms = list(brands)
        self._brands: list[tuple[str, re.Pattern[str] | None, re.Pattern[str] | None]] = [
            (b.name, _phrase_pattern([b.name, *b.keywords]), _phrase_pattern(b.exclude)) for b in terms
        ]
        self.names = frozenset(name for name, _, _ in self._brands)
        self._by_word: dict[str, set[int]] = {}
        # Brands with a keyword that starts outside the word characters (a Chinese name, say) are always searched.
        self._always: set[int] = set()
        for index, brand in enumerate(terms):
            for term in (brand.name, *brand.keywords):
                normalised = _normalise(term).lower()
                if not normalised:
                    continue
                first = _RUN.match(normalised)
                if first is None:
                    self._always.add(index)
                else:
                    self._by_word.setdefault(first.group(), set()).add(index)

    def _candidates(self, lowered: str) -> list[int]:
        found = set(self._always)
        for word in set(_RUN.findall(lowered)):
            hit = self._by_word.get(word)
            if hit is not None:
                found |= hit
        return sorted(found)

    def _hits(self, text: str) -> list[tuple[int, int, str]]:
        """(position of the first keyword, brand order, name) of every brand the text mentions."""
        # Patterns hold lowercase terms: lowering the text once is cheaper than a case-insensitive scan.
        lowered = text.lower()
        found: list[tuple[int, int, str]] = []
        for order in self._candidates(lowered):
            name, keywords, exclude = self._brands[order]
            hit = keywords.search(lowered) if keywords is not None else None
            if hit is None or (exclude is not None and exclude.search(lowered)):
                continue
            found.append((hit.start(), order, name))
        return sorted(found)

    def matches(self, text: str) -> list[str]:
        """All brands the text mentions, earliest mention first."""
        return [name for _, _, name in self._hits(text)]

    def first(self, text: str) -> str | None:
        """The brand mentioned first in the text, or None."""
        hits = self._hits(text)
        return hits[0][2] if hits else None
