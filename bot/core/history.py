"""Stored mentions, newest first, for the history views of Slack and the CLI."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from storage.mentions import history
from storage.models import Mention


def latest_mentions(
    sessions: sessionmaker[Session],
    *,
    brand: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    label: str | None = None,
    source: str | None = None,
    search: str | None = None,
    language: str | None = None,
    limit: int = 50,
    before: tuple[datetime, int] | None = None,
    state: str | None = None,
    assignee: str | None = None,
) -> list[Mention]:
    """The newest mentions that pass every given filter; ``before`` continues after a previous page's last row."""
    with sessions() as session:
        return history(
            session=session,
            brand=brand,
            since=since,
            until=until,
            label=label,
            source=source,
            search=search,
            language=language,
            limit=limit,
            before=before,
            state=state,
            assignee=assignee,
        )
