"""PostgreSQL made unavailable under a running bot, then restored: no mention is lost, /metrics and the admin
commands still answer. The database is the test's own (``ALLOW_CONNECTIONS false`` is per database)."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, create_engine, func, select, text

from bot.slack.views.errors import DATABASE_AWAY
from monitoring.exporter import MetricsServer, build_registry
from storage.models import Mention
from tests.conftest import POSTGRES_URL
from tests.support.net import free_port
from tests.support.slack import ADMIN, Served, post_event, served

pytestmark = pytest.mark.postgres


def _admin() -> Engine:
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture
def database() -> Iterator[str]:
    """A PostgreSQL database created for the test and dropped after it."""
    name = f"bp_outage_{uuid.uuid4().hex[:10]}"
    admin = _admin()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def outage(name: str) -> Iterator[None]:
    """No new connection to the database, and the open ones cut, until the block ends."""
    admin = _admin()
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            )
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def _stored(app: Served) -> int:
    with app.services.sessions() as session:
        return int(session.execute(select(func.count()).select_from(Mention)).scalar_one())


MESSAGE = {
    "type": "message",
    "channel": "C0MARKET01",
    "channel_type": "channel",
    "user": "U0PERSON01",
    "text": "my iphone died again",
    "ts": "1700000100.000100",
}


def test_a_message_that_arrives_during_an_outage_is_stored_once_slacks_retry_comes(
    tmp_path: Path, database: str
) -> None:
    name = database.rsplit("/", 1)[1]
    with served(tmp_path, None, database_url=database) as app:
        with outage(name):
            status, body, seconds = post_event(app, MESSAGE, "Ev0OUTAGE01")
            # Not acknowledged: Slack resends it (with X-Slack-Retry-Num).
            assert status == 503 and "retry" in body and seconds < 3
        status, _, _ = post_event(app, MESSAGE, "Ev0OUTAGE01", retry=1)
        assert status == 200
        assert _stored(app) == 1
        time.sleep(1.1)  # a later resend is signed anew
        assert post_event(app, MESSAGE, "Ev0OUTAGE01", retry=2)[0] == 200
        assert _stored(app) == 1


def test_admin_commands_answer_within_three_seconds_while_the_database_is_down(tmp_path: Path, database: str) -> None:
    name = database.rsplit("/", 1)[1]
    with served(tmp_path, None, database_url=database) as app, outage(name):
        status, _, seconds = app.slash("history apple", user=ADMIN)
        assert status == 200 and seconds < 3
        app.fake.wait_for(lambda f: len(f.responses) >= 1)
        assert app.fake.responses[0]["text"] == DATABASE_AWAY


def _scrape(server: MetricsServer) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10) as response:
        assert response.status == 200
        return str(response.read().decode())


def test_metrics_still_answer_with_a_gauge_saying_the_database_is_down(database: str) -> None:
    from storage.db import make_engine, make_sessionmaker
    from storage.migrate import upgrade

    name = database.rsplit("/", 1)[1]
    engine = make_engine(database)
    upgrade(engine)
    registry: CollectorRegistry
    registry, metrics = build_registry(make_sessionmaker(engine), brands=["apple"], accuracy_threshold=0.65)
    metrics.serving(name="tiny", source="tiny", device="cpu", precision="float32")
    server = MetricsServer(registry, host="127.0.0.1", port=0)
    server.start()
    try:
        assert "brandpulse_database_up 1.0" in _scrape(server)
        with outage(name):
            down = _scrape(server)
            assert "brandpulse_database_up 0.0" in down
            assert "brandpulse_model_info" in down  # the process's own metrics are still there
            assert "brandpulse_mentions_ingested" not in down
        assert "brandpulse_database_up 1.0" in _scrape(server)
    finally:
        server.stop()
        engine.dispose()


def test_in_socket_mode_an_unstored_message_is_not_acknowledged(tmp_path: Path, database: str) -> None:
    from bot.config.settings import load_settings
    from bot.runtime.context import AppContext
    from bot.runtime.server import Server
    from tests.support.fake_slack import FakeSlack
    from tests.support.slack import BOT_TOKEN

    name = database.rsplit("/", 1)[1]
    envelope = {
        "token": "legacy-verification-token",
        "team_id": "T0000000001",
        "api_app_id": "A0000000001",
        "event": {**MESSAGE, "event_ts": MESSAGE["ts"]},
        "type": "event_callback",
        "event_id": "Ev0SOCKET01",
        "event_time": 1700000123,
    }
    with FakeSlack() as fake:
        settings = load_settings(
            env_file=None,
            database_url=database,
            slack_bot_token=BOT_TOKEN,
            slack_app_token="xapp-1-socket-test",
            slack_api_url=fake.api_url,
            http_port=free_port(),
            metrics_port=free_port(),
        )
        app = AppContext(settings)
        server = Server(app, load_model=False)
        server.start()
        try:
            with outage(name):
                lost = fake.push("events_api", envelope)
                time.sleep(2)
                # No acknowledgement: Slack delivers the envelope again.
                assert all(a.get("envelope_id") != lost for a in fake.socket_acks)
            again = fake.push("events_api", envelope)
            fake.wait_for(lambda f: any(a.get("envelope_id") == again for a in f.socket_acks))
            with app.sessions() as session:
                assert session.execute(select(func.count()).select_from(Mention)).scalar_one() == 1
        finally:
            server.stop()
            app.close()
