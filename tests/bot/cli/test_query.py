"""``brandpulse query test``: what a query would match before it goes into the brands file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import run_cli

NOW = datetime.now(UTC).replace(microsecond=0)
BRANDS = """
brands:
  - name: acme
    keywords: [acmephone]
  - name: globex
    keywords: [globex]
"""


@pytest.fixture
def stored(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> str:
    brands = tmp_path / "brands.yml"
    brands.write_text(BRANDS)
    monkeypatch.setenv("BRANDPULSE_BRANDS_FILE", str(brands))
    texts = [
        ("1", "acme", "the acmephone battery died", 1),
        ("2", "acme", "acmephone recall announced", 2),
        ("3", "acme", "acme giveaway: win an acmephone", 3),
        ("4", "globex", "globex battery news", 4),  # stored for globex: the new acme query takes it too
        ("5", "acme", "acmephone charger", 24 * 40),  # before the default 30 days
    ]
    rows = [
        {"id": i, "brand": b, "text": t, "created_at": (NOW - timedelta(hours=h)).isoformat(), "language": "en"}
        for i, b, t, h in texts
    ]
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    assert run_cli(monkeypatch, db_url, "ingest", str(path)).exit_code == 0
    return db_url


def test_a_query_over_stored_mentions_against_a_brand(monkeypatch: pytest.MonkeyPatch, stored: str) -> None:
    result = run_cli(
        monkeypatch,
        stored,
        "query",
        "test",
        'acmephone AND (battery OR recall*) OR "globex battery"',
        "--brand",
        "acme",
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert 'query: acmephone AND (battery OR recall*) OR "globex battery"' in out
    assert "3 of 4 stored mentions from " in out  # the one of 40 days ago is outside the default period
    assert "against acme's definition: +1 added, -1 dropped" in out
    added = out.split("added:", 1)[1].split("dropped:", 1)[0]
    assert "globex battery news" in added
    assert "acme giveaway" in out.split("dropped:", 1)[1]
    # The newest that match come first.
    matching = out.split("the newest that match:", 1)[1]
    assert matching.index("battery died") < matching.index("recall announced")


def test_a_query_over_a_file_and_its_period(monkeypatch: pytest.MonkeyPatch, stored: str, tmp_path: Path) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("Acme RECALLS the phone\nacme battery\n\nnothing\nthe acme giveaway recall\n")
    args = ("query", "test", "acme recall -giveaway", "--file", str(lines))
    result = run_cli(monkeypatch, stored, *args, "--stem", "--language", "en")
    assert result.exit_code == 0, result.output
    assert f"1 of 4 lines of {lines} match" in result.stdout and "Acme RECALLS the phone" in result.stdout
    # Without a language (or stemming), "recall" is the word as written.
    assert f"0 of 4 lines of {lines} match" in run_cli(monkeypatch, stored, *args, "--stem").stdout
    # A period: the mention of 40 days ago is found.
    since = (NOW - timedelta(days=45)).date().isoformat()
    result = run_cli(monkeypatch, stored, "query", "test", "charger", "--since", since)
    assert "1 of 5 stored mentions" in result.stdout


def test_a_query_that_does_not_parse_is_refused_with_a_caret(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    result = run_cli(monkeypatch, db_url, "query", "test", "acme AND (battery")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: the query ends too early: expected ) at column 18:",
        "  acme AND (battery",
        "                   ^",
    ]
    result = run_cli(monkeypatch, db_url, "query", "test", "acme", "--brand", "initech")
    assert result.exit_code == 2 and "unknown brand 'initech'" in result.stderr
