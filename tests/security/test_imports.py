"""Files built to break an import: each bad line is a rejection with its line number, the rest of the file lands,
memory stays bounded whatever the length of a line, and two first imports into a new SQLite file both succeed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.core.ingest import MAX_RECORD_BYTES
from tests.support.cli import run_cli
from tests.support.memory import peak_rss_growth

GOOD = "my iphone is great, line {n}"


def _good(n: int) -> bytes:
    return json.dumps({"id": f"g{n}", "brand": "apple", "text": GOOD.format(n=n)}).encode()


def _summary(output: str) -> str:
    return next(line for line in output.splitlines() if "rows read" in line)


def test_a_line_that_breaks_the_parser_is_one_rejection(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    lines = [_good(n) for n in range(1, 2001)]
    lines.append(b"[" * 100_000)  # 2001: RecursionError in json
    lines.append(b'{"id": "x", "brand": "apple", "text": "iphone", "created_at": ' + b"9" * 5000 + b"}")  # 2002
    lines.append(b'{"id": "y", "brand": "apple", "text": "iphone", "created_at": "' + b"9" * 5000 + b'"}')  # 2003
    lines.append(b'{"id": "z", "brand": "apple", "text": "iphone", "created_at": 1e400}')  # 2004
    lines += [_good(n) for n in range(2005, 5114)]
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = run_cli(monkeypatch, db_url, "ingest", str(path))
    assert result.exit_code == 1, result.output  # 1: some rows were rejected (the rest imported)
    assert "5,113 rows read, 5,109 added, 0 already stored, 4 rejected" in _summary(result.stdout)
    for line in (2001, 2002, 2003, 2004):
        assert f"hostile.jsonl:{line}:" in result.output


def test_a_line_over_the_cap_is_rejected_without_being_read_whole(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "long.jsonl"
    with path.open("wb") as handle:
        handle.write(_good(1) + b"\n")
        handle.write(b'{"text": "' + b"a" * (150 << 20))  # 150 MB on line 2, never closed
        handle.write(b'"}\n' + _good(3) + b"\n")
    with peak_rss_growth() as growth:
        result = run_cli(monkeypatch, db_url, "ingest", str(path))
    assert result.exit_code == 1, result.output
    assert "3 rows read, 2 added, 0 already stored, 1 rejected" in _summary(result.stdout)
    assert f"long.jsonl:2: line is over {MAX_RECORD_BYTES:,} bytes" in result.output
    assert growth.bytes < 60 << 20, f"resident size grew by {growth.bytes >> 20} MB"


def test_dev_zero_as_input_costs_no_memory(tmp_path: Path) -> None:
    # Endless input without a newline: the import reads on in bounded pieces until it is stopped.
    database = f"sqlite:///{tmp_path / 'zero.db'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "ingest", "/dev/zero", "--format", "jsonl"],
        env={"BRANDPULSE_DATABASE_URL": database, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(8)
        assert process.poll() is None
        with open(f"/proc/{process.pid}/status") as status:
            rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        assert rss_kb < 400_000, f"peak resident size {rss_kb // 1024} MB"
    finally:
        process.kill()
        process.wait()


CSV_HEADER = "id,text,brand\n"


def test_csv_quoting_errors_report_every_row_they_swallow(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    rows = [f"{n},my iphone row {n},apple\n" for n in range(2, 20)]
    rows[3] = '5,"a stray quote opens here,apple\n'  # line 5: swallows lines 6-12 up to the next quote
    rows[10] = '12,then "closes here",apple\n'
    path = tmp_path / "quotes.csv"
    path.write_text(CSV_HEADER + "".join(rows) + '20,"never closed,apple\n21,last row,apple\n', encoding="utf-8")
    result = run_cli(monkeypatch, db_url, "ingest", str(path))
    assert result.exit_code == 1, result.output
    reported = sorted(int(n) for n in re.findall(r"quotes\.csv:(\d+):", result.output))
    assert reported == [*range(5, 13), 20, 21]
    assert "20 rows read, 10 added, 0 already stored, 10 rejected" in _summary(result.stdout)


def test_a_legitimate_multiline_field_is_kept(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text(CSV_HEADER + '1,"my iphone\nsecond line",apple\n2,plain iphone,apple\n', encoding="utf-8")
    result = run_cli(monkeypatch, db_url, "ingest", str(path))
    assert "2 rows read, 2 added, 0 already stored, 0 rejected" in _summary(result.stdout), result.output


def test_a_csv_without_the_text_column_is_one_message(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "body.csv"
    path.write_text("id,body,brand\n" + "".join(f"{n},iphone,apple\n" for n in range(100)), encoding="utf-8")
    result = run_cli(monkeypatch, db_url, "ingest", str(path))
    assert result.exit_code == 1
    said = [line for line in result.stderr.splitlines() if "body.csv" in line]
    assert len(said) == 1 and "--field text=COLUMN" in said[0] and "rows read" not in result.stdout


def test_a_jsonl_file_with_a_byte_order_mark_is_read(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + _good(1) + b"\n" + _good(2) + b"\n")
    result = run_cli(monkeypatch, db_url, "ingest", str(path))
    assert "2 rows read, 2 added" in _summary(result.stdout), result.output


def test_two_first_imports_into_a_new_sqlite_file_both_succeed(tmp_path: Path) -> None:
    source = tmp_path / "rows.jsonl"
    source.write_bytes(b"\n".join(_good(n) for n in range(1, 201)) + b"\n")
    database = tmp_path / "fresh" / "new.db"
    env = {"BRANDPULSE_DATABASE_URL": f"sqlite:///{database}", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "ingest", str(source)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err.decode()
    added = sorted(int(out.decode().split(" added")[0].rsplit(", ", 1)[1]) for out, _ in outputs)
    assert added[0] + added[1] == 200
    assert sum(b"created a new database at " + str(database).encode() in err for _, err in outputs) == 1
