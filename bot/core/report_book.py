"""A brand's report for a period as an Excel workbook: one sheet per section, numbers as numbers (shares as
fractions shown as percentages, times as Excel times in the configured zone), so that a reader can sort, sum and
chart them."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from analysis.labels import LABELS
from bot.core.compare import Comparison, comparison_rows
from bot.core.digest import Digest, period_title
from bot.core.history import engagement_of
from bot.core.report_page import safe_url
from bot.core.stats import share_of_voice

PERCENT = "0%"
WHEN = "yyyy-mm-dd hh:mm"
# Excel cuts a cell at 32,767 characters; a mention is far shorter, but a cell never fails the whole book.
MAX_CELL = 32_767


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    """Excel has no time zones: the time as the team reads it, in BRANDPULSE_TIMEZONE, without its offset."""
    return moment.astimezone(tz).replace(tzinfo=None)


def _text(value: str | None) -> str | None:
    return None if value is None else value[:MAX_CELL]


def _sheet(
    book: Workbook, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]], formats: dict[int, str]
) -> Worksheet:
    """A sheet with a bold, frozen header and the given number formats per column (0-based)."""
    sheet = book.create_sheet(title)
    assert isinstance(sheet, Worksheet)
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append(list(row))
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            # openpyxl takes a text that starts with "=" for a formula; the book holds none, so a mention that reads
            # "=HYPERLINK(...)" stays the text it is, never a formula a spreadsheet would run.
            if cell.data_type == "f":
                cell.data_type = "s"
    for column, number_format in formats.items():
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
            cell.number_format = number_format
    for index, name in enumerate(header, start=1):
        longest = max([len(str(name)), *(len(str(r[index - 1] or "")) for r in rows)] or [10])
        sheet.column_dimensions[get_column_letter(index)].width = min(max(10, longest + 2), 80)
    return sheet


def report_book(digest: Digest, tz: ZoneInfo, *, name: str, generated: datetime) -> bytes:
    """The workbook's bytes (.xlsx)."""
    book = Workbook()
    assert book.active is not None
    book.remove(book.active)
    shares, before = Digest.shares(digest.counts), Digest.shares(digest.previous)
    voices, voices_before = share_of_voice(digest.voices), share_of_voice(digest.previous_voices)
    summary: list[list[Any]] = [
        ["brand", digest.brand],
        ["period", period_title(digest.start, digest.end, tz)],
        ["report", name],
        ["start", _local(digest.start, tz)],
        ["end (excluded)", _local(digest.end, tz)],
        ["mentions", digest.volume],
        ["mentions, the period before", digest.previous_volume],
    ]
    for label in LABELS:
        summary.append([f"{label} share", shares[label] if shares else None])
        summary.append([f"{label} share, the period before", before[label] if before else None])
    summary.append(
        ["net sentiment (points)", round((shares["positive"] - shares["negative"]) * 100, 1) if shares else None]
    )
    summary.append(["share of voice", voices.get(digest.brand) if len(voices) > 1 else None])
    summary.append(["share of voice, the period before", voices_before.get(digest.brand) if len(voices) > 1 else None])
    summary.append(["made", _local(generated, tz)])
    sheet = _sheet(book, "Summary", ["figure", "value"], summary, {})
    for label_cell, value_cell in sheet.iter_rows(min_row=2, max_col=2):
        if "share" in str(label_cell.value):
            value_cell.number_format = PERCENT
        elif isinstance(value_cell.value, datetime):
            value_cell.number_format = WHEN

    _sheet(
        book,
        "Over time",
        ["start", "mentions", *LABELS, "negative share"],
        [
            [_local(b.start, tz), b.count, *(b.by_label[label] for label in LABELS), b.share("negative")]
            for b in digest.buckets
        ],
        {0: WHEN, 5: PERCENT},
    )
    if len(voices) > 1:
        _sheet(
            book,
            "Share of voice",
            ["brand", "mentions", "share", "mentions before", "share before"],
            [
                [brand, digest.voices[brand], share, digest.previous_voices.get(brand), voices_before.get(brand)]
                for brand, share in sorted(voices.items(), key=lambda item: (-item[1], item[0]))
            ],
            {2: PERCENT, 4: PERCENT},
        )
    feelings = digest.emotions
    if feelings.read:
        _sheet(
            book,
            "Emotions",
            ["emotion", "mentions", "share", "mentions before", "share before"],
            [
                [e, feelings.now.get(e, 0), feelings.share(e), feelings.before.get(e, 0), feelings.share_before(e)]
                for e in feelings.ranked()
            ],
            {2: PERCENT, 4: PERCENT},
        )
    if digest.themes is not None and any(t.mentions for t in digest.themes.themes):
        report = digest.themes
        _sheet(
            book,
            "Themes",
            [
                "theme",
                "mentions",
                "share",
                "mentions before",
                "trend",
                *(f"{label} share" for label in LABELS),
                "example",
            ],
            [
                [
                    t.name,
                    t.mentions,
                    report.share(t),
                    t.previous,
                    t.trend.value,
                    *(t.share(label) for label in LABELS),
                    _text(t.central[0].text) if t.central else None,
                ]
                for t in report.themes
                if t.mentions
            ],  # fmt: skip
            {2: PERCENT, 5: PERCENT, 6: PERCENT, 7: PERCENT},
        )
    samples = [("negative", s) for s in digest.most_negative] + [("positive", s) for s in digest.most_positive]
    if samples:
        sheet = _sheet(
            book,
            "Top mentions",
            ["label", "created", "source", "author", "text", "engagement", "copies", "link"],
            [
                [
                    label,
                    _local(s.mention.created_at, tz),
                    s.mention.source,
                    _text(s.mention.author),
                    _text(" ".join(s.mention.text.split())),
                    engagement_of(s.mention),
                    s.copies,
                    safe_url(s.mention.url),
                ]
                for label, s in samples
            ],  # fmt: skip
            {1: WHEN},
        )
        for (cell,) in sheet.iter_rows(min_row=2, min_col=8, max_col=8):
            if cell.value:
                cell.hyperlink = str(cell.value)
                cell.style = "Hyperlink"
    if digest.top_authors:
        _sheet(
            book,
            "Top authors",
            ["author", "source", "mentions", "reach", *LABELS],
            [
                [_text(a.author), a.source, a.mentions, a.reach, *(a.labels.get(label, 0) for label in LABELS)]
                for a in digest.top_authors
            ],
            {},
        )
    if any(part.language for part in digest.languages):
        total = sum(part.count for part in digest.languages)
        _sheet(
            book,
            "Languages",
            ["language", "mentions", "share", "classified", "negative", "negative share"],
            [
                [
                    part.language or "unknown",
                    part.count,
                    part.count / total,
                    part.classified,
                    part.negative,
                    part.negative_share,
                ]
                for part in digest.languages
            ],
            {2: PERCENT, 5: PERCENT},
        )
    return _saved(book)


def _saved(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# The competitive sheet's columns: comparison_rows' keys, as a reader reads them, and which are shares.
COMPARE_COLUMNS = {
    "brand": "brand",
    "mentions": "mentions",
    "mentions_before": "mentions before",
    "growth": "change",
    "share_of_voice": "share of voice",
    "share_of_voice_before": "share of voice before",
    **{label: label for label in LABELS},
    "unclassified": "not classified",
    "negative_share": "negative share",
    "negative_share_before": "negative share before",
    "net_sentiment": "net sentiment",
    "net_sentiment_before": "net sentiment before",
    "top_theme": "top theme",
    "top_theme_share": "top theme's share",
}
COMPARE_SHARES = {"growth", "share_of_voice", "share_of_voice_before", "negative_share", "negative_share_before"}
COMPARE_SHARES |= {"net_sentiment", "net_sentiment_before", "top_theme_share"}


def compare_book(comparison: Comparison, tz: ZoneInfo, *, name: str, generated: datetime) -> bytes:
    """The competitive report as a workbook: the brands side by side, and each one's mentions and share of voice
    per bucket."""
    book = Workbook()
    assert book.active is not None
    book.remove(book.active)
    keys = list(COMPARE_COLUMNS)
    if not comparison.themes_read:
        keys = [k for k in keys if not k.startswith("top_theme")]
    sheet = _sheet(
        book,
        "Brands",
        [COMPARE_COLUMNS[k] for k in keys],
        [[row[k] for k in keys] for row in comparison_rows(comparison)],
        {i: PERCENT for i, k in enumerate(keys) if k in COMPARE_SHARES},
    )
    sheet.append([])
    sheet.append(["period", period_title(comparison.start, comparison.end, tz)])
    sheet.append(["report", name])
    sheet.append(["made", _local(generated, tz)])
    sheet.cell(row=sheet.max_row, column=2).number_format = WHEN
    brands = comparison.brands
    series = [comparison.buckets[brand] for brand in brands]
    rows: list[list[Any]] = []
    for at, buckets in enumerate(zip(*series, strict=True)):
        total = buckets[0].all_brands if buckets else None
        rows.append(
            [
                _local(series[0][at].start, tz),
                total,
                *(b.count for b in buckets),
                *(b.count / total if total else None for b in buckets),
            ]
        )
    _sheet(
        book,
        "Over time",
        ["start", "all brands", *brands, *(f"{brand} share" for brand in brands)],
        rows,
        {0: WHEN, **{2 + len(brands) + i: PERCENT for i in range(len(brands))}},
    )
    return _saved(book)
