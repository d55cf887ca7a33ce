"""Slack's requests over HTTP, in the order a public endpoint must take them: the signature's headers checked before
the body is read, the body read under a cap while it streams (and under the budget of unverified bodies), the
signature verified on the raw bytes, each signed request answered once, and only then parsed.

Nothing here reads a field of an unverified body, so nothing an unverified request says (a ``response_url``, say)
can make the bot call out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.runtime.bodies import Refused
from storage.replays import claim_request, forget_requests_before, release_request

log = logging.getLogger(__name__)

# Slack sends at most a few kilobytes (a 40,000-character message is ~160 KB escaped); refuse anything absurd.
MAX_BODY_BYTES = 1_000_000
# Slack's own rule: a signature more than five minutes away from now is refused.
SIGNATURE_WINDOW_SECONDS = 300
# Signatures remembered in each process, beside the shared store: enough for a few hundred requests a second.
MEMORY_CAPACITY = 100_000


def header_problem(*, timestamp: str | None, signature: str | None, now: float) -> str | None:
    """Why the headers alone show that a request cannot be Slack's (None when they may be): checked before its body
    is read, so that a request without a current, well-formed signature costs no body."""
    if not timestamp or not signature:
        return "no signature"
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return "malformed timestamp"
    if abs(now - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
        return "timestamp outside the five-minute window"
    hex_digest = signature.removeprefix("v0=")
    if not signature.startswith("v0=") or len(hex_digest) != 64 or not all(c in "0123456789abcdef" for c in hex_digest):
        return "malformed signature"
    return None


def signature_problem(
    *, secret: bytes, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> str | None:
    """None when the request is signed by Slack with ``secret``; otherwise why it is not."""
    problem = header_problem(timestamp=timestamp, signature=signature, now=now)
    if problem is not None:
        return problem
    assert timestamp is not None and signature is not None
    digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(f"v0={digest}".encode(), signature.encode("latin-1", "replace")):
        return "signature mismatch"
    return None


def check_shape(content_type: str, body: bytes) -> None:
    """Refuse (400) a verified body the Slack app could not read: not UTF-8, not JSON or a form, not objects."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "request body is not UTF-8") from None
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json":
        _object(text, "the JSON body")
        return
    if media != "application/x-www-form-urlencoded":
        raise Refused(400, f"unsupported content type {media[:60]!r}")
    form = parse_qs(text, keep_blank_values=True)
    if "payload" in form:
        _object(form["payload"][0], "the payload field")


def _object(text: str, what: str) -> None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is not a JSON object")
    # The fields bolt reads to route a request: a string type, objects where Slack sends objects.
    if "type" in value and not isinstance(value["type"], str):
        raise Refused(400, f"'type' in {what} is not a string")
    for key in ("event", "user", "team", "container", "view", "authorizations"):
        if key in value and not isinstance(value[key], dict | str | list):
            raise Refused(400, f"'{key}' in {what} has the wrong type")


class ReplayGuard:
    """Answers each signed request once: signatures are kept for the window in which Slack's rule accepts them, in
    this process and in the database that every process serving HTTP shares."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        capacity: int = MEMORY_CAPACITY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions = sessions
        self.capacity = capacity
        self.clock = clock
        self._recent: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._next_prune = 0.0
        self._warned_at = -1e9

    def claim(self, signature: str) -> bool:
        """True the first time ``signature`` is seen (by any process), False for a replay."""
        now = self.clock()
        with self._lock:
            while self._recent and next(iter(self._recent.values())) < now - SIGNATURE_WINDOW_SECONDS:
                self._recent.popitem(last=False)
            if signature in self._recent:
                return False
            self._recent[signature] = now
            if len(self._recent) > self.capacity:
                self._recent.popitem(last=False)
        at = datetime.fromtimestamp(now, UTC)
        try:
            with self.sessions.begin() as session:
                first = claim_request(session=session, signature=signature, at=at)
                if first and now >= self._next_prune:
                    self._next_prune = now + 60
                    forget_requests_before(session=session, before=at - timedelta(seconds=2 * SIGNATURE_WINDOW_SECONDS))
        except DBAPIError as exc:
            # The request may still be served (a /sentiment needs no database); this process alone remembers it.
            if now - self._warned_at > 60:
                self._warned_at = now
                log.warning("the replay store is unavailable (%s); replays are refused per process", type(exc).__name__)
            return True
        return first

    def release(self, signature: str) -> None:
        """Forget a request that was not answered with success, so that Slack's retry of it is served."""
        with self._lock:
            self._recent.pop(signature, None)
        try:
            with self.sessions.begin() as session:
                release_request(session=session, signature=signature)
        except DBAPIError:
            pass


class ThrottledLog:
    """One log line per ``every`` seconds at most, with how many were held back: a flood of bad requests must not
    fill the log."""

    def __init__(self, logger: logging.Logger, every: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.logger, self.every, self.clock = logger, every, clock
        self._last = -1e9
        self._held = 0
        self._lock = threading.Lock()

    def warning(self, message: str, *args: Any) -> None:
        with self._lock:
            now = self.clock()
            if now - self._last < self.every:
                self._held += 1
                return
            held, self._held, self._last = self._held, 0, now
        suffix = f" (and {held} more since the last report)" if held else ""
        self.logger.warning(message + suffix, *args)
