"""`brandpulse ingest --preset`: the CSV exports of Brandwatch, Meltwater, Talkwalker and Brand24, written as the
public code that reads them finds them (report lines above the header, UTF-16 with tabs, Unix milliseconds, a date
and a time in two columns), imported as mentions with their links, authors, languages, countries and counts; a bad
row costs only itself and a second import adds nothing."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core.presets import PRESETS
from storage.db import make_engine, make_sessionmaker
from storage.models import Mention
from tests.support.cli import run_cli


def stored(db_url: str) -> dict[str, Mention]:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            return {m.external_id: m for m in session.execute(select(Mention)).scalars()}
    finally:
        engine.dispose()


def table(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


BRANDWATCH_HEADER = [
    "Query Id", "Query Name", "Date", "Title", "Url", "Domain", "Sentiment", "Page Type", "Language", "Country",
    "Author", "Full Name", "Full Text", "Snippet", "X Followers", "X Likes", "X Reposts", "X Replies",
]  # fmt: skip


def brandwatch_export(path: Path) -> None:
    preamble = [
        ["Report:", "Mentions"],
        ["Brand:", "Acme"],
        ["Author:", "team@acme.example"],
        ["From:", "2021-05-01 00:00:00.0"],
        ["To:", "2021-05-08 00:00:00.0"],
        [],
    ]
    rows = [
        BRANDWATCH_HEADER,
        ["1998", "Apple", "2021-05-04 10:23:00.0", "My new iPhone is great", "https://x.com/ann/status/1", "x.com",
         "positive", "twitter", "en", "United States", "ann", "Ann A", "My new iPhone is great", "My new iPhone",
         "1,234", "12", "3", "1"],
        ["1998", "Apple", "2021-05-04 11:00:00.0", "Apple recalls chargers", "https://news.example/a", "news.example",
         "negative", "news", "en", "United Kingdom", "", "", "The company said on Monday it would recall...", "",
         "", "", "", ""],
        ["1998", "Apple", "last Tuesday-ish", "apple", "https://x.com/bob/status/2", "x.com", "neutral", "twitter",
         "en", "", "bob", "", "my ipad froze", "", "", "", "", ""],
    ]  # fmt: skip
    path.write_text(table(preamble) + table(rows), encoding="utf-8-sig")


def test_a_brandwatch_export_with_its_report_lines_imports_once(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "Acme mentions.csv"
    brandwatch_export(path)
    result = run_cli(monkeypatch, db_url, "ingest", "--preset", "brandwatch", str(path), BRANDPULSE_TIMEZONE="UTC")
    assert result.exit_code == 1  # one row rejected
    assert f"{path}:10: 'created_at': cannot parse date 'last Tuesday-ish'" in result.stderr
    assert "2 added" in result.stdout
    mentions = stored(db_url)
    tweet = mentions["https://x.com/ann/status/1"]  # Brandwatch has no id column: the link is the id
    assert (tweet.source, tweet.brand, tweet.text, tweet.author) == (
        "brandwatch",
        "apple",
        "My new iPhone is great",
        "ann",
    )
    assert tweet.created_at == datetime(2021, 5, 4, 10, 23, tzinfo=UTC)
    assert (tweet.language, tweet.country, tweet.author_followers, tweet.likes, tweet.reposts, tweet.replies) == (
        "en", "us", 1234, 12, 3, 1,
    )  # fmt: skip
    news = mentions["https://news.example/a"]
    assert news.text == "Apple recalls chargers — The company said on Monday it would recall..."
    assert (news.author, news.country, news.likes) == (None, "gb", None)

    again = run_cli(monkeypatch, db_url, "ingest", "--preset", "brandwatch", str(path), BRANDPULSE_TIMEZONE="UTC")
    assert "0 added, 2 already stored, 1 rejected" in again.stdout


def test_a_meltwater_export_in_utf16_with_tabs_joins_its_date_and_time(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    header = [
        "Date", "Time", "Document ID", "URL", "Input Name", "Keywords", "Information Type", "Source Type",
        "Source Name", "Source Domain", "Content Type", "Author Name", "Author Handle", "Title", "Opening Text",
        "Hit Sentence", "Country", "Language", "Sentiment", "Reach", "Likes", "Replies", "Reposts",
    ]  # fmt: skip
    rows = [
        header,
        ["04-Jan-2023", "10:32 AM", "mw-1", "https://twitter.com/c/status/9", "Acme", "google", "Social", "Twitter",
         "Twitter", "twitter.com", "Post", "Carla", "@carla", "", "", "Google Maps sent me into a lake", "Italy",
         "Italian", "Negative", "5400", "7", "2", "4"],
        ["04-Jan-2023", "11:05 PM", "mw-2", "https://giornale.example/x", "Acme", "google", "News", "News",
         "Il Giornale", "giornale.example", "Article", "Dario", "", "Google apre a Milano",
         "Google apre un nuovo ufficio", "Google apre un nuovo ufficio a Milano", "Italy", "Italian", "Positive",
         "90000", "", "", ""],
    ]  # fmt: skip
    path = tmp_path / "meltwater.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + table(rows, delimiter="\t").encode("utf-16-le"))
    result = run_cli(monkeypatch, db_url, "ingest", "--preset", "meltwater", str(path), BRANDPULSE_TIMEZONE="UTC")
    assert result.exit_code == 0, result.stderr
    mentions = stored(db_url)
    post = mentions["mw-1"]
    assert (post.source, post.brand, post.text, post.author) == (
        "meltwater", "google", "Google Maps sent me into a lake", "@carla",
    )  # fmt: skip
    assert post.created_at == datetime(2023, 1, 4, 10, 32, tzinfo=UTC)
    assert (post.language, post.country, post.likes, post.replies, post.reposts) == ("it", "it", 7, 2, 4)
    article = mentions["mw-2"]
    assert article.text == "Google apre a Milano — Google apre un nuovo ufficio a Milano"
    assert article.created_at == datetime(2023, 1, 4, 23, 5, tzinfo=UTC)


def test_a_talkwalker_export_with_unix_milliseconds(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    header = [
        "url", "indexed", "published", "search_indexed", "title_snippet", "content_snippet", "title", "content",
        "lang", "sentiment", "source_type", "extra_author_attributes.name", "extra_author_attributes.short_name",
        "extra_source_attributes.world_data.country_code", "source_extended_attributes.twitter_followers",
        "article_extended_attributes.twitter_likes", "article_extended_attributes.num_comments", "engagement",
    ]  # fmt: skip
    rows = [
        header,
        ["https://x.com/dora/status/5", "1701342060000", "1701342000000", "1701342060000", "", "",
         "", "Microsoft Teams is down again", "en", "-3", "SOCIALMEDIA_TWITTER", "Dora", "dora", "de", "880", "31",
         "4", "35"],
    ]  # fmt: skip
    path = tmp_path / "talkwalker.csv"
    path.write_text(table(rows))
    result = run_cli(monkeypatch, db_url, "ingest", "--preset", "talkwalker", str(path))
    assert result.exit_code == 0, result.stderr
    mention = stored(db_url)["https://x.com/dora/status/5"]
    assert (mention.brand, mention.text, mention.author, mention.language, mention.country) == (
        "microsoft", "Microsoft Teams is down again", "dora", "en", "de",
    )  # fmt: skip
    assert mention.created_at == datetime(2023, 11, 30, 11, 0, tzinfo=UTC)
    assert (mention.author_followers, mention.likes, mention.replies) == (880, 31, 4)


def test_a_brand24_export_with_the_link_in_its_source_column(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    rows = [
        [],
        ["", "ID", "Date", "Hrs", "Title", "Content", "Source", "Domain", "Category", "Sentiment", "Tags"],
        ["", "b24-1", "2024-05-04", "10:23", "", "twitter outage again", "https://x.com/eve/status/7", "x.com",
         "Twitter", "-1", ""],
        ["", "b24-2", "2024-05-04", "12:00", "Apple event recap", "Apple showed the new iPad", "https://blog.example/r",
         "blog.example", "Blogs", "0", ""],
    ]  # fmt: skip
    path = tmp_path / "brand24.csv"
    path.write_text(table(rows))
    result = run_cli(monkeypatch, db_url, "ingest", "--preset", "brand24", str(path), BRANDPULSE_TIMEZONE="UTC")
    assert result.exit_code == 0, result.stderr
    mentions = stored(db_url)
    outage = mentions["b24-1"]
    assert (outage.brand, outage.url, outage.source) == ("twitter", "https://x.com/eve/status/7", "brand24")
    assert outage.created_at == datetime(2024, 5, 4, 10, 23, tzinfo=UTC)
    assert mentions["b24-2"].text == "Apple event recap — Apple showed the new iPad"


def test_a_file_of_another_tool_is_refused_with_what_the_preset_looks_for(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    brandwatch_export(path)
    result = run_cli(monkeypatch, db_url, "ingest", "--preset", "talkwalker", str(path))
    assert result.exit_code == 1 and stored(db_url) == {}
    assert "none of the first 30 lines is the header row looked for" in result.stderr
    assert "a Talkwalker (results export) export has a header row with the columns url, published" in result.stderr


def test_field_names_an_exports_column_to_read_instead(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    brandwatch_export(path)
    args = ("ingest", "--preset", "brandwatch", "--field", "author=Full Name", "--source", "bw", str(path))
    run_cli(monkeypatch, db_url, *args, BRANDPULSE_TIMEZONE="UTC")
    tweet = stored(db_url)["https://x.com/ann/status/1"]
    assert (tweet.author, tweet.source) == ("Ann A", "bw")


def test_every_preset_is_documented() -> None:
    guide = (Path(__file__).resolve().parents[3] / "docs" / "guide" / "command-line.md").read_text()
    for name, preset in PRESETS.items():
        assert f"`{name}`" in guide and preset.tool.split(" (")[0] in guide


def test_a_broken_row_of_a_utf16_export_costs_only_itself(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    """A row with a field too many, and a text holding a lone UTF-16 surrogate (read as U+FFFD), among good rows."""
    rows = [
        ["Date", "Time", "Document ID", "URL", "Hit Sentence"],
        ["04-Jan-2023", "10:32 AM", "mw-1", "https://x.example/1", "google is fine"],
        ["04-Jan-2023", "10:33 AM", "mw-2", "https://x.example/2", "google", "one field too many"],
        ["04-Jan-2023", "10:34 AM", "mw-3", "https://x.example/3", "google LONE"],
    ]
    encoded = codecs.BOM_UTF16_LE + table(rows, delimiter="\t").encode("utf-16-le")
    encoded = encoded.replace("LONE".encode("utf-16-le"), b"\x00\xd8")  # an unpaired high surrogate
    path = tmp_path / "meltwater.csv"
    path.write_bytes(encoded)
    result = run_cli(monkeypatch, db_url, "ingest", "--preset", "meltwater", str(path), BRANDPULSE_TIMEZONE="UTC")
    assert f"{path}:3: expected 5 fields as in the header, got 6" in result.stderr
    mentions = stored(db_url)
    assert set(mentions) == {"mw-1", "mw-3"} and mentions["mw-3"].text == "google \ufffd"


@pytest.mark.parametrize(("above", "found"), [(29, True), (30, False)])
def test_the_header_is_looked_for_in_the_first_30_lines(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, above: int, found: bool
) -> None:
    path = tmp_path / "export.csv"
    row = ["1", "Apple", "2021-05-04 10:23:00.0", "", "https://x.com/a/1", "x.com", "", "twitter", "en", "", "ann",
           "", "my new ipad", "", "", "", "", ""]  # fmt: skip
    path.write_text("Report:,Mentions\n" * above + table([BRANDWATCH_HEADER, row]))
    result = run_cli(monkeypatch, db_url, "ingest", "--preset", "brandwatch", str(path))
    assert (result.exit_code == 0) is found and (len(stored(db_url)) == 1) is found
    assert ("none of the first 30 lines is the header row" in result.stderr) is not found


def test_a_country_or_count_an_export_writes_oddly_is_left_empty_not_the_row(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    row = ["1", "Apple", "2021-05-04 10:23:00.0", "", "https://x.com/a/1", "x.com", "", "twitter", "en", "Atlantis",
           "ann", "", "my new ipad", "", "lots", "1.5", "", ""]  # fmt: skip
    path.write_text(table([BRANDWATCH_HEADER, row]))
    args = ("ingest", "--preset", "brandwatch", "--field", "brand=Query Name", str(path))
    result = run_cli(monkeypatch, db_url, *args, BRANDPULSE_TIMEZONE="UTC")
    assert result.exit_code == 0, result.stderr
    mention = stored(db_url)["https://x.com/a/1"]
    assert (mention.brand, mention.country, mention.author_followers, mention.likes) == ("apple", None, None, None)
