"""Hot swap: a running ``serve`` takes over a newly promoted version while /sentiment requests keep flowing."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config.settings import Settings, load_settings
from bot.core.registry import promote, register
from bot.runtime.context import AppContext
from bot.runtime.server import Server
from storage.db import make_engine, make_sessionmaker
from storage.migrate import ensure_schema
from tests.support.fake_slack import FakeSlack
from tests.support.models import build_tiny_model
from tests.support.net import free_port, metrics_text, wait_until
from tests.support.slack import BOT_TOKEN, SIGNING_SECRET, Served, model_of

AT = datetime(2026, 12, 1, tzinfo=UTC)


def _version(root: Path, name: str, *, seed: int) -> Path:
    path = build_tiny_model(root / name, seed=seed)
    (path / "brandpulse.json").write_text(json.dumps({"version": name, "base": "tiny"}))
    return path


def _serve_settings(db_url: str, fake: FakeSlack, **overrides: Any) -> Settings:
    """A serve on free loopback ports, talking to the fake Slack, looking at the registry five times a second."""
    return load_settings(
        env_file=None,
        database_url=db_url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        http_port=free_port(),
        metrics_port=free_port(),
        model_poll_seconds=0.2,
        run_jobs=False,
        **overrides,
    )


def test_a_promoted_version_takes_over_while_requests_flow(tmp_path: Path, db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    sessions = make_sessionmaker(engine)
    for name, seed in (("m-v1", 1), ("m-v2", 2)):
        register(sessions, _version(tmp_path / "models", name, seed=seed), at=AT)
    broken = tmp_path / "models" / "m-v3"
    broken.mkdir()
    (broken / "config.json").write_text("{ not json")
    register(sessions, broken, at=AT)
    promote(sessions, "m-v1", actor="test", reason=None, at=AT)

    with FakeSlack() as fake:
        settings = _serve_settings(db_url, fake)
        app = AppContext(settings)
        server = Server(app)
        server.start()
        assert server.services is not None
        served = Served(f"http://127.0.0.1:{settings.http_port}", fake, server.services, settings)
        statuses: list[int] = []
        stop = threading.Event()

        def send() -> None:
            while not stop.is_set():
                status, _, _ = served.slash(f"how is it going {len(statuses)}", response=f"q{len(statuses)}")
                statuses.append(status)
                time.sleep(0.02)

        sender = threading.Thread(target=send)
        sender.start()
        try:
            wait_until(lambda: len(fake.responses) >= 5)
            assert 'version="m-v1"' in metrics_text(settings.metrics_port)
            promote(sessions, "m-v2", actor="test", reason="better", at=AT)
            wait_until(lambda: 'version="m-v2"' in metrics_text(settings.metrics_port))
            swapped_at = len(statuses)
            wait_until(lambda: len(fake.responses) >= swapped_at + 5)
            # A version that cannot load is refused: the running one keeps serving, and the refusal is counted.
            promote(sessions, "m-v3", actor="test", reason="broken", at=AT)
            wait_until(
                lambda: 'brandpulse_model_swaps_total{outcome="failed"} 1.0' in metrics_text(settings.metrics_port)
            )
            refused_at = len(statuses)
            wait_until(lambda: len(fake.responses) >= refused_at + 3)
        finally:
            stop.set()
            sender.join()
            wait_until(lambda: len(fake.responses) == len(statuses))
            server.stop()
            app.close()
            engine.dispose()

    assert statuses and set(statuses) == {200}  # no request failed during the swaps
    by_request = {int(r["url"].rsplit("q", 1)[1]): model_of(r) for r in fake.responses}
    models = [by_request[i] for i in range(len(statuses))]
    first_v2 = models.index("m-v2")
    # Each request is answered by one model: the old one until the swap, the new one from then on.
    assert set(models[:first_v2]) == {"m-v1"} and set(models[first_v2:]) == {"m-v2"}
    assert first_v2 >= 5 and models[-1] == "m-v2"
    assert fake.violations == []


def test_a_worker_follows_promotions_and_a_pinned_model_does_not(tmp_path: Path) -> None:
    from bot.runtime.pipeline import ModelSlot
    from bot.runtime.swap import watcher_for

    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    sessions = make_sessionmaker(engine)
    for name, seed in (("m-v1", 1), ("m-v2", 2)):
        register(sessions, _version(tmp_path / "models", name, seed=seed), at=AT)
    promote(sessions, "m-v1", actor="test", reason=None, at=AT)
    app = AppContext(load_settings(env_file=None, database_url=url, model_poll_seconds=5))
    slot = ModelSlot(app)
    held = slot()  # a job holds the model it started with
    assert held.name == "m-v1"
    watcher = watcher_for(app, current=slot.source, on_swap=lambda model, choice: slot.swap(model, choice))
    assert watcher is not None and watcher.check() is False  # nothing new
    promote(sessions, "m-v2", actor="test", reason=None, at=AT)
    assert watcher.check() is True and slot().name == "m-v2" and held.name == "m-v1"
    assert watcher.check() is False
    pinned = AppContext(load_settings(env_file=None, database_url=url, model=str(tmp_path / "models" / "m-v1")))
    assert watcher_for(pinned, current=None, on_swap=lambda model, choice: None) is None
    app.close()
    pinned.close()
    engine.dispose()


def test_a_database_outage_is_not_taken_for_an_empty_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.runtime.swap import ModelWatcher

    # Nothing answers on port 9: reading the registry fails as it does while PostgreSQL is down.
    app = AppContext(load_settings(env_file=None, database_url="postgresql+psycopg://postgres@127.0.0.1:9/test"))
    loads: list[str] = []
    monkeypatch.setattr(app, "load_model", lambda source: loads.append(source))
    swapped: list[str] = []
    watcher = ModelWatcher(app, current="/models/m-v1", on_swap=lambda model, choice: swapped.append(choice.source),
                           interval=1)  # fmt: skip
    # The running model stays, and the hub default is not even loaded.
    assert watcher.check() is False and loads == [] and swapped == []
    app.close()


def test_a_routed_serve_answers_each_language_with_its_model_and_swaps_only_the_active_route(
    tmp_path: Path, db_url: str
) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    sessions = make_sessionmaker(engine)
    for name, seed in (("m-v1", 1), ("m-v2", 2)):
        register(sessions, _version(tmp_path / "models", name, seed=seed), at=AT)
    multilingual = _version(tmp_path / "models", "multi-v1", seed=3)
    promote(sessions, "m-v1", actor="test", reason=None, at=AT)
    with FakeSlack() as fake:
        # French is routed to a model that is not there: its texts go to the active model instead of failing.
        missing = tmp_path / "models" / "fr-v1"
        settings = _serve_settings(db_url, fake, model_routes=f"en=active,fr={missing},*={multilingual}")
        app = AppContext(settings)
        server = Server(app)
        server.start()
        try:
            assert server.services is not None
            served = Served(f"http://127.0.0.1:{settings.http_port}", fake, server.services, settings)

            def ask(text: str) -> str:
                count = len(fake.responses)
                assert served.slash(text, response=f"r{count}")[0] == 200
                wait_until(lambda: len(fake.responses) > count)
                return model_of(fake.responses[count])

            assert ask("My new phone is great, I love it") == "m-v1"
            assert ask("Questo progetto mi è piaciuto tantissimo!") == "multi-v1"
            assert ask("J'adore ce nouveau téléphone, il est génial") == "m-v1"
            promote(sessions, "m-v2", actor="test", reason="better", at=AT)
            wait_until(lambda: 'version="m-v2"' in metrics_text(settings.metrics_port))
            assert ask("My new phone is great, I love it") == "m-v2"
            assert ask("Das Update hat alles kaputt gemacht") == "multi-v1"
        finally:
            server.stop()
            app.close()
            engine.dispose()
    assert fake.violations == []


def test_the_classify_job_reads_emotions_with_the_active_emotion_version_and_follows_promotions(
    tmp_path: Path,
) -> None:
    import shutil

    from sqlalchemy import select

    from bot.jobs.maintenance import classify
    from bot.runtime.pipeline import job_context
    from storage.models import Mention
    from tests.support.pipeline import M, add

    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    sessions = make_sessionmaker(engine)
    labels = {0: "anger", 1: "joy", 2: "optimism", 3: "sadness"}
    for name, bias in (("joy-v1", [0.0, 10.0, 0.0, 0.0]), ("sad-v1", [0.0, 0.0, 0.0, 10.0])):
        register(sessions, build_tiny_model(tmp_path / name, id2label=labels, bias=bias), at=AT, task="emotion")
    app = AppContext(load_settings(env_file=None, database_url=url, model=str(build_tiny_model(tmp_path / "s"))))
    ctx = job_context(app, app.load_model)

    def emotions() -> list[tuple[str, str | None]]:
        with sessions() as session:
            return [(m.text, m.emotion) for m in session.execute(select(Mention).order_by(Mention.id)).scalars()]

    add(sessions, [M(AT, "acmephone one"), M(AT, "acmephone two")])
    # No emotion model yet: the sentiment alone.
    assert classify(ctx, AT) == "2 mentions classified, 0 failed"
    assert emotions() == [("acmephone one", None), ("acmephone two", None)]
    # Once one is promoted, the next run reads the new mentions and those classified before.
    promote(sessions, "joy-v1", actor="test", reason=None, at=AT)
    add(sessions, [M(AT, "acmephone three")])
    assert classify(ctx, AT) == "1 mentions classified, 0 failed; 3 emotions read"
    assert {e for _, e in emotions()} == {"joy"}
    # A newly promoted version reads from the next run on; what was read stays read.
    promote(sessions, "sad-v1", actor="test", reason=None, at=AT)
    add(sessions, [M(AT, "acmephone four")])
    assert classify(ctx, AT) == "1 mentions classified, 0 failed; 1 emotions read"
    assert emotions()[-2:] == [("acmephone three", "joy"), ("acmephone four", "sadness")]
    # An active version whose files are gone costs the emotions, not the sentiment.
    shutil.rmtree(tmp_path / "sad-v1")
    add(sessions, [M(AT, "acmephone five")])
    summary = classify(ctx, AT)
    assert summary.startswith("1 mentions classified, 0 failed; no emotions: the active emotion version sad-v1")
    assert emotions()[-1] == ("acmephone five", None)
    app.close()
    engine.dispose()
