"""The model's news in the ops channel: a retrain gate's decision with its figures."""

from __future__ import annotations

from typing import Any

from bot.core.retrain import GATE_HEADER, gate_rows
from bot.slack.blocks import context, escape, fallback, header, section


def _table(header_row: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header_row, *rows]) for i in range(len(header_row))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in [header_row, *rows]]
    return "```" + escape("\n".join(lines)) + "```"


def gate_message(candidate: str, baseline: str, promoted: bool, reason: str, figures: dict[str, Any]) -> dict[str, Any]:
    """A retrain's candidate against the active model: promoted or refused, why, and both models' figures."""
    outcome = "promoted: the bot runs it now" if promoted else "refused: the active model stays"
    title = f"Retrain: {candidate} {outcome}"
    data = figures["data"]
    return {
        "text": fallback(f"{title} ({reason})"),
        "blocks": [
            header(f"Retrain: {candidate} {'promoted' if promoted else 'refused'}"),
            section(f"{':white_check_mark:' if promoted else ':no_entry:'} *{escape(candidate)}* against "
                    f"*{escape(baseline)}*: {escape(outcome)}.\n{escape(reason)}"),
            section(_table(GATE_HEADER, gate_rows(figures))),
            context(
                f"trained on {data['train']['n']:,} texts ({data['base_n']:,} base + {data['pool_train_n']:,} from the "
                f"labelled pool); validation {escape(str(data['validation']['source']))} ({data['validation']['n']:,}); "
                f"requested by {escape(str(figures.get('requested_by', '?')))}"
            ),
        ],
    }  # fmt: skip
