"""The query language (analysis/query.py): every operator, their precedence, fields, inflections, and errors a person
can fix."""

from __future__ import annotations

import pytest

from analysis.query import QuerySyntaxError, parse, terms_query
from analysis.query_nodes import Doc


def matching(query: str, *texts: str, stem: bool = False, language: str | None = None) -> list[str]:
    parsed = parse(query, stem=stem)
    return [text for text in texts if parsed.matches(Doc(text, language=language))]


def test_words_match_whole_in_any_case_and_with_or_without_accents() -> None:
    texts = ("Acme's new phone", "ACME", "acmeville", "pineacme", "Ácmé rocks", "x@acme.com", "#acme", "@acme")
    assert matching("acme", *texts) == ["Acme's new phone", "ACME", "Ácmé rocks", "#acme", "@acme"]
    assert matching("café", "Cafe au lait", "CAFÉ", "cafeteria") == ["Cafe au lait", "CAFÉ"]


def test_hashtags_and_handles_match_only_that_form() -> None:
    texts = ("love #acme", "ask @acme", "acme is fine", "#acmefans")
    assert matching("#acme", *texts) == ["love #acme"]
    assert matching("@acme", *texts) == ["ask @acme"]


def test_and_or_not_and_parentheses() -> None:
    texts = ("acme battery dies", "acme charger giveaway", "acme charger broke", "battery only", "acme is fine")
    assert matching("acme AND (battery OR charger) NOT giveaway", *texts) == ["acme battery dies", "acme charger broke"]
    # No operator between words is AND; NOT binds tighter than AND, AND tighter than OR.
    assert matching("acme battery", *texts) == ["acme battery dies"]
    assert matching("battery OR acme charger", *texts) == [
        "acme battery dies",
        "acme charger giveaway",
        "acme charger broke",
        "battery only",
    ]
    assert matching("acme -charger", *texts) == ["acme battery dies", "acme is fine"]
    assert matching("NOT acme", *texts) == ["battery only"]
    # Lowercase operators are words.
    assert matching("acme or", "acme or nothing", "acme") == ["acme or nothing"]


def test_exact_phrases_and_proximity() -> None:
    texts = (
        "the acme battery died",
        "battery of the acme",
        "acme makes a battery",
        "acme and then many more words battery",
    )
    assert matching('"acme battery"', *texts) == ["the acme battery died"]
    assert matching('"acme battery"~3', *texts) == [
        "the acme battery died",
        "battery of the acme",
        "acme makes a battery",
    ]
    assert matching("acme NEAR/2 battery", *texts) == ["the acme battery died"]
    assert matching("acme NEAR/3 battery", *texts) == [
        "the acme battery died",
        "battery of the acme",
        "acme makes a battery",
    ]
    assert matching('acme NEAR/5 "many more"', *texts) == ["acme and then many more words battery"]


def test_trailing_wildcards() -> None:
    texts = ("Acme RECALLED it", "a recall", "recalls everywhere", "a recalcitrant", "precall")
    assert matching("recall*", *texts) == ["Acme RECALLED it", "a recall", "recalls everywhere"]


def test_inflections_in_english_and_italian_when_stemming_is_on() -> None:
    english = ("Acme recalls AcmePhone 3", "RECALLED", "recalling now", "recalcitrant", "a recall")
    assert matching("recall", *english, language="en") == ["a recall"]
    assert matching("recall", *english, stem=True, language="en") == [
        "Acme recalls AcmePhone 3",
        "RECALLED",
        "recalling now",
        "a recall",
    ]
    italian = ("richiami di Acme", "il richiamo", "ricchezza", "una richiesta")
    assert matching("richiamo", *italian, stem=True, language="it") == ["richiami di Acme", "il richiamo"]
    assert matching('"richiamo acme"', "richiami acme", stem=True, language="it") == ["richiami acme"]
    # A language Snowball does not stem, or none: the word as written.
    assert matching("recall", "recalls", stem=True, language="ja") == []
    assert matching("recall", "recalls", stem=True) == []


def test_field_filters() -> None:
    docs = [
        Doc("acme news", language="it", source="gdelt", author="@Mario", url="https://www.corriere.it/x", country="IT"),
        Doc("acme post", language="en", source="reddit", author="bob", url="https://old.reddit.com/r/x"),
        Doc("acme", language=None, source="slack"),
    ]

    def texts(query: str) -> list[str]:
        parsed = parse(query)
        return [d.text for d in docs if parsed.matches(d)]

    assert texts("acme lang:it") == ["acme news"]
    assert texts("acme -source:reddit") == ["acme news", "acme"]
    assert texts("author:mario") == ["acme news"]
    assert texts("domain:reddit.com") == ["acme post"]
    assert texts("domain:www.corriere.it") == ["acme news"]
    assert texts("country:it OR source:slack") == ["acme news", "acme"]
    assert texts('lang:"en"') == ["acme post"]
    # A country by its code or its English name, accents or not.
    assert texts("country:Italy") == texts("country:ITA") == texts("country:it") == ["acme news"]
    assert str(parse('country:"Côte d\'Ivoire"').root) == str(parse("country:cote_d'ivoire").root) == "country:ci"


def test_phrases_are_the_words_a_search_engine_is_asked_for() -> None:
    assert parse("acme AND (battery OR charger) NOT giveaway").phrases() == frozenset({("acme",)})
    assert parse('"acme phone" OR #kettleby').phrases() == frozenset({("acme", "phone"), ("kettleby",)})
    assert parse("(acme OR globex) NEAR/5 recall").phrases() == frozenset({("recall",)})
    assert parse("recall* OR acme").phrases() is None and parse("lang:it").phrases() is None


def test_old_style_brands_compile_to_the_same_tree() -> None:
    query = terms_query("apple", ["iphone", "steve jobs", "#ipad"], ["apple pie"])
    texts = ("I love my iPhone", "Steve   Jobs", "grandma's apple pie", "apple store", "#ipad", "pineapple")
    assert [t for t in texts if query.matches(Doc(t))] == ["I love my iPhone", "Steve   Jobs", "apple store", "#ipad"]
    assert query.needs() == frozenset({"apple", "iphone", "steve", "ipad"})


@pytest.mark.parametrize(
    ("query", "column", "expected"),
    [
        ("acme AND", 9, "the query ends too early: expected"),
        ("(acme OR battery", 17, "expected"),
        ("acme)", 5, "unexpected ')'"),
        ("a OR OR b", 6, "unexpected 'OR'"),
        ('"unclosed', 1, 'a " that is never closed'),
        ("colour:red", 1, "unknown field 'colour'"),
        ("acme NEAR/500 b", 6, "a distance of 0 to 100 words"),
        ("rec*all", 1, "a * only at the end"),
        ("", 1, "an empty query"),
        ("acme\x00x", 5, "a control character (U+0000)"),
        ("acme country:narnia", 14, "'narnia' is not a country: write an ISO 3166 code"),
    ],
)
def test_a_query_that_does_not_parse_says_where_and_what_was_expected(query: str, column: int, expected: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    error = caught.value
    assert error.column == column and expected in str(error)
    lines = str(error).splitlines()
    # The query, then a caret under the column.
    assert lines[1] == f"  {query}" and lines[2] == "  " + " " * (column - 1) + "^"


def test_what_a_missing_part_expects_is_said_in_words() -> None:
    with pytest.raises(QuerySyntaxError, match=r'expected .*a word.*a "phrase"'):
        parse("acme AND")


def test_queries_name_the_words_a_matching_text_must_hold() -> None:
    # The word table (analysis/brand_match.py) evaluates a query only on texts holding one of these.
    assert parse("acme battery").needs() in (frozenset({"acme"}), frozenset({"battery"}))
    assert parse("acme OR widget").needs() == frozenset({"acme", "widget"})
    assert parse("acme OR recall*").needs() is None
    assert parse("acme AND recall*").needs() == frozenset({"acme"})
    assert parse("lang:it").needs() is None
    assert parse("NOT acme").needs() is None


def test_the_limits_of_a_query_hold_on_both_sides() -> None:
    from analysis.query import MAX_DISTANCE, MAX_QUERY_CHARS

    longest = "acme " * (MAX_QUERY_CHARS // 5 - 1) + "acme"
    assert len(longest) <= MAX_QUERY_CHARS and parse(longest).matches(Doc("acme"))
    with pytest.raises(QuerySyntaxError, match="at most 4,000 characters"):
        parse(longest + " " + "x" * (MAX_QUERY_CHARS - len(longest)))
    assert parse(f"acme NEAR/{MAX_DISTANCE} battery").matches(Doc("acme " + "x " * 99 + "battery"))
    with pytest.raises(QuerySyntaxError, match="a distance of 0 to 100 words"):
        parse(f'"acme battery"~{MAX_DISTANCE + 1}')
