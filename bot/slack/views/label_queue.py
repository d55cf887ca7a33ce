"""The labelling queue in Slack ("Help the model"): a batch of the brand's mentions that would teach the model most,
each with a button per label and "skip"; once answered, the buttons give way to who said what."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from analysis.labels import LABELS
from bot.core.ids import row_id
from bot.core.label_queue import Batch
from bot.slack.blocks import Block, context, escape, fallback, header, quote, section, user_mention, when
from bot.slack.deps import ValueSigner

ANSWER_ACTION = "label_queue_answer"
SKIP = "skip"
QUOTE_CHARS = 600


def _block_id(request_id: int) -> str:
    return f"label_request_{request_id}"


def render_batch(batch: Batch, tz: ZoneInfo, signer: ValueSigner) -> dict[str, Any]:
    """chat.postMessage arguments: the batch, one section, one line of provenance and one row of buttons per
    mention; each button's value names the request and the label, signed."""
    n = len(batch.items)
    blocks: list[Block] = [
        header(f"Help the model: {batch.brand}"),
        section(
            f"Each of these {n} mention{'' if n == 1 else 's'} of *{escape(batch.brand)}* stands for a group of "
            "mentions the model hesitates over. Which label is right? Each answer joins the labelled pool that "
            "retraining learns from; the next ones come when these are answered."
        ),
    ]
    for item in batch.items:
        mention, request = item.mention, item.request
        blocks.append(section(quote(mention.text, QUOTE_CHARS)))
        blocks.append(
            context(
                f"{escape(mention.source)} · {when(mention.created_at, tz)} · the model says *{mention.label}* "
                f"(margin {request.margin:.2f})"
            )
        )
        blocks.append(
            {
                "type": "actions",
                "block_id": _block_id(request.id),
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"{ANSWER_ACTION}_{choice}",
                        "text": {"type": "plain_text", "text": choice},
                        "value": signer.sign(f"{request.id}:{choice}"),
                        **({"style": "primary"} if choice == mention.label else {}),
                    }
                    for choice in (*LABELS, SKIP)
                ],
            }
        )
    text = f"Help the model: {n} mention{'' if n == 1 else 's'} of {escape(batch.brand)} to label"
    return {"text": fallback(text), "blocks": blocks}


def parse_answer(value: str, signer: ValueSigner) -> tuple[int, str | None]:
    """The request and label (None: skip) a button names; ValueError when brandpulse did not write it."""
    request, _, choice = signer.open(value).partition(":")
    if choice not in (*LABELS, SKIP):
        raise ValueError("not an answer")
    return row_id(request), None if choice == SKIP else choice


def answered_message(original: dict[str, Any], request_id: int, label: str | None, user: str) -> dict[str, Any]:
    """The batch as it was, the answered mention's buttons replaced by its answer and who gave it."""
    said = f"labelled *{label}*" if label is not None else "skipped"
    blocks = [
        context(f":white_check_mark: {said} by {user_mention(user)}")
        if b.get("block_id") == _block_id(request_id)
        else b
        for b in original.get("blocks") or []
    ]
    return {"replace_original": True, "text": original.get("text") or "Help the model", "blocks": blocks}
