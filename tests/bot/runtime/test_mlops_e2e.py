"""The MLOps loop end to end on a tiny model, as a team runs it: Slack feedback and an admin's correction feed the
labelled pool; an accuracy alert reaches the bot from Alertmanager; an admin starts the recommended retrain from the
ops channel; a worker runs it behind the gate; the running bot swaps the promoted version in, which its /sentiment
answers and its model-info metric show. And two processes that receive the same alert start one retrain."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.config.settings import load_settings
from bot.core.labels import pool
from bot.core.registry import promote, register
from bot.runtime.context import AppContext
from bot.runtime.server import Server
from storage.db import make_engine, make_sessionmaker
from storage.mentions import insert_mentions
from storage.migrate import ensure_schema
from storage.mlops_tables import GateDecision, RetrainRequest
from tests.support.alertmanager import notification
from tests.support.cli import run_cli
from tests.support.fake_slack import FakeSlack
from tests.support.models import build_tiny_model
from tests.support.net import free_port, metrics_text, wait_until
from tests.support.retrain import labelled_texts, write_labelled
from tests.support.serve import serving
from tests.support.slack import ADMIN, BOT_TOKEN, SIGNING_SECRET, Served, model_of

TOKEN = "alertmanager-token-0123456789"
NOW = datetime.now(UTC).replace(microsecond=0)


def _env(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    """The settings every process of the deployment shares."""
    return {
        "BRANDPULSE_DATABASE_URL": db_url,
        "BRANDPULSE_MODELS_DIR": str(tmp_path / "models"),
        "BRANDPULSE_OPS_CHANNEL": "#ml-ops",
        "BRANDPULSE_RETRAIN_BASE_DATA": str(write_labelled(tmp_path / "base.jsonl", labelled_texts(150, 1))),
        "BRANDPULSE_RETRAIN_VALIDATION_DATA": str(write_labelled(tmp_path / "val.jsonl", labelled_texts(60, 2))),
        "BRANDPULSE_RETRAIN_EPOCHS": "4",
        # Four epochs over these few texts are enough for the tiny model; the default minimum would be 250 steps.
        "BRANDPULSE_RETRAIN_MIN_STEPS": "20",
        "BRANDPULSE_TORCH_THREADS": "1",
        "BRANDPULSE_ALERTMANAGER_TOKENS": TOKEN,
        "HF_HUB_OFFLINE": "1",
        **extra,
    }


def _first_version(tmp_path: Path, db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    sessions = make_sessionmaker(engine)
    register(sessions, build_tiny_model(tmp_path / "models" / "sentiment-v1"), at=NOW)
    promote(sessions, "sentiment-v1", actor="test", reason=None, at=NOW)
    with engine.begin() as connection:
        insert_mentions(
            connection=connection,
            rows=[
                {"source": "import", "external_id": f"m{i}", "brand": "apple", "author": None, "url": None,
                 "text": text, "language": None, "created_at": NOW - timedelta(minutes=i), "ingested_at": NOW,
                 "status": "classified", "label": "neutral", "score_negative": 0.3, "score_neutral": 0.4,
                 "score_positive": 0.3, "model_version": "sentiment-v1", "classified_at": NOW}
                for i, (text, _) in enumerate(labelled_texts(6, 7))
            ],
        )  # fmt: skip
    engine.dispose()


@pytest.fixture
def bot(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Served, Server, dict[str, str]]]:
    _first_version(tmp_path, db_url)
    env = _env(tmp_path, db_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with FakeSlack() as fake:
        settings = load_settings(
            env_file=None,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake.api_url,
            admin_users=ADMIN,
            http_port=free_port(),
            metrics_port=free_port(),
            model_poll_seconds=0.2,
            run_jobs=False,  # a worker runs the jobs: the retrain below is `brandpulse run-job retrain`
        )
        app = AppContext(settings)
        server = Server(app)
        server.start()
        assert server.services is not None
        try:
            yield Served(f"http://127.0.0.1:{settings.http_port}", fake, server.services, settings), server, env
        finally:
            server.stop()
            app.close()


def test_feedback_and_corrections_to_a_promoted_model_that_the_running_bot_swaps_in(
    bot: tuple[Served, Server, dict[str, str]], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    served, server, env = bot
    fake, settings = served.fake, served.settings
    # Feedback: three users tell the bot what three texts really are.
    for n, (text, label) in enumerate(labelled_texts(3, 5)):
        served.slash(text, response=f"ask{n}")
        wait_until(lambda n=n: any(r["url"] == f"/response/ask{n}" for r in fake.responses))
        answer = next(r for r in fake.responses if r["url"] == f"/response/ask{n}")
        assert model_of(answer) == "sentiment-v1"
        buttons = next(b for b in answer["blocks"] if b["type"] == "actions")["elements"]
        # "Actually <label>", or "Correct" when the model said that label already.
        by_action = {b["action_id"].rsplit("_", 1)[1]: b for b in buttons}
        button = by_action.get(label, by_action["correct"])
        served.click(button, user=f"U0FEEDBACK{n}", response=f"thanks{n}")
        wait_until(lambda n=n: any(r["url"] == f"/response/thanks{n}" for r in fake.responses))
    # A correction: an admin sets a stored mention's label from its history page.
    served.slash("history apple 24h", user=ADMIN, response="history")
    wait_until(lambda: any(r["url"] == "/response/history" for r in fake.responses))
    page = next(r for r in fake.responses if r["url"] == "/response/history")
    menu = next(b for b in page["blocks"] if b["type"] == "section" and "accessory" in b)["accessory"]
    option = next(o for g in menu["option_groups"] for o in g["options"] if o["text"]["text"] == "negative")
    served.click({"action_id": menu["action_id"], "type": "static_select", "block_id": "b", "selected_option": option},
                 user=ADMIN, response="corrected")  # fmt: skip
    wait_until(lambda: any(r["url"] == "/response/corrected" for r in fake.responses))
    examples = pool(served.services.sessions)
    assert sorted({e.origin for e in examples}) == ["correction", "feedback"] and len(examples) == 4

    # Alertmanager reports the accuracy alert: the ops channel gets "retraining recommended" with a button.
    alert = httpx.post(
        f"{served.url}/api/v1/alertmanager", json=notification(), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert alert.json()["action"] == "recommended"
    wait_until(lambda: any(c.params.get("channel") == "#ml-ops" for c in fake.calls_to("chat.postMessage")))
    [recommended] = [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == "#ml-ops"]
    blocks = recommended.params["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    start = next(b for b in blocks if b["type"] == "actions")["elements"][0]
    served.click(start, user=ADMIN, response="start")
    wait_until(lambda: any(r["url"] == "/response/start" for r in fake.responses))

    # A worker runs the retrain: fine-tuned on the base set and the pool, judged, promoted.
    ran = run_cli(monkeypatch, db_url, "run-job", "retrain", BRANDPULSE_SLACK_BOT_TOKEN=BOT_TOKEN,
                  BRANDPULSE_SLACK_API_URL=fake.api_url, **env)  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert re.search(r"retrain: retrain #\d+: sentiment-v2 promoted", ran.stdout), ran.stdout
    texts = [
        c.params.get("text", "") for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == "#ml-ops"
    ]
    assert any("is running" in t for t in texts) and any(t.startswith("Retrain: sentiment-v2 promoted") for t in texts)
    with served.services.sessions() as session:
        [decision] = session.execute(select(GateDecision)).scalars()
        assert decision.promoted and decision.figures["data"]["pool_n"] == 4
        [request] = session.execute(select(RetrainRequest)).scalars()
        assert (request.status, request.requested_by, request.candidate) == ("succeeded", ADMIN, "sentiment-v2")

    # The running bot picks the promoted version up: its metric and its next answers say so.
    wait_until(lambda: 'version="sentiment-v2"' in metrics_text(settings.metrics_port))
    served.slash("how is the new phone", response="after")
    wait_until(lambda: any(r["url"] == "/response/after" for r in fake.responses))
    assert model_of(next(r for r in fake.responses if r["url"] == "/response/after")) == "sentiment-v2"
    assert server.health()["model"] == "sentiment-v2"
    assert fake.violations == []


def test_two_processes_receiving_the_same_alert_start_one_retrain(tmp_path: Path, postgres_url: str) -> None:
    _first_version(tmp_path, postgres_url)
    ports = [free_port(), free_port()]
    env = _env(tmp_path, postgres_url, BRANDPULSE_AUTO_RETRAIN="true", BRANDPULSE_RUN_JOBS="false")
    with (
        serving(tmp_path, **env, BRANDPULSE_HTTP_PORT=str(ports[0])),
        serving(tmp_path, **env, BRANDPULSE_HTTP_PORT=str(ports[1])),
    ):
        answers: list[dict[str, Any]] = []

        def send(port: int) -> None:
            answer = httpx.post(f"http://127.0.0.1:{port}/api/v1/alertmanager", json=notification(),
                                headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)  # fmt: skip
            answers.append(answer.json())

        senders = [threading.Thread(target=send, args=(port,)) for port in ports]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
    assert sorted(a["action"] for a in answers) == ["duplicate", "queued"]

    # Two workers look for it at the same moment: one runs it, the other finds nothing to start (or, when it looks
    # while the first still trains, the request taken by another process).
    command = [sys.executable, "-m", "bot", "run-job", "retrain"]
    workers = [subprocess.Popen(command, cwd=tmp_path, env={**env, "PATH": "/usr/bin:/bin"}, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]  # fmt: skip
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    summaries = sorted(line for out in outputs for line in out.splitlines() if line.startswith("retrain: "))
    ran = [line for line in summaries if re.match(r"retrain: retrain #\d+: sentiment-v2 promoted", line)]
    idle = [line for line in summaries if line in ("retrain: no retrain to start", "retrain: run by another process")]
    assert len(ran) == 1 and len(idle) == 1, summaries
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["sentiment-v1", "sentiment-v2"]
