"""The ``/sentiment <text>`` answer: the label, the scores, and feedback buttons whose values the feedback listener
reads back."""

from __future__ import annotations

import json
import math
from typing import Any

from analysis.labels import LABELS
from analysis.prediction import Prediction
from bot.slack.blocks import (
    BUTTON_VALUE_LIMIT,
    LABEL_EMOJI,
    Block,
    context,
    cut,
    fallback,
    quote,
    score_lines,
    section,
)
from bot.slack.deps import ValueSigner

COMMAND = "/sentiment"
FEEDBACK_ACTION = "sentiment_feedback"
QUOTE_LIMIT = 2900
MODEL_CHARS = 200

USAGE = (
    f"*Usage*\n"
    f"• `{COMMAND} &lt;text&gt;`: the sentiment of a text (only you see the answer)\n"
    f"• `{COMMAND} brands`: the brands brandpulse watches\n"
    f"• `{COMMAND} history &lt;brand&gt; [7d] [negative|neutral|positive] [lang:it] [handled|unhandled|assigned|mine] "
    "[query]`: latest mentions (the query: words, OR, NOT, prefix*...), to act on (admins and analysts of the brand)\n"
    f"• `{COMMAND} stats &lt;brand&gt; [30d] [lang:it]`: volume and sentiment per day (admins and analysts)\n"
    f"• `{COMMAND} report &lt;brand&gt; [last week | 2026-11-01..2026-11-30 | 30d] [as pdf]`: the digest of any "
    "period, posted in this channel (admins and analysts); `apple,google` or `all` for brands side by side\n"
    f"• `{COMMAND} themes &lt;brand&gt; [yesterday | last week | 7d]`: what people talk about, each theme's size, "
    "sentiment and trend, with its mentions (admins and analysts)\n"
    f"• `{COMMAND} help`: this message"
)


def usage() -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": USAGE, "blocks": [section(USAGE)]}


def prediction_answer(prediction: Prediction, text: str, signer: ValueSigner) -> dict[str, Any]:
    """The ephemeral reply to ``/sentiment text``, with the feedback buttons."""
    return {
        "response_type": "ephemeral",
        "text": fallback(summary(prediction, text)),
        "blocks": [*answer_blocks(prediction, text), feedback_buttons(prediction, text, signer)],
    }


def thanked_answer(prediction: Prediction, text: str, *, user: str, given: str) -> dict[str, Any]:
    """The answer again, its buttons replaced by thanks for the verdict."""
    verdict = "confirmed it" if given == prediction.label else f"said it is *{given}*"
    who = f"<@{user}>" if user.isalnum() else "there"  # a Slack user ID, never free text
    thanks = f":pray: Thanks {who}! You {verdict}; recorded to improve the model."
    return {
        "replace_original": True,
        "response_type": "ephemeral",
        "text": summary(prediction, text),
        "blocks": [*answer_blocks(prediction, text), context(thanks)],
    }


def summary(prediction: Prediction, text: str) -> str:
    return f"{prediction.label} ({prediction.confidence:.0%} confident): {cut(text, 200)}"


def answer_blocks(prediction: Prediction, text: str) -> list[Block]:
    emoji = LABEL_EMOJI[prediction.label]
    return [
        section(f"{emoji} *{prediction.label.capitalize()}* · {prediction.confidence:.1%} confident"),
        section(quote(text, QUOTE_LIMIT)),
        section(score_lines(prediction.scores)),
        context(f"model `{cut(prediction.model, 200)}` · `{COMMAND} help`"),
    ]


def feedback_buttons(prediction: Prediction, text: str, signer: ValueSigner) -> Block:
    """ "Correct" and one "actually ..." button per other label; each carries what the feedback row needs."""
    buttons: list[Block] = [
        {
            "type": "button",
            "action_id": f"{FEEDBACK_ACTION}_correct",
            "text": {"type": "plain_text", "text": "👍 Correct"},
            "style": "primary",
            "value": feedback_value(prediction, text, prediction.label, signer),
        }
    ]
    for label in LABELS:
        if label != prediction.label:
            buttons.append(
                {
                    "type": "button",
                    "action_id": f"{FEEDBACK_ACTION}_{label}",
                    "text": {"type": "plain_text", "text": f"Actually {label}"},
                    "value": feedback_value(prediction, text, label, signer),
                }
            )
    return {"type": "actions", "block_id": FEEDBACK_ACTION, "elements": buttons}


def feedback_value(prediction: Prediction, text: str, given: str, signer: ValueSigner) -> str:
    """The button's signed value: the prediction and the text, the text cut to fit Slack's 2,000-character limit."""
    payload: dict[str, Any] = {
        "g": given,
        "l": prediction.label,
        "s": [round(prediction.scores[label], 4) for label in LABELS],
        "m": prediction.model[:MODEL_CHARS],
        "t": text,
    }
    limit = BUTTON_VALUE_LIMIT - signer.TAG_CHARS - 1

    def encode(length: int) -> str:
        return json.dumps({**payload, "t": text[:length]}, ensure_ascii=False, separators=(",", ":"))

    if len(value := encode(len(text))) > limit:
        # The longest prefix of the text that fits (JSON escapes make some characters longer than one).
        low, high = 0, min(len(text), limit)
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if len(encode(middle)) <= limit else (low, middle - 1)
        value = encode(low)
    return signer.sign(value)


def parse_feedback_value(value: str, signer: ValueSigner) -> tuple[Prediction, str, str]:
    """(prediction, text, given label) from a button's value; ValueError if brandpulse did not write it."""
    if len(value) > BUTTON_VALUE_LIMIT:
        raise ValueError("a feedback value longer than a button can hold")
    payload = json.loads(signer.open(value))
    # Signed, and checked all the same: a value is only ever one the bot could have written.
    if not isinstance(payload, dict) or set(payload) != {"g", "l", "s", "m", "t"}:
        raise ValueError("not a feedback value")
    given, label, scores, model, text = payload["g"], payload["l"], payload["s"], payload["m"], payload["t"]
    if given not in LABELS or label not in LABELS:
        raise ValueError("unknown label in a feedback value")
    if not isinstance(scores, list) or len(scores) != len(LABELS) or not all(_score(s) for s in scores):
        raise ValueError("scores of a feedback value are not probabilities")
    if not isinstance(model, str) or len(model) > MODEL_CHARS or not isinstance(text, str) or not text.strip():
        raise ValueError("model or text of a feedback value is not what the bot writes")
    prediction = Prediction(label=label, scores=dict(zip(LABELS, map(float, scores), strict=True)), model=model)
    return prediction, text, given


def _score(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= 1
