from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from analysis.errors import InvalidInput
from analysis.loading import load_model
from analysis.model import SentimentModel
from analysis.options import InferenceOptions
from analysis.prediction import Prediction
from bot.core.classify import classify_pending
from storage.db import make_engine, make_sessionmaker
from storage.mentions import count_by_status, insert_mentions
from storage.migrate import upgrade
from storage.models import Mention
from tests.conftest import REPO
from tests.support.cli import run_cli


def add_mentions(engine: Engine, texts: Sequence[str]) -> None:
    now = datetime.now(UTC)
    rows = [
        {
            "source": "t",
            "external_id": str(i),
            "brand": "apple",
            "text": t,
            "created_at": now,
            "ingested_at": now,
            "status": "pending",
        }
        for i, t in enumerate(texts)
    ]
    with engine.begin() as connection:
        for start in range(0, len(rows), 1000):
            insert_mentions(connection=connection, rows=rows[start : start + 1000])


@pytest.fixture(scope="module")
def loaded_model(tiny_model: Path) -> SentimentModel:
    return load_model(str(tiny_model), InferenceOptions(precision="float32"))


def test_pending_mentions_are_classified_and_refused_ones_fail(engine: Engine, loaded_model: SentimentModel) -> None:
    add_mentions(engine, [f"mention number {i} about the iphone" for i in range(45)] + ["\x01\x02\x03"])
    sessions = make_sessionmaker(engine)
    report = classify_pending(sessions=sessions, model=loaded_model, batch_size=10)
    assert (report.classified, report.failed, report.batches) == (45, 1, 5)
    with sessions() as session:
        assert count_by_status(session=session) == {"classified": 45, "failed": 1}
        failed = session.execute(select(Mention).where(Mention.status == "failed")).scalar_one()
        assert failed.failure_reason is not None and "model refused the text" in failed.failure_reason
        done = session.execute(select(Mention).where(Mention.external_id == "0")).scalar_one()
        assert done.label in ("negative", "neutral", "positive") and done.model_version == "tiny"
        assert done.score_negative + done.score_neutral + done.score_positive == pytest.approx(1.0, abs=1e-5)
        assert done.classified_at is not None
    # Nothing is retried: the failed mention stays failed.
    assert classify_pending(sessions=sessions, model=loaded_model).batches == 0


class CrashingModel:
    """Classifies one batch, then dies as a process would in the middle of the next."""

    def __init__(self, inner: SentimentModel) -> None:
        self.inner, self.name, self.calls = inner, inner.name, 0

    def classify(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> list[Prediction | InvalidInput]:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("killed mid-batch")
        return self.inner.classify(texts)


def test_a_crash_mid_batch_leaves_that_batch_pending(engine: Engine, loaded_model: SentimentModel) -> None:
    add_mentions(engine, [f"text {i}" for i in range(25)])
    sessions = make_sessionmaker(engine)
    with pytest.raises(RuntimeError, match="killed mid-batch"):
        classify_pending(sessions=sessions, model=CrashingModel(loaded_model), batch_size=10)
    with sessions() as session:
        assert count_by_status(session=session) == {"classified": 10, "pending": 15}
    assert classify_pending(sessions=sessions, model=loaded_model, batch_size=10).classified == 15


def test_limit(engine: Engine, loaded_model: SentimentModel) -> None:
    add_mentions(engine, [f"text {i}" for i in range(30)])
    report = classify_pending(sessions=make_sessionmaker(engine), model=loaded_model, batch_size=8, limit=20)
    assert report.classified == 20 and report.batches == 3


@pytest.mark.postgres
def test_two_worker_processes_never_classify_a_mention_twice(postgres_url: str, tiny_model: Path) -> None:
    engine = make_engine(postgres_url)
    upgrade(engine)
    add_mentions(engine, [f"mention {i} of the new phone" for i in range(5000)])
    with engine.begin() as connection:
        # Every change of a mention away from pending is written down, with the backend that made it.
        connection.execute(text("CREATE TABLE audit (mention_id bigint, backend int)"))
        connection.execute(
            text(
                "CREATE FUNCTION audit_status() RETURNS trigger AS $$ BEGIN "
                "INSERT INTO audit VALUES (NEW.id, pg_backend_pid()); RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER audit_status AFTER UPDATE OF status ON mentions FOR EACH ROW "
                "WHEN (OLD.status = 'pending' AND NEW.status <> 'pending') EXECUTE FUNCTION audit_status()"
            )
        )
    env = {
        **os.environ,
        "BRANDPULSE_DATABASE_URL": postgres_url,
        "BRANDPULSE_MODEL": str(tiny_model),
        "BRANDPULSE_PRECISION": "float32",
        "BRANDPULSE_LOG_LEVEL": "WARNING",
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "classify-pending", "--batch-size", "25", "--no-progress"],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    with engine.connect() as connection:
        total, distinct, backends = connection.execute(
            text("SELECT count(*), count(DISTINCT mention_id), count(DISTINCT backend) FROM audit")
        ).one()
        pending = connection.execute(text("SELECT count(*) FROM mentions WHERE status = 'pending'")).scalar()
    assert (total, distinct, pending) == (5000, 5000, 0)
    engine.dispose()
    assert backends == 2, f"both workers should have taken batches: {outputs}"
    counts = [int(out.split()[0].replace(",", "")) for out, _ in outputs]
    assert sum(counts) == 5000


def test_classify_command(monkeypatch: pytest.MonkeyPatch, db_url: str, tiny_model: Path, tmp_path: Path) -> None:
    env = {"BRANDPULSE_MODEL": str(tiny_model)}
    assert "no pending mentions" in run_cli(monkeypatch, db_url, "classify-pending", **env).stdout
    result = run_cli(
        monkeypatch, db_url, "classify", "Questo progetto mi è piaciuto tantissimo!", "<!channel> hi", **env
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:5] == ["label", "confidence", "negative", "neutral", "positive"]
    assert "Questo progetto" in lines[2] and "<!channel> hi" in lines[3]

    as_json = run_cli(monkeypatch, db_url, "classify", "--json", "-", input="one\n\ntwo\n", **env)
    objects = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [o["text"] for o in objects] == ["one", "two"]
    assert {"label", "confidence", "scores", "model"} <= set(objects[0])

    texts = tmp_path / "texts.txt"
    texts.write_text("first\n   \nsecond\n")
    from_file = run_cli(monkeypatch, db_url, "classify", "--file", str(texts), "--json", "   ", **env)
    assert from_file.exit_code == 1  # the whitespace-only argument is refused, the file's texts are classified
    objects = [json.loads(line) for line in from_file.stdout.splitlines()]
    assert "error" in objects[0] and [o["text"] for o in objects[1:]] == ["first", "second"]

    missing = run_cli(monkeypatch, db_url, "classify", "hello", BRANDPULSE_MODEL=str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "BRANDPULSE_MODEL" in missing.stderr


def test_classify_pending_command(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tiny_model: Path, sanders: Path
) -> None:
    env = {"BRANDPULSE_MODEL": str(tiny_model)}
    assert run_cli(monkeypatch, db_url, "ingest", str(sanders)).exit_code == 0
    first = run_cli(monkeypatch, db_url, "classify-pending", "--limit", "300", **env)
    assert first.exit_code == 0 and "300 classified, 0 failed, model tiny" in first.stdout
    more = run_cli(monkeypatch, db_url, "classify-pending", "--limit", "200", "--batch-size", "64", **env)
    assert "200 classified" in more.stdout
    stored = json.loads(run_cli(monkeypatch, db_url, "history", "--format", "json", "--limit", "10000").stdout)
    labelled = [row for row in stored if row["label"] in ("negative", "neutral", "positive")]
    assert len(labelled) == 500 and all(row["model_version"] == "tiny" for row in labelled)
