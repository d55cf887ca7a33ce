"""Find which configured brand a piece of text talks about: each brand is a query (analysis/query.py), written in the
brands file or made of its keywords and excluded phrases."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from analysis.query import Query, terms_query
from analysis.query_nodes import WORD_RUN, Doc, Prepared

# A text's language (its ISO 639-1 code), or None.
Detect = Callable[[str], str | None]


@dataclass(frozen=True)
class BrandTerms:
    """What identifies one brand: a query, or (the older way) keywords any of which it takes and phrases that rule
    it out, its name being one of the keywords."""

    name: str
    keywords: Sequence[str] = ()
    exclude: Sequence[str] = ()
    query: Query | None = None
    stem: bool = False  # for keywords: their inflections match too (a query carries its own)

    def as_query(self) -> Query:
        if self.query is not None:
            return self.query
        return terms_query(self.name, self.keywords, self.exclude, stem=self.stem)


class BrandMatcher:
    """Matches documents against brands' queries.

    Most queries can only match a text that holds one of a few whole words (``Query.needs``: a brand's keywords, the
    words every branch of an AND needs...), so the text's words, looked up in a table, name the few brands worth
    evaluating: the cost of a text barely grows with the number of brands. Queries with no such words (a field
    filter alone, a prefix*, a word of a script written without spaces) are evaluated on every text.
    """

    def __init__(self, brands: Iterable[BrandTerms]) -> None:
        self._brands: list[tuple[str, Query]] = [(b.name, b.as_query()) for b in brands]
        self.names = frozenset(name for name, _ in self._brands)
        # Whether a document's language may be needed to match it (a brand's lang:, or inflections): a caller whose
        # documents may have none passes ``detect``.
        self.needs_language = any(query.needs_language for _, query in self._brands)
        self._by_word: dict[str, set[int]] = {}
        self._always: set[int] = set()
        for index, (_, query) in enumerate(self._brands):
            needed = query.needs()
            if needed is None:
                self._always.add(index)
            else:
                for word in needed:
                    self._by_word.setdefault(word, set()).add(index)

    def _candidates(self, doc: Prepared) -> list[int]:
        found = set(self._always)
        for word in set(WORD_RUN.findall(doc.text)):
            hit = self._by_word.get(word)
            if hit is not None:
                found |= hit
        return sorted(found)

    def _hits(self, doc: Doc | str, detect: Detect | None) -> list[tuple[int, int, str]]:
        """(word index of the first match, brand order, name) of every brand the document mentions."""
        prepared = Prepared(doc if isinstance(doc, Doc) else Doc(doc), detect)
        found: list[tuple[int, int, str]] = []
        for order in self._candidates(prepared):
            name, query = self._brands[order]
            at = query.first(prepared)
            if at is not None:
                found.append((at, order, name))
        return sorted(found)

    def matches(self, doc: Doc | str, *, detect: Detect | None = None) -> list[str]:
        """All brands the document (or text) mentions, earliest mention first. ``detect``: the language of a document
        that has none, asked only when a query needs it."""
        return [name for _, _, name in self._hits(doc, detect)]

    def first(self, doc: Doc | str, *, detect: Detect | None = None) -> str | None:
        """The brand mentioned first in the document (or text), or None."""
        hits = self._hits(doc, detect)
        return hits[0][2] if hits else None
