"""The pipeline as users run it: ``run-job``, ``replay`` and ``worker`` processes against the fake Slack Web API."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import JobRun, OutboxMessage
from storage.outbox import enqueue
from tests.support.cli import run_cli
from tests.support.fake_slack import FakeSlack, block_kit_problems
from tests.support.feeds import FeedServer, Route
from tests.support.pipeline import BRANDS_YAML, T0, M, add, job_context, stream, write_brands
from tests.support.slack import BOT_TOKEN
from tests.support.sources import RSS

HOUR = timedelta(hours=1)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def _env(tmp_path: Path, db_url: str, fake: FakeSlack, tiny_model: Path, **extra: str) -> dict[str, str]:
    return {
        "BRANDPULSE_DATABASE_URL": db_url,
        "BRANDPULSE_BRANDS_FILE": str(write_brands(tmp_path)),
        "BRANDPULSE_SLACK_BOT_TOKEN": BOT_TOKEN,
        "BRANDPULSE_SLACK_API_URL": fake.api_url,
        "BRANDPULSE_MODEL": str(tiny_model),
        "HF_HUB_OFFLINE": "1",
        **extra,
    }


def test_run_job_digest_posts_the_digest_and_its_chart(
    tmp_path: Path, db_url: str, fake: FakeSlack, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = job_context(tmp_path, db_url)
    now = datetime.now(UTC)
    add(ctx.sessions, stream(start=now - 30 * HOUR, hours=30, rate=3, seed=11))
    env = _env(tmp_path, db_url, fake, tiny_model)
    result = run_cli(monkeypatch, db_url, "run-job", "digest", "--brand", "acme", **env)
    assert result.exit_code == 0, result.output
    assert "digest:acme: digest of acme queued for #acme" in result.output
    assert "outbox: 1 delivered" in result.output
    [post] = fake.calls_to("chat.postMessage")
    assert post.params["channel"] == "#acme" and block_kit_problems(post.params["blocks"]) == []
    assert len(fake.uploads) == 1 and fake.violations == []

    refused = run_cli(monkeypatch, db_url, "run-job", "evaluate", **env)
    assert refused.exit_code == 2 and "set BRANDPULSE_EVALUATION_DATA" in refused.output
    wrong = run_cli(monkeypatch, db_url, "run-job", "digest", "--brand", "nosuch", **env)
    assert wrong.exit_code == 2 and "unknown brand 'nosuch'" in wrong.output


def test_run_job_classify_and_evaluate_with_a_local_model(
    tmp_path: Path, fake: FakeSlack, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = f"sqlite:///{tmp_path / 'jobs.db'}"
    ctx = job_context(tmp_path, db_url)
    add(ctx.sessions, [M(T0, f"acmephone {i}") for i in range(7)])
    labelled = tmp_path / "validation.jsonl"
    labelled.write_text(
        "".join(json.dumps({"text": f"t {i}", "label": "positive"}) + "\n" for i in range(5)) + "[" * 100_000 + "\n"
    )
    env = _env(tmp_path, db_url, fake, tiny_model, BRANDPULSE_EVALUATION_DATA=str(labelled))
    classified = run_cli(monkeypatch, db_url, "run-job", "classify", **env)
    assert classified.exit_code == 0 and "classify: 7 mentions classified, 0 failed" in classified.output
    evaluated = run_cli(monkeypatch, db_url, "run-job", "evaluate", **env)
    assert evaluated.exit_code == 0 and "validation.jsonl: accuracy" in evaluated.output
    assert "on 5 texts; 1 lines could not be read, the first" in evaluated.output
    assert "validation.jsonl:6: invalid JSON: nested too deeply" in evaluated.output
    with ctx.sessions() as session:
        runs = {r.job: r.status for r in session.execute(select(JobRun)).scalars()}
    assert runs == {"classify": "succeeded", "evaluate": "succeeded"}


def test_replay_classifies_and_posts_a_digest_and_an_alert(
    tmp_path: Path, fake: FakeSlack, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: a timestamped file with a volume spike on its fourth day, replayed on a fast simulated clock."""
    db_url = f"sqlite:///{tmp_path / 'replay.db'}"
    mentions = stream(start=T0, hours=4 * 24, rate=4, seed=12)
    burst = T0 + 3 * 24 * HOUR + 14 * HOUR
    mentions += [M(burst + timedelta(seconds=9 * i), f"acmephone outage everywhere {i}") for i in range(60)]
    file = tmp_path / "mentions.jsonl"
    with file.open("w", encoding="utf-8") as out:
        for i, m in enumerate(sorted(mentions, key=lambda m: m.at)):
            out.write(
                json.dumps({"id": f"r{i}", "brand": m.brand, "created_at": m.at.isoformat(), "text": m.text}) + "\n"
            )
        out.write('{"id": "bad", "brand": "acme", "text": "late", "created_at": "not a time"}\n')
    env = _env(
        tmp_path,
        db_url,
        fake,
        tiny_model,
        BRANDPULSE_CLASSIFY_INTERVAL_SECONDS="900",
        BRANDPULSE_SPIKE_INTERVAL_SECONDS="600",
    )
    result = run_cli(monkeypatch, db_url, "replay", str(file), "--speed", "1000000000", "--tail-hours", "20", **env)
    assert result.exit_code == 1  # one rejected row, reported with its line
    assert f"{file}:{len(mentions) + 1}: 'created_at'" in result.output
    assert f"{len(mentions) + 1:,} rows read, {len(mentions):,} added" in result.output

    posts = fake.calls_to("chat.postMessage")
    alerts = [p for p in posts if p.params["channel"] == "#acme-alerts"]
    digests = [p for p in posts if p.params["channel"] == "#acme"]
    assert len(alerts) == 1, [p.params["text"] for p in alerts]
    assert "acme: 6" in alerts[0].params["text"] and "outage" in alerts[0].params["text"]
    assert len(digests) == 5  # 09:00 on each day the clock passed: 2 to 6 March
    assert any(
        "not classified" not in json.dumps(d.params["blocks"]) and "positive" in d.params["text"] for d in digests
    )
    assert len(fake.uploads) == 5  # a chart with each
    assert fake.violations == []
    with job_context(tmp_path, db_url).sessions() as session:
        assert {m.status for m in session.execute(select(OutboxMessage)).scalars()} == {"sent"}


def _start_worker(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as stderr:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"],
            cwd=cwd,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def test_a_message_in_flight_when_the_worker_is_killed_is_delivered_after_restart(
    tmp_path: Path, fake: FakeSlack, tiny_model: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'outbox.db'}"
    ctx = job_context(tmp_path, db_url)
    with ctx.sessions() as session:
        enqueue(session=session, kind="alert", channel="#acme-alerts", payload={"text": "spike!"}, at=T0)
        session.commit()
    env = _env(tmp_path, db_url, fake, tiny_model, BRANDPULSE_OUTBOX_LEASE_SECONDS="3")
    # Slack takes its time over the first post: the worker is killed while it waits for the answer.
    fake.fail_next("chat.postMessage", status=503, body="slow", delay=60)
    first = _start_worker(env, tmp_path, tmp_path / "worker1.log")
    try:
        deadline = time.monotonic() + 60
        while fake.attempts.get("chat.postMessage", 0) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.attempts.get("chat.postMessage") == 1, (tmp_path / "worker1.log").read_text()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    assert fake.calls_to("chat.postMessage") == []
    second = _start_worker(env, tmp_path, tmp_path / "worker2.log")
    try:
        fake.wait_for(lambda f: f.calls_to("chat.postMessage"), timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, (tmp_path / "worker2.log").read_text()
    [post] = fake.calls_to("chat.postMessage")
    assert post.params["text"] == "spike!"
    with ctx.sessions() as session:
        [message] = session.execute(select(OutboxMessage)).scalars()
    assert message.status == "sent" and message.attempts == 2


@pytest.mark.postgres
def test_two_workers_run_each_occurrence_exactly_once(
    tmp_path: Path, postgres_url: str, fake: FakeSlack, tiny_model: Path
) -> None:
    feeds = FeedServer().start()
    feeds.routes["/news.xml"] = Route(RSS)
    brands = (
        BRANDS_YAML + f"sources:\n  - {{name: news, type: feed, url: '{feeds.url}/news.xml', interval_minutes: 1}}\n"
    )
    ctx = job_context(tmp_path, postgres_url, brands=brands)  # migrates the schema before either worker starts
    env = _env(
        tmp_path,
        postgres_url,
        fake,
        tiny_model,
        BRANDPULSE_CLASSIFY_INTERVAL_SECONDS="1",
        BRANDPULSE_SPIKE_INTERVAL_SECONDS="1",
        BRANDPULSE_LOG_LEVEL="DEBUG",
    )
    env["BRANDPULSE_BRANDS_FILE"] = str(write_brands(tmp_path, brands))  # _env wrote the file without the source
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    workers = [_start_worker(env, tmp_path, log) for log in logs]
    try:
        deadline = time.monotonic() + 120
        while not all("press Ctrl-C to stop" in log.read_text() for log in logs) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(8)  # both running: about 16 occurrences that both reach
        # The source's occurrences fall on whole minutes: wait for one that both workers reach.
        deadline = time.monotonic() + 75
        while time.monotonic() < deadline and not all("job source:news at" in log.read_text() for log in logs):
            time.sleep(0.5)
    finally:
        feeds.stop()
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(timeout=30) for worker in workers]
    assert codes == [0, 0], [log.read_text()[-3000:] for log in logs]

    ran = re.compile(r"job (classify|spikes|source:news) at (\S+): (?!run by another process)")
    skipped = re.compile(r"job (classify|spikes|source:news) at (\S+): run by another process")
    seen: list[dict[tuple[str, str], str]] = []
    for log in logs:
        text = log.read_text()
        outcome = dict.fromkeys(ran.findall(text), "ran")
        outcome.update(dict.fromkeys(skipped.findall(text), "skipped"))
        seen.append(outcome)
    both = set(seen[0]) & set(seen[1])
    assert len(both) >= 10, seen  # occurrences both workers reached: about 2 a second for the shared span
    for key in both:
        assert sorted([seen[0][key], seen[1][key]]) == ["ran", "skipped"], key
    # The source: polled once per interval, by one of the two.
    polls = {key for key in both if key[0] == "source:news"}
    assert len(polls) >= 1, seen
    assert len(feeds.requests_to("/news.xml")) == len({key for s in seen for key in s if key[0] == "source:news"})
    with ctx.sessions() as session:
        runs = list(session.execute(select(JobRun)).scalars())
    assert len({(r.job, r.scheduled_for) for r in runs}) == len(runs)
    assert {r.status for r in runs} == {"succeeded"}
    assert all(r.scheduled_for.microsecond == 0 for r in runs)  # on the shared whole-second grid
