"""A brand's report for a period as one self-contained HTML page, to forward or to print: the headline figures and
how they moved, the chart (inline), share of voice, emotions, themes, the mentions and authors that matter, the
language mix. Jinja2 escapes every text; a link is kept only when it is http(s)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from analysis.labels import LABELS
from analysis.language import language_name
from bot.core.compare import Comparison, comparison_chart, comparison_headline
from bot.core.digest import Digest, digest_chart, period_title
from bot.core.history import engagement_of
from bot.core.samples import Sample
from bot.core.stats import share_of_voice

_ENVIRONMENT = Environment(
    loader=PackageLoader("bot.core", "templates"),
    autoescape=select_autoescape(["html", "j2"], default_for_string=True),
    undefined=StrictUndefined,  # a name the template misspells fails the tests, not a reader
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Figure:
    """A headline figure: its name, its value, its change against the period before, and whether the change is
    good or bad news (a CSS class: "up-bad", "down-good", ...)."""

    name: str
    value: str
    change: str
    tone: str = ""


def safe_url(url: str | None) -> str | None:
    """The link when it is http(s); anything else (``javascript:``, ``data:``) is dropped, not made clickable."""
    if not url:
        return None
    return url if urlsplit(url).scheme.lower() in ("http", "https") else None


def _points(
    now: float | None, before: float | None, *, against: str = " vs the period before"
) -> tuple[str, int | None]:
    """The change of a share in points, written ("+3 pts" and ``against``), and as a number."""
    if now is None or before is None:
        return "", None
    moved = round((now - before) * 100)
    return f"{moved:+d} pts{against}", moved


def _tone(moved: int | None, *, bad_when_up: bool) -> str:
    if not moved:
        return ""
    return ("up-" if moved > 0 else "down-") + ("bad" if (moved > 0) == bad_when_up else "good")


def headline(digest: Digest) -> list[Figure]:
    """Volume, net sentiment, negative share and (with several brands watched) share of voice, each with its change."""
    figures = []
    before_volume = digest.previous_volume
    if before_volume:
        growth = (digest.volume - before_volume) / before_volume
        figures.append(Figure("mentions", f"{digest.volume:,}", f"{growth:+.0%} vs {before_volume:,} before"))
    else:
        figures.append(Figure("mentions", f"{digest.volume:,}", "none the period before"))
    shares, before = Digest.shares(digest.counts), Digest.shares(digest.previous)
    if shares is not None:
        net = shares["positive"] - shares["negative"]
        net_before = before["positive"] - before["negative"] if before else None
        change, moved = _points(net, net_before)
        figures.append(Figure("net sentiment", f"{round(net * 100):+d}", change, _tone(moved, bad_when_up=False)))
        change, moved = _points(shares["negative"], before["negative"] if before else None)
        figures.append(Figure("negative", f"{shares['negative']:.0%}", change, _tone(moved, bad_when_up=True)))
    voices, voices_before = share_of_voice(digest.voices), share_of_voice(digest.previous_voices)
    if len(voices) > 1 and digest.brand in voices:
        change, moved = _points(voices[digest.brand], voices_before.get(digest.brand))
        figures.append(Figure("share of voice", f"{voices[digest.brand]:.0%}", change, _tone(moved, bad_when_up=False)))
    return figures


def _mention_rows(samples: list[Sample], tz: ZoneInfo) -> list[dict[str, Any]]:
    return [
        {
            "text": " ".join(s.mention.text.split()),
            "when": f"{s.mention.created_at.astimezone(tz):%a %d %b %H:%M}",
            "source": s.mention.source,
            "author": s.mention.author,
            "url": safe_url(s.mention.url),
            "copies": s.copies,
            "engagement": f"{engagement_of(s.mention):,}",
        }
        for s in samples
    ]


def report_html(digest: Digest, tz: ZoneInfo, *, name: str, generated: datetime) -> str:
    """The page: ``name`` says what the report is ("last week", "digest"), ``generated`` when it was made."""
    voices, voices_before = share_of_voice(digest.voices), share_of_voice(digest.previous_voices)
    chart = digest_chart(digest, tz)
    feelings = digest.emotions
    themes = [t for t in digest.themes.themes if t.mentions] if digest.themes is not None else []
    total_languages = sum(part.count for part in digest.languages)
    context = {
        "brand": digest.brand,
        "period": period_title(digest.start, digest.end, tz),
        "name": name,
        "generated": f"{generated.astimezone(tz):%a %d %b %Y %H:%M} {tz.key}",
        "volume": digest.volume,
        "figures": headline(digest) if digest.volume else [],
        "chart": base64.b64encode(chart).decode("ascii") if chart else None,
        "unit": digest.unit,
        "voices": [
            {
                "brand": brand,
                "this": brand == digest.brand,
                "mentions": f"{digest.voices[brand]:,}",
                "share": f"{share:.0%}",
                "before": f"{voices_before[brand]:.0%}" if brand in voices_before else "",
            }
            for brand, share in sorted(voices.items(), key=lambda item: (-item[1], item[0]))
        ]
        if len(voices) > 1
        else [],
        "emotions": [
            {
                "emotion": emotion,
                "mentions": f"{feelings.now.get(emotion, 0):,}",
                "share": f"{feelings.share(emotion):.0%}",
                "change": feelings.points(emotion),
            }
            for emotion in feelings.ranked()
        ]
        if feelings.read
        else [],
        "emotions_read": f"{feelings.read:,}",
        "themes": [
            {
                "name": theme.name,
                "mentions": f"{theme.mentions:,}",
                "share": f"{digest.themes.share(theme):.0%}" if digest.themes is not None else "",
                "before": f"{theme.previous:,}",
                "trend": theme.trend.value,
                "negative": "" if (negative := theme.share("negative")) is None else f"{negative:.0%}",
                "example": " ".join(theme.central[0].text.split()) if theme.central else "",
            }
            for theme in themes
        ],
        "themes_sampled": digest.themes is not None and digest.themes.sampled,
        "mentions": [
            {"title": title, "rows": _mention_rows(samples, tz)}
            for title, samples in (
                ("Negative mentions, most engaged first", digest.most_negative),
                ("Positive mentions, most engaged first", digest.most_positive),
            )
            if samples
        ],
        "authors": [
            {
                "author": a.author,
                "source": a.source,
                "mentions": f"{a.mentions:,}",
                "reach": f"{a.reach:,}",
                "negative": f"{a.labels.get('negative', 0):,}",
            }
            for a in digest.top_authors
        ],
        "languages": [
            {
                "name": language_name(part.language) if part.language else "unknown",
                "mentions": f"{part.count:,}",
                "share": f"{part.count / total_languages:.0%}",
                "negative": "" if part.negative_share is None else f"{part.negative_share:.0%}",
            }
            for part in digest.languages
        ]
        if any(part.language for part in digest.languages)
        else [],
    }
    return _ENVIRONMENT.get_template("report.html.j2").render(context)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def compare_html(comparison: Comparison, tz: ZoneInfo, *, name: str, generated: datetime) -> str:
    """The competitive page: the brands side by side, the share of voice chart, sentiment per brand."""
    chart = comparison_chart(comparison, tz)
    rows = []
    for c in comparison.contenders:
        voice, voice_before = comparison.voice(c.brand), comparison.voice(c.brand, before=True)
        voice_change, voice_moved = _points(voice, voice_before, against="")
        negative = c.share("negative")
        negative_change, negative_moved = _points(negative, c.share("negative", before=True), against="")
        net = c.net()
        rows.append(
            {
                "brand": c.brand,
                "mentions": f"{c.volume:,}",
                "growth": "" if c.growth is None else f"{c.growth:+.0%}",
                "voice": _percent(voice),
                "voice_change": voice_change,
                "voice_tone": _tone(voice_moved, bad_when_up=False),
                "negative": _percent(negative),
                "negative_change": negative_change,
                "negative_tone": _tone(negative_moved, bad_when_up=True),
                "net": "" if net is None else f"{round(net * 100):+d}",
                "theme": c.top_theme.name if c.top_theme is not None else "",
                "theme_share": _percent(c.top_theme_share),
                "labels": [f"{c.counts.get(label, 0):,}" for label in LABELS],
                "unclassified": f"{c.counts.get(None, 0):,}",
            }
        )
    period = period_title(comparison.start, comparison.end, tz)
    context = {
        "title": comparison.title(tz),
        "brands": comparison.brands,
        "period": period,
        "name": name,
        "generated": f"{generated.astimezone(tz):%a %d %b %Y %H:%M} {tz.key}",
        "volume": comparison.volume,
        "headline": comparison_headline(comparison),
        "rows": rows,
        "labels": LABELS,
        "themes_read": comparison.themes_read,
        "chart": base64.b64encode(chart).decode("ascii") if chart else None,
        "unit": comparison.unit,
    }
    return _ENVIRONMENT.get_template("compare.html.j2").render(context)


def html_to_pdf(page: str) -> bytes:
    """An A4 PDF of a page, drawn by WeasyPrint (the page's print styles: size and margins)."""
    # Imported here: WeasyPrint loads Pango and fonts (a second) that only a PDF needs.
    from weasyprint import HTML

    document: bytes = HTML(string=page).write_pdf()
    return document


def report_pdf(digest: Digest, tz: ZoneInfo, *, name: str, generated: datetime) -> bytes:
    """The brand's page as a PDF."""
    return html_to_pdf(report_html(digest, tz, name=name, generated=generated))


def compare_pdf(comparison: Comparison, tz: ZoneInfo, *, name: str, generated: datetime) -> bytes:
    """The competitive page as a PDF."""
    return html_to_pdf(compare_html(comparison, tz, name=name, generated=generated))
