"""A fake of the YouTube Data API v3's ``search.list`` and ``commentThreads.list`` on the loopback feed server, built
from the discovery document (../shared/sources/youtube/: youtube.v3.json): the ``key`` parameter, ``search`` for
videos by words of their title and description, newest first, ``publishedAfter``, ``maxResults`` up to 50;
``commentThreads`` by ``videoId`` or ``allThreadsRelatedToChannelId``, newest first, ``pageToken`` paging, ``part``
with ``snippet`` and ``replies``, ``textFormat`` (``html`` by default: the text escaped); quota units spent as the
quota page says (search 100, a comment thread page 1), and Google's error envelope for a bad key, a spent quota,
comments turned off and a video not found."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support import rawjson
from tests.support.feeds import FeedServer, Route, Seen

SEARCH = "/youtube/v3/search"
THREADS = "/youtube/v3/commentThreads"
COSTS = {SEARCH: 100, THREADS: 1}
REPLIES_SHOWN = 5


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def video(
    video_id: str, published: datetime, title: str, *, description: str = "", channel: str = "UC" + "c" * 22
) -> dict[str, Any]:
    """A search result (``youtube#searchResult``) for a video."""
    return {
        "kind": "youtube#searchResult",
        "etag": f"e-{video_id}",
        "id": {"kind": "youtube#video", "videoId": video_id},
        "snippet": {
            "publishedAt": _time(published),
            "channelId": channel,
            "title": html.escape(title),  # the API escapes titles: &#x27; for '
            "description": description,
            "thumbnails": {
                "default": {"url": f"https://i.ytimg.com/vi/{video_id}/default.jpg", "width": 120, "height": 90}
            },
            "channelTitle": "Tech Reviews",
            "liveBroadcastContent": "none",
        },
    }


def comment(
    comment_id: str,
    video_id: str,
    published: datetime,
    text: str,
    *,
    likes: int = 0,
    author: str = "@viewer",
    parent: str | None = None,
) -> dict[str, Any]:
    """A ``youtube#comment``: its snippet as the discovery document describes CommentSnippet."""
    snippet: dict[str, Any] = {
        "channelId": "UC" + "c" * 22,
        "videoId": video_id,
        "textDisplay": text,
        "textOriginal": text,
        "authorDisplayName": author,
        "authorProfileImageUrl": "https://yt3.ggpht.com/a.jpg",
        "authorChannelUrl": f"http://www.youtube.com/{author}",
        "authorChannelId": {"value": "UC" + "a" * 22},
        "canRate": True,
        "viewerRating": "none",
        "likeCount": likes,
        "publishedAt": _time(published),
        "updatedAt": _time(published),
    }
    if parent is not None:
        snippet["parentId"] = parent
    return {"kind": "youtube#comment", "etag": f"e-{comment_id}", "id": comment_id, "snippet": snippet}


def thread(top: dict[str, Any], *replies: dict[str, Any]) -> dict[str, Any]:
    """A ``youtube#commentThread``: its top-level comment and the replies the API includes."""
    body: dict[str, Any] = {
        "kind": "youtube#commentThread",
        "etag": f"t-{top['id']}",
        "id": top["id"],
        "snippet": {
            "channelId": top["snippet"]["channelId"],
            "videoId": top["snippet"]["videoId"],
            "topLevelComment": top,
            "canReply": True,
            "totalReplyCount": len(replies),
            "isPublic": True,
        },
    }
    if replies:
        body["replies"] = {"comments": list(replies)}
    return body


def error(
    status: int, reason: str, message: str, domain: str = "youtube.commentThread"
) -> tuple[int, dict[str, str], bytes]:
    """Google's JSON error envelope."""
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
        }
    }
    return status, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(body).encode()


@dataclass
class FakeYouTube:
    key: str = "AIzaSyFAKE-brandpulse-test-key-0123456"
    videos: list[dict[str, Any]] = field(default_factory=list)
    threads: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by video id
    channel_threads: list[dict[str, Any]] = field(default_factory=list)
    comments_off: set[str] = field(default_factory=set)
    hostile: list[Any] = field(default_factory=list)  # threads sent as they are, first on every first page
    quota: int = 10_000
    spent: int = 0

    def install(self, server: FeedServer) -> str:
        server.routes[SEARCH] = Route(handler=self.answer)
        server.routes[THREADS] = Route(handler=self.answer)
        return f"{server.url}/youtube/v3"

    def answer(self, request: Seen) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(request.path).path
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query, keep_blank_values=True).items()}
        if query.get("key") != self.key:
            return error(400, "keyInvalid", "API key not valid. Please pass a valid API key.", "usageLimits")
        if self.spent + COSTS[path] > self.quota:
            message = 'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.'
            return error(403, "quotaExceeded", message, "youtube.quota")
        self.spent += COSTS[path]
        if "snippet" not in query.get("part", "").split(","):
            return error(400, "invalidPart", "The part parameter is required.", "youtube.parameter")
        return self._search(query) if path == SEARCH else self._threads(query)

    def _search(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        words = query.get("q", "").lower().split()
        after = query.get("publishedAfter", "")
        found = [
            v
            for v in self.videos
            if all(w in (v["snippet"]["title"] + " " + v["snippet"]["description"]).lower() for w in words)
            and v["snippet"]["publishedAt"] > after
        ]
        found.sort(key=lambda v: v["snippet"]["publishedAt"], reverse=True)
        size = int(query.get("maxResults", "5"))
        if not 0 <= size <= 50:  # the discovery document's minimum and maximum
            return error(400, "invalidValue", "Invalid value for maxResults.", "youtube.parameter")
        body = {
            "kind": "youtube#searchListResponse",
            "etag": "s",
            "regionCode": "US",
            "pageInfo": {"totalResults": len(found), "resultsPerPage": size},
            "items": found[:size],
        }
        return 200, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(body).encode()

    def _threads(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if "videoId" in query:
            video_id = query["videoId"]
            if video_id in self.comments_off:
                return error(
                    403,
                    "commentsDisabled",
                    "The video identified by the <code>videoId</code> parameter has disabled comments.",
                )
            if video_id not in self.threads:
                return error(
                    404,
                    "videoNotFound",
                    "The video identified by the <code>videoId</code> parameter could not be found.",
                )
            threads = self.threads[video_id]
        elif "allThreadsRelatedToChannelId" in query:
            threads = self.channel_threads
        else:
            return error(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: videoId, id, allThreadsRelatedToChannelId",
                "youtube.parameter",
            )
        ordered = sorted(threads, key=lambda t: t["snippet"]["topLevelComment"]["snippet"]["publishedAt"], reverse=True)
        size = int(query.get("maxResults", "20"))
        if not 1 <= size <= 100:
            return error(400, "invalidValue", "Invalid value for maxResults.", "youtube.parameter")
        start = int(query.get("pageToken") or 0)
        page = [self._shown(t, query) for t in ordered[start : start + size]]
        if start == 0:
            page = [*self.hostile, *page]
        body: dict[str, Any] = {
            "kind": "youtube#commentThreadListResponse",
            "etag": "t",
            "pageInfo": {"totalResults": len(page), "resultsPerPage": size},
            "items": page,
        }
        if start + size < len(ordered):
            body["nextPageToken"] = str(start + size)
        return 200, {"Content-Type": "application/json; charset=UTF-8"}, rawjson.dumps(body).encode()

    @staticmethod
    def _shown(found: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        """The thread as the request's part and textFormat show it."""
        shown = json.loads(json.dumps(found))
        if "replies" not in query.get("part", "").split(","):
            shown.pop("replies", None)
        elif "replies" in shown:
            # "A limited number of replies": a subset, however many the thread has.
            shown["replies"]["comments"] = shown["replies"]["comments"][:REPLIES_SHOWN]
        if query.get("textFormat", "html") == "html":
            comments = [shown["snippet"]["topLevelComment"], *shown.get("replies", {}).get("comments", [])]
            for each in comments:
                each["snippet"]["textDisplay"] = html.escape(each["snippet"]["textOriginal"]).replace("\n", "<br>")
        return shown


def source(base: str, **extra: str) -> str:
    params = "".join(f", {k}: {v}" for k, v in extra.items())
    return (
        f"  - {{name: yt, type: youtube, api_key: '${{BRANDPULSE_SOURCE_YOUTUBE_KEY}}', api_url: '{base}'{params}}}\n"
    )
