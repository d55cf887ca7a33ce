"""The application's errors: each carries a message meant for the user.

Errors of the packages below (``analysis.errors.AnalysisError``, ``storage.errors.StorageError``) carry one too;
each boundary (the CLI's main, the Slack app's error handler, the HTTP app) maps all three trees in one place and
answers anything else generically, with a traceback in the log.
"""

from __future__ import annotations

import re

from analysis.errors import AnalysisError
from storage.db import mask_query_secrets
from storage.errors import StorageError


class BrandpulseError(Exception):
    """Base class: the message is meant for the user."""


class ConfigError(BrandpulseError):
    """Settings or the brands file are invalid; the message names the source, the key and what is expected."""


class UsageError(BrandpulseError):
    """Something the user gave (a command's words, an option, a row of a file) cannot be used; the message says why."""


class NotAllowed(BrandpulseError):
    """The user may not do this (an admin command asked by someone who is not an admin); the message says so."""


# What a boundary answers with its message; anything else is a bug, logged with its traceback.
USER_ERRORS: tuple[type[Exception], ...] = (BrandpulseError, AnalysisError, StorageError)


# scheme://user:password@host: the password is everything up to the last '@' of the word (unencoded '@'s included).
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s'\"]*):[^\s]*@")


def mask_secrets(text: str) -> str:
    """``text`` with the password of every URL in it (user part and secret query parameters) replaced by ``***``: for
    any message or log line."""
    return mask_query_secrets(_URL_PASSWORD.sub(r"\1:***@", text))


def mask_url(value: str) -> str:
    """A URL-shaped setting for a message, whatever its shape: everything between the scheme and the last ``@`` (the
    user and password, spaces or a missing scheme included) becomes ``***``; so do secret query values. For values
    that failed to parse, where ``mask_secrets``' pattern may not find the password."""
    scheme, separator, rest = value.partition("://")
    if not separator:
        scheme, rest = "", value
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return scheme + separator + mask_query_secrets(rest)
