"""Request bodies, read as a public endpoint must: under a cap while they stream (chunked ones too); and, while
nobody has verified who sent them, under a budget that all such bodies share and a deadline for each.

A body signed with a secret (a Slack request, a Standard Webhooks delivery) can only be checked once it has all
arrived, so anyone may make the server read one. The cap bounds one such body; the budget bounds them all together,
so that sixty clients that merely claim a signature cannot make the server hold sixty bodies; the deadline frees a
share of the budget from a client that sends slowly or not at all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.requests import Request

log = logging.getLogger(__name__)

# The bytes that bodies not yet verified may hold at once, all requests together: six of the API's largest bodies,
# or thousands of Slack's.
UNVERIFIED_BYTES = 32_000_000
# How long a body not yet verified may take to arrive, from its headers to its last byte.
UNVERIFIED_BODY_SECONDS = 30.0
# How long a sender is asked to wait when the budget is spent.
BUSY_RETRY_SECONDS = 5


class Refused(Exception):
    """A request answered with ``status`` and ``reason`` before its body is used; the connection is closed with the
    answer, as the rest of the body may not have been read."""

    def __init__(self, status: int, reason: str, *, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason
        self.headers = {"Connection": "close"}
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)


def declared_length(request: Request, limit: int) -> int | None:
    """The body's ``Content-Length`` (None when chunked); Refused (400, 413) for a bad or too large one."""
    declared = request.headers.get("content-length")
    if declared is None:
        return None
    if not (declared.isascii() and declared.isdigit()) or len(declared) > 18:
        raise Refused(400, "invalid Content-Length")
    if int(declared) > limit:
        raise Refused(413, f"request body over {limit:,} bytes")
    return int(declared)


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, read as it streams and abandoned (413) as soon as it passes ``limit``, chunked or not.

    A client that hangs up before its body has arrived raises starlette's ClientDisconnect, which the HTTP app
    answers with one debug line (there is nobody left to answer)."""
    declared_length(request, limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"request body over {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class UnverifiedBodies:
    """The budget and the deadline of the bodies that are read before anyone knows who sent them.

    Used on the event loop only: taking and giving back need no lock."""

    def __init__(self, budget: int = UNVERIFIED_BYTES, seconds: float = UNVERIFIED_BODY_SECONDS) -> None:
        self.budget, self.seconds = budget, seconds
        self.held = 0

    def _take(self, size: int) -> None:
        if self.held + size > self.budget:
            raise Refused(
                503, "too many unverified requests at once; try again shortly", retry_after=BUSY_RETRY_SECONDS
            )
        self.held += size

    @asynccontextmanager
    async def read(self, request: Request, limit: int) -> AsyncIterator[bytes]:
        """The body, read under ``limit`` and the shared budget (503 when it is spent) within the deadline (408);
        its share of the budget is held until the block ends, i.e. until the body is verified or refused."""
        taken = 0
        try:
            declared = declared_length(request, limit)
            if declared is not None:  # the whole body's share up front: refused before a byte of it is read
                self._take(declared)
                taken = declared
            chunks, size = [], 0
            try:
                async with asyncio.timeout(self.seconds):
                    async for chunk in request.stream():
                        size += len(chunk)
                        if size > limit:
                            raise Refused(413, f"request body over {limit:,} bytes")
                        if size > taken:  # chunked, or more than declared (the server stops at the length)
                            self._take(size - taken)
                            taken = size
                        chunks.append(chunk)
            except TimeoutError:
                raise Refused(408, f"the request body did not arrive within {self.seconds:g} seconds") from None
            yield b"".join(chunks)
        finally:
            self.held -= taken
