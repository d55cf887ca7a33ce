"""Import presets: the CSV exports of the listening tools a team leaves (Brandwatch, Meltwater, Talkwalker, Brand24),
read as brandpulse mentions with ``brandpulse ingest --preset NAME``, so that a team brings its history along.

None of these tools publishes its export's columns; each preset follows the exports as they are read by the public
code that reads them, and takes the first column present of several names where a tool renamed its columns (Twitter
became X). What each preset does with a file:

- finds the header row among the first lines (Brandwatch writes six lines of report details above it) and the
  delimiter it is written with (Meltwater's CSV is UTF-16 with tabs: the byte order mark says UTF-16);
- makes the mention's text of the post's title and text (a title the text starts with is not repeated), cut to the
  longest text a mention keeps;
- joins a date and a separate time column (Meltwater's Date and Time, Brand24's Date and Hrs), and reads Unix times
  in milliseconds (Talkwalker's published);
- keeps the link only when it is one (Brand24 writes the link in its Source column);
- reads the country as a code or an English name, and the counts (likes, reposts, replies, followers): a value it
  cannot read there is left empty rather than costing the mention; the text, time and id are checked as in every
  import (a bad one rejects its row, reported with its line).

A row's source is the preset's name (``--source`` sets another) and its id the export's own (a URL where the tool
has no id column), so importing the same export twice adds nothing. The tools' own sentiment is not imported: the
model classifies the mentions as it does every other.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.query_nodes import fold
from storage.mentions import MAX_TEXT_CHARS

_EPOCH_MS = re.compile(r"\d{12,14}(\.\d+)?")
# The fields a preset passes on as the export writes them (the importer reads them as any import's).
_AS_WRITTEN = ("author", "language", "country", "likes", "reposts", "replies", "author_followers", "brand", "source")


@dataclass(frozen=True)
class Preset:
    """Where one tool's export keeps each mention field: the columns tried in turn (the first with a value wins)."""

    name: str
    tool: str
    # Columns the header row has, all of them (besides one of the text columns).
    marks: tuple[str, ...]
    text: tuple[str, ...]
    title: tuple[str, ...] = ()
    id: tuple[str, ...] = ()
    created_at: tuple[str, ...] = ()
    time: tuple[str, ...] = ()  # a time of day in a column of its own, joined to a date that has none
    url: tuple[str, ...] = ()
    author: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    likes: tuple[str, ...] = ()
    reposts: tuple[str, ...] = ()
    replies: tuple[str, ...] = ()
    author_followers: tuple[str, ...] = ()
    # Read only when ``--field`` names a column for them: an export's brand or source column, if the team wants it.
    brand: tuple[str, ...] = ()
    source: tuple[str, ...] = ()

    def is_header(self, cells: Sequence[str]) -> bool:
        """Whether a row is this export's header row."""
        have = set(cells)
        return all(mark in have for mark in self.marks) and any(column in have for column in self.text + self.title)

    def with_columns(self, columns: Mapping[str, str]) -> Preset:
        """The preset with some fields read from the named columns instead (``--field author="Full Name"``)."""
        changes: dict[str, Any] = {name: (column,) for name, column in columns.items()}
        if "text" in columns:
            changes.setdefault("title", ())
        return dataclasses.replace(self, **changes)

    def record(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A row of the export as the fields of a mention (``bot.core.ingest.FieldMap``'s names)."""
        title, body = _first(values, self.title), _first(values, self.text)
        text = _joined(title, body)
        when = _first(values, self.created_at)
        time = _first(values, self.time)
        if when is not None and time is not None and ":" not in when:
            when = f"{when} {time}"
        if when is not None and _EPOCH_MS.fullmatch(when):
            when = str(float(when) / 1000)
        url = next((v for v in _values(values, self.url) if v.lower().startswith(("https://", "http://"))), None)
        found: dict[str, Any] = {
            "id": _first(values, self.id) or url,
            "text": text[:MAX_TEXT_CHARS] if text is not None else None,
            "created_at": when,
            "url": url,
        }
        for name in _AS_WRITTEN:
            found[name] = _first(values, getattr(self, name))
        return found


def _values(values: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    found = []
    for column in columns:
        value = values.get(column)
        if isinstance(value, str) and value.strip():
            found.append(value.strip())
    return found


def _first(values: Mapping[str, Any], columns: Sequence[str]) -> str | None:
    return next(iter(_values(values, columns)), None)


def _joined(title: str | None, body: str | None) -> str | None:
    """A post's title and text as one text: the title first unless the text already starts with it."""
    if title is None or body is None:
        return body or title
    if fold(" ".join(body.split())).startswith(fold(" ".join(title.split())).rstrip(".… ")):
        return body
    return f"{title} — {body}"


BRANDWATCH = Preset(
    name="brandwatch",
    tool="Brandwatch Consumer Research (mentions export)",
    marks=("Date", "Url"),
    text=("Full Text", "Snippet"),
    title=("Title",),
    id=("Resource Id", "Url"),
    created_at=("Date",),
    url=("Url", "Original Url"),
    author=("Author", "Full Name"),
    language=("Language",),
    country=("Country Code", "Country"),
    likes=("X Likes", "Twitter Likes", "Likes", "Facebook Likes"),
    reposts=("X Reposts", "Twitter Retweets", "Reposts"),
    replies=("X Replies", "Twitter Reply Count", "Replies"),
    author_followers=("X Followers", "Twitter Followers", "Instagram Follower Count"),
)
MELTWATER = Preset(
    name="meltwater",
    tool="Meltwater (Explore and Monitor content export)",
    marks=("Date", "URL"),
    text=("Hit Sentence", "Opening Text"),
    title=("Title", "Headline"),
    id=("Document ID", "Tweet Id"),
    created_at=("Date", "Alternate Date Format"),
    time=("Time",),
    url=("URL",),
    author=("Author Handle", "Author Name", "Influencer", "Twitter Screen Name"),
    language=("Language",),
    country=("Country",),
    likes=("Likes",),
    reposts=("Reposts", "Shares"),
    replies=("Replies", "Comments"),
    author_followers=("Twitter Followers",),
)
TALKWALKER = Preset(
    name="talkwalker",
    tool="Talkwalker (results export)",
    marks=("url", "published"),
    text=("content", "content_snippet"),
    title=("title", "title_snippet"),
    id=("url",),
    created_at=("published", "published_ts"),
    url=("url",),
    author=("extra_author_attributes.short_name", "extra_author_attributes.name"),
    language=("lang",),
    country=(
        "extra_source_attributes.world_data.country_code",
        "extra_article_attributes.world_data.country_code",
        "extra_author_attributes.world_data.country_code",
        "extra_source_attributes.world_data.country",
    ),
    likes=(
        "article_extended_attributes.twitter_likes",
        "article_extended_attributes.facebook_likes",
        "article_extended_attributes.instagram_likes",
        "article_extended_attributes.youtube_likes",
    ),
    reposts=(
        "article_extended_attributes.twitter_retweets",
        "article_extended_attributes.twitter_shares",
        "article_extended_attributes.facebook_shares",
    ),
    replies=("article_extended_attributes.num_comments",),
    author_followers=(
        "source_extended_attributes.twitter_followers",
        "source_extended_attributes.instagram_followers",
        "source_extended_attributes.facebook_followers",
    ),
)
BRAND24 = Preset(
    name="brand24",
    tool="Brand24 (mentions export)",
    marks=("Date",),
    text=("Content",),
    title=("Title",),
    id=("ID", "Id"),
    created_at=("Date",),
    time=("Hrs", "Hour", "Time"),
    url=("Url", "URL", "Link", "Source"),
    author=("Author", "Author Name", "Username"),
    language=("Language",),
    country=("Country",),
    likes=("Likes",),
    reposts=("Shares",),
    replies=("Comments",),
    author_followers=("Followers", "Author Followers"),
)
PRESETS: dict[str, Preset] = {p.name: p for p in (BRANDWATCH, MELTWATER, TALKWALKER, BRAND24)}
