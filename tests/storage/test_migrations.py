from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from storage.db import make_engine
from storage.migrate import current_revision, downgrade, ensure_schema, head_revision, upgrade
from storage.models import Base


def test_migrations_build_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_indexes_serve_history_and_stats(engine: Engine) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("mentions")}
    assert indexes["ix_mentions_brand_created_at_label"] == ["brand", "created_at", "label"]
    assert indexes["ix_mentions_created_at"] == ["created_at"]
    uniques = inspect(engine).get_unique_constraints("mentions")
    assert [u["column_names"] for u in uniques] == [["source", "external_id", "brand"]]


def test_mentions_stored_before_0008_stay_and_a_second_brand_of_one_of_them_can_be_added(db_url: str) -> None:
    engine = make_engine(db_url)
    row = "(:source, :id, :brand, 'apple and google', '2026-11-30 10:00:00', '2026-11-30 10:00:00', 'pending')"
    insert = text(
        "INSERT INTO mentions (source, external_id, brand, text, created_at, ingested_at, status) VALUES " + row
    )
    try:
        upgrade(engine, "0007")
        with engine.begin() as connection:
            connection.execute(insert, {"source": "import", "id": "1", "brand": "apple"})
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(insert, {"source": "import", "id": "1", "brand": "google"})
            rows = connection.execute(text("SELECT brand FROM mentions ORDER BY brand")).scalars().all()
        assert rows == ["apple", "google"]
        downgrade(engine, "0007")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT brand FROM mentions")).scalars().all() == ["apple"]
    finally:
        engine.dispose()


def test_ensure_schema_upgrades_once_and_downgrade_empties(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        assert ensure_schema(engine) is True
        assert current_revision(engine) == head_revision()
        assert ensure_schema(engine) is False
        downgrade(engine, "base")
        assert "mentions" not in inspect(engine).get_table_names()
        upgrade(engine)
        assert "mentions" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/nested/folder/db.sqlite")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()
