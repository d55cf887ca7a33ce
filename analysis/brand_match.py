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


class BrandMatcher:
    """Matches text against brands: whole words, any case, plain, ``#hashtag`` or ``@handle``."""

    def __init__(self, brands: Iterable[BrandTerms]) -> None:
        self._brands: list[tuple[str, re.Pattern[str] | None, re.Pattern[str] | None]] = [
            (b.name, _phrase_pattern([b.name, *b.keywords]), _phrase_pattern(b.exclude)) for b in brands
        ]
        self.names = frozenset(name for name, _, _ in self._brands)
        # One scan finds the leftmost keyword of any brand: far cheaper than one search per brand.
        groups = [
            f"(?P<b{i}>{keywords.pattern})" for i, (_, keywords, _) in enumerate(self._brands) if keywords is not None
        ]
        self._any = re.compile("|".join(groups)) if groups else None

    def matches(self, text: str) -> list[str]:
        """All brands the text mentions, earliest mention first."""
        # Patterns hold lowercase terms: lowering the text once is cheaper than a case-insensitive scan.
        text = text.lower()
        found: list[tuple[int, int, str]] = []
        for order, (name, keywords, exclude) in enumerate(self._brands):
            if keywords is None:
                continue
            hit = keywords.search(text)
            if hit is None or (exclude is not None and exclude.search(text)):
                continue
            found.append((hit.start(), order, name))
        return [name for _, _, name in sorted(found)]

    def first(self, text: str) -> str | None:
        """The brand mentioned first in the text, or None."""
        if self._any is None:
            return None
        text = text.lower()
        ruled_out: set[int] = set()
        for hit in self._any.finditer(text):
            index = int((hit.lastgroup or "b0")[1:])
            if index in ruled_out:
                continue
            name, _, exclude = self._brands[index]
            if exclude is None or not exclude.search(text):
                return name
            ruled_out.add(index)
        return None
