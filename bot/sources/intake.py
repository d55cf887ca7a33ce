"""The one door of a source's items: each raw item a connector reads becomes a mention, is left out (it is not one: a
like, a boost, a post without text), or is rejected with why. An item's date, size or shape costs that item only:
never the rest of its page, the poll, or the source's cursor.

The rules, for every connector (docs/operate/sources.md):

- An item needs an id, a time or none, and text, each of the type its source documents; anything else in it is
  optional, and left out when it is not what the source documents.
- Its time, when it has one, lies between 1990-01-01 and the poll's clock plus ``MAX_AHEAD`` (10 minutes), and has a
  UTC form; the cursor of a source that resumes from the newest time seen moves to the poll's clock at the latest.
- Its text is at most ``MAX_TEXT_CHARS`` (40,000) characters. Its author is cut to 255 characters; a link longer than
  ``MAX_URL_CHARS`` (2,048) or not http(s) is left out; a count (likes, reposts, replies, followers) outside what the
  column holds is left out.
- A JSON answer nested too deeply for Python's parser (about 1,000 levels) is read again by one that stops at
  ``MAX_JSON_DEPTH`` (512) levels: the items that hold a deeper part, or a number too long to read, are rejected.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.core.ingest import MAX_AHEAD, MAX_AUTHOR_CHARS, RowError, mention_time
from bot.errors import BrandpulseError
from bot.sources.base import Item, Rejected, Rejection, external_id
from storage.mentions import MAX_TEXT_CHARS, storable_text

MAX_URL_CHARS = 2_048
MAX_JSON_DEPTH = 512
MAX_REASON_CHARS = 300
# The range of the mentions' count columns (32-bit integers).
_COUNT_RANGE = range(-(2**31), 2**31)


class BadItem(BrandpulseError):
    """An item that cannot be a mention; the message is why, in one line."""


class _Unread:
    """What stands for a part of a JSON answer that was not read (too deep, or a number too long)."""

    def __repr__(self) -> str:
        return "<unread>"


UNREAD = _Unread()


class PartlyReadDict(dict[str, Any]):
    """A JSON object some part of which was not read."""


class PartlyReadList(list[Any]):
    """A JSON array some part of which was not read."""


PARTLY_READ = (PartlyReadDict, PartlyReadList, _Unread)
UNREAD_REASON = f"holds a part nested over {MAX_JSON_DEPTH} levels, or a number too long to read"


def shown(value: object) -> str:
    """A short description of an outsider's value for a reason: never its repr whole (which may be megabytes, nested
    past the recursion limit, or an integer too long to print)."""
    if isinstance(value, str):
        return repr(value[:40] + ("..." if len(value) > 40 else ""))
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return str(value) if value.bit_length() < 128 else f"an integer of {value.bit_length():,} bits"
    if isinstance(value, float):
        return repr(value)
    return f"a JSON {'object' if isinstance(value, dict) else 'array' if isinstance(value, list) else 'value'}"


def text_field(value: object, name: str) -> str:
    """A text field: '' when absent or null, else the string; BadItem when it is not a string."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadItem(f"{name} is {shown(value)}, not a string")
    return value


def iso_time(value: object, name: str) -> datetime | None:
    """An ISO 8601 time as the APIs write it ('...Z' included; no zone means UTC); None when absent or null,
    BadItem when it is something else."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise BadItem(f"{name} is {shown(value)}, not an ISO 8601 time")


def epoch_time(value: object, name: str, *, scale: float = 1) -> datetime:
    """A Unix time (an integer or a decimal, in seconds over ``scale``: 1e6 for microseconds); BadItem when it is
    not one."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / scale, UTC)
        except (OverflowError, OSError, ValueError):  # NaN, infinities and times past any calendar among them
            pass
    unit = "Unix seconds" if scale == 1 else "Unix microseconds" if scale == 1e6 else "a Unix time"
    raise BadItem(f"{name} is {shown(value)}, not a time in {unit}")


def count(value: object) -> int | None:
    """A count as a source sends it (an integer, or a decimal such as Reddit's), if a column can hold it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    return value if value in _COUNT_RANGE else None


def _link(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    link = storable_text(value).strip()
    if not link or len(link) > MAX_URL_CHARS or not link.lower().startswith(("https://", "http://")):
        return None
    return link


_COUNTRY = re.compile(r"[a-z]{2}")
# The most of an item's context (a comment's video title) read when its brands are matched.
MAX_CONTEXT_CHARS = 2_000


def checked(item: Item, *, latest: datetime) -> Item:
    """``item`` as a mention keeps it (its time in UTC, its fields cut to their columns); BadItem says why it cannot
    be a mention at all."""
    if not isinstance(item.external_id, str) or not item.external_id.strip():
        raise BadItem("no id")
    text = storable_text(item.text).strip()
    if not text:
        raise BadItem("no text")
    if len(text) > MAX_TEXT_CHARS:
        raise BadItem(f"text of {len(text):,} characters, over the {MAX_TEXT_CHARS:,} limit")
    created_at = None
    if item.created_at is not None:
        try:
            created_at = mention_time(item.created_at, latest=latest)
        except RowError as exc:
            raise BadItem(f"time: {exc}") from None
    author = storable_text(item.author).strip()[:MAX_AUTHOR_CHARS] or None if isinstance(item.author, str) else None
    language = item.language if isinstance(item.language, str) and 0 < len(item.language) <= 16 else None
    return dataclasses.replace(
        item,
        external_id=external_id(item.external_id),
        text=text,
        created_at=created_at,
        url=_link(item.url),
        author=author,
        language=storable_text(language) if language else None,
        country=item.country if isinstance(item.country, str) and _COUNTRY.fullmatch(item.country) else None,
        likes=count(item.likes),
        reposts=count(item.reposts),
        replies=count(item.replies),
        author_followers=count(item.author_followers),
        context=storable_text(item.context)[:MAX_CONTEXT_CHARS] if isinstance(item.context, str) else None,
    )


class Intake:
    """The items of one poll, each admitted through ``checked`` or rejected on its own, and the newest time among
    those admitted (never later than the poll's clock: a cursor moves no further than what the source vouches for)."""

    def __init__(self, *, now: datetime) -> None:
        self.now = now
        self.latest = now + MAX_AHEAD
        self.items: list[Item] = []
        self.rejected = Rejected()
        self.newest: datetime | None = None

    def admit(
        self,
        convert: Callable[[Any], Item | None],
        raw: object,
        *,
        id_of: Callable[[Any], object] | None = None,
        wanted: Callable[[Item], bool] | None = None,
    ) -> Item | None:
        """The mention ``convert`` makes of ``raw``, admitted and kept in ``items``; None when it makes none, when it
        is rejected (kept in ``rejected``, under the id ``id_of`` finds in ``raw`` when that is a string), or when
        ``wanted`` says the admitted item is not one the source looks for (seen before, for one)."""
        try:
            if isinstance(raw, PARTLY_READ):
                raise BadItem(UNREAD_REASON)
            found = convert(raw)
            if found is None:
                return None
            found = checked(found, latest=self.latest)
            if wanted is not None and not wanted(found):
                return None
        except BadItem as exc:
            reason = str(exc)
        except (ValueError, TypeError, OverflowError, RecursionError, KeyError, AttributeError, IndexError) as exc:
            # Whatever else a value can do to a conversion costs that item, never the rest of the page.
            reason = f"unreadable ({type(exc).__name__})"
        else:
            self.items.append(found)
            if found.created_at is not None:
                mark = min(found.created_at, self.now)
                self.newest = mark if self.newest is None else max(self.newest, mark)
            return found
        given = None
        if id_of is not None:
            try:
                given = id_of(raw)
            except (TypeError, KeyError, AttributeError, IndexError, ValueError):
                pass
        self.reject(reason, given if isinstance(given, str) else None)
        return None

    def reject(self, reason: str, given_id: str | None = None) -> None:
        """Record an item as rejected, with why."""
        shown_id = storable_text(given_id)[:200] if given_id else None
        self.rejected.add(Rejection(shown_id, reason[:MAX_REASON_CHARS]))


def fresh_mark(mark: datetime | None, *, now: datetime) -> datetime | None:
    """A stored time mark in UTC, or None when it is not one a mention may have: one past the poll's clock (stored
    before marks were bounded) would hide every post until then, so the source starts again as on its first poll."""
    if mark is None:
        return None
    try:
        return mention_time(mark, latest=now + MAX_AHEAD)
    except RowError:
        return None


# JSON -------------------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"[ \t\n\r]*(?:([\[\]{},:])|(\")|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"
    r"|(null|true|false|NaN|Infinity|-Infinity))"
)
_END = re.compile(r"[ \t\n\r]*")
_CONSTANTS: dict[str, Any] = {
    "null": None,
    "true": True,
    "false": False,
    "NaN": math.nan,
    "Infinity": math.inf,
    "-Infinity": -math.inf,
}
_CLOSING = {"[": "]", "{": "}"}
# The json module's own string reader (C): typeshed leaves it out, being public in practice only.
scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


def load_json(body: bytes | str) -> Any:
    """A JSON answer, as ``json.loads`` reads it; when that cannot (nested past the recursion limit, a number over
    4,300 digits), read again without recursion: the parts deeper than ``MAX_JSON_DEPTH`` and the numbers too long
    are not read, and the objects and arrays that hold them are ``PartlyRead``, so that only their items are
    rejected. ValueError: not JSON."""
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError):
        pass
    text = body.decode(json.detect_encoding(body), "surrogatepass") if isinstance(body, bytes) else body
    return _read_flat(text.removeprefix("\ufeff"))


def _fail(at: int) -> ValueError:
    return ValueError(f"invalid JSON at character {at:,}")


def _read_flat(text: str) -> Any:
    """JSON read with an explicit stack (see ``load_json``)."""
    # Each open container: [the container, its pending key (objects), whether a part of it went unread].
    stack: list[list[Any]] = []
    # What comes next: "value", "value or ]", "key", "key or }", ":", ", or close".
    expect = "value"
    pos = 0
    root: Any = None
    while True:
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _fail(pos)
        punct, quote, number, constant = match.groups()
        pos = match.end()
        value: Any = None
        have_value = False
        if quote is not None:
            try:
                string, pos = scanstring(text, pos, True)
            except json.JSONDecodeError:
                raise _fail(pos) from None
            if expect in ("key", "key or }"):
                stack[-1][1] = string
                expect = ":"
                continue
            value, have_value = string, True
        elif number is not None:
            if "." in number or "e" in number or "E" in number:
                value = float(number)
            else:
                try:
                    value = int(number)
                except ValueError:
                    value = UNREAD  # over 4,300 digits
            have_value = True
        elif constant is not None:
            value, have_value = _CONSTANTS[constant], True
        elif punct in ("[", "{"):
            if expect not in ("value", "value or ]"):
                raise _fail(pos - 1)
            if len(stack) >= MAX_JSON_DEPTH:
                pos = _skip(text, pos, punct)
                value, have_value = UNREAD, True
            else:
                stack.append([[] if punct == "[" else {}, None, False])
                expect = "value or ]" if punct == "[" else "key or }"
                continue
        elif punct in ("]", "}"):
            if not stack:
                raise _fail(pos - 1)
            container, _, unread = stack[-1]
            closes = "]" if isinstance(container, list) else "}"
            empty_close = expect == ("value or ]" if closes == "]" else "key or }")
            if punct != closes or not (expect == ", or close" or empty_close):
                raise _fail(pos - 1)
            stack.pop()
            if unread:
                container = PartlyReadList(container) if closes == "]" else PartlyReadDict(container)
            value, have_value, expect = container, True, "value"  # what its parent expected when it opened
        elif punct == ",":
            if expect != ", or close":
                raise _fail(pos - 1)
            expect = "value" if isinstance(stack[-1][0], list) else "key"
            continue
        elif punct == ":":
            if expect != ":":
                raise _fail(pos - 1)
            expect = "value"
            continue
        if not have_value or expect not in ("value", "value or ]"):
            raise _fail(pos)
        if not stack:
            root = value
            break
        frame = stack[-1]
        if isinstance(frame[0], list):
            frame[0].append(value)
        else:
            frame[0][frame[1]] = value
        if isinstance(value, PARTLY_READ):
            frame[2] = True
        expect = ", or close"
    end = _END.match(text, pos)
    if end is None or end.end() != len(text):
        raise _fail(pos)
    return root


def _skip(text: str, pos: int, opening: str) -> int:
    """The position after the container that opens just before ``pos``, read for its brackets and strings only."""
    closers = bytearray(_CLOSING[opening].encode())
    while closers:
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _fail(pos)
        punct, quote = match.group(1), match.group(2)
        pos = match.end()
        if quote is not None:
            try:
                pos = scanstring(text, pos, True)[1]
            except json.JSONDecodeError:
                raise _fail(pos) from None
        elif punct in ("[", "{"):
            closers.append(ord(_CLOSING[punct]))
        elif punct in ("]", "}"):
            if ord(punct) != closers.pop():
                raise _fail(pos - 1)
    return pos
