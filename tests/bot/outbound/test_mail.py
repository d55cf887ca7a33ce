"""E-mail: a report with its PDF through a real SMTP server on loopback, upgraded with STARTTLS before the login; a
server that cannot upgrade gets nothing; a refused mailbox is a dead message, a passing failure a retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config.settings import load_settings
from bot.core.notify import queue_email
from bot.errors import ConfigError
from bot.outbound.mail import EmailDeliverer
from storage.db import make_engine, make_sessionmaker
from storage.migrate import ensure_schema
from storage.models import OutboxMessage
from tests.support.receivers import SMTP_PASSWORD, SMTP_USER, Mailbox, smtp_server

PDF = b"%PDF-1.7\n% a report\n"


def _queue(sessions, to: list[str], key: str = "weekly:1") -> None:  # type: ignore[no-untyped-def]
    with sessions() as session:
        queue_email(
            session=session,
            name="weekly",
            to=to,
            subject="acme, globex: 23–29 Nov 2026 (last week)",
            text="The last week report of acme and globex is attached.",
            attachment=PDF,
            attachment_name="acme-globex-20261123-20261130.pdf",
            at=datetime.now(UTC) - timedelta(seconds=1),
            key=key,
        )
        session.commit()


def _setup(tmp_path: Path, box: Mailbox, **settings: object):  # type: ignore[no-untyped-def]
    db_url = f"sqlite:///{tmp_path / 'mail.db'}"
    engine = make_engine(db_url)
    ensure_schema(engine)
    options = {
        "smtp_host": box.host,
        "smtp_port": box.port,
        "smtp_username": SMTP_USER,
        "smtp_password": SMTP_PASSWORD,
        "smtp_ca_file": box.ca_file,
        "smtp_from": "Brandpulse <reports@acme.test>",
        "smtp_timeout_seconds": 5,
        **settings,
    }
    config = load_settings(env_file=None, database_url=db_url, **options)
    sessions = make_sessionmaker(engine)
    return sessions, EmailDeliverer(sessions=sessions, settings=config), engine


def _messages(sessions) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_a_report_is_mailed_over_starttls_with_its_pdf(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as box:
        sessions, deliverer, engine = _setup(tmp_path, box)
        _queue(sessions, ["head@acme.test", "team@acme.test"])
        assert deliverer.deliver_due() == 1
        [(sender, recipients, email)] = box.received
        assert box.encrypted == [True] and box.logins == [SMTP_USER]  # upgraded first, then the password
        assert sender == "reports@acme.test" and recipients == ["head@acme.test", "team@acme.test"]
        assert email["Subject"] == "acme, globex: 23–29 Nov 2026 (last week)"
        assert email["To"] == "head@acme.test, team@acme.test" and "brandpulse.outbox" in email["Message-ID"]
        body = email.get_body(("plain",))
        assert body is not None and "report of acme and globex is attached" in body.get_content()
        [attachment] = list(email.iter_attachments())
        assert attachment.get_filename() == "acme-globex-20261123-20261130.pdf"
        assert attachment.get_content_type() == "application/pdf" and attachment.get_content() == PDF
        [message] = _messages(sessions)
        assert message.status == "sent" and message.target == "email"
        assert deliverer.deliver_due() == 0 and len(box.received) == 1
        engine.dispose()


def test_a_server_without_starttls_gets_nothing_and_the_message_waits(tmp_path: Path) -> None:
    with smtp_server(tmp_path, starttls=False) as box:
        sessions, deliverer, engine = _setup(tmp_path, box)
        _queue(sessions, ["head@acme.test"])
        assert deliverer.deliver_due() == 0
        [message] = _messages(sessions)
        assert message.status == "pending" and "offers no STARTTLS: nothing is sent in clear" in message.last_error
        assert box.received == [] and box.logins == []
        assert SMTP_PASSWORD not in message.last_error
        engine.dispose()


def test_a_refused_mailbox_is_dead_at_once_and_an_untrusted_certificate_is_retried(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as box:
        box.refuse = {"gone@acme.test"}
        sessions, deliverer, engine = _setup(tmp_path, box)
        _queue(sessions, ["gone@acme.test"])
        assert deliverer.deliver_due() == 0
        [message] = _messages(sessions)
        assert message.status == "dead" and message.last_error == "every recipient refused (550)"
        engine.dispose()
    other = tmp_path / "other"
    other.mkdir()
    with smtp_server(other) as box:
        # The server's certificate comes from a CA the deliverer was not told of.
        sessions, deliverer, engine = _setup(other, box, smtp_ca_file=None)
        _queue(sessions, ["head@acme.test"], key="weekly:2")
        assert deliverer.deliver_due() == 0
        [message] = _messages(sessions)
        assert message.status == "pending" and "CERTIFICATE_VERIFY_FAILED" in message.last_error
        assert box.received == [] and box.logins == []
        engine.dispose()


def test_a_password_is_never_sent_without_tls() -> None:
    with pytest.raises(ConfigError, match="a password is never sent without TLS"):
        load_settings(env_file=None, smtp_host="127.0.0.1", smtp_security="none", smtp_password="x")
