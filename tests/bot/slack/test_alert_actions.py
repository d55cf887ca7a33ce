"""Acting on spike alerts over signed HTTP: acknowledge, snooze (honoured by the spike job), not a spike (lowering a
brand's sensitivity when repeated), details; each by an allowed and by a refused user."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.core.alerts import alert_state
from bot.jobs import spikes
from bot.slack.client import web_client
from bot.slack.outbox import Deliverer
from bot.slack.views.errors import NOT_OURS
from storage.models import BrandSensitivity, SpikeAlert
from tests.support.fake_slack import block_kit_problems
from tests.support.pipeline import T0, M, add, job_context, stream
from tests.support.slack import ADMIN, SIGNING_SECRET, Served, served

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
STRANGER, ANALYST = "U0SOMEONE1", "U0ANALYST1"


def _burst(end: datetime, text: str) -> list[M]:
    return [M(end - timedelta(minutes=55 - i), text.format(i=i), "negative") for i in range(45)]


def _posted(app: Served, ctx: Any) -> list[dict[str, Any]]:
    """Deliver the outbox to the fake Slack; the alerts as posted (their blocks and ts), oldest first."""
    Deliverer(sessions=ctx.sessions, client=web_client(app.settings)).deliver_due()
    [stamps] = app.fake.posted.values()  # every alert goes to #acme-alerts
    calls = app.fake.calls_to("chat.postMessage")
    return [
        {"type": "message", "ts": ts, "text": call.params["text"], "blocks": call.params["blocks"]}
        for call, ts in zip(calls, stamps, strict=True)
    ]


class Clicker:
    def __init__(self, app: Served) -> None:
        self.app, self.n = app, 0

    def __call__(self, message: dict[str, Any], action_id: str, user: str, option: int | None = None) -> dict[str, Any]:
        """Click a button (or pick an option) of ``message``; Slack's answer through the response URL."""
        actions = next(b for b in message["blocks"] if b["type"] == "actions")
        element = next(e for e in actions["elements"] if e["action_id"] == action_id)
        action = {**element, "block_id": actions["block_id"]}
        if option is not None:
            action["selected_option"] = element["options"][option]
        self.n += 1
        status, _, _ = self.app.click(action, user=user, response=f"a{self.n}", message=message)
        assert status == 200
        self.app.fake.wait_for(lambda f: any(r["url"] == f"/response/a{self.n}" for r in f.responses))
        return next(r for r in self.app.fake.responses if r["url"] == f"/response/a{self.n}")


def _stored(ctx: Any) -> dict[int, SpikeAlert]:
    with ctx.sessions() as session:
        return {a.id: a for a in session.execute(select(SpikeAlert)).scalars()}


def test_the_team_acts_on_alerts_and_the_spike_job_follows(tmp_path: Path, db_url: str) -> None:
    # The jobs and the Slack app share the signing secret, as serve and worker do: they sign the buttons alike.
    ctx = job_context(tmp_path, db_url, slack_signing_secret=SIGNING_SECRET)
    add(ctx.sessions, stream(start=T0, hours=8 * 24, rate=12, negative=0.2, seed=1))
    end = T0 + 8 * DAY + 15 * HOUR
    add(ctx.sessions, _burst(end, "acmephone battery explodes {i}"))
    assert "acme negative_share" in spikes.run(ctx, end)
    with served(
        tmp_path, None, database_url=db_url, brands_file=ctx.settings.brands_file, analyst_users=ANALYST
    ) as app:
        app.services.clock = lambda: end + timedelta(minutes=10)  # the team acts on the alert's (simulated) day
        click = Clicker(app)
        first, second = _posted(app, ctx)
        for post in (first, second):
            assert block_kit_problems(post["blocks"]) == []
        alert_id = max(_stored(ctx))  # the negative-share alert: the second stored

        # Acknowledge: refused for a stranger and an analyst, then done by an admin; the message shows it.
        refused = click(second, "alert_ack", STRANGER)
        assert "acknowledging an alert is for brandpulse admins" in refused["text"]
        assert "acknowledging an alert is for brandpulse admins" in click(second, "alert_ack", ANALYST)["text"]
        assert _stored(ctx)[alert_id].acknowledged_by is None
        acked = click(second, "alert_ack", ADMIN)
        assert acked["replace_original"] is True and block_kit_problems(acked["blocks"]) == []
        status = next(b for b in acked["blocks"] if b.get("block_id") == "alert_status")
        assert status["elements"][0]["text"].startswith(":white_check_mark: Acknowledged by <@UADMIN0001>, ")
        buttons = [e["action_id"] for e in acked["blocks"][-1]["elements"]]
        assert buttons == ["alert_snooze", "alert_not_a_spike", "alert_details"]  # no second acknowledgement
        assert acked["blocks"][:-2] == second["blocks"][:-1]  # the alert itself unchanged
        state = alert_state(ctx.sessions, alert_id)
        assert state is not None and state.acknowledged_by == ADMIN

        # The alert's sample mentions carry the same menu as history's: handled from the alert itself.
        sample = next(b for b in second["blocks"] if b.get("accessory", {}).get("action_id") == "mention_menu")
        option = next(
            o for g in sample["accessory"]["option_groups"] for o in g["options"] if o["text"]["text"] == "Mark handled"
        )
        action = {"action_id": "mention_menu", "type": "static_select", "block_id": "s1", "selected_option": option}
        app.click(action, user=ADMIN, response="sample", message=second)
        app.fake.wait_for(lambda f: any(r["url"] == "/response/sample" for r in f.responses))
        handled = next(r for r in app.fake.responses if r["url"] == "/response/sample")
        assert "marked handled this *acme* mention" in handled["text"] and handled["replace_original"] is False

        # Details: the statistics, for readers of the brand only.
        details = click(second, "alert_details", ANALYST)
        assert "p-value" in details["text"] and "binomial" in details["text"] and details["replace_original"] is False
        assert "thresholds: 3.0× the baseline, 50% negative, 50% angry, at least 20 mentions" in details["text"]
        assert (
            "alert details of acme is for its brandpulse admins and analysts"
            in click(second, "alert_details", STRANGER)["text"]
        )

        # Snooze for 4 hours: the spike job stays quiet until then, however spiky.
        assert "snoozing" in click(second, "alert_snooze", STRANGER, option=1)["text"]
        snoozed = click({**second, "blocks": acked["blocks"]}, "alert_snooze", ADMIN, option=1)
        status = next(b for b in snoozed["blocks"] if b.get("block_id") == "alert_status")
        lines = [e["text"] for e in status["elements"]]
        assert lines[0].startswith(":white_check_mark: Acknowledged by <@UADMIN0001>")
        assert lines[1].startswith(":zzz: acme snoozed by <@UADMIN0001> until ")
        later = end + 2 * HOUR
        add(ctx.sessions, _burst(later, "acmephone battery explodes again {i}"))
        assert "snoozed: acme until " in spikes.run(ctx, later) and len(_stored(ctx)) == 2
        after = end + 5 * HOUR
        add(ctx.sessions, _burst(after, "acmephone battery explodes once more {i}"))
        assert "alerts: acme" in spikes.run(ctx, after)
        third = _posted(app, ctx)[-1]

        # Not a spike: a stranger changes nothing; three verdicts make the brand less sensitive, said in the channel.
        assert "judging an alert is for brandpulse admins" in click(first, "alert_not_a_spike", STRANGER)["text"]
        assert all(a.verdict is None for a in _stored(ctx).values())
        verdicts = []
        for post in (first, {**second, "blocks": snoozed["blocks"]}, third):
            judged = click(post, "alert_not_a_spike", ADMIN)
            assert "Not a spike, said <@UADMIN0001>" in json.dumps(judged["blocks"])
            assert "alert_not_a_spike" not in json.dumps(judged["blocks"][-1])
            verdicts.append(judged)
        # Acknowledged, snoozed, then judged: the message keeps all three.
        status = next(b for b in verdicts[1]["blocks"] if b.get("block_id") == "alert_status")
        assert [e["text"][:6] for e in status["elements"]] == [":white", ":no_en", ":zzz: "]
        # The statement is a second answer through the third click's response URL, after the message's update.
        app.fake.wait_for(lambda f: any(r.get("response_type") == "in_channel" for r in f.responses))
        [statement] = [r for r in app.fake.responses if r.get("response_type") == "in_channel"]
        assert statement["url"] == f"/response/a{click.n}" and statement["replace_original"] is False
        assert "3 spike alerts of *acme* were marked _not a spike_ within 30 days" in statement["text"]
        assert (
            "4.5× the usual volume (was 3×), 60% negative (was 50%), 60% angry (was 50%), at least 30 mentions (was 20)"
            in statement["text"]
        )
        with ctx.sessions() as session:
            assert session.get(BrandSensitivity, "acme").level == 1  # type: ignore[union-attr]
        # The job uses the lowered thresholds from now on (and says so behind Details).
        later = end + 8 * HOUR
        add(ctx.sessions, _burst(later, "acmephone battery explodes yet again {i}"))
        spikes.run(ctx, later)
        newest = max(_stored(ctx).values(), key=lambda a: a.id)
        assert newest.details["thresholds"] == {
            "volume_factor": 4.5,
            "negative_share": 0.6,
            "anger_share": 0.6,
            "min_volume": 30,
            "level": 1,
        }
        # A forged button (an id the bot did not sign) is refused, and says so.
        forged = {
            **second,
            "blocks": [
                {
                    "type": "actions",
                    "block_id": "alert_actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "alert_ack",
                            "text": {"type": "plain_text", "text": "x"},
                            "value": "1",
                        }
                    ],
                }
            ],
        }
        count = len(app.fake.responses)
        app.click(
            {**forged["blocks"][0]["elements"][0], "block_id": "alert_actions"},
            user=ADMIN,
            message=forged,
            response="forged",
        )
        assert NOT_OURS in app.answer("forged")["text"]
        assert len(app.fake.responses) == count + 1
        assert app.fake.violations == []
