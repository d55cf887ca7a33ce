"""The labelled pool: Slack verdicts, imported labels and admins' corrections, one label per text.

The rule for a text labelled more than once: an admin's correction wins (the latest, if several); else an imported
label (the latest import); else the Slack verdicts' most common label (on a tie, the latest verdict's). Texts are the
same text when they are once case and spacing are set aside.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from analysis.data import load_labelled
from analysis.labels import LABELS
from analysis.records import Rejection
from storage.actions import log_correction, mention_brand
from storage.labels import Corrected, PoolEntry, correct_label, pool_entries, replace_import
from storage.mentions import MAX_TEXT_CHARS, storable_text

# An analyst's answer to the labelling queue weighs as an admin's correction: both are a person's label for a mention.
RANK = {"correction": 2, "queue": 2, "import": 1, "feedback": 0}


@dataclass(frozen=True)
class PoolExample:
    """A text of the pool with the label the rule gives it, and the entry that decided it."""

    text: str
    label: str
    origin: str
    source: str
    at: datetime
    entries: int  # how many labels the text was given
    # The brand the deciding label is about (a correction or a queue answer), else None.
    brand: str | None = None


def same_text(text: str) -> str:
    """Texts are one text for the pool once case and spacing are set aside."""
    return " ".join(text.casefold().split())


def resolve(entries: list[PoolEntry]) -> list[PoolExample]:
    """One example per text, by the rule of this module's docstring; ``entries`` oldest first."""
    groups: dict[str, list[PoolEntry]] = {}
    for entry in entries:
        groups.setdefault(same_text(entry.text), []).append(entry)
    examples = []
    for group in groups.values():
        best = max(RANK[e.origin] for e in group)
        deciding = [e for e in group if RANK[e.origin] == best]
        if best == RANK["feedback"]:
            votes = Counter(e.label for e in deciding)
            top = max(votes.values())
            chosen = next(e for e in reversed(deciding) if votes[e.label] == top)
        else:
            chosen = deciding[-1]
        examples.append(
            PoolExample(chosen.text, chosen.label, chosen.origin, chosen.source, chosen.at, len(group), chosen.brand)
        )
    return examples


def correct_mention(
    sessions: sessionmaker[Session], *, mention_id: int, label: str, author: str, at: datetime
) -> Corrected | None:
    """An admin's label for a stored, classified mention: it counts in stats and joins the pool. None: no such
    classified mention."""
    if label not in LABELS:
        raise ValueError(f"{label!r} is not one of {', '.join(LABELS)}")
    with sessions.begin() as session:
        corrected = correct_label(session=session, mention_id=mention_id, label=label, author=author, at=at)
        if corrected is not None:
            log_correction(session=session, mention_id=mention_id, label=label, user=author, at=at)
        return corrected


def brand_of(sessions: sessionmaker[Session], mention_id: int) -> str | None:
    """The brand of a stored mention (None: no such mention), to check who may act on it."""
    with sessions() as session:
        return mention_brand(session=session, mention_id=mention_id)


def pool(sessions: sessionmaker[Session]) -> list[PoolExample]:
    with sessions() as session:
        return resolve(pool_entries(session=session))


@dataclass(frozen=True)
class LabelImport:
    """What an import stored, what it skipped (by reason) and the lines it could not read."""

    source: str
    stored: int
    skipped: dict[str, int]
    rejected: list[Rejection]


def import_labels(
    sessions: sessionmaker[Session],
    path: Path,
    *,
    source: str,
    at: datetime,
    text_field: str = "text",
    label_field: str = "label",
) -> LabelImport:
    """Store the labelled texts of a JSONL/CSV file under ``source``, replacing an earlier import of that name; a
    line that cannot be read is rejected, and the others are stored."""
    data = load_labelled(str(path), text_field=text_field, label_field=label_field)
    labels = [(storable_text(e.text)[:MAX_TEXT_CHARS], e.label) for e in data.examples]
    with sessions.begin() as session:
        stored = replace_import(session=session, source=source, labels=labels, at=at)
    return LabelImport(source, stored, dict(data.skipped), list(data.rejected))


def weekly_counts(examples: list[PoolExample]) -> list[tuple[str, str, str, int]]:
    """(ISO week, origin:source, label, examples), the newest week first."""
    counts = Counter(
        (f"{e.at.isocalendar().year}-W{e.at.isocalendar().week:02d}", f"{e.origin}:{e.source}", e.label)
        for e in examples
    )
    return sorted(((w, s, lbl, n) for (w, s, lbl), n in counts.items()), key=lambda r: (r[0], r[1], r[2]), reverse=True)
