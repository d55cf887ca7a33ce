"""The query language (analysis/query.py) over stored mentions: a mention as the document a query looks at, and the
preview of a query before it is saved (``brandpulse query test``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analysis.query import Query
from analysis.query_nodes import Doc, with_context
from storage.mention_queries import MentionFilter
from storage.models import Mention

# Mentions read from the database at a time while a preview scans a period.
SCAN_BATCH = 2_000
# Examples a preview keeps of each kind.
SAMPLE = 5


def mention_doc(mention: Mention, *, context: bool = True) -> Doc:
    """What a query sees of a stored mention: its text (with what it answers, unless ``context`` is false), language,
    source, author, link and country."""
    return Doc(
        text=with_context(mention.text, mention.context if context else None),
        language=mention.language,
        source=mention.source,
        author=mention.author,
        url=mention.url,
        country=mention.country,
    )


@dataclass
class Preview:
    """What a query would match among the documents looked at: how many, examples, and (against a brand's current
    definition) what it would add and drop. Examples are the newest first for stored mentions, in file order for a file."""

    seen: int = 0
    matched: int = 0
    examples: list[Doc] = field(default_factory=list)
    added: int = 0
    added_examples: list[Doc] = field(default_factory=list)
    dropped: int = 0
    dropped_examples: list[Doc] = field(default_factory=list)

    def look_at(self, doc: Doc, new: bool, old: bool | None) -> None:
        """One document: whether the new query matches it, and (None: no comparison) whether the current one does."""
        self.seen += 1
        if new:
            self.matched += 1
            _keep(self.examples, doc)
        if old is None or new == old:
            return
        if new:
            self.added += 1
            _keep(self.added_examples, doc)
        else:
            self.dropped += 1
            _keep(self.dropped_examples, doc)


def _keep(examples: list[Doc], doc: Doc) -> None:
    if len(examples) < SAMPLE:
        examples.append(doc)


def preview_documents(query: Query, docs: Iterable[Doc], current: Query | None = None) -> Preview:
    """``query`` over ``docs`` (a file's lines), against ``current`` (a brand's definition) when given."""
    preview = Preview()
    for doc in docs:
        preview.look_at(doc, query.matches(doc), None if current is None else current.matches(doc))
    return preview


def preview_stored(
    sessions: sessionmaker[Session],
    query: Query,
    *,
    since: datetime | None,
    until: datetime | None,
    brand: str | None = None,
    current: Query | None = None,
    progress: Callable[[int], None] | None = None,
) -> Preview:
    """``query`` over the stored mentions of the period, newest first. With ``brand`` (and its ``current``
    definition): what the new query would add among the other brands' mentions of the period, and which of the
    brand's own mentions it would drop. A text stored for several brands is looked at once."""
    preview = Preview()
    seen: set[tuple[str, str]] = set()
    where = MentionFilter(since=since, until=until, muted=True)
    statement = where.where(select(Mention)).order_by(Mention.created_at.desc(), Mention.id.desc())
    with sessions() as session:
        for mention in session.execute(statement.execution_options(yield_per=SCAN_BATCH)).scalars():
            key = (mention.source, mention.external_id)
            if key in seen:
                continue
            seen.add(key)
            doc = mention_doc(mention)
            old = None
            if brand is not None and current is not None:
                # The brand's own mentions are what its definition let in; the others', what it may have missed.
                old = mention.brand == brand or current.matches(doc)
            preview.look_at(doc, query.matches(doc), old)
            if progress is not None:
                progress(1)
    return preview
