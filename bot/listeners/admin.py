"""``/sentiment history|stats|brands``: stored mentions and their sentiment, for the admins in BRANDPULSE_ADMIN_USERS."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import Ack, App, Respond

from analysis.labels import LABELS
from bot.app import Services, reply
from bot.blocks import (
    LABEL_EMOJI,
    MAX_BLOCKS,
    Block,
    bar,
    context,
    cut,
    escape,
    fallback,
    header,
    quote,
    section,
    sections,
)
from bot.blocks import (
    link as make_link,
)
from bot.stats import brand_stats
from storage.mentions import history_query

log = logging.getLogger(__name__)

MORE_ACTION = "history_more"
PAGE_SIZE = 10
_PERIOD = re.compile(r"^(\d{1,4})([hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_PERIOD = timedelta(days=366)
MAX_WORDS = 200


class UsageError(ValueError):
    """The command's arguments do not parse; the message says how to write them."""


@dataclass(frozen=True)
class HistoryQuery:
    brand: str
    period: str = "7d"
    label: str | None = None
    words: str = ""
    # Continue after this (created_at, id) of the previous page.
    before: tuple[str, int] | None = None

    def encode(self) -> str:
        # words are at most MAX_WORDS characters (parse_history), so the value stays far inside 2,000.
        return json.dumps(
            {"b": self.brand, "p": self.period, "l": self.label, "w": self.words, "c": self.before},
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def decode(cls, value: str) -> HistoryQuery:
        data = json.loads(value)
        before = (str(data["c"][0]), int(data["c"][1])) if data.get("c") else None
        return cls(str(data["b"]), str(data["p"]), data.get("l"), str(data.get("w", "")), before)


def period_of(value: str) -> timedelta:
    match = _PERIOD.match(value)
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"`{escape(value)}` is not a period: write it like `24h`, `7d` or `4w`")
    length = int(match.group(1)) * _UNITS[match.group(2)]
    if length > MAX_PERIOD:
        raise UsageError("the longest period is a year (`366d`)")
    return length


def parse_history(services: Services, args: list[str]) -> HistoryQuery:
    if not args:
        raise UsageError("write `/sentiment history &lt;brand&gt; [7d] [negative|neutral|positive] [words]`")
    brand, rest = _brand(services, args[0]), args[1:]
    period = "7d"
    if rest and _PERIOD.match(rest[0].lower()):
        period = rest.pop(0).lower()
        period_of(period)
    label = None
    if rest and rest[0].lower() in LABELS:
        label = rest.pop(0).lower()
    words = " ".join(rest)
    if len(words) > MAX_WORDS:
        raise UsageError(f"search for at most {MAX_WORDS} characters of words")
    return HistoryQuery(brand=brand, period=period, label=label, words=words)


def _brand(services: Services, name: str) -> str:
    wanted = name.lower()
    if wanted not in services.brands.names:
        known = ", ".join(f"`{b}`" for b in services.brands.names)
        raise UsageError(f"`{cut(name, 64)}` is not a brand brandpulse watches; try one of {known}")
    return wanted


def history_page(services: Services, query: HistoryQuery) -> dict[str, Any]:
    now = services.clock()
    since = now - period_of(query.period)
    before = (datetime.fromisoformat(query.before[0]), query.before[1]) if query.before else None
    with services.sessions() as session:
        rows = list(
            session.execute(
                history_query(
                    brand=query.brand,
                    since=since,
                    label=query.label,
                    search=query.words or None,
                    limit=PAGE_SIZE + 1,
                    before=before,
                )
            ).scalars()
        )
    page, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    filters = " · ".join(
        part
        for part in (
            f"last {query.period}",
            query.label and f"{query.label} only",
            query.words and f"containing “{cut(query.words, 100)}”",
        )
        if part
    )
    title = f"{query.brand}: latest mentions ({filters})"
    if not page:
        text = f"No mentions of *{query.brand}* match ({filters})."
        return {"response_type": "ephemeral", "text": fallback(text), "blocks": [section(text)]}
    tz = services.settings.tz
    # The header is plain text, where Slack shows escapes literally: the user's words go in a mrkdwn line below it.
    blocks: list[Block] = [
        header(f"{query.brand}: {'more of the ' if query.before else ''}latest mentions"),
        context(filters),
    ]
    for mention in page:
        label = mention.label or mention.status
        emoji = LABEL_EMOJI.get(mention.label or "", ":hourglass:")
        when = mention.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        link = make_link(mention.url, "link")
        meta = f"{emoji} *{label}* · {when} · {escape(mention.source)}" + (f" · {link}" if link else "")
        blocks.append(section(f"{meta}\n{quote(mention.text, 2000)}"))
    if more:
        last = page[-1]
        next_query = HistoryQuery(
            query.brand, query.period, query.label, query.words, (last.created_at.isoformat(), last.id)
        )
        blocks.append(
            {
                "type": "actions",
                "block_id": MORE_ACTION,
                "elements": [
                    {
                        "type": "button",
                        "action_id": MORE_ACTION,
                        "text": {"type": "plain_text", "text": "More"},
                        "value": next_query.encode(),
                    }
                ],
            }
        )
    blocks.append(context(f"times in {escape(services.settings.timezone)}"))
    text = f"{title}: {len(page)} shown" + (", more available" if more else "")
    return {"response_type": "ephemeral", "text": fallback(text), "blocks": blocks}


def stats_answer(services: Services, args: list[str]) -> dict[str, Any]:
    if not args:
        raise UsageError("write `/sentiment stats &lt;brand&gt; [30d]`")
    brand = _brand(services, args[0])
    period = args[1].lower() if len(args) > 1 else "30d"
    now = services.clock()
    tz = services.settings.tz
    # Whole local days: from the start of the first day of the period up to now.
    first = (now - period_of(period)).astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    with services.sessions() as session:
        days = brand_stats(session=session, brand=brand, tz=tz, by="day", since=first, until=now)
    total = sum(day.count for day in days)
    title = f"{brand}: {total:,} mentions in the last {period}"
    if not total:
        text = f"No mentions of *{brand}* in the last {period}."
        return {"response_type": "ephemeral", "text": fallback(text), "blocks": [section(text)]}
    lines = []
    for day in days:
        shares = " ".join(
            f"{label[:3]} {share:4.0%}" if (share := day.share(label)) is not None else f"{label[:3]}   –"
            for label in LABELS
        )
        negative = day.share("negative")
        lines.append(
            f"`{day.start:%a %d %b}` `{day.count:>6,}` `{shares}` `{bar(negative or 0.0, 10)}`"
            if day.count
            else f"`{day.start:%a %d %b}` `{0:>6}`"
        )
    blocks: list[Block] = [header(title), section("`day       ` `volume` `label shares` `negative`")]
    blocks.extend(sections(lines))
    blocks.append(context(f"days in {escape(services.settings.timezone)}; shares of the classified mentions"))
    return {"response_type": "ephemeral", "text": fallback(title), "blocks": blocks[:MAX_BLOCKS]}


def brands_answer(services: Services) -> dict[str, Any]:
    lines = ["*Brands brandpulse watches*"]
    for brand in services.brands.brands:
        lines.append(f"• *{brand.name}*: {cut(', '.join(brand.keywords), 400) or 'its name'}")
    return {
        "response_type": "ephemeral",
        "text": fallback("\n".join(lines)),
        "blocks": sections(lines)[:MAX_BLOCKS],
    }


def refusal(command: str) -> dict[str, Any]:
    text = f":lock: Sorry, `/sentiment {command}` is for brandpulse admins. Ask one to add you to the admin list."
    return {"response_type": "ephemeral", "text": text}


def handle(services: Services, user: str, words: list[str]) -> dict[str, Any]:
    """The answer to ``/sentiment history|stats|brands ...``."""
    command, args = words[0].lower(), words[1:]
    if command == "brands":
        return brands_answer(services)
    if not services.is_admin(user):
        log.warning("refused /sentiment %s for %s: not in BRANDPULSE_ADMIN_USERS", command, user)
        return refusal(command)
    try:
        if command == "history":
            return history_page(services, parse_history(services, args))
        return stats_answer(services, args)
    except UsageError as exc:
        return {"response_type": "ephemeral", "text": f":thinking_face: {exc}"}


def register(app: App, services: Services) -> None:
    @app.action(MORE_ACTION)
    def on_more(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user = str(body.get("user", {}).get("id", ""))
        if not services.is_admin(user):
            log.warning("refused a history page for %s: not in BRANDPULSE_ADMIN_USERS", user)
            reply(respond, {"replace_original": False, **refusal("history")})
            return
        try:
            query = HistoryQuery.decode(str(action.get("value", "")))
            _brand(services, query.brand)
        except (ValueError, KeyError, TypeError, IndexError, UsageError):
            log.warning("ignored a history button with a value that is not brandpulse's (user %s)", user)
            return
        reply(respond, {"replace_original": False, **history_page(services, query)})
