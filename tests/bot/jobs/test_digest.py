"""Digests: figures against the previous period, strongest mentions with links, the chart, the empty period."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from analysis.encoder import SentenceEncoder, load_encoder
from analysis.errors import ModelUnavailable
from bot.cli.report import _csv, _markdown
from bot.core.digest import build_digest
from bot.jobs import digest
from bot.jobs.deps import JobContext
from bot.jobs.registry import build_jobs, run_occurrence
from storage.models import OutboxMessage
from tests.support.fake_slack import block_kit_problems
from tests.support.pipeline import T0, M, add, job_context, stream
from tests.support.topics import topic_mentions

DAY = timedelta(days=1)


def _queued(ctx) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with ctx.sessions() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_a_daily_digest_compares_with_the_day_before(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url, timezone="Europe/Rome")
    start = T0 + 9 * timedelta(hours=1) - timedelta(hours=1)  # 09:00 Rome is 08:00 UTC in March
    add(ctx.sessions, [M(start - DAY + timedelta(hours=i), f"acmephone ok {i}", "neutral") for i in range(10)])
    today = [M(start + timedelta(hours=i % 20), f"acmephone great {i}", "positive") for i in range(12)]
    today += [
        M(start + timedelta(hours=3), "acmephone <!channel> broke & died", "negative", url="https://t.test/s?a=1&b=2"),
        M(start + timedelta(hours=4), "acmephone slow", "negative"),
        M(start + timedelta(hours=5), "acmephone not yet classified"),
    ]
    add(ctx.sessions, today)
    summary = digest.queue(ctx, "acme", start=start, end=start + DAY)
    assert summary == "digest of acme queued for #acme: 15 mentions"
    [message] = _queued(ctx)
    assert message.kind == "digest" and message.channel == "#acme"
    text = message.payload["text"]
    assert "15 mentions" in text and "positive 86% (+86 pts)" in text and "negative 14%" in text
    assert "Mon 02 Mar 2026 09:00 – Tue 03 Mar 2026 09:00 Europe/Rome" in text
    blocks = message.payload["blocks"]
    assert block_kit_problems(blocks) == []
    shown = json.dumps(blocks)
    assert "+50% vs the previous period's 10" in shown
    assert "&lt;!channel&gt; broke &amp; died" in shown and "<!channel>" not in shown
    assert "<https://t.test/s?a=1&amp;b=2|link>" in shown
    assert "1 not classified yet" in shown
    assert message.attachment is not None and message.attachment.startswith(b"\x89PNG")
    assert message.attachment_name == "acme-20260303-0900.png"
    # The same digest again (another process, a manual re-run of the occurrence) is not queued twice.
    assert "already queued" in digest.queue(ctx, "acme", start=start, end=start + DAY)


def test_a_digest_gives_the_share_of_voice_and_quotes_reposts_once_most_engaged_first(
    tmp_path: Path, db_url: str
) -> None:
    ctx = job_context(tmp_path, db_url, digest_top=3)
    start = T0
    at = start + timedelta(hours=2)
    reposts = [M(at, f"RT @fan: acmephone died again https://t.co/{i}", "negative") for i in range(3)]
    add(
        ctx.sessions,
        [
            *reposts,
            M(at, "acmephone died again", "negative", likes=2),
            M(at, "acmephone slow", "negative", likes=40, reposts=10),
            M(at, "acmephone meh", "negative"),
            M(at, "globex rocks", "positive", brand="globex"),
            M(at, "globex fine", "neutral", brand="globex"),
        ],
    )
    digest.queue(ctx, "acme", start=start, end=start + DAY)
    [message] = _queued(ctx)
    text = message.payload["text"]
    assert "Share of voice: 75% of the 8 mentions of the 2 brands (globex 25%)" in text
    sections = [b for b in message.payload["blocks"] if b["type"] == "section"]
    title = next(i for i, b in enumerate(sections) if b["text"]["text"] == "*Negative, most engaged first*")
    quoted = sections[title + 1 : title + 4]
    negative = [b["text"]["text"] for b in quoted]
    # One section per quoted mention, with the menu to act on it.
    assert all(b["accessory"]["action_id"] == "mention_menu" for b in quoted)
    assert len(quoted) == 3 and all(
        "accessory" not in b for b in sections[title + 4 :] if "most engaged" in b["text"]["text"]
    )
    assert "acmephone slow _(40 likes, 10 reposts)_" in negative[0]
    # The original and its three reposts: one line, the original quoted, 2 likes and 3 reposts of engagement.
    assert "acmephone died again _(×4, 2 likes)_" in negative[1] and "RT @fan" not in negative[1]
    assert "acmephone meh" in negative[2]


def test_a_period_without_mentions_gives_a_short_digest(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url)
    digest.queue(ctx, "globex", start=T0, end=T0 + 7 * DAY)
    [message] = _queued(ctx)
    assert message.channel == "C0GLOBEX01"
    assert "no mentions in this period" in message.payload["text"]
    assert len(message.payload["blocks"]) == 3 and message.attachment is None


def test_the_scheduled_digest_covers_its_cron_period(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url)
    add(ctx.sessions, stream(start=T0, hours=14 * 24, rate=2, seed=9))
    jobs = {job.name: job for job in build_jobs(ctx)}
    # globex's digest is weekly (Mondays 09:00): its period is the week before.
    monday = T0 + 7 * DAY + timedelta(hours=9)
    run_occurrence(ctx, jobs["digest:globex"], monday)
    run_occurrence(ctx, jobs["digest:acme"], monday)
    run_occurrence(ctx, jobs["digest:acme"], monday)  # a second process: claimed already, nothing happens
    globex, acme = _queued(ctx)
    assert "Mon 02 Mar 2026 09:00 – Mon 09 Mar 2026 09:00" in globex.payload["text"]
    assert "Sun 08 Mar 2026 09:00 – Mon 09 Mar 2026 09:00" in acme.payload["text"]
    assert len(_queued(ctx)) == 2


def test_ten_long_mentions_with_long_links_still_fit_block_kit(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url, digest_top=10)
    url = "https://t.test/" + "x" * 900
    add(
        ctx.sessions,
        [M(T0 + timedelta(hours=i), f"acmephone {'broken ' * 60}{i}", "negative", url=url) for i in range(10)],
    )
    digest.queue(ctx, "acme", start=T0, end=T0 + DAY)
    [message] = _queued(ctx)
    blocks = message.payload["blocks"]
    assert block_kit_problems(blocks) == []
    shown = json.dumps(blocks)
    assert shown.count("|link>") == 10 and shown.count(":rage:") == 10


def test_a_digest_shows_the_language_mix_and_where_the_negative_mentions_are(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url)
    at = T0 + timedelta(hours=2)
    english = [M(at, f"acmephone fine {i}", "negative" if i < 2 else "positive", language="en") for i in range(10)]
    spanish = [M(at, f"acmephone roto {i}", "negative" if i < 4 else "neutral", language="es") for i in range(6)]
    others = [M(at, f"acmephone {c}", "neutral", language=c) for c in ("it", "it", "de", "fr", "nl")]
    add(ctx.sessions, [*english, *spanish, *others, M(at, "acmephone 👍", "positive")])
    digest.queue(ctx, "acme", start=T0, end=T0 + DAY)
    [message] = _queued(ctx)
    # 22 mentions: 10 English, 6 Spanish (4 negative), 2 Italian, one each of German, French, Dutch and unknown.
    line = (
        "Languages: English 45% (20% negative) · Spanish 27% (67% negative) · Italian 9% · German 5%"
        " · other or unknown 14%"
    )
    assert line in message.payload["text"]
    assert line in json.dumps(message.payload["blocks"], ensure_ascii=False)
    assert block_kit_problems(message.payload["blocks"]) == []


def test_a_digests_top_words_leave_out_each_languages_stop_words_and_the_brands_keywords(
    tmp_path: Path, db_url: str
) -> None:
    ctx = job_context(tmp_path, db_url)
    at = T0 + timedelta(hours=2)
    add(
        ctx.sessions,
        [M(at, f"acmephone: la batería explota {i}", "negative", language="es") for i in range(4)]
        + [M(at, f"the acmephone battery is dying {i}", "negative", language="en") for i in range(3)]
        + [M(at, "यह acmephone बहुत अच्छा है, बैटरी भी", "positive", language="hi") for _ in range(2)]
        + [M(at, "acmephone once", "neutral", language="en")],
    )
    digest.queue(ctx, "acme", start=T0, end=T0 + DAY)
    [message] = _queued(ctx)
    line = next(line for line in message.payload["text"].splitlines() if line.startswith("Top words: "))
    # "acmephone" is the brand's keyword; "la", "the", "is", "यह", "है" are stop words; "once" is in one mention.
    assert line == "Top words: batería (4) · explota (4) · battery (3) · dying (3) · अच्छा (2)"


def test_a_digest_says_who_said_it_widest_reach_first(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url)
    at = T0 + timedelta(hours=2)
    add(
        ctx.sessions,
        [
            M(at, "acmephone broke", "negative", author="bigvoice", author_followers=90_000, likes=100),
            M(at, "acmephone broke again", "negative", author="bigvoice", author_followers=90_000),
            M(at, "acmephone ok", "neutral", author="pipe|name", author_followers=500),
            M(at, "acmephone third", "neutral", author="third", author_followers=300),
            M(at, "acmephone fourth", "neutral", author="fourth", author_followers=200),  # past the three shown
            M(at, "acmephone fine", "positive", author="quiet"),  # one mention, no reach known: left out
            M(at, "acmephone nice", "positive"),  # no author
        ],
    )
    digest.queue(ctx, "acme", start=T0, end=T0 + DAY)
    [message] = _queued(ctx)
    expected = (
        "Top authors: bigvoice (test): 2 mentions, reach 180,100, 2 negative · pipe|name (test): 1 mention, reach 500"
        " · third (test): 1 mention, reach 300"
    )
    assert expected in message.payload["text"]
    assert expected in message.payload["blocks"][1]["text"]["text"] and "fourth" not in message.payload["text"]
    with ctx.sessions() as session:
        built = build_digest(session=session, brand="acme", start=T0, end=T0 + DAY, tz=ZoneInfo("UTC"), top=3)
    markdown = _markdown(built, ZoneInfo("UTC"), "report")
    assert "| pipe\\|name | test | 1 | 500 | 0 |" in markdown and "| bigvoice | test | 2 | 180,100 | 2 |" in markdown
    assert "top_author,test:bigvoice,2,2,0,0,,180100,," in _csv(built)


def test_a_digest_and_a_report_say_how_people_feel_against_the_period_before(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url)
    at, before = T0 + timedelta(hours=2), T0 - DAY + timedelta(hours=2)
    feelings = ["anger"] * 6 + ["sadness"] * 2 + ["joy"] * 2
    now = [M(at, f"acmephone {i}", "negative", emotion=e) for i, e in enumerate(feelings)]
    now.append(M(at, "acmephone not read yet", "neutral"))  # classified, its emotion not read: not counted
    earlier = [
        M(before, f"acmephone {i}", "neutral", emotion=e) for i, e in enumerate(["anger", "joy", "joy", "optimism"])
    ]
    add(ctx.sessions, now + earlier)
    digest.queue(ctx, "acme", start=T0, end=T0 + DAY)
    [message] = _queued(ctx)
    line = "Emotions: :rage: anger 60% (+35 pts) · :joy: joy 20% (-30 pts) · :cry: sadness 20% (+20 pts) · :sunrise: optimism 0% (-25 pts)"
    assert line in message.payload["blocks"][1]["text"]["text"]
    assert "Emotions: anger 60% (+35 pts) · joy 20% (-30 pts) · sadness 20%" in message.payload["text"]
    with ctx.sessions() as session:
        built = build_digest(session=session, brand="acme", start=T0, end=T0 + DAY, tz=ZoneInfo("UTC"), top=3)
    markdown = _markdown(built, ZoneInfo("UTC"), "report")
    assert "Of the 10 mentions the emotion model read (the period before: 4)." in markdown
    assert "| anger | 6 | 60% | +35 pts |" in markdown and "| optimism | 0 | 0% | -25 pts |" in markdown
    csv = _csv(built)
    assert "emotion,anger,6,,,,0.6000,,0.2500 the period before," in csv
    assert "emotion,optimism,0,,,,0.0000,,0.2500 the period before," in csv
    # A period nobody's emotion was read in: no line, no section, no rows.
    with ctx.sessions() as session:
        later = build_digest(session=session, brand="acme", start=T0 + DAY, end=T0 + 2 * DAY, tz=ZoneInfo("UTC"), top=3)
    assert "## Emotions" not in _markdown(later, ZoneInfo("UTC"), "report") and "\nemotion," not in _csv(later)


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_encoder()


def _talk(ctx: JobContext) -> None:
    mentions = []
    for number, (topic, before, now) in enumerate([("battery", 20, 22), ("price", 0, 18), ("camera", 20, 4)]):
        mentions += topic_mentions(topic, before, start=T0 - DAY, hours=24, seed=number)
        mentions += topic_mentions(topic, now, start=T0, hours=24, seed=10 + number)
    add(ctx.sessions, mentions)


def test_a_digest_says_what_people_talk_about(tmp_path: Path, db_url: str, encoder: SentenceEncoder) -> None:
    ctx = replace(job_context(tmp_path, db_url), encoder=lambda: encoder)
    _talk(ctx)
    digest.queue(ctx, "acme", start=T0, end=T0 + DAY)
    [message] = _queued(ctx)
    assert block_kit_problems(message.payload["blocks"]) == []
    [talk] = [b["text"]["text"] for b in message.payload["blocks"] if "What people talk about" in str(b)]
    lines = talk.split("\n")[1:]
    assert 2 <= len(lines) <= 6 and all(line.startswith(("• *", "• Fading: *")) for line in lines)
    # The price talk (one theme or more, by its wordings) is new; the camera's is fading.
    # The price talk (one theme or more, by its wordings) is new; the camera's is fading, under the largest five.
    price = [line for line in lines if "price" in line.split("*")[1]]
    assert price and all(", 100% negative, :new: new (0 before)" in line for line in price)
    assert lines[-1].startswith("• Fading: *") and "camera" in lines[-1] and "before)" in lines[-1]
    assert "What people talk about: " in message.payload["text"]


def test_a_digest_goes_out_without_themes_when_they_are_off_or_cannot_load(
    tmp_path: Path, db_url: str, encoder: SentenceEncoder
) -> None:
    off = replace(job_context(tmp_path, db_url, themes_in_digests=False), encoder=lambda: encoder)
    _talk(off)
    digest.queue(off, "acme", start=T0, end=T0 + DAY)

    def broken() -> SentenceEncoder:
        raise ModelUnavailable("cannot load the themes encoder 'nowhere/encoder'")

    digest.queue(replace(off, settings=off.settings.model_copy(update={"themes_in_digests": True}), encoder=broken),
                 "acme", start=T0, end=T0 + 2 * DAY)  # fmt: skip
    messages = _queued(off)
    assert len(messages) == 2 and not any("What people talk about" in str(m.payload) for m in messages)
