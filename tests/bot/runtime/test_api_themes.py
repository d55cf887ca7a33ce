"""``GET /api/v1/themes`` over real HTTP: a brand's themes as JSON that keeps to the OpenAPI document, for holders of
a token only; a clear 4xx for a bad request and a 503 when the encoder cannot be loaded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import jsonschema
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from analysis.encoder import SentenceEncoder, load_encoder
from analysis.errors import ModelUnavailable
from bot.config.brands import load_brands
from bot.core.themes import ThemeQueries
from bot.runtime.openapi import THEMES_SCHEMA
from tests.support.api import AUTH, TOKEN, Api, start_api
from tests.support.pipeline import T0, add, write_brands
from tests.support.topics import topic_mentions

BRANDS = """
brands:
  - name: acme
    keywords: [acmephone]
  - name: globex
    keywords: [globex]
"""


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_encoder()


@pytest.fixture
def queries(engine: Engine, tmp_path: Path, encoder: SentenceEncoder) -> ThemeQueries:
    sessions = sessionmaker(engine)
    mentions = []
    for number, (topic, before, now) in enumerate([("battery", 30, 30), ("camera", 0, 25)]):
        mentions += topic_mentions(topic, before, start=T0 - timedelta(days=7), hours=24 * 7, seed=number)
        mentions += topic_mentions(topic, now, start=T0, hours=24 * 7, seed=10 + number)
    add(sessions, mentions)
    brands = load_brands(write_brands(tmp_path, BRANDS))
    return ThemeQueries(sessions=sessions, brands=brands, encoder=lambda: encoder, tz=T0.tzinfo)  # type: ignore[arg-type]


@pytest.fixture
def api(engine: Engine, queries: ThemeQueries) -> Iterator[Api]:
    running = start_api(engine, tokens=[TOKEN], secrets=[], themes=queries)
    yield running
    running.server.stop()


def test_a_token_holder_reads_a_brand_s_themes_as_documented(api: Api) -> None:
    week = {"brand": "acme", "since": T0.isoformat(), "until": (T0 + timedelta(days=7)).isoformat()}
    answer = httpx.get(f"{api.url}/api/v1/themes", params=week, headers=AUTH, timeout=60)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    jsonschema.validate(found, THEMES_SCHEMA)
    assert (found["mentions"], found["previous_mentions"], found["sampled"]) == (55, 30, False)
    # The camera talk (all positive) is new this week, in one theme or more; the battery's (all negative) was there.
    camera = [t for t in found["themes"] if t["labels"]["positive"]]
    assert camera and all(t["trend"] == "new" and t["previous_mentions"] == 0 for t in camera)
    assert sum(t["mentions"] for t in camera) == 25 == sum(t["labels"]["positive"] for t in camera)
    assert any("camera" in phrase for t in camera for phrase in t["phrases"])
    assert all(m["text"].startswith(("the", "photos", "my", "acmephone")) for t in camera for m in t["central"])
    # A period by name reads the same way; the document lists the path.
    named = httpx.get(f"{api.url}/api/v1/themes", params={"brand": "globex", "period": "7d"}, headers=AUTH)
    assert named.status_code == 200 and named.json()["themes"] == []
    document = httpx.get(f"{api.url}/api/v1/openapi.json", headers=AUTH).json()
    assert document["paths"]["/api/v1/themes"]["get"]["operationId"] == "listThemes"


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"brand": "nokia"}, 400, "unknown brand 'nokia'"),
        ({"brand": "acme", "period": "fortnight"}, 400, "`fortnight` is not a period"),
        ({"brand": "acme", "period": "7d", "since": "1d"}, 400, "give either period or since/until"),
        ({"brand": "acme", "since": "2026-03-09", "until": "2026-03-02"}, 400, "since must be before until"),
        ({"brand": "acme", "since": "soon"}, 400, "soon"),
        ({"brand": ""}, 400, "brand is required and may not be empty"),
        ({"period": "7d"}, 400, "brand is required"),
        ({"brand": "acme", "colour": "red"}, 400, "unknown query parameter 'colour'"),
    ],
)
def test_a_bad_request_is_a_400_that_says_why(api: Api, params: dict[str, str], status: int, message: str) -> None:
    answer = httpx.get(f"{api.url}/api/v1/themes", params=params, headers=AUTH)
    assert answer.status_code == status and message in answer.json()["error"], answer.text


def test_no_token_no_themes_and_no_encoder_a_503(engine: Engine, api: Api, queries: ThemeQueries) -> None:
    refused = httpx.get(f"{api.url}/api/v1/themes", params={"brand": "acme"})
    assert refused.status_code == 401

    def broken() -> SentenceEncoder:
        raise ModelUnavailable("cannot load the themes encoder 'nowhere/encoder'")

    # One report at a time: a request that comes meanwhile is told to come back, not held.
    assert queries._lock.acquire()
    try:
        busy = httpx.get(f"{api.url}/api/v1/themes", params={"brand": "acme"}, headers=AUTH)
    finally:
        queries._lock.release()
    assert busy.status_code == 503 and busy.headers["retry-after"] == "10"
    assert "another themes report is being made" in busy.json()["error"]
    assert httpx.get(f"{api.url}/api/v1/themes", params={"brand": "acme"}, headers=AUTH).status_code == 200

    queries.encoder = broken
    down = httpx.get(f"{api.url}/api/v1/themes", params={"brand": "acme"}, headers=AUTH)
    assert down.status_code == 503 and "nowhere/encoder" in down.json()["error"]
