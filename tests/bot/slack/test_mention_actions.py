"""Acting on mentions from a history page over signed HTTP: mark handled, open again, assign; each action stored with
who and when, shown where the mention shows next, and filtered on; refused for those who may not act."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.triage import mutes, unmute
from bot.slack.views.errors import NOT_OURS
from storage.db import make_engine
from storage.mentions import insert_mentions
from storage.models import Mention, MentionAction
from tests.support.fake_slack import block_kit_problems
from tests.support.slack import ADMIN, Served, served

NOW = datetime.now(UTC).replace(microsecond=0)
TEAMMATE, STRANGER = "U0TEAMMAT1", "U0SOMEONE1"


@pytest.fixture
def app(tmp_path: Path, db_url: str) -> Iterator[Served]:
    rows = [
        {
            "source": "import",
            "external_id": f"m{i}",
            "brand": "apple",
            "text": f"iphone mention {i}",
            "created_at": NOW - timedelta(hours=i + 1),
            "ingested_at": NOW,
            "status": "classified",
            "label": "negative",
            "score_negative": 0.8,
            "score_neutral": 0.1,
            "score_positive": 0.1,
            "model_version": "tiny",
            "classified_at": NOW,
        }
        for i in range(3)
    ]
    engine = make_engine(db_url)
    with served(tmp_path, None, database_url=db_url, analyst_users=TEAMMATE) as s:
        with engine.begin() as connection:
            insert_mentions(connection=connection, rows=rows)
        engine.dispose()
        yield s


class Session:
    """One user's clicks and commands, each answered through its own response URL."""

    def __init__(self, app: Served) -> None:
        self.app, self.n = app, 0

    def _answer(self, name: str) -> dict[str, Any]:
        self.app.fake.wait_for(lambda f: any(r["url"] == f"/response/{name}" for r in f.responses))
        return next(r for r in self.app.fake.responses if r["url"] == f"/response/{name}")

    def ask(self, text: str, user: str = ADMIN) -> dict[str, Any]:
        self.n += 1
        assert self.app.slash(text, user=user, response=f"q{self.n}")[0] == 200
        answer = self._answer(f"q{self.n}")
        assert block_kit_problems(answer.get("blocks", [])) == []
        return answer

    def pick(self, page: dict[str, Any], index: int, text: str, user: str = ADMIN) -> dict[str, Any]:
        """Choose ``text`` in the menu of the page's ``index``-th mention."""
        menu = [b for b in page["blocks"] if b["type"] == "section"][index]["accessory"]
        option = next(o for g in menu["option_groups"] for o in g["options"] if o["text"]["text"] == text)
        self.n += 1
        action = {"action_id": menu["action_id"], "type": "static_select", "block_id": "b1", "selected_option": option}
        self.app.click(action, user=user, response=f"c{self.n}")
        return self._answer(f"c{self.n}")

    def assign(self, page: dict[str, Any], index: int, to: str, user: str = ADMIN) -> dict[str, Any]:
        block = [b for b in page["blocks"] if b.get("block_id", "").startswith("assign:")][index]
        self.n += 1
        action = {**block["elements"][0], "block_id": block["block_id"], "selected_user": to}
        self.app.click(action, user=user, response=f"c{self.n}")
        return self._answer(f"c{self.n}")


def _mentions(app: Served) -> dict[str, Mention]:
    with app.services.sessions() as session:
        return {m.external_id: m for m in session.execute(select(Mention)).scalars()}


def test_admins_triage_mentions_and_history_shows_and_filters_it(app: Served) -> None:
    you = Session(app)
    page = you.ask("history apple 24h")
    # Someone who may only read, and someone who may not even read: refused, nothing changes.
    assert "triaging a mention is for brandpulse admins" in you.pick(page, 0, "Mark handled", user=TEAMMATE)["text"]
    assert "assigning a mention is for brandpulse admins" in you.assign(page, 0, TEAMMATE, user=STRANGER)["text"]
    assert all(m.handled_by is None and m.assignee is None for m in _mentions(app).values())

    handled = you.pick(page, 0, "Mark handled")
    assert handled["text"].startswith("<@UADMIN0001> marked handled this *apple* mention. Now handled by <@UADMIN0001>")
    assigned = you.assign(page, 1, TEAMMATE)
    assert "assigned to <@U0TEAMMAT1> this *apple* mention" in assigned["text"]
    stored = _mentions(app)
    assert stored["m0"].handled_by == ADMIN and stored["m0"].handled_at is not None
    assert (stored["m1"].assignee, stored["m1"].assigned_by) == (TEAMMATE, ADMIN)

    # Where the mention shows next: its state, and the menu offers to open it again.
    again = you.ask("history apple 24h")
    first, second, third = [b for b in again["blocks"] if b["type"] == "section"][:3]
    assert "handled by <@UADMIN0001>" in first["text"]["text"]
    assert "assigned to <@U0TEAMMAT1>" in second["text"]["text"] and "handled" not in third["text"]["text"]
    options = [o["text"]["text"] for g in first["accessory"]["option_groups"] for o in g["options"]]
    assert options[0] == "Open it again"
    assign_blocks = [b for b in again["blocks"] if b.get("block_id", "").startswith("assign:")]
    assert assign_blocks[1]["elements"][0]["initial_user"] == TEAMMATE

    # Filters: handled, unhandled, assigned, and "mine" for the teammate (an analyst: reads, does not act).
    def shown(answer: dict[str, Any]) -> list[str]:
        return [b["text"]["text"].split("> ")[-1] for b in answer["blocks"] if b["type"] == "section"]

    assert shown(you.ask("history apple 24h handled")) == ["iphone mention 0"]
    assert shown(you.ask("history apple 24h unhandled")) == ["iphone mention 1", "iphone mention 2"]
    assert shown(you.ask("history apple 24h assigned")) == ["iphone mention 1"]
    mine = you.ask("history apple 24h mine", user=TEAMMATE)
    assert shown(mine) == ["iphone mention 1"] and "assigned to <@U0TEAMMAT1>" in json.dumps(mine["blocks"][1])

    # Open again; every action is kept with who and when, corrections included.
    you.pick(again, 0, "Open it again")
    you.pick(again, 0, "positive")
    assert _mentions(app)["m0"].handled_by is None
    with app.services.sessions() as session:
        log = [
            (a.action, a.value, a.user)
            for a in session.execute(select(MentionAction).order_by(MentionAction.id)).scalars()
        ]
    assert log == [
        ("handled", None, ADMIN),
        ("assigned", TEAMMATE, ADMIN),
        ("reopened", None, ADMIN),
        ("corrected", "positive", ADMIN),
    ]
    assert app.fake.violations == []


def test_forged_triage_values_change_nothing_and_say_so(app: Served) -> None:
    for n, value in enumerate(["1:delete", "x:handled", ":handled"]):
        action = {"action_id": "mention_menu", "type": "static_select", "selected_option": {"value": value}}
        app.click(action, user=ADMIN, response=f"f{n}")
        assert NOT_OURS in app.answer(f"f{n}")["text"]
    app.click(
        {"action_id": "mention_assign", "type": "users_select", "block_id": "assign:x", "selected_user": TEAMMATE},
        user=ADMIN,
        response="f8",
    )
    app.click(
        {"action_id": "mention_assign", "type": "users_select", "block_id": "assign:1", "selected_user": "<!channel>"},
        user=ADMIN,
        response="f9",
    )
    assert NOT_OURS in app.answer("f8")["text"] and NOT_OURS in app.answer("f9")["text"]
    assert all(m.handled_by is None and m.assignee is None for m in _mentions(app).values())


def test_muting_an_author_or_a_domain_hides_their_mentions_of_the_brand_now_and_later(
    tmp_path: Path, db_url: str
) -> None:
    def row(i: int, author: str | None, url: str | None, brand: str = "apple") -> dict[str, Any]:
        return {
            "source": "import",
            "external_id": f"t{i}",
            "brand": brand,
            "author": author,
            "url": url,
            "text": f"iphone text {i}",
            "created_at": NOW - timedelta(hours=i + 1),
            "ingested_at": NOW,
            "status": "pending",
        }

    rows = [
        row(0, "Troll42", "https://spam.example.com/p/1"),
        row(1, "ana", "https://news.test/a?next=https://spam.example.com/"),  # the domain only in its query
        row(2, "troll42", None),  # the same author, in another case
        row(3, "Troll42", None, brand="google"),  # another brand: not muted
        row(4, "Émile", "https://twitter.com/emile/status/1"),  # a platform's link: only its author is offered
    ]
    engine = make_engine(db_url)
    with served(tmp_path, None, database_url=db_url) as app:
        with engine.begin() as connection:
            insert_mentions(connection=connection, rows=rows)
        you = Session(app)
        page = you.ask("history apple 24h")
        options = [
            o["text"]["text"]
            for g in [b for b in page["blocks"] if b["type"] == "section"][0]["accessory"]["option_groups"]
            for o in g["options"]
        ]
        assert options == ["Mark handled", "Mute Troll42 for apple", "Mute spam.example.com for apple"]
        emile = next(b for b in page["blocks"] if b["type"] == "section" and "iphone text 4" in b["text"]["text"])
        assert "twitter.com" not in json.dumps(emile["accessory"])
        # A name beyond ASCII is matched in any case, stored or to come (SQL's lower() would not fold É).
        index = [b for b in page["blocks"] if b["type"] == "section"].index(emile)
        assert "its 1 stored mention and those to come" in you.pick(page, index, "Mute Émile for apple")["text"]
        assert "is for brandpulse admins" in you.pick(page, 0, "Mute Troll42 for apple", user=STRANGER)["text"]

        muted = you.pick(page, 0, "Mute Troll42 for apple")
        assert "muted the author *troll42* for *apple*: its 2 stored mentions and those to come" in muted["text"]
        shown = [
            b["text"]["text"].split("> ")[-1] for b in you.ask("history apple 24h")["blocks"] if b["type"] == "section"
        ]
        assert shown == ["iphone text 1"]
        # Stats leave them out; google's mention by the same author stays, as the mute is apple's.
        assert you.ask("stats apple 7d")["blocks"][0]["text"]["text"].startswith("apple: 1 mention ")
        assert you.ask("stats google 7d")["blocks"][0]["text"]["text"].startswith("google: 1 mention ")
        # A new mention by the muted author is stored, and hidden at once.
        with engine.begin() as connection:
            insert_mentions(connection=connection, rows=[row(5, "TROLL42", "https://x.test/"), row(6, "bob", None)])
        shown = [
            b["text"]["text"].split("> ")[-1] for b in you.ask("history apple 24h")["blocks"] if b["type"] == "section"
        ]
        assert shown == ["iphone text 1", "iphone text 6"] or shown == ["iphone text 6", "iphone text 1"]

        # A domain: the link's host and its subdomains, not a link that only names it in its query.
        page = you.ask("history apple 24h")
        ana = [b for b in page["blocks"] if b["type"] == "section"]
        index = next(i for i, b in enumerate(ana) if "iphone text 1" in b["text"]["text"])
        assert "Mute news.test for apple" in json.dumps(ana[index]["accessory"])
        with app.services.sessions() as session:
            hidden = {m.external_id for m in session.execute(select(Mention).where(Mention.muted)).scalars()}
        assert hidden == {"t0", "t2", "t4", "t5"}

        # Unmuting shows them again.
        for mute in mutes(app.services.sessions):
            assert unmute(app.services.sessions, mute.id) is not None
        with app.services.sessions() as session:
            assert not session.execute(select(Mention).where(Mention.muted)).scalars().all()
        assert app.fake.violations == []
    engine.dispose()
