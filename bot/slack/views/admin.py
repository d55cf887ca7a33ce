"""The admin commands' answers: history pages, daily stats, the brands list; and the history query a "More" button
carries."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from analysis.labels import LABELS
from analysis.language import language_name
from bot.config.brands import BrandsConfig
from bot.core.stats import Bucket
from bot.slack.blocks import (
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
    user_mention,
)
from bot.slack.blocks import (
    link as make_link,
)
from storage.labels import Corrected
from storage.models import Mention

MORE_ACTION = "history_more"
CORRECT_ACTION = "history_correct"


def correction_value(mention_id: int, label: str) -> str:
    return f"{mention_id}:{label}"


def parse_correction_value(value: str) -> tuple[int, str]:
    """(mention id, label) from a correction menu's option; ValueError when it is not one the bot wrote."""
    mention, _, label = value.partition(":")
    if not mention.isdigit() or label not in LABELS:
        raise ValueError("not a correction value")
    return int(mention), label


def _correction_menu(mention: Mention) -> Block:
    """A menu to set a classified mention's label; each option carries the mention's id and the label."""
    return {
        "type": "static_select",
        "action_id": CORRECT_ACTION,
        "placeholder": {"type": "plain_text", "text": "Correct the label"},
        "options": [
            {"text": {"type": "plain_text", "text": label}, "value": correction_value(mention.id, label)}
            for label in LABELS
        ],
    }


@dataclass(frozen=True)
class HistoryQuery:
    brand: str
    period: str = "7d"
    label: str | None = None
    words: str = ""
    # Continue after this (created_at, id) of the previous page.
    before: tuple[str, int] | None = None
    language: str | None = None

    def encode(self) -> str:
        # words are at most MAX_WORDS characters (parse_history), so the value stays far inside 2,000.
        return json.dumps(
            {"b": self.brand, "p": self.period, "l": self.label, "w": self.words, "c": self.before, "g": self.language},
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def decode(cls, value: str) -> HistoryQuery:
        data = json.loads(value)
        before = (str(data["c"][0]), int(data["c"][1])) if data.get("c") else None
        language = str(data["g"]) if data.get("g") else None
        return cls(str(data["b"]), str(data["p"]), data.get("l"), str(data.get("w", "")), before, language)


def history_answer(
    query: HistoryQuery, page: list[Mention], *, more: bool, tz: ZoneInfo, timezone: str
) -> dict[str, Any]:
    """One page of a brand's latest mentions, with a "More" button when there are more."""
    filters = " · ".join(
        part
        for part in (
            f"last {query.period}",
            query.label and f"{query.label} only",
            query.language and f"in {language_name(query.language)}",
            query.words and f"containing “{cut(query.words, 100)}”",
        )
        if part
    )
    title = f"{query.brand}: latest mentions ({filters})"
    if not page:
        text = f"No mentions of *{query.brand}* match ({filters})."
        return {"response_type": "ephemeral", "text": fallback(text), "blocks": [section(text)]}
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
        meta = f"{emoji} *{label}* · {when} · {escape(mention.source)}"
        if mention.language:
            meta += f" · {escape(mention.language)}"
        if link:
            meta += f" · {link}"
        if mention.corrected_by:
            meta += f" · corrected by {user_mention(mention.corrected_by)} (model: {mention.model_label})"
        block = section(f"{meta}\n{quote(mention.text, 2000)}")
        if mention.status == "classified":
            block["accessory"] = _correction_menu(mention)
        blocks.append(block)
    if more:
        last = page[-1]
        next_query = dataclasses.replace(query, before=(last.created_at.isoformat(), last.id))
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
    blocks.append(
        context(f"times in {escape(timezone)}; a corrected label counts in stats and joins the labelled pool")
    )
    text = f"{title}: {len(page)} shown" + (", more available" if more else "")
    return {"response_type": "ephemeral", "text": fallback(text), "blocks": blocks}


def stats_answer(
    brand: str, period: str, days: list[Bucket], *, timezone: str, language: str | None = None
) -> dict[str, Any]:
    """A brand's volume and label shares per local day (of the mentions in ``language`` when given)."""
    total = sum(day.count for day in days)
    among = f" in {language_name(language)}" if language else ""
    title = f"{brand}: {total:,} mentions{among} in the last {period}"
    if not total:
        text = f"No mentions of *{brand}*{among} in the last {period}."
        return {"response_type": "ephemeral", "text": fallback(text), "blocks": [section(text)]}
    lines = []
    for day in days:
        shares = " ".join(
            f"{label[:3]} {share:4.0%}" if (share := day.share(label)) is not None else f"{label[:3]}   –"
            for label in LABELS
        )
        negative = day.share("negative")
        voice = f"{day.share_of_voice:5.0%}" if day.share_of_voice is not None else "    –"
        lines.append(
            f"`{day.start:%a %d %b}` `{day.count:>6,}` `{voice}` `{shares}` `{bar(negative or 0.0, 10)}`"
            if day.count
            else f"`{day.start:%a %d %b}` `{0:>6}` `{voice}`"
        )
    blocks: list[Block] = [header(title), section("`day       ` `volume` `voice` `label shares` `negative`")]
    blocks.extend(sections(lines))
    blocks.append(
        context(
            f"days in {escape(timezone)}; voice: share of the mentions of every watched brand; "
            "label shares of the classified mentions"
        )
    )
    return {"response_type": "ephemeral", "text": fallback(title), "blocks": blocks[:MAX_BLOCKS]}


def brands_answer(brands: BrandsConfig) -> dict[str, Any]:
    lines = ["*Brands brandpulse watches*"]
    for brand in brands.brands:
        lines.append(f"• *{brand.name}*: {cut(', '.join(brand.keywords), 400) or 'its name'}")
    return {
        "response_type": "ephemeral",
        "text": fallback("\n".join(lines)),
        "blocks": sections(lines)[:MAX_BLOCKS],
    }


def corrected_answer(corrected: Corrected, label: str, *, user: str) -> dict[str, Any]:
    """What an admin sees once a mention's label is set."""
    was = "kept" if corrected.previous == label else f"was *{corrected.previous}*"
    text = (
        f"{LABEL_EMOJI.get(label, '')} {user_mention(user)} set this *{escape(corrected.brand)}* mention to *{label}* "
        f"({was}; the model said *{corrected.model_label}*). It counts as {label} in stats and joins the labelled pool."
    )
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": fallback(text),
        "blocks": [section(f"{text}\n{quote(corrected.text, 500)}")],
    }
