"""Scheduled reports: on their cron, a group of brands side by side (or one brand's page), built once and sent as a PDF
to a channel, by e-mail with the PDF attached and as figures to a webhook, each once, through the outbox; and end to
end with `brandpulse run-job report`, every receiver on loopback."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.config.brands import load_brands
from bot.errors import ConfigError
from bot.jobs import reports
from bot.jobs.registry import build_jobs, select_jobs
from storage.models import OutboxMessage
from tests.support.cli import run_cli
from tests.support.fake_slack import FakeSlack, block_kit_problems
from tests.support.pipeline import M, add, job_context, write_brands
from tests.support.receivers import SMTP_PASSWORD, SMTP_USER, WEBHOOK_SECRET, smtp_server, webhook_receiver

ROME = ZoneInfo("Europe/Rome")
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=ROME)  # the run: the Monday after the week of 23 November
BRANDS = """
brands:
  - name: acme
    keywords: [acmephone]
  - name: globex
    keywords: [globex]
webhooks:
  - name: zapier
    url: "URL"
    secret: "${BRANDPULSE_NOTIFY_ZAPIER_SECRET}"
    events: [report]
reports:
  - name: weekly-competitive
    brands: all
    schedule: "0 8 * * 1"
    period: last week
    channel: "#marketing"
    email: [head@acme.test]
    webhooks: [zapier]
  - name: acme-monthly
    brands: [acme]
    schedule: "0 8 1 * *"
    period: last month
    email: [head@acme.test]
"""


def _week(tmp_path: Path, db_url: str, url: str = "https://hooks.test/x"):  # type: ignore[no-untyped-def]
    ctx = job_context(tmp_path, db_url, brands=BRANDS.replace("URL", url), timezone="Europe/Rome")
    week = datetime(2026, 11, 23, tzinfo=ROME)
    add(
        ctx.sessions,
        [
            *(M(week + timedelta(days=d, hours=10), f"acmephone battery {d}", "negative") for d in range(6)),
            *(M(week + timedelta(days=d, hours=11), f"acmephone camera {d}", "positive") for d in range(3)),
            *(M(week + timedelta(days=d, hours=12), f"globex cloud {d}", "neutral", brand="globex") for d in range(3)),
            M(week - timedelta(days=2), "acmephone the week before", "neutral"),
        ],
    )
    return ctx


def _outbox(ctx) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with ctx.sessions() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_a_group_report_is_built_once_and_queued_for_its_channel_mailbox_and_webhook(
    tmp_path: Path, db_url: str
) -> None:
    ctx = _week(tmp_path, db_url)
    jobs = {job.name: job for job in build_jobs(ctx)}
    assert {"report:weekly-competitive", "report:acme-monthly"} <= set(jobs)
    fires = jobs["report:weekly-competitive"].trigger.get_next_fire_time(None, datetime(2026, 11, 27, tzinfo=ROME))
    assert fires == MONDAY  # its cron, in the team's time zone

    summary = reports.run(ctx, "weekly-competitive", MONDAY)
    assert summary == (
        "report weekly-competitive (12 mentions, last week) queued for #marketing, 1 e-mail addresses, 1 webhooks"
    )
    slack, mail, hook = _outbox(ctx)
    assert (slack.target, slack.channel, slack.kind) == ("slack", "#marketing", "report")
    assert slack.attachment is not None and slack.attachment[:5] == b"%PDF-"
    assert slack.attachment_name == "acme-globex-20261123-20261130.pdf"
    assert block_kit_problems(slack.payload["blocks"]) == []
    assert slack.payload["blocks"][0]["text"]["text"] == "Report: acme, globex, last week"
    assert "*acme* `████████░░` 75% of voice" in str(slack.payload["blocks"])
    assert (mail.target, mail.channel, mail.payload["to"]) == ("email", "weekly-competitive", ["head@acme.test"])
    assert mail.attachment == slack.attachment  # built once
    assert mail.payload["subject"] == "acme, globex: 23–29 Nov 2026 (last week)"
    assert "12 mentions of 2 brands" in mail.payload["text"]
    assert (hook.target, hook.channel, hook.payload["type"]) == ("webhook", "zapier", "report.created")
    rows = hook.payload["data"]["rows"]
    assert [(r["brand"], r["mentions"], r["share_of_voice"]) for r in rows] == [("acme", 9, 0.75), ("globex", 3, 0.25)]
    assert hook.payload["data"]["name"] == "weekly-competitive"

    # Run again for the same week (another process, a manual run): nothing more is queued.
    assert reports.run(ctx, "weekly-competitive", MONDAY + timedelta(minutes=5)) == (
        "report weekly-competitive for last week was already queued"
    )
    assert len(_outbox(ctx)) == 3

    # One brand: its one-page report; the month of November.
    first = datetime(2026, 12, 1, 8, tzinfo=ROME)
    assert "report acme-monthly (10 mentions, last month) queued for 1 e-mail addresses" == reports.run(
        ctx, "acme-monthly", first
    )
    monthly = _outbox(ctx)[-1]
    assert monthly.attachment_name == "acme-20261101-20261201.pdf" and monthly.payload["subject"].startswith("acme: ")
    text = subprocess.run(["pdftotext", "-", "-"], input=monthly.attachment, capture_output=True, check=True).stdout
    assert b"acme" in text and b"10" in text

    chosen = select_jobs(build_jobs(ctx), "report", None)
    assert [job.name for job in chosen] == ["report:weekly-competitive", "report:acme-monthly"]


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ("{name: r, brands: [acme]}", "a scheduled report goes somewhere"),
        ("{name: r, brands: [nope], channel: '#x'}", "report 'r' names brands that are not defined: nope"),
        ("{name: r, brands: [acme], channel: '#x', period: fortnight}", "expected yesterday, last week"),
        ("{name: r, brands: [acme], email: ['not an address']}", "reports[0] (r).email[0]"),
        ("{name: r, brands: [acme], webhooks: [nope]}", "report 'r' names webhooks that are not defined: nope"),
        ("{name: r, brands: [acme], channel: '#x', schedule: '61 * * * *'}", "schedule"),
    ],
)
def test_scheduled_reports_in_the_brands_file_are_checked(tmp_path: Path, report: str, message: str) -> None:
    path = write_brands(tmp_path, f"brands:\n  - name: acme\nreports:\n  - {report}\n")
    with pytest.raises(ConfigError) as raised:
        load_brands(path)
    assert message in str(raised.value)


def test_run_job_report_delivers_to_slack_a_mailbox_and_a_webhook(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    with FakeSlack() as slack, webhook_receiver() as receiver, smtp_server(tmp_path) as box:
        ctx = _week(tmp_path, db_url, url=receiver.url)
        env = {
            "BRANDPULSE_BRANDS_FILE": str(ctx.settings.brands_file),
            "BRANDPULSE_TIMEZONE": "Europe/Rome",
            "BRANDPULSE_SLACK_BOT_TOKEN": "xoxb-test",
            "BRANDPULSE_SLACK_API_URL": slack.api_url,
            "BRANDPULSE_SMTP_HOST": box.host,
            "BRANDPULSE_SMTP_PORT": str(box.port),
            "BRANDPULSE_SMTP_USERNAME": SMTP_USER,
            "BRANDPULSE_SMTP_PASSWORD": SMTP_PASSWORD,
            "BRANDPULSE_SMTP_CA_FILE": box.ca_file,
            "BRANDPULSE_SMTP_FROM": "reports@acme.test",
            "BRANDPULSE_NOTIFY_ZAPIER_SECRET": WEBHOOK_SECRET,
        }
        result = run_cli(monkeypatch, db_url, "run-job", "report", **env)
        assert result.exit_code == 0, result.output
        assert "report:weekly-competitive: report weekly-competitive" in result.output
        assert "outbox: 4 delivered" in result.output  # the channel, two e-mails, the webhook
        [post] = slack.calls_to("chat.postMessage")
        assert post.params["channel"] == "#marketing" and slack.violations == []
        [named] = slack.calls_to("files.getUploadURLExternal")
        assert named.params["filename"].endswith(".pdf")
        assert [email["Subject"].split(":")[0] for _, _, email in box.received] == ["acme, globex", "acme"]
        assert box.encrypted == [True, True]
        [delivery] = receiver.deliveries
        assert delivery.verified and delivery.event["type"] == "report.created"
        assert SMTP_PASSWORD not in result.output and WEBHOOK_SECRET not in result.output
