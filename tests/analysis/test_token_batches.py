"""Which texts share a batch: full batches of short texts, bounded ones of long texts."""

from __future__ import annotations

from analysis.token_batches import MAX_BATCH_TOKENS, chunks


def test_batches_fill_with_short_texts_and_stay_bounded_with_long_ones() -> None:
    lengths = [20] * 150 + [500] * 40
    batches = list(chunks(lengths, 64))
    assert sorted(p for batch in batches for p in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 64
        assert max(lengths[p] for p in batch) * len(batch) <= MAX_BATCH_TOKENS
    assert [len(b) for b in batches if all(lengths[p] == 20 for p in b)] == [64, 64, 22]
    # 500-token texts go 16 to a batch, not 64: the token cap, not the batch size, decides.
    assert [len(b) for b in batches if all(lengths[p] == 500 for p in b)] == [16, 16, 8]
    # A text alone in a batch is never refused, however long.
    assert list(chunks([MAX_BATCH_TOKENS * 2], 64)) == [[0]]
