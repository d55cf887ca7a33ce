"""The "Start a retrain" button of a "retraining recommended" message, over signed HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.slack.views.errors import NOT_OURS
from storage.mlops_tables import RetrainRequest
from storage.retrains import ask
from tests.support.slack import ADMIN, Served, served


@pytest.fixture
def app(tmp_path: Path, db_url: str) -> Iterator[Served]:
    with served(tmp_path, None, database_url=db_url) as s:
        yield s


def _recommended(app: Served) -> int:
    with app.services.sessions.begin() as session:
        request = ask(session=session, trigger="alert:LiveAccuracyDrop", reason="people disagree",
                      requested_by="alertmanager", status="recommended", at=datetime.now(UTC))  # fmt: skip
    assert request is not None
    return request


def _status(app: Served, request: int) -> tuple[str, str]:
    with app.services.sessions() as session:
        row = session.get(RetrainRequest, request)
        assert row is not None
        return row.status, row.requested_by


def _button(app: Served, value: str) -> dict[str, str]:
    return {"action_id": "retrain_start", "block_id": "retrain_start", "value": value}


def test_an_admin_starts_a_recommended_retrain_and_others_cannot(app: Served) -> None:
    request = _recommended(app)
    signed = app.services.signer.sign(str(request))
    app.click(_button(app, signed), user="U0SOMEONE1", response="refused")
    app.fake.wait_for(lambda f: len(f.responses) == 1)
    assert "starting a retrain is for brandpulse admins" in app.fake.responses[0]["text"]
    assert _status(app, request) == ("recommended", "alertmanager")

    for n, forged in enumerate([str(request), f"{request}.AAAAAAAAAAAAAAAAAAAAAA", "", signed + "x"]):
        app.click(_button(app, forged), user=ADMIN, response=f"forged{n}")
        assert NOT_OURS in app.answer(f"forged{n}")["text"]
    app.click(_button(app, signed), user=ADMIN, response="started")
    app.fake.wait_for(lambda f: any(r["url"] == "/response/started" for r in f.responses))
    started = next(r for r in app.fake.responses if r["url"] == "/response/started")
    assert started["replace_original"] is True and f"<@{ADMIN}> started retrain #{request}" in started["text"]
    assert _status(app, request) == ("queued", ADMIN)

    app.click(_button(app, signed), user=ADMIN, response="again")
    app.fake.wait_for(lambda f: any(r["url"] == "/response/again" for r in f.responses))
    again = next(r for r in app.fake.responses if r["url"] == "/response/again")
    assert again["replace_original"] is False and "was started already" in again["text"]
    assert app.fake.violations == []
