"""Errors of the analysis package; messages are meant for the user."""

from __future__ import annotations


class AnalysisError(Exception):
    """Base class: the message says what went wrong and what to do."""


class InvalidInput(AnalysisError):
    """A text the model cannot classify (empty, whitespace only)."""


class ModelUnavailable(AnalysisError):
    """The model cannot be loaded: not found, not reachable, or not a usable sentiment classifier."""


class DataError(AnalysisError):
    """A labelled data set cannot be read or mapped onto negative / neutral / positive."""


class InvalidName(AnalysisError):
    """A model version name that could not name a folder of its own (see ``analysis.versions``)."""
