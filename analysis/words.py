"""The content words of a short social text in any language: a tokenizer that keeps the letters and marks of
every script (accented Latin, Arabic, Devanagari), and the stop words of the text's language.

Stop words come from stopwords-iso (the ``stopwordsiso`` package: 58 languages, maintained lists). Its lists are
broad: English's holds "great", "good" and "problem" beside "the" and "of", so what is left leans to nouns and the
words of an event ("battery", "refund", "recall", "outage"), which is what a driver word should be. A text of no
known language gets the English list. Chinese and Japanese, written without spaces, give their overlapping pairs of
characters (电池 "battery" is one), as search engines index them; Thai, Lao, Khmer and Burmese runs are left out,
since no pair of their letters is a word.
"""

from __future__ import annotations

import functools

import regex
import stopwordsiso

_URL = regex.compile(r"(?:https?://|www\.)\S+", regex.IGNORECASE)
_HANDLE = regex.compile(r"@\w+")
# A word: a letter, then letters, combining marks (Devanagari vowel signs, Arabic diacritics), digits, apostrophes.
_WORD = regex.compile(r"\p{L}[\p{L}\p{M}\p{N}'’]*")
# Longer runs are joined words or noise, not words.
MAX_WORD_CHARS = 30
_CJK = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]+")
_UNSPACED = regex.compile(r"[\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]+")
# What ends a phrase: punctuation other than an apostrophe or a hyphen, and the marks left where links were.
_BREAK = regex.compile(r"[^\p{L}\p{M}\p{N}'’\s-]+")
# Social-media tokens of every language, stop words everywhere.
SOCIAL = frozenset("rt amp via http https co www lol lmao omg im u ur gonna wanna".split())
DEFAULT_LANGUAGE = "en"


@functools.cache
def stop_words(language: str | None) -> frozenset[str]:
    """The stop words of a language (ISO 639-1), with the social-media tokens; English's for an unknown one."""
    code = language or DEFAULT_LANGUAGE
    listed = stopwordsiso.stopwords(code) if stopwordsiso.has_lang(code) else set()
    return SOCIAL | frozenset(word.lower() for word in listed)


def words(text: str, exclude: frozenset[str] = frozenset(), language: str | None = None) -> set[str]:
    """The distinct content words of a text in ``language``: lowercase, no links, handles, numbers, stop words of
    that language, or ``exclude``."""
    text = _HANDLE.sub(" ", _URL.sub(" ", text.lower())).replace("’", "'")
    stop = stop_words(language)
    # A pair with a stop character (的, 很, の) is grammar, not a word.
    found = {
        pair
        for run in _CJK.findall(text)
        for pair in (run[i : i + 2] for i in range(len(run) - 1))
        if pair[0] not in stop and pair[1] not in stop
    }
    text = _UNSPACED.sub(" ", _CJK.sub(" ", text))
    found.update(w.strip("'") for w in _WORD.findall(text))
    return {w for w in found if 1 < len(w) <= MAX_WORD_CHARS and w not in stop and w not in exclude}


def phrases(text: str, exclude: frozenset[str] = frozenset(), language: str | None = None) -> set[str]:
    """The distinct content words of a text and its two-word phrases: two content words side by side, with no stop
    word, link, handle or punctuation mark between them ("battery life" from "the battery life is awful")."""
    found = words(text, exclude, language)
    stop = stop_words(language)
    text = _HANDLE.sub(" | ", _URL.sub(" | ", text.lower())).replace("’", "'")
    text = _UNSPACED.sub(" | ", _CJK.sub(" | ", text))
    # A run: the words between two marks that end a phrase (punctuation, links, handles).
    for run in _BREAK.split(text):
        previous = ""
        for raw in _WORD.findall(run):
            word = raw.strip("'")
            content = 1 < len(word) <= MAX_WORD_CHARS and word not in stop and word not in exclude
            if content and previous:
                found.add(f"{previous} {word}")
            previous = word if content else ""
    return found
