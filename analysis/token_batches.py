"""Batches of token ids: which texts go together, and padding them to the longest of their batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch


def pad_batch(batch: Sequence[Sequence[int]], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Token id lists padded to the longest of the batch (dynamic padding), with their attention mask."""
    width = max(len(ids) for ids in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    for row, ids in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention[row, : len(ids)] = 1
    return {"input_ids": input_ids.to(device), "attention_mask": attention.to(device)}


# A batch may be at most this much padding (relative to its real tokens) once it holds MIN_CHUNK texts.
MAX_PADDING = 0.25
MIN_CHUNK = 4
# A batch of long texts holds at most this many tokens, padding included (16 texts of 512 tokens): the activations,
# and the attention scores that grow with the square of the length, stay bounded whatever the batch size.
MAX_BATCH_TOKENS = 8192


def chunks(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Positions of ascending ``lengths`` in batches of at most ``batch_size``, cut early where padding would grow.

    A long run of similar lengths (a bulk job) fills whole batches, unless they are long enough to pass
    MAX_BATCH_TOKENS; a handful of unlike texts gathered from concurrent requests is cut where the longest would make
    the rest mostly padding.
    """
    chunk: list[int] = []
    tokens = 0
    for position, length in enumerate(lengths):
        padded = length * (len(chunk) + 1)
        if chunk and (
            len(chunk) >= batch_size
            or padded > MAX_BATCH_TOKENS
            or (len(chunk) >= MIN_CHUNK and padded > (1 + MAX_PADDING) * (tokens + length))
        ):
            yield chunk
            chunk, tokens = [], 0
        chunk.append(position)
        tokens += length
    if chunk:
        yield chunk
