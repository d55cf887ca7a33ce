"""The language of a mention: the source's when it gives one, else the detector's, with its confidence; and the
language codes users type in filters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from analysis.language import LanguageDetector, language_code
from bot.errors import UsageError


def language_of(text: str, given: str | None, detector: LanguageDetector | None) -> tuple[str | None, float | None]:
    """(language, confidence): the source's language (confidence None), else the detected one, else (None, None).

    A region or script (pt-BR, zh_Hant) is dropped: words, stop words and models are chosen by the language alone.
    A source's value that is neither a language tag nor an English name ("Italian") is not trusted: the text's
    language is detected instead."""
    code = language_code(given) if given else None
    if code is not None:
        return code, None
    if detector is None:
        return None, None
    found = detector.detect(text)
    return (found.code, found.confidence) if found is not None else (None, None)


class LazyLanguage:
    """A text's language, found at most once and only when asked: the source's (``given``, when it is a language),
    else the detector's. A brand's query asks through the matcher's ``detect`` (``lang:``, inflections); the row asks
    when the text is stored."""

    def __init__(self, text: str, given: str | None, detector: LanguageDetector | None) -> None:
        self.text, self.given, self.detector = text, given, detector
        self.given_code = language_code(given) if given else None
        self._found: tuple[str | None, float | None] | None = None

    def found(self) -> tuple[str | None, float | None]:
        """(language, confidence), as ``language_of`` gives them."""
        if self._found is None:
            self._found = language_of(self.text, self.given, self.detector)
        return self._found

    def code(self, _text: str = "") -> str | None:
        """The language's code: the matcher's ``detect``."""
        return self.found()[0]

    @property
    def asked(self) -> bool:
        return self._found is not None


def language_filter(value: str | None) -> str | None:
    """A language typed by a user (``it``, ``IT``, ``pt-BR``), as stored; UsageError when it is no language code."""
    if value is None:
        return None
    code = language_code(value)
    if code is None:
        shown = value if len(value) <= 20 else value[:19] + "…"
        raise UsageError(f"`{shown}` is not a language code: write an ISO 639-1 code such as en, it or de")
    return code


@dataclass(frozen=True)
class LanguageShare:
    """One language's part of a brand's mentions, and how negative its classified mentions are."""

    language: str | None  # None: no language could be told (emoji, links only)
    count: int
    classified: int
    negative: int

    @property
    def negative_share(self) -> float | None:
        return self.negative / self.classified if self.classified else None


def language_mix(counts: Mapping[tuple[str | None, str | None], int]) -> list[LanguageShare]:
    """Mentions per (language, label) as each language's share, the largest first (unknown languages last)."""
    totals: dict[str | None, list[int]] = {}
    for (language, label), n in counts.items():
        total = totals.setdefault(language, [0, 0, 0])
        total[0] += n
        if label is not None:
            total[1] += n
        if label == "negative":
            total[2] += n
    shares = [LanguageShare(language, *figures) for language, figures in totals.items()]
    return sorted(shares, key=lambda s: (s.language is None, -s.count, s.language or ""))
