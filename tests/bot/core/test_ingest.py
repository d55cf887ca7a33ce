from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from analysis.language import BackgroundDetector, Detected
from storage.db import make_engine, make_sessionmaker
from storage.models import Mention
from tests.support.cli import run_cli


def stored(db_url: str) -> list[Mention]:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.execute(select(Mention).order_by(Mention.id)).scalars())
    finally:
        engine.dispose()


def test_sanders_corpus_imports_once(monkeypatch: pytest.MonkeyPatch, db_url: str, sanders: Path) -> None:
    first = run_cli(monkeypatch, db_url, "ingest", str(sanders))
    assert first.exit_code == 0, first.output
    assert "5,113 rows read, 5,113 added, 0 already stored, 0 rejected" in first.stdout
    second = run_cli(monkeypatch, db_url, "ingest", str(sanders))
    assert second.exit_code == 0
    assert "5,113 rows read, 0 added, 5,113 already stored, 0 rejected" in second.stdout

    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        per_brand = dict(session.execute(select(Mention.brand, func.count()).group_by(Mention.brand)).all())
        # Three batches: the first two detected in the helper process, the last one here; all alike.
        languages = dict(session.execute(select(Mention.language, func.count()).group_by(Mention.language)).all())
        unsure = session.execute(
            select(func.count()).where(Mention.language.is_not(None), Mention.language_confidence.is_(None))
        ).scalar_one()
        first_row = session.execute(
            select(Mention).where(Mention.external_id == "sanders-125082707389718529")
        ).scalar_one()
    engine.dispose()
    assert per_brand == {"apple": 1142, "google": 1317, "microsoft": 1364, "twitter": 1290}
    # Sanders' "irrelevant" tweets include other languages (Spanish, German, Dutch...); most are English.
    assert languages["en"] > 3000 and languages["es"] > 500 and languages["fr"] > 100 and unsure == 0
    assert sum(languages.values()) == 5113 and languages.get(None, 0) < 20
    assert first_row.source == "import"
    assert first_row.status == "pending" and first_row.label is None
    assert first_row.created_at.isoformat() == "2011-10-15T05:36:56+00:00"


def test_bad_rows_are_reported_by_line_and_good_rows_land(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    good = {"id": "g1", "brand": "apple", "created_at": "2024-01-01T10:00:00Z", "text": "my iphone is great"}
    lines = [
        json.dumps(good).encode(),  # 1
        json.dumps({"id": "b2", "brand": "apple", "text": "   "}).encode(),  # 2 no text
        json.dumps({"id": "b3", "brand": "apple", "created_at": "yesterday-ish", "text": "x"}).encode(),  # 3
        b'{"id": "b4", "brand": "apple", "text": "caf\xe9"}',  # 4 invalid UTF-8
        json.dumps({"id": "b5", "brand": "apple", "text": "a" * 40_001}).encode(),  # 5 too long
        json.dumps({"id": "b6", "brand": "nokia", "text": "my nokia"}).encode(),  # 6 unknown brand
        b"",  # 7 blank lines are skipped
        b'{"id": "b8", "text": ',  # 8 invalid JSON
        json.dumps({"id": "g9", "text": "Switching to #Android from @apple"}).encode(),  # 9 matched: google
        json.dumps({"id": "b10", "text": "no brand in here"}).encode(),  # 10 nothing matches
        b'["a", "list"]',  # 11
        b'{"id": "b12", "brand": "apple", "text": "lone \\ud800 surrogate"}',  # 12
        json.dumps({"id": "g13", "brand": "Microsoft", "text": "NUL\u0000 and <!channel> \u202e"}).encode(),  # 13
        json.dumps({"id": "b14", "brand": "apple", "text": 42}).encode(),  # 14
        json.dumps({"id": "b15", "brand": "apple", "text": "ok", "created_at": "0001-01-01T00:00:00"}).encode(),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    result = run_cli(monkeypatch, db_url, "ingest", str(path))
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith(str(path))]
    reasons = {int(line.split(":")[1]): line.split(":", 2)[2].strip() for line in errors}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 8, 10, 11, 12, 14, 15]
    assert reasons[2].startswith("no text")
    assert "cannot parse date 'yesterday-ish'" in reasons[3]
    assert reasons[4].startswith("invalid UTF-8")
    assert "40,001 characters" in reasons[5]
    assert reasons[6].startswith("unknown brand 'nokia'")
    assert reasons[8].startswith("invalid JSON")
    assert reasons[10].startswith("mentions no configured brand")
    assert reasons[11].startswith("expected a JSON object")
    assert reasons[12].startswith("invalid UTF-8 in 'text'")
    assert reasons[14] == "'text' must be a string, got int"
    assert "0001-01-01T00:00:00+00:00 is before 1990-01-01" in reasons[15]
    # Line 9 names two brands: it is a mention of each.
    assert "14 rows read, 4 added, 0 already stored, 11 rejected (4 mentions: a row that names several" in result.stdout

    rows = stored(db_url)
    assert sorted((m.external_id, m.brand) for m in rows) == [
        ("g1", "apple"),
        ("g13", "microsoft"),
        ("g9", "apple"),
        ("g9", "google"),
    ]
    mentions = {m.external_id: m for m in rows}
    assert mentions["g13"].text == "NUL and <!channel> \u202e"


def test_csv_with_mapped_columns_and_multiline_fields(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        b"tweet_id,body,when,user\n"
        b'1,"Love the new iPhone",2024-05-01 09:30:00,alice\n'
        b'2,"two\nline text about #Google",2024-05-01T10:00:00+02:00,bob\n'
        b"3,,2024-05-01,carol\n"
        b"4,caf\xe9 apple,2024-05-01,dave\n"
        b"5,too,many,fields,here\n"
        b"6,windows crashed again,,erin\n"
    )
    result = run_cli(
        monkeypatch,
        db_url,
        "ingest",
        str(path),
        "--field",
        "id=tweet_id",
        "--field",
        "text=body",
        "--field",
        "created_at=when",
        "--field",
        "author=user",
        "--source",
        "crm",
        BRANDPULSE_TIMEZONE="Europe/Rome",
    )
    assert result.exit_code == 1
    assert f"{path}:5: no text" in result.stderr
    assert f"{path}:6: invalid UTF-8 in 'body'" in result.stderr
    assert f"{path}:7: expected 4 fields as in the header, got 5" in result.stderr
    mentions = {m.external_id: m for m in stored(db_url)}
    assert set(mentions) == {"1", "2", "6"}
    assert mentions["1"].author == "alice" and mentions["1"].brand == "apple" and mentions["1"].source == "crm"
    # A naive time is read in the configured timezone.
    assert mentions["1"].created_at.isoformat() == "2024-05-01T07:30:00+00:00"
    assert mentions["2"].text == "two\nline text about #Google" and mentions["2"].brand == "google"
    assert mentions["6"].brand == "microsoft"


def test_rows_without_id_are_deduplicated_by_content(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "noid.jsonl"
    path.write_text('{"text": "apple again"}\n{"text": "apple again", "created_at": "2024-01-01"}\n')
    assert run_cli(monkeypatch, db_url, "ingest", str(path)).exit_code == 0
    again = run_cli(monkeypatch, db_url, "ingest", str(path))
    assert "2 rows read, 0 added, 2 already stored" in again.stdout
    assert len(stored(db_url)) == 2


def test_stdin_forced_brand_and_unreadable_files(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    result = run_cli(
        monkeypatch,
        db_url,
        "ingest",
        "-",
        "--format",
        "jsonl",
        "--brand",
        "twitter",
        input='{"id": "s1", "text": "nothing branded"}\n',
    )
    assert result.exit_code == 0, result.output
    assert [m.brand for m in stored(db_url)] == ["twitter"]

    missing = run_cli(monkeypatch, db_url, "ingest", str(tmp_path / "missing.jsonl"))
    assert missing.exit_code == 1 and "missing.jsonl" in missing.stderr

    unknown = run_cli(monkeypatch, db_url, "ingest", "-", "--format", "jsonl", "--brand", "nokia", input="")
    assert unknown.exit_code == 2 and "unknown brand 'nokia'" in unknown.stderr

    odd = tmp_path / "data.xml"
    odd.write_text("<x/>")
    assert "--format jsonl" in run_cli(monkeypatch, db_url, "ingest", str(odd)).stderr

    bad_field = run_cli(monkeypatch, db_url, "ingest", str(odd), "--field", "body")
    assert bad_field.exit_code == 2 and "expected NAME=COLUMN" in bad_field.stderr


def test_a_row_the_database_refuses_costs_only_that_row(db_url: str, tmp_path: Path) -> None:
    from datetime import UTC

    from bot.config.brands import load_brands
    from bot.config.connection_settings import EXAMPLE_BRANDS_FILE
    from bot.core.ingest import Importer
    from storage.migrate import upgrade

    class LabellingImporter(Importer):
        """Stores a label the schema's CHECK constraint refuses, on one row only."""

        def to_rows(self, values: dict[str, Any], ingested_at: Any, **options: Any) -> Any:
            label = "furious" if values["id"] == "2" else None
            return [{**row, "label": label} for row in super().to_rows(values, ingested_at, **options)]

    path = tmp_path / "rows.jsonl"
    path.write_text(
        "".join(json.dumps({"id": str(i), "brand": "apple", "text": f"row {i}"}) + "\n" for i in range(1, 5))
    )
    engine = make_engine(db_url)
    upgrade(engine)
    importer = LabellingImporter(engine=engine, matcher=load_brands(EXAMPLE_BRANDS_FILE).matcher(), tz=UTC)
    report = importer.import_file(path)
    engine.dispose()
    assert (report.added, report.duplicates) == (3, 0)
    assert [(r.line, r.reason.split(":")[0]) for r in report.rejected] == [(2, "the database refused the row")]
    assert "ck_mentions_label" in report.rejected[0].reason or "CHECK constraint" in report.rejected[0].reason
    assert sorted(m.external_id for m in stored(db_url)) == ["1", "3", "4"]


def test_each_mention_gets_its_language_the_sources_or_the_detectors(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    rows = [
        {"id": "en", "text": "My new iPhone is great, the battery lasts all day"},
        {"id": "it", "text": "Questo iPhone mi è piaciuto tantissimo, la batteria dura tutto il giorno!"},
        {"id": "es", "text": "Mi nuevo iPhone es genial, la batería dura todo el día"},
        {"id": "de", "text": "Mein neues iPhone ist großartig, der Akku hält den ganzen Tag"},
        {"id": "fr", "text": "Mon nouvel iPhone est génial, la batterie tient toute la journée"},
        {"id": "given", "text": "iPhone is great", "language": "PT"},  # the source's word is kept
        {"id": "none", "text": "👍👍 https://t.co/x @user"},  # nothing left to tell
    ]
    path = tmp_path / "languages.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert run_cli(monkeypatch, db_url, "ingest", str(path), "--brand", "apple").exit_code == 0
    found = {m.external_id: (m.language, m.language_confidence) for m in stored(db_url)}
    for code in ("en", "it", "es", "de", "fr"):
        language, confidence = found[code]
        assert language == code and confidence is not None and 0.5 < confidence <= 1, (code, found[code])
    assert found["given"] == ("pt", None) and found["none"] == (None, None)


def test_a_failed_language_helper_costs_speed_not_languages(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    class Broken(BackgroundDetector):
        def submit(self, texts: Any) -> Future[list[Detected]]:
            found: Future[list[Detected]] = Future()
            found.set_exception(ChildProcessError("the language detector process ended (exit status -9)"))
            return found

    monkeypatch.setattr("bot.core.ingest.BackgroundDetector", Broken)
    path = tmp_path / "many.jsonl"
    texts = ["Questo iPhone mi è piaciuto tantissimo", "My iPhone is great", "Mein iPhone ist großartig"]
    path.write_text(
        "".join(json.dumps({"id": str(i), "text": texts[i % 3]}, ensure_ascii=False) + "\n" for i in range(4500)),
        encoding="utf-8",
    )
    result = run_cli(monkeypatch, db_url, "ingest", str(path), "--brand", "apple")
    assert result.exit_code == 0, result.output
    languages = Counter(m.language for m in stored(db_url))
    assert languages == {"it": 1500, "en": 1500, "de": 1500}
    assert "language detection in a helper process failed (ChildProcessError); detecting here" in result.stderr


@pytest.mark.parametrize(
    ("dayfirst", "first"), [(False, "2026-01-11T13:05:00+00:00"), (True, "2026-11-01T13:05:00+00:00")]
)
def test_dates_as_spreadsheets_write_them_are_read_month_first_or_day_first(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, dayfirst: bool, first: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "id,text,created_at\n"
        "1,apple one,01/11/2026 14:05\n"  # ambiguous: the flag decides
        "2,apple two,25/11/2026\n"  # a day over 12 can only be a day
        "3,apple three,15 Nov 2026\n"
        '4,apple four,"November 15, 2026 10:00 PM"\n'
        "5,apple five,15 Nov\n"  # no year: refused, not completed from today
        "6,apple six,Monday\n"
        "7,apple seven,31/02/2026\n",
        encoding="utf-8",
    )
    args = ["ingest", str(path), *(["--dayfirst"] if dayfirst else [])]
    result = run_cli(monkeypatch, db_url, *args, BRANDPULSE_TIMEZONE="Europe/Rome")
    assert result.exit_code == 1
    for line in (6, 7, 8):
        assert f"{path}:{line}: 'created_at': cannot parse date" in result.stderr
    dates = {m.external_id: m.created_at.isoformat() for m in stored(db_url)}
    assert dates == {
        "1": first,
        "2": "2026-11-24T23:00:00+00:00",
        "3": "2026-11-14T23:00:00+00:00",
        "4": "2026-11-15T21:00:00+00:00",
    }


def test_country_and_engagement_columns_are_stored_and_a_bad_one_costs_its_row(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "id,text,country,likes,author_followers\n"
        '1,apple in Rome,Italy,12,"1,234"\n'
        "2,apple in London,GB,,N/A\n"
        "3,apple somewhere,Narnia,1,1\n"
        "4,apple again,it,lots,1\n"
        "5,apple counted,us,7.0,-3\n"
    )
    result = run_cli(monkeypatch, db_url, "ingest", str(path))
    assert result.exit_code == 1
    assert f"{path}:4: 'country' is 'Narnia', not a country" in result.stderr
    assert f"{path}:5: 'likes' is 'lots', not a count" in result.stderr
    assert f"{path}:6: 'author_followers' is -3: a count is from 0 to 2,147,483,647" in result.stderr
    mentions = {m.external_id: m for m in stored(db_url)}
    assert set(mentions) == {"1", "2"}
    assert (mentions["1"].country, mentions["1"].likes, mentions["1"].author_followers) == ("it", 12, 1234)
    assert (mentions["2"].country, mentions["2"].likes, mentions["2"].author_followers) == ("gb", None, None)


def test_a_brand_that_filters_on_the_language_sees_the_detected_one(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    brands = tmp_path / "brands.yml"
    brands.write_text("brands:\n  - name: acme-it\n    query: 'acme lang:it'\n")
    path = tmp_path / "mentions.csv"
    path.write_text(
        "id,text,language\n"
        '1,"acme è fantastico, lo adoro davvero",\n'
        '2,"acme is great, I really love it",\n'
        '3,"acme, scritto in inglese secondo il file",en\n'
    )
    result = run_cli(monkeypatch, db_url, "ingest", str(path), BRANDPULSE_BRANDS_FILE=str(brands))
    assert f"{path}:3: mentions no configured brand" in result.stderr
    assert f"{path}:4: mentions no configured brand" in result.stderr  # the file's language is the row's
    [italian] = stored(db_url)
    assert (italian.external_id, italian.language) == ("1", "it") and italian.language_confidence is not None
