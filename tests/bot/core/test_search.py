"""A query over stored mentions (bot/core/history.py): evaluated on the rows the filter lets through, page by page,
and never more than the scan limit read for one page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from analysis.query import parse
from bot.core.history import search_mentions
from storage.mention_queries import MentionFilter
from tests.support.pipeline import T0, M, add, job_context


def test_a_query_pages_through_the_mentions_it_matches_reading_at_most_the_scan_limit(
    tmp_path: Path, db_url: str
) -> None:
    ctx = job_context(tmp_path, db_url)
    # 30 mentions of acme, newest last; every tenth is about a recall (and one of those is a rumour).
    texts = [
        f"acme post {i}" + (" RECALLED" if i % 10 == 3 else "") + (" rumour" if i == 13 else "") for i in range(30)
    ]
    add(ctx.sessions, [M(T0 + timedelta(minutes=i), text) for i, text in enumerate(texts)])
    query = parse("recall* -rumour")
    pages, before = [], None
    while True:
        page = search_mentions(ctx.sessions, MentionFilter(brand="acme"), query, limit=2, before=before, scan_limit=12)
        pages.append([m.text for m in page.mentions])
        if page.resume is None:
            break
        before = page.resume
    # Newest first: 23, then (the rumour of 13 left out) 3. Each page reads at most 12 rows, so the pages stop where
    # their reading stopped and the next goes on from there.
    assert [text for found in pages for text in found] == ["acme post 23 RECALLED", "acme post 3 RECALLED"]
    assert len(pages) == 3 and all(len(found) <= 2 for found in pages)
    # Without a query, a page is the filter's next rows, and resumes only when more are left.
    first = search_mentions(ctx.sessions, MentionFilter(brand="acme"), None, limit=25)
    assert len(first.mentions) == 25 and first.resume is not None
    rest = search_mentions(ctx.sessions, MentionFilter(brand="acme"), None, limit=25, before=first.resume)
    assert len(rest.mentions) == 5 and rest.resume is None
