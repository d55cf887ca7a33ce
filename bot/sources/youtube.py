"""YouTube comments through the Data API v3, with an API key (../shared/sources/youtube/: the discovery document).

Each poll finds the newest videos matching the source's ``query`` (``search.list``, 100 quota units), follows the
comments of those published within ``video_days`` (``commentThreads.list``, 1 unit a page, newest first, from the
newest comment seen on each video), and, with a ``channel_id``, every comment on the channel's videos. The videos
found are mentions too (their title and description). A comment is matched to the brands with its video's title as
context: a comment on "Acmephone 5 review" is about acme whether it names it or not.

Quota: a project gets 10,000 units a day by default. A poll costs 100 units for the search plus one per page of
comments per video followed (at most ``max_videos``) and per page of the channel's: hourly, with 20 videos of one
page each, about 2,900 units a day. When the quota is spent (403 ``quotaExceeded``), the poll keeps what it read and
the source waits until the quota resets, at midnight Pacific time. A video whose comments are turned off, or that was
removed, is no longer followed; it costs no other video its comments.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config.sources import YouTubeSource
from bot.sources.base import Fetch, Item, RateLimited, SourceError, whole
from bot.sources.feeds import plain
from bot.sources.http import DEFAULT_BACKOFF, SourceClient, host
from bot.sources.intake import (
    PARTLY_READ,
    UNREAD_REASON,
    BadItem,
    Intake,
    iso_time,
    load_json,
    shown,
    text_field,
)
from bot.sources.registry import Wiring, connector_type

SEARCH_PAGE = 50  # search.list's most
THREAD_PAGE = 100  # commentThreads.list's most
MAX_THREAD_PAGES = 5  # a video's (or the channel's) pages a poll
PACIFIC = ZoneInfo("America/Los_Angeles")  # the quota resets at midnight there
WATCH_URL = "https://www.youtube.com/watch?v={}"
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
# The refusals that end one video's comments, not the poll: turned off, the video removed or made private.
_VIDEO_GONE = frozenset({"commentsDisabled", "videoNotFound", "forbidden"})
# The day's quota is spent: until midnight Pacific. Requests too fast: a short wait.
_QUOTA = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_TOO_FAST = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


class _Refused(Exception):
    def __init__(self, reason: str, message: str, status: int) -> None:
        super().__init__(message)
        self.reason, self.message, self.status = reason, message, status


def quota_reset(now: datetime) -> datetime:
    """The next midnight in Pacific time, in UTC: when a project's daily quota starts again."""
    local = now.astimezone(PACIFIC)
    midnight = datetime(local.year, local.month, local.day, tzinfo=PACIFIC) + timedelta(days=1)
    return midnight.astimezone(UTC)


def _refusal(body: bytes) -> tuple[str, str]:
    """(reason, message) of Google's error envelope: ``{"error": {"message", "errors": [{"reason"}]}}``."""
    try:
        answer = load_json(body)
    except ValueError:
        return "unknown", "an answer without Google's error envelope"
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return "unknown", "an answer without Google's error envelope"
    details = error.get("errors")
    first = details[0] if isinstance(details, list) and details and isinstance(details[0], dict) else {}
    reason, message = first.get("reason"), error.get("message")
    return (
        reason if isinstance(reason, str) and reason else "unknown",
        " ".join(plain(message).split())[:200] if isinstance(message, str) else "",
    )


def _object(value: object, name: str) -> dict[str, Any]:
    """A part of an item that must be a JSON object, read whole; BadItem otherwise."""
    if isinstance(value, PARTLY_READ):
        raise BadItem(UNREAD_REASON)
    if not isinstance(value, dict):
        raise BadItem(f"{name} is {shown(value)}, not an object")
    return value


def _thread(thread: object, *, title: str | None, replies: list[Any]) -> Item | None:
    """A comment thread's top-level comment as a mention, its replies put in ``replies``; BadItem when it is not
    one (its replies are then not read either)."""
    snippet = _object(_object(thread, "the thread").get("snippet"), "snippet")
    given = _object(thread, "the thread").get("replies")
    comments = given.get("comments") if isinstance(given, dict) else None
    replies.extend(comments if isinstance(comments, list) and not isinstance(comments, PARTLY_READ) else ())
    return _comment(snippet.get("topLevelComment"), title=title, replies=whole(snippet.get("totalReplyCount")))


def _comment(comment: object, *, title: str | None, replies: int | None = None) -> Item | None:
    """A comment as a mention (None when it has no text); BadItem when it is not one."""
    found = _object(comment, "the comment")
    comment_id = found.get("id")
    if not isinstance(comment_id, str) or not comment_id.strip():
        raise BadItem(f"id is {shown(comment_id)}, not an id")
    snippet = _object(found.get("snippet"), "snippet")
    # textFormat=plainText: textDisplay is the text; textOriginal only reaches the comment's author.
    text = text_field(snippet.get("textDisplay"), "textDisplay") or text_field(
        snippet.get("textOriginal"), "textOriginal"
    )
    if not text.strip():
        return None
    when = iso_time(snippet.get("publishedAt"), "publishedAt")
    if when is None:
        raise BadItem("no publishedAt")
    video, author = snippet.get("videoId"), snippet.get("authorDisplayName")
    url = f"{WATCH_URL.format(video)}&lc={comment_id}" if isinstance(video, str) and _VIDEO_ID.match(video) else None
    return Item(
        external_id=comment_id,
        text=text.strip(),
        created_at=when,
        url=url,
        author=author if isinstance(author, str) and author else None,
        likes=whole(snippet.get("likeCount")),
        replies=replies,
        context=title,
    )


def _id_of(raw: Any) -> object:
    return raw.get("id")


def _video(result: object) -> tuple[str, datetime, str, Item | None]:
    """A search result: (video id, published, title, the video as a mention or None when it has no text)."""
    if not isinstance(result, dict):
        raise BadItem(f"the result is {shown(result)}, not an object")
    ident, snippet = result.get("id"), result.get("snippet")
    video = ident.get("videoId") if isinstance(ident, dict) else None
    if not isinstance(video, str) or not _VIDEO_ID.match(video):
        raise BadItem(f"id.videoId is {shown(video)}, not a video id")
    if not isinstance(snippet, dict):
        raise BadItem(f"snippet is {shown(snippet)}, not an object")
    published = iso_time(snippet.get("publishedAt"), "publishedAt")
    if published is None:
        raise BadItem("no publishedAt")
    title = plain(text_field(snippet.get("title"), "title"))  # HTML-escaped by the API: &#39; for '
    description = plain(text_field(snippet.get("description"), "description"))
    text = " — ".join(part for part in (title, description) if part)
    channel = snippet.get("channelTitle")
    item = Item(
        external_id=video,
        text=text,
        created_at=published,
        url=WATCH_URL.format(video),
        author=channel if isinstance(channel, str) and channel else None,
    )
    return video, published, title, item if text else None


class YouTubeConnector:
    source = "youtube"

    def __init__(self, config: YouTubeSource, params: dict[str, Any], client: SourceClient) -> None:
        self.config, self.client = config, client
        self.key, self.api = params["api_key"], params["api_url"]
        self.query = params["query"]
        self.answered = 0  # requests answered this poll

    def _get(self, method: str, params: dict[str, str | int], now: datetime) -> dict[str, Any]:
        url = f"{self.api}/{method}"
        response = self.client.get(url, now=now, params={**params, "key": self.key}, read_refusals=True)
        where = host(url)
        if response.status >= 400:
            reason, message = _refusal(response.body)
            raise _Refused(reason, message or f"HTTP {response.status}", response.status)
        self.answered += 1
        try:
            answer = load_json(response.body)
        except ValueError:
            raise SourceError(f"{where} did not send JSON") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
            raise SourceError(f"{where} sent an answer without an items list")
        return answer

    def _search(self, intake: Intake, videos: dict[str, dict[str, Any]], now: datetime) -> None:
        since = now - timedelta(days=self.config.video_days)
        answer = self._get(
            "search",
            {
                "part": "snippet",
                "q": self.query,
                "type": "video",
                "order": "date",
                "maxResults": min(SEARCH_PAGE, self.config.max_videos),
                "publishedAfter": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            now,
        )
        for result in answer["items"]:
            found: list[tuple[str, datetime, str]] = []

            def convert(raw: object, found: list[tuple[str, datetime, str]] = found) -> Item | None:
                video, published, title, item = _video(raw)
                found.append((video, published, title))
                return item

            intake.admit(convert, result)
            for video, published, title in found:
                followed = videos.setdefault(video, {"seen": None})
                followed.update(published=published.isoformat(), title=title[:300])

    def _threads(
        self, intake: Intake, params: Mapping[str, str | int], seen: object, now: datetime, *, title: str | None = None
    ) -> str | None:
        """Read comment threads newest first down to the ``seen`` mark; the new mark (the newest comment's time).
        ``title``: the video's, the comments' context."""
        try:
            mark = iso_time(seen, "the cursor")
        except BadItem:
            mark = None
        newest = mark
        token: str | None = None
        for _ in range(MAX_THREAD_PAGES):
            page_params = {**params, "part": "snippet,replies", "order": "time", "maxResults": THREAD_PAGE}
            page_params["textFormat"] = "plainText"
            if token:
                page_params["pageToken"] = token
            answer = self._get("commentThreads", page_params, now)
            older = False
            for thread in answer["items"]:
                replies: list[Any] = []
                item = intake.admit(functools.partial(_thread, title=title, replies=replies), thread, id_of=_id_of)
                if item is not None and item.created_at is not None:
                    if mark is not None and item.created_at <= mark:
                        older = True
                    moment = min(item.created_at, now)
                    newest = moment if newest is None else max(newest, moment)
                for reply in replies:
                    intake.admit(functools.partial(_comment, title=title), reply, id_of=_id_of)
            token = answer.get("nextPageToken") if isinstance(answer.get("nextPageToken"), str) else None
            if older or not token:
                break
        return newest.isoformat() if newest is not None else None

    def fetch(self, cursor: Mapping[str, Any], *, now: datetime) -> Fetch:
        self.answered = 0
        stored = cursor.get("videos")
        videos: dict[str, dict[str, Any]] = {
            video: dict(state)
            for video, state in (stored.items() if isinstance(stored, dict) else ())
            if isinstance(video, str) and _VIDEO_ID.match(video) and isinstance(state, dict)
        }
        channel_seen = cursor.get("channel_seen") if isinstance(cursor.get("channel_seen"), str) else None
        intake = Intake(now=now)
        backoff = None
        try:
            if self.query is not None:
                self._search(intake, videos, now)
            videos = self._followed(videos, now)
            for video, state in list(videos.items()):
                title = state.get("title") if isinstance(state.get("title"), str) else None
                try:
                    state["seen"] = self._threads(intake, {"videoId": video}, state.get("seen"), now, title=title)
                except _Refused as refused:
                    if refused.reason not in _VIDEO_GONE:
                        raise
                    del videos[video]  # comments off, or the video gone: no longer followed
            if self.config.channel_id is not None:
                channel = {"allThreadsRelatedToChannelId": self.config.channel_id}
                channel_seen = self._threads(intake, channel, channel_seen, now)
        except _Refused as refused:
            where = host(self.api)
            if refused.reason in _QUOTA | _TOO_FAST:
                spent = refused.reason in _QUOTA
                until = quota_reset(now) if spent else now + DEFAULT_BACKOFF
                if not self.answered:
                    said = "the project's daily quota is spent" if spent else "requests too fast"
                    raise RateLimited(f"{where}: {said} ({refused.reason})", until=until) from None
                backoff = until  # what was read is kept; the rest waits
            else:
                raise SourceError(
                    f"{where} refused the request: {refused.message} ({refused.reason})", status=refused.status
                ) from None
        next_cursor: dict[str, Any] = {"videos": videos}
        if channel_seen is not None:
            next_cursor["channel_seen"] = channel_seen
        return Fetch(intake.items, next_cursor, backoff_until=backoff, rejected=intake.rejected)

    def _followed(self, videos: dict[str, dict[str, Any]], now: datetime) -> dict[str, dict[str, Any]]:
        """The videos still followed: published within ``video_days``, the newest ``max_videos``."""
        since = now - timedelta(days=self.config.video_days)

        def published(state: dict[str, Any]) -> datetime:
            try:
                return iso_time(state.get("published"), "published") or since
            except BadItem:
                return since

        recent = [(published(state), video) for video, state in videos.items() if published(state) > since]
        recent.sort(reverse=True)
        return {video: videos[video] for _, video in recent[: self.config.max_videos]}


@connector_type("youtube")
def build(config: YouTubeSource, params: dict[str, Any], wiring: Wiring) -> YouTubeConnector:
    """The connector of a `youtube` source of the brands file."""
    return YouTubeConnector(config, params, wiring.client)
