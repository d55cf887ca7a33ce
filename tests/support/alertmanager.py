"""Alertmanager in tests: a notification as Alertmanager 0.25 sends it to a webhook receiver."""

from __future__ import annotations

from typing import Any


def notification(
    alertname: str = "ModelAccuracyBelowThreshold", *, status: str = "firing", starts: str = "2026-12-01T09:00:00Z",
    group: str = '{}/{alertname=~"^(?:ModelAccuracyBelowThreshold|LiveAccuracyDrop)$"}:{alertname="X"}',
) -> dict[str, Any]:  # fmt: skip
    """A body as Alertmanager 0.25 sends it (webhook version 4)."""
    alert = {
        "status": status,
        "labels": {"alertname": alertname, "severity": "page", "model": "sentiment-v3", "dataset": "val.jsonl"},
        "annotations": {"summary": f"{alertname}: Model sentiment-v3 is below its accuracy threshold"},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": "c0ffee",
    }
    return {
        "receiver": "brandpulse-retrain",
        "status": status,
        "alerts": [alert],
        "groupLabels": {"alertname": alertname},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": group,
        "truncatedAlerts": 0,
    }
