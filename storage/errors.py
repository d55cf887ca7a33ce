"""Storage errors with messages meant for the user."""

from __future__ import annotations


class StorageError(Exception):
    """The database cannot be used as configured."""
