"""The files around the code: the ones users and CI run without reading them first."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import tomllib
from typing import Any

import yaml

from tests.conftest import REPO


def test_readme_opens_with_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```(?:\w+)?\n(.*?)```", readme, re.DOTALL)
    assert first_block is not None
    assert first_block.group(1).split("\n")[:2] == ["make run", "make test"]


def _reference_hooks() -> Any:
    """docs/hooks/reference.py, the MkDocs hook that writes the reference tables from the code."""
    spec = importlib.util.spec_from_file_location("docs_reference", REPO / "docs" / "hooks" / "reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_setting_is_documented_in_the_docs() -> None:
    from bot.config.settings import Settings

    page = (REPO / "docs" / "reference" / "settings.md").read_text(encoding="utf-8")
    built = _reference_hooks().on_page_markdown(page)
    assert "<!-- reference:" not in built
    for name, field in Settings.model_fields.items():
        assert field.description and len(field.description.split()) >= 4, name
        row = next(line for line in built.splitlines() if line.startswith(f"| `BRANDPULSE_{name.upper()}`"))
        assert field.description.replace("|", "\\|") in row, name
    # Each setting sits in exactly one section, and every section has a title and a summary.
    assert built.count("| `BRANDPULSE_") == len(Settings.model_fields)
    assert len(re.findall(r"^## .+\n\n\S", built, re.M)) >= 8


def test_the_docs_site_has_its_pages_and_the_readme_points_there() -> None:
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["theme"]["name"] == "material" and config["strict"] is True

    def pages(nav: Any) -> list[str]:
        if isinstance(nav, str):
            return [nav]
        items = nav.values() if isinstance(nav, dict) else nav
        return [page for item in items for page in pages(item)]

    listed = pages(config["nav"])
    on_disk = sorted(p.relative_to(REPO / "docs").as_posix() for p in (REPO / "docs").rglob("*.md"))
    assert sorted(listed) == on_disk
    for page in ("get-started.md", "guide/slack.md", "operate/runbooks.md", "reference/cli.md", "model/mlops.md"):
        assert page in listed, page
    # The CLI reference holds every command and subcommand, with its options, written from the click commands.
    import click

    from bot.cli.main import cli

    hooks = _reference_hooks()
    reference = hooks.on_page_markdown((REPO / "docs" / "reference" / "cli.md").read_text(encoding="utf-8"))
    commands = ["brandpulse"] + [f"brandpulse {name}" for name in cli.commands]
    commands += [
        f"brandpulse {name} {sub}"
        for name, group in cli.commands.items()
        if isinstance(group, click.Group)
        for sub in group.commands
    ]
    for command in commands:
        assert re.search(rf"^#+ {command}$", reference, re.M), command
    assert "| `--since WHEN` | Start: " in reference and "<!-- reference:" not in reference
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert config["site_url"] in readme
    assert len(readme.splitlines()) <= 250
    # make lint builds the site strictly; the docs workflow publishes that build to GitHub Pages from main.
    assert "$(MKDOCS) build --strict" in (REPO / "Makefile").read_text(encoding="utf-8")
    docs = yaml.safe_load((REPO / ".github" / "workflows" / "docs.yml").read_text(encoding="utf-8"))
    assert docs[True]["push"] == {"branches": ["main"]}  # PyYAML reads the key `on` as True
    build, deploy = docs["jobs"]["build"], docs["jobs"]["deploy"]
    assert any(step.get("run") == "make docs" for step in build["steps"])
    assert any(step.get("with", {}).get("path") == "site" for step in build["steps"])
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")


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
    guide = (REPO / "docs" / "operate" / "slack-app.md").read_text(encoding="utf-8")
    assert "slack/manifest.yml" in guide and "/invite @brandpulse" in guide


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
