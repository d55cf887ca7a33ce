"""``brandpulse report``: a past week's digest as Markdown, CSV and a chart, and posted again to Slack."""

from __future__ import annotations

import base64
import csv
import io
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.periods import parse_period
from tests.support.cli import run_cli
from tests.support.fake_slack import FakeSlack, block_kit_problems
from tests.support.html import ReadPage
from tests.support.pipeline import M, add, job_context

ROME = ZoneInfo("Europe/Rome")
# The week of Monday 23 November 2026, in Rome.
WEEK = datetime(2026, 11, 23, tzinfo=ROME)


def _week(tmp_path: Path, db_url: str) -> dict[str, str]:
    ctx = job_context(tmp_path, db_url, timezone="Europe/Rome")
    mentions = [
        # Just outside the week on either side: not counted.
        M(WEEK - timedelta(minutes=30), "acmephone before the week", "negative"),
        M(WEEK + timedelta(days=7, minutes=10), "acmephone after the week", "negative"),
        # The week before: the comparison.
        *(M(WEEK - timedelta(days=3, hours=i), f"acmephone fine {i}", "neutral") for i in range(4)),
    ]
    for day in range(7):
        mentions.append(M(WEEK + timedelta(days=day, hours=10), f"acmephone battery recall day {day}", "negative"))
        mentions.append(M(WEEK + timedelta(days=day, hours=12), f"acmephone camera lovely {day}", "positive"))
    mentions.append(
        M(
            WEEK + timedelta(days=2, hours=9),
            "acmephone | battery <!channel> fire",
            "negative",
            url="https://t.test/1",
            likes=50,
        )
    )
    mentions.append(M(WEEK + timedelta(days=3), "globex rocks", "positive", brand="globex"))
    add(ctx.sessions, mentions)
    return {"BRANDPULSE_BRANDS_FILE": str(ctx.settings.brands_file), "BRANDPULSE_TIMEZONE": "Europe/Rome"}


def test_a_past_week_as_markdown(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    env = _week(tmp_path, db_url)
    result = run_cli(monkeypatch, db_url, "report", "--brand", "acme", "--period", "2026-11-23..2026-11-29", **env)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("# acme: 2026-11-23..2026-11-29\n")
    assert "Mon 23 Nov 2026 00:00 – Mon 30 Nov 2026 00:00 Europe/Rome" in text
    assert "**15 mentions** (the period before: 5)" in text  # 7 + 7 + 1; before: 4 + the one just before
    assert "| negative | 8 | 53% | +33 pts |" in text
    assert "| positive | 7 | 47% | +47 pts |" in text
    assert "| acme | 15 | 94% |" in text and "| globex | 1 | 6% |" in text  # share of voice
    assert "battery (8)" in text and "recall (7)" in text  # top words; the keyword acmephone left out
    # Most engaged first; a file, not Slack: the text as it was, with | escaped for the table-minded reader.
    negative = text.split("## Most engaged negative mentions")[1]
    assert negative.startswith("\n\n- acmephone \\| battery <!channel> fire (50 likes) <https://t.test/1>\n")
    assert "## Languages" not in text  # no language known: nothing to say
    # Themes: the battery recall and the camera, both new against a week that spoke of neither.
    themes = text.split("## What people talk about")[1].split("##")[0]
    assert "| battery recall · day | 7 | 47% | 0 | new | 100% | 0% | 0% | acmephone battery recall day" in themes
    assert "| camera lovely | 7 | 47% | 0 | new | 0% | 0% | 100% | acmephone camera lovely" in themes
    over_time = text.split("## Sentiment over time")[1]
    assert over_time.count("\n| 2026-11-") == 7  # one row per day of the week
    assert "| 2026-11-25 | 3 | 2 | 0 | 1 |" in over_time  # the day with the extra negative mention


def test_a_past_week_as_csv_and_as_a_chart(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    env = _week(tmp_path, db_url)
    args = ("report", "--brand", "acme", "--since", "2026-11-23", "--until", "2026-11-30", "--format", "csv")
    result = run_cli(monkeypatch, db_url, *args, **env)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    by_section: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_section.setdefault(row["section"], []).append(row)
    [period] = by_section["period"]
    assert period["key"] == "2026-11-23T00:00:00+01:00..2026-11-30T00:00:00+01:00"
    assert (period["mentions"], period["negative"], period["neutral"], period["positive"]) == ("15", "8", "0", "7")
    assert period["share"] == "0.5333"
    assert by_section["previous_period"][0]["mentions"] == "5"
    assert [r["key"][:10] for r in by_section["over_time"]] == [f"2026-11-{d}" for d in range(23, 30)]
    assert {r["key"]: r["share"] for r in by_section["share_of_voice"]} == {"acme": "0.9375", "globex": "0.0625"}
    words = {r["key"]: r["mentions"] for r in by_section["top_word"]}
    assert words["battery"] == "8" and words["recall"] == "7" and "acmephone" not in words
    assert any(r["text"] == "acmephone | battery <!channel> fire" for r in by_section["top_negative"])
    camera = next(r for r in by_section["theme"] if r["key"] == "camera lovely")
    assert (camera["mentions"], camera["positive"], camera["share"], camera["text"]) == (
        "7",
        "7",
        "0.4667",
        "new; 0 the period before",
    )

    chart = tmp_path / "week.png"
    result = run_cli(monkeypatch, db_url, *args[:-1], "png", "--output", str(chart), **env)
    assert result.exit_code == 0, result.output
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_missed_digest_is_posted_again_with_its_chart_in_its_thread(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    env = _week(tmp_path, db_url)
    with FakeSlack() as fake:
        args = ("report", "--brand", "acme", "--period", "2026-11-23..2026-11-29", "--post")
        slack = {"BRANDPULSE_SLACK_BOT_TOKEN": "xoxb-test", "BRANDPULSE_SLACK_API_URL": fake.api_url}
        result = run_cli(monkeypatch, db_url, *args, **env, **slack)
        assert result.exit_code == 0, result.output
        assert "report of acme queued for #acme: 15 mentions" in result.output
        assert "outbox: 1 delivered" in result.output
        [post] = fake.calls_to("chat.postMessage")
        assert post.params["channel"] == "#acme"  # the brand's digest channel
        assert block_kit_problems(post.params["blocks"]) == []
        assert post.params["blocks"][0]["text"]["text"] == "Report: acme, 2026-11-23..2026-11-29"
        shown = str(post.params["blocks"])
        assert "Mon 23 Nov 2026 00:00 – Mon 30 Nov 2026 00:00 Europe/Rome" in shown
        assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown
        [(channel, [file_id])] = fake.shared_files.items()
        assert fake.file_threads[file_id] == fake.posted[channel][0]
        assert fake.violations == []

        again = run_cli(monkeypatch, db_url, *args, **env, **slack)
        assert "already queued" in again.output and len(fake.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--brand", "nope"), "unknown brand 'nope'"),
        (("--brand", "acme", "--period", "fortnight"), "is not a period"),
        (("--brand", "acme", "--period", "2026-11-30..2026-11-01"), "ends before it starts"),
        (("--brand", "acme", "--period", "7d", "--since", "2026-11-01"), "either --period or --since"),
        (("--brand", "acme", "--since", "2026-11-30", "--until", "2026-11-01"), "--since must be before"),
    ],
)
def test_bad_reports_exit_2_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    db_url = f"sqlite:///{tmp_path / 'r.db'}"
    env = _week(tmp_path, db_url)
    result = run_cli(monkeypatch, db_url, "report", *args, **env)
    assert result.exit_code == 2 and message in result.output, result.output


def test_periods_follow_the_calendar_of_the_timezone() -> None:
    now = datetime(2026, 12, 1, 10, 30, tzinfo=ROME)  # a Tuesday
    last_week = parse_period("last week", now=now, tz=ROME)
    assert (last_week.start, last_week.end) == (
        datetime(2026, 11, 23, tzinfo=ROME),
        datetime(2026, 11, 30, tzinfo=ROME),
    )
    this_week = parse_period("this week", now=now, tz=ROME)
    assert (this_week.start, this_week.end) == (datetime(2026, 11, 30, tzinfo=ROME), now)
    last_month = parse_period("last  Month", now=now, tz=ROME)
    assert (last_month.start, last_month.end) == (
        datetime(2026, 11, 1, tzinfo=ROME),
        datetime(2026, 12, 1, tzinfo=ROME),
    )
    assert parse_period("yesterday", now=now, tz=ROME).start == datetime(2026, 11, 30, tzinfo=ROME)
    assert parse_period("today", now=now, tz=ROME).end == now
    assert parse_period("48h", now=now, tz=ROME).start == now - timedelta(hours=48)
    assert parse_period("last 2 weeks", now=now, tz=ROME).start == now - timedelta(weeks=2)
    # The day the clocks go back is 25 hours long: a day is a calendar day, not 24 hours.
    october = parse_period("2026-10-25", now=now, tz=ROME)
    assert october.end.astimezone(UTC) - october.start.astimezone(UTC) == timedelta(hours=25)


def test_a_past_week_as_one_self_contained_html_page(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    env = _week(tmp_path, db_url)
    page = tmp_path / "week.html"
    args = ("report", "--brand", "acme", "--period", "2026-11-23..2026-11-29", "--format", "html", "-o", str(page))
    result = run_cli(monkeypatch, db_url, *args, **env)
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert "<!channel>" not in html and "acmephone | battery &lt;!channel&gt; fire" in html  # escaped, not markup
    parsed = ReadPage()
    parsed.feed(html)
    assert parsed.sections == [
        "Sentiment over time", "Share of voice", "What people talk about",
        "Negative mentions, most engaged first", "Positive mentions, most engaged first",
    ]  # fmt: skip
    assert parsed.figures == [
        "mentions 15 +200% vs 5 before",
        "net sentiment -7 +13 pts vs the period before",
        "negative 53% +33 pts vs the period before",
        "share of voice 94% -6 pts vs the period before",
    ]
    # One file: the chart is inside it, a PNG; nothing is fetched from elsewhere.
    [chart] = parsed.images
    assert chart.startswith("data:image/png;base64,")
    assert base64.b64decode(chart.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "https://t.test/1" in parsed.links and "<link" not in html and "<script" not in html
    assert "battery recall · day" in parsed.cells and "camera lovely" in parsed.cells


def test_the_html_page_keeps_only_http_links() -> None:
    from bot.core.report_page import safe_url

    assert safe_url("https://t.test/a?b=1") == "https://t.test/a?b=1" and safe_url("HTTP://x.test") == "HTTP://x.test"
    assert safe_url("javascript:alert(1)") is None and safe_url("data:text/html,x") is None and safe_url(None) is None


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)
def test_the_html_page_as_chromium_shows_it(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    from matplotlib.image import imread

    env = _week(tmp_path, db_url)
    page, shot = tmp_path / "week.html", tmp_path / "week.png"
    args = ("report", "--brand", "acme", "--period", "2026-11-23..2026-11-29", "--format", "html", "-o", str(page))
    assert run_cli(monkeypatch, db_url, *args, **env).exit_code == 0
    browser = [
        "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1000,1800", f"--screenshot={shot}", page.as_uri(),
    ]  # fmt: skip
    subprocess.run(browser, check=True, capture_output=True, timeout=120)
    pixels = imread(shot)[:, :, :3]
    ink = (pixels < 0.9).any(axis=2)  # anything that is not (near) white
    assert 0.05 < ink.mean() < 0.6, ink.mean()  # a page with text and a chart, neither blank nor a block of colour
    vermillion = (abs(pixels - [0xD5 / 255, 0x5E / 255, 0]) < 0.06).all(axis=2)
    assert vermillion.sum() > 2000  # the chart's negative bars are drawn
    rows = ink.any(axis=1)
    assert rows[: len(rows) // 2].mean() > 0.3 and rows[len(rows) // 2 :].mean() > 0.1  # the tables below the chart too


def test_a_past_week_as_an_excel_workbook_with_numbers_as_numbers(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    env = _week(tmp_path, db_url)
    # A mention that reads like a spreadsheet formula, the most engaged negative one of the week.
    trap = '=HYPERLINK("https://evil.test","click") acmephone'
    add(job_context(tmp_path, db_url).sessions, [M(WEEK + timedelta(days=1, hours=11), trap, "negative", likes=999)])
    book_path = tmp_path / "week.xlsx"
    args = ("report", "--brand", "acme", "--period", "2026-11-23..2026-11-29", "--format", "xlsx", "-o", str(book_path))
    result = run_cli(monkeypatch, db_url, *args, **env)
    assert result.exit_code == 0, result.output
    book = load_workbook(book_path)
    assert book.sheetnames == ["Summary", "Over time", "Share of voice", "Themes", "Top mentions"]
    summary = {row[0].value: row[1] for row in book["Summary"].iter_rows(min_row=2)}
    assert summary["mentions"].value == 16 and summary["mentions, the period before"].value == 5
    assert summary["negative share"].value == pytest.approx(9 / 16) and summary["negative share"].number_format == "0%"
    assert summary["net sentiment (points)"].value == pytest.approx(round((7 - 9) / 16 * 100, 1))
    assert summary["start"].value == datetime(2026, 11, 23) and summary["period"].value == "23–29 Nov 2026"
    over_time = list(book["Over time"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in over_time] == [
        datetime(2026, 11, 23 + d) for d in range(7)
    ]  # Rome's days, as Excel times
    assert over_time[2][:5] == (datetime(2026, 11, 25), 3, 2, 0, 1) and over_time[2][5] == pytest.approx(2 / 3)
    voices = {row[0]: row[1:3] for row in book["Share of voice"].iter_rows(min_row=2, values_only=True)}
    assert voices["acme"] == (16, pytest.approx(16 / 17)) and voices["globex"] == (1, pytest.approx(1 / 17))
    mentions = book["Top mentions"]
    first = list(next(mentions.iter_rows(min_row=2, max_row=2)))
    # The text stays text: a spreadsheet must not run it.
    assert first[4].value == trap and first[4].data_type == "s" and first[5].value == 999
    texts = [row[4] for row in mentions.iter_rows(min_row=2, values_only=True)]
    assert "acmephone | battery <!channel> fire" in texts
    linked = next(row for row in mentions.iter_rows(min_row=2) if row[7].value)
    assert linked[7].hyperlink is not None and linked[7].hyperlink.target == "https://t.test/1"


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils is not installed (apt-get install poppler-utils): the PDF cannot be read back",
)
def test_a_past_week_as_a_pdf_read_back_as_pages_and_text(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    from matplotlib.image import imread

    env = _week(tmp_path, db_url)
    pdf = tmp_path / "week.pdf"
    args = ("report", "--brand", "acme", "--period", "2026-11-23..2026-11-29", "--format", "pdf", "-o", str(pdf))
    result = run_cli(monkeypatch, db_url, *args, **env)
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    words = " ".join(text.split())
    assert words.startswith("acme 23–29 Nov 2026")
    for expected in (
        "MENTIONS", "15", "+200% vs 5 before", "NET SENTIMENT", "NEGATIVE", "53%", "SHARE OF VOICE", "94%",
        "Sentiment over time", "Share of voice", "What people talk about", "battery recall", "camera lovely",
        "acmephone | battery <!channel> fire",  # a PDF shows the text as written: nothing in it is markup
    ):  # fmt: skip
        assert expected in words, expected
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages, "no page"
    first = imread(pages[0])[:, :, :3]
    assert 0.03 < (first < 0.9).any(axis=2).mean() < 0.6  # a page with print on it, not blank
    vermillion = (abs(first - [0xD5 / 255, 0x5E / 255, 0]) < 0.08).all(axis=2)
    assert vermillion.sum() > 100  # the chart is on the first page


def test_a_long_period_is_shown_in_weeks_and_a_longer_one_in_months(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    env = _week(tmp_path, db_url)
    quarter = run_cli(monkeypatch, db_url, "report", "--brand", "acme", "--period", "2026-09-01..2026-11-29", **env)
    over_time = quarter.stdout.split("## Sentiment over time")[1]
    assert over_time.startswith("\n\n| week | mentions |")
    rows = [line.split(" | ")[0].lstrip("| ") for line in over_time.splitlines() if line.startswith("| 2026-")]
    assert rows[0] == "2026-08-31" and rows[-1] == "2026-11-23" and len(rows) == 13  # Mondays, in Rome
    assert "| 2026-11-23 | 15 |" in over_time and "| 2026-11-16 | 5 |" in over_time
    year = run_cli(monkeypatch, db_url, "report", "--brand", "acme", "--period", "2026-01-01..2026-11-30", **env)
    over_time = year.stdout.split("## Sentiment over time")[1]
    assert (
        over_time.startswith("\n\n| month | mentions |") and "| 2026-11-01 | 21 |" in over_time
    )  # the whole month: 30 Nov too
