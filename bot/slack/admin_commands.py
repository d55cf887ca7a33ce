"""``/sentiment history|stats|brands``: parse the words, ask core/, render; for the admins in BRANDPULSE_ADMIN_USERS.

Shared by the ``/sentiment`` listener and the history page's "More" button. A bad argument is a UsageError and
a non-admin's request NotAllowed: the app's error handler answers both with their message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from analysis.errors import ModelUnavailable
from analysis.labels import LABELS
from analysis.query import Query, QuerySyntaxError, parse
from bot.core.history import resume_after, search_mentions
from bot.core.languages import language_filter
from bot.core.periods import PERIOD_HELP, Period, meant_as_period, parse_period
from bot.core.stats import daily_stats
from bot.core.themes import brand_themes
from bot.errors import NotAllowed, UsageError
from bot.slack.blocks import escape, fallback, section
from bot.slack.deps import Services
from bot.slack.reports import queue_comparison, queue_report
from bot.slack.views.admin import STATES, HistoryQuery, brands_answer, history_answer, stats_answer
from bot.slack.views.sentiment import COMMAND
from bot.slack.views.themes import themes_answer, themes_progress
from storage.mention_queries import MentionFilter, Triage

log = logging.getLogger(__name__)

COMMANDS = ("history", "stats", "brands", "report", "themes")
PAGE_SIZE = 10
# Embedding this many mentions takes a few seconds: the asker is told it is under way.
EMBED_NOTICE = 200
MAX_WORDS = 200
LANGUAGE_PREFIX = "lang:"


def take_period(services: Services, rest: list[str], default: str) -> str:
    """Takes a period (one to four words: ``7d``, ``yesterday``, ``last week``, ``3 days ago``) off the front of
    ``rest``, checked; ``default`` when none is there."""
    for size in range(min(4, len(rest)), 0, -1):
        words = " ".join(rest[:size]).lower()
        try:
            parse_period(words, now=services.clock(), tz=services.settings.tz)
        except UsageError:
            if size == 1 and meant_as_period(words):
                raise
            continue
        del rest[:size]
        return words
    return default


def parse_history(services: Services, args: list[str], user: str = "") -> HistoryQuery:
    if not args:
        raise UsageError(
            f"write `{COMMAND} history <brand> [period] [negative|neutral|positive] [lang:it] "
            f"[handled|unhandled|assigned|mine] [query]`, the period being {PERIOD_HELP}"
        )
    brand, rest = known_brand(services, args[0]), args[1:]
    period = take_period(services, rest, "7d")
    label = None
    if rest and rest[0].lower() in LABELS:
        label = rest.pop(0).lower()
    language = _language_word(rest)
    state, assignee = None, None
    if rest and rest[0].lower() in (*STATES, "mine"):
        word = rest.pop(0).lower()
        state, assignee = (None, user or None) if word == "mine" else (word, None)
    words = " ".join(rest)
    if len(words) > MAX_WORDS:
        raise UsageError(f"search for at most {MAX_WORDS} characters of words")
    words_query(words)  # a query that does not parse is refused now, with where it went wrong
    return HistoryQuery(
        brand=brand, period=period, label=label, words=words, language=language, state=state, assignee=assignee
    )


def _language_word(rest: list[str]) -> str | None:
    """Takes ``lang:it`` off the front of ``rest``: the language to keep."""
    if rest and rest[0].lower().startswith(LANGUAGE_PREFIX):
        return language_filter(rest.pop(0)[len(LANGUAGE_PREFIX) :])
    return None


def known_brand(services: Services, name: str) -> str:
    wanted = name.lower()
    if wanted not in services.brands.names:
        known = ", ".join(f"`{b}`" for b in services.brands.names)
        shown = name if len(name) <= 64 else name[:63] + "…"  # plain text: the error handler escapes it
        raise UsageError(f"`{shown}` is not a brand brandpulse watches; try one of {known}")
    return wanted


def history(services: Services, query: HistoryQuery) -> dict[str, Any]:
    """One page of the history ``query`` asks for."""
    period = parse_period(query.period, now=services.clock(), tz=services.settings.tz)
    before = resume_after(*query.before) if query.before else None
    where = MentionFilter(
        brand=query.brand,
        since=period.start,
        until=period.end,
        label=query.label,
        language=query.language,
        triage=Triage(query.state) if query.state else None,
        assignee=query.assignee,
    )
    page = search_mentions(services.sessions, where, words_query(query.words), limit=PAGE_SIZE, before=before)
    settings = services.settings
    return history_answer(query, page.mentions, resume=page.resume, tz=settings.tz, timezone=settings.timezone)


def words_query(words: str) -> Query | None:
    """The words after a history's filters, read as a query (UsageError, with the caret, when they do not parse)."""
    if not words:
        return None
    try:
        return parse(words)
    except QuerySyntaxError as exc:
        raise UsageError(
            f"the words to search for are a query, and this one does not parse: {exc.reason} at column "
            f"{exc.column}:\n```{exc.query}\n{' ' * (exc.column - 1)}^```"
        ) from None


def stats(services: Services, args: list[str]) -> dict[str, Any]:
    if not args:
        raise UsageError(f"write `{COMMAND} stats <brand> [period] [lang:it]`, the period being {PERIOD_HELP}")
    brand, rest = known_brand(services, args[0]), args[1:]
    period = take_period(services, rest, "30d")
    language = _language_word(rest)
    if rest:
        extra = " ".join(rest)
        shown = extra if len(extra) <= 40 else extra[:39] + "…"  # plain text: the error handler escapes it
        raise UsageError(f"`{shown}` is not understood: write `{COMMAND} stats <brand> [30d] [lang:it]`")
    now, settings = services.clock(), services.settings
    # Whole local days: from the start of the period's first day.
    span = parse_period(period, now=now, tz=settings.tz)
    first = span.start.astimezone(settings.tz).replace(hour=0, minute=0, second=0, microsecond=0)
    days = daily_stats(
        services.sessions,
        brand=brand,
        tz=settings.tz,
        since=first,
        until=span.end,
        watched=services.brands.names,
        language=language,
    )
    return stats_answer(brand, period, days, timezone=settings.timezone, language=language)


def check_reader(services: Services, user: str, command: str, brand: str) -> None:
    """History, stats, reports and alert details: for the admins and analysts of every brand or of this one.
    ``command`` is a /sentiment subcommand, or what was asked in a few words ("alert details")."""
    what = f"`{COMMAND} {command}`" if command in COMMANDS else command
    if not services.can_read(user, brand):
        log.warning("refused %s of %s for %s: not an admin or analyst of it", what, brand, user)
        raise NotAllowed(
            f"Sorry, {what} of {brand} is for its brandpulse admins and analysts. Ask an admin to add you."
        )


def check_admin(services: Services, user: str, what: str, brand: str | None = None) -> None:
    """Acting (on a mention, an alert, the model): for the admins of every brand or, with ``brand``, of that one."""
    if not services.is_admin(user, brand):
        log.warning("refused %s for %s: not an admin%s", what, user, f" of {brand}" if brand else "")
        raise NotAllowed(f"Sorry, {what} is for brandpulse admins. Ask one to add you to the admin list.")


def parse_report(services: Services, args: list[str], command: str = "report") -> tuple[list[str], Period]:
    """The brands and period of ``/sentiment report|themes <brand> [period]`` (default: the last 7 days); a report
    may put brands side by side: ``apple,google`` or ``all``."""
    if not args:
        which = "<brand>|<brand,brand,…>|all" if command == "report" else "<brand>"
        pdf = " [as pdf]" if command == "report" else ""
        raise UsageError(f"write `{COMMAND} {command} {which} [period]{pdf}`, the period being {PERIOD_HELP}")
    names = services.brands.names
    if command == "report" and args[0].lower() == "all" and "all" not in names:
        brands = list(names)
    elif command == "report":
        brands = list(dict.fromkeys(known_brand(services, word) for word in args[0].split(",") if word))
    else:
        brands = [known_brand(services, args[0])]
    period = parse_period(" ".join(args[1:]) or "7d", now=services.clock(), tz=services.settings.tz)
    return brands, period


def as_pdf(args: list[str]) -> tuple[list[str], bool]:
    """``/sentiment report apple last week as pdf``: the words without a closing "as pdf", and whether it was there."""
    if len(args) >= 2 and [w.lower() for w in args[-2:]] == ["as", "pdf"]:
        return args[:-2], True
    return args, False


def report(
    services: Services, user: str, channel: str, brands: list[str], period: Period, *, pdf: bool = False
) -> dict[str, Any]:
    """Queue the report of ``brands`` (one brand's digest, or several side by side) for ``period`` to ``channel``
    (where it was asked); the answer says where it goes. With ``pdf``, the report as a PDF goes in the message's
    thread instead of the chart."""
    note = f"asked for by <@{user}>" if user.isalnum() else None
    if len(brands) == 1:
        queued = queue_report(
            sessions=services.sessions,
            settings=services.settings,
            brands=services.brands,
            brand=brands[0],
            period=period,
            channel=channel,
            note=note,
            encoder=services.encoder,
            as_pdf=pdf,
        )
        message_id, volume = queued.message_id, queued.digest.volume
    else:
        compared = queue_comparison(
            sessions=services.sessions,
            settings=services.settings,
            brands=services.brands,
            names=brands,
            period=period,
            channel=channel,
            note=note,
            encoder=services.encoder,
            as_pdf=pdf,
        )
        message_id, volume = compared.message_id, compared.comparison.volume
    brand = ", ".join(brands)
    log.info("report of %s for %s queued for %s by %s", brand, period.name, channel, user)
    if message_id is None:
        text = f"The report of *{escape(brand)}* for {escape(period.name)} was already posted in this channel."
    else:
        text = (
            f":white_check_mark: The report of *{escape(brand)}* for {escape(period.name)} "
            f"({volume:,} mention{'' if volume == 1 else 's'}) is on its way to this channel, "
            f"{'the PDF' if pdf else 'its chart'} in its thread."
        )
    return {"replace_original": True, "response_type": "ephemeral", "text": fallback(text), "blocks": [section(text)]}


def themes(
    services: Services, brand: str, period: Period, progress: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """``brand``'s themes in ``period`` (only the asker sees them); ``progress`` gets one message when mentions must
    be embedded first (the first report over a period does that, the next ones read the stored vectors)."""
    if services.encoder is None:
        raise ModelUnavailable("themes are not set up in this bot (no themes encoder)")
    encoder = services.encoder()
    config = services.brands.brand(brand)
    told = False

    def embedding(done: int, total: int) -> None:
        nonlocal told
        if not told and total >= EMBED_NOTICE:
            told = True
            progress(themes_progress(brand, period.name, embedding=total))

    with services.sessions() as session:
        found = brand_themes(
            session=session,
            encoder=encoder,
            brand=brand,
            start=period.start,
            end=period.end,
            keywords=config.own_words() if config is not None else [brand],
            progress=embedding,
        )
        session.commit()  # the vectors embedded for it
    log.info("themes of %s for %s: %d themes of %d mentions", brand, period.name, len(found.themes), found.mentions)
    return themes_answer(found, services.settings.tz, period.name)


def report_progress(brands: list[str], period: Period) -> dict[str, Any]:
    text = f":hourglass_flowing_sand: Building the report of *{escape(', '.join(brands))}* for {escape(period.name)}…"
    return {"response_type": "ephemeral", "text": fallback(text), "blocks": [section(text)]}


def answer(services: Services, user: str, words: list[str]) -> dict[str, Any]:
    """The answer to ``/sentiment history|stats|brands ...`` (``report`` has its own, as it answers twice)."""
    command, args = words[0].lower(), words[1:]
    if command == "brands":
        return brands_answer(services.brands)
    if command == "history":
        query = parse_history(services, args, user)
        check_reader(services, user, command, query.brand)
        return history(services, query)
    if args:
        check_reader(services, user, command, known_brand(services, args[0]))
    return stats(services, args)
