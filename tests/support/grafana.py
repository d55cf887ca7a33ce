"""Grafana's PostgreSQL macros and variables, expanded as Grafana documents them, so that a dashboard's SQL runs
against PostgreSQL in the tests exactly as Grafana would send it (there is no Grafana server to run here)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_TIME_FILTER = re.compile(r"\$__timeFilter\(([^)]+)\)")
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def expand(sql: str, *, start: datetime, end: datetime, variables: dict[str, str | list[str]]) -> str:
    """``$__timeFilter(col)`` as ``col BETWEEN 'from' AND 'to'`` (RFC 3339, UTC); a multi-value variable as its
    values quoted and joined with commas (what ``IN ($brand)`` needs), a single value as it is (Grafana's rules for
    SQL data sources). An unknown ``$name`` fails the test."""

    def moment(at: datetime) -> str:
        return _quoted(at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    sql = _TIME_FILTER.sub(lambda m: f"{m.group(1)} BETWEEN {moment(start)} AND {moment(end)}", sql)

    def variable(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in variables:
            raise KeyError(f"the dashboard uses ${name}, which the test does not give")
        value = variables[name]
        return ",".join(_quoted(v) for v in value) if isinstance(value, list) else value

    return _VARIABLE.sub(variable, sql)
