"""Block Kit building blocks: escaping, Slack's size limits, and the shapes every message shares."""

from __future__ import annotations

from typing import Any

from analysis.labels import LABELS

Block = dict[str, Any]

# Slack's limits (api.slack.com/reference/block-kit): characters per text object and elements per message.
SECTION_TEXT_LIMIT = 3000
CONTEXT_TEXT_LIMIT = 2000
HEADER_TEXT_LIMIT = 150
BUTTON_VALUE_LIMIT = 2000
FALLBACK_TEXT_LIMIT = 4000
MAX_BLOCKS = 50

LABEL_EMOJI = {"negative": ":rage:", "neutral": ":neutral_face:", "positive": ":smile:"}
BAR_WIDTH = 20


def escape(text: str) -> str:
    """Text as Slack shows it literally: ``<!channel>``, ``<@U1>`` and ``<http://x|y>`` stop being mentions or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """At most ``limit`` characters once escaped, with an ellipsis where it was cut; never half an entity."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    used = 0
    for char in text:
        piece = escape(char)
        if used + len(piece) > limit - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + "…"


def quote(text: str, limit: int) -> str:
    """User text as a mrkdwn block quote, escaped and cut to fit ``limit`` characters."""
    # Each line gets "> "; flattening newlines keeps the arithmetic simple and the quote one block.
    flat = " ".join(text.split())
    return "> " + cut(flat, limit - 2)


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_TEXT_LIMIT]}}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": t[:CONTEXT_TEXT_LIMIT]} for t in texts]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text[: HEADER_TEXT_LIMIT - 1], "emoji": True}}


def bar(share: float, width: int = BAR_WIDTH) -> str:
    """A proportion as a bar of block characters: ``██████░░░░``."""
    filled = round(max(0.0, min(1.0, share)) * width)
    return "█" * filled + "░" * (width - filled)


def score_lines(scores: dict[str, float]) -> str:
    return "\n".join(f"`{label:<8}` `{bar(scores[label])}` {scores[label]:6.1%}" for label in LABELS)


def fallback(text: str) -> str:
    """The plain ``text`` of a message (notifications, screen readers), cut to a sensible size.

    It is built from parts already escaped with :func:`escape` or :func:`cut`.
    """
    return text if len(text) <= FALLBACK_TEXT_LIMIT else text[: FALLBACK_TEXT_LIMIT - 1] + "…"
