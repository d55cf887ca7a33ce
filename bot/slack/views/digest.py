"""A digest (or a report for any period) as a Slack message: the figures, the share of voice, the language mix,
the top words and the most engaged mentions, with a text fallback that reads well on its own."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from analysis.labels import LABELS
from bot.core.digest import Digest, period_text
from bot.core.samples import Sample
from bot.core.stats import share_of_voice
from bot.slack.blocks import (
    LABEL_EMOJI,
    MAX_BLOCKS,
    Block,
    bar,
    change,
    context,
    cut,
    escape,
    fallback,
    header,
    link,
    section,
)
from bot.slack.views.admin import mention_menu
from bot.slack.views.emotions import emotion_line
from bot.slack.views.languages import language_mix_line
from bot.slack.views.themes import digest_themes
from storage.mention_queries import AuthorFigures

QUOTE_CHARS = 280


def _mention_line(sample: Sample, label: str) -> str:
    mention = sample.mention
    score = {"negative": mention.score_negative, "positive": mention.score_positive}.get(label) or 0.0
    text = cut(" ".join(mention.text.split()), QUOTE_CHARS)
    reach = f" _({escape(sample.reach)})_" if sample.reach else ""
    return f"{LABEL_EMOJI[label]} {score:.0%} {text}{reach} {link(mention.url, 'link')}".rstrip()


def author_line(author: AuthorFigures) -> str:
    """An author for a digest: ``ann (reddit): 3 mentions, reach 12,345, 2 negative``."""
    negative = author.labels.get("negative", 0)
    return (
        f"{escape(author.author)} ({escape(author.source)}): {author.mentions:,} mention{'' if author.mentions == 1 else 's'}"
        f", reach {author.reach:,}" + (f", {negative:,} negative" if negative else "")
    )


def _voice_line(digest: Digest) -> str | None:
    """This brand's share of the watched brands' mentions, and the others' shares, largest first."""
    shares = share_of_voice(digest.voices)
    if len(shares) < 2 or digest.brand not in shares:
        return None
    others = sorted(((share, name) for name, share in shares.items() if name != digest.brand), reverse=True)
    rest = " · ".join(f"{escape(name)} {share:.0%}" for share, name in others)
    total = sum(digest.voices.values())
    return (
        f"Share of voice: *{shares[digest.brand]:.0%}* of the {total:,} mentions of the {len(shares)} brands ({rest})"
    )


def render_digest(digest: Digest, tz: ZoneInfo, *, title: str | None = None, note: str | None = None) -> dict[str, Any]:
    """chat.postMessage arguments: Block Kit and a text fallback that reads well on its own.

    ``title`` (plain text) replaces "Digest: <brand>"; ``note`` (mrkdwn, escaped by the caller) ends the last line.
    """
    brand = escape(digest.brand)
    period = period_text(digest.start, digest.end, tz)
    heading = title or f"Digest: {digest.brand}"
    lead = escape(title) if title else f"Digest for {brand}"
    closing = f"{period} · {note}" if note else period
    if not digest.volume:
        text = f"{lead}, {period}: no mentions in this period."
        blocks = [
            header(heading),
            section(f"No mentions of *{brand}* in this period."),
            context(closing),
        ]
        return {"text": fallback(text), "blocks": blocks}
    volume_line = (
        f"*{digest.volume:,}* mention{'' if digest.volume == 1 else 's'} "
        f"({change(digest.volume, digest.previous_volume)} vs the previous period's {digest.previous_volume:,})"
    )
    shares, before = Digest.shares(digest.counts), Digest.shares(digest.previous)
    share_lines, share_text = [], []
    if shares is None:
        share_lines.append("_none classified yet_")
    else:
        for label in LABELS:
            points = f" ({(shares[label] - before[label]) * 100:+.0f} pts)" if before else ""
            share_lines.append(f"`{label:<8}` `{bar(shares[label], 12)}` {shares[label]:4.0%}{points}")
            share_text.append(f"{label} {shares[label]:.0%}{points}")
    feelings = emotion_line(digest.emotions)
    if feelings is not None:
        share_lines.append(feelings)
    voice = _voice_line(digest)
    if voice is not None:
        volume_line += "\n" + voice
    languages = language_mix_line(digest.languages)
    if languages is not None:
        volume_line += "\n" + languages
    talked = " · ".join(f"{escape(word)} ({n:,})" for word, n in digest.top_words)
    if talked:
        volume_line += f"\nTop words: {talked}"
    authors = " · ".join(author_line(a) for a in digest.top_authors)
    if authors:
        volume_line += f"\nTop authors: {authors}"
    parts: list[Block] = [header(heading), section(volume_line + "\n" + "\n".join(share_lines))]
    themes = digest_themes(digest.themes)
    if themes is not None:
        parts.append(section(themes))
    text_lines = [f"{lead}, {period}: {digest.volume:,} mentions", ", ".join(share_text)]
    if feelings is not None:
        text_lines.append(str(emotion_line(digest.emotions, emoji=False)))
    if voice is not None:
        text_lines.append(voice.replace("*", ""))
    if languages is not None:
        text_lines.append(languages)
    if talked:
        text_lines.append(f"Top words: {talked}")
    if authors:
        text_lines.append(f"Top authors: {authors}")
    if themes is not None:
        listed = "; ".join(line.removeprefix("• ") for line in themes.split("\n")[1:])
        text_lines.append("What people talk about: " + listed.replace("*", ""))
    for title, samples, label in (
        ("Negative, most engaged first", digest.most_negative, "negative"),
        ("Positive, most engaged first", digest.most_positive, "positive"),
    ):
        if samples:
            # One section per mention (a long one with its link stays far inside 3,000 characters), each with the
            # menu to act on it, for the brand's admins.
            parts.append(section(f"*{title}*"))
            for sample in samples:
                block = section(_mention_line(sample, label))
                block["accessory"] = mention_menu(sample.mention)
                parts.append(block)
            quoted = " | ".join(cut(" ".join(s.mention.text.split()), 120) for s in samples)
            text_lines.append(f"{title}: {quoted}")
    unclassified = digest.counts.get(None, 0)
    notes = [period] + ([f"{unclassified:,} not classified yet"] if unclassified else []) + ([note] if note else [])
    parts.append(context(" · ".join(notes)))
    return {"text": fallback("\n".join(line for line in text_lines if line)), "blocks": parts[:MAX_BLOCKS]}
