"""The brands file's ``sources:`` list: where mentions are fetched from, how often, and for which brands.

Secrets never sit in the file: a credential is written as a ``${VARIABLE}`` reference to the environment and is
read when the source is polled. Any other string parameter may use references too (a feed URL with a token in it).
A reference names a BRANDPULSE_SOURCE_* variable, never a setting: the file must not be able to send the bot's own
secrets (its Slack token, its database URL) to a feed's host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from bot.config.settings import SOURCE_VARIABLE_PREFIX, is_source_variable
from bot.errors import ConfigError

SourceName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def references(value: str) -> list[str]:
    """The environment variables a parameter refers to."""
    return _REFERENCE.findall(value)


def forbidden(value: str, prefix: str = SOURCE_VARIABLE_PREFIX) -> str | None:
    """The first variable a parameter refers to that a source (or, with its ``prefix``, a webhook) may not read."""
    return next((name for name in references(value) if not is_source_variable(name, prefix)), None)


def not_readable(key: str, variable: str, prefix: str = SOURCE_VARIABLE_PREFIX) -> str:
    what = "a source" if prefix == SOURCE_VARIABLE_PREFIX else "a webhook"
    return (
        f"{key} refers to ${{{variable}}}, which {what} may not read: {what} reads only variables named "
        f"{prefix}* (brandpulse's settings excepted)"
    )


def resolve(value: str, env: Mapping[str, str], *, source: str, key: str, prefix: str = SOURCE_VARIABLE_PREFIX) -> str:
    """A parameter with its ``${VARIABLE}`` references replaced from ``env``; ConfigError names a missing one, or
    one a source (with ``prefix``, a webhook) may not read (never its value)."""
    what = "source" if prefix == SOURCE_VARIABLE_PREFIX else "webhook"

    def replace(match: re.Match[str]) -> str:
        variable = match.group(1)
        if not is_source_variable(variable, prefix):
            raise ConfigError(f"{what} {source}: {not_readable(key, variable, prefix)}")
        if variable not in env or env[variable] == "":
            raise ConfigError(f"{what} {source}: {key} refers to ${{{variable}}}, which is not set in the environment")
        return env[variable]

    return _REFERENCE.sub(replace, value)


def check_url(value: str) -> str:
    if references(value):
        return value  # checked once resolved
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http:// or https:// URL")
    if parts.password:
        raise ValueError("the URL holds a password: write it as a ${VARIABLE} reference to the environment")
    return value


def check_secret(value: str | None) -> str | None:
    if value is not None and not _REFERENCE.fullmatch(value):
        raise ValueError("write the credential as a ${VARIABLE} reference to the environment, not the secret itself")
    return value


def _check_instance(value: str) -> str:
    check_url(value)
    return value.rstrip("/")


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: SourceName
    # How often it is polled; each connector documents what its API allows.
    interval_minutes: float = Field(default=15, ge=1, le=24 * 60)
    # The brands its mentions may belong to (matched by keyword among these; one brand: all of them). None: any.
    brands: list[str] | None = Field(default=None, min_length=1)
    # Whether its requests may reach private, loopback and link-local addresses (an intranet feed). Without it only
    # public addresses are, and the addresses its own URLs name by number (or as localhost).
    allow_private: bool = False

    # The parameters that are URLs the source connects to.
    url_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _readable_references(self) -> _Source:
        for key, value in self.model_dump().items():
            if isinstance(value, str) and (variable := forbidden(value)) is not None:
                raise ValueError(not_readable(key, variable))
        return self


class FeedSource(_Source):
    """An RSS or Atom feed (a Google News search is one): polled with conditional GET."""

    type: Literal["feed"]
    url: str
    url_fields = ("url",)

    _url = field_validator("url")(check_url)


class HackerNewsSource(_Source):
    """Hacker News stories and comments that match a query, newest first (Algolia's HN Search API, no key)."""

    type: Literal["hackernews"]
    query: str = Field(min_length=1, max_length=500)
    # "story", "comment", or both (Algolia's OR syntax).
    tags: Literal["story", "comment", "(story,comment)"] = "(story,comment)"
    # The first poll reaches this far back; later ones resume from the newest item seen.
    lookback_hours: float = Field(default=24, gt=0, le=24 * 30)
    base_url: str = "https://hn.algolia.com/api/v1"
    url_fields = ("base_url",)

    _url = field_validator("base_url")(check_url)


class MastodonSource(_Source):
    """Posts of one Mastodon instance: a hashtag's public timeline (no token), or a full-text search (a token)."""

    type: Literal["mastodon"]
    instance: str  # https://mastodon.social
    hashtag: str | None = Field(default=None, pattern=r"^[^\s#/?]{1,100}$")
    query: str | None = Field(default=None, min_length=1, max_length=500)
    token: str | None = None  # ${VARIABLE}: an access token with read:statuses (and read:search for a query)
    url_fields = ("instance",)

    _instance = field_validator("instance")(_check_instance)
    _token = field_validator("token")(check_secret)

    @model_validator(mode="after")
    def _one_of(self) -> MastodonSource:
        if (self.hashtag is None) == (self.query is None):
            raise ValueError("give either hashtag (a public timeline) or query (a search, which needs a token)")
        if self.query is not None and self.token is None:
            raise ValueError("a Mastodon search needs a token: unauthenticated requests cannot search post text")
        return self


class RedditSource(_Source):
    """Reddit posts matching a query, newest first, site-wide or in one subreddit (app-only OAuth)."""

    type: Literal["reddit"]
    query: str = Field(min_length=1, max_length=512)
    subreddit: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{2,21}$")
    client_id: str = Field(min_length=1)
    client_secret: str  # ${VARIABLE}
    # Reddit asks for "<platform>:<app ID>:<version> (by /u/<username>)" and throttles generic ones.
    user_agent: str = Field(default="python:brandpulse:0.1 (brand monitoring)", min_length=10, max_length=200)
    lookback_hours: float = Field(default=24, gt=0, le=24 * 30)
    token_url: str = "https://www.reddit.com/api/v1/access_token"
    api_url: str = "https://oauth.reddit.com"
    url_fields = ("token_url", "api_url")

    _secret = field_validator("client_secret")(check_secret)
    _urls = field_validator("token_url", "api_url")(_check_instance)


class BlueskySource(_Source):
    """Bluesky posts matching a query (``app.bsky.feed.searchPosts``, signed in with an app password)."""

    type: Literal["bluesky"]
    query: str = Field(min_length=1, max_length=500)
    handle: str = Field(min_length=3, max_length=253)  # the account the app password belongs to
    app_password: str  # ${VARIABLE}
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")
    lookback_hours: float = Field(default=24, gt=0, le=24 * 30)
    service: str = "https://bsky.social"  # the account's PDS, which proxies the search to the AppView
    url_fields = ("service",)

    _secret = field_validator("app_password")(check_secret)
    _service = field_validator("service")(_check_instance)


class JetstreamSource(_Source):
    """The Bluesky firehose through Jetstream: every new post, matched to the brands' keywords on our side."""

    type: Literal["jetstream"]
    url: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    # Each poll catches up from the stored time_us cursor to the present, reading for at most this long.
    interval_minutes: float = Field(default=1, ge=1, le=24 * 60)
    max_seconds: float = Field(default=40, gt=0, le=600)
    # A stream quiet this long has caught up with the live tail (its events come many a second).
    idle_seconds: float = Field(default=2, gt=0, le=60)
    url_fields = ("url",)

    @field_validator("url")
    @classmethod
    def _websocket(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("ws", "wss") or not parts.netloc:
            raise ValueError("expected a ws:// or wss:// URL such as wss://jetstream2.us-east.bsky.network/subscribe")
        return value


class GdeltSource(_Source):
    """Worldwide online news through GDELT's DOC 2.0 API (65 languages, no key): articles whose text matches, each
    stored with its title as the text, its language and its source country."""

    type: Literal["gdelt"]
    # GDELT's own query syntax, passed as it is. Without it, the words and phrases of the brands' definitions (any of
    # which every mention of the brand holds) are searched for, and each article is then matched to the brands.
    query: str | None = Field(default=None, min_length=1, max_length=1000)
    # GDELT updates every 15 minutes.
    interval_minutes: float = Field(default=15, ge=5, le=24 * 60)
    # The first poll reaches this far back (GDELT searches the last three months); later ones resume from the newest
    # article seen.
    lookback_hours: float = Field(default=24, gt=0, le=24 * 90)
    # Seconds between two requests of one poll: GDELT answers 429 to clients that ask too fast.
    pause_seconds: float = Field(default=5, ge=0, le=30)
    base_url: str = "https://api.gdeltproject.org/api/v2/doc/doc"
    url_fields = ("base_url",)

    _url = field_validator("base_url")(check_url)


class YouTubeSource(_Source):
    """Comments on YouTube videos (Data API v3, an API key): the videos a search finds, and those of a channel."""

    type: Literal["youtube"]
    api_key: str  # ${VARIABLE}: a Google Cloud API key with the YouTube Data API v3 enabled
    # Videos matching this (search.list's q, 100 quota units a poll), and their comments.
    query: str | None = Field(default=None, min_length=1, max_length=500)
    # Every comment on this channel's videos (the brand's own channel: UC followed by 22 characters), 1 unit a page.
    channel_id: str | None = Field(default=None, pattern=r"^UC[A-Za-z0-9_-]{22}$")
    # A search costs 100 of the 10,000 units a project gets a day: hourly by default, every 30 minutes at most
    # (48 polls of a search and 50 videos: 7,200 units).
    interval_minutes: float = Field(default=60, ge=30, le=24 * 60)
    # A video found by the search has its comments followed for this many days after it was published.
    video_days: float = Field(default=7, gt=0, le=90)
    # The most videos followed at once (the newest are kept): each costs a unit or more a poll.
    max_videos: int = Field(default=20, ge=1, le=50)
    api_url: str = "https://youtube.googleapis.com/youtube/v3"
    url_fields = ("api_url",)

    _secret = field_validator("api_key")(check_secret)
    _api = field_validator("api_url")(_check_instance)

    @model_validator(mode="after")
    def _something_to_follow(self) -> YouTubeSource:
        if self.query is None and self.channel_id is None:
            raise ValueError("give a query (videos that match it), a channel_id (every video of the channel), or both")
        return self


SourceConfig = Annotated[
    FeedSource
    | HackerNewsSource
    | MastodonSource
    | RedditSource
    | BlueskySource
    | JetstreamSource
    | GdeltSource
    | YouTubeSource,
    Field(discriminator="type"),
]
SOURCE_TYPES = ("feed", "hackernews", "mastodon", "reddit", "bluesky", "jetstream", "gdelt", "youtube")


def resolved(config: BaseModel, env: Mapping[str, str]) -> dict[str, Any]:
    """The configuration's parameters with every ``${VARIABLE}`` read from ``env`` (ConfigError names a missing one)."""
    name = str(getattr(config, "name", "?"))
    values = config.model_dump()
    return {
        key: resolve(value, env, source=name, key=key) if isinstance(value, str) else value
        for key, value in values.items()
    }


def referenced_values(config: BaseModel, env: Mapping[str, str]) -> dict[str, str]:
    """The values of the variables the configuration refers to and may read, by name: what its messages and items
    must never show."""
    values = {}
    for value in config.model_dump().values():
        if isinstance(value, str):
            for name in references(value):
                if is_source_variable(name) and len(env.get(name, "")) >= MIN_REDACTED:
                    values[name] = env[name]
    return values


# Shorter values are left in place: replacing every "1" of a message would garble it and hide nothing.
MIN_REDACTED = 4


def redact(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each value replaced by the reference that names it (``${NAME}``)."""
    for name, value in sorted(values.items(), key=lambda item: -len(item[1])):
        text = text.replace(value, f"${{{name}}}")
    return text
