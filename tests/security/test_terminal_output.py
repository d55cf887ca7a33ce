"""What the CLI prints cannot drive the terminal: control sequences in file names, mentions, model metadata, brand
names or errors that quote input are shown escaped, while files and pipes still get the data in full."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from bot.cli.render import TerminalStream, emit_data, progress_bar, terminal_safe, terminal_streams
from tests.support.cli import run_cli

# Sequences a hostile text can carry: CSI (clear the screen, in 7 and 8 bits), OSC 8 (a hidden link), OSC 52 (write
# the clipboard), a bell, a carriage return that overwrites the line, a right-to-left override, a lone surrogate.
ATTACKS = {
    "\x1b[2J": "\\u001b[2J",
    "\x9b2J": "\\u009b2J",
    "\x1b]8;;https://evil.test\x1b\\": "\\u001b]8;;https://evil.test\\u001b\\",
    "\x1b]52;c;ZXZpbA==\x07": "\\u001b]52;c;ZXZpbA==\\u0007",
    "\rpaid": "\\u000dpaid",
    "\u202egnp.exe": "\\u202egnp.exe",
    "\u2066isolate": "\\u2066isolate",
    "\x7fdel": "\\u007fdel",
    "\udcff": "\\udcff",
}
# What the sequences above start with: none may reach the terminal.
RAW = ("\x1b", "\x9b", "\x07", "\r", "\u202e", "\u2066", "\x7f", "\udcff")


def _raw_free(output: str) -> bool:
    return not any(c in output for c in RAW)


@pytest.mark.parametrize(("attack", "shown"), ATTACKS.items())
def test_terminal_safe_shows_each_sequence_escaped(attack: str, shown: str) -> None:
    assert terminal_safe(f"a {attack} b") == f"a {shown} b"


def test_terminal_safe_keeps_layout_and_text() -> None:
    text = "caffè 😀 中文 Ελληνικά\tcolumn\nnext line"
    assert terminal_safe(text) == text
    assert terminal_safe("two\nlines", one_line=True) == "two\\u000alines"


def test_json_through_the_stream_stays_the_same_json() -> None:
    data = {"text": "".join(ATTACKS), "n": -1}
    out = io.StringIO()
    TerminalStream(out).write(json.dumps(data, ensure_ascii=False))
    assert _raw_free(out.getvalue())
    assert json.loads(out.getvalue()) == data


class _Terminal(io.StringIO):
    """Standard output as a terminal."""

    def isatty(self) -> bool:
        return True


def test_data_is_in_full_into_a_pipe_and_escaped_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    csv_text = 'id,text\n1,"\x1b]52;c;ZXZpbA==\x07"\n'
    escaped = 'id,text\n1,"\\u001b]52;c;ZXZpbA==\\u0007"\n'
    for stream, expected in ((io.StringIO(), csv_text), (_Terminal(), escaped)):
        monkeypatch.setattr(sys, "stdout", stream)
        with terminal_streams():
            emit_data(csv_text)
        assert stream.getvalue() == expected


def test_a_progress_bar_names_its_file_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    with terminal_streams(), progress_bar(total=3, unit="B", desc="x\x1b]52;c;ZXZpbA==\x07.jsonl", enabled=True) as bar:
        bar.update(1)
    assert "x\\u001b]52;c;ZXZpbA==\\u0007.jsonl" in stderr.getvalue() and "\x1b]52" not in stderr.getvalue()


@pytest.mark.parametrize("progress", ["--progress", "--no-progress"])
def test_a_file_name_with_escape_sequences(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, progress: str
) -> None:
    # The example: a file name given as an argument, printed back in each rejection and in the summary.
    path = tmp_path / "mentions\x1b]52;c;ZXZpbA==\x07\u202e\x9b2J.jsonl"
    path.write_text('{"id": "1", "brand": "apple", "text": "iphone"}\nnot json\n')
    result = run_cli(monkeypatch, db_url, "ingest", progress, str(path))
    assert result.exit_code == 1, result.output
    # A progress bar redraws itself with carriage returns of its own.
    assert _raw_free(result.output if progress == "--no-progress" else result.output.replace("\r", "")), result.output
    shown = "mentions\\u001b]52;c;ZXZpbA==\\u0007\\u202e\\u009b2J.jsonl"
    assert f"{shown}:2: invalid JSON" in result.stderr
    assert f"{shown}: 2 rows read, 1 added" in result.stdout


def test_click_errors_and_warnings_that_quote_input(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    missing = run_cli(monkeypatch, db_url, "labels", "import", "gone\x1b]8;;evil\x07.jsonl")
    assert missing.exit_code == 2 and "gone" in missing.stderr and _raw_free(missing.output)
    # An environment variable's name, quoted by the warning about unknown settings, and an unknown brand.
    monkeypatch.setenv("BRANDPULSE_\x1b]52;c;ZXZpbA\x07", "1")
    unknown = run_cli(monkeypatch, db_url, "history", "--brand", "x\x9b2J\u202e")
    assert unknown.exit_code == 0, unknown.output
    assert "BRANDPULSE_\\u001b]52;c;ZXZpbA\\u0007 is not a brandpulse setting" in unknown.stderr
    assert "brand 'x" in unknown.stderr and _raw_free(unknown.output)


def test_model_metadata_with_escape_sequences(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "model\x1b]8;;evil\x07dir"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    metadata = {
        "version": "tiny-v1",
        "base": "\x1b]52;c;ZXZpbA==\x07base",
        "config": {"lr": "\x1b[2J5e-5", "note": "\u202eevil"},
        "validation": {"accuracy": 0.5},
    }
    (folder / "brandpulse.json").write_text(json.dumps(metadata))
    registered = run_cli(monkeypatch, db_url, "models", "register", str(folder))
    assert registered.exit_code == 0, registered.output
    assert "model\\u001b]8;;evil\\u0007dir" in registered.stdout and _raw_free(registered.output)
    for args in (["models", "list"], ["models", "show", "tiny-v1"], ["models", "show", "tiny-v1", "--json"]):
        shown = run_cli(monkeypatch, db_url, *args)
        assert shown.exit_code == 0, shown.output
        assert _raw_free(shown.output), (args, shown.output)
    details = json.loads(run_cli(monkeypatch, db_url, "models", "show", "tiny-v1", "--json").stdout)
    assert details["base"] == metadata["base"] and details["training"]["note"] == "\u202eevil"  # JSON: in full
    assert "\\u001b]52;c;ZXZpbA==\\u0007base" in run_cli(monkeypatch, db_url, "models", "show", "tiny-v1").stdout


def test_mentions_in_json_and_csv_keep_their_text(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    text = "iphone " + "".join(ATTACKS).replace("\udcff", "")
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"id": "1", "brand": "apple", "text": text, "author": "\x1b[31mbob"}) + "\n")
    assert run_cli(monkeypatch, db_url, "ingest", str(path)).exit_code == 0
    table = run_cli(monkeypatch, db_url, "history")
    assert _raw_free(table.output) and "iphone" in table.stdout
    as_json = run_cli(monkeypatch, db_url, "history", "--format", "json")
    assert _raw_free(as_json.output)
    [row] = json.loads(as_json.stdout)
    assert row["text"] == text and row["author"] == "\x1b[31mbob"
    # Into a pipe or a file, CSV is data: in full.
    as_csv = run_cli(monkeypatch, db_url, "history", "--format", "csv")
    assert "\x1b]52;c;ZXZpbA==\x07" in as_csv.stdout


def test_log_lines_that_quote_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The log line that says a new SQLite database was made names its file, from BRANDPULSE_DATABASE_URL.
    url = f"sqlite:///{tmp_path}/db\x1b]52;c;ZXZpbA==\x07.sqlite"
    result = run_cli(monkeypatch, url, "history")
    assert result.exit_code == 0, result.output
    assert "created a new database at" in result.stderr and "db\\u001b]52;c;ZXZpbA==\\u0007.sqlite" in result.stderr
    assert _raw_free(result.output)
