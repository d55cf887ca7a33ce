"""Building blocks for the scheduled-pipeline tests: a job context on a test database, synthetic mention streams."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from analysis.errors import ModelUnavailable
from analysis.prediction import Classifier
from bot.config.brands import load_brands
from bot.config.settings import load_settings
from bot.jobs.deps import JobContext
from storage.db import make_engine, make_sessionmaker
from storage.mentions import insert_mentions
from storage.migrate import ensure_schema
from storage.mlops_tables import EvaluationRun

BRANDS_YAML = """
brands:
  - name: acme
    keywords: [acmephone]
    digest: {channel: "#acme", schedule: "0 9 * * *"}
    alerts: {channel: "#acme-alerts", min_volume: 20, volume_factor: 3.0, negative_share: 0.5, cooldown_minutes: 60}
  - name: globex
    keywords: [globex]
    digest: {channel: "C0GLOBEX01", schedule: "0 9 * * 1"}
"""

_ids = itertools.count(1)


def write_brands(tmp_path: Path, text: str = BRANDS_YAML) -> Path:
    path = tmp_path / "brands.yml"
    path.write_text(text, encoding="utf-8")
    return path


def no_model() -> Classifier:
    raise ModelUnavailable("no model in this test")


_engines: list[Engine] = []


def dispose_engines() -> None:
    while _engines:
        _engines.pop().dispose()


def job_context(
    tmp_path: Path, db_url: str, *, model: Classifier | None = None, brands: str = BRANDS_YAML, **overrides: Any
) -> JobContext:
    """A job context on ``db_url``; its engine is disposed after the test (tests/bot/conftest.py)."""
    settings = load_settings(
        env_file=None, database_url=db_url, brands_file=write_brands(tmp_path, brands), **overrides
    )
    engine = make_engine(db_url)
    _engines.append(engine)
    ensure_schema(engine)
    return JobContext(
        settings=settings,
        sessions=make_sessionmaker(engine),
        brands=load_brands(settings.brands_file),
        model=(lambda: model) if model is not None else no_model,
    )


@dataclass(frozen=True)
class M:
    """A mention for a test: when, what, and (optionally) its label, as if classified."""

    at: datetime
    text: str
    label: str | None = None
    brand: str = "acme"
    url: str | None = None
    likes: int | None = None
    reposts: int | None = None
    language: str | None = None
    author: str | None = None
    author_followers: int | None = None
    emotion: str | None = None  # as if the emotion model had read it


def add(sessions: sessionmaker[Session], mentions: Iterable[M]) -> int:
    with sessions() as session, session.begin():
        return insert_mentions(connection=session.connection(), rows=rows_of(mentions))


def rows_of(mentions: Iterable[M]) -> list[dict[str, Any]]:
    """Mention rows as the importer makes them, already classified where a label is given."""
    rows = []
    for m in mentions:
        scores = {label: (0.8 if label == m.label else 0.1) for label in ("negative", "neutral", "positive")}
        rows.append(
            {
                "source": "test",
                "external_id": f"t{next(_ids)}",
                "brand": m.brand,
                "author": m.author,
                "url": m.url,
                "text": m.text,
                "language": m.language,
                "created_at": m.at,
                "ingested_at": m.at,
                "status": "classified" if m.label else "pending",
                "label": m.label,
                "score_negative": scores["negative"] if m.label else None,
                "score_neutral": scores["neutral"] if m.label else None,
                "score_positive": scores["positive"] if m.label else None,
                "model_version": "test" if m.label else None,
                "classified_at": m.at if m.label else None,
                "likes": m.likes,
                "reposts": m.reposts,
                "author_followers": m.author_followers,
                "emotion": m.emotion,
                "emotion_score": 0.7 if m.emotion else None,
                "emotion_model": "test-emotion" if m.emotion else None,
            }
        )
    return rows


EVERYDAY = ["battery", "screen", "price", "camera", "update", "store", "delivery", "colour", "size", "app"]
OPINION = {
    "negative": ["bad", "slow", "broken"],
    "neutral": ["got", "saw", "new"],
    "positive": ["great", "love", "nice"],
}


def stream(
    *,
    start: datetime,
    hours: int,
    rate: float,
    negative: float = 0.2,
    seed: int = 0,
    brand: str = "acme",
) -> list[M]:
    """Poisson(rate) mentions per hour, spread over each hour, labelled negative with probability ``negative``."""
    rng = np.random.default_rng(seed)
    out = []
    for hour in range(hours):
        for _ in range(int(rng.poisson(rate))):
            at = start + timedelta(hours=hour, seconds=float(rng.uniform(0, 3600)))
            draw = rng.random()
            label = "negative" if draw < negative else ("neutral" if draw < (1 + negative) / 2 else "positive")
            words = [str(rng.choice(EVERYDAY)), str(rng.choice(EVERYDAY)), str(rng.choice(OPINION[label]))]
            out.append(M(at, f"acmephone {' '.join(words)}", label, brand))
    return out


T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday


def evaluation(
    *,
    model: str = "demo-v1",
    dataset: str = "validation.jsonl",
    accuracy: float,
    macro_f1: float | None = None,
    macro_recall: float | None = None,
    at: datetime | None = None,
) -> EvaluationRun:
    """An evaluation run as `brandpulse evaluate` stores it (per-class figures left empty)."""
    return EvaluationRun(
        model_version=model,
        dataset=dataset,
        n=2000,
        accuracy=accuracy,
        macro_f1=accuracy if macro_f1 is None else macro_f1,
        macro_recall=accuracy if macro_recall is None else macro_recall,
        per_class={},
        confusion_matrix=[],
        seconds=1.0,
        created_at=at or datetime.now(UTC),
    )
