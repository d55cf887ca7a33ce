"""The monitoring configuration as the tools read it: promtool and amtool checks, the rules' unit tests, every PromQL
expression of the dashboards and rules parsed and naming only metrics the exporter exposes, Grafana provisioning and
the compose stack's structure."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from monitoring.metrics import DatabaseCollector, Metrics
from storage.feedback import record_feedback
from storage.jobs import claim_run, finish_run
from storage.outbox import enqueue
from storage.registry import record_evaluation
from storage.sources import PollRecord, record_poll
from tests.support.pipeline import M, add, evaluation, job_context

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"
PROMETHEUS_DIR = MONITORING / "prometheus"
GRAFANA = MONITORING / "grafana"
PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
REQUIRED_ALERTS = {
    "ModelAccuracyBelowThreshold",
    "LiveAccuracyDrop",
    "PredictionDrift",
    "NegativeSentimentSpike",
    "IngestionStalled",
    "ClassificationBacklog",
    "OutboxDeadLetters",
    "BrandpulseDown",
    "DatabaseUnavailable",
}
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (apt-get install prometheus)")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _alert_rules() -> list[dict[str, Any]]:
    rules = _yaml(PROMETHEUS_DIR / "rules" / "brandpulse.yml")
    return [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]


@needs_promtool
def test_prometheus_config_and_rules_pass_promtool() -> None:
    assert "SUCCESS" in _run(str(PROMTOOL), "check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert "SUCCESS: 12 rules found" in _run(
        str(PROMTOOL), "check", "rules", str(PROMETHEUS_DIR / "rules" / "brandpulse.yml")
    )


@needs_promtool
def test_each_alert_fires_on_its_scenario_and_not_on_a_healthy_one() -> None:
    output = _run(str(PROMTOOL), "test", "rules", str(PROMETHEUS_DIR / "tests" / "brandpulse_test.yml"))
    assert "SUCCESS" in output
    tests = _yaml(PROMETHEUS_DIR / "tests" / "brandpulse_test.yml")["tests"]
    fired = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    silent = {case["alertname"] for test in tests for case in test["alert_rule_test"] if not case["exp_alerts"]}
    assert REQUIRED_ALERTS <= fired and REQUIRED_ALERTS <= silent


@pytest.mark.skipif(AMTOOL is None, reason="amtool is not installed (apt-get install prometheus-alertmanager)")
def test_alertmanager_config_passes_amtool() -> None:
    output = _run(str(AMTOOL), "check-config", str(MONITORING / "alertmanager" / "alertmanager.yml"))
    assert "SUCCESS" in output and "4 receivers" in output and "1 templates" in output
    config = str(MONITORING / "alertmanager" / "alertmanager.yml")
    # The model's accuracy alerts reach brandpulse's receiver and, through `continue`, Slack too; others only Slack.
    for labels, receivers in (
        (("alertname=ModelAccuracyBelowThreshold", "severity=page"), "brandpulse-retrain,slack-pages"),
        (("alertname=LiveAccuracyDrop", "severity=warning"), "brandpulse-retrain,slack-warnings"),
        (("alertname=PredictionDrift", "severity=warning"), "slack-warnings"),
    ):
        routed = subprocess.run(
            [str(AMTOOL), "config", "routes", "test", f"--config.file={config}", *labels],
            capture_output=True,
            text=True,
            check=True,
        )
        assert routed.stdout.strip() == receivers, routed.stdout + routed.stderr


def test_alertmanager_routes_by_severity_to_slack_with_secrets_from_files() -> None:
    config = _yaml(MONITORING / "alertmanager" / "alertmanager.yml")
    receivers = {r["name"]: r for r in config["receivers"]}
    routes = {tuple(r["matchers"]): r["receiver"] for r in config["route"]["routes"]}
    assert routes[('severity="page"',)] == "slack-pages" and routes[('severity="warning"',)] == "slack-warnings"
    # The bot posts its own spike alerts: Alertmanager must not post the same condition again.
    assert config["route"]["routes"][0] == {
        "receiver": "posted-by-brandpulse",
        "matchers": ['alertname="NegativeSentimentSpike"'],
    }
    assert receivers.pop("posted-by-brandpulse") == {"name": "posted-by-brandpulse"}
    assert config["route"]["routes"][1]["receiver"] == "brandpulse-retrain"
    [hook] = receivers.pop("brandpulse-retrain")["webhook_configs"]
    assert hook["url"].endswith("/api/v1/alertmanager") and hook["send_resolved"] is False
    assert hook["http_config"]["authorization"]["credentials_file"].startswith("/run/secrets/")
    for receiver in receivers.values():
        [slack] = receiver["slack_configs"]
        # Incoming webhooks ignore these overrides: a config that sets them promises what Slack does not do.
        assert not {"channel", "username", "icon_emoji"} & set(slack)
        assert (
            slack["send_resolved"] is True
            and "api_url" not in slack
            and slack["api_url_file"].startswith("/run/secrets/")
        )
        assert "brandpulse.slack" in slack["title"] and "brandpulse.slack" in slack["text"]
    for key in ("group_by", "group_wait", "group_interval", "repeat_interval"):
        assert key in config["route"]


def test_every_alert_has_severity_summary_description_and_a_runbook_section() -> None:
    # The runbook links point at the docs site (mkdocs.yml's site_url), each at a section of docs/operate/runbooks.md.
    site = _yaml(REPO / "mkdocs.yml")["site_url"]
    runbooks = (REPO / "docs" / "operate" / "runbooks.md").read_text(encoding="utf-8")
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^## (.+)$", runbooks, re.M)
    }
    rules = _alert_rules()
    assert REQUIRED_ALERTS <= {rule["alert"] for rule in rules}
    grafana_rules = _yaml(GRAFANA / "alerting" / "rules.yml")["groups"][0]["rules"]
    for rule in [*rules, *grafana_rules]:
        assert rule["labels"]["severity"] in ("page", "warning")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        page, anchor = rule["annotations"]["runbook_url"].split("#", 1)
        assert page == f"{site}operate/runbooks/", rule["annotations"]["runbook_url"]
        assert anchor in anchors, f"docs/operate/runbooks.md has no section for {anchor}"


def _exposed_names(tmp_path: Path) -> set[str]:
    """Every sample name the exporter and a serving process expose, with a database that has every kind of row."""
    ctx = job_context(tmp_path, f"sqlite:///{tmp_path / 'names.db'}")
    now = datetime.now(UTC)
    add(
        ctx.sessions,
        [M(now - timedelta(minutes=5), "acmephone", "negative"), M(now - timedelta(days=2), "acmephone", "positive")],
    )
    with ctx.sessions() as session:
        record_evaluation(
            session=session,
            run=evaluation(model="m", dataset="d", accuracy=0.7, at=now),
        )
        record_feedback(
            session=session,
            text="t",
            predicted_label="negative",
            given_label="negative",
            model_version="m",
            slack_user="U1",
            slack_channel=None,
            created_at=now,
        )
        enqueue(session=session, kind="alert", channel="#c", payload={"text": "x"}, at=now)
        session.commit()
    with ctx.sessions.begin() as session:
        run = claim_run(session=session, job="classify", scheduled_for=now, owner="t", at=now)
    with ctx.sessions.begin() as session:
        failed = claim_run(session=session, job="digest:acme", scheduled_for=now, owner="t", at=now)
    for run_id, succeeded in ((run, True), (failed, False)):
        assert run_id is not None
        with ctx.sessions.begin() as session:
            finish_run(session=session, run_id=run_id, succeeded=succeeded, at=now, detail="")
    with ctx.sessions.begin() as session:  # a source that succeeded, then failed
        record_poll(session=session, name="news", type="feed", poll=PollRecord(at=now, fetched=2, added=1))
        record_poll(session=session, name="news", type="feed", poll=PollRecord(at=now, error="answered HTTP 500"))
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(ctx.sessions, brands=["acme"], accuracy_threshold=0.65))
    metrics = Metrics(registry)
    metrics.serving(name="m", source="m", device="cpu", precision="float32")
    metrics.thresholds({"acme": (0.5, 20)})
    metrics.slash_command_seconds.labels("classify").observe(0.1)
    return {sample.name for family in registry.collect() for sample in family.samples} | {"up"}


def _expressions() -> dict[str, str]:
    found: dict[str, str] = {}
    for rule in _alert_rules():
        found[f"prometheus rule {rule['alert']}"] = rule["expr"]
    dashboard = json.loads((GRAFANA / "dashboards" / "brandpulse.json").read_text(encoding="utf-8"))
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            found[f"panel {panel['title']!r} {target['refId']}"] = target["expr"]
    for rule in _yaml(GRAFANA / "alerting" / "rules.yml")["groups"][0]["rules"]:
        for query in rule["data"]:
            if query["datasourceUid"] == "prometheus":
                found[f"grafana rule {rule['title']!r} {query['refId']}"] = query["model"]["expr"]
    return found


@needs_promtool
def test_every_promql_expression_parses_and_names_only_exported_metrics(tmp_path: Path) -> None:
    expressions = _expressions()
    assert len(expressions) >= 25
    # promtool parses each expression as a recording rule: a syntax error fails the check and names the rule.
    rules = {
        "groups": [
            {
                "name": "parse",
                "rules": [{"record": f"check:{i}", "expr": e} for i, e in enumerate(expressions.values())],
            }
        ]
    }
    (tmp_path / "parse.yml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    assert f"SUCCESS: {len(expressions)} rules found" in _run(
        str(PROMTOOL), "check", "rules", str(tmp_path / "parse.yml")
    )
    exposed = _exposed_names(tmp_path)
    for where, expression in expressions.items():
        without_strings = re.sub(r'"[^"]*"', '""', expression)
        names = set(re.findall(r"\b(brandpulse_[a-z0-9_]+|up)\b", without_strings))
        assert names, f"{where}: names no metric"
        assert names <= exposed, f"{where}: {sorted(names - exposed)} not exposed by brandpulse"


def test_grafana_provisioning_hangs_together() -> None:
    [datasource] = _yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    dashboard = json.loads((GRAFANA / "dashboards" / "brandpulse.json").read_text(encoding="utf-8"))
    assert dashboard["uid"] == "brandpulse" and len(dashboard["panels"]) >= 10
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == datasource["uid"]
        assert all(t["datasource"]["uid"] == datasource["uid"] for t in panel["targets"])
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for subject in (
        "accuracy",
        "live accuracy",
        "drift",
        "by brand",
        "sentiment share",
        "latencies",
        "backlog",
        "outbox",
    ):
        assert subject in titles
    threshold = next(p for p in dashboard["panels"] if p["title"].startswith("Model accuracy"))
    assert any(t["expr"] == "brandpulse_model_accuracy_threshold" for t in threshold["targets"])
    [provider] = _yaml(GRAFANA / "provisioning" / "dashboards" / "brandpulse.yml")["providers"]
    compose = _yaml(REPO / "docker-compose.yml")
    assert (
        f"./monitoring/grafana/dashboards:{provider['options']['path']}:ro" in compose["services"]["grafana"]["volumes"]
    )
    contacts = _yaml(GRAFANA / "alerting" / "contact-points.yml")["contactPoints"]
    names = {c["name"] for c in contacts}
    assert all(
        r["type"] == "slack" and r["settings"]["url"] == "$SLACK_WEBHOOK_URL" for c in contacts for r in c["receivers"]
    )
    policies = _yaml(GRAFANA / "alerting" / "policies.yml")["policies"]
    assert {p["receiver"] for p in policies} | {r["receiver"] for p in policies for r in p.get("routes", [])} <= names
    for rule in _yaml(GRAFANA / "alerting" / "rules.yml")["groups"][0]["rules"]:
        refs = {q["refId"] for q in rule["data"]}
        assert rule["condition"] in refs
        assert {q["datasourceUid"] for q in rule["data"]} <= {datasource["uid"], "__expr__"}


def test_compose_runs_the_whole_stack_with_pinned_images_and_existing_mounts() -> None:
    compose = _yaml(REPO / "docker-compose.yml")
    services = compose["services"]
    assert {"brandpulse", "postgres", "prometheus", "alertmanager", "grafana"} <= set(services)
    for name, service in services.items():
        assert "healthcheck" in service, name
        if "image" in service:
            image, _, tag = service["image"].rpartition(":")
            assert image and tag and tag != "latest" and re.match(r"v?\d+\.\d+", tag), service["image"]
        for volume in service.get("volumes", []):
            # ${VAR:-default}: the default is what a fresh checkout mounts.
            volume = re.sub(r"^\$\{\w+:-([^}]+)\}", r"\1", volume)
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in compose["volumes"], f"{name} uses an undeclared volume {source}"
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services and condition["condition"] in ("service_healthy", "service_started")
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    assert "3000:3000" in services["grafana"]["ports"]
    prometheus = _yaml(PROMETHEUS_DIR / "prometheus.yml")
    [target] = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
    host, port = target.split(":")
    assert host == "brandpulse" and f"127.0.0.1:{port}:{port}" in services["brandpulse"]["ports"]
    # Nothing without authentication is published beyond this machine.
    assert "127.0.0.1:9090:9090" in services["prometheus"]["ports"]
    assert "127.0.0.1:9093:9093" in services["alertmanager"]["ports"]
    # The model cache on a volume, the brands file mounted and used.
    assert "brandpulse-cache:/cache" in services["brandpulse"]["volumes"]
    # The brands file's folder is mounted, not the file: an editor that saves by renaming the file still reaches it.
    assert services["brandpulse"]["environment"]["BRANDPULSE_BRANDS_FILE"].startswith("/config/${BRANDS_FILE_NAME")
    assert "${BRANDS_DIR:-./bot/config}:/config:ro" in services["brandpulse"]["volumes"]
    assert (REPO / "bot" / "config" / "brands.example.yml").is_file()
    # The released image by default, built from the checkout on request.
    version = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert services["brandpulse"]["image"] == f"${{BRANDPULSE_IMAGE:-ghcr.io/brandpulse/brandpulse:{version}}}"
    assert services["brandpulse"]["build"] == "." and services["brandpulse"]["pull_policy"] == "missing"
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "\nUSER 10001:10001\n" in dockerfile and "XDG_CACHE_HOME=/cache" in dockerfile
    # Two stages: the final one copies the installed project and has no build step of its own; the only packages it
    # adds are the PDF report's runtime libraries, without recommends, and without apt's lists left behind.
    build, final = dockerfile.split("\nFROM ")[1:]
    assert build.startswith("python:3.11-slim AS build") and "COPY --from=build /opt/brandpulse" in final
    words = final.split()
    assert "pip install" not in final and not {"gcc", "build-essential"} & set(words)
    assert not [w for w in words if w.endswith("-dev")]  # no headers: nothing is compiled there
    assert final.count("apt-get install") == 1 and "--no-install-recommends libpango-1.0-0" in final
    assert "rm -rf /var/lib/apt/lists/*" in final
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", "data", "models", ".env", "secrets", ".git"} <= set(ignored)
    assert services["brandpulse"]["environment"]["BRANDPULSE_METRICS_PORT"] == port
    [alertmanager] = prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanager == "alertmanager:9093"
    # Webhook URLs and passwords are secrets: passed as compose secrets from the git-ignored ./secrets folder, each
    # one defined and used.
    named = {secret for service in services.values() for secret in service.get("secrets", [])}
    assert named == set(compose["secrets"]) and {"slack_pages_webhook_url", "grafana_db_password"} <= named
    for secret in compose["secrets"].values():
        assert secret["file"].startswith("./secrets/")
    assert "/secrets/" in (REPO / ".gitignore").read_text(encoding="utf-8").split()


def test_the_metrics_reference_lists_every_metric_brandpulse_exposes(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_reference", REPO / "docs" / "hooks" / "reference.py")
    assert spec is not None and spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    listed = set(
        re.findall(r"^\| `(brandpulse_[a-z0-9_]+)` \| (?:counter|gauge|histogram|info) \|", hooks.metrics_table(), re.M)
    )
    exposed = {name for name in _exposed_names(tmp_path) if name != "up"}
    for suffix in ("_bucket", "_count", "_sum", "_created"):
        exposed = {
            name.removesuffix(suffix) if name.endswith(suffix) and name.removesuffix(suffix) in listed else name
            for name in exposed
        }
    # The exporter's and a serving process's every figure, with a database that has every kind of row.
    assert exposed <= listed, sorted(exposed - listed)
    assert len(listed) >= 35
