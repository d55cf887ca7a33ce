"""Values from outside that name what cannot exist (a year 1 or 9999 period, a 99999999-day duration, a row id past
what a 64-bit integer holds, a tampered cursor) are refused with a reason by the one rule that reads them, wherever they come in: the ingest API (400), Slack (an ephemeral
answer that says what was wrong), the CLI (exit 2). Never a 500, a traceback or "something went wrong"."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine

from bot.core.periods import parse_moment, parse_period
from bot.errors import UsageError
from bot.slack.views.errors import NOT_OURS
from tests.support.api import AUTH, TOKEN, Api, start_api
from tests.support.cli import run_cli
from tests.support.pipeline import job_context
from tests.support.slack import ADMIN, Served, block_actions_payload, served

NOW = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14: the furthest a local midnight is from UTC's


@pytest.fixture
def api(engine: Engine) -> Iterator[Api]:
    running = start_api(engine, tokens=[TOKEN], secrets=[])
    yield running
    running.server.stop()


OUT_OF_RANGE_MOMENTS = [
    "0001-01-01",
    "0001-01-01T00:00+14:00",
    "9999-12-31T23:59:59",
    "9999-12-31T23:59:59-14:00",
    "1969-12-31",
    "2201-01-01",
    "99999999d",
    "999999w",
    "9" * 30 + "d",
    "9" * 5000 + "m",
]


def test_the_api_refuses_an_out_of_range_moment_with_400(api: Api) -> None:
    for name in ("since", "until"):
        for value in OUT_OF_RANGE_MOMENTS:
            answer = httpx.get(f"{api.url}/api/v1/mentions", headers=AUTH, params={name: value})
            assert answer.status_code == 400, (name, value[:40], answer.text)
            assert "out of range: dates from 1970-01-01 to 2200-12-31 are taken" in answer.json()["error"]


def test_the_api_takes_the_first_and_last_days_of_the_range(api: Api) -> None:
    for params in ({"since": "1970-01-01"}, {"until": "2200-12-31T23:59:59"}, {"since": "1970-01-01T00:00+14:00"}):
        answer = httpx.get(f"{api.url}/api/v1/mentions", headers=AUTH, params=params)
        assert answer.status_code == 200, (params, answer.text)


def test_moments_on_both_sides_of_the_range() -> None:
    assert parse_moment("1970-01-01", tz=KIRITIMATI) == datetime(1970, 1, 1, tzinfo=KIRITIMATI)
    assert parse_moment("2200-12-31T23:59", tz=UTC) == datetime(2200, 12, 31, 23, 59, tzinfo=UTC)
    back_to_1970 = (NOW.date() - datetime(1970, 1, 1).date()).days
    assert parse_moment(f"{back_to_1970}d", tz=UTC, now=NOW).date().isoformat() == "1970-01-01"
    for value in ("1969-12-31T23:59", "2201-01-01", f"{back_to_1970 + 1}d"):
        with pytest.raises(ValueError, match="out of range"):
            parse_moment(value, tz=UTC, now=NOW)


def test_periods_on_both_sides_of_the_range() -> None:
    first = parse_period("1970-01-01..1970-01-31", now=NOW, tz=KIRITIMATI)
    assert first.start == datetime(1970, 1, 1, tzinfo=KIRITIMATI)
    last = parse_period("2200-12-31", now=NOW, tz=ZoneInfo("Pacific/Pago_Pago"))  # UTC-11
    assert last.end - last.start == timedelta(days=1)
    for text in ("1969-12-31..1970-01-01", "2200-12-31..2201-01-01", "0001-01-01..9999-12-31", "9999-12-31"):
        with pytest.raises(UsageError, match="out of range: dates from 1970-01-01 to 2200-12-31"):
            parse_period(text, now=NOW, tz=KIRITIMATI)


@pytest.fixture
def slack(tmp_path: Path, db_url: str) -> Iterator[Served]:
    with served(tmp_path, None, database_url=db_url) as s:
        yield s


@pytest.mark.parametrize("period", ["0001-01-01..9999-12-31", "9999-12-31", "0001-01-01"])
def test_slack_answers_an_out_of_range_report_politely(slack: Served, period: str) -> None:
    status, _, _ = slack.slash(f"report apple {period}", user=ADMIN)
    assert status == 200
    slack.fake.wait_for(lambda f: len(f.responses) >= 1)
    answer = slack.fake.responses[0]
    assert answer["response_type"] == "ephemeral"
    assert f"`{period}` is out of range: dates from 1970-01-01 to 2200-12-31 are taken" in answer["text"]
    assert "something went wrong" not in answer["text"]


@pytest.mark.parametrize(
    "args",
    [
        ("report", "--brand", "acme", "--period", "0001-01-01..9999-12-31"),
        ("report", "--brand", "acme", "--period", "9999-12-31"),
        ("report", "--brand", "acme", "--since", "0001-01-01T00:00+14:00"),
        ("history", "--since", "99999999d"),
        ("history", "--until", "9999-12-31T23:59:59-14:00"),
        ("stats", "--brand", "acme", "--since", "9" * 30 + "d"),
    ],
)
def test_the_cli_refuses_an_out_of_range_period_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, args: tuple[str, ...]
) -> None:
    ctx = job_context(tmp_path, db_url)
    result = run_cli(monkeypatch, db_url, *args, BRANDPULSE_BRANDS_FILE=str(ctx.settings.brands_file))
    assert result.exit_code == 2, result.output
    assert "out of range: dates from 1970-01-01 to 2200-12-31 are taken" in result.output


def _cursor(raw: str | bytes) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


TAMPERED_CURSORS = [
    _cursor("2026-01-01T00:00:00+00:00|99999999999999999999999"),
    _cursor(f"2026-01-01T00:00:00+00:00|{2**63}"),
    _cursor("2026-01-01T00:00:00+00:00|0"),
    _cursor("2026-01-01T00:00:00+00:00|-5"),
    _cursor("2026-01-01T00:00:00+00:00|١٢"),
    _cursor("2026-01-01T00:00:00+00:00|" + "9" * 5000),
    _cursor("0001-01-01T00:00:00+14:00|5"),
    _cursor("9999-12-31T23:59:59-14:00|5"),
    _cursor("2026-01-01T00:00:00|5"),
    _cursor(b"\xff\xfe|5"),
    "%%%",
    "A",
]


def test_a_tampered_cursor_is_a_400_and_the_largest_id_is_not(api: Api) -> None:
    for cursor in TAMPERED_CURSORS:
        answer = httpx.get(f"{api.url}/api/v1/mentions", headers=AUTH, params={"cursor": cursor})
        assert answer.status_code == 400, (cursor[:60], answer.text)
        assert answer.json() == {"error": "cursor: not a cursor this API gave (pass next_cursor as it came)"}
    largest = _cursor(f"2026-01-01T00:00:00+00:00|{2**63 - 1}")
    answer = httpx.get(f"{api.url}/api/v1/mentions", headers=AUTH, params={"cursor": largest})
    assert answer.status_code == 200 and answer.json() == {"mentions": [], "next_cursor": None}


def _menu(value: str) -> dict[str, Any]:
    return {"action_id": "mention_menu", "type": "static_select", "block_id": "b1", "selected_option": {"value": value}}


def _more(query: dict[str, Any]) -> dict[str, Any]:
    return {"action_id": "history_more", "type": "button", "value": json.dumps({"b": "apple", "p": "7d", **query})}


def _alert_button(action_id: str, value: str) -> dict[str, Any]:
    return {"action_id": action_id, "type": "button", "block_id": "alert_actions", "value": value}


def test_slack_refuses_forged_ids_with_what_was_wrong(slack: Served) -> None:
    signed = slack.services.signer.sign
    huge = "99999999999999999999999"
    forged = [
        _menu(f"{huge}:handled"),  # the example: once a traceback and "something went wrong"
        _menu(f"{2**63}:positive"),
        _menu(f"{huge}:mute_author"),
        _menu("-1:handled"),
        _menu("²:reopen"),
        {"action_id": "mention_assign", "type": "users_select", "block_id": f"assign:{huge}", "selected_user": ADMIN},
        _more({"c": ["2026-01-01T00:00:00+00:00", int(huge)]}),
        _more({"c": ["0001-01-01T00:00:00+14:00", 5]}),
        _more({"c": ["2026-01-01T00:00:00", 5]}),
        _more({"c": ["2026-01-01T00:00:00+00:00", True]}),
        _more({"l": {"$ne": None}}),
        # Values that carry brandpulse's own signature (as if it had signed a huge id) are bounded all the same.
        _alert_button("alert_ack", signed(huge)),
        _alert_button("alert_details", signed(str(2**63))),
        {
            "action_id": "alert_snooze",
            "type": "static_select",
            "block_id": "alert_actions",
            "selected_option": {"value": signed(f"{huge}:4")},
        },
        {"action_id": "retrain_start", "type": "button", "block_id": "retrain_start", "value": signed(huge)},
        # And a wrong signature.
        _alert_button("alert_not_a_spike", "12." + "A" * 22),
    ]
    for n, action in enumerate(forged):
        assert slack.click(action, user=ADMIN, response=f"f{n}")[0] == 200
        answer = slack.answer(f"f{n}")
        assert answer["response_type"] == "ephemeral" and NOT_OURS in answer["text"], (action, answer["text"])
    assert not any("went wrong" in r["text"] for r in slack.fake.responses)


def test_slack_takes_the_largest_id_a_row_can_have(slack: Served) -> None:
    largest = str(2**63 - 1)
    slack.click(_menu(f"{largest}:handled"), user=ADMIN, response="menu")
    assert "That mention is no longer stored" in slack.answer("menu")["text"]
    slack.click(_alert_button("alert_ack", slack.services.signer.sign(largest)), user=ADMIN, response="alert")
    assert "That alert is no longer stored" in slack.answer("alert")["text"]
    slack.click(_more({"c": ["2026-01-01T00:00:00+00:00", int(largest)]}), user=ADMIN, response="more")
    assert "No mentions of *apple* match" in slack.answer("more")["text"]


@pytest.mark.parametrize(
    "args",
    [("mutes", "remove", "99999999999999999999999"), ("outbox", "retry", "1", str(2**63)), ("mutes", "remove", "0")],
)
def test_the_cli_refuses_an_id_no_row_can_have_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, db_url: str, args: tuple[str, ...]
) -> None:
    result = run_cli(monkeypatch, db_url, *args)
    assert result.exit_code == 2 and "is not in the range 1<=x<=9223372036854775807" in result.output, result.output


def test_slack_reads_a_click_of_the_wrong_shape_as_data(slack: Served, caplog: pytest.LogCaptureFixture) -> None:
    # Signed, so Slack's; but a string where an object belongs was an AttributeError and "something went wrong".
    shapes: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"action_id": "mention_menu", "selected_option": "1:handled"}, {}),
        ({"action_id": "mention_menu", "selected_option": {"value": "1:handled"}}, {"user": ADMIN}),
        ({"action_id": "sentiment_feedback_correct", "value": "x"}, {"channel": "C0000000001"}),
        ({"action_id": "alert_ack", "value": ["1"]}, {"message": "a message"}),
        ({"action_id": "home_period", "selected_option": "7d"}, {"user": [ADMIN]}),
    ]
    for n, (action, changes) in enumerate(shapes):
        payload = block_actions_payload(action, user=ADMIN, response_url=slack.fake.response_url(f"s{n}"))
        assert slack.post(urlencode({"payload": json.dumps({**payload, **changes})}))[0] == 200
    slack.slash("brands", user=ADMIN, response="last")
    slack.answer("last")
    answers = [r["text"] for r in slack.fake.responses if r["url"].startswith("/response/s")]
    assert len(answers) == 4 and not any("went wrong" in text for text in answers)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_nul_in_a_text_filter_is_refused_not_a_database_error(api: Api, slack: Served) -> None:
    # PostgreSQL takes no NUL in a string: the query failed (a 500, or "the database is unavailable" in Slack).
    for name in ("search", "brand", "source"):
        answer = httpx.get(f"{api.url}/api/v1/mentions", headers=AUTH, params={name: "acme\x00x"})
        assert answer.status_code == 400 and answer.json() == {"error": f"{name} may not contain a NUL character"}
    slack.slash("history apple 7d battery\x00fire", user=ADMIN, response="nul")
    answer = slack.answer("nul")
    # The words are a query: a control character in one is refused with where it stands.
    assert answer["response_type"] == "ephemeral" and "a control character (U+0000)" in answer["text"]
    refused = httpx.get(f"{api.url}/api/v1/mentions", headers=AUTH, params={"q": "acme\x00x"})
    assert refused.status_code == 400 and "a control character (U+0000) in the query at column 5" in refused.text
