"""Standard Webhooks signatures: the ``v1,...`` HMAC-SHA256 of ``{id}.{timestamp}.{body}``, as the ingest API checks
them on the way in and the webhooks deliverer writes them on the way out."""

from __future__ import annotations

import base64
import hashlib
import hmac


def webhook_signature(key: bytes, *, message_id: str, timestamp: str, body: bytes) -> str:
    """The ``v1,...`` signature of a delivery."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
