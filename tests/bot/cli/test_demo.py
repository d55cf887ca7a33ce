"""``brandpulse demo``: the shipped week of three fictional brands, replayed into a database of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.config.demo_data import BRANDS_FILE, CRISIS_START, MENTIONS_FILE, generate
from tests.support.cli import run_cli
from tests.support.fake_slack import FakeSlack, block_kit_problems
from tests.support.slack import BOT_TOKEN

REPO = Path(__file__).resolve().parents[3]


def test_the_shipped_data_set_is_what_the_generator_writes() -> None:
    rows = generate()
    shipped = [json.loads(line) for line in MENTIONS_FILE.read_text(encoding="utf-8").splitlines()]
    assert rows == shipped
    assert {row["brand"] for row in rows} == {"kettleby", "aurora", "lumen"}
    assert set(Counter(row["language"] for row in rows)) == {"en", "it", "de", "es", "fr"}
    assert len({row["id"] for row in rows}) == len(rows)
    # A crisis: Kettleby's busiest hour is at least five times its usual one.
    hours = Counter(row["created_at"][:13] for row in rows if row["brand"] == "kettleby")
    assert max(hours, key=hours.__getitem__).startswith(CRISIS_START.strftime("%Y-%m-%d"))
    assert max(hours.values()) >= 5 * sorted(hours.values())[len(hours) // 2]
    # Shipped with the package, and nothing of the demo reads beside the repository.
    assert MENTIONS_FILE.is_relative_to(REPO / "bot") and BRANDS_FILE.is_relative_to(REPO / "bot")
    for path in (REPO / "bot" / "config" / "demo_data.py", REPO / "bot" / "cli" / "demo.py", BRANDS_FILE):
        assert "shared" not in path.read_text(encoding="utf-8")


def test_the_demo_prints_the_digests_and_alerts_and_posts_them_when_slack_is_set(
    tmp_path: Path, tiny_model: Path
) -> None:
    with FakeSlack() as fake:
        env = {
            **os.environ,
            "BRANDPULSE_MODEL": str(tiny_model),
            "BRANDPULSE_SLACK_BOT_TOKEN": BOT_TOKEN,
            "BRANDPULSE_SLACK_API_URL": fake.api_url,
            "HF_HUB_OFFLINE": "1",
            "TMPDIR": str(tmp_path),
        }
        result = subprocess.run(
            [sys.executable, "-m", "bot", "demo", "--speed", "1000000", "--no-progress"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        posts = fake.calls_to("chat.postMessage")
        assert fake.violations == [] and all(block_kit_problems(p.params["blocks"]) == [] for p in posts)
    out = result.stdout
    shown = [line for line in out.splitlines() if line.startswith("── ")]
    # Kettleby's daily digests (Monday to the next Monday), the other two brands' weekly ones on Sunday evening.
    assert sum("digest to #demo-kettleby" in line for line in shown) == 8
    assert sum("digest to #demo-aurora" in line for line in shown) == 1
    assert sum("digest to #demo-lumen" in line for line in shown) == 1
    # The crisis: a spike alert on Thursday, and the keyword alert "recall" once (then its cooldown).
    assert any("alert to #demo-alerts" in line for line in shown)
    assert "kettleby: mention volume spike" in out and "Thu 05 Nov" in out
    assert sum("keyword to #demo-alerts" in line for line in shown) == 1 and "“recall”" in out
    assert "1,308 rows read, 1,308 added" in out
    # What was printed went to Slack too, to the same channels.
    assert Counter(p.params["channel"] for p in posts) == Counter(line.split(" to ")[1].split()[0] for line in shown)
    # The demo's database is its own, in a folder it removes: nothing of the user's is touched.
    assert not (tmp_path / "data").exists() and not list(tmp_path.glob("brandpulse-demo-*"))
    assert "Digest: kettleby" in out and "&lt;" not in out and "&amp;" not in out  # Slack's markup made plain


def test_a_kept_folder_that_holds_an_earlier_demo_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "demo.db").write_bytes(b"")
    result = run_cli(monkeypatch, f"sqlite:///{tmp_path / 'mine.db'}", "demo", "--keep", str(kept))
    assert result.exit_code == 2 and "holds an earlier demo" in result.output
    assert (kept / "demo.db").read_bytes() == b""  # left as it was
