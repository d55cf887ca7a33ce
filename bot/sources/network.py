"""Where a source's connections may go, and how long they may take.

Every connection of a poll is opened here: the host is resolved once, each address is checked, and the connection is
made to the checked address (so a name cannot resolve to a public address for the check and a private one for the
connection). Reads, writes and the TLS handshake run against the request's deadline as well as their own timeout, so
an answer that trickles in one byte at a time (headers or body) ends when the deadline does.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from bot.sources.base import SourceError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# RFC 6761: these names are the loopback interface on every resolver.
_LOOPBACK = (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1"))
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def plain(address: IPAddress) -> IPAddress:
    """An IPv4 address written as IPv6 (``::ffff:127.0.0.1``) as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _embedded(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (6to4, NAT64, the old IPv4-compatible form), which is where it leads."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def non_public(address: IPAddress) -> str | None:
    """What kind of address this is when it is not a public one ("loopback", "private", ...), else None."""
    address = plain(address)
    if isinstance(address, ipaddress.IPv6Address) and (inner := _embedded(address)) is not None:
        kind = non_public(inner)
        if kind is not None:
            return kind
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
    )
    for kind, applies in checks:
        if applies:
            return kind
    # Shared address space (100.64.0.0/10), benchmarking and future-use ranges: reachable only from inside.
    return None if address.is_global else "reserved"


@dataclass(frozen=True)
class Reach:
    """Which addresses a source may connect to: public ones, the endpoints its configuration names by address (an
    admin chose those), and any address at all when the source says ``allow_private: true``."""

    allow_private: bool = False
    endpoints: frozenset[tuple[IPAddress, int]] = frozenset()

    @classmethod
    def of(cls, urls: Iterable[str], *, allow_private: bool = False) -> Reach:
        """The reach of a source whose configuration gives these URLs: each that names its host by address (or as
        ``localhost``) makes that address and port reachable, whatever kind it is."""
        endpoints: set[tuple[IPAddress, int]] = set()
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
                continue
            try:
                port = parts.port or DEFAULT_PORTS[parts.scheme]
            except ValueError:
                continue
            name = parts.hostname.rstrip(".")
            if name == "localhost" or name.endswith(".localhost"):
                endpoints.update((address, port) for address in _LOOPBACK)
                continue
            try:
                endpoints.add((plain(ipaddress.ip_address(name)), port))
            except ValueError:
                continue  # a name: what it resolves to must be public
        return cls(allow_private=allow_private, endpoints=frozenset(endpoints))

    def refusal(self, address: IPAddress, port: int) -> str | None:
        """Why a connection to this address and port is refused (the kind of address), or None."""
        if self.allow_private or (plain(address), port) in self.endpoints:
            return None
        return non_public(address)


class AddressRefused(SourceError):
    """A connection would have gone to an address the source may not reach."""

    def __init__(self, host: str, port: int, address: IPAddress, kind: str) -> None:
        self.host, self.port, self.address, self.kind = host, port, address, kind
        what = (
            f"{host}:{port} is a {kind} address"
            if str(address) == host
            else f"{host} resolves to {address}, a {kind} address"
        )
        super().__init__(f"{what}: not connected (allow_private: true on the source allows it)")


def _lookup(host: str, port: int, timeout: float | None) -> list[tuple[IPAddress, str]]:
    """The addresses a name resolves to, each with the text to connect to (a link-local one keeps its zone). The
    lookup runs on a thread of its own, so that a resolver that does not answer costs the deadline, not more."""
    answers: list[Any] = []
    failures: list[Exception] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            answers.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            failures.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name=f"resolve {host}", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError(f"{host} was not resolved in time")
    if failures:
        reason = failures[0]
        raise OSError(f"cannot resolve {host}: {getattr(reason, 'strerror', None) or reason}")
    found: dict[str, IPAddress] = {}
    for family, *_, sockaddr in answers:
        if family in (socket.AF_INET, socket.AF_INET6):
            text = str(sockaddr[0])
            found.setdefault(text, ipaddress.ip_address(text.split("%", 1)[0]))
    return [(address, text) for text, address in found.items()]


def checked_addresses(host: str, port: int, *, reach: Reach, timeout: float | None) -> list[str]:
    """The addresses to connect to for ``host``, in the resolver's order. AddressRefused when any of them is one the
    source may not reach: a name that also resolves to a private address is not used at all."""
    try:
        addresses = [(ipaddress.ip_address(host), host)]
    except ValueError:
        addresses = _lookup(host, port, timeout)
    for address, _ in addresses:
        kind = reach.refusal(address, port)
        if kind is not None:
            raise AddressRefused(host, port, plain(address), kind)
    return [text for _, text in addresses]


def open_socket(url: str, *, reach: Reach, timeout: float) -> socket.socket:
    """A TCP connection to a URL's host and port (a websocket's), to a checked address, within ``timeout``; in
    blocking mode. AddressRefused, or OSError (TimeoutError included) when it cannot be made."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or DEFAULT_PORTS.get(parts.scheme, 443)
    deadline = time.monotonic() + timeout
    failure: OSError = OSError(f"{host} has no address")
    for address in checked_addresses(host, port, reach=reach, timeout=timeout):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{host} did not answer in time")
        try:
            sock = socket.create_connection((address, port), timeout=left)
        except OSError as exc:
            failure = exc
            continue
        sock.settimeout(None)
        return sock
    raise failure


@dataclass
class Deadline:
    """When the current request must be over (a ``time.monotonic()`` value; None: only per-operation timeouts)."""

    at: float | None = None
    clock: Callable[[], float] = field(default=time.monotonic)

    def budget(self, timeout: float | None, error: type[Exception]) -> float | None:
        """An operation's timeout, cut to what is left before the deadline; ``error`` when nothing is."""
        if self.at is None:
            return timeout
        left = self.at - self.clock()
        if left <= 0:
            raise error("the request's deadline passed")
        return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    """A connection whose every read, write and handshake ends by the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.budget(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.budget(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        budget = self._deadline.budget(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, budget), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    """httpcore's sockets, opened to checked addresses and bound to the deadline."""

    def __init__(self, reach: Reach, deadline: Deadline) -> None:
        self.reach, self.deadline = reach, deadline
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = checked_addresses(
                host, port, reach=self.reach, timeout=self.deadline.budget(timeout, httpcore.ConnectTimeout)
            )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from None
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            budget = self.deadline.budget(timeout, httpcore.ConnectTimeout)
            try:
                stream = self._sockets.connect_tcp(address, port, budget, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            return _Stream(stream, self.deadline)
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("a source is never reached through a Unix socket")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# httpcore's errors as httpx's, the same names (what httpx's own transport does).
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.TimeoutException, httpx.TimeoutException),
)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for theirs, ours in _ERRORS:
            if isinstance(exc, theirs):
                raise ours(str(exc)) from exc
        raise


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport whose connections go only where ``reach`` allows, each request ending by ``deadline``."""

    def __init__(self, *, reach: Reach, deadline: Deadline, ssl_context: ssl.SSLContext) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=10,
            max_keepalive_connections=5,
            keepalive_expiry=5.0,
            network_backend=_Backend(reach, deadline),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = self._pool.handle_request(core)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()
