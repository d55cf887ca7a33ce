"""What brandpulse sends beyond Slack, received on loopback as the real receivers would: a webhook endpoint that checks
each delivery with the Standard Webhooks reference library (not brandpulse's own code), and an SMTP server (aiosmtpd)
that speaks STARTTLS with a certificate of a test CA and asks for a password."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.net import free_port

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SMTP_USER, SMTP_PASSWORD = "reports", "s3cret-smtp-password"


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class WebhookReceiver:
    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    # Answers given in turn (status, headers); 204 once they run out.
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    # What the receiver says in its answers' bodies (an error page, however long).
    said: bytes = b""
    # Seconds the receiver takes before it answers (a stalled endpoint).
    delay: float = 0.0

    @property
    def accepted(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.verified]


@contextmanager
def webhook_receiver(secret: str = WEBHOOK_SECRET) -> Iterator[WebhookReceiver]:
    verifier = Webhook(secret)
    receiver = WebhookReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                verifier.verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
            receiver.deliveries.append(Delivery(headers, body, verified))
            time.sleep(receiver.delay)
            status, extra = receiver.answers.pop(0) if receiver.answers else (204, {})
            if not verified:
                status, extra = 401, {}
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(receiver.said)))
            self.end_headers()
            try:
                self.wfile.write(receiver.said)
            except OSError:  # the sender read what it wanted and hung up
                pass

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/brandpulse"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    host: str
    port: int
    ca_file: str
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    # Whether each conversation was encrypted when the message was sent, and who logged in.
    encrypted: list[bool] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    # Recipients the server refuses, with a permanent (550) answer.
    refuse: set[str] = field(default_factory=set)


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if address in self.box.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.box.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        self.box.encrypted.append(session.ssl is not None)
        return "250 Message accepted"


@contextmanager
def smtp_server(tmp_path: Any, *, starttls: bool = True) -> Iterator[Mailbox]:
    """An SMTP server on loopback; with ``starttls``, it offers STARTTLS (a certificate for 127.0.0.1 from a test CA,
    whose PEM is the mailbox's ``ca_file``) and takes a login only once the connection is encrypted."""
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca_file = tmp_path / "smtp-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    box = Mailbox(host="127.0.0.1", port=0, ca_file=str(ca_file))

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        ):
            box.logins.append(data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    options: dict[str, Any] = {"authenticator": authenticator, "auth_require_tls": True}
    if starttls:
        options["tls_context"] = context
    box.port = free_port()  # aiosmtpd's controller checks its server by connecting to the port it was given
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=box.port, **options)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
