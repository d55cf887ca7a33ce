"""When two texts say the same thing: a retweet, a repost, a copy with another link."""

from __future__ import annotations

import re

# "RT @someone: ..." (Twitter's old retweets, and their copies elsewhere), possibly nested.
_REPOST_PREFIX = re.compile(r"^(?:\s*(?:rt|repost|via)\s*:?\s*@[\w.-]+\s*:?\s*)+", re.IGNORECASE)
_LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_NOISE = re.compile(r"[\s\u2026.!?]+")


def text_key(text: str) -> str:
    """The same key for a text and its reposts: without a leading ``RT @user:``, links, case and spacing."""
    text = _REPOST_PREFIX.sub("", text)
    text = _LINK.sub(" ", text)
    return _NOISE.sub(" ", text.casefold()).strip()
