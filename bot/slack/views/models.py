"""The model's news in the ops channel: a retrain gate's decision with its figures."""

from __future__ import annotations

from typing import Any

from bot.core.retrain_gate import BRAND_HEADER, GATE_HEADER, brand_rows, gate_rows
from bot.slack.blocks import context, escape, fallback, header, section, user_mention


def _table(header_row: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header_row, *rows]) for i in range(len(header_row))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in [header_row, *rows]]
    return "```" + escape("\n".join(lines)) + "```"


def gate_message(candidate: str, baseline: str, promoted: bool, reason: str, figures: dict[str, Any]) -> dict[str, Any]:
    """A retrain's candidate against the active model: promoted or refused, why, and both models' figures."""
    outcome = "promoted: the bot runs it now" if promoted else "refused: the active model stays"
    data = figures["data"]
    return {
        # The fallback is mrkdwn as much as a section: a name or reason with <!channel> in it must not ping.
        "text": fallback(f"Retrain: {escape(candidate)} {outcome} ({escape(reason)})"),
        "blocks": [
            header(f"Retrain: {candidate} {'promoted' if promoted else 'refused'}"),
            section(f"{':white_check_mark:' if promoted else ':no_entry:'} *{escape(candidate)}* against "
                    f"*{escape(baseline)}*: {escape(outcome)}.\n{escape(reason)}"),
            section(_table(GATE_HEADER, gate_rows(figures))),
            *([section(_table(BRAND_HEADER, rows))] if (rows := brand_rows(figures)) else []),
            context(
                f"trained on {data['train']['n']:,} texts ({data['base_n']:,} base + {data['pool_train_n']:,} from the "
                f"labelled pool); validation {escape(str(data['validation']['source']))} ({data['validation']['n']:,}); "
                f"requested by {escape(str(figures.get('requested_by', '?')))}"
            ),
        ],
    }  # fmt: skip


START_RETRAIN_ACTION = "retrain_start"


def retrain_requested_message(request_id: int, action: str, reason: str, *, signed_value: str) -> dict[str, Any]:
    """An accuracy alert fired: a retrain was queued, or is recommended with a button that starts it."""
    if action == "queued":
        text = f":robot_face: Retraining started automatically (request #{request_id}): {escape(reason)}"
        return {"text": fallback(text), "blocks": [section(text), context("the gate's decision will follow here")]}
    text = f":warning: Retraining recommended (request #{request_id}): {escape(reason)}"
    return {
        "text": fallback(text),
        "blocks": [
            section(text),
            {
                "type": "actions",
                "block_id": START_RETRAIN_ACTION,
                "elements": [
                    {
                        "type": "button",
                        "action_id": START_RETRAIN_ACTION,
                        "style": "primary",
                        "text": {"type": "plain_text", "text": "Start a retrain"},
                        "value": signed_value,
                    }
                ],
            },
            context("admins only: it fine-tunes on the labelled pool and promotes the result only if the gate lets it"),
        ],
    }


def retrain_started_answer(request_id: int, user: str, *, started: bool) -> dict[str, Any]:
    """The recommendation again, its button replaced by who started it (or by why nothing happened)."""
    if started:
        text = f":robot_face: {user_mention(user)} started retrain #{request_id}: it runs in the next minute, and the gate's decision will follow here."
    else:
        text = f"Retrain #{request_id} was started already: nothing more to do."
    return {"replace_original": started, "response_type": "ephemeral" if not started else "in_channel",
            "text": fallback(text), "blocks": [section(text)]}  # fmt: skip


def retrain_running_message(request_id: int, reason: str, base: str) -> dict[str, Any]:
    text = f":hourglass_flowing_sand: Retrain #{request_id} is running: fine-tuning from {escape(base)} ({escape(reason)})."
    return {"text": fallback(text), "blocks": [section(text)]}


def retrain_failed_message(request_id: int, error: str) -> dict[str, Any]:
    text = f":x: Retrain #{request_id} failed: {escape(error)}. The active model stays."
    return {"text": fallback(text), "blocks": [section(text)]}
