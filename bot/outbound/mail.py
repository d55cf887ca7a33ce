"""Delivering e-mail messages (scheduled reports): the summary as the text, the PDF attached, sent through the SMTP
server of the settings. With STARTTLS (the default) the connection is upgraded before anything else is said, and a
server that cannot upgrade is refused, never written to in clear; a password is only ever sent over TLS.

A refusal the server calls permanent (5xx: no such mailbox, message refused) makes the message dead at once; 4xx,
timeouts and refused connections are retried with the outbox's backoff.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy.orm import Session, sessionmaker

from bot.config.settings import Settings
from bot.core.delivery import OutboxDeliverer, SendFailed
from storage.models import OutboxMessage, OutboxTarget

log = logging.getLogger(__name__)


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The system's trusted certificates, and BRANDPULSE_SMTP_CA_FILE's besides (a company's own CA)."""
    context = ssl.create_default_context()
    if settings.smtp_ca_file is not None:
        context.load_verify_locations(cafile=str(settings.smtp_ca_file))
    return context


def build_email(message: OutboxMessage, *, sender: str, at: datetime) -> EmailMessage:
    """The e-mail of an outbox message: its recipients, subject and text from the payload, its file attached."""
    payload = message.payload
    email = EmailMessage()
    email["From"] = sender
    email["To"] = ", ".join(payload["to"])
    email["Subject"] = payload["subject"]
    email["Date"] = format_datetime(at)
    # The same id at every attempt: a mail client shows a repeat (a retry after a lost answer) as one message.
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "brandpulse"
    email["Message-ID"] = make_msgid(idstring=f"brandpulse.outbox.{message.id}", domain=domain)
    email.set_content(payload["text"])
    if message.attachment is not None:
        name = message.attachment_name or "report.pdf"
        subtype = "pdf" if name.endswith(".pdf") else "octet-stream"
        email.add_attachment(message.attachment, maintype="application", subtype=subtype, filename=name)
    return email


class EmailDeliverer(OutboxDeliverer):
    target = OutboxTarget.EMAIL

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        settings: Settings,
        context: ssl.SSLContext | None = None,
        max_attempts: int = 8,
        lease: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(sessions=sessions, max_attempts=max_attempts, lease=lease, clock=clock)
        if settings.smtp_host is None:
            raise ValueError("no SMTP server: set BRANDPULSE_SMTP_HOST")
        self.settings = settings
        self.context = context or tls_context(settings)

    def send(self, message: OutboxMessage) -> None:
        settings = self.settings
        email = build_email(message, sender=settings.smtp_from, at=self.clock())
        try:
            self._send(email)
        except smtplib.SMTPRecipientsRefused as exc:  # every recipient refused
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise SendFailed(
                f"every recipient refused ({', '.join(map(str, codes))})", permanent=codes[0] >= 500
            ) from None
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            raise SendFailed(f"SMTP {exc.smtp_code}: {text}", permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, timed out, TLS failed, no STARTTLS
            raise SendFailed(f"{type(exc).__name__}: {exc}") from None

    def _send(self, email: EmailMessage) -> None:
        settings = self.settings
        host, timeout = str(settings.smtp_host), settings.smtp_timeout_seconds
        smtp: smtplib.SMTP
        if settings.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(host, settings.smtp_port, timeout=timeout, context=self.context)
        else:
            smtp = smtplib.SMTP(host, settings.smtp_port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if settings.smtp_security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError(f"{host} offers no STARTTLS: nothing is sent in clear")
                smtp.starttls(context=self.context)
                smtp.ehlo()
            if settings.smtp_username is not None:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_username, password)
            refused = smtp.send_message(email)
        if refused:  # the others have it: sending again would repeat it to them
            log.warning("report e-mail %s: refused for %s", email["Message-ID"], ", ".join(sorted(refused)))
