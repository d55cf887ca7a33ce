"""Text clean-up before the model sees it, as the cardiffnlp Twitter models were trained."""

from __future__ import annotations

import re

from analysis.errors import InvalidInput

# Control characters (NUL included) and bidi controls carry no sentiment and confuse some tokenizers.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def normalise_tweet(text: str) -> str:
    """User names become ``@user`` and links ``http``, token by token, as in cardiffnlp's preprocessing."""
    tokens = []
    for token in _CONTROL.sub(" ", text).split():
        if token.startswith("@") and len(token) > 1:
            token = "@user"
        elif token.startswith("http"):
            token = "http"
        tokens.append(token)
    return " ".join(tokens)


def prepare(text: str, *, max_chars: int) -> str:
    """The text the tokenizer gets: normalised and cut to a length no model needs more of; InvalidInput if empty."""
    if not isinstance(text, str):
        raise InvalidInput(f"expected text, got {type(text).__name__}")
    cleaned = normalise_tweet(text[: max_chars * 2])
    if not cleaned:
        raise InvalidInput("the text is empty (or only whitespace and control characters)")
    return cleaned[:max_chars]
