"""A spike alert as a Slack message: how many times the usual volume, how negative now and usually, the words and
the most engaged mentions, and the buttons to act on it (the statistics are behind "Details")."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.core.spikes import Spike, span_text
from bot.slack.blocks import MAX_BLOCKS, Block, context, cut, escape, fallback, header, link, section
from bot.slack.deps import ValueSigner
from bot.slack.views.admin import mention_menu
from bot.slack.views.alerts import alert_actions


def _times(ratio: float | None, mentions: int) -> str:
    return f"*{ratio:.1f}×* the usual volume" if ratio else f"*{mentions:,}* mentions where there are usually none"


def render_alert(spike: Spike, tz: ZoneInfo, *, alert_id: int, signer: ValueSigner) -> dict[str, Any]:
    """chat.postMessage arguments for a spike, as a comms person reads it: how many times the usual volume, how
    negative now and usually, the words and the most engaged mentions; the statistics are behind "Details"."""
    brand = escape(spike.brand)
    f = spike.figures
    icon = ":rotating_light:" if spike.severity == "critical" else ":warning:"
    start, end = (t.astimezone(tz) for t in spike.window)
    when = f"{start:%a %d %b %H:%M}–{end:%H:%M} {tz.key}"
    span = span_text(spike.window[1] - spike.window[0])
    if spike.kind == "volume":
        title = f"{spike.brand}: mention volume spike ({spike.severity})"
        headline = (
            f"{icon} *{brand}*: {_times(f['ratio'], f['mentions'])}: *{f['mentions']:,}* mentions in the last {span}, "
            f"usually {f['baseline_mean']:.0f}"
        )
        now, usual = f.get("negative_now"), f.get("negative_usual")
        if now is not None:
            headline += f"\nNegative: *{now:.0%}* of them" + (f", usually {usual:.0%}" if usual is not None else "")
        summary = f"{icon} {brand}: {f['mentions']:,} mentions in the last {span}, usually {f['baseline_mean']:.0f}"
    elif spike.kind == "anger_share":
        title = f"{spike.brand}: anger spike ({spike.severity})"
        headline = (
            f"{icon} *{brand}*: *{f['share']:.0%}* of mentions angry, usually {f['baseline_share']:.0%} "
            f"({f['anger']:,} of the last {span}'s {f['read']:,} the emotion model read)"
        )
        summary = f"{icon} {brand}: {f['share']:.0%} angry, usually {f['baseline_share']:.0%}"
    else:
        title = f"{spike.brand}: negative sentiment spike ({spike.severity})"
        headline = (
            f"{icon} *{brand}*: *{f['share']:.0%}* of mentions negative, usually {f['baseline_share']:.0%} "
            f"({f['negative']:,} of the last {span}'s {f['classified']:,})"
        )
        summary = f"{icon} {brand}: {f['share']:.0%} negative, usually {f['baseline_share']:.0%}"
    summary += f" ({when})"
    blocks: list[Block] = [header(title), section(headline)]
    if spike.terms:
        driven = ", ".join(f"*{escape(t.word)}* ({t.window_count})" for t in spike.terms)
        blocks.append(section(f"*Driven by:* {driven}"))
        summary += ". Driven by: " + ", ".join(escape(t.word) for t in spike.terms)
    if spike.samples:
        blocks.append(section("*Sample mentions, most engaged first*"))
        for sample in spike.samples:
            mention = sample.mention
            label = f"_{mention.label}_ " if mention.label else ""
            if spike.kind == "anger_share" and mention.emotion:
                label += f"_{mention.emotion}_ "
            reach = f" _({escape(sample.reach)})_" if sample.reach else ""
            quote = cut(" ".join(mention.text.split()), 280)
            block = section(f"• {label}{quote}{reach} {link(mention.url, 'link')}".rstrip())
            block["accessory"] = mention_menu(mention)  # handle, correct, mute: for the brand's admins
            blocks.append(block)
    blocks.append(
        context(f"{when} · compared with {escape(spike.baseline.description)} · *Details* for the statistics")
    )
    blocks = blocks[: MAX_BLOCKS - 1]
    blocks.append(alert_actions(alert_id, signer))
    return {"text": fallback(summary), "blocks": blocks}
