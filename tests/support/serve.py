"""``brandpulse serve`` as a user runs it: a subprocess with settings from the environment, stopped by SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.net import free_port


@contextmanager
def serving(cwd: Path, **env: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """Start ``brandpulse serve``; yield once it runs; SIGTERM it and check it stops cleanly."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "BRANDPULSE_METRICS_PORT": str(free_port()), **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"], cwd=cwd, env=environment, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if "brandpulse is running" in line or not line:
            break
    try:
        yield process, lines
    finally:
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
        lines.append(rest)
    assert process.returncode == 0, "".join(lines)


def post_mentions(port: int, token: str, items: list[dict[str, str]]) -> int:
    """POST ``items`` to a served ingest API with a bearer ``token``: how many were created."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/mentions",
        data=json.dumps(items).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(json.loads(response.read())["created"])
