"""Labelled files built to break ``labels import``, ``evaluate`` and ``train``: each line that cannot be read is one
rejection with its line number, and every good line around it is used, as ``brandpulse ingest`` does with mentions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.data import load_labelled
from analysis.errors import DataError
from analysis.records import MAX_RECORD_BYTES
from tests.support.cli import run_cli
from tests.support.models import build_tiny_model


def _good(n: int) -> bytes:
    return json.dumps({"text": f"good text number {n}", "label": ["negative", "neutral", "positive"][n % 3]}).encode()


# The four lines, and other members of their class: each costs its own line only.
HOSTILE_JSONL: dict[int, tuple[bytes, str]] = {
    3: (b"\xef\xbb\xbf" + _good(3), "a byte order mark in the middle of the file"),
    5: (b'{"text": "bad \xff utf-8", "label": "negative"}', "invalid UTF-8 (byte 0xff"),
    7: (b"[" * 100_000, "invalid JSON: nested too deeply"),
    9: (b'{"text": "big label", "label": ' + b"9" * 5000 + b"}", "invalid JSON: a number too long to read"),
    11: (b'{"text": "lone \\ud800 surrogate", "label": "positive"}', "invalid UTF-8 in 'text'"),
    13: (b'{"text": "unclosed', "invalid JSON: Invalid control character"),
    15: (b'["a list", "negative"]', "expected a JSON object, got list"),
    17: (b'{"body": "no text field", "label": "negative"}', "no field 'text'"),
    19: (b'{"text": "' + b"a" * MAX_RECORD_BYTES + b'", "label": "neutral"}', "line is over 1,000,000 bytes"),
    21: (b'{"text": "deep label", "label": ' + b"[" * 200 + b"]" * 200 + b"}", ""),  # read, and skipped
}
LINES = 24


def _hostile_jsonl(path: Path) -> Path:
    lines = [HOSTILE_JSONL[n][0] if n in HOSTILE_JSONL else _good(n) for n in range(1, LINES + 1)]
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")  # a mark at the start is the file's: skipped
    return path


def _good_lines() -> set[int]:
    return {n for n in range(1, LINES + 1) if n not in HOSTILE_JSONL}


def test_labels_import_rejects_each_hostile_line_and_stores_the_rest(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    path = _hostile_jsonl(tmp_path / "hostile.jsonl")
    result = run_cli(monkeypatch, db_url, "labels", "import", str(path))
    assert result.exit_code == 1, result.output  # as ingest: 1 when a line was rejected, the rest stored
    assert "Traceback" not in result.output
    for line, (_, reason) in HOSTILE_JSONL.items():
        if reason:
            assert f"hostile.jsonl:{line}: {reason}" in result.stderr, (line, result.stderr)
    assert f"{len(_good_lines())} labels stored as import:hostile" in result.stdout
    assert "9 lines rejected" in result.stdout

    exported = run_cli(monkeypatch, db_url, "labels", "export")
    texts = {json.loads(line)["text"] for line in exported.stdout.splitlines()}
    assert texts == {f"good text number {n}" for n in _good_lines()}


def test_labels_import_of_a_hostile_csv(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    path.write_bytes(
        b"\xef\xbb\xbftext,label\n"  # 1: Excel's byte order mark, skipped
        b"first good,positive\n"  # 2
        b"bad \xff byte,negative\n"  # 3: invalid UTF-8
        b'"quoted" then more,negative\n'  # 4: malformed (strict quoting)
        b"too,many,fields\n"  # 5
        b"big number," + b"9" * 5000 + b"\n"  # 6: read as text: a label that is none of the three, skipped
        b"\xef\xbb\xbfjoined,neutral\n"  # 7: a second file's mark
        b"last good,negative\n"  # 8
    )
    result = run_cli(monkeypatch, db_url, "labels", "import", str(path))
    assert result.exit_code == 1, result.output
    for line, reason in (
        (3, "invalid UTF-8 in 'text'"),
        (4, "malformed CSV"),
        (5, "expected 2 fields as in the header, got 3"),
        (7, "a byte order mark in the middle of the file"),
    ):
        assert f"survey.csv:{line}: {reason}" in result.stderr, (line, result.stderr)
    assert "2 labels stored as import:survey; skipped: 1 label '99999" in result.stdout
    exported = run_cli(monkeypatch, db_url, "labels", "export")
    assert {json.loads(line)["text"] for line in exported.stdout.splitlines()} == {"first good", "last good"}


def test_a_file_with_nothing_usable_replaces_no_import(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "crm.jsonl"
    path.write_bytes(_good(1) + b"\n")
    assert run_cli(monkeypatch, db_url, "labels", "import", str(path)).exit_code == 0
    path.write_bytes(b"[" * 100_000 + b"\n" + b'{"body": "x", "label": "negative"}\n')
    result = run_cli(monkeypatch, db_url, "labels", "import", str(path))
    assert result.exit_code == 2
    assert "no usable examples" in result.stderr and "crm.jsonl:1: invalid JSON: nested too deeply" in result.stderr
    exported = run_cli(monkeypatch, db_url, "labels", "export")
    assert [json.loads(line)["text"] for line in exported.stdout.splitlines()] == ["good text number 1"]


def test_load_labelled_reads_past_every_hostile_line(tmp_path: Path) -> None:
    data = load_labelled(str(_hostile_jsonl(tmp_path / "set.jsonl")))
    assert sorted(e.text for e in data.examples) == sorted(f"good text number {n}" for n in _good_lines())
    assert [r.line for r in data.rejected] == sorted(n for n, (_, reason) in HOSTILE_JSONL.items() if reason)
    # The deeply nested label is read, and skipped as none of the three.
    assert data.skipped == {f"label {'[' * 30!r} is not one of negative, neutral, positive": 1}


def test_a_csv_without_the_named_columns_is_one_message(tmp_path: Path) -> None:
    path = tmp_path / "airline.csv"
    path.write_text("tweet_id,airline_sentiment,body\n1,bad,delayed again\n")
    with pytest.raises(DataError, match=r"no field 'text' \(fields: 'tweet_id', .*\); use --text-field"):
        load_labelled(str(path))
    with pytest.raises(DataError, match=r"no field 'label' .*; use --label-field"):
        load_labelled(str(path), text_field="body")


def test_evaluate_and_train_use_the_good_lines_and_list_the_others(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    path = _hostile_jsonl(tmp_path / "hostile.jsonl")
    model = build_tiny_model(tmp_path / "always-positive", bias=[0.0, 0.0, 10.0])
    result = run_cli(monkeypatch, db_url, "evaluate", "--data", str(path), "--json", BRANDPULSE_MODEL=str(model))
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["n"] == len(_good_lines()) and figures["rejected"] == 9
    assert "hostile.jsonl:7: invalid JSON: nested too deeply" in result.stderr

    trained = run_cli(
        monkeypatch,
        db_url,
        "train",
        "--base",
        str(model),
        "--train",
        str(path),
        "--validation",
        str(path),
        "--max-steps",
        "1",
        "--batch-size",
        "4",
        BRANDPULSE_MODELS_DIR=str(tmp_path / "models"),
    )
    assert trained.exit_code == 0, trained.output
    assert f"training on {len(_good_lines())} texts" in trained.stderr
    assert "hostile.jsonl:9: invalid JSON: a number too long to read" in trained.stderr


def test_classify_skips_a_line_too_long_to_be_a_text_and_labels_the_others(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model: Path
) -> None:
    """``classify --file`` (and ``-``) read each line with the imports' cap: a line over it is said with its line and
    skipped (never held whole), the others are labelled, and the exit code says something was left out."""
    texts = tmp_path / "texts.txt"
    texts.write_bytes(
        b"i love it\n\nhate this\n" + b"a" * (MAX_RECORD_BYTES + 1) + b"\n" + b"b" * MAX_RECORD_BYTES + b"\nfine\n"
    )
    db_url = f"sqlite:///{tmp_path / 'classify.db'}"
    result = run_cli(monkeypatch, db_url, "classify", "--json", "--file", str(texts), BRANDPULSE_MODEL=str(tiny_model))
    assert result.exit_code == 1
    assert f"{texts}:4: line is over {MAX_RECORD_BYTES:,} bytes" in result.stderr
    assert f"{texts}:5:" not in result.stderr  # a line of the cap exactly (its line end aside) is a text
    labelled = [json.loads(line)["text"] for line in result.stdout.splitlines()]
    assert [t[:10] for t in labelled] == ["i love it", "hate this", "b" * 10, "fine"]
    piped = run_cli(
        monkeypatch, db_url, "classify", "--json", "-", input=texts.read_bytes(), BRANDPULSE_MODEL=str(tiny_model)
    )
    assert piped.exit_code == 1 and "<stdin>:4: line is over" in piped.stderr
