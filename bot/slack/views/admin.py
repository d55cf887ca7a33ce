"""The admin commands' answers: history pages, daily stats, the brands list; and the history query a "More" button
carries."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from analysis.labels import LABELS
from analysis.language import language_name
from bot.config.brands import BrandsConfig
from bot.core.history import resume_after
from bot.core.ids import row_id
from bot.core.periods import during
from bot.core.stats import Bucket
from bot.core.triage import Muted, Triaged
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
from storage.mention_queries import Triage
from storage.models import Mention
from storage.mutes import mutable_domain

MORE_ACTION = "history_more"
MENTION_ACTION = "mention_menu"
ASSIGN_ACTION = "mention_assign"
ASSIGN_BLOCK = "assign:"
TRIAGE = ("handled", "reopen", "mute_author", "mute_domain")


def menu_value(mention_id: int, verb: str) -> str:
    return f"{mention_id}:{verb}"


def parse_menu_value(value: str) -> tuple[int, str]:
    """(mention id, what to do: a label or handled/reopen) from the menu's option; ValueError when not the bot's."""
    mention, _, verb = value.partition(":")
    if verb not in LABELS and verb not in TRIAGE:
        raise ValueError("not a mention menu value")
    return row_id(mention), verb


def parse_assign_block(block_id: str) -> int:
    """The mention id an assignment menu's block names; ValueError when it is not one the bot wrote."""
    if not block_id.startswith(ASSIGN_BLOCK):
        raise ValueError("not an assignment block")
    return row_id(block_id.removeprefix(ASSIGN_BLOCK))


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def mention_menu(mention: Mention) -> Block:
    """What an admin does with a mention: triage it, or set its label (each option carries the mention's id)."""
    triage = (
        _option("Open it again", menu_value(mention.id, "reopen"))
        if mention.handled_by
        else _option("Mark handled", menu_value(mention.id, "handled"))
    )
    groups = [{"label": {"type": "plain_text", "text": "Triage"}, "options": [triage]}]
    if mention.status == "classified":
        labels = [_option(label, menu_value(mention.id, label)) for label in LABELS]
        groups.append({"label": {"type": "plain_text", "text": "Correct the label"}, "options": labels})
    mutes = []
    if mention.author and mention.author.strip():
        mutes.append(
            _option(
                cut_plain(f"Mute {mention.author.strip()} for {mention.brand}", 75),
                menu_value(mention.id, "mute_author"),
            )
        )
    domain = mutable_domain(mention.url)
    if domain:
        mutes.append(
            _option(cut_plain(f"Mute {domain} for {mention.brand}", 75), menu_value(mention.id, "mute_domain"))
        )
    if mutes:
        groups.append({"label": {"type": "plain_text", "text": "Mute"}, "options": mutes})
    return {
        "type": "static_select",
        "action_id": MENTION_ACTION,
        "placeholder": {"type": "plain_text", "text": "Act on it"},
        "option_groups": groups,
    }


def _assign_menu(mention: Mention) -> Block:
    menu: dict[str, Any] = {
        "type": "users_select",
        "action_id": ASSIGN_ACTION,
        "placeholder": {"type": "plain_text", "text": "Assign to…"},
    }
    if mention.assignee:
        menu["initial_user"] = mention.assignee
    return {"type": "actions", "block_id": f"{ASSIGN_BLOCK}{mention.id}", "elements": [menu]}


# The triage words of `/sentiment history` (and of the query a "More" button carries).
STATES = tuple(state.value for state in Triage)


@dataclass(frozen=True)
class HistoryQuery:
    brand: str
    period: str = "7d"
    label: str | None = None
    words: str = ""
    # Continue after this (created_at, id) of the previous page.
    before: tuple[str, int] | None = None
    language: str | None = None
    # "handled", "unhandled" or "assigned"; and the teammate the mentions are assigned to.
    state: str | None = None
    assignee: str | None = None

    def encode(self) -> str:
        # words are at most MAX_WORDS characters (parse_history), so the value stays far inside 2,000.
        return json.dumps(
            {
                "b": self.brand,
                "p": self.period,
                "l": self.label,
                "w": self.words,
                "c": self.before,
                "g": self.language,
                "s": self.state,
                "a": self.assignee,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def decode(cls, value: str) -> HistoryQuery:
        """The query a "More" button carries; ValueError (or KeyError, TypeError, RecursionError) when it is not one
        brandpulse wrote, before any of it reaches a query."""
        data = json.loads(value)
        if not isinstance(data, dict):
            raise ValueError("not a history query")
        before = None
        if data.get("c"):
            at, mention = data["c"]
            resume_after(str(at), mention)  # a page's end that no page could have: refused here
            before = (str(at), int(mention))
        label = data.get("l")
        if label is not None and label not in LABELS:
            raise ValueError("not a label")
        language = str(data["g"]) if data.get("g") else None
        state = str(data["s"]) if data.get("s") in STATES else None
        assignee = str(data["a"]) if data.get("a") and str(data["a"]).isalnum() else None
        return cls(str(data["b"]), str(data["p"]), label, str(data.get("w", "")), before, language, state, assignee)


def _more_button(query: HistoryQuery, resume: tuple[datetime, int] | None) -> Block | None:
    """The "More" button: the same query, going on from where this page's reading stopped."""
    if resume is None:
        return None
    at, mention_id = resume
    next_query = dataclasses.replace(query, before=(at.isoformat(), mention_id))
    return {
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


def history_answer(
    query: HistoryQuery,
    page: list[Mention],
    *,
    resume: tuple[datetime, int] | None,
    tz: ZoneInfo,
    timezone: str,
) -> dict[str, Any]:
    """One page of a brand's latest mentions, with a "More" button that goes on from ``resume`` when there is more
    to look at."""
    filters = " · ".join(
        part
        for part in (
            during(query.period).removeprefix("in the "),
            query.label and f"{query.label} only",
            query.language and f"in {language_name(query.language)}",
            query.state and f"{query.state} only",
            query.assignee and f"assigned to {user_mention(query.assignee)}",
            query.words and f"matching “{cut(query.words, 100)}”",
        )
        if part
    )
    title = f"{query.brand}: latest mentions ({filters})"
    more = _more_button(query, resume)
    if not page:
        text = f"No mentions of *{query.brand}* match ({filters})"
        text += " among the latest looked at: *More* looks further back." if more else "."
        return {
            "response_type": "ephemeral",
            "text": fallback(text),
            "blocks": [section(text), *([more] if more else [])],
        }
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
        meta = f"{emoji} *{label}*" + (f" · {mention.emotion}" if mention.emotion else "")
        meta += f" · {when} · {escape(mention.source)}"
        if mention.language:
            meta += f" · {escape(mention.language)}"
        if link:
            meta += f" · {link}"
        if mention.corrected_by:
            meta += f" · corrected by {user_mention(mention.corrected_by)} (model: {mention.model_label})"
        if mention.handled_by:
            meta += f" · :white_check_mark: handled by {user_mention(mention.handled_by)}"
        if mention.assignee:
            meta += f" · :bust_in_silhouette: assigned to {user_mention(mention.assignee)}"
        block = section(f"{meta}\n{quote(mention.text, 2000)}")
        block["accessory"] = mention_menu(mention)
        blocks.extend([block, _assign_menu(mention)])
    if more:
        blocks.append(more)
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
    title = f"{brand}: {total:,} mention{'' if total == 1 else 's'}{among} {during(period)}"
    if not total:
        text = f"No mentions of *{brand}*{among} {during(period)}."
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


def cut_plain(text: str, limit: int) -> str:
    """Plain text (an option's label) cut to Slack's limit, with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def muted_answer(muted: Muted, *, user: str) -> dict[str, Any]:
    what = "author" if muted.kind == "author" else "domain"
    if muted.mute_id is None:
        text = f"The {what} {escape(muted.value)} was already muted for *{escape(muted.brand)}*."
    else:
        text = (
            f"{user_mention(user)} muted the {what} *{escape(muted.value)}* for *{escape(muted.brand)}*: its "
            f"{muted.hidden:,} stored mention{'' if muted.hidden == 1 else 's'} and those to come are left out of "
            f"history, stats, digests and alerts. `brandpulse mutes remove {muted.mute_id}` undoes it."
        )
    return {"response_type": "ephemeral", "replace_original": False, "text": fallback(text), "blocks": [section(text)]}


def triaged_answer(triaged: Triaged, *, user: str, what: str) -> dict[str, Any]:
    """What an admin sees once a mention is handled, opened again or assigned."""
    text = f"{user_mention(user)} {what} this *{escape(triaged.brand)}* mention."
    state = []
    if triaged.handled_by:
        state.append(f"handled by {user_mention(triaged.handled_by)}")
    if triaged.assignee:
        state.append(f"assigned to {user_mention(triaged.assignee)}")
    if state:
        text += f" Now {' and '.join(state)}."
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": fallback(text),
        "blocks": [section(f"{text}\n{quote(triaged.text, 500)}")],
    }
