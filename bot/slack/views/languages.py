"""The language mix of a brand's mentions, as digests and App Home show it."""

from __future__ import annotations

from analysis.language import language_name
from bot.core.languages import LanguageShare
from bot.slack.blocks import escape

# Languages named one by one; the rest are summed up as "other".
MAX_SHOWN = 4
# Fewer classified mentions than this in a language, and its negative share says nothing.
MIN_CLASSIFIED = 5


def language_mix_line(mix: list[LanguageShare]) -> str | None:
    """``Languages: English 72% · Spanish 15% (38% negative) · other 13%``; None when no language is known.

    A language's negative share is shown when it rests on enough classified mentions and there are several
    languages to compare: a complaint wave in one language is what the team should see."""
    total = sum(share.count for share in mix)
    known = [share for share in mix if share.language is not None]
    if not total or not known:
        return None
    parts = []
    for share in known[:MAX_SHOWN]:
        assert share.language is not None
        part = f"{escape(language_name(share.language))} {share.count / total:.0%}"
        negative = share.negative_share
        if len(known) > 1 and share.classified >= MIN_CLASSIFIED and negative is not None:
            part += f" ({negative:.0%} negative)"
        parts.append(part)
    rest = total - sum(share.count for share in known[:MAX_SHOWN])
    if rest:
        parts.append(f"other or unknown {rest / total:.0%}")
    return "Languages: " + " · ".join(parts)
