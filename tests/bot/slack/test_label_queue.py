"""The labelling queue in Slack over signed HTTP: the job posts a batch of the mentions the model is least sure of;
an analyst of the brand answers with the buttons, the message says who said what, the answers join the pool, and
the next batch comes once the batch is answered; others are refused."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.jobs import labels
from bot.jobs.registry import build_jobs
from bot.slack.client import web_client
from bot.slack.outbox import Deliverer
from storage.mlops_tables import LabelRequest, PoolLabel
from tests.support.fake_slack import block_kit_problems
from tests.support.pipeline import T0, M, job_context, rows_of
from tests.support.slack import SIGNING_SECRET, Served, served

ANALYST = "U0ANALYST1"
BRANDS = """
brands:
  - name: acme
    keywords: [acmephone]
    label_queue: {channel: "#acme-labels", schedule: "0 10 * * 1-5", size: 2, days: 7}
  - name: globex
    keywords: [globex]
"""
NOW = T0 + timedelta(days=2)


def _seed(ctx: Any) -> None:
    from storage.mentions import insert_mentions

    rows = rows_of(M(T0 + timedelta(hours=i), f"acmephone thing {i} <!channel> & co", "negative") for i in range(5))
    for i, row in enumerate(rows):
        sure = 0.45 + 0.1 * i  # the first the least sure
        row["score_negative"], row["score_neutral"], row["score_positive"] = sure, 1 - sure - 0.05, 0.05
    with ctx.sessions.begin() as session:
        insert_mentions(connection=session.connection(), rows=rows)


def _posted(app: Served, ctx: Any) -> list[dict[str, Any]]:
    Deliverer(sessions=ctx.sessions, client=web_client(app.settings)).deliver_due()
    calls = app.fake.calls_to("chat.postMessage")
    [stamps] = app.fake.posted.values()  # every batch goes to #acme-labels
    return [
        {"type": "message", "ts": ts, "text": call.params["text"], "blocks": call.params["blocks"]}
        for call, ts in zip(calls, stamps, strict=True)
    ]


def _wait_for_queued(ctx: Any, n: int) -> None:
    from sqlalchemy import func

    from storage.models import OutboxMessage

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with ctx.sessions() as session:
            if session.scalar(select(func.count()).select_from(OutboxMessage)) >= n:
                return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} messages queued")


def _click(app: Served, message: dict[str, Any], request_block: int, choice: str, user: str, n: int) -> dict[str, Any]:
    actions = [b for b in message["blocks"] if b["type"] == "actions"][request_block]
    element = next(e for e in actions["elements"] if e["action_id"].endswith(f"_{choice}"))
    status, _, _ = app.click({**element, "block_id": actions["block_id"]}, user=user, response=f"q{n}", message=message)
    assert status == 200
    return app.answer(f"q{n}")


def test_analysts_label_the_batch_and_the_next_one_follows(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url, brands=BRANDS, slack_signing_secret=SIGNING_SECRET)
    _seed(ctx)
    assert "labels:acme" in {job.name for job in build_jobs(ctx)}
    assert labels.run(ctx, "acme", NOW) == "acme: 2 mentions asked about"
    assert labels.run(ctx, "acme", NOW + timedelta(days=1)) == "acme: 2 mentions still wait for a label"
    with served(
        tmp_path, None, database_url=db_url, brands_file=ctx.settings.brands_file, analyst_users=ANALYST
    ) as app:
        app.services.clock = lambda: NOW
        [batch] = _posted(app, ctx)
        assert block_kit_problems(batch["blocks"]) == []
        assert batch["blocks"][0]["text"]["text"] == "Help the model: acme"
        shown = json.dumps(batch["blocks"], ensure_ascii=False)
        assert "acmephone thing 0 &lt;!channel&gt; &amp; co" in shown and "<!channel>" not in shown
        assert "the model says *negative* (margin 0.05)" in shown  # 0.50 neutral - 0.45 negative
        assert app.fake.calls_to("chat.postMessage")[0].params["channel"] == "#acme-labels"

        refused = _click(app, batch, 0, "neutral", "U0NOBODY01", 1)
        assert "labelling the queue's mentions of acme is for its brandpulse admins and analysts" in refused["text"]

        first = _click(app, batch, 0, "neutral", ANALYST, 2)
        assert first["replace_original"] is True
        assert f"labelled *neutral* by <@{ANALYST}>" in json.dumps(first["blocks"])
        assert sum(b["type"] == "actions" for b in first["blocks"]) == 1  # the other mention still has its buttons
        again = _click(app, batch, 0, "positive", ANALYST, 3)  # the old message, clicked twice
        assert "Someone answered that one first (*neutral*)" in again["text"]

        second = _click(app, {**batch, "blocks": first["blocks"]}, 0, "skip", ANALYST, 4)
        assert "skipped by" in json.dumps(second["blocks"])
        # The batch is answered: the next one is queued (after the answer: wait for it) and posted.
        _wait_for_queued(ctx, 2)
        posted = _posted(app, ctx)
        assert len(posted) == 2 and posted[1]["blocks"][0]["text"]["text"] == "Help the model: acme"
        assert "acmephone thing 2" in json.dumps(posted[1]["blocks"])
        assert app.fake.violations == []

    with ctx.sessions() as session:
        answers = session.execute(select(PoolLabel).where(PoolLabel.origin == "queue")).scalars().all()
        statuses = sorted(r.status for r in session.execute(select(LabelRequest)).scalars())
    assert [(p.label, p.brand, p.author, p.source) for p in answers] == [("neutral", "acme", ANALYST, "slack")]
    assert statuses == ["answered", "open", "open", "skipped"]
