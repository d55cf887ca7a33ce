"""The connectors' HTTP: a deadline on every request and on the whole poll, bodies capped while they stream,
redirects followed only to addresses the source may reach, rate limits turned into backoff.

Error messages name the host, never the URL: a URL may carry a token from the environment.
"""

from __future__ import annotations

import email.utils
import functools
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx

from bot.sources.base import RateLimited, SourceError
from bot.sources.network import AddressRefused, Deadline, GuardedTransport, Reach, open_socket

# Without a Retry-After, a 429 keeps the source quiet this long.
DEFAULT_BACKOFF = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)
# Redirects one request follows; each hop's address is checked as the first one is.
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class HttpOptions:
    # Each request, from resolving the host to the last byte of the body.
    timeout_seconds: float = 20.0
    # The whole poll: every request it makes (pages, a sign-in, a token).
    poll_seconds: float = 120.0
    max_bytes: int = 10_000_000
    user_agent: str = "brandpulse (+https://github.com/brandpulse/brandpulse)"


@dataclass(frozen=True)
class Response:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str  # after redirects


def host(url: str) -> str:
    return urlsplit(url).hostname or "the source"


def rate_limit_reset(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When a rate-limit window resets, as the sources say it: Mastodon an ISO time (``X-RateLimit-Reset``),
    Bluesky Unix seconds (``RateLimit-Reset``), Reddit seconds from now (``X-Ratelimit-Reset``); within MAX_BACKOFF."""
    value = (headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset") or "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        try:
            until = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
    else:
        if not number >= 0 or number > 1e12:  # NaN, negative or absurd
            return None
        until = datetime.fromtimestamp(number, tz=UTC) if number > 1e9 else now + timedelta(seconds=number)
    return min(max(until, now), now + MAX_BACKOFF)


def exhausted_until(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """The reset time when the answer says no request is left in the window (``X-RateLimit-Remaining: 0``), else
    None: the next poll waits for it rather than earn a 429."""
    remaining = (headers.get("x-ratelimit-remaining") or headers.get("ratelimit-remaining") or "").strip()
    try:
        left = float(remaining)
    except ValueError:
        return None
    return rate_limit_reset(headers, now) if left < 1 else None


def retry_after(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When a ``Retry-After`` header (seconds or an HTTP date) says to try again, within MAX_BACKOFF."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit() and len(value) <= 9:
        until = now + timedelta(seconds=int(value))
    else:
        try:
            until = email.utils.parsedate_to_datetime(value).astimezone(UTC)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return min(max(until, now), now + MAX_BACKOFF)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every poll: building one (reading the CA bundle) costs more than most polls."""
    return httpx.create_ssl_context()


class SourceClient:
    """One httpx client per poll: GET with a deadline and a size cap; 429 raises RateLimited, other failures
    SourceError. Its connections go only where ``reach`` allows (redirects included); the poll's deadline starts
    when the client is made.

    httpx's timeouts bound each read, not the answer: a server that sends a byte a second never trips a 20-second
    read timeout. The deadline bounds the whole request, headers and body, and the poll, whatever the pace."""

    def __init__(
        self,
        options: HttpOptions,
        *,
        reach: Reach | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options
        self.reach = reach or Reach()
        self._clock = clock
        self._poll_deadline = clock() + options.poll_seconds
        self._deadline = Deadline(clock=clock)
        self._client = httpx.Client(
            timeout=httpx.Timeout(options.timeout_seconds),
            headers={"User-Agent": options.user_agent},
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            # Proxies from the environment would connect to addresses this client cannot check.
            trust_env=False,
            transport=transport or GuardedTransport(reach=self.reach, deadline=self._deadline, ssl_context=_tls()),
        )

    def __enter__(self) -> SourceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        now: datetime,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        data: Mapping[str, str] | None = None,
        json: object = None,
        auth: tuple[str, str] | None = None,
        read_refusals: bool = False,
    ) -> Response:
        """The answer to one request. ``read_refusals``: a 4xx other than 429 is returned, for a connector whose API
        says in the body why it refused (YouTube: the quota, or one video's comments turned off)."""
        where = host(url)
        cap = self.options.max_bytes
        limited_by_poll = self._start(where)
        try:
            with self._client.stream(
                method, url, headers=headers, params=params, data=data, json=json, auth=auth
            ) as response:
                if response.status_code == 429:
                    until = (
                        retry_after(response.headers, now)
                        or rate_limit_reset(response.headers, now)
                        or now + DEFAULT_BACKOFF
                    )
                    raise RateLimited(
                        f"{where} answered 429 Too Many Requests; waiting until {until:%H:%M:%S} UTC", until=until
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > cap:
                    raise SourceError(f"{where} sent {int(declared):,} bytes, over the {cap:,}-byte cap")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > cap:
                        raise SourceError(f"{where} sent more than the {cap:,}-byte cap")
                status, final = response.status_code, str(response.url)
                result = Response(status, response.headers, bytes(body), final)
        except httpx.TimeoutException:
            if limited_by_poll:
                raise SourceError(f"{where}: the poll did not finish within {self.options.poll_seconds:g} s") from None
            raise SourceError(f"{where} did not answer within {self.options.timeout_seconds:g} s") from None
        except AddressRefused as exc:
            raise SourceError(_refused(url, exc)) from None
        except httpx.TooManyRedirects:
            raise SourceError(f"{where} redirected more than {MAX_REDIRECTS} times") from None
        except httpx.DecodingError:
            raise SourceError(f"{where} sent a compressed body that does not decompress") from None
        except httpx.HTTPError as exc:
            reason = str(exc).replace(url, where) or type(exc).__name__
            raise SourceError(f"cannot reach {where}: {reason}") from None
        if status >= 400 and status != 304 and not (read_refusals and status < 500):
            raise SourceError(f"{where} answered HTTP {status}", status=status)
        return result

    def seconds_left(self) -> float:
        """Seconds before the poll's deadline: a connector that pages stops asking in time to keep what it read."""
        return self._poll_deadline - self._clock()

    def _start(self, where: str) -> bool:
        """Set the deadline of a request starting now; whether it is the poll's (which ends first)."""
        now = self._clock()
        left = self._poll_deadline - now
        if left <= 0:
            raise SourceError(f"{where}: the poll did not finish within {self.options.poll_seconds:g} s")
        self._deadline.at = now + min(left, self.options.timeout_seconds)
        return left < self.options.timeout_seconds

    def connect(self, url: str) -> socket.socket:
        """A TCP connection to a URL's host (a websocket's), to an address the source may reach, within the request
        timeout; AddressRefused, or OSError when it cannot be made."""
        left = self._poll_deadline - self._clock()
        return open_socket(url, reach=self.reach, timeout=max(0.0, min(left, self.options.timeout_seconds)))

    def get(
        self,
        url: str,
        *,
        now: datetime,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        read_refusals: bool = False,
    ) -> Response:
        return self.request("GET", url, now=now, headers=headers, params=params, read_refusals=read_refusals)


def _refused(url: str, refused: AddressRefused) -> str:
    """Why a request went nowhere: the host it asked, and where a redirect would have taken it (no path, no query)."""
    parts = urlsplit(url)
    try:
        asked = (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    except ValueError:
        asked = (parts.hostname or "", 0)
    if (refused.host, refused.port) == asked:
        return str(refused)
    target = f"{refused.host}:{refused.port}"
    if str(refused.address) != refused.host:
        target += f" ({refused.address})"
    return (
        f"{host(url)} redirected to {target}, a {refused.kind} address: not followed "
        "(allow_private: true on the source allows it)"
    )
