"""Errors the application reports to the user with a message rather than a traceback."""

from __future__ import annotations


class BrandpulseError(Exception):
    """Base class: the message is meant for the user."""


class ConfigError(BrandpulseError):
    """Settings or the brands file are invalid; the message names the source, the key and what is expected."""


class InvalidInput(BrandpulseError):
    """Something the user gave (a row of a file, an option) cannot be used; the message says why."""
