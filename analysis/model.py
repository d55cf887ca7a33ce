"""The sentiment model's predict pipeline, in the shape of transformers' pipelines: ``preprocess`` (clean and
tokenize), ``forward`` (one padded batch through the network), ``postprocess`` (probabilities into predictions).

Loading a checkpoint is ``analysis.loading``; choosing its precision and compiling it, ``analysis.fast_path``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from analysis.errors import InvalidInput
from analysis.labels import SENTIMENT, Task
from analysis.options import DEFAULT_BATCH_SIZE
from analysis.prediction import Prediction
from analysis.preprocess import prepare
from analysis.token_batches import chunks, pad_batch


@dataclass
class LoadReport:
    """How the model was loaded, for logs and `brandpulse classify --verbose`."""

    source: str
    device: str = "cpu"
    precision: str = "float32"
    probe_agreement: float | None = None
    fallback_reason: str | None = None
    compiled: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """Where and how the model runs, for log lines: "cpu, bfloat16, compiled"."""
        return f"{self.device}, {self.precision}{', compiled' if self.compiled else ''}"


class SentimentModel:
    """A loaded classifier of a task's labels (3-class sentiment unless ``task`` says emotion): the predict pipeline.
    ``analysis.loading.load_model`` builds one."""

    def __init__(
        self,
        *,
        model: torch.nn.Module,
        tokenizer: Any,
        labels: Sequence[str],
        name: str,
        device: torch.device,
        max_length: int,
        batch_size: int = DEFAULT_BATCH_SIZE,
        report: LoadReport | None = None,
        task: Task = SENTIMENT,
    ) -> None:
        self.model = model
        self.task = task
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.name = name
        self.device = device
        self.max_length = max_length
        self.batch_size = batch_size
        self.report = report or LoadReport(source=name)
        # Generous: a text longer than this many characters has more tokens than the model reads anyway.
        self.max_chars = max_length * 16

    def preprocess(self, texts: Sequence[str]) -> tuple[list[list[int] | None], list[InvalidInput | None]]:
        """Token ids for each text (None where the text is invalid), and the error for each invalid one."""
        prepared: list[str] = []
        positions: list[int] = []
        errors: list[InvalidInput | None] = [None] * len(texts)
        for i, text in enumerate(texts):
            try:
                prepared.append(prepare(text, max_chars=self.max_chars))
                positions.append(i)
            except InvalidInput as exc:
                errors[i] = exc
        ids: list[list[int] | None] = [None] * len(texts)
        if prepared:
            encoded = self.tokenizer(prepared, truncation=True, max_length=self.max_length)["input_ids"]
            for position, token_ids in zip(positions, encoded, strict=True):
                ids[position] = list(token_ids)
        return ids, errors

    def _pad(self, batch: Sequence[list[int]]) -> dict[str, torch.Tensor]:
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        return pad_batch(batch, pad, self.device)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Class probabilities (float32) for one padded batch."""
        with torch.inference_mode():
            logits = self.model(**batch).logits
        return torch.softmax(logits.float(), dim=-1).cpu()

    def postprocess(self, probabilities: torch.Tensor) -> list[Prediction]:
        predictions = []
        for row in probabilities.tolist():
            scores = dict.fromkeys(self.task.labels, 0.0)
            for index, probability in enumerate(row):
                scores[self.labels[index]] = float(probability)
            best = max(self.task.labels, key=lambda lbl: scores[lbl])
            predictions.append(Prediction(label=best, scores=scores, model=self.name))
        return predictions

    def classify(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> list[Prediction | InvalidInput]:
        """One result per text: a Prediction, or the InvalidInput error that text raised. Never raises for a text."""
        ids, errors = self.preprocess(texts)
        results: list[Prediction | InvalidInput | None] = list(errors)
        # Sorting by length makes each batch's texts alike, so little of every batch is padding.
        order = sorted((i for i, token_ids in enumerate(ids) if token_ids is not None), key=lambda i: len(ids[i] or ()))
        for positions in chunks([len(ids[i] or ()) for i in order], self.batch_size):
            chunk = [order[k] for k in positions]
            batch = self._pad([ids[i] or [] for i in chunk])
            for i, prediction in zip(chunk, self.postprocess(self.forward(batch)), strict=True):
                results[i] = prediction
            if progress is not None:
                progress(len(chunk))
        done = [r for r in results if r is not None]
        assert len(done) == len(texts)
        return done

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Predictions for texts that must all be valid; the first invalid one raises InvalidInput."""
        results = self.classify(texts)
        for index, result in enumerate(results):
            if isinstance(result, InvalidInput):
                raise InvalidInput(f"text {index + 1}: {result}") if len(texts) > 1 else result
        return [r for r in results if isinstance(r, Prediction)]

    def predict_one(self, text: str) -> Prediction:
        return self.predict([text])[0]
