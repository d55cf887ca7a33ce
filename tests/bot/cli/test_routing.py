"""Per-language routing through the CLI: classify, classify-pending and evaluate send each text to its language's
model (two tiny models built in the session), and each classification records the model that made it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import make_engine, make_sessionmaker
from storage.models import Mention
from tests.support.cli import run_cli
from tests.support.models import build_tiny_model

ITALIAN = "Questo progetto mi è piaciuto tantissimo!"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("routed")
    # Different biases: the English model says positive, the multilingual one negative, whatever the text.
    english = build_tiny_model(root / "english-tiny", bias=[-5.0, 0.0, 5.0])
    multilingual = build_tiny_model(root / "multi-tiny", bias=[5.0, 0.0, -5.0], seed=1)
    return english, multilingual


def test_each_mention_is_classified_by_its_languages_model(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, models: tuple[Path, Path]
) -> None:
    english, multilingual = models
    rows = [
        {"id": "en", "text": "My new iPhone is great, the battery lasts all day"},
        {"id": "it", "text": f"iPhone: {ITALIAN}"},
        {"id": "de", "text": "Mein neues iPhone ist großartig, der Akku hält den ganzen Tag"},
        {"id": "given", "text": "iPhone is great", "language": "pt"},  # the source's language routes it
    ]
    path = tmp_path / "mentions.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert run_cli(monkeypatch, db_url, "ingest", str(path), "--brand", "apple").exit_code == 0
    env = {"BRANDPULSE_MODEL": str(english), "BRANDPULSE_MODEL_ROUTES": f"en=active,*={multilingual}"}

    done = run_cli(monkeypatch, db_url, "classify-pending", **env)
    assert done.exit_code == 0, done.output
    assert "4 classified, 0 failed, model en=active,*=" in done.stdout
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        made = {m.external_id: (m.model_version, m.label) for m in session.execute(select(Mention)).scalars()}
    engine.dispose()
    assert made == {
        "en": ("english-tiny", "positive"),
        "it": ("multi-tiny", "negative"),
        "de": ("multi-tiny", "negative"),
        "given": ("multi-tiny", "negative"),
    }

    answer = run_cli(monkeypatch, db_url, "classify", "--json", ITALIAN, "I love it, what a great phone", **env)
    assert [json.loads(line)["model"] for line in answer.stdout.splitlines()] == ["multi-tiny", "english-tiny"]
    table = run_cli(monkeypatch, db_url, "classify", ITALIAN, **env).stdout.splitlines()
    assert table[0].split() == ["label", "confidence", "negative", "neutral", "positive", "model", "text"]
    assert table[2].split()[0] == "negative" and table[2].split()[5] == "multi-tiny"
    # --model names one model: no routes.
    pinned = run_cli(monkeypatch, db_url, "classify", "--json", "--model", str(english), ITALIAN, **env)
    assert json.loads(pinned.stdout)["model"] == "english-tiny"


def test_evaluate_reports_per_language_and_routes_to_a_registered_version(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, models: tuple[Path, Path]
) -> None:
    english, multilingual = models
    assert run_cli(monkeypatch, db_url, "models", "register", str(multilingual)).exit_code == 0
    data = tmp_path / "labelled.jsonl"
    examples = [
        {"text": "What a great phone, I love it", "label": "positive", "language": "english"},
        {"text": "The battery died again, awful", "label": "negative", "language": "english"},
        {"text": ITALIAN, "label": "positive", "language": "italian"},
        {"text": "Che schifo, non funziona niente", "label": "negative", "language": "italian"},
        {"text": "Das Update ist furchtbar schlecht", "label": "negative"},  # no language given: detected
    ]
    data.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples), encoding="utf-8")
    result = run_cli(
        monkeypatch,
        db_url,
        "evaluate",
        "--data",
        str(data),
        "--json",
        BRANDPULSE_MODEL=str(english),
        BRANDPULSE_MODEL_ROUTES="en=active,*=multi-tiny",  # the registered version's name
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["by_model"] == {"english-tiny": 2, "multi-tiny": 3}
    by_language = figures["by_language"]
    assert {language: f["n"] for language, f in by_language.items()} == {"de": 1, "en": 2, "it": 2}
    # English: the English model says positive to both (1 of 2 right); Italian: the other one, negative (1 of 2).
    assert by_language["en"]["accuracy"] == 0.5 and by_language["it"]["accuracy"] == 0.5
    assert by_language["de"]["accuracy"] == 1.0
    table = run_cli(
        monkeypatch, db_url, "evaluate", "--data", str(data), BRANDPULSE_MODEL=str(english),
        BRANDPULSE_MODEL_ROUTES="en=active,*=multi-tiny",
    )  # fmt: skip
    assert "per language" in table.stdout and "predictions per model: english-tiny 2, multi-tiny 3" in table.stdout
    unknown = run_cli(
        monkeypatch, db_url, "classify", ITALIAN, BRANDPULSE_MODEL=str(english), BRANDPULSE_MODEL_ROUTES="*=nope-v9"
    )
    assert unknown.exit_code != 0 and "neither a directory, a hub id nor a registered version" in unknown.stderr


def test_routes_by_default_only_when_brandpulse_runs_the_hub_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis.routing import ACTIVE, Routes
    from bot.core.registry import HUB_DEFAULT, HUB_MULTILINGUAL, ModelChoice, choose_routes

    default = choose_routes(None, ModelChoice(HUB_DEFAULT, "default"))
    assert default == Routes({"en": ACTIVE}, HUB_MULTILINGUAL)
    assert HUB_MULTILINGUAL == "cardiffnlp/twitter-xlm-roberta-base-sentiment"
    assert choose_routes(None, ModelChoice("/models/m-v2", "active version", "m-v2")) is None  # one model for all
    assert choose_routes("*=x", ModelChoice("/models/m-v2", "active version")) == Routes({}, "x")
    bad = run_cli(monkeypatch, "sqlite://", "config", BRANDPULSE_MODEL_ROUTES="english=models/x")
    assert bad.exit_code == 2 and "BRANDPULSE_MODEL_ROUTES" in bad.stderr and "not an ISO 639-1" in bad.stderr


def test_evaluates_table_shows_the_ten_largest_languages_and_counts_the_rest(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, models: tuple[Path, Path]
) -> None:
    english, _ = models
    codes = ["en", "es", "de", "fr", "it", "pt", "nl", "sv", "id", "no", "pl", "tr"]
    # en 12 texts, es 11, ... tr 1: the two smallest (pl, tr) fall outside the table.
    rows = [
        {"text": f"text {i} {j}", "label": "neutral", "language": code}
        for i, code in enumerate(codes)
        for j in range(len(codes) - i)
    ]
    data = tmp_path / "many.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = run_cli(monkeypatch, db_url, "evaluate", "--data", str(data), "--model", str(english))
    assert result.exit_code == 0, result.output
    table = result.stdout.split("per language")[1].splitlines()[3:]
    listed = [line.split()[0] for line in table if line and not line.startswith("and ")]
    assert listed == sorted(codes[:10])
    assert "and 2 more languages with 3 texts (--json lists them)" in result.stdout
    figures = json.loads(
        run_cli(monkeypatch, db_url, "evaluate", "--data", str(data), "--model", str(english), "--json").stdout
    )
    assert sorted(figures["by_language"]) == sorted(codes)
