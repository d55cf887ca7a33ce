"""MkDocs hooks: the reference pages written from the code, so that they cannot fall behind it.

A page asks for a table with a marker line: ``<!-- reference:settings -->`` (every setting of
:class:`bot.config.settings.Settings`: variable, default, what it does) or ``<!-- reference:metrics -->`` (every metric
a brandpulse process or the exporter serves: name, type, labels, help) ``<!-- reference:contracts -->`` (the import contracts
of pyproject.toml) or ``<!-- reference:cli -->`` (every command, as its ``--help`` shows it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- reference:(\w+) -->$", re.MULTILINE)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return MARKER.sub(lambda m: TABLES[m.group(1)](), markdown)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(field: Any) -> str:
    from pydantic_core import PydanticUndefined

    value = field.default_factory() if field.default_factory is not None else field.default
    if value is None or value is PydanticUndefined:
        return "unset"
    if isinstance(value, Path) and value.is_absolute():
        value = value.relative_to(REPO) if value.is_relative_to(REPO) else value
    if isinstance(value, bool):
        value = str(value).lower()
    if isinstance(value, list):
        return ", ".join(value) or "empty"
    return f"`{value}`"


def settings_table() -> str:
    """Every setting, a table per section of the settings model: the variable (and its ``_FILE`` form), the default
    and the description the model holds."""
    from bot.config.settings import ENV_PREFIX, FILE_SETTINGS, SECRET_SETTINGS, Settings

    out = []
    for section in reversed(Settings.__mro__):
        own = [name for name in getattr(section, "__annotations__", {}) if name in Settings.model_fields]
        if section is Settings or not own:
            continue
        title, _, summary = (section.__doc__ or "").partition(": ")
        out += [f"## {title}", "", summary.strip(), "", "| variable | default | what it does |", "|---|---|---|"]
        for name in own:
            field = Settings.model_fields[name]
            variable = f"`{ENV_PREFIX}{name.upper()}`"
            if name in FILE_SETTINGS:
                variable += f"<br>`{ENV_PREFIX}{name.upper()}_FILE`"
            description = field.description or ""
            if name in SECRET_SETTINGS:
                description += " Secret: never logged, printed or shown."
            out.append(f"| {variable} | {_default(field)} | {_cell(description)} |")
        out.append("")
    return "\n".join(out)


def metrics_table() -> str:
    """Every metric brandpulse serves: the database collector's catalogue and the metrics a process keeps itself."""
    from prometheus_client import CollectorRegistry

    from bot.runtime.api import ApiMetrics
    from monitoring.metrics import DATABASE_METRICS, Metrics

    registry = CollectorRegistry()
    Metrics(registry).serving(name="example-v1", source="models/example-v1", device="cpu", precision="float32")
    ApiMetrics(registry)
    found = {name: (kind, text, labels) for name, (kind, text, labels) in DATABASE_METRICS.items()}
    for metric in registry.collect():
        # A process's own metric shows its label names only once a child exists; the metric object knows them.
        wrapper = registry._names_to_collectors.get(metric.name)  # noqa: SLF001 - prometheus_client has no public way
        labels = tuple(getattr(wrapper, "_labelnames", ())) or tuple(metric.samples[0].labels if metric.samples else ())
        found[metric.name] = (metric.type, metric.documentation, labels)
    rows = ["| metric | type | labels | what it says |", "|---|---|---|---|"]
    for name, (kind, text, labels) in sorted(found.items()):
        shown = ", ".join(f"`{label}`" for label in labels)
        exposed = name + {"counter": "_total", "info": "_info"}.get(kind, "")
        rows.append(f"| `{exposed}` | {kind} | {shown} | {_cell(text)} |")
    return "\n".join(rows)


def _text(text: str) -> str:
    """Help text as Markdown that shows it as written: no emphasis, link or HTML made of its characters."""
    return re.sub(r"([\\`*_\[\]<>|])", r"\\\1", text)


def cli_reference() -> str:
    """Every command and subcommand of ``brandpulse``: its usage, its help and its options as ``--help`` shows them."""
    import inspect

    import click

    from bot.cli.main import cli

    out: list[str] = []

    def walk(command: click.Command, path: list[str], parent: click.Context | None) -> None:
        ctx = click.Context(command, info_name=path[-1], parent=parent, **command.context_settings)
        out.append(f"{'#' * min(len(path) + 1, 4)} {' '.join(path)}")
        out.append("")
        out.extend(["```", command.get_usage(ctx).removeprefix("Usage: "), "```", ""])
        for paragraph in inspect.cleandoc(command.help or "").split("\n\n"):
            lines = paragraph.splitlines()
            if lines and lines[0].strip() == "\b":  # click's mark for lines kept as they are: an example
                out.extend(["```", *lines[1:], "```", ""])
            elif lines:
                out.extend([_text(" ".join(line.strip() for line in lines)), ""])
        records = [
            record
            for param in command.get_params(ctx)
            if isinstance(param, click.Option)
            and "--help" not in param.opts  # every command has -h/--help
            and (record := param.get_help_record(ctx)) is not None
        ]
        if records:
            out.extend(["| option | what it does |", "|---|---|"])
            out.extend([f"| `{names}` | {_text(text) or ' '} |" for names, text in records])
            out.append("")
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    walk(sub, [*path, name], ctx)

    walk(cli, ["brandpulse"], None)
    return "\n".join(out)


def contracts_table() -> str:
    """The import contracts ``make lint`` holds (lint-imports), as pyproject.toml declares them."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    rows = ["| contract | kind | what |", "|---|---|---|"]
    for contract in config["tool"]["importlinter"]["contracts"]:
        if contract["type"] == "layers":
            what = " → ".join(f"`{layer}`" for layer in contract["layers"])
        else:
            sources = ", ".join(f"`{m}`" for m in contract["source_modules"])
            forbidden = ", ".join(f"`{m}`" for m in contract["forbidden_modules"])
            what = f"{sources} never import {forbidden}"
        rows.append(f"| {_cell(contract['name'])} | {contract['type']} | {_cell(what)} |")
    return "\n".join(rows)


TABLES = {"settings": settings_table, "metrics": metrics_table, "contracts": contracts_table, "cli": cli_reference}
