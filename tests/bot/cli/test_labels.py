"""``brandpulse labels import|stats|export`` on SQLite and PostgreSQL: Slack verdicts and imports in one pool."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.feedback import record_verdict
from storage.db import make_engine, make_sessionmaker
from tests.support.cli import run_cli


def test_import_stats_and_export(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    first = tmp_path / "crm.jsonl"
    first.write_text(
        "\n".join(
            json.dumps(row)
            for row in [
                {"text": "Battery died after a day", "label": "negative"},
                {"text": "great support", "label": "positive"},
                {"text": "no label here", "label": "angry"},
            ]
        )
    )
    imported = run_cli(monkeypatch, db_url, "labels", "import", str(first))
    assert imported.exit_code == 0, imported.output
    assert "2 labels stored as import:crm; skipped: 1 label 'angry' is not one of" in imported.output
    # Importing again under the same name replaces that import; a CSV under another name adds to the pool.
    first.write_text(json.dumps({"text": "Battery died after a day", "label": "neutral"}) + "\n")
    assert run_cli(monkeypatch, db_url, "labels", "import", str(first)).exit_code == 0
    other = tmp_path / "survey.csv"
    other.write_text("comment,sentiment\nlove it,positive\n")
    added = run_cli(
        monkeypatch, db_url, "labels", "import", str(other), "--text-field", "comment", "--label-field", "sentiment"
    )
    assert "1 labels stored as import:survey" in added.output

    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    at = datetime.now(UTC)
    for given in ("negative", "negative", "neutral"):
        record_verdict(
            sessions,
            text="slow app",
            predicted="neutral",
            given=given,
            model_version="m",
            user="U1",
            channel=None,
            at=at,
        )
    # A verdict on an imported text never overrides the import.
    record_verdict(
        sessions,
        text="battery died after a day",
        predicted="neutral",
        given="positive",
        model_version="m",
        user="U1",
        channel=None,
        at=at,
    )
    engine.dispose()

    exported = run_cli(monkeypatch, db_url, "labels", "export")
    pool = {json.loads(line)["text"].casefold(): json.loads(line) for line in exported.stdout.splitlines()}
    assert {t: (r["label"], r["origin"], r["source"]) for t, r in pool.items()} == {
        "battery died after a day": ("neutral", "import", "crm"),
        "love it": ("positive", "import", "survey"),
        "slow app": ("negative", "feedback", "slack"),
    }
    as_csv = run_cli(monkeypatch, db_url, "labels", "export", "--format", "csv", "--output", str(tmp_path / "p.csv"))
    assert "3 labelled texts written" in as_csv.output
    assert len(list(csv.DictReader(io.StringIO((tmp_path / "p.csv").read_text())))) == 3

    stats = run_cli(monkeypatch, db_url, "labels", "stats", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(stats.stdout)))
    assert sorted((r["origin"], r["label"], r["texts"]) for r in rows) == [
        ("feedback:slack", "negative", "1"),
        ("import:crm", "neutral", "1"),
        ("import:survey", "positive", "1"),
    ]
    week = f"{at.isocalendar().year}-W{at.isocalendar().week:02d}"
    assert {r["week"] for r in rows} == {week}
