"""Text clean-up before the model sees it, as the cardiffnlp Twitter models were trained."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

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


# Joiners, variation selectors and skin-tone modifiers only shape the emoji around them.
_EMOJI_GLUE = re.compile("[\u200d\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
_SYMBOL_NAMES: dict[str, str] = {}


def _symbol_name(char: str) -> str | None:
    """``face with tears of joy`` for 😂; None for a character that is not a pictograph."""
    name = _SYMBOL_NAMES.get(char)
    if name is None:
        if unicodedata.category(char) != "So":
            name = ""
        elif "\U0001f1e6" <= char <= "\U0001f1ff":
            name = "flag"  # the two regional-indicator letters of a flag
        else:
            name = unicodedata.name(char, "").lower().removeprefix("white ").removeprefix("black ")
        _SYMBOL_NAMES[char] = name
    return name or None


def describe_symbols(text: str) -> str:
    """Emoji and other pictographs spelled out in words (😂 -> "face with tears of joy"), a run of one repeated once.

    For models whose vocabulary has no emoji (BERT-style WordPiece maps them all to ``[UNK]``), the words carry the
    sentiment the picture did; byte-level models (RoBERTa, the cardiffnlp ones) read emoji as they are.
    """
    out: list[str] = []
    previous = None
    for char in _EMOJI_GLUE.sub("", text):
        name = _symbol_name(char) if ord(char) > 0x7F else None
        if name is None:
            out.append(char)
            previous = None
        elif name != previous:
            out.append(f" {name} ")
            previous = name
    return "".join(out)


def reads_emoji(tokenizer: Any) -> bool:
    """Whether the tokenizer has tokens for emoji (else :func:`describe_symbols` should spell them out)."""
    unknown = getattr(tokenizer, "unk_token_id", None)
    if unknown is None:
        return True
    return unknown not in tokenizer("\U0001f602 \U0001f621 \U0001f44d", add_special_tokens=False)["input_ids"]


def prepare(text: str, *, max_chars: int, spell_emoji: bool = False) -> str:
    """The text the tokenizer gets: normalised and cut to a length no model needs more of; InvalidInput if empty.

    ``spell_emoji`` replaces pictographs by their names, for tokenizers that cannot read them (see :func:`reads_emoji`).
    """
    if not isinstance(text, str):
        raise InvalidInput(f"expected text, got {type(text).__name__}")
    text = text[: max_chars * 2]
    cleaned = normalise_tweet(describe_symbols(text) if spell_emoji else text)
    if not cleaned:
        raise InvalidInput("the text is empty (or only whitespace and control characters)")
    return cleaned[:max_chars]
