"""A retrain: fine-tune from the active model on the base training set plus the labelled pool, judge the candidate
against the active model at the gate, promote it or not, store the decision and post it to the ops channel."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from analysis.data import LabelledSet, load_labelled
from analysis.prediction import Classifier
from analysis.versions import version_name_problem
from bot.config.settings import Settings
from bot.core.evaluation import Scored, record, score
from bot.core.labels import pool
from bot.core.registry import ModelChoice, promote, version_taken
from bot.core.retrain_gate import RetrainData, Scores, Verdict, gate_figures, judge, probe_flips, retrain_data
from bot.errors import USER_ERRORS, UsageError
from bot.jobs.deps import Idle, JobContext
from bot.slack.views.models import gate_message, retrain_failed_message, retrain_running_message
from storage.mlops_tables import GateDecision
from storage.outbox import enqueue
from storage.registry import record_gate_decision, register_model
from storage.retrains import abandon_stale, claim, finish

if TYPE_CHECKING:
    from analysis.train import TrainResult

log = logging.getLogger(__name__)

_VERSIONED = re.compile(r"^(?P<name>.+)-v\d+$")


# A retrain is a short fine-tune from the active model, at least BRANDPULSE_RETRAIN_MIN_STEPS optimisation steps
# (a small pool gets more epochs), and its candidate is the last step's weights: neither earlier checkpoints nor
# their average. Picked on the generic validation set, an earlier checkpoint is the one that learnt least from the
# brand's labels (on the Sanders learning curve, at least 80 steps over 100 labels: the first epoch's weights were
# kept, 0.665 against 0.716 for the last ones; docs/development/benchmarks.md).
# The gate still judges the candidate against the active model.
RETRAIN_CHECKPOINTS: dict[str, Any] = {"evals_per_epoch": 0, "average": False}


@dataclass(frozen=True)
class RetrainOptions:
    """What a retrain may be told; None takes the setting (BRANDPULSE_RETRAIN_*) or the active model."""

    base: str | None = None
    base_data: str | None = None
    validation_data: str | None = None
    holdout: float | None = None
    margin: float | None = None
    class_margin: float | None = None
    probes: str | None = None
    epochs: int | None = None
    min_steps: int | None = None
    max_steps: int | None = None
    # The other TrainConfig fields (lr, batch_size, max_length, seed, class_weights, freeze_embeddings).
    training: dict[str, Any] = field(default_factory=dict)
    requested_by: str = "cli"


@dataclass(frozen=True)
class RetrainPlan:
    base: str
    active: ModelChoice
    data: RetrainData
    margin: float
    class_margin: float
    probes: LabelledSet | None
    probe_tolerance: float
    holdout: float
    name: str  # the candidate's version prefix
    training: dict[str, Any]
    requested_by: str

    def lines(self) -> list[str]:
        d = self.data
        return [
            f"base model: {self.base}",
            f"compared with: {self.active.version or self.active.source} ({self.active.how})",
            f"training set: {d.base_n:,} base texts + {d.pool_train_n:,} pool texts = {len(d.train.examples):,}",
            "brands' held-back labels: "
            + (", ".join(f"{b} {len(s.examples):,}" for b, s in sorted(d.brands.items())) or "none"),
            f"labelled pool: {d.pool_n:,} texts, {len(d.holdout.examples):,} held back ({self.holdout:.0%}), "
            f"{d.overlapping:,} left out (also in validation)",
            f"validation set: {d.validation.name} ({len(d.validation.examples):,} texts)",
            f"gate: validation macro-recall at most {self.margin:.4f} under the active model's, and not worse on the "
            f"held-back pool; no class's recall on either more than {self.class_margin:.4f} under the active model's",
            (
                f"probes: {self.probes.name} ({len(self.probes.examples):,} texts): at most "
                f"{self.probe_tolerance:.1%} of those the active model gets right may be got wrong"
                if self.probes is not None
                else "probes: none (BRANDPULSE_GATE_PROBES or --probes)"
            ),
            "training: " + ", ".join(f"{k}={v}" for k, v in self.training.items() if v is not None),
            f"the candidate: the next {self.name}-vN under the models folder",
        ]


@dataclass(frozen=True)
class GateOutcome:
    plan: RetrainPlan
    candidate: str
    verdict: Verdict
    scores: dict[str, Scores]  # "candidate" and "active"
    figures: dict[str, Any]
    queued: bool


def plan_retrain(
    settings: Settings, sessions: sessionmaker[Session], options: RetrainOptions, active: ModelChoice
) -> RetrainPlan:
    """What a retrain would do, with its data read: nothing is trained or stored."""
    validation_source = options.validation_data or settings.retrain_validation_data or settings.evaluation_data
    if validation_source is None:
        raise UsageError(
            "a retrain needs a fixed validation set: set BRANDPULSE_RETRAIN_VALIDATION_DATA (or "
            "BRANDPULSE_EVALUATION_DATA), or pass --validation"
        )
    base_source = options.base_data or settings.retrain_base_data
    base = load_labelled(str(base_source), split="train") if base_source is not None else None
    validation = load_labelled(str(validation_source), split="validation")
    holdout = options.holdout if options.holdout is not None else settings.retrain_holdout
    probes_source = options.probes or settings.gate_probes
    probes = load_labelled(str(probes_source), split="probes") if probes_source is not None else None
    data = retrain_data(
        base,
        pool(sessions),
        validation,
        holdout_fraction=holdout,
        probes=probes,
        base_ratio=settings.retrain_base_ratio,
        base_min=settings.retrain_base_min,
    )
    if not data.train.examples:
        raise UsageError(
            "nothing to train on: the labelled pool has no training texts and no base training set is given "
            "(BRANDPULSE_RETRAIN_BASE_DATA or --train)"
        )
    versioned = _VERSIONED.match(active.version or "")
    # The candidate takes the active version's prefix when that makes version names (a version registered before
    # names were checked may not), else the default one.
    prefix = versioned.group("name") if versioned else "sentiment"
    if version_name_problem(f"{prefix}-v1") is not None:
        prefix = "sentiment"
    return RetrainPlan(
        base=options.base or active.source,
        active=active,
        data=data,
        margin=options.margin if options.margin is not None else settings.retrain_margin,
        class_margin=options.class_margin if options.class_margin is not None else settings.retrain_class_margin,
        probes=probes,
        probe_tolerance=settings.gate_probe_tolerance,
        holdout=holdout,
        name=prefix,
        training={
            "epochs": options.epochs or settings.retrain_epochs,
            "min_steps": options.min_steps or settings.retrain_min_steps,
            "max_steps": options.max_steps or settings.retrain_max_steps,
            **RETRAIN_CHECKPOINTS,
            **options.training,
        },
        requested_by=options.requested_by,
    )


def _scores(
    model: Classifier, data: RetrainData, progress: Callable[[str, int, int], None] | None
) -> tuple[Scored, Scored | None, dict[str, Scored]]:
    def step(what: str, total: int) -> Callable[[int], None] | None:
        if progress is None:
            return None
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            progress(f"{model.name} on {what}", done[0], total)

        return advance

    validation = score(model, data.validation, step("validation", len(data.validation.examples)))
    holdout = (
        score(model, data.holdout, step("held-back pool", len(data.holdout.examples)))
        if data.holdout.examples
        else None
    )
    brands = {brand: score(model, held) for brand, held in data.brands.items()}
    return validation, holdout, brands


def run_retrain(
    settings: Settings,
    sessions: sessionmaker[Session],
    plan: RetrainPlan,
    *,
    train: Callable[[Any, LabelledSet, LabelledSet, str], TrainResult],
    load: Callable[[str], Classifier],
    at: Callable[[], datetime],
    progress: Callable[[str, int, int], None] | None = None,
) -> GateOutcome:
    """Train the candidate, register it, judge it against the active model, store and post the decision, and
    promote the candidate when the gate lets it through."""
    from analysis.train import TrainConfig

    config = TrainConfig(base=plan.base, threads=settings.torch_threads, **plan.training)
    log.info("retrain: fine-tuning %s on %d texts", plan.base, len(plan.data.train.examples))
    result = train(config, plan.data.train, plan.data.validation, plan.name)
    with sessions.begin() as session:
        register_model(
            session=session,
            version=result.version,
            path=str(result.path.resolve()),
            base_model=plan.base,
            created_at=at(),
            metrics=result.validation,
            training_config={**result.metadata["config"], "data": plan.data.describe()},
        )
    candidate_model = load(str(result.path))
    active_model = load(plan.active.source)
    candidate = _scores(candidate_model, plan.data, progress)
    active = _scores(active_model, plan.data, progress)
    scores = {
        role: Scores(
            scored[0].result,
            scored[1].result if scored[1] else None,
            {brand: each.result for brand, each in scored[2].items()},
        )
        for role, scored in (("candidate", candidate), ("active", active))
    }
    flips = None
    if plan.probes is not None:
        flips = probe_flips(
            plan.probes.labels,
            score(active_model, plan.probes).predicted,
            score(candidate_model, plan.probes).predicted,
        )
    verdict = judge(
        scores["candidate"],
        scores["active"],
        margin=plan.margin,
        class_margin=plan.class_margin,
        probes=flips,
        probe_tolerance=plan.probe_tolerance,
    )
    figures = {
        "candidate": {"version": result.version, **gate_figures(scores["candidate"])},
        "active": {"version": plan.active.version or active_model.name, "source": plan.active.source,
                   **gate_figures(scores["active"])},
        "margin": plan.margin,
        "class_margin": plan.class_margin,
        "probes": None if flips is None or plan.probes is None else {
            "source": plan.probes.name, "sha256": plan.probes.sha256(), "tolerance": plan.probe_tolerance,
            **flips.as_dict(),
        },
        "data": plan.data.describe(),
        "base": plan.base,
        "selected": result.selected,
        "training_seconds": round(result.seconds, 1),
        "requested_by": plan.requested_by,
    }  # fmt: skip
    baseline = plan.active.version or active_model.name
    with sessions.begin() as session:
        record_gate_decision(
            session=session,
            decision=GateDecision(
                candidate=result.version,
                baseline=baseline,
                promoted=verdict.promoted,
                reason=verdict.reason,
                figures=figures,
                created_at=at(),
            ),
        )
    if verdict.promoted:
        promote(sessions, result.version, actor="gate", reason=verdict.reason, at=at())
        # The reference set's latest run is what the accuracy alert reads: it is the new active model's now.
        record(sessions, model=result.version, dataset=plan.data.validation.name, scored=candidate[0])
    log.info("retrain gate: %s %s (%s)", result.version, "promoted" if verdict.promoted else "refused", verdict.reason)
    queued = False
    if settings.ops_channel is not None:
        with sessions.begin() as session:
            queued = (
                enqueue(
                    session=session,
                    kind="gate",
                    channel=settings.ops_channel,
                    payload=gate_message(result.version, baseline, verdict.promoted, verdict.reason, figures),
                    at=at(),
                    dedup_key=f"gate:{result.version}",
                )
                is not None
            )
    return GateOutcome(plan, result.version, verdict, scores, figures, queued)


Train = Callable[[Any, LabelledSet, LabelledSet, str], "TrainResult"]


def _post(settings: Settings, sessions: sessionmaker[Session], key: str, payload: dict[str, Any]) -> None:
    if settings.ops_channel is None:
        return
    with sessions.begin() as session:
        enqueue(
            session=session,
            kind="retrain",
            channel=settings.ops_channel,
            payload=payload,
            at=datetime.now(UTC),
            dedup_key=key,
        )


def execute(
    settings: Settings,
    sessions: sessionmaker[Session],
    request_id: int,
    options: RetrainOptions,
    *,
    reason: str,
    choice: ModelChoice,
    load: Callable[[str], Classifier],
    train: Train,
    queued: Callable[[], None] = lambda: None,
    progress: Callable[[str, int, int], None] | None = None,
) -> GateOutcome:
    """Run the retrain of a request this process holds (status running), and record how it ended. Errors are
    recorded, posted and raised again."""
    try:
        plan = plan_retrain(settings, sessions, options, choice)
        _post(
            settings, sessions, f"retrain:{request_id}:running", retrain_running_message(request_id, reason, plan.base)
        )
        queued()
        outcome = run_retrain(
            settings, sessions, plan, train=train, load=load, at=lambda: datetime.now(UTC), progress=progress
        )
    except BaseException as exc:
        detail = str(exc) if isinstance(exc, USER_ERRORS) else f"{type(exc).__name__}: {exc}"
        with sessions.begin() as session:
            finish(session=session, request_id=request_id, succeeded=False, at=datetime.now(UTC), detail=detail)
        _post(settings, sessions, f"retrain:{request_id}:failed", retrain_failed_message(request_id, detail[:500]))
        queued()
        raise
    verdict = outcome.verdict
    with sessions.begin() as session:
        finish(
            session=session,
            request_id=request_id,
            succeeded=True,
            at=datetime.now(UTC),
            detail=f"{'promoted' if verdict.promoted else 'refused'}: {verdict.reason}",
            candidate=outcome.candidate,
        )
    queued()
    return outcome


def trainer(settings: Settings, sessions: sessionmaker[Session]) -> Train:
    """Fine-tuning without a progress bar, into BRANDPULSE_MODELS_DIR, under a name no registered version has: a
    retrain run by a job."""

    def run(config: Any, train_set: LabelledSet, validation_set: LabelledSet, name: str) -> TrainResult:
        from analysis.train import train

        return train(
            config,
            train_set,
            validation_set,
            output_root=settings.models_dir,
            name=name,
            taken=lambda version: version_taken(sessions, version),
        )

    return run


def run_queued(ctx: JobContext, now: datetime) -> str:
    """The retrain job: run the oldest queued request, unless one runs somewhere already."""
    settings = ctx.settings
    with ctx.sessions.begin() as session:
        stale = abandon_stale(
            session=session, started_before=now - timedelta(hours=settings.retrain_timeout_hours), at=now
        )
    if stale:
        log.warning(
            "retrain: %d running request(s) older than %g h taken for dead", stale, settings.retrain_timeout_hours
        )
    request = claim(ctx.sessions, owner=ctx.owner, at=now)
    if request is None:
        return Idle("no retrain to start")
    assert ctx.model_choice is not None and ctx.load_model is not None
    log.info("retrain #%d (%s) starting: %s", request.id, request.trigger, request.reason)
    try:
        outcome = execute(
            settings,
            ctx.sessions,
            request.id,
            RetrainOptions(requested_by=request.requested_by),
            reason=request.reason,
            choice=ctx.model_choice(),
            load=ctx.load_model,
            train=trainer(settings, ctx.sessions),
            queued=ctx.queued,
        )
    except USER_ERRORS as exc:
        return f"retrain #{request.id} failed: {exc}"
    verdict = outcome.verdict
    return (
        f"retrain #{request.id}: {outcome.candidate} {'promoted' if verdict.promoted else 'refused'} ({verdict.reason})"
    )
