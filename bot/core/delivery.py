"""Delivering the outbox: take due messages of one target (Slack, webhooks, e-mail), send them, retry with backoff,
give up after N attempts. Each target's deliverer says how to send one message; the leases, retries and the loop
are the same for all.

At least once: a message is marked sent only after its receiver has taken it, so a process that dies between the
receiver's answer and that mark sends it again when its lease runs out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from storage.models import OutboxMessage, OutboxTarget
from storage.outbox import claim_due, mark_failed, mark_sent, record_step

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)


class LeaseLost(Exception):
    """Another deliverer took the message after this one's lease ran out."""


class SendFailed(Exception):
    """One attempt failed: ``permanent`` when sending the same message again cannot help (it is then dead at once);
    ``retry_after``, when the receiver asked for a wait, is used if longer than the backoff."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: timedelta | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


def backoff(attempts: int) -> timedelta:
    """30 s after the first failed attempt, doubling, at most an hour."""
    delay: timedelta = BACKOFF_BASE * 2 ** max(0, attempts - 1)
    return min(BACKOFF_MAX, delay)


class OutboxDeliverer:
    """Delivers the messages of ``target``; a subclass sends one (``send``), raising SendFailed when it cannot."""

    target: OutboxTarget = OutboxTarget.SLACK

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        max_attempts: int = 8,
        lease: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.max_attempts = max_attempts
        self.lease = lease
        self.clock = clock
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def send(self, message: OutboxMessage) -> None:
        raise NotImplementedError

    def deliver_due(self) -> int:
        """Deliver what is due now until nothing is; returns how many were sent.

        One message is taken at a time, so that its lease starts when its delivery does: messages waiting behind a
        slow one (a receiver rate-limiting) are not held past their lease while others could send them.
        """
        sent = 0
        while True:
            with self.sessions.begin() as session:
                messages = claim_due(session=session, now=self.clock(), lease=self.lease, limit=1, target=self.target)
            if not messages:
                return sent
            sent += self._deliver(messages[0])

    def _deliver(self, message: OutboxMessage) -> int:
        try:
            self.send(message)
        except SendFailed as exc:
            self._failed(message, exc)
            return 0
        except LeaseLost:
            return 0
        with self.sessions.begin() as session:
            if not mark_sent(session=session, message_id=message.id, attempt=message.attempts, at=self.clock()):
                log.warning("outbox message %d was sent, but another deliverer had taken it meanwhile", message.id)
                return 0
        log.info("delivered %s message %d to %s %s", message.kind, message.id, self.target.value, message.channel)
        return 1

    def record(self, message: OutboxMessage, **values: str) -> None:
        """Remember a step the receiver took, so that a retry skips it; LeaseLost when another deliverer holds the
        message now."""
        with self.sessions.begin() as session:
            if not record_step(session=session, message_id=message.id, attempt=message.attempts, **values):
                log.warning(
                    "outbox message %d: its lease ran out mid-delivery and another deliverer took it; leaving it there",
                    message.id,
                )
                raise LeaseLost

    def _failed(self, message: OutboxMessage, failure: SendFailed) -> None:
        error = failure.reason
        dead = failure.permanent or message.attempts >= self.max_attempts
        wait = backoff(message.attempts)
        if failure.retry_after is not None:
            wait = max(wait, min(failure.retry_after, BACKOFF_MAX))
        retry_at = None if dead else self.clock() + wait
        with self.sessions.begin() as session:
            if not mark_failed(
                session=session, message_id=message.id, attempt=message.attempts, error=error, retry_at=retry_at
            ):
                return  # another deliverer holds it now and reports on it
        where = f"{self.target.value} {message.channel}"
        if dead:
            log.error(
                "outbox message %d (%s to %s) is dead after %d attempts: %s; `brandpulse outbox retry %d` sends it again",
                message.id,
                message.kind,
                where,
                message.attempts,
                error,
                message.id,
            )
        else:
            log.warning(
                "outbox message %d (%s to %s), attempt %d failed: %s; next attempt at %s",
                message.id,
                message.kind,
                where,
                message.attempts,
                error,
                retry_at.isoformat() if retry_at else "-",
            )

    def wake(self) -> None:
        """Deliver now rather than at the next poll (a job has just queued something)."""
        self._wake.set()

    def start(self, poll_seconds: float = 2.0) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.deliver_due()
                except Exception:  # the database may be away for a while; keep trying
                    log.exception("%s delivery failed; trying again in %.0f s", self.target.value, poll_seconds)
                self._wake.wait(poll_seconds)
                self._wake.clear()

        self._thread = threading.Thread(target=loop, name=f"outbox-{self.target.value}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


class Deliverers:
    """The deliverers of every target configured (Slack, webhooks, e-mail), driven as one."""

    def __init__(self, deliverers: list[OutboxDeliverer]) -> None:
        self.deliverers = deliverers

    @property
    def targets(self) -> list[str]:
        """What they deliver to, as a log line says it: Slack, webhooks, e-mail."""
        names = {OutboxTarget.SLACK: "Slack", OutboxTarget.WEBHOOK: "webhooks", OutboxTarget.EMAIL: "e-mail"}
        return [names[d.target] for d in self.deliverers]

    def deliver_due(self) -> int:
        return sum(d.deliver_due() for d in self.deliverers)

    def wake(self) -> None:
        for deliverer in self.deliverers:
            deliverer.wake()

    def start(self, poll_seconds: float = 2.0) -> None:
        for deliverer in self.deliverers:
            deliverer.start(poll_seconds)

    def stop(self) -> None:
        for deliverer in self.deliverers:
            deliverer.stop()
