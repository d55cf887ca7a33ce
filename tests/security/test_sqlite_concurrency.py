"""One database (above all the embedded SQLite file) shared by the processes a team runs side by side: ``serve`` taking mentions on the ingest API,
``brandpulse ingest`` importing a file and ``brandpulse history`` reading, at once and for several rounds. Every row
each writer acknowledged is stored, the next reader sees it, and the file stays sound."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

from storage.db import make_engine
from storage.migrate import upgrade
from tests.support.net import free_port
from tests.support.serve import serving

TOKEN = "a-token-for-the-concurrency-test-0123"
ROUNDS = 3
API_REQUESTS = 4  # per round, of API_BATCH mentions each, sent while the import and a reader run
API_BATCH = 5
IMPORT_ROWS = 100


def _cli(cwd: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _post(port: int, mentions: list[dict[str, str]]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/mentions",
        data=json.dumps(mentions).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return int(json.loads(response.read())["created"])


def _history_ids(cwd: Path, env: dict[str, str]) -> set[str]:
    reader = _cli(cwd, env, "history", "--limit", "100000", "--format", "json")
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    return {row["external_id"] for row in json.loads(out)}


def test_serve_ingest_and_history_share_one_database_without_losing_a_row(tmp_path: Path, db_url: str) -> None:
    port = free_port()
    env = {
        "BRANDPULSE_DATABASE_URL": db_url,
        "BRANDPULSE_API_TOKENS": TOKEN,
        "BRANDPULSE_HTTP_PORT": str(port),
        "BRANDPULSE_MODEL": str(tmp_path),
    }
    sqlite = db_url.startswith("sqlite")
    database = tmp_path / "brandpulse.db"
    acknowledged: set[str] = set()
    # serve creates the database (its migration lock included), as on a team's first start.
    with serving(tmp_path, **env):
        assert database.exists() == sqlite
        for round_ in range(ROUNDS):
            rows = tmp_path / f"import-{round_}.jsonl"
            rows.write_text(
                "".join(
                    json.dumps({"id": f"file-{round_}-{i}", "brand": "apple", "text": f"iphone import {round_} {i}"})
                    + "\n"
                    for i in range(IMPORT_ROWS)
                )
            )
            importer = _cli(tmp_path, env, "ingest", str(rows))
            reader = _cli(tmp_path, env, "history", "--limit", "100000", "--format", "json")
            created: list[int] = []

            def send(round_: int = round_, created: list[int] = created) -> None:
                for request in range(API_REQUESTS):
                    batch = [
                        {"id": f"api-{round_}-{request}-{i}", "brand": "apple", "text": f"iphone api {request} {i}"}
                        for i in range(API_BATCH)
                    ]
                    created.append(_post(port, batch))

            sender = threading.Thread(target=send)
            sender.start()
            out, err = importer.communicate(timeout=180)
            reader.communicate(timeout=180)
            sender.join(timeout=180)
            assert importer.returncode == 0, err
            assert f"{IMPORT_ROWS} rows read, {IMPORT_ROWS} added" in out + err
            assert sum(created) == API_REQUESTS * API_BATCH
            acknowledged |= {f"file-{round_}-{i}" for i in range(IMPORT_ROWS)}
            acknowledged |= {f"api-{round_}-{r}-{i}" for r in range(API_REQUESTS) for i in range(API_BATCH)}
            # The next reader, a new process while serve still runs, sees every acknowledged row.
            assert _history_ids(tmp_path, env) == acknowledged, f"round {round_}"

    assert _history_ids(tmp_path, env) == acknowledged
    assert len(acknowledged) == ROUNDS * (IMPORT_ROWS + API_REQUESTS * API_BATCH)
    if not sqlite:
        return
    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("SELECT count(*) FROM mentions").fetchone() == (len(acknowledged),)
    finally:
        connection.close()


def test_migrating_keeps_the_sqlite_locks_this_process_holds(tmp_path: Path) -> None:
    """The migration lock must not open the database file itself: closing that descriptor would drop every POSIX
    lock of the process on the file, SQLite's own, and another process could then take the file from under this
    one's connections (checkpoint and delete the WAL, or leave WAL mode)."""
    database = tmp_path / "locks.db"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        # An open WAL-mode connection holds a shared lock on the database file for as long as it is open.
        assert holder.execute("SELECT count(*) FROM mentions").fetchone() == (0,)
        upgrade(engine)  # another engine of the same process takes the migration lock (at head: reads only)
        # Leaving WAL mode needs every other connection gone: refused while the holder's lock stands.
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sqlite3, sys\n"
                "c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
                "try:\n    print(c.execute('PRAGMA journal_mode=DELETE').fetchone()[0])\n"
                "except sqlite3.OperationalError as e:\n    print(e)",
                str(database),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert probe.stdout.strip() == "database is locked", probe.stdout + probe.stderr
        assert holder.execute("SELECT count(*) FROM mentions").fetchone() == (0,)
    finally:
        holder.close()
        engine.dispose()
