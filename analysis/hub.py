"""Whether the Hugging Face Hub can be asked at all, decided in seconds rather than after a minute of retries."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse


def offline() -> bool:
    """HF_HUB_OFFLINE is set: use local files and the cache only."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout: float = 3.0) -> bool:
    """One quick TCP connection to the hub (or HF_ENDPOINT)."""
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False
