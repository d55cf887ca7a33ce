"""The brands file applied without a restart: a running ``serve`` takes a new brand, refuses a broken file (saying
why in the log and the ops channel) and keeps the version it had."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config.brands import BrandsFile
from bot.config.settings import load_settings
from bot.runtime.context import AppContext
from bot.runtime.server import Server
from storage.models import Mention
from tests.support.fake_slack import FakeSlack
from tests.support.net import free_port
from tests.support.slack import BOT_TOKEN, SIGNING_SECRET, Served, send_event

ACME = """
brands:
  - name: acme
    keywords: [acmephone]
    digest: {channel: "#acme", schedule: "0 9 * * *"}
"""
WITH_INITECH = (
    ACME
    + """
  - name: initech
    keywords: [tps report]
    digest: {channel: "#initech", schedule: "30 8 * * 1-5"}
"""
)
BROKEN = WITH_INITECH.replace('"30 8 * * 1-5"', '"30 25 * * *"')


def _until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _save(path: Path, text: str) -> None:
    """Write the file as an editor does: a new file moved over the old one."""
    draft = path.with_suffix(".tmp")
    draft.write_text(text, encoding="utf-8")
    draft.replace(path)


def test_a_running_bot_takes_a_new_brands_file_and_keeps_the_last_good_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    brands = tmp_path / "brands.yml"
    brands.write_text(ACME, encoding="utf-8")
    with FakeSlack() as fake:
        settings = load_settings(
            env_file=None,
            database_url=f"sqlite:///{tmp_path / 'reload.db'}",
            brands_file=brands,
            brands_reload_seconds=0.1,
            ops_channel="#ops",
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake.api_url,
            http_port=free_port(),
            metrics_port=free_port(),
        )
        server = Server(AppContext(settings), load_model=False)
        server.start()
        try:
            assert server.services is not None and server.http is not None and server.pipeline is not None
            app = Served(f"http://127.0.0.1:{server.http.port}", fake, server.services, settings)
            scheduler = server.pipeline.scheduler
            assert scheduler is not None

            def jobs() -> set[str]:
                return {job.id for job in scheduler.scheduler.get_jobs()}

            def brands_answer(n: int) -> str:
                app.slash("brands", response=f"b{n}")
                fake.wait_for(lambda f: len(f.responses) >= n)
                return str(fake.responses[n - 1]["text"])

            assert "digest:acme" in jobs() and "initech" not in brands_answer(1)

            _save(brands, WITH_INITECH)
            _until(lambda: "digest:initech" in jobs(), "the new brand's digest job")
            assert "*initech*" in brands_answer(2)
            # The Slack listeners match the new brand's keywords from now on.
            event = {"type": "message", "channel": "C0000000001", "user": "U0PERSON01", "ts": "1700000200.000100"}
            send_event(app, {**event, "text": "Who has the TPS report?"}, event_id="Ev0NEWBRAND1")
            with server.app.sessions() as session:
                _until(lambda: session.scalars(select(Mention.brand)).all() == ["initech"], "the mention of initech")

            with caplog.at_level(logging.ERROR, logger="brandpulse"):
                _save(brands, BROKEN)
                fake.wait_for(lambda f: any(c.params["channel"] == "#ops" for c in f.calls_to("chat.postMessage")))
                time.sleep(0.5)  # several more looks at the same broken file
            [ops] = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == "#ops"]  # said once
            shown = json.dumps(ops.params["blocks"])
            assert "keeps the previous version" in shown and "brandpulse config check" in shown
            assert "brands[1] (initech).digest.schedule" in shown
            assert any("brands file not reloaded" in r.getMessage() for r in caplog.records)
            # The last good version stays in use.
            assert "digest:initech" in jobs() and "*initech*" in brands_answer(3)

            _save(brands, ACME)  # fixed by going back: initech is gone, and its job with it
            _until(lambda: "digest:initech" not in jobs(), "the removed brand's job to go")
            assert "initech" not in brands_answer(4) and "digest:acme" in jobs()
            assert fake.violations == []
        finally:
            server.stop()


def test_the_brands_file_is_read_again_only_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "brands.yml"
    path.write_text(ACME, encoding="utf-8")
    file = BrandsFile(path)
    assert file.check() is None  # unchanged
    _save(path, WITH_INITECH)
    found = file.check()
    assert found is not None and found.config is not None and found.config.names == ["acme", "initech"]
    assert file.current.names == ["acme", "initech"] and file.check() is None
    _save(path, BROKEN)
    refused = file.check()
    assert refused is not None and refused.error is not None and "digest.schedule" in refused.error
    assert file.check() is None and file.current.names == ["acme", "initech"]  # refused once, old one kept
    path.unlink()
    gone = file.check()
    assert gone is not None and gone.error is not None and "not found" in gone.error
    assert file.check() is None
