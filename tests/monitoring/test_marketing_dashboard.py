"""The brands dashboard (Grafana, PostgreSQL data source): every panel's SQL, as Grafana would send it, runs against
PostgreSQL as the read-only role compose gives Grafana, over seeded mentions, and returns the figures that
`brandpulse stats` and `brandpulse report` give for the same period; and the file imports into any Grafana."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from storage.db import make_engine
from storage.errors import StorageError
from storage.migrate import DASHBOARD_TABLES, grant_dashboard_reads, upgrade
from tests.conftest import POSTGRES_URL
from tests.support.cli import run_cli
from tests.support.grafana import expand
from tests.support.pipeline import M, rows_of, write_brands

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "monitoring" / "grafana" / "dashboards" / "brandpulse-marketing.json"
DATASOURCE = ROOT / "monitoring" / "grafana" / "provisioning" / "datasources" / "brandpulse-db.yml"
ROME = ZoneInfo("Europe/Rome")
WEEK = datetime(2026, 11, 23, tzinfo=ROME)
END = WEEK + timedelta(days=7)
SOURCES = ("reddit", "mastodon", "rss")
BRANDS = """
brands:
  - name: acme
    keywords: [acmephone]
  - name: globex
    keywords: [globex]
  - name: initech
    keywords: [initech]
"""


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def _panel(title: str) -> str:
    [panel] = [p for p in _dashboard()["panels"] if p["title"] == title]
    sql: str = panel["targets"][0]["rawSql"]
    return sql


def _mentions() -> list[M]:
    """A week in Rome: acme every day (negatives growing), globex most days, initech twice; three sources, two
    languages, engagement on some; a mention just before the week and one muted author's."""
    found = []
    for day in range(7):
        at = WEEK + timedelta(days=day, hours=9)
        for i in range(3 + day):
            label = "negative" if i < day else ("positive" if i % 2 else "neutral")
            found.append(
                M(
                    at + timedelta(minutes=7 * i),
                    f"acmephone day {day} #{i}",
                    label,
                    language="en" if i % 3 else "it",
                    likes=(day * 10 + i) if label == "negative" else None,
                    url=f"https://m.test/a{day}-{i}",
                )
            )
        if day % 2 == 0:
            found.append(
                M(
                    at + timedelta(hours=2),
                    f"globex day {day}",
                    "negative" if day == 4 else "positive",
                    brand="globex",
                    language="en",
                )
            )
            found.append(M(at + timedelta(hours=3), f"globex unread {day}", None, brand="globex"))
    found.append(
        M(
            WEEK + timedelta(days=3, hours=23, minutes=30),
            "initech late night",
            "neutral",
            brand="initech",
            language="de",
        )
    )
    found.append(M(WEEK + timedelta(days=6, hours=1), "initech early", "negative", brand="initech", language="de"))
    found.append(M(WEEK - timedelta(minutes=5), "acmephone the week before", "negative"))
    return found


@pytest.fixture
def seeded(postgres_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(postgres_url)
    upgrade(engine)
    rows = rows_of(_mentions())
    for i, row in enumerate(rows):
        row["source"] = SOURCES[i % 3]
        row["replies"] = None
    with engine.begin() as connection:
        from storage.mentions import insert_mentions

        insert_mentions(connection=connection, rows=rows)
        # An author muted for acme: the team does not see it, nor does the dashboard.
        connection.execute(
            text(
                "INSERT INTO mentions (source, external_id, brand, text, created_at, ingested_at, status, label, muted)"
                " VALUES ('reddit', 'muted-1', 'acme', 'acmephone spam', :at, :at, 'classified', 'negative', true)"
            ),
            {"at": WEEK + timedelta(days=1)},
        )
        connection.execute(
            text(
                "INSERT INTO spike_alerts (brand, kind, severity, window_start, window_end, details, created_at)"
                " VALUES ('acme', 'negative_share', 'critical', :start, :end, '{}', :end)"
            ),
            {"start": WEEK + timedelta(days=5, hours=9), "end": WEEK + timedelta(days=5, hours=10)},
        )
    yield engine, postgres_url, write_brands(tmp_path, BRANDS)
    engine.dispose()


@pytest.fixture
def reader(seeded):  # type: ignore[no-untyped-def]
    """A connection as the dashboard's read-only role, granted what brandpulse grants it."""
    engine, url, _ = seeded
    role = f"bp_reader_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN"))
    assert grant_dashboard_reads(engine, role)
    as_reader = create_engine(url.replace("postgres@", f"{role}@", 1))
    try:
        with as_reader.connect() as connection:
            yield connection
    finally:
        as_reader.dispose()
        with admin.connect() as connection:
            connection.execute(text(f"DROP OWNED BY {role}"))
            connection.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


ALL = {
    "brand": ["acme", "globex", "initech"],
    "source": ["reddit", "mastodon", "rss"],
    "language": ["en", "it", "de", "unknown"],
}


def _run(connection, title: str, **variables: Any) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    values = {
        **ALL,
        "label": ["negative", "neutral", "positive"],
        "bucket": "day",
        "timezone": "Europe/Rome",
        "min_classified": "5",
        **variables,
    }
    sql = expand(_panel(title), start=WEEK, end=END - timedelta(seconds=1), variables=values)
    return [dict(row._mapping) for row in connection.execute(text(sql))]


def _cli(monkeypatch: pytest.MonkeyPatch, url: str, brands: Path, *args: str) -> str:
    env = {"BRANDPULSE_BRANDS_FILE": str(brands), "BRANDPULSE_TIMEZONE": "Europe/Rome"}
    result = run_cli(monkeypatch, url, *args, **env)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.postgres
def test_every_panel_gives_the_figures_of_stats_and_report(seeded, reader, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    _, url, brands = seeded
    window = ("--since", WEEK.isoformat(), "--until", END.isoformat())
    # Share of voice over time, per day in Rome: `brandpulse stats --brand acme` (every brand watched).
    stats = json.loads(_cli(monkeypatch, url, brands, "stats", "--brand", "acme", *window, "--format", "json"))
    voices = [r for r in _run(reader, "Share of voice over time") if r["metric"] == "acme"]
    assert len(voices) == len(stats) == 7
    for row, day in zip(voices, stats, strict=True):
        assert row["time"] == datetime.fromisoformat(day["start"])
        assert row["share of voice"] == pytest.approx(day["share_of_voice"])
    # Negative share over time: stats' negative share, on the days with 5+ classified mentions.
    negatives = {
        r["time"]: r["negative share"] for r in _run(reader, "Negative share over time") if r["metric"] == "acme"
    }
    expected = {datetime.fromisoformat(d["start"]): d["negative_share"] for d in stats if d["classified"] >= 5}
    assert negatives == pytest.approx(expected) and len(expected) == 5

    # Sentiment per brand, side by side: `brandpulse report --brand all` (its CSV).
    report = {
        r["brand"]: r
        for r in csv.DictReader(
            io.StringIO(_cli(monkeypatch, url, brands, "report", "--brand", "all", *window, "--format", "csv"))
        )
    }
    table = _run(reader, "Sentiment per brand")
    assert [r["brand"] for r in table] == list(report) == ["acme", "globex", "initech"]
    for row in table:
        figures = report[row["brand"]]
        assert row["mentions"] == int(figures["mentions"])
        assert row["share of voice"] == pytest.approx(float(figures["share_of_voice"]), abs=1e-4)
        assert (row["negative"], row["neutral"], row["positive"]) == tuple(
            int(figures[k]) for k in ("negative", "neutral", "positive")
        )
        assert row["negative share"] == pytest.approx(float(figures["negative_share"]), abs=1e-4)
        assert float(row["net sentiment"]) == pytest.approx(100 * float(figures["net_sentiment"]), abs=1e-2)

    # The stats of the selection: acme alone, as its report's headline gives them.
    acme = report["acme"]
    [mentions] = _run(reader, "Mentions", brand=["acme"])
    [net] = _run(reader, "Net sentiment", brand=["acme"])
    [negative] = _run(reader, "Negative share", brand=["acme"])
    [unread] = _run(reader, "Not classified yet")
    assert mentions["mentions"] == int(acme["mentions"]) == 42  # 3 + 4 + ... + 9; the muted one is not counted
    assert float(net["net sentiment"]) == pytest.approx(100 * float(acme["net_sentiment"]), abs=1e-2)
    assert negative["negative share"] == pytest.approx(float(acme["negative_share"]), abs=1e-4)
    assert unread["not classified"] == sum(int(r["unclassified"]) for r in report.values()) == 4

    # The most engaged negative mentions: the report's, in its order.
    single = list(
        csv.DictReader(
            io.StringIO(_cli(monkeypatch, url, brands, "report", "--brand", "acme", *window, "--format", "csv"))
        )
    )
    top = [r["text"] for r in single if r["section"] == "top_negative"]
    engaged = _run(reader, "Most engaged mentions", brand=["acme"], label=["negative"])
    assert top and [r["text"] for r in engaged][: len(top)] == top
    assert (
        engaged[0]["url"].startswith("https://m.test/") and engaged[0]["engagement"] == 65
    )  # day 6, the sixth negative

    # Languages and sources: the report's language rows; the sources add up to the mentions.
    languages = {r["language"]: r["mentions"] for r in _run(reader, "Languages", brand=["acme"])}
    assert languages == {r["key"]: int(r["mentions"]) for r in single if r["section"] == "language"}
    assert sum(r["mentions"] for r in _run(reader, "Sources", brand=["acme"])) == 42

    # Filters: one source, one language.
    [only] = _run(reader, "Mentions", brand=["acme"], source=["rss"], language=["it"])
    expected_rss = sum(
        1
        for i, m in enumerate(_mentions())
        if (m.brand, m.language, SOURCES[i % 3]) == ("acme", "it", "rss") and WEEK <= m.at < END
    )
    assert only["mentions"] == expected_rss > 0

    # The alerts annotation finds brandpulse's spike alert.
    annotation = next(a for a in _dashboard()["annotations"]["list"] if a.get("target"))
    sql = expand(annotation["target"]["rawSql"], start=WEEK, end=END, variables=ALL)
    [alert] = reader.execute(text(sql)).mappings().all()
    assert alert["text"] == "acme: negative_share (critical)"


@pytest.mark.postgres
def test_the_dashboard_role_reads_its_two_tables_and_nothing_else(seeded, reader) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = seeded
    assert DASHBOARD_TABLES == ("mentions", "spike_alerts")
    with pytest.raises(ProgrammingError, match="permission denied"):
        reader.execute(text("SELECT * FROM outbox"))
    reader.rollback()
    with pytest.raises(ProgrammingError, match="permission denied"):
        reader.execute(text("DELETE FROM mentions"))
    reader.rollback()
    with pytest.raises(StorageError, match="does not exist"):
        grant_dashboard_reads(engine, "no_such_role_here")


def test_the_dashboard_imports_anywhere_and_compose_provisions_it_read_only() -> None:
    dashboard = _dashboard()
    [source] = dashboard["__inputs"]
    assert source["type"] == "datasource" and source["pluginId"] == "grafana-postgresql-datasource"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["query"] == "grafana-postgresql-datasource"
    assert {"brand", "source", "language"} <= set(variables)
    # Nothing a viewer types reaches the SQL: the free-form variables are lists of fixed values.
    for name in ("bucket", "timezone", "label"):
        assert variables[name]["type"] == "custom" and variables[name]["allowCustomValue"] is False
    titles = [p["title"] for p in dashboard["panels"]]
    assert titles == [
        "Mentions", "Net sentiment", "Negative share", "Not classified yet", "Share of voice over time",
        "Sentiment per brand", "Negative share over time", "Most engaged mentions", "Sources", "Languages",
    ]  # fmt: skip
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}"
        sql = panel["targets"][0]["rawSql"]
        for needed in ("$__timeFilter(created_at)", "NOT muted", "brand IN ($brand)", "source IN ($source)"):
            assert needed in sql, (panel["title"], needed)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(set(ids)) == len(ids)

    provisioned = yaml.safe_load(DATASOURCE.read_text(encoding="utf-8"))["datasources"][0]
    assert provisioned["type"] == "grafana-postgresql-datasource" and provisioned["user"] == "grafana_reader"
    assert provisioned["secureJsonData"]["password"] == "$__file{/run/secrets/grafana_db_password}"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["brandpulse"]["environment"]["BRANDPULSE_DASHBOARD_DB_ROLE"] == "grafana_reader"
    init = "./monitoring/postgres/10-dashboard-role.sh:/docker-entrypoint-initdb.d/10-dashboard-role.sh:ro"
    assert (
        init in services["postgres"]["volumes"] and (ROOT / "monitoring" / "postgres" / "10-dashboard-role.sh").exists()
    )
    assert "grafana_db_password" in services["grafana"]["secrets"] and "grafana_db_password" in compose["secrets"]
    script = (ROOT / "monitoring" / "postgres" / "10-dashboard-role.sh").read_text(encoding="utf-8")
    assert "default_transaction_read_only = on" in script and "LOGIN PASSWORD :'password'" in script
