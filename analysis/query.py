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

import functools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from analysis.countries import country_code
from analysis.errors import AnalysisError
from analysis.query_nodes import And, Doc, FieldIs, Node, Not, Or, Prepared, Term, Within, fold

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

    @property
    def needs_language(self) -> bool:
        """Whether what it matches depends on the mention's language: a ``lang:`` filter, or inflections."""
        return self.stem or _mentions_language(self.root)

    def phrases(self) -> frozenset[tuple[str, ...]] | None:
        """Words and phrases as written, one of which every match holds (see ``Node.phrases``); stemming aside."""
        return self.root.phrases()

    def __str__(self) -> str:
        return self.text


def _mentions_language(node: Node) -> bool:
    if isinstance(node, FieldIs):
        return node.name == "lang"
    if isinstance(node, Not):
        return _mentions_language(node.part)
    if isinstance(node, And | Or | Within):
        return any(_mentions_language(part) for part in node.parts)
    return False


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
        if name == "country":
            code = country_code(text)
            if code is None:
                reason = f"{raw!r} is not a country: write an ISO 3166 code (it, gb) or an English name (Italy)"
                raise self._fail(value, reason)
            text = code
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
    control = next((i for i, c in enumerate(text) if unicodedata.category(c) == "Cc" and c not in "\t\n\r"), None)
    if control is not None:
        raise QuerySyntaxError(text, control + 1, f"a control character (U+{ord(text[control]):04X}) in the query")
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
