"""End to end on the real binaries: exporter -> Prometheus (the project's rules) -> Alertmanager (the project's config)
-> a fake Slack incoming webhook on loopback, for ModelAccuracyBelowThreshold firing and then resolved."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitoring.exporter import MetricsServer, build_registry
from storage.registry import record_evaluation
from tests.support.net import free_port
from tests.support.pipeline import evaluation, job_context

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"
PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


class Webhook:
    """A Slack incoming webhook on loopback: records each JSON body posted to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Condition()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                # One webhook per channel: the path says which one was used.
                body["_webhook_path"] = self.path
                with hook.lock:
                    hook.bodies.append(body)
                    hook.lock.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XXXX"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, predicate: Any, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for body in self.bodies:
                    if predicate(body):
                        return body
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no such message within {timeout} s; received: {self.bodies}")
                self.lock.wait(left)


@contextmanager
def _process(command: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered:\n{log.read_text()}")


@pytest.mark.skipif(
    PROMETHEUS is None or ALERTMANAGER is None,
    reason="prometheus / prometheus-alertmanager are not installed (apt-get install prometheus "
    "prometheus-alertmanager; .ci/run installs them)",
)
def test_accuracy_below_threshold_reaches_slack_and_so_does_its_resolution(tmp_path: Path) -> None:
    assert PROMETHEUS is not None and ALERTMANAGER is not None
    ctx = job_context(tmp_path, f"sqlite:///{tmp_path / 'e2e.db'}")
    with ctx.sessions.begin() as session:
        record_evaluation(
            session=session, run=evaluation(dataset="tweet_eval_sentiment/validation.jsonl", accuracy=0.58)
        )
    registry, _ = build_registry(ctx.sessions, brands=ctx.brands.names, accuracy_threshold=0.65)
    exporter = MetricsServer(registry, host="127.0.0.1", port=0)
    exporter.start()
    webhook = Webhook()
    webhook.thread.start()
    prometheus_port, alertmanager_port = free_port(), free_port()

    # The project's rules, with every `for:` cut to 2 s so that the test takes seconds, not minutes.
    rules = yaml.safe_load((MONITORING / "prometheus" / "rules" / "brandpulse.yml").read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = "2s"
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    config = yaml.safe_load((MONITORING / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(tmp_path / "rules.yml")]
    config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [f"127.0.0.1:{alertmanager_port}"]
    config["scrape_configs"][0]["static_configs"][0]["targets"] = [f"127.0.0.1:{exporter.port}"]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")

    # The project's Alertmanager configuration: its routes, receivers and templates; the webhook URL from a file as
    # in production, and short grouping waits.
    alerting = yaml.safe_load((MONITORING / "alertmanager" / "alertmanager.yml").read_text(encoding="utf-8"))
    alerting["templates"] = [str(MONITORING / "alertmanager" / "templates" / "*.tmpl")]
    for route in [alerting["route"], *alerting["route"]["routes"]]:
        route.update({"group_wait": "1s", "group_interval": "2s"})
    for receiver in alerting["receivers"]:
        for slack in receiver.get("slack_configs", []):
            secret = tmp_path / f"webhook-url-{receiver['name']}"
            secret.write_text(f"{webhook.url}/{receiver['name']}", encoding="utf-8")
            slack["api_url_file"] = str(secret)
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(alerting), encoding="utf-8")

    alertmanager_command = [
        ALERTMANAGER,
        f"--config.file={tmp_path / 'alertmanager.yml'}",
        f"--storage.path={tmp_path / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{alertmanager_port}",
        "--cluster.listen-address=",
    ]
    prometheus_command = [
        PROMETHEUS,
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'prom-data'}",
        f"--web.listen-address=127.0.0.1:{prometheus_port}",
    ]
    try:
        with (
            _process(alertmanager_command, tmp_path / "alertmanager.log") as alertmanager,
            _process(prometheus_command, tmp_path / "prometheus.log") as prometheus,
        ):
            _wait_ready(f"http://127.0.0.1:{alertmanager_port}/-/ready", alertmanager, tmp_path / "alertmanager.log")
            _wait_ready(f"http://127.0.0.1:{prometheus_port}/-/ready", prometheus, tmp_path / "prometheus.log")

            def about_accuracy(status: str) -> Any:
                return lambda body: any(
                    f"[{status}" in a.get("title", "") and "ModelAccuracyBelowThreshold" in a.get("title", "")
                    for a in body.get("attachments", [])
                )

            firing = webhook.wait_for(about_accuracy("FIRING"), timeout=90)
            with ctx.sessions.begin() as session:
                record_evaluation(
                    session=session, run=evaluation(dataset="tweet_eval_sentiment/validation.jsonl", accuracy=0.74)
                )  # a retrained model passes
            resolved = webhook.wait_for(about_accuracy("RESOLVED"), timeout=90)
    finally:
        exporter.stop()
        webhook.server.shutdown()
        webhook.server.server_close()

    (tmp_path / "slack-messages.json").write_text(json.dumps([firing, resolved], indent=2), encoding="utf-8")
    assert firing["_webhook_path"].endswith("/slack-pages")  # severity page goes to the on-call channel's webhook
    [attachment] = firing["attachments"]
    assert attachment["title"] == "[FIRING x1] ModelAccuracyBelowThreshold"
    assert attachment["title_link"].endswith("/operate/runbooks/#modelaccuracybelowthreshold")
    assert attachment["color"] == "danger"
    text = attachment["text"]
    assert "*Model demo-v1 is below its accuracy threshold: retrain it*" in text
    assert "Accuracy of demo-v1 on tweet_eval_sentiment/validation.jsonl is 0.580" in text
    assert "severity page, action: retrain" in text
    [done] = resolved["attachments"]
    assert done["title"] == "[RESOLVED] ModelAccuracyBelowThreshold" and done["color"] == "good"
    assert "*Resolved:* Model demo-v1 is below its accuracy threshold" in done["text"]
