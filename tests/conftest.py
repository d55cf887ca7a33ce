"""Shared fixtures: a clean environment per test and a migrated database on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from storage.db import make_engine
from storage.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
# The labelled data sets live beside the repository (../shared/datasets), never inside it.
DATASETS = Path(os.environ.get("BRANDPULSE_DATASETS", REPO.parent / "shared" / "datasets"))
SANDERS = DATASETS / "sanders_brands" / "mentions.jsonl"
POSTGRES_URL = os.environ.get("BRANDPULSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No BRANDPULSE_* variable, .env file or ./data folder of the developer's leaks into a test."""
    for name in list(os.environ):
        if name.startswith("BRANDPULSE_") and name != "BRANDPULSE_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".cache"))


@pytest.fixture
def sanders() -> Path:
    """The Sanders brand-mention corpus (5,113 tweets about apple, google, microsoft and twitter)."""
    if not SANDERS.exists():
        if os.environ.get("BRANDPULSE_REQUIRE_DATASETS"):
            pytest.fail(f"data set not found at {SANDERS}")
        pytest.skip(f"data set not found at {SANDERS}; set BRANDPULSE_DATASETS to the shared datasets folder")
    return SANDERS


def _postgres_admin() -> Engine:
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, private to the test: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'brandpulse.db'}"
        return
    yield from _postgres_schema()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An empty PostgreSQL schema private to the test, for what only PostgreSQL can do (row locks)."""
    yield from _postgres_schema()


def _postgres_schema() -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin()
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # a clear failure, not a skip: CI starts PostgreSQL
        admin.dispose()
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is needed for this test: {exc}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database of each kind."""
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """The CLI configures the root logger for its own stderr; put it back after each in-process run."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random 3-class checkpoint with NEGATIVE / NEUTRAL / POSITIVE labels."""
    from tests.support.models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")
