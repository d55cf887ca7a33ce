"""The door of a source's items, on its own: each limit it promises on both sides, the date rule, the JSON reader
that survives an answer nested past the recursion limit, and the count of rejections that never grows unbounded."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.sources.base import MAX_REJECTIONS_KEPT, Item
from bot.sources.intake import (
    MAX_CONTEXT_CHARS,
    MAX_JSON_DEPTH,
    MAX_URL_CHARS,
    BadItem,
    Intake,
    PartlyReadDict,
    PartlyReadList,
    epoch_time,
    fresh_mark,
    iso_time,
    load_json,
)
from storage.mentions import MAX_TEXT_CHARS

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def item(**fields: Any) -> Item:
    given: dict[str, Any] = {"external_id": "a1", "text": "acmephone", "created_at": NOW - timedelta(hours=1)}
    return Item(**{**given, **fields})


def admitted(**fields: Any) -> tuple[Item | None, list[str]]:
    intake = Intake(now=NOW)
    found = intake.admit(lambda raw: item(**raw), fields, id_of=lambda raw: raw.get("external_id", "a1"))
    return found, [str(r) for r in intake.rejected.first]


@pytest.mark.parametrize(
    ("when", "kept"),
    [
        (NOW + timedelta(minutes=9, seconds=59), True),  # a clock a little fast
        (NOW + timedelta(minutes=10, seconds=1), False),
        (datetime(1990, 1, 1, tzinfo=UTC), True),
        (datetime(1989, 12, 31, 23, 59, 59, tzinfo=UTC), False),
        (datetime(2999, 1, 1, tzinfo=UTC), False),
        (datetime.fromisoformat("9999-12-31T23:59:59-23:59"), False),  # no UTC form: year 10000 there
        (datetime.fromisoformat("0001-01-01T00:00:00+23:59"), False),  # nor here: year 0
    ],
)
def test_a_time_is_kept_from_1990_to_ten_minutes_past_the_clock(when: datetime, kept: bool) -> None:
    found, rejected = admitted(created_at=when)
    assert (found is not None) == kept and len(rejected) == (not kept)
    if found is not None:
        assert found.created_at == when and found.created_at.tzinfo == UTC
    else:
        assert rejected[0].startswith("a1: time: ")


def test_the_newest_time_moves_no_further_than_the_clock() -> None:
    intake = Intake(now=NOW)
    for minutes in (-30, 5, 3000):  # the last is rejected, the second is kept but stands for the clock
        intake.admit(lambda m: item(external_id=str(m), created_at=NOW + timedelta(minutes=m)), minutes)
    assert [i.external_id for i in intake.items] == ["-30", "5"] and intake.newest == NOW
    assert intake.rejected.count == 1


@pytest.mark.parametrize(("length", "kept"), [(MAX_TEXT_CHARS, True), (MAX_TEXT_CHARS + 1, False)])
def test_text_of_up_to_40000_characters(length: int, kept: bool) -> None:
    found, rejected = admitted(text="a" * length)
    assert (found is not None) == kept
    assert kept or rejected == ["a1: text of 40,001 characters, over the 40,000 limit"]


@pytest.mark.parametrize("length", [MAX_CONTEXT_CHARS, MAX_CONTEXT_CHARS + 1])
def test_a_context_of_up_to_2000_characters_is_kept_whole_and_a_longer_one_cut(length: int) -> None:
    found, _ = admitted(context="t" * length)
    assert found is not None and found.context == "t" * min(length, MAX_CONTEXT_CHARS)


@pytest.mark.parametrize(("length", "kept"), [(MAX_URL_CHARS, True), (MAX_URL_CHARS + 1, False)])
def test_a_link_of_up_to_2048_characters_is_kept_and_a_longer_one_left_out(length: int, kept: bool) -> None:
    url = "https://example.com/" + "a" * (length - len("https://example.com/"))
    found, _ = admitted(url=url)
    assert found is not None and (found.url == url) == kept and (found.url is None) == (not kept)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<b>x</b>", "//example.com/a", 42])
def test_a_link_that_is_not_http_is_left_out(url: object) -> None:
    found, _ = admitted(url=url)
    assert found is not None and found.url is None


@pytest.mark.parametrize(
    ("value", "kept"),
    [(2**31 - 1, 2**31 - 1), (2**31, None), (-(2**31), -(2**31)), (-(2**31) - 1, None), (12.0, 12), (1.5, None)],
)
def test_a_count_the_column_cannot_hold_is_left_out(value: object, kept: int | None) -> None:
    found, rejected = admitted(likes=value, author_followers=value)
    assert found is not None and (found.likes, found.author_followers) == (kept, kept) and rejected == []


def test_ids_and_authors_are_made_to_fit_their_columns() -> None:
    found, _ = admitted(external_id="x" * 256, author="é" * 300)
    assert found is not None and found.external_id.startswith("sha256:") and len(found.external_id) == 71
    assert found.author == "é" * 255
    nul, _ = admitted(external_id="a\x00b", text="acme\x00phone \ud800")
    assert nul is not None and nul.external_id.startswith("sha256:") and nul.text == "acmephone ?"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"text": {"nested": "object"}}, "a1: unreadable (TypeError)"),  # a converter's own failure: that item only
        ({"text": "   "}, "a1: no text"),
        ({"external_id": ""}, "no id"),
    ],
)
def test_an_item_no_mention_can_be_made_of_is_rejected_with_why(raw: dict[str, Any], reason: str) -> None:
    def convert(given: dict[str, Any]) -> Item:
        if not isinstance(given.get("text", ""), str):
            raise TypeError("text")
        return item(**given)

    intake = Intake(now=NOW)
    assert intake.admit(convert, raw, id_of=lambda r: r.get("external_id", "a1")) is None
    assert [str(r) for r in intake.rejected.first] == [reason]


def test_rejections_are_all_counted_and_the_first_20_kept() -> None:
    def refuse(raw: object) -> Item:
        raise BadItem(f"bad {raw}")

    intake = Intake(now=NOW)
    for n in range(MAX_REJECTIONS_KEPT + 5):
        intake.admit(refuse, n)
    assert intake.rejected.count == 25 and [str(r) for r in intake.rejected.first] == [f"bad {n}" for n in range(20)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-30T11:00:00Z", datetime(2026, 11, 30, 11, tzinfo=UTC)),
        ("2026-11-30T11:00:00", datetime(2026, 11, 30, 11, tzinfo=UTC)),
        (None, None),
    ],
)
def test_iso_times(value: object, expected: datetime | None) -> None:
    assert iso_time(value, "createdAt") == expected


@pytest.mark.parametrize("value", ["yesterday", "", 1700000000, ["2026-11-30"], "2026-13-01T00:00:00Z"])
def test_a_time_that_is_not_iso_8601_is_a_bad_item(value: object) -> None:
    with pytest.raises(BadItem, match="^createdAt is .*, not an ISO 8601 time$"):
        iso_time(value, "createdAt")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10**20, 1e300, 10**400, True, "1700000000", None])
def test_an_epoch_time_out_of_any_calendar_is_a_bad_item(value: object) -> None:
    with pytest.raises(BadItem, match="^created_utc is .*, not a time in Unix seconds$"):
        epoch_time(value, "created_utc")


def test_a_stored_mark_past_the_clock_is_forgotten() -> None:
    assert fresh_mark(NOW + timedelta(minutes=9), now=NOW) == NOW + timedelta(minutes=9)
    assert fresh_mark(NOW + timedelta(minutes=11), now=NOW) is None
    assert fresh_mark(datetime(2999, 1, 1, tzinfo=UTC), now=NOW) is None
    assert fresh_mark(datetime.fromisoformat("9999-12-31T23:59:59-23:59"), now=NOW) is None


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_json_nested_past_the_recursion_limit_is_read_and_only_its_deep_items_marked() -> None:
    # Within the answer (the outer array is its first level) the arrays reach 512 and 513 levels, and one so deep that
    # json.loads refuses it, which is what makes the second reading happen.
    body = f'[{{"a": 1}}, {nested(MAX_JSON_DEPTH - 1)}, {nested(MAX_JSON_DEPTH)}, {nested(5000)}, "x"]'
    with pytest.raises(RecursionError):
        json.loads(body)
    answer = load_json(body.encode())
    assert isinstance(answer, PartlyReadList) and len(answer) == 5
    kinds = [type(part).__name__ for part in answer]
    assert kinds == ["dict", "list", "PartlyReadList", "PartlyReadList", "str"]
    intake = Intake(now=NOW)
    for part in answer:
        intake.admit(lambda raw: None, part)
    assert intake.rejected.count == 2
    assert str(intake.rejected.first[0]) == "holds a part nested over 512 levels, or a number too long to read"


def test_json_with_a_number_too_long_to_read_marks_its_item_only() -> None:
    body = b'{"hits": [{"objectID": "1", "points": ' + b"7" * 5000 + b'}, {"objectID": "2"}]}'
    answer = load_json(body)
    assert isinstance(answer, PartlyReadDict)
    assert isinstance(answer["hits"][0], PartlyReadDict) and type(answer["hits"][1]) is dict


@pytest.mark.parametrize(
    "body",
    [b"{}", b'{"a": [1, 2.5, -3e2, "\\u00e9\\n", true, false, null, {}]}', b" [ ] ", b'"s"', b"[NaN, -Infinity]"],
)
def test_the_second_reading_reads_json_as_json_loads_does(body: bytes) -> None:
    deep = b"[" + body + b"," + nested(2000).encode() + b"]"
    assert json.dumps(load_json(deep)[0]) == json.dumps(json.loads(body))


@pytest.mark.parametrize("after", [b"", b", 1,]", b', {"a" 1}]', b"]]", b"] x", b', "\\x"]', b", [}]"])
def test_what_is_not_json_stays_not_json(after: bytes) -> None:
    body = b"[" + nested(2000).encode() + after  # the deep part first, so that the second reading meets the rest
    with pytest.raises(RecursionError):
        json.loads(body)
    with pytest.raises(ValueError):
        load_json(body)
