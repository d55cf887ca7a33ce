"""The query language: which mentions a brand, an alert or a search means.

    acme AND (battery OR charger) NOT giveaway
    "acme phone"~5 OR acme NEAR/3 recall*
    #acme OR @acmesupport lang:it -source:reddit

Words are joined by ``AND`` when no operator stands between them; ``NOT`` (or ``-``) binds tightest, then ``NEAR/n``,
``AND``, ``OR``; operators are written in capitals (a lowercase ``or`` is a word). A word matches as a whole word,
in any case and with or without accents, plain, as a ``#hashtag`` or as an ``@handle`` (``#acme`` and ``@acme`` match
only that form); ``recall*`` matches every word that starts with ``recall``; ``"exact phrase"`` matches the words in
that order, ``"acme battery"~5`` the words within five words of each other in any order, ``a NEAR/5 b`` two parts
within five words. Fields filter on what a mention carries besides its text: ``lang:``, ``source:``, ``author:``,
``domain:`` (its link's host, subdomains included) and ``country:``. With stemming on, a word also matches its
inflections in the mention's language (Snowball): ``recall`` finds ``recalls`` and ``recalled``.

The grammar is parsed with lark; :func:`parse` raises :class:`QuerySyntaxError`, whose message shows the query, a
caret under the column and what was expected there.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import snowballstemmer
from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from analysis.errors import AnalysisError

FIELDS = ("lang", "source", "author", "domain", "country")
MAX_QUERY_CHARS = 4_000
MAX_DISTANCE = 100

_GRAMMAR = r"""
?start: or_
?or_: and_ (_OR and_)*
?and_: not_ (_AND? not_)*
?not_: _NOT not_ -> negation
     | MINUS not_ -> negation
     | near
?near: atom (NEAR atom)*
?atom: "(" or_ ")"
     | FIELD value -> field
     | PHRASE PROXIMITY? -> phrase
     | WORD -> word
?value: WORD | PHRASE

_OR.2: /OR(?![^\s()"~:])/
_AND.2: /AND(?![^\s()"~:])/
_NOT.2: /NOT(?![^\s()"~:])/
NEAR.2: /NEAR\/[0-9]+(?![^\s()"~:])/
FIELD.3: /[A-Za-z_]+:/
PHRASE: /"[^"]*"/
PROXIMITY: /~[0-9]+/
MINUS: /-(?=[^\s-])/
WORD: /[^\s()"~:\-][^\s()"~:]*/

%ignore /\s+/
"""

# What a person reads for each terminal lark names in "expected".
_EXPECTED = {
    "WORD": "a word",
    "PHRASE": 'a "phrase"',
    "LPAR": "(",
    "RPAR": ")",
    "_OR": "OR",
    "_AND": "AND",
    "_NOT": "NOT",
    "NEAR": "NEAR/n",
    "FIELD": "a field (lang:, source:, author:, domain:, country:)",
    "PROXIMITY": "~n",
    "MINUS": "-",
    "$END": "the end of the query",
}


class QuerySyntaxError(AnalysisError, ValueError):
    """A query that does not parse: the message shows it, a caret under the column, and what was expected."""

    def __init__(self, query: str, column: int, reason: str) -> None:
        self.query, self.column, self.reason = query, column, reason
        shown = query.replace("\n", " ").replace("\t", " ")
        super().__init__(f"{reason} at column {column}:\n  {shown}\n  {' ' * (column - 1)}^")


# Letters of scripts that separate words with spaces (after accents are folded away); a term touching one of these is
# part of a longer word. Scripts written without spaces (Chinese, Japanese, Thai...) count as boundaries, so
# "iphone行列" still mentions the iPhone.
_WORD = r"0-9A-Za-z_\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF"
WORD_RUN = re.compile(f"[{_WORD}]+")


def fold(text: str) -> str:
    """Text as queries compare it: case folded, accents removed (``Café`` and ``CAFE`` are ``cafe``)."""
    if text.isascii():
        return text.lower()  # the common case, and the firehose's: no accent to remove
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


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
    """One document, folded once, with its words and their stems computed when a query first needs them."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
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


def _boundary_pattern(words: Sequence[str], *, prefix: str | None, wildcard: bool) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(w) for w in words)
    if prefix is not None:
        # Only that form: #acme is a hashtag, not the word.
        start = rf"(?<![{_WORD}@#]){re.escape(prefix)}"
    else:
        # A bare word must not follow a word character (pine|apple) nor be the tail of someone's handle or an
        # e-mail address (x@apple); a # or @ in front of it is allowed.
        start = rf"(?:(?<![{_WORD}@#])[#@]|(?<![{_WORD}@#]))"
    end = f"[{_WORD}]*" if wildcard else rf"(?![{_WORD}])"
    return re.compile(f"{start}(?:{body}){end}")


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
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _boundary_pattern(self.words_, prefix=self.prefix, wildcard=self.wildcard))

    def positions(self, doc: Prepared, stem: bool) -> list[int]:
        found = [doc.word_at(_word_start(doc, m)) for m in self.pattern.finditer(doc.text)]
        if stem and not self.wildcard and self.prefix is None:
            found = sorted(set(found) | set(self._stemmed(doc)))
        return found

    def _stemmed(self, doc: Prepared) -> list[int]:
        language = doc.doc.language
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

    def __str__(self) -> str:
        text = " ".join(self.words_)
        shown = f'"{text}"' if len(self.words_) > 1 else text
        return f"{self.prefix or ''}{shown}{'*' if self.wildcard else ''}"


@dataclass(frozen=True, eq=False)
class Within(Node):
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

    def words(self) -> Iterable[Term]:
        return (t for part in self.parts for t in part.words())

    def needs(self) -> frozenset[str] | None:
        return _smallest(part.needs() for part in self.parts)


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
        have = {"lang": d.language, "source": d.source, "author": d.author, "country": d.country}[self.name]
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
class And(Node):
    parts: tuple[Node, ...]

    def evaluate(self, doc: Prepared, stem: bool) -> bool:
        return all(part.evaluate(doc, stem) for part in self.parts)

    def positions(self, doc: Prepared, stem: bool) -> list[int]:
        if not self.evaluate(doc, stem):
            return []
        return sorted({p for part in self.parts if not isinstance(part, Not) for p in part.positions(doc, stem)})

    def words(self) -> Iterable[Term]:
        return (t for part in self.parts for t in part.words())

    def needs(self) -> frozenset[str] | None:
        return _smallest(part.needs() for part in self.parts)


@dataclass(frozen=True, eq=False)
class Or(Node):
    parts: tuple[Node, ...]
    # When every part is a word or phrase (a brand's keywords): one regular expression for them all.
    combined: re.Pattern[str] | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        if len(self.parts) > 1 and all(isinstance(part, Term) for part in self.parts):
            patterns = sorted((part.pattern.pattern for part in self.parts if isinstance(part, Term)), key=len)
            object.__setattr__(self, "combined", re.compile("|".join(f"(?:{p})" for p in reversed(patterns))))

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


def _smallest(sets: Iterable[frozenset[str] | None]) -> frozenset[str] | None:
    """Of the parts that must all match, the smallest set of words one of which a text must hold."""
    known = [s for s in sets if s is not None]
    return min(known, key=len) if known else None


@dataclass(frozen=True)
class Query:
    """A parsed query: ``matches`` a document, ``first`` gives where it first matches (for ordering brands)."""

    text: str
    root: Node
    stem: bool = False

    def matches(self, doc: Doc | Prepared) -> bool:
        prepared = doc if isinstance(doc, Prepared) else Prepared(doc)
        return self.root.evaluate(prepared, self.stem)

    def first(self, doc: Doc | Prepared) -> int | None:
        """The word index of the query's earliest match in the document, None when it does not match."""
        prepared = doc if isinstance(doc, Prepared) else Prepared(doc)
        if not self.root.evaluate(prepared, self.stem):
            return None
        found = self.root.positions(prepared, self.stem)
        return found[0] if found else 0

    def needs(self) -> frozenset[str] | None:
        """Folded words one of which every matching text holds, or None when no such set exists (a stemmed query's
        words may stand inflected: no word is sure to be there as written)."""
        return None if self.stem else self.root.needs()

    def __str__(self) -> str:
        return self.text


class _Build(Transformer[Token, Node]):
    def __init__(self, query: str) -> None:
        super().__init__()
        self.query = query

    def _fail(self, token: Token, reason: str) -> QuerySyntaxError:
        return QuerySyntaxError(self.query, int(token.column or 1), reason)

    def or_(self, parts: list[Node]) -> Node:
        return Or(tuple(parts))

    def and_(self, parts: list[Node]) -> Node:
        return And(tuple(parts))

    def negation(self, parts: list[Any]) -> Node:
        return Not(parts[-1])

    def near(self, parts: list[Any]) -> Node:
        node: Node = parts[0]
        for i in range(1, len(parts), 2):
            token, right = parts[i], parts[i + 1]
            node = Within((node, right), self._distance(token, int(str(token).split("/", 1)[1])))
        return node

    def _distance(self, token: Token, value: int) -> int:
        if not 0 <= value <= MAX_DISTANCE:
            raise self._fail(token, f"a distance of 0 to {MAX_DISTANCE} words")
        return value

    def word(self, parts: list[Token]) -> Node:
        return self._term(parts[0], str(parts[0]))

    def _term(self, token: Token, raw: str, *, phrase: bool = False) -> Term:
        prefix = raw[0] if raw[:1] in ("#", "@") and not phrase else None
        wildcard = raw.endswith("*") and not phrase
        text = fold(raw[1:] if prefix else raw).rstrip("*") if wildcard else fold(raw[1:] if prefix else raw)
        words = tuple(text.split())
        if not words or (not phrase and "*" in text):
            raise self._fail(token, "a word (a * only at the end of one)" if "*" in text else "a word")
        return Term(words, prefix=prefix, wildcard=wildcard)

    def phrase(self, parts: list[Token]) -> Node:
        token = parts[0]
        term = self._term(token, str(token)[1:-1], phrase=True)
        if len(parts) == 1:
            return term
        distance = self._distance(parts[1], int(str(parts[1])[1:]))
        return Within(tuple(Term((w,)) for w in term.words_), distance) if len(term.words_) > 1 else term

    def field(self, parts: list[Token]) -> Node:
        name_token, value = parts
        name = str(name_token)[:-1].lower()
        if name not in FIELDS:
            raise self._fail(name_token, f"an unknown field {name!r}: the fields are {', '.join(FIELDS)}")
        raw = str(value)
        text = fold(raw[1:-1] if raw.startswith('"') else raw).strip().lstrip("@")
        if name == "domain":
            text = text.removeprefix("www.")
        if not text:
            raise self._fail(name_token, f"a value after {name}:")
        return FieldIs(name, text)


@functools.cache
def _parser() -> Lark:
    # The basic lexer: OR, AND, NOT and NEAR/n are operators wherever they stand ("a OR OR b" is an error, not a
    # search for the word OR); words that merely start with them (ORACLE, NOTE) are words.
    return Lark(_GRAMMAR, parser="lalr", lexer="basic", maybe_placeholders=False)


def _reason(error: UnexpectedInput) -> str:
    if isinstance(error, UnexpectedToken):
        order = list(_EXPECTED)
        names = sorted(error.expected, key=lambda n: (order.index(n) if n in order else len(order), n))
        expected = list(dict.fromkeys(_EXPECTED.get(name, name) for name in names))
        if error.token.type == "$END":
            return f"the query ends too early: expected {' or '.join(expected)}"
        return f"unexpected {str(error.token)!r}: expected {' or '.join(expected)}"
    if isinstance(error, UnexpectedCharacters):
        return 'a " that is never closed' if error.char == '"' else f"unexpected {error.char!r}"
    return "the query ends too early"


def parse(text: str, *, stem: bool = False) -> Query:
    """The query ``text`` means; QuerySyntaxError (a ValueError) with the column and what was expected there."""
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(text[:80], 1, f"a query of at most {MAX_QUERY_CHARS:,} characters")
    if not text.strip():
        raise QuerySyntaxError(text, 1, 'an empty query: expected a word, a "phrase" or a field')
    try:
        tree = _parser().parse(text)
    except UnexpectedEOF as exc:
        raise QuerySyntaxError(text, len(text) + 1, _reason(exc)) from None
    except UnexpectedInput as exc:
        column = int(getattr(exc, "column", 0) or 0)
        if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
            column = len(text) + 1
        raise QuerySyntaxError(text, max(1, column), _reason(exc)) from None
    try:
        root = _Build(text).transform(tree)
    except Exception as exc:  # lark wraps what a transformer raises
        inner = getattr(exc, "orig_exc", exc)
        if isinstance(inner, QuerySyntaxError):
            raise inner from None
        raise
    if isinstance(root, Token):
        root = _Build(text).word([root])
    return Query(text, root, stem)


def terms_query(name: str, keywords: Sequence[str], exclude: Sequence[str] = (), *, stem: bool = False) -> Query:
    """A brand written the old way (its name and keywords, any of them; none of the excluded phrases) as a query."""

    def term(raw: str) -> Term | None:
        text = fold(raw.strip().lstrip("#@").strip())
        return Term(tuple(text.split())) if text.split() else None

    wanted = tuple(t for t in (term(k) for k in (name, *keywords)) if t is not None)
    unwanted = tuple(t for t in (term(e) for e in exclude) if t is not None)
    root: Node = Or(wanted)
    if unwanted:
        root = And((root, Not(Or(unwanted))))
    shown = " OR ".join(str(t) for t in wanted) + (
        f" NOT ({' OR '.join(str(t) for t in unwanted)})" if unwanted else ""
    )
    return Query(shown, root, stem)
