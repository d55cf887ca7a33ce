"""The ingest API over real HTTP on loopback, on SQLite and PostgreSQL: tokens and signatures checked before the body
is read or parsed, items checked one by one, idempotent storage, the history filters, the documented limits."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from bot.config.connection_settings import webhook_key
from bot.core.signing import webhook_signature
from bot.core.submit import MAX_ITEMS
from bot.runtime.api_auth import WebhookSecrets
from bot.runtime.openapi import MAX_BODY_BYTES
from storage.db import make_engine
from storage.models import Mention
from tests.support.api import AUTH, OTHER_TOKEN, SECRET, TOKEN, Api, signed_headers, start_api


@pytest.fixture
def api(engine: Engine) -> Iterator[Api]:
    running = start_api(engine, tokens=[TOKEN, OTHER_TOKEN], secrets=[SECRET])
    yield running
    running.server.stop()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-of-some-length"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer ünïcödé-tøken".encode()},
    ],
)
def test_without_a_valid_token_nothing_is_read_or_stored(api: Api, headers: dict[str, Any]) -> None:
    answer = api.post({"text": "acme is great"}, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{api.url}/api/v1/mentions", headers=headers).status_code == 401
    assert api.stored() == []


def test_a_request_without_a_token_is_refused_before_its_body_is_read(api: Api) -> None:
    # A declared 1 GB body and only a few bytes sent: the answer comes at once, from the headers alone.
    with socket.create_connection(("127.0.0.1", int(api.url.rsplit(":", 1)[1])), timeout=10) as connection:
        connection.sendall(
            b"POST /api/v1/mentions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000000000\r\n\r\n{"text": '
        )
        assert connection.recv(1024).startswith(b"HTTP/1.1 401")


def test_either_token_stores_a_mention_once_with_what_the_sender_gave(api: Api) -> None:
    mention = {
        "id": "post-1",
        "text": "I love my new Acme rocket",
        "author": "wile",
        "url": "https://example.org/post-1",
        "created_at": "2026-11-30T09:30:00Z",
        "language": "en",
        "country": "United Kingdom",
        "likes": 12,
        "reposts": 3,
        "replies": 1,
        "author_followers": 4500,
    }
    first = api.post(mention)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "received": 1,
        "created": 1,
        "duplicates": 0,
        "rejected": 0,
        "atomic": False,
        "errors": [],
    }
    again = api.post(mention, headers={"Authorization": f"bearer {OTHER_TOKEN}"})
    assert again.status_code == 200 and (again.json()["created"], again.json()["duplicates"]) == (0, 1)
    [stored] = api.stored()
    assert (stored.source, stored.external_id, stored.brand, stored.author) == ("api", "post-1", "acme", "wile")
    assert stored.created_at == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    assert (stored.likes, stored.reposts, stored.replies, stored.author_followers) == (12, 3, 1, 4500)
    assert (stored.language, stored.country, stored.status) == ("en", "gb", "pending")
    assert api.registry.get_sample_value("brandpulse_api_requests_total", {"method": "POST", "code": "200"}) == 2


def test_invalid_items_get_their_reasons_while_the_valid_ones_are_stored(api: Api) -> None:
    items = [
        {"id": "a", "text": "acme rocks"},
        {"id": "b", "text": "nothing about any brand"},
        {"id": "c", "text": "", "likes": -1, "colour": "red"},
        "just a string",
        {"id": "d", "text": "globex is down", "brand": "initech"},
        {"id": "e", "text": "globex outage again", "created_at": "yesterday-ish"},
        {"id": 42, "text": "globex, numbered", "source": "Bad Source"},
        {"id": 43, "text": "globex numbered too", "source": "forum"},
        {"id": 44, "text": "globex from nowhere", "country": "Narnia"},
    ]
    answer = api.post(items)
    assert answer.status_code == 422
    body = answer.json()
    assert (body["received"], body["created"], body["duplicates"], body["rejected"]) == (9, 2, 0, 7)
    reasons = {error["index"]: " | ".join(error["reasons"]) for error in body["errors"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6, 8]
    assert reasons[8] == "'country' is 'Narnia', not a country (an ISO 3166 code such as it, or a name)"
    assert "mentions no configured brand" in reasons[1]
    assert "text: String should have at least 1 character" in reasons[2]
    assert "likes: Input should be greater than or equal to 0" in reasons[2]
    assert "colour: unknown field" in reasons[2]
    assert reasons[3] == "expected an object, got a string"
    assert "unknown brand 'initech'" in reasons[4]
    assert "created_at" in reasons[5] and "cannot parse date" in reasons[5]
    assert "source: String should match pattern" in reasons[6]
    assert sorted((m.source, m.external_id) for m in api.stored()) == [("api", "a"), ("forum", "43")]


def test_atomic_stores_nothing_unless_every_item_is_valid(api: Api) -> None:
    items = [{"id": "a", "text": "acme rocks"}, {"id": "b", "text": "no brand here"}]
    refused = api.post(items, atomic="true")
    assert refused.status_code == 422
    assert (refused.json()["created"], refused.json()["rejected"]) == (0, 2)
    assert api.stored() == []
    accepted = api.post(items[:1], atomic="true")
    assert accepted.status_code == 200 and accepted.json()["created"] == 1
    assert api.post(items[:1], atomic="maybe").status_code == 400


def test_a_mention_naming_two_brands_is_one_item_stored_for_each(api: Api) -> None:
    item = {"id": "both", "text": "acme beats globex", "likes": 3}
    answer = api.post([item, item])
    assert (answer.json()["created"], answer.json()["duplicates"]) == (1, 1)
    assert sorted((m.external_id, m.brand, m.likes) for m in api.stored()) == [
        ("both", "acme", 3),
        ("both", "globex", 3),
    ]
    again = api.post(item)
    assert (again.json()["created"], again.json()["duplicates"]) == (0, 1)
    assert [m["brand"] for m in api.get(search="beats").json()["mentions"]] == ["globex", "acme"]
    # q= is a query: the words as whole words, with AND, OR, NOT and fields.
    assert [m["brand"] for m in api.get(q="beats AND acme", brand="acme").json()["mentions"]] == ["acme"]
    assert api.get(q="beat").json()["mentions"] == []  # a whole word, not a substring
    assert len(api.get(q="beat* -source:api").json()["mentions"]) == 0
    assert len(api.get(q="beat* source:api").json()["mentions"]) == 2
    broken = api.get(q="beats AND (acme")
    assert broken.status_code == 400
    assert "q: the query ends too early: expected ) at column 16" in broken.json()["error"]


def test_the_wrapped_and_listed_forms_store_the_same_way(api: Api) -> None:
    answer = api.post({"mentions": [{"id": "1", "text": "acme one"}, {"id": "2", "text": "acme two"}]})
    assert answer.status_code == 200 and answer.json()["created"] == 2
    assert api.post([{"id": "1", "text": "acme one"}]).json()["duplicates"] == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b"\xff\xfe{}", "application/json", 400, "not UTF-8"),
        (b"[" * 100_000, "application/json", 400, "not valid JSON"),
        (b"[]", "application/json", 400, "the list is empty"),
        (b"42", "application/json", 400, "expected a mention"),
        (b"null", "application/json", 400, "expected a mention"),
        (b"text=acme", "application/x-www-form-urlencoded", 415, "application/json"),
    ],
)
def test_a_malformed_body_is_a_4xx_with_a_reason(
    api: Api, body: bytes, content_type: str, status: int, message: str
) -> None:
    answer = httpx.post(f"{api.url}/api/v1/mentions", content=body, headers={**AUTH, "content-type": content_type})
    assert answer.status_code == status and message in answer.json()["error"]
    assert api.stored() == []


def test_the_documented_limits_hold(api: Api) -> None:
    too_many = [{"id": str(i), "text": "acme"} for i in range(MAX_ITEMS + 1)]
    answer = api.post(too_many)
    assert answer.status_code == 413 and "at most 1,000" in answer.json()["error"]
    assert api.post(too_many[:MAX_ITEMS]).json()["created"] == MAX_ITEMS

    def chunks() -> Iterator[bytes]:
        yield b'[{"text": "acme ' + b"x" * 100_000
        for _ in range(MAX_BODY_BYTES // 100_000 + 5):
            yield b"x" * 100_000

    streamed = httpx.post(
        f"{api.url}/api/v1/mentions", content=chunks(), headers={**AUTH, "content-type": "application/json"}
    )
    assert streamed.status_code == 413 and "over 5,000,000 bytes" in streamed.json()["error"]


def test_history_filters_and_pages_read_back_what_was_stored(api: Api) -> None:
    now = datetime.now(UTC)
    items = [
        {
            "id": str(i),
            "text": f"{'acme' if i % 2 else 'globex'} number {i}",
            "created_at": (now - timedelta(hours=i)).isoformat(),
        }
        for i in range(10)
    ]
    assert api.post(items).json()["created"] == 10
    acme = api.get(brand="acme").json()
    assert [m["external_id"] for m in acme["mentions"]] == ["1", "3", "5", "7", "9"]
    assert acme["next_cursor"] is None
    recent = api.get(since="270m").json()["mentions"]
    assert [m["external_id"] for m in recent] == ["0", "1", "2", "3", "4"]
    # The CLI's and Slack's grammar: a period names its start (mentions 0..9 lie within the last ten hours).
    assert len(api.get(since="2 days ago").json()["mentions"]) == 10
    assert api.get(until="2 days ago").json()["mentions"] == []
    pages, cursor = [], None
    while True:
        page = api.get(limit=3, **({"cursor": cursor} if cursor else {})).json()
        pages.append([m["external_id"] for m in page["mentions"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [["0", "1", "2"], ["3", "4", "5"], ["6", "7", "8"], ["9"]]
    assert [m["external_id"] for m in api.get(search="NUMBER 7").json()["mentions"]] == ["7"]
    assert api.get(label="positive").json()["mentions"] == []
    first = api.get(limit=1).json()["mentions"][0]
    assert first["status"] == "pending" and first["scores"] is None and first["created_at"].startswith(str(now.year))
    # Every stored field (the three scores as one object), nulls as nulls.
    stored = {column.key for column in Mention.__table__.columns}
    assert set(first) == stored - {"score_negative", "score_neutral", "score_positive"} | {"scores"}
    assert first["corrected_by"] is None and first["likes"] is None and first["muted"] is False
    for bad in (
        {"limit": 0},
        {"limit": "ten"},
        {"label": "great"},
        {"since": "last tuesday"},
        {"cursor": "!!"},
        {"page": 2},
    ):
        answer = api.get(**bad)
        assert answer.status_code == 400, bad
        assert answer.json()["error"]


def test_a_signed_webhook_needs_no_token_and_a_bad_signature_gets_nothing_stored(api: Api) -> None:
    envelope = {"type": "mention.created", "timestamp": "2026-11-30T09:30:00Z", "data": {"id": "w1", "text": "acme!"}}
    body = json.dumps(envelope).encode()
    url = f"{api.url}/api/v1/mentions"
    assert httpx.post(url, content=body, headers=signed_headers(body)).json()["created"] == 1

    other = json.dumps({**envelope, "data": {"id": "w2", "text": "acme?"}}).encode()
    forged = signed_headers(other, secret="whsec_" + "A" * 32)
    stale = signed_headers(other, at=time.time() - 600)
    tampered = {**signed_headers(body), "webhook-id": "msg_2"}
    for headers in (forged, stale, tampered, {**signed_headers(other), "webhook-signature": "v1a,AAAA"}):
        answer = httpx.post(url, content=other, headers=headers)
        assert answer.status_code == 401, headers
    # A sender rotating its secret sends two signatures; one made with a known secret is enough.
    rotated = signed_headers(other)
    rotated["webhook-signature"] = f"{forged['webhook-signature']} {rotated['webhook-signature']}"
    assert httpx.post(url, content=other, headers=rotated).json()["created"] == 1
    assert sorted(m.external_id for m in api.stored()) == ["w1", "w2"]


def test_the_standard_webhooks_reference_vector_verifies() -> None:
    # test_sign_function of the reference Python library (../shared/sources/webhook).
    key = webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    body = b'{"test": 2432232314}'
    signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert webhook_signature(key, message_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp="1614265330", body=body) == (
        signature
    )
    secrets = WebhookSecrets([key])
    check = {"message_id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "timestamp": "1614265330", "body": body}
    assert secrets.problem(signatures=signature, now=1614265330 + 299, **check) is None
    assert secrets.problem(signatures=signature, now=1614265330 + 301, **check) == (
        "timestamp outside the five-minute tolerance"
    )
    assert secrets.problem(signatures=signature[:-2] + "A=", now=1614265330, **check) == "signature mismatch"
    # The library's secrets without base64 padding decode as they do there.
    assert len(webhook_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS")) == 23


def test_the_api_is_off_until_a_token_or_secret_is_set(engine: Engine) -> None:
    off = start_api(engine, tokens=[], secrets=[])
    try:
        answer = httpx.post(f"{off.url}/api/v1/mentions", json={"text": "acme"})
        assert answer.status_code == 404 and "BRANDPULSE_API_TOKENS" in answer.json()["error"]
        assert httpx.get(f"{off.url}/api/v1/openapi.json").status_code == 404
    finally:
        off.server.stop()


def test_an_unreachable_database_is_a_503_with_retry_after(tmp_path: Any) -> None:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2")
    down = start_api(engine, tokens=[TOKEN], secrets=[])
    try:
        answer = down.post({"text": "acme"})
        assert answer.status_code == 503 and answer.headers["retry-after"] == "30"
        assert "nothing was stored" in answer.json()["error"]
    finally:
        down.server.stop()
        engine.dispose()


def test_the_openapi_document_describes_both_operations_with_the_brands(api: Api) -> None:
    document = httpx.get(f"{api.url}/api/v1/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    operations = document["paths"]["/api/v1/mentions"]
    assert {operations["post"]["operationId"], operations["get"]["operationId"]} == {"submitMentions", "listMentions"}
    brand = document["components"]["schemas"]["MentionIn"]["properties"]["brand"]
    assert {"type": "string", "enum": ["acme", "globex"]} in brand["anyOf"]
    assert set(operations["post"]["responses"]) == {"200", "400", "401", "408", "413", "415", "422", "503"}


def test_mentions_read_back_with_their_language_and_filter_on_it(api: Api) -> None:
    items = [
        {"id": "it", "text": "acme: questo prodotto mi è piaciuto tantissimo!"},
        {"id": "de", "text": "acme: das Produkt ist leider kaputt gegangen"},
        {"id": "given", "text": "acme rocks", "language": "pt-BR"},
    ]
    assert api.post(items).json()["created"] == 3
    italian = api.get(language="IT").json()["mentions"]
    assert [(m["external_id"], m["language"]) for m in italian] == [("it", "it")]
    assert 0.5 < italian[0]["language_confidence"] <= 1
    given = api.get(language="pt").json()["mentions"]
    assert [(m["external_id"], m["language"], m["language_confidence"]) for m in given] == [("given", "pt", None)]
    bad = api.get(language="klingon!")
    assert bad.status_code == 400 and "is not a language code" in bad.json()["error"]


def test_mentions_sorted_by_reach_or_engagement_come_widest_first_in_one_page(api: Api) -> None:
    now = datetime.now(UTC)
    counts = {"a": (10, 0, 0, 5_000), "b": (300, 20, 5, None), "c": (1, 0, 0, 90_000), "d": (None, None, None, None)}
    items = [
        {"id": key, "text": f"acme story {key}", "created_at": (now - timedelta(minutes=n)).isoformat(),
         "likes": likes, "reposts": reposts, "replies": replies, "author_followers": followers}
        for n, (key, (likes, reposts, replies, followers)) in enumerate(counts.items())
    ]  # fmt: skip
    assert api.post(items).json()["created"] == 4
    reach = api.get(brand="acme", sort="reach").json()
    # reach = followers + likes + reposts + replies: c 90,001, a 5,010, b 325, d 0.
    assert [m["external_id"] for m in reach["mentions"]] == ["c", "a", "b", "d"] and reach["next_cursor"] is None
    engaged = api.get(brand="acme", sort="engagement", limit=2).json()
    assert [m["external_id"] for m in engaged["mentions"]] == ["b", "a"] and engaged["next_cursor"] is None
    assert [m["external_id"] for m in api.get(sort="time").json()["mentions"]] == ["a", "b", "c", "d"]
    assert [m["external_id"] for m in api.get(sort="reach", q="story AND -d").json()["mentions"]] == ["c", "a", "b"]
    bad = api.get(sort="loudest")
    assert bad.status_code == 400 and bad.json()["error"] == "sort must be time, reach or engagement"
    cursor = api.get(sort="time", limit=1).json()["next_cursor"]
    paged = api.get(sort="reach", cursor=cursor)
    assert paged.status_code == 400 and "raise limit instead" in paged.json()["error"]
