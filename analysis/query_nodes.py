"""The parts of a parsed query (analysis/query.py) and how each matches a document: words and phrases by regular
expressions over the folded text (case and accents removed), proximity by word positions, inflections by Snowball
stems in the document's language, fields by what the document carries besides its text."""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import snowballstemmer

# Letters of scripts that separate words with spaces (after accents are folded away); a term touching one of these is
# part of a longer word. Scripts written without spaces (Chinese, Japanese, Thai...) count as boundaries, so
# "iphone行列" still mentions the iPhone.
_WORD = r"0-9A-Za-z_\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF"
WORD_RUN = re.compile(f"[{_WORD}]+")


T = TypeVar("T")


def fold(text: str) -> str:
    """Text as queries compare it: case folded, accents removed (``Café`` and ``CAFE`` are ``cafe``)."""
    if text.isascii():
        return text.lower()  # the common case, and the firehose's: no accent to remove
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def with_context(text: str, context: str | None) -> str:
    """A text and what it answers (a comment's video title) as one text for queries: a pilcrow between them, so that
    no phrase runs from one into the other."""
    return f"{text}\n¶\n{context}" if context else text


@dataclass(frozen=True)
class Doc:
    """What a query looks at: a mention's text and the fields a source gave it."""

    text: str
    language: str | None = None
    source: str | None = None
    author: str | None = None
    url: str | None = None
    country: str | None = None


class Prepared:
    """One document, folded once, with its words and their stems computed when a query first needs them. A document
    without a language has it found by ``detect`` (given its text) when a query first asks for it (``lang:``, or
    inflections), so that a text no query asks about is never detected."""

    def __init__(self, doc: Doc, detect: Callable[[str], str | None] | None = None) -> None:
        self.doc = doc
        self._detect = detect
        self.text = fold(doc.text)
        self._tokens: tuple[list[int], list[str]] | None = None
        self._stems: dict[str, list[frozenset[str]]] = {}

    @property
    def tokens(self) -> tuple[list[int], list[str]]:
        """(start offsets, words) of the folded text's words."""
        if self._tokens is None:
            found = [(m.start(), m.group()) for m in WORD_RUN.finditer(self.text)]
            self._tokens = ([s for s, _ in found], [w for _, w in found])
        return self._tokens

    def word_at(self, offset: int) -> int:
        """The index of the word a match that starts at ``offset`` begins in (or the next one)."""
        starts, _ = self.tokens
        return max(0, bisect.bisect_right(starts, offset) - 1)

    @functools.cached_property
    def language(self) -> str | None:
        if self.doc.language is not None or self._detect is None:
            return self.doc.language
        return self._detect(self.doc.text)

    def stems(self, language: str) -> list[frozenset[str]]:
        """Each word's stem keys in ``language`` (see :func:`stem_keys`)."""
        if language not in self._stems:
            self._stems[language] = stem_keys(self.tokens[1], language)
        return self._stems[language]

    @functools.cached_property
    def domain(self) -> str | None:
        if not self.doc.url:
            return None
        try:
            host = urlsplit(self.doc.url).hostname
        except ValueError:
            return None
        return host.lower().removeprefix("www.") if host else None


# ISO 639-1 codes of the languages Snowball stems.
_SNOWBALL = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "nb": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
STEMMED_LANGUAGES = frozenset(_SNOWBALL)


# Languages whose nouns and adjectives change their last vowel from singular to plural (richiamo, richiami).
_VOWEL_PLURALS = frozenset({"it", "es", "pt", "ro", "ca"})


@functools.cache
def stemmer_for(language: str) -> Any:
    return snowballstemmer.stemmer(_SNOWBALL[language])


def stem_keys(words: Sequence[str], language: str) -> list[frozenset[str]]:
    """Each word's keys: its Snowball stem and, in the languages of ``_VOWEL_PLURALS``, the word without its last
    vowel. Two words are the same word inflected when their keys meet. Snowball alone reads Italian "richiamo" as a
    verb ("rich", from "-iamo") but "richiami" as a noun ("richiam"); the second key joins them."""
    stems = stemmer_for(language).stemWords(list(words))
    if language not in _VOWEL_PLURALS:
        return [frozenset((s,)) for s in stems]
    return [
        frozenset((s, w[:-1])) if len(w) > 4 and w[-1] in "aeiou" else frozenset((s,))
        for w, s in zip(words, stems, strict=True)
    ]


class Node:
    """A part of a parsed query."""

    def evaluate(self, doc: Prepared, stem: bool) -> bool:
        raise NotImplementedError

    def positions(self, doc: Prepared, stem: bool) -> list[int]:
        """Word indices where this part matches (empty for the parts that have no place in the text)."""
        return [0] if self.evaluate(doc, stem) else []

    def words(self) -> Iterable[Term]:
        """The terms this part can match through, for the word table that picks the queries worth evaluating."""
        return ()

    def needs(self) -> frozenset[str] | None:
        """Folded words one of which a matching text must hold (None: no such set; check every text)."""
        return None

    def phrases(self) -> frozenset[tuple[str, ...]] | None:
        """Whole words and phrases, as written, one of which a matching text holds (inflections aside): what a search
        engine that takes OR-ed keywords is asked for. None when no such list exists (a prefix*, a filter alone)."""
        return None


def _body(words: Sequence[str]) -> str:
    return r"\s+".join(re.escape(w) for w in words)


def _boundary_source(bodies: Sequence[str], *, prefix: str | None, wildcard: bool) -> str:
    """The regular expression of words or phrases (``bodies``: any of them), as text."""
    body = "|".join(sorted(bodies, key=len, reverse=True))  # the longest first: "steve jobs" before "steve"
    if prefix is not None:
        # Only that form: #acme is a hashtag, not the word.
        start = rf"(?<![{_WORD}@#]){re.escape(prefix)}"
    else:
        # A bare word must not follow a word character (pine|apple) nor be the tail of someone's handle or an
        # e-mail address (x@apple); a # or @ in front of it is allowed.
        start = rf"(?:(?<![{_WORD}@#])[#@]|(?<![{_WORD}@#]))"
    end = f"[{_WORD}]*" if wildcard else rf"(?![{_WORD}])"
    return f"{start}(?:{body}){end}"


@functools.lru_cache(maxsize=8192)
def compiled(source: str) -> re.Pattern[str]:
    """A pattern compiled once per process: compiling is the costly part (the word classes' Unicode ranges), and a
    brands file's reload or a poll's matcher asks for the same ones again."""
    return re.compile(source)


def _word_start(doc: Prepared, match: re.Match[str]) -> int:
    """Where the word a match begins with starts (after its # or @)."""
    start = match.start()
    return start + 1 if doc.text[start : start + 1] in ("#", "@") else start


@dataclass(frozen=True, eq=False)
class Term(Node):
    """A word or a run of words in order (an exact phrase), optionally a #hashtag, an @handle or a prefix*."""

    words_: tuple[str, ...]
    prefix: str | None = None
    wildcard: bool = False
    source: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "source", _boundary_source([_body(self.words_)], prefix=self.prefix, wildcard=self.wildcard)
        )

    @property
    def pattern(self) -> re.Pattern[str]:
        return compiled(self.source)

    def positions(self, doc: Prepared, stem: bool) -> list[int]:
        found = [doc.word_at(_word_start(doc, m)) for m in self.pattern.finditer(doc.text)]
        if stem and not self.wildcard and self.prefix is None:
            found = sorted(set(found) | set(self._stemmed(doc)))
        return found

    def _stemmed(self, doc: Prepared) -> list[int]:
        language = doc.language
        if language not in STEMMED_LANGUAGES:
            return []
        wanted = stem_keys(self.words_, language)
        stems = doc.stems(language)
        n = len(wanted)
        return [i for i in range(len(stems) - n + 1) if all(stems[i + k] & wanted[k] for k in range(n))]

    def evaluate(self, doc: Prepared, stem: bool) -> bool:
        if self.pattern.search(doc.text):
            return True
        return bool(stem and not self.wildcard and self.prefix is None and self._stemmed(doc))

    def words(self) -> Iterable[Term]:
        return (self,)

    def needs(self) -> frozenset[str] | None:
        first = WORD_RUN.match(self.words_[0])
        if first is None or (self.wildcard and len(self.words_) == 1):
            return None  # a word of another script, or a prefix: no whole word to look up
        return frozenset({first.group()})

    def phrases(self) -> frozenset[tuple[str, ...]] | None:
        return None if self.wildcard else frozenset({self.words_})

    def __str__(self) -> str:
        text = " ".join(self.words_)
        shown = f'"{text}"' if len(self.words_) > 1 else text
        return f"{self.prefix or ''}{shown}{'*' if self.wildcard else ''}"


class _AllParts(Node):
    """A part whose parts must all match (``And``, ``Within``): a text must hold what the most selective one needs."""

    parts: tuple[Node, ...]

    def words(self) -> Iterable[Term]:
        return (t for part in self.parts for t in part.words())

    def needs(self) -> frozenset[str] | None:
        return _smallest(part.needs() for part in self.parts)

    def phrases(self) -> frozenset[tuple[str, ...]] | None:
        return _smallest(part.phrases() for part in self.parts)


@dataclass(frozen=True, eq=False)
class Within(_AllParts):
    """Parts that all match within ``distance`` words of each other: ``"a b"~5`` and ``a NEAR/5 b``."""

    parts: tuple[Node, ...]
    distance: int

    def positions(self, doc: Prepared, stem: bool) -> list[int]:
        each = [part.positions(doc, stem) for part in self.parts]
        if not all(each):
            return []
        found = []
        for anchor in each[0]:
            if all(any(abs(p - anchor) <= self.distance for p in other) for other in each[1:]):
                found.append(anchor)
        return found

    def evaluate(self, doc: Prepared, stem: bool) -> bool:
        return bool(self.positions(doc, stem))


@dataclass(frozen=True, eq=False)
class FieldIs(Node):
    """A filter on what the mention carries besides its text."""

    name: str
    value: str

    def evaluate(self, doc: Prepared, stem: bool) -> bool:
        d = doc.doc
        if self.name == "domain":
            host = doc.domain
            return host is not None and (host == self.value or host.endswith("." + self.value))
        have = {"lang": doc.language, "source": d.source, "author": d.author, "country": d.country}[self.name]
        return have is not None and fold(have).lstrip("@") == self.value

    def __str__(self) -> str:
        return f"{self.name}:{self.value}"


@dataclass(frozen=True, eq=False)
class Not(Node):
    part: Node

    def evaluate(self, doc: Prepared, stem: bool) -> bool:
        return not self.part.evaluate(doc, stem)

    def positions(self, doc: Prepared, stem: bool) -> list[int]:
        return [] if self.part.evaluate(doc, stem) else [0]


@dataclass(frozen=True, eq=False)
class And(_AllParts):
    parts: tuple[Node, ...]

    def evaluate(self, doc: Prepared, stem: bool) -> bool:
        return all(part.evaluate(doc, stem) for part in self.parts)

    def positions(self, doc: Prepared, stem: bool) -> list[int]:
        if not self.evaluate(doc, stem):
            return []
        return sorted({p for part in self.parts if not isinstance(part, Not) for p in part.positions(doc, stem)})


@dataclass(frozen=True, eq=False)
class Or(Node):
    parts: tuple[Node, ...]
    # When every part is a word or phrase (a brand's keywords): one regular expression for them all.
    combined: re.Pattern[str] | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        if len(self.parts) > 1 and all(isinstance(part, Term) for part in self.parts):
            terms = [part for part in self.parts if isinstance(part, Term)]
            forms = {(term.prefix, term.wildcard) for term in terms}
            if len(forms) == 1:
                # One form (a brand's keywords are all plain words): one boundary around all the words.
                ((prefix, wildcard),) = forms
                source = _boundary_source([_body(t.words_) for t in terms], prefix=prefix, wildcard=wildcard)
            else:
                source = "|".join(f"(?:{term.source})" for term in terms)
            object.__setattr__(self, "combined", compiled(source))

    def evaluate(self, doc: Prepared, stem: bool) -> bool:
        if self.combined is not None and self.combined.search(doc.text):
            return True
        if self.combined is not None and not stem:
            return False
        return any(part.evaluate(doc, stem) for part in self.parts)

    def positions(self, doc: Prepared, stem: bool) -> list[int]:
        if self.combined is not None and not stem:
            return sorted({doc.word_at(_word_start(doc, m)) for m in self.combined.finditer(doc.text)})
        return sorted({p for part in self.parts for p in part.positions(doc, stem)})

    def words(self) -> Iterable[Term]:
        return (t for part in self.parts for t in part.words())

    def needs(self) -> frozenset[str] | None:
        sets = [part.needs() for part in self.parts]
        if any(s is None for s in sets):
            return None
        return frozenset().union(*(s for s in sets if s is not None))

    def phrases(self) -> frozenset[tuple[str, ...]] | None:
        sets = [part.phrases() for part in self.parts]
        if any(s is None for s in sets):
            return None
        return frozenset().union(*(s for s in sets if s is not None))


def _smallest(sets: Iterable[frozenset[T] | None]) -> frozenset[T] | None:
    """Of the parts that must all match, the smallest set of words one of which a text must hold."""
    known = [s for s in sets if s is not None]
    return min(known, key=len) if known else None
