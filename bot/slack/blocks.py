"""Block Kit building blocks: escaping, Slack's size limits, and the shapes every message shares."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from analysis.labels import LABELS

Block = dict[str, Any]

# Slack's limits (api.slack.com/reference/block-kit): characters per text object and elements per message.
SECTION_TEXT_LIMIT = 3000
CONTEXT_TEXT_LIMIT = 2000
HEADER_TEXT_LIMIT = 150
BUTTON_VALUE_LIMIT = 2000
FALLBACK_TEXT_LIMIT = 4000
MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100
# Longer URLs are shown without a link rather than push a section past Slack's limit.
MAX_URL = 1000

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


def fit(text: str, limit: int) -> str:
    """Already-escaped text cut to ``limit`` characters with an ellipsis, never inside an ``&amp;``-style entity."""
    if len(text) <= limit:
        return text
    kept = text[: limit - 1]
    entity = kept.rfind("&")
    if entity != -1 and ";" not in kept[entity:]:
        kept = kept[:entity]
    return kept + "…"


def change(now: float, before: float) -> str:
    """Relative change for people: ``+25%``, ``new`` when there was nothing before."""
    if before == 0:
        return "new" if now else "no change"
    return f"{(now - before) / before:+.0%}"


def link(url: str | None, label: str) -> str:
    """A mrkdwn link to an http(s) URL, or nothing; the URL cannot close the link early or add markup."""
    if not url or not url.startswith(("https://", "http://")) or len(url) > MAX_URL:
        return ""
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def when(moment: datetime, tz: ZoneInfo) -> str:
    """A time as messages show it: ``Thu 05 Nov 10:06 Europe/Rome``."""
    return f"{moment.astimezone(tz):%a %d %b %H:%M} {tz.key}"


def provenance(*, source: str, author: str | None, created_at: datetime, url: str | None, tz: ZoneInfo) -> str:
    """Where a mention comes from, on one line: source · author · when · link."""
    parts = (escape(source), author and escape(author), when(created_at, tz), link(url, "link"))
    return " · ".join(part for part in parts if part)


def user_mention(user: str) -> str:
    """A Slack user ID as a mention (it never pings in an ephemeral message); anything else as plain text."""
    return f"<@{user}>" if user.isalnum() else escape(user)


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(text, SECTION_TEXT_LIMIT)}}


def sections(lines: list[str]) -> list[Block]:
    """Lines packed into as few sections as their 3,000-character limit allows."""
    blocks: list[Block] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > SECTION_TEXT_LIMIT:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    return blocks


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(t, CONTEXT_TEXT_LIMIT)} for t in texts]}


def header(text: str) -> Block:
    """A header; plain text, where Slack shows escapes literally, so never put user text in one."""
    return {"type": "header", "text": {"type": "plain_text", "text": fit(text, HEADER_TEXT_LIMIT), "emoji": True}}


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
    return fit(text, FALLBACK_TEXT_LIMIT)


_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#[CG][A-Z0-9]+\|([^>]*)>")
_SPECIAL = re.compile(r"<!(channel|here|everyone)(?:\|[^>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]*)(?:\|([^>]*))?>")


def plain_text(text: str) -> str:
    """Slack's markup as the words people saw: ``<@U1>`` -> ``@user``, ``<http://x|x>`` -> the URL, ``&amp;`` -> ``&``."""
    text = _USER.sub("@user", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(1)}", text)
    text = _SPECIAL.sub(lambda m: f"@{m.group(1)}", text)
    text = _SUBTEAM.sub(lambda m: m.group(1) or "@team", text)
    text = _LINK.sub(lambda m: m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def message_text(payload: dict[str, Any]) -> str:
    """A message as a terminal shows it (``brandpulse demo``): its blocks' words, a line or more per block (buttons
    and menus left out), Slack's markup made plain; the fallback text when it has no blocks."""
    lines: list[str] = []
    for block in payload.get("blocks") or []:
        kind = block.get("type")
        if kind in ("header", "section"):
            text = (block.get("text") or {}).get("text")
            lines.extend([text] if text else [])
            lines.extend(field["text"] for field in block.get("fields") or [] if field.get("text"))
        elif kind == "context":
            lines.append(" · ".join(e["text"] for e in block.get("elements") or [] if e.get("text")))
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        elif kind == "divider":
            lines.append("")
    if not lines:
        lines.append(str(payload.get("text") or ""))
    return plain_text("\n".join(lines))


def webhook_text(payload: dict[str, Any]) -> dict[str, str]:
    """A Slack message's words for a webhook's receiver: ``summary`` (its fallback line) and ``text`` (every
    block), Slack's markup made plain."""
    return {"summary": plain_text(str(payload.get("text") or "")), "text": message_text(payload)}
