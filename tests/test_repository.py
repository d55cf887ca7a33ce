"""The files around the code: the ones users and CI run without reading them first."""

from __future__ import annotations

import re
import subprocess
import tomllib

import yaml

from tests.conftest import REPO


def test_readme_opens_with_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```(?:\w+)?\n(.*?)```", readme, re.DOTALL)
    assert first_block is not None
    assert first_block.group(1).split("\n")[:2] == ["make run", "make test"]


def test_every_setting_is_documented_in_the_readme() -> None:
    from bot.config.settings import Settings

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`BRANDPULSE_{name.upper()}`" in readme, name


def test_workflow_pins_actions_and_limits_permissions() -> None:
    for path in (REPO / ".github" / "workflows").glob("*.yml"):
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert workflow["permissions"] == {"contents": "read"}, path
        for job in workflow["jobs"].values():
            assert job["timeout-minutes"] <= 60
            for step in job["steps"]:
                if "uses" in step:
                    assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    # CI runs what this workplace's CI runs: .ci/run (Prometheus and Alertmanager, make lint, make test).
    assert any(step.get("run") == ".ci/run" for step in ci["jobs"]["test"]["steps"])
    cd = yaml.safe_load((REPO / ".github" / "workflows" / "cd.yml").read_text(encoding="utf-8"))
    # PyYAML reads the key `on` as True.
    assert cd[True]["workflow_run"] == {"workflows": ["ci"], "types": ["completed"], "branches": ["main"]}
    [publish] = cd["jobs"].values()
    assert "github.event.workflow_run.conclusion == 'success'" in publish["if"]
    assert any(
        "models publish" in step.get("run", "") and "HF_TOKEN" in step.get("env", {}) for step in publish["steps"]
    )


def test_compose_file_runs_the_bot_against_postgres() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    bot, postgres = compose["services"]["brandpulse"], compose["services"]["postgres"]
    assert (REPO / bot["build"] / "Dockerfile").exists()
    assert bot["environment"]["BRANDPULSE_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in postgres
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    for package in ("bot", "analysis", "storage", "monitoring"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_pyproject_declares_the_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == "brandpulse"
    assert project["project"]["scripts"]["brandpulse"] == "bot.cli.main:main"
    assert "dev" in project["project"]["optional-dependencies"]


def test_ci_script_runs_lint_and_the_readme_test_command() -> None:
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "make lint" in script and "make test" in script and "set -euo pipefail" in script
    assert subprocess.run(["bash", "-n", str(REPO / ".ci" / "run")]).returncode == 0


def test_no_model_weights_or_datasets_are_tracked() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    # The one data set in the repository is the demo's, which the project writes (bot/config/demo_data.py).
    demo = "bot/config/demo/mentions.jsonl"
    assert demo in tracked
    assert not [
        p for p in tracked if p.endswith((".bin", ".safetensors", ".pt", ".onnx", ".jsonl", ".db")) and p != demo
    ]


def test_the_slack_manifest_declares_what_the_app_listens_to() -> None:
    from bot.slack.views.sentiment import COMMAND

    manifest = yaml.safe_load((REPO / "slack" / "manifest.yml").read_text(encoding="utf-8"))
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == [COMMAND]
    assert commands[0]["url"].endswith("/slack/events")
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "files:write", "channels:history", "groups:history"} <= scopes
    settings = manifest["settings"]
    assert {"message.channels", "message.groups", "app_home_opened"} == set(
        settings["event_subscriptions"]["bot_events"]
    )
    assert settings["interactivity"]["is_enabled"] is True and settings["socket_mode_enabled"] is True
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "slack/manifest.yml" in readme and "/invite @brandpulse" in readme


def test_the_release_workflow_builds_checks_and_publishes_a_tagged_version() -> None:
    release = yaml.safe_load((REPO / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8"))
    assert release[True] == {"push": {"tags": ["v*"]}}  # PyYAML reads the key `on` as True
    [job] = release["jobs"].values()
    assert job["permissions"] == {"contents": "write", "packages": "write"}
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    for command in ("python -m build", "twine check --strict dist/*", "twine upload", "gh release create"):
        assert command in runs, command
    assert "v${declared}" in runs  # the tag must name pyproject.toml's version
    assert "docker buildx build . --platform linux/amd64 --push" in runs and "ghcr.io/" in runs
    for name in ("LICENSE", "CHANGELOG.md", "SECURITY.md"):
        assert (REPO / name).is_file(), name
    assert tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["license"] == "MIT"
    assert "MIT License" in (REPO / "LICENSE").read_text(encoding="utf-8")
