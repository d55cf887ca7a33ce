"""Roles: admins and analysts from user IDs and Slack user groups, globally and per brand, over signed HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config.brands import load_brands
from bot.errors import ConfigError
from bot.slack.roles import Roles
from storage.db import make_engine
from storage.mentions import insert_mentions
from tests.support.slack import Served, served

NOW = datetime.now(UTC).replace(microsecond=0)
BRANDS = """
brands:
  - name: apple
    keywords: [iphone]
    access:
      admins: [U0APPLEADM]
      analysts: [S0APPLEFAN]
  - name: google
    keywords: [android]
"""
GROUPS = {
    "S0ADMINS01": ["U0GROUPADM"],  # the settings' admins group
    "S0ANALYSTS": ["U0ANALYST1"],  # the settings' analysts group
    "S0APPLEFAN": ["U0APPLEFAN"],  # apple's analysts
}


def _rows() -> list[dict[str, Any]]:
    return [
        {
            "source": "import",
            "external_id": f"m{i}",
            "brand": brand,
            "text": f"{brand} mention {i}",
            "created_at": NOW - timedelta(hours=i + 1),
            "ingested_at": NOW,
            "status": "classified",
            "label": "neutral",
            "score_negative": 0.1,
            "score_neutral": 0.8,
            "score_positive": 0.1,
            "model_version": "tiny",
            "classified_at": NOW,
        }
        for i, brand in enumerate(["apple", "apple", "google"])
    ]


@pytest.fixture
def app(tmp_path: Path, db_url: str) -> Iterator[Served]:
    brands = tmp_path / "brands.yml"
    brands.write_text(BRANDS, encoding="utf-8")
    engine = make_engine(db_url)
    with served(
        tmp_path,
        None,
        database_url=db_url,
        admin_users="S0ADMINS01",
        analyst_users="S0ANALYSTS",
        brands_file=brands,
    ) as s:
        s.fake.usergroups.update(GROUPS)
        with engine.begin() as connection:
            insert_mentions(connection=connection, rows=_rows())
        engine.dispose()
        yield s


def _ask(app: Served, text: str, user: str) -> dict[str, Any]:
    count = len(app.fake.responses) + 1
    status, _, _ = app.slash(text, user=user, response=f"c{count}")
    assert status == 200
    app.fake.wait_for(lambda f: len(f.responses) >= count)
    return app.fake.responses[count - 1]


def _correct(app: Served, user: str, brand: str) -> dict[str, Any]:
    """Picks "negative" in the correction menu of the brand's first history line, shown to a global admin."""
    page = _ask(app, f"history {brand} 7d", user="U0GROUPADM")
    menu = next(b for b in page["blocks"] if b["type"] == "section")["accessory"]
    option = next(o for g in menu["option_groups"] for o in g["options"] if o["text"]["text"] == "negative")
    count = len(app.fake.responses) + 1
    action = {"action_id": menu["action_id"], "type": "static_select", "block_id": "b1", "selected_option": option}
    app.click(action, user=user, response=f"x{count}")
    app.fake.wait_for(lambda f: len(f.responses) >= count)
    return app.fake.responses[count - 1]


def _reads(answer: dict[str, Any]) -> bool:
    return "mention" in json.dumps(answer.get("blocks", [])) and "Sorry" not in answer["text"]


def test_each_role_reads_and_acts_where_it_may(app: Served) -> None:
    # Global admins through their user group: read and act on every brand.
    assert _reads(_ask(app, "history google 7d", user="U0GROUPADM"))
    assert "set this *google* mention to *negative*" in _correct(app, "U0GROUPADM", "google")["text"]
    # Global analysts: read every brand, act on none.
    assert _reads(_ask(app, "history apple 7d", user="U0ANALYST1"))
    assert _reads(_ask(app, "stats google 7d", user="U0ANALYST1"))
    assert "correcting a label is for brandpulse admins" in _correct(app, "U0ANALYST1", "apple")["text"]
    # apple's own admin: reads and acts on apple, nothing of google.
    assert _reads(_ask(app, "history apple 7d", user="U0APPLEADM"))
    assert "set this *apple* mention to *negative*" in _correct(app, "U0APPLEADM", "apple")["text"]
    assert "of google is for its brandpulse admins and analysts" in _ask(app, "history google", "U0APPLEADM")["text"]
    assert "correcting a label is for brandpulse admins" in _correct(app, "U0APPLEADM", "google")["text"]
    # apple's analysts, a user group: read apple only.
    assert _reads(_ask(app, "history apple 7d", user="U0APPLEFAN"))
    assert "Sorry" in _ask(app, "stats google 7d", user="U0APPLEFAN")["text"]
    # Side by side, a report reads every brand it names: apple's analysts may not see google's figures that way.
    assert "report` of google is for its brandpulse admins" in _ask(app, "report apple,google", "U0APPLEFAN")["text"]
    assert "report` of google is for its brandpulse admins" in _ask(app, "report all", "U0APPLEADM")["text"]
    # Everyone else: refused.
    assert "Sorry" in _ask(app, "history apple 7d", user="U0NOBODY01")["text"]
    # Each user group was asked for once: its members are kept.
    asked = [call.params["usergroup"] for call in app.fake.calls_to("usergroups.users.list")]
    assert sorted(asked) == sorted(set(asked)) and {"S0ADMINS01", "S0ANALYSTS", "S0APPLEFAN"} <= set(asked)
    assert app.fake.violations == []


def test_group_members_are_read_again_after_the_cache_time_and_kept_while_slack_is_away() -> None:
    groups = {"S0TEAM0001": ["U0ALICE001"]}
    calls: list[str] = []
    now = [0.0]

    def lookup(group: str) -> list[str]:
        calls.append(group)
        if group not in groups:
            raise LookupError("no_such_subteam")
        return groups[group]

    roles = Roles(admins=["S0TEAM0001"], analysts=[], lookup=lookup, ttl_seconds=300, clock=lambda: now[0])
    assert roles.is_admin("U0ALICE001") and not roles.is_admin("U0BOB00001")
    groups["S0TEAM0001"] = ["U0BOB00001"]  # Alice leaves, Bob joins
    now[0] = 299.0
    assert roles.is_admin("U0ALICE001") and len(calls) == 1  # within the cache time: not asked again
    now[0] = 301.0
    assert roles.is_admin("U0BOB00001") and not roles.is_admin("U0ALICE001") and len(calls) == 2
    del groups["S0TEAM0001"]  # Slack cannot answer: the members last read are kept
    now[0] = 700.0
    assert roles.is_admin("U0BOB00001") and len(calls) == 3
    never = Roles(admins=["S0UNKNOWN1"], analysts=[], lookup=lookup)
    assert not never.is_admin("U0BOB00001")  # a group never read counts nobody
    assert not roles.is_admin("") and not roles.can_read("U0ALICE001")


def test_after_a_failed_lookup_the_group_is_asked_again_after_30_seconds_not_before() -> None:
    from bot.slack.roles import RETRY_SECONDS

    answers: list[list[str] | None] = [None, ["U0ALICE001"]]  # Slack refuses once, then answers
    calls: list[float] = []
    now = [0.0]

    def lookup(group: str) -> list[str]:
        calls.append(now[0])
        answer = answers[min(len(calls), len(answers)) - 1]
        if answer is None:
            raise LookupError("ratelimited")
        return answer

    roles = Roles(admins=["S0TEAM0001"], analysts=[], lookup=lookup, clock=lambda: now[0])
    assert RETRY_SECONDS == 30
    assert not roles.is_admin("U0ALICE001") and calls == [0.0]  # refused: nobody, for now
    now[0] = 29.9
    assert not roles.is_admin("U0ALICE001") and calls == [0.0]  # within 30 s: Slack is not asked at every click
    now[0] = 30.0
    assert roles.is_admin("U0ALICE001") and calls == [0.0, 30.0]


def test_a_brand_access_list_takes_only_slack_ids(tmp_path: Path) -> None:
    path = tmp_path / "brands.yml"
    path.write_text(BRANDS.replace("[S0APPLEFAN]", "[alice, S0APPLEFAN]"), encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_brands(path)
    assert "brands[0] (apple).access.analysts[0]: expected a Slack user ID such as U012ABCDEF or a user group" in str(
        error.value
    )
    path.write_text(BRANDS, encoding="utf-8")
    assert load_brands(path).brand("apple").access.analysts == ["S0APPLEFAN"]  # type: ignore[union-attr]
