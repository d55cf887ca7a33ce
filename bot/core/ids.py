"""Row ids that come back from outside (a button's value, an API cursor, a CLI argument): read once, here."""

from __future__ import annotations

from storage.models import MAX_ROW_ID

_MAX_DIGITS = len(str(MAX_ROW_ID))


def row_id(value: object) -> int:
    """The id ``value`` names (an int, or a string of ASCII digits) when a row could have it: 1 to ``MAX_ROW_ID``.
    ValueError otherwise, before any query sees it (a larger number overflows both drivers)."""
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()) or len(value) > _MAX_DIGITS:
            raise ValueError(f"{value[:40]!r} is not an id")
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ROW_ID:
        raise ValueError(f"{str(value)[:40]!r} is not an id")
    return value
