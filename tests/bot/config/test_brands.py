from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from analysis.query_nodes import Doc
from bot.config.brands import load_brands
from bot.config.connection_settings import EXAMPLE_BRANDS_FILE
from bot.config.sources import SOURCE_TYPES, SourceConfig
from bot.errors import ConfigError

VALID = """
brands:
  - name: acme
    keywords: [acme, "#acmeco", "@acme_support"]
    exclude: ["acme pie"]
    digest: {channel: "#brand-acme", schedule: "30 8 * * 1-5"}
    alerts: {channel: "C0123ABCD", negative_share: 0.4, volume_factor: 2.5, min_volume: 10, cooldown_minutes: 30}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "brands.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_file_defines_the_sanders_brands() -> None:
    config = load_brands(EXAMPLE_BRANDS_FILE)
    assert config.names == ["apple", "google", "microsoft", "twitter"]
    assert all(b.digest is not None and b.alerts is not None for b in config.brands)


def test_valid_file(tmp_path: Path) -> None:
    config = load_brands(write(tmp_path, VALID))
    (acme,) = config.brands
    assert acme.alerts is not None and acme.alerts.negative_share == 0.4
    assert acme.digest is not None and acme.digest.schedule == "30 8 * * 1-5"
    assert config.matcher().matches("ping @acme_support about it") == ["acme"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("brands: [", r"line 1, column \d+: invalid YAML"),
        ("- just a list", "expected a mapping with a 'brands' list"),
        ("brands: []", "brands: List should have at least 1 item"),
        (VALID.replace("name: acme", "name: Acme Co"), r"brands\[0\] \(Acme Co\)\.name: expected a lowercase name"),
        (
            VALID.replace('"30 8 * * 1-5"', '"every morning"'),
            r"brands\[0\] \(acme\)\.digest\.schedule: expected a 5-field cron",
        ),
        (
            VALID.replace("negative_share: 0.4", "negative_share: 1.5"),
            r"alerts\.negative_share: .*less than or equal to 1 \(got 1\.5\)",
        ),
        (
            VALID.replace('"#brand-acme"', '"brand acme"'),
            r"digest\.channel: expected a channel such as '#brand-alerts'",
        ),
        (VALID.replace("exclude:", "excludes:"), r"brands\[0\] \(acme\)\.excludes: unknown key"),
        (VALID + VALID.replace("brands:\n", ""), "brand name 'acme' is defined twice"),
        (VALID.replace("keywords: [acme", "keywords: [''"), r"keywords\[0\]: String should have at least 1 character"),
        (
            VALID.replace("keywords: [", "query: 'acme phone'\n    keywords: ["),
            r"brands\[0\] \(acme\): a brand has a query or keywords and exclude, not both",
        ),
    ],
)
def test_invalid_files_name_the_file_key_and_expectation(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_brands(path)
    assert str(caught.value).startswith(f"brands file {path}")


def test_missing_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found .*BRANDPULSE_BRANDS_FILE"):
        load_brands(tmp_path / "nope.yml")
    bad = tmp_path / "latin1.yml"
    bad.write_bytes(b"brands:\n  - name: caf\xe9\n")
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_brands(bad)


SOURCES = (
    VALID
    + """
  - name: globex
    keywords: [globex]
sources:
  - name: acme-news
    type: feed
    url: "https://news.google.com/rss/search?q=acme&hl=en-US"
    interval_minutes: 30
    brands: [acme]
  - {name: tech, type: feed, url: "https://feeds.example/tech.xml?token=${BRANDPULSE_SOURCE_FEED_TOKEN}"}
"""
)


def test_sources_are_read_with_their_brands_interval_and_references(tmp_path: Path) -> None:
    config = load_brands(write(tmp_path, SOURCES))
    news, tech = config.sources
    assert (news.name, news.type, news.interval_minutes, news.brands) == ("acme-news", "feed", 30, ["acme"])
    assert (tech.interval_minutes, tech.brands) == (15, None)  # every 15 minutes, any brand by keyword
    assert config.source("tech") is tech and config.source("nope") is None
    assert config.matcher_for(["globex"]).matches("acme and globex") == ["globex"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{name: x, type: feed, url: 'ftp://x.example/f'}", "sources[0] (x).url: expected an http:// or https:// URL"),
        (
            "{name: x, type: feed, url: 'https://me:hunter2@x.example/f'}",
            "sources[0] (x).url: the URL holds a password: write it as a ${VARIABLE} reference",
        ),
        ("{name: x, type: feed, url: 'https://x.example/f', brands: [initech]}", "names brands that are not defined"),
        (
            "{name: x, type: gopher, url: 'https://x.example/f'}",
            f"sources[0] (x).type: unknown type 'gopher' (expected one of {', '.join(map(repr, SOURCE_TYPES))})",
        ),
        ("{name: x, url: 'https://x.example/f'}", "sources[0] (x).type: no type given (expected one of 'feed', "),
        ("{name: x, type: hackernews}", "sources[0] (x).query: Field required"),
        ("{name: x, type: feed, url: 'https://x.example/f', every: 5}", "sources[0] (x).every: unknown key"),
        (
            "{name: x, type: feed, url: 'https://x.example/f', interval_minutes: 0.5}",
            "interval_minutes: Input should be",
        ),
        ("{name: X!, type: feed, url: 'https://x.example/f'}", "sources[0] (X!).name: expected a lowercase name"),
    ],
)
def test_invalid_sources_name_the_source_key_and_fix(tmp_path: Path, source: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_brands(write(tmp_path, VALID + f"sources:\n  - {source}\n"))
    assert expected in str(error.value)


def test_two_sources_of_one_name_are_refused(tmp_path: Path) -> None:
    twice = "  - {name: x, type: feed, url: 'https://x.example/a'}\n" * 2
    with pytest.raises(ConfigError, match="source name 'x' is defined twice"):
        load_brands(write(tmp_path, VALID + "sources:\n" + twice))


def test_the_source_types_named_in_errors_are_the_configured_ones() -> None:
    models = get_args(get_args(SourceConfig)[0])
    assert SOURCE_TYPES == tuple(get_args(m.model_fields["type"].annotation)[0] for m in models)


def test_a_brand_defined_by_a_query(tmp_path: Path) -> None:
    text = """
brands:
  - name: acme
    query: 'acme AND (phone OR battery) NOT giveaway lang:en'
    stem: true
"""
    config = load_brands(write(tmp_path, text))
    matcher = config.matcher()
    assert matcher.matches(Doc("the Acme phones are great", language="en")) == ["acme"]  # stemmed: phones
    assert matcher.matches(Doc("the Acme phone giveaway", language="en")) == []
    assert matcher.matches(Doc("the Acme phone", language="it")) == []
    assert matcher.matches("acme alone") == []


def test_a_query_that_does_not_parse_is_refused_with_a_caret_under_the_column(tmp_path: Path) -> None:
    path = write(tmp_path, "brands:\n  - name: acme\n    query: 'acme AND (battery OR charger NOT giveaway'\n")
    with pytest.raises(ConfigError) as caught:
        load_brands(path)
    lines = str(caught.value).splitlines()
    assert lines[1] == "  brands[0] (acme).query: the query ends too early: expected ) at column 42:"
    assert lines[2] == "      acme AND (battery OR charger NOT giveaway"
    assert lines[3] == "      " + " " * 41 + "^"


def test_every_source_type_of_the_brands_file_has_a_registered_connector() -> None:
    """A source type is its connector's module (bot/sources/registry.py): no isinstance chain chooses among them."""
    from bot.sources.registry import registered

    assert registered() == set(SOURCE_TYPES)
