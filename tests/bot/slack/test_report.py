"""``/sentiment report <brand> [period]`` over signed HTTP: a past week's digest posted where it was asked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.slack.client import web_client
from bot.slack.outbox import Deliverer
from storage.db import make_engine
from storage.mentions import insert_mentions
from storage.models import OutboxMessage
from tests.support.fake_slack import block_kit_problems
from tests.support.slack import ADMIN, Served, served

WEEK = datetime(2026, 11, 23, tzinfo=UTC)  # Monday; the bot's timezone is UTC by default


def _rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(21):
        label = ("negative", "neutral", "positive")[i % 3]
        rows.append(
            {
                "source": "import",
                "external_id": f"m{i}",
                "brand": "apple",
                "author": None,
                "url": f"https://example.com/{i}",
                "text": f"iphone screen cracked {i}" + (" <!channel>" if i == 3 else ""),
                "language": "en",
                "language_confidence": 0.9,
                # Three a day for the week, and one more the Monday after (i = 20 lands on 30 Nov).
                "created_at": WEEK + timedelta(hours=8 * i),
                "ingested_at": WEEK,
                "status": "classified",
                "label": label,
                "score_negative": 0.8 if label == "negative" else 0.1,
                "score_neutral": 0.1,
                "score_positive": 0.8 if label == "positive" else 0.1,
                "model_version": "tiny",
                "classified_at": WEEK,
                "likes": 9 if i == 3 else None,  # the most engaged negative one: quoted first
            }
        )
    rows[-1]["created_at"] = WEEK + timedelta(days=7, hours=1)
    return rows


@pytest.fixture
def app(tmp_path: Path, db_url: str) -> Iterator[Served]:
    engine = make_engine(db_url)
    with served(tmp_path, None, database_url=db_url) as s:
        with engine.begin() as connection:
            insert_mentions(connection=connection, rows=_rows())
        engine.dispose()
        yield s


def _ask(app: Served, text: str, user: str = ADMIN, count: int = 1) -> list[dict[str, Any]]:
    status, _, seconds = app.slash(text, user=user)
    assert status == 200 and seconds < 3
    app.fake.wait_for(lambda f: len(f.responses) >= count)
    return app.fake.responses


def _queued(app: Served) -> int:
    with app.services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def test_an_admin_gets_a_past_week_in_the_channel_with_its_chart_in_the_thread(app: Served) -> None:
    answers = _ask(app, "report apple 2026-11-23..2026-11-29", count=2)
    progress, done = answers
    assert progress["text"].startswith(":hourglass_flowing_sand: Building the report of *apple*")
    assert done["replace_original"] is True
    assert "(20 mentions) is on its way to this channel" in done["text"]
    deliverer = Deliverer(sessions=app.services.sessions, client=web_client(app.settings))
    assert deliverer.deliver_due() == 1
    [post] = app.fake.calls_to("chat.postMessage")
    assert post.params["channel"] == "C0000000001"  # where the command was typed
    blocks = post.params["blocks"]
    assert block_kit_problems(blocks) == []
    assert blocks[0]["text"]["text"] == "Report: apple, 2026-11-23..2026-11-29"
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "*20* mentions" in shown and "Mon 23 Nov 2026 00:00 – Mon 30 Nov 2026 00:00 UTC" in shown
    assert "asked for by <@UADMIN0001>" in shown
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown
    assert "Top words: screen (20) · cracked (20)" in shown or "Top words: cracked (20) · screen (20)" in shown
    channel_id = app.fake.calls_to("files.completeUploadExternal")[0].params["channel_id"]
    [file_id] = app.fake.shared_files[channel_id]
    assert app.fake.file_threads[file_id] == app.fake.posted[channel_id][0]  # the chart in the report's thread
    assert app.fake.violations == []

    again = _ask(app, "report apple 2026-11-23..2026-11-29", count=4)
    assert "was already posted in this channel" in again[3]["text"] and _queued(app) == 1


def test_a_report_for_someone_else_or_a_bad_period_queues_nothing(app: Served) -> None:
    refused = _ask(app, "report apple last week", user="U0SOMEONE1")
    assert "`/sentiment report` of apple is for its brandpulse admins and analysts" in refused[0]["text"]
    bad = _ask(app, "report apple fortnight", count=2)
    assert "`fortnight` is not a period" in bad[1]["text"]
    unknown = _ask(app, "report nokia last week", count=3)
    assert "`nokia` is not a brand brandpulse watches" in unknown[2]["text"]
    backwards = _ask(app, "report apple 2026-11-30..2026-11-01", count=4)
    assert "ends before it starts" in backwards[3]["text"]
    assert _queued(app) == 0 and app.fake.violations == []


def test_a_report_as_pdf_puts_the_one_page_report_in_the_thread(app: Served) -> None:
    progress, done = _ask(app, "report apple 2026-11-23..2026-11-29 as PDF", count=2)
    assert progress["text"].startswith(
        ":hourglass_flowing_sand: Building the report of *apple* for 2026-11-23..2026-11-29"
    )
    assert "is on its way to this channel, the PDF in its thread" in done["text"]
    deliverer = Deliverer(sessions=app.services.sessions, client=web_client(app.settings))
    assert deliverer.deliver_due() == 1
    [post] = app.fake.calls_to("chat.postMessage")
    assert post.params["blocks"][0]["text"]["text"] == "Report: apple, 2026-11-23..2026-11-29"
    [named] = app.fake.calls_to("files.getUploadURLExternal")
    assert named.params["filename"] == "apple-20261123-20261130.pdf"
    channel_id = app.fake.calls_to("files.completeUploadExternal")[0].params["channel_id"]
    [file_id] = app.fake.shared_files[channel_id]
    assert (
        app.fake.uploads[file_id][:5] == b"%PDF-" and app.fake.file_threads[file_id] == app.fake.posted[channel_id][0]
    )
    assert app.fake.violations == []
    # The chart version of the same report is another report: both can be asked for.
    chart = _ask(app, "report apple 2026-11-23..2026-11-29", count=4)
    assert "its chart in its thread" in chart[3]["text"] and _queued(app) == 2


def test_brands_side_by_side_with_the_pdf_in_the_thread(app: Served) -> None:
    progress, done = _ask(app, "report all 2026-11-23..2026-11-29 as pdf", count=2)
    assert progress["text"].startswith(
        ":hourglass_flowing_sand: Building the report of *apple, google, microsoft, twitter* for 2026-11-23"
    )
    assert "(20 mentions) is on its way to this channel, the PDF in its thread" in done["text"]
    deliverer = Deliverer(sessions=app.services.sessions, client=web_client(app.settings))
    assert deliverer.deliver_due() == 1
    [post] = app.fake.calls_to("chat.postMessage")
    blocks = post.params["blocks"]
    assert block_kit_problems(blocks) == []
    assert blocks[0]["text"]["text"] == "Report: apple, google, microsoft, twitter, 2026-11-23..2026-11-29"
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "*apple* `██████████` 100% of voice · 20 mentions (new) · 35% negative · net -5" in shown
    assert "*google* `░░░░░░░░░░` 0% of voice · 0 mentions (no change)" in shown
    [named] = app.fake.calls_to("files.getUploadURLExternal")
    assert named.params["filename"] == "apple-google-microsoft-twitter-20261123-20261130.pdf"
    channel_id = app.fake.calls_to("files.completeUploadExternal")[0].params["channel_id"]
    [file_id] = app.fake.shared_files[channel_id]
    assert app.fake.uploads[file_id][:5] == b"%PDF-" and app.fake.violations == []

    two = _ask(app, "report google,apple 2026-11-23..2026-11-29", count=4)
    assert "The report of *google, apple*" in two[3]["text"] and _queued(app) == 2
