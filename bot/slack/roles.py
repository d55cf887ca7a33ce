"""Who may do what: admins act (correct, acknowledge, mute...) and read; analysts read (history, stats, reports).

Each role lists Slack user IDs (``U…``, ``W…``) and user group IDs (``S…``), globally in the settings and per brand in
the brands file (a brand's admins and analysts have their role for that brand only). A group's members come from
``usergroups.users.list`` and are kept for a few minutes; when Slack cannot be asked, the last members known are
used, and a group never read counts nobody (a refusal, never a grant).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence

log = logging.getLogger(__name__)

# Asks Slack for a user group's members (usergroups.users.list); raises when Slack cannot answer.
GroupLookup = Callable[[str], Sequence[str]]
MAX_GROUPS = 1000
# After a failed lookup, the group is not asked for again before this many seconds.
RETRY_SECONDS = 30.0


def no_groups(group: str) -> Sequence[str]:
    raise LookupError("no Slack client to read user groups with")


def is_group(member: str) -> bool:
    return member.startswith("S")


class Roles:
    def __init__(
        self,
        *,
        admins: Collection[str],
        analysts: Collection[str],
        lookup: GroupLookup = no_groups,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.admins, self.analysts = frozenset(admins), frozenset(analysts)
        self.lookup, self.ttl, self.clock = lookup, ttl_seconds, clock
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._failed: dict[str, float] = {}  # when a group's lookup last failed
        self._lock = threading.Lock()

    def members(self, group: str) -> frozenset[str]:
        """A user group's members, read again from Slack once they are ``ttl`` old."""
        with self._lock:
            known = self._groups.get(group)
            failed = self._failed.get(group)
        now = self.clock()
        if known is not None and now - known[0] < self.ttl:
            return known[1]
        if failed is not None and now - failed < RETRY_SECONDS:  # Slack just refused: do not ask at every click
            return known[1] if known is not None else frozenset()
        try:
            members = frozenset(str(user) for user in self.lookup(group))
        except Exception as exc:  # noqa: BLE001 - Slack away or the group gone: keep what was known, or nobody
            log.warning("cannot read the members of user group %s (%s); %s", group, exc, _kept(known))
            with self._lock:
                if len(self._failed) >= MAX_GROUPS and group not in self._failed:
                    self._failed.pop(next(iter(self._failed)))
                self._failed[group] = now
            return known[1] if known is not None else frozenset()
        with self._lock:
            if len(self._groups) >= MAX_GROUPS and group not in self._groups:
                self._groups.pop(next(iter(self._groups)))
            self._groups[group] = (self.clock(), members)
            self._failed.pop(group, None)
        return members

    def holds(self, user: str, listed: Collection[str]) -> bool:
        """Whether ``user`` is one of ``listed`` or a member of one of its user groups."""
        if not user or not listed:
            return False
        if user in listed:
            return True
        return any(user in self.members(entry) for entry in listed if is_group(entry))

    def is_admin(self, user: str, brand_admins: Collection[str] = ()) -> bool:
        return self.holds(user, self.admins) or self.holds(user, brand_admins)

    def can_read(self, user: str, brand_admins: Collection[str] = (), brand_analysts: Collection[str] = ()) -> bool:
        return self.is_admin(user, brand_admins) or self.holds(user, self.analysts) or self.holds(user, brand_analysts)


def _kept(known: tuple[float, frozenset[str]] | None) -> str:
    return f"keeping the {len(known[1])} members last read" if known is not None else "it counts nobody meanwhile"
