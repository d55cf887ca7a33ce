"""A spike alert's buttons (acknowledge, snooze, not a spike, details), the message once someone acted on it, and
the statistics behind "Details"."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config.brands import AlertConfig
from bot.core.alerts import NOT_A_SPIKE_WINDOW, SNOOZE_HOURS, AlertState
from bot.core.ids import row_id
from bot.slack.blocks import Block, escape, fallback, section, user_mention, when
from bot.slack.deps import ValueSigner

ACK_ACTION = "alert_ack"
SNOOZE_ACTION = "alert_snooze"
NOT_A_SPIKE_ACTION = "alert_not_a_spike"
DETAILS_ACTION = "alert_details"
ACTIONS_BLOCK = "alert_actions"
STATUS_BLOCK = "alert_status"


def _button(action: str, text: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "action_id": action, "text": {"type": "plain_text", "text": text}, "value": value}
    if style:
        button["style"] = style
    return button


def alert_actions(alert_id: int, signer: ValueSigner, *, acknowledged: bool = False, judged: bool = False) -> Block:
    """The buttons under an alert; each value is the alert's id, signed, so a click cannot name another alert."""
    signed = signer.sign(str(alert_id))
    elements: list[dict[str, Any]] = []
    if not acknowledged:
        elements.append(_button(ACK_ACTION, "Acknowledge", signed, "primary"))
    elements.append(
        {
            "type": "static_select",
            "action_id": SNOOZE_ACTION,
            "placeholder": {"type": "plain_text", "text": "Snooze this brand"},
            "options": [
                {
                    "text": {"type": "plain_text", "text": f"for {hours} hour{'' if hours == 1 else 's'}"},
                    "value": signer.sign(f"{alert_id}:{hours}"),
                }
                for hours in SNOOZE_HOURS
            ],
        }
    )
    if not judged:
        elements.append(_button(NOT_A_SPIKE_ACTION, "Not a spike", signed))
    elements.append(_button(DETAILS_ACTION, "Details", signed))
    return {"type": "actions", "block_id": ACTIONS_BLOCK, "elements": elements}


def parse_snooze(value: str, signer: ValueSigner) -> tuple[int, int]:
    """(alert id, hours) of a snooze option; ValueError when brandpulse did not write it."""
    alert, _, hours = signer.open(value).partition(":")
    if hours not in {str(h) for h in SNOOZE_HOURS}:
        raise ValueError("not a snooze value")
    return row_id(alert), int(hours)


def parse_alert_id(value: str, signer: ValueSigner) -> int:
    """The alert a button names; ValueError when brandpulse did not write it."""
    return row_id(signer.open(value))


def status_lines(alert: AlertState, tz: ZoneInfo, *, snoozed: tuple[str, datetime] | None = None) -> list[str]:
    lines = []
    if alert.acknowledged_by and alert.acknowledged_at:
        lines.append(
            f":white_check_mark: Acknowledged by {user_mention(alert.acknowledged_by)}, {when(alert.acknowledged_at, tz)}"
        )
    if snoozed is not None:
        lines.append(f":zzz: {escape(alert.brand)} snoozed by {user_mention(snoozed[0])} until {when(snoozed[1], tz)}")
    if alert.verdict == "not_a_spike" and alert.verdict_by:
        lines.append(f":no_entry_sign: Not a spike, said {user_mention(alert.verdict_by)}")
    return lines


def acted_message(
    original: dict[str, Any],
    alert: AlertState,
    signer: ValueSigner,
    tz: ZoneInfo,
    *,
    snoozed: tuple[str, datetime] | None = None,
) -> dict[str, Any]:
    """The alert message as it was, with who did what under it and the buttons that are left."""
    given = original.get("blocks")
    shown = [b for b in given if isinstance(b, dict)] if isinstance(given, list) else []
    kept = [b for b in shown if b.get("block_id") not in (STATUS_BLOCK, ACTIONS_BLOCK)]
    previous = next((b for b in shown if b.get("block_id") == STATUS_BLOCK), None)
    lines = status_lines(alert, tz, snoozed=snoozed)
    if snoozed is None and previous is not None:  # keep an earlier snooze line: this action is not a snooze
        elements = previous.get("elements")
        lines += [
            e["text"]
            for e in (elements if isinstance(elements, list) else [])
            if isinstance(e, dict) and isinstance(e.get("text"), str) and e["text"].startswith(":zzz:")
        ]
    blocks = list(kept)
    if lines:  # one element per line (at most 3), so that the next action can tell them apart
        elements = [{"type": "mrkdwn", "text": line} for line in lines]
        blocks.append({"type": "context", "block_id": STATUS_BLOCK, "elements": elements})
    blocks.append(
        alert_actions(
            alert.id, signer, acknowledged=alert.acknowledged_by is not None, judged=alert.verdict is not None
        )
    )
    return {"replace_original": True, "text": str(original.get("text") or "Spike alert"), "blocks": blocks}


def _p(value: float) -> str:
    return "< 1e-12" if value < 1e-12 else f"{value:.1e}" if value < 0.001 else f"{value:.3f}"


def details_answer(alert: AlertState, tz: ZoneInfo) -> dict[str, Any]:
    """The statistics behind an alert, for whoever asked (only they see it)."""
    d = alert.details
    start, end = alert.window
    lines = [
        f"*{escape(alert.brand)}*, {alert.kind.replace('_', ' ')} spike ({alert.severity}), {when(start, tz)} – {when(end, tz)}"
    ]
    if alert.kind == "volume":
        lines.append(f"• {d.get('mentions', 0):,} mentions against a baseline mean of {d.get('baseline_mean', 0):.2f}")
        lines.append("• test: Poisson, one-sided, rate = the baseline's mean")
    elif alert.kind == "anger_share":
        lines.append(
            f"• {d.get('anger', 0):,} angry of {d.get('read', 0):,} the emotion model read ({d.get('share', 0):.1%}) "
            f"against {d.get('baseline_share', 0):.1%} of {d.get('baseline_read', 0):,} in the baseline"
        )
        lines.append("• test: binomial, one-sided, at the baseline's (smoothed) anger share")
    else:
        lines.append(
            f"• {d.get('negative', 0):,} negative of {d.get('classified', 0):,} classified ({d.get('share', 0):.1%}) "
            f"against {d.get('baseline_share', 0):.1%} of {d.get('baseline_classified', 0):,} in the baseline"
        )
        lines.append("• test: binomial, one-sided, at the baseline's (smoothed) negative share")
    if "p_value" in d:
        lines.append(f"• p-value {_p(float(d['p_value']))}")
    if d.get("baseline"):
        lines.append(f"• baseline: {escape(str(d['baseline']))}")
    thresholds = d.get("thresholds")
    if isinstance(thresholds, dict):
        level = int(thresholds.get("level", 0))
        lowered = f", sensitivity lowered {level} step{'' if level == 1 else 's'}" if level else ""
        lines.append(
            f"• thresholds: {thresholds.get('volume_factor')}× the baseline, {thresholds.get('negative_share', 0):.0%} "
            + (f"negative, {thresholds['anger_share']:.0%} angry" if "anger_share" in thresholds else "negative")
            + f", at least {thresholds.get('min_volume')} mentions{lowered}"
        )
    if d.get("terms"):
        lines.append(f"• words: {escape(', '.join(map(str, d['terms'])))}")
    text = "\n".join(lines)
    return {"response_type": "ephemeral", "replace_original": False, "text": fallback(text), "blocks": [section(text)]}


def sensitivity_statement(brand: str, config: AlertConfig, level: int, verdicts: int) -> dict[str, Any]:
    """Told in the alerts' channel when repeated "not a spike" verdicts made a brand's alerts less sensitive."""
    now, before = config.lowered(level), config.lowered(level - 1)
    days = NOT_A_SPIKE_WINDOW.days
    text = (
        f":information_source: {verdicts} spike alerts of *{escape(brand)}* were marked _not a spike_ within {days} "
        f"days, so its alerts are now less sensitive: {now.volume_factor:g}× the usual volume (was "
        f"{before.volume_factor:g}×), {now.negative_share:.0%} negative (was {before.negative_share:.0%}), "
        f"{now.anger_share:.0%} angry (was {before.anger_share:.0%}), at least "
        f"{now.min_volume} mentions (was {before.min_volume}). `brandpulse alerts sensitivity {escape(brand)} --reset` "
        "undoes it."
    )
    return {"response_type": "in_channel", "replace_original": False, "text": fallback(text), "blocks": [section(text)]}
