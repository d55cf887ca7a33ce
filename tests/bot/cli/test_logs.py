"""What the logs hold: brandpulse's own lines, a line per job run that did something, text or JSON with one set of
fields, secrets masked in either."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.logs import QUIET_LIBRARIES, configure_logging
from bot.config.settings import load_settings
from tests.support.net import free_port
from tests.support.serve import post_mentions, serving

TOKEN = "a-token-for-the-logs-test-0123456"
JSON_KEYS = {"time", "level", "logger", "message"}


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in QUIET_LIBRARIES}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, library_level in levels.items():
        logging.getLogger(name).setLevel(library_level)


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


@pytest.mark.usefixtures("restore_logging")
def test_a_json_line_has_the_text_lines_fields_and_masks_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BRANDPULSE_SOURCE_FEED_TOKEN", "feed-token-0123456789")
    monkeypatch.setenv("BRANDPULSE_LOG_FORMAT", "JSON")  # any case
    configure_logging(load_settings(env_file=None))
    log = logging.getLogger("brandpulse")
    log.info("polled https://example.com/feed?t=%s", "feed-token-0123456789", extra={"color_message": "x"})
    try:
        raise ValueError("cannot reach postgresql://app:s3cret-pw@db/brandpulse")
    except ValueError:
        log.exception("job classify failed")
    first, second = (json.loads(line) for line in _lines(capsys))
    assert set(first) == JSON_KEYS  # what a library passes as extra is left out
    assert (first["level"], first["logger"]) == ("INFO", "brandpulse")
    assert first["message"] == "polled https://example.com/feed?t=${BRANDPULSE_SOURCE_FEED_TOKEN}"
    assert first["time"][:4].isdigit() and first["time"][10] == "T" and first["time"][-6] in "+-"
    assert set(second) == JSON_KEYS | {"traceback"}
    assert second["level"] == "ERROR" and second["message"] == "job classify failed"
    assert "Traceback" in second["traceback"]
    assert "ValueError: cannot reach postgresql://app:***@db" in second["traceback"]
    assert "s3cret-pw" not in json.dumps([first, second])


@pytest.mark.usefixtures("restore_logging")
def test_the_text_form_holds_the_same_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(load_settings(env_file=None))
    logging.getLogger("brandpulse").warning("model swap: %s", "postgresql://app:s3cret-pw@db/x")
    [line] = _lines(capsys)
    day, clock, level, logger, message = line.split(" ", 4)
    assert (level, logger, message) == ("WARNING", "brandpulse:", "model swap: postgresql://app:***@db/x")
    assert len(day) == 10 and len(clock) == 12


@pytest.mark.parametrize("level", ["INFO", "WARNING", "ERROR"])
@pytest.mark.usefixtures("restore_logging")
def test_libraries_log_warnings_and_above_and_brandpulse_its_level(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], level: str
) -> None:
    monkeypatch.setenv("BRANDPULSE_LOG_LEVEL", level)
    configure_logging(load_settings(env_file=None))
    for name in ("apscheduler.executors.classify", "uvicorn.error", "httpx", "slack_bolt.App", "brandpulse"):
        logging.getLogger(name).info("info from %s", name)
        logging.getLogger(name).warning("warning from %s", name)
    shown = "\n".join(_lines(capsys))
    assert ("info from brandpulse" in shown) == (level == "INFO")
    assert ("warning from brandpulse" in shown) == (level != "ERROR")
    for name in ("apscheduler.executors.classify", "uvicorn.error", "httpx", "slack_bolt.App"):
        assert f"info from {name}" not in shown
        assert (f"warning from {name}" in shown) == (level != "ERROR")


def _classify_runs(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT detail FROM job_runs WHERE job = 'classify' ORDER BY scheduled_for")
        return [str(detail) for (detail,) in rows]


def test_serve_logs_a_line_per_job_run_that_did_something_and_none_for_idle_ones(
    tmp_path: Path, tiny_model: Path
) -> None:
    port = free_port()
    database = tmp_path / "data" / "brandpulse.db"
    with serving(
        tmp_path,
        BRANDPULSE_MODEL=str(tiny_model),
        BRANDPULSE_API_TOKENS=TOKEN,
        BRANDPULSE_HTTP_PORT=str(port),
        BRANDPULSE_CLASSIFY_INTERVAL_SECONDS="1",
        BRANDPULSE_LOG_FORMAT="json",
    ) as (_, lines):
        assert post_mentions(port, TOKEN, [{"id": "1", "text": "My new iPhone is great"}]) == 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(run.startswith("1 ") for run in _classify_runs(database)):
            time.sleep(0.2)
        runs_before = len(_classify_runs(database))
        while time.monotonic() < deadline and len(_classify_runs(database)) < runs_before + 3:
            time.sleep(0.2)
    runs = _classify_runs(database)
    records = [json.loads(line) for line in "".join(lines).splitlines() if line.strip()]
    assert all(JSON_KEYS <= set(record) <= JSON_KEYS | {"traceback"} for record in records)
    assert not [r for r in records if r["logger"].startswith(("apscheduler", "uvicorn")) and r["level"] == "INFO"]
    # One classification run did something, and at least three more found nothing: one line, the busy run's.
    busy = [run for run in runs if run.startswith("1 ")]
    assert len(busy) == 1 and len(runs) >= 4, runs
    job_lines = [r["message"] for r in records if r["message"].startswith("job classify at ")]
    assert len(job_lines) == 1 and job_lines[0].endswith(busy[0]), job_lines
    assert TOKEN not in json.dumps(records)
