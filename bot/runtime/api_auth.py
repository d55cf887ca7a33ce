"""Who may call the ingest API: holders of a bearer token, and senders that sign with Standard Webhooks.

Both checks run on headers and raw bytes only, before any field of the body is read, and compare in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from bot.core.signing import webhook_signature

# The Standard Webhooks tolerance: a delivery whose timestamp is further from now is refused (replay protection).
WEBHOOK_TOLERANCE_SECONDS = 300
MAX_WEBHOOK_ID_CHARS = 255


class BearerTokens:
    """The tokens of ``BRANDPULSE_API_TOKENS``; only their SHA-256 digests are kept."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._digests = [hashlib.sha256(token.encode()).digest() for token in tokens]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def allows(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries one of the tokens."""
        if not authorization:
            return False
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        # Digests have one length whatever the token's, and every known token is compared: the time taken says
        # nothing of which one came close.
        digest = hashlib.sha256(token.strip().encode("utf-8", "surrogateescape")).digest()
        found = False
        for known in self._digests:
            found |= hmac.compare_digest(digest, known)
        return found


class WebhookSecrets:
    """The secrets of ``BRANDPULSE_WEBHOOK_SECRETS``: several, so that a sender can rotate its secret."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        self._keys = list(keys)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def header_problem(
        self, *, message_id: str | None, timestamp: str | None, signatures: str | None, now: float
    ) -> str | None:
        """Why the headers alone show that a delivery cannot verify (None when it may): checked before its body is
        read, so that a request that merely claims a signature costs no body."""
        if not self._keys or not message_id or not timestamp or not signatures:
            return "no signature"
        if len(message_id) > MAX_WEBHOOK_ID_CHARS or not message_id.isprintable():
            return "malformed webhook-id"
        if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
            return "malformed timestamp"
        if abs(now - int(timestamp)) > WEBHOOK_TOLERANCE_SECONDS:
            return "timestamp outside the five-minute tolerance"
        if not any(_looks_like_v1(given) for given in signatures.split(" ")):
            return "no v1 signature"
        return None

    def problem(
        self,
        *,
        message_id: str | None,
        timestamp: str | None,
        signatures: str | None,
        body: bytes,
        now: float,
    ) -> str | None:
        """None when one of the delivery's signatures is made with one of the secrets; otherwise why not."""
        problem = self.header_problem(message_id=message_id, timestamp=timestamp, signatures=signatures, now=now)
        if problem is not None:
            return problem
        assert message_id is not None and timestamp is not None and signatures is not None
        expected = [
            webhook_signature(key, message_id=message_id, timestamp=timestamp, body=body).encode() for key in self._keys
        ]
        found = False
        for given in signatures.split(" "):
            if not given.startswith("v1,"):
                continue  # another scheme (v1a, asymmetric) or a future version
            raw = given.encode("latin-1", "replace")
            for signature in expected:
                found |= hmac.compare_digest(signature, raw)
        return None if found else "signature mismatch"


def _looks_like_v1(given: str) -> bool:
    """``v1,`` and the base64 of a SHA-256 digest (44 characters)."""
    encoded = given.removeprefix("v1,")
    return given.startswith("v1,") and len(encoded) == 44 and encoded.isascii()
