from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from storage.db import make_sessionmaker
from storage.mention_queries import (
    MentionFilter,
    Triage,
    brand_label_counts,
    count_mentions,
    first_mentions,
    history,
    label_counts_per_window,
    quarter_hour_counts,
)
from storage.mentions import insert_mentions
from storage.models import Mention

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def row(external_id: str, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "source": "test",
        "external_id": external_id,
        "brand": "apple",
        "text": f"mention {external_id}",
        "created_at": T0,
        "ingested_at": T0,
        "status": "pending",
        "label": None,
    }
    values.update(overrides)
    return values


@pytest.fixture
def session(engine: Engine) -> Any:
    with make_sessionmaker(engine)() as session:
        yield session


def test_insert_skips_rows_already_stored(engine: Engine, session: Session) -> None:
    with engine.begin() as connection:
        assert insert_mentions(connection=connection, rows=[row("1"), row("2")]) == 2
    with engine.begin() as connection:
        assert insert_mentions(connection=connection, rows=[row("2"), row("3"), row("3")]) == 1
        # The same external id from another source is another mention.
        assert insert_mentions(connection=connection, rows=[row("1", source="other")]) == 1
    assert count_mentions(session=session) == 4


def test_rows_with_different_columns_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="same keys"), engine.begin() as connection:
        insert_mentions(connection=connection, rows=[row("1"), {**row("2"), "author": "x"}])


def test_datetimes_come_back_in_utc(engine: Engine, session: Session) -> None:
    rome = timezone(timedelta(hours=2))
    with engine.begin() as connection:
        insert_mentions(connection=connection, rows=[row("1", created_at=datetime(2024, 6, 1, 14, 30, tzinfo=rome))])
    (mention,) = history(session=session, where=MentionFilter())
    assert mention.created_at == datetime(2024, 6, 1, 12, 30, tzinfo=UTC)
    assert mention.created_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as connection:
        insert_mentions(connection=connection, rows=[row("1", created_at=datetime(2024, 1, 1))])


def test_history_filters_and_orders_newest_first(engine: Engine, session: Session) -> None:
    rows = [
        row("a", brand="apple", created_at=T0 - timedelta(days=10), source="import"),
        row("b", brand="apple", created_at=T0 - timedelta(days=2), text="Battery DRAINS fast"),
        row("c", brand="google", created_at=T0 - timedelta(days=1)),
        row("d", brand="apple", created_at=T0, text="the battery is fine"),
    ]
    with engine.begin() as connection:
        insert_mentions(connection=connection, rows=rows)
    session.execute(update(Mention).where(Mention.external_id == "b").values(label="negative", status="classified"))
    session.execute(update(Mention).where(Mention.external_id == "c").values(handled_by="U1", assignee="U2"))
    session.execute(update(Mention).where(Mention.external_id == "a").values(muted=True))
    session.commit()

    def ids(limit: int = 50, before: tuple[datetime, int] | None = None, **filters: Any) -> list[str]:
        return [
            m.external_id for m in history(session=session, where=MentionFilter(**filters), limit=limit, before=before)
        ]

    assert ids(muted=True) == ["d", "c", "b", "a"]
    assert ids() == ["d", "c", "b"]  # a's author is muted: left out unless asked for
    assert ids(brand="apple", muted=True) == ["d", "b", "a"]
    assert ids(since=T0 - timedelta(days=3)) == ["d", "c", "b"]
    assert ids(until=T0 - timedelta(days=1), muted=True) == ["b", "a"]
    assert ids(label="negative") == ["b"]
    assert ids(source="import", muted=True) == ["a"]
    assert ids(search="BATTERY") == ["d", "b"]
    assert ids(triage=Triage.HANDLED) == ["c"]
    assert ids(triage=Triage.UNHANDLED) == ["d", "b"]
    assert ids(triage=Triage.ASSIGNED, assignee="U2") == ["c"]
    assert ids(assignee="U3") == []
    assert ids(brand="apple", limit=2) == ["d", "b"]
    first_page = history(session=session, where=MentionFilter(muted=True), limit=2)
    last = first_page[-1]
    assert ids(limit=2, before=(last.created_at, last.id), muted=True) == ["b", "a"]


def test_search_takes_percent_and_underscore_literally(engine: Engine, session: Session) -> None:
    texts = {
        "1": "50% off today",
        "2": "500 off today",
        "3": "snake_case name",
        "4": "snakeXcase name",
        "5": "Ünïcode ÉCLAIR",
    }
    with engine.begin() as connection:
        insert_mentions(connection=connection, rows=[row(k, text=v) for k, v in texts.items()])
    assert [m.external_id for m in history(session=session, where=MentionFilter(search="50%"))] == ["1"]
    assert [m.external_id for m in history(session=session, where=MentionFilter(search="e_c"))] == ["3"]
    assert [m.external_id for m in history(session=session, where=MentionFilter(search="%"))] == ["1"]
    # PostgreSQL folds every letter's case; SQLite's lower() folds ASCII only, as docs/guide/command-line.md says.
    folded = ["5"] if engine.dialect.name == "postgresql" else []
    assert [m.external_id for m in history(session=session, where=MentionFilter(search="éclair"))] == folded
    assert [m.external_id for m in history(session=session, where=MentionFilter(search="ÉCLAIR"))] == ["5"]


def test_quarter_hour_counts_group_by_utc_quarter_and_label(engine: Engine, session: Session) -> None:
    rows = [
        row("1", created_at=T0 + timedelta(minutes=1)),
        row("2", created_at=T0 + timedelta(minutes=14, seconds=59)),
        row("3", created_at=T0 + timedelta(minutes=15)),
        row("4", created_at=T0 + timedelta(minutes=16), label="negative", status="classified"),
        row("5", created_at=T0 + timedelta(days=1), brand="google"),
    ]
    with engine.begin() as connection:
        insert_mentions(connection=connection, rows=rows)
    counts = quarter_hour_counts(session=session, brand="apple")
    base = int(T0.timestamp()) // 900
    assert [(c.quarter - base, c.label, c.count) for c in counts] in (
        [(0, None, 2), (1, None, 1), (1, "negative", 1)],
        [(0, None, 2), (1, "negative", 1), (1, None, 1)],
    )
    later = quarter_hour_counts(session=session, brand="apple", since=T0 + timedelta(minutes=15))
    assert sorted((c.quarter - base, c.label or "", c.count) for c in later) == [(1, "", 1), (1, "negative", 1)]
    assert (
        sum(c.count for c in quarter_hour_counts(session=session, brand="apple", until=T0 + timedelta(minutes=15))) == 2
    )


def test_counts_per_window_in_one_query_match_one_query_per_window(engine: Engine, session: Session) -> None:
    labels = ["negative", "neutral", "positive", None]
    rows = [
        row(str(i), created_at=T0 + timedelta(minutes=7 * i), label=labels[i % 4], status="classified")
        for i in range(400)
    ]
    rows.append(row("other-brand", brand="google", created_at=T0 + timedelta(hours=1)))
    with engine.begin() as connection:
        insert_mentions(connection=connection, rows=rows)
    hour = timedelta(hours=1)
    windows = [(T0 + day * timedelta(hours=5) + hour, T0 + day * timedelta(hours=5) + 2 * hour) for day in range(8)]
    one_by_one = [brand_label_counts(session=session, brand="apple", since=a, until=b) for a, b in windows]
    assert label_counts_per_window(session=session, brands=["apple"], windows=windows) == {"apple": one_by_one}
    assert sum(sum(c.values()) for c in one_by_one) > 50
    overlapping = [(T0, T0 + 2 * hour), (T0 + hour, T0 + 3 * hour)]
    assert label_counts_per_window(session=session, brands=["apple"], windows=overlapping) == {
        "apple": [brand_label_counts(session=session, brand="apple", since=a, until=b) for a, b in overlapping]
    }


def test_counts_per_window_for_several_brands_match_one_query_per_brand_and_window(
    engine: Engine, session: Session
) -> None:
    labels = ["negative", "neutral", "positive", None]
    rows = [
        row(f"{brand}-{i}", brand=brand, created_at=T0 + timedelta(minutes=step * i), label=labels[i % 4])
        for brand, step in (("apple", 7), ("google", 11), ("nokia", 13))
        for i in range(300)
    ]
    with engine.begin() as connection:
        insert_mentions(connection=connection, rows=rows)
    hour = timedelta(hours=1)
    windows = [(T0 + k * 3 * hour, T0 + k * 3 * hour + hour) for k in range(10)]
    windows.append(windows[2])  # asked twice, counted once, answered in both places
    brands = ["apple", "google", "samsung"]  # samsung has no mention: empty counts
    expected = {
        brand: [brand_label_counts(session=session, brand=brand, since=a, until=b) for a, b in windows]
        for brand in brands
    }
    assert label_counts_per_window(session=session, brands=brands, windows=windows) == expected
    assert sum(sum(c.values()) for c in expected["google"]) > 50 and expected["samsung"][0] == {}
    assert first_mentions(session=session, brands=brands) == {"apple": T0, "google": T0}
    # More windows than one statement may hold (SQLite: 500 terms in a compound SELECT): read in several.
    minute = timedelta(minutes=1)
    many = [(T0 + k * 5 * minute, T0 + (k + 1) * 5 * minute) for k in range(600)]
    assert label_counts_per_window(session=session, brands=["apple"], windows=many) == {
        "apple": [brand_label_counts(session=session, brand="apple", since=a, until=b) for a, b in many]
    }
