"""Model version names, one rule wherever a name enters (``train --name``, a retrain, ``models register DIR`` and
the ``brandpulse.json`` of a directory trained elsewhere): a version names a folder directly under
BRANDPULSE_MODELS_DIR and appears in messages, so it is a plain word, never a path (``../../x``) or markup
(``<!channel>``). Hugging Face Hub ids (``owner/name``) are another kind of name and never a version."""

from __future__ import annotations

import re

from analysis.errors import InvalidName

VERSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
VERSION_RULE = "1 to 64 letters, digits, '.', '_' or '-', the first a letter or a digit, and no '..'"


def version_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a version's name, or None when it can."""
    if VERSION_NAME.fullmatch(name) and ".." not in name:
        return None
    return f"{name[:100]!r} cannot name a model version: expected {VERSION_RULE}"


def check_version_name(name: str) -> str:
    """``name`` itself when it can name a version; InvalidName saying the rule otherwise."""
    problem = version_name_problem(name)
    if problem is not None:
        raise InvalidName(problem)
    return name
