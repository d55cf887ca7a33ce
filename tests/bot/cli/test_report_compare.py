"""``brandpulse report --brands a,b,c`` (or ``--brand all``): brands side by side in every format, and posted to
Slack with its chart."""

from __future__ import annotations

import base64
import csv
import io
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.cli import run_cli
from tests.support.fake_slack import FakeSlack, block_kit_problems
from tests.support.html import ReadPage
from tests.support.pipeline import BRANDS_YAML, M, add, job_context

THREE = (
    BRANDS_YAML
    + """
  - name: initech
    keywords: [initech]
"""
)
# The week of Monday 23 November 2026, in Rome.
WEEK = datetime(2026, 11, 23, tzinfo=ZoneInfo("Europe/Rome"))
PERIOD = ("--period", "2026-11-23..2026-11-29")


def _three_brands(tmp_path: Path, db_url: str) -> dict[str, str]:
    """The week of 23 November in Rome: acme 12 mentions (7 negative, 5 positive), globex 6 (2 of each label),
    initech 2 (1 positive, 1 not classified yet): 20 in all. The week before: acme 4 and globex 4, all neutral."""
    ctx = job_context(tmp_path, db_url, timezone="Europe/Rome", brands=THREE)
    mentions = [
        *(M(WEEK - timedelta(days=2, hours=i), f"acmephone fine {i}", "neutral") for i in range(4)),
        *(M(WEEK - timedelta(days=3, hours=i), f"globex fine {i}", "neutral", brand="globex") for i in range(4)),
    ]
    for day in range(7):
        mentions.append(M(WEEK + timedelta(days=day, hours=10), f"acmephone battery recall day {day}", "negative"))
    for day in range(5):
        mentions.append(M(WEEK + timedelta(days=day, hours=12), f"acmephone camera lovely {day}", "positive"))
    for i, label in enumerate(["negative", "negative", "neutral", "neutral", "positive", "positive"]):
        mentions.append(M(WEEK + timedelta(days=i, hours=15), f"globex cloud console {i}", label, brand="globex"))
    mentions.append(M(WEEK + timedelta(days=1, hours=8), "initech staplers", "positive", brand="initech"))
    mentions.append(M(WEEK + timedelta(days=2, hours=8), "initech reports", None, brand="initech"))
    add(ctx.sessions, mentions)
    return {"BRANDPULSE_BRANDS_FILE": str(ctx.settings.brands_file), "BRANDPULSE_TIMEZONE": "Europe/Rome"}


def test_brands_side_by_side_as_markdown(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    env = _three_brands(tmp_path, db_url)
    result = run_cli(monkeypatch, db_url, "report", "--brands", "globex,acme,initech", *PERIOD, **env)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("# acme vs globex vs initech: 2026-11-23..2026-11-29\n")  # the most mentioned first
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| brand")]
    # brand | mentions | change | share of voice | change | negative | change | net sentiment | top theme
    assert rows[0].startswith("| acme | 12 | +200% | 60% | +10 pts | 58% | +58 pts | -17 | battery recall")
    assert rows[1].startswith("| globex | 6 | +50% | 30% | -20 pts | 33% | +33 pts | +0 |")
    # None before: no growth to give; a share of voice of 0% then; two mentions are too few for a theme.
    assert rows[2] == "| initech | 2 |  | 10% | +10 pts | 0% |  | +100 |  |"

    every = run_cli(monkeypatch, db_url, "report", "--brand", "all", *PERIOD, **env)
    assert every.exit_code == 0 and every.stdout == text  # --brand all: every brand of the brands file


def test_brands_side_by_side_as_csv_with_numbers(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    env = _three_brands(tmp_path, db_url)
    result = run_cli(monkeypatch, db_url, "report", "--brand", "all", *PERIOD, "--format", "csv", **env)
    assert result.exit_code == 0, result.output
    rows = {row["brand"]: row for row in csv.DictReader(io.StringIO(result.stdout))}
    assert list(rows) == ["acme", "globex", "initech"]
    acme = rows["acme"]
    assert (acme["mentions"], acme["mentions_before"], acme["negative"], acme["positive"]) == ("12", "4", "7", "5")
    assert float(acme["share_of_voice"]) == pytest.approx(0.6) and float(acme["share_of_voice_before"]) == 0.5
    assert float(acme["net_sentiment"]) == pytest.approx(5 / 12 - 7 / 12)
    assert rows["initech"]["unclassified"] == "1" and rows["initech"]["growth"] == ""
    assert "battery" in acme["top_theme"] and 0 < float(acme["top_theme_share"]) <= 1


def test_brands_side_by_side_as_a_workbook(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    env = _three_brands(tmp_path, db_url)
    path = tmp_path / "compare.xlsx"
    args = ("report", "--brands", "acme,globex,initech", *PERIOD, "--format", "xlsx", "-o", str(path))
    result = run_cli(monkeypatch, db_url, *args, **env)
    assert result.exit_code == 0, result.output
    book = load_workbook(path)
    assert book.sheetnames == ["Brands", "Over time"]
    brands = book["Brands"]
    header = [c.value for c in brands[1]]
    acme = dict(zip(header, [c.value for c in brands[2]], strict=True))
    assert acme["brand"] == "acme" and acme["mentions"] == 12 and acme["share of voice"] == pytest.approx(0.6)
    assert brands.cell(row=2, column=header.index("share of voice") + 1).number_format == "0%"
    over_time = book["Over time"]
    rows = [[c.value for c in row] for row in over_time.iter_rows(min_row=2)]
    assert len(rows) == 7  # a day each: a week is shown in days
    assert [c.value for c in over_time[1]][:5] == ["start", "all brands", "acme", "globex", "initech"]
    assert sum(r[1] for r in rows) == 20 and sum(r[2] for r in rows) == 12
    monday = rows[0]  # acme 2, globex 1: 3 in all
    assert monday[1:5] == [3, 2, 1, 0] and monday[5] == pytest.approx(2 / 3)


def test_brands_side_by_side_as_a_page_a_pdf_and_a_chart(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    from matplotlib.image import imread

    env = _three_brands(tmp_path, db_url)
    page = tmp_path / "compare.html"
    args = ("report", "--brand", "all", *PERIOD)
    result = run_cli(monkeypatch, db_url, *args, "--format", "html", "-o", str(page), **env)
    assert result.exit_code == 0, result.output
    parsed = ReadPage()
    parsed.feed(page.read_text(encoding="utf-8"))
    assert parsed.sections == ["Side by side", "Share of voice over time", "Sentiment per brand"]
    at = parsed.cells.index("acme")
    assert parsed.cells[at : at + 8] == ["acme", "12", "+200%", "60%", "+10 pts", "58%", "+58 pts", "-17"]
    [chart] = parsed.images
    assert base64.b64decode(chart.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"

    pdf = tmp_path / "compare.pdf"
    result = run_cli(monkeypatch, db_url, *args, "--format", "pdf", "-o", str(pdf), **env)
    assert result.exit_code == 0, result.output
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    words = " ".join(text.split())
    assert words.startswith("acme vs globex vs initech 23–29 Nov 2026")
    assert "acme 12 +200% 60% +10 pts 58% +58 pts -17" in words

    png = tmp_path / "compare.png"
    result = run_cli(monkeypatch, db_url, *args, "--format", "png", "-o", str(png), **env)
    assert result.exit_code == 0, result.output
    image = imread(png)
    assert image.shape[:2] == (720, 1600)
    # Each brand's sentiment split is drawn beside the lines (a week of 2-4 mentions a day has no line to draw:
    # tests/bot/core/test_chart.py draws them).
    positive = (abs(image[:, :, :3] - [0, 0x72 / 255, 0xB2 / 255]) < 0.05).all(axis=2)
    negative = (abs(image[:, :, :3] - [0xD5 / 255, 0x5E / 255, 0]) < 0.05).all(axis=2)
    assert positive.sum() > 10_000 and negative.sum() > 10_000


def test_a_competitive_report_is_posted_with_its_chart(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    env = _three_brands(tmp_path, db_url)
    with FakeSlack() as fake:
        slack = {"BRANDPULSE_SLACK_BOT_TOKEN": "xoxb-test", "BRANDPULSE_SLACK_API_URL": fake.api_url}
        args = ("report", "--brands", "acme,globex", *PERIOD, "--post", "#marketing")
        result = run_cli(monkeypatch, db_url, *args, **env, **slack)
        assert result.exit_code == 0, result.output
        assert "report of acme, globex queued for #marketing: 18 mentions" in result.output
        [post] = fake.calls_to("chat.postMessage")
        assert post.params["channel"] == "#marketing"
        assert block_kit_problems(post.params["blocks"]) == []
        shown = str(post.params["blocks"])
        # Among the two brands compared: acme 12 of 18, globex 6 of 18.
        assert "*acme* `███████░░░` 67% of voice (+17 pts) · 12 mentions (+200%) · 58% negative (+58 pts)" in shown
        assert "*globex* `███░░░░░░░` 33% of voice (-17 pts)" in shown
        [(channel, [file_id])] = fake.shared_files.items()
        assert fake.file_threads[file_id] == fake.posted[channel][0]
        assert fake.violations == []
        without = run_cli(monkeypatch, db_url, "report", "--brands", "acme,globex", *PERIOD, "--post", **env, **slack)
        assert without.exit_code == 2 and "name one, --post '#channel'" in without.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--brands", "acme"), "two or more brands"),
        (("--brands", "acme,nope"), "unknown brand 'nope'"),
        (("--brand", "acme", "--brands", "acme,globex"), "give --brand NAME"),
        ((), "give --brand NAME"),
    ],
)
def test_bad_competitive_reports_exit_2_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    db_url = f"sqlite:///{tmp_path / 'r.db'}"
    env = _three_brands(tmp_path, db_url)
    result = run_cli(monkeypatch, db_url, "report", *args, **env)
    assert result.exit_code == 2 and message in result.output, result.output


def test_no_mentions_at_all_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'r.db'}"
    env = _three_brands(tmp_path, db_url)
    result = run_cli(monkeypatch, db_url, "report", "--brand", "all", "--period", "2020-01-01", **env)
    assert result.exit_code == 0 and "No mentions of these brands in this period." in result.stdout
    png = run_cli(monkeypatch, db_url, "report", "--brand", "all", "--period", "2020-01-01", "--format", "png", **env)
    assert png.exit_code == 2 and "no mentions of acme, globex, initech" in png.output
    one = run_cli(monkeypatch, db_url, "report", "--brand", "acme", "--period", "2020-01-01", "--format", "png", **env)
    assert (
        one.exit_code == 2
        and "no mentions of acme in Wed 01 Jan 2020" in one.output
        and "nothing to draw" in one.output
    )
