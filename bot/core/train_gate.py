"""``brandpulse train --gate``: a newly trained version against its task's active one, judged by the retrain gate's
rule on the validation set it was selected on, and promoted only if the gate lets it through. The decision is stored
as a retrain's is (``brandpulse models show`` lists it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from analysis.data import LabelledSet
from analysis.labels import Task
from analysis.prediction import Classifier
from bot.core.evaluation import score
from bot.core.registry import promote
from bot.core.retrain_gate import Scores, Verdict, gate_figures, judge
from storage.mlops_tables import GateDecision
from storage.registry import record_gate_decision


def gate_new_version(
    sessions: sessionmaker[Session],
    *,
    candidate: Classifier,
    candidate_version: str,
    active: Classifier,
    active_version: str,
    validation: LabelledSet,
    task: Task,
    margin: float,
    class_margin: float,
    at: datetime,
) -> Verdict:
    """Score both models on ``validation`` in the task's labels, judge, record the decision, promote if it passed."""
    scores = {
        "candidate": Scores(score(candidate, validation, task=task).result, None),
        "active": Scores(score(active, validation, task=task).result, None),
    }
    verdict = judge(scores["candidate"], scores["active"], margin=margin, class_margin=class_margin)
    figures = {
        "candidate": {"version": candidate_version, **gate_figures(scores["candidate"])},
        "active": {"version": active_version, **gate_figures(scores["active"])},
        "margin": margin,
        "class_margin": class_margin,
        "task": task.name,
        "data": {"validation": {"source": validation.name, "n": len(validation.examples),
                                "sha256": validation.sha256()}},
    }  # fmt: skip
    with sessions.begin() as session:
        record_gate_decision(
            session=session,
            decision=GateDecision(
                candidate=candidate_version,
                baseline=active_version,
                promoted=verdict.promoted,
                reason=verdict.reason,
                figures=figures,
                created_at=at,
            ),
        )
    if verdict.promoted:
        promote(sessions, candidate_version, actor="gate", reason=verdict.reason, at=at)
    return verdict
