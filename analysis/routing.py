"""Per-language routing: each text is classified by the model of its language (English by an English model, the
rest by a multilingual one), and each prediction names the model that made it."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from analysis.errors import InvalidInput, ModelUnavailable
from analysis.prediction import Classifier, Prediction

log = logging.getLogger(__name__)

# The route of every language without one of its own, and of texts whose language is not known.
ANY = "*"
# In a route, the model brandpulse runs otherwise: BRANDPULSE_MODEL, else the registry's active version, else the
# hub default; it follows promotions.
ACTIVE = "active"
_LANGUAGE = re.compile(r"[a-z]{2,3}")


@dataclass(frozen=True)
class Routes:
    """Languages (ISO 639-1) to model sources (a directory, a hub id, a registered version, or ``active``)."""

    by_language: Mapping[str, str]
    default: str = ACTIVE

    @classmethod
    def parse(cls, value: str) -> Routes:
        """``en=active,*=cardiffnlp/twitter-xlm-roberta-base-sentiment``; ValueError says what is wrong."""
        routes: dict[str, str] = {}
        default: str | None = None
        for entry in value.split(","):
            if not entry.strip():
                continue
            language, sep, source = (part.strip() for part in entry.partition("="))
            if not sep or not source:
                raise ValueError(f"{entry.strip()!r}: write LANGUAGE=MODEL, such as en=active or *=models/e5-v1")
            language = language.lower()
            if language == ANY:
                default = source
            elif not _LANGUAGE.fullmatch(language):
                raise ValueError(f"{language!r} is not an ISO 639-1 language code (en, it, de) or *")
            elif language in routes:
                raise ValueError(f"{language} is routed twice")
            else:
                routes[language] = source
        return cls(routes, default or ACTIVE)

    def source_for(self, language: str | None) -> str:
        return self.by_language.get(language or "", self.default)

    @property
    def sources(self) -> list[str]:
        """Each model the routes name, once, the default's first."""
        return list(dict.fromkeys([self.default, *self.by_language.values()]))

    def describe(self) -> str:
        named = [f"{language}={source}" for language, source in sorted(self.by_language.items())]
        return ",".join([*named, f"{ANY}={self.default}"])


class RoutedClassifier:
    """A classifier that sends each text to its language's model; ``model_for`` gives (and may load, once) the
    model of a source, so that a language nobody writes in never costs a model in memory.

    With ``fallback`` (a source, such as ``active``), the texts of a route whose model cannot load go to that model
    instead of failing the batch, and each prediction names the model that made it. A long-running bot keeps
    classifying every language rather than stalling them all on one broken route; a one-off command fails loudly.
    """

    def __init__(
        self,
        routes: Routes,
        *,
        model_for: Callable[[str], Classifier],
        detect: Callable[[str], str | None],
        fallback: str | None = None,
    ) -> None:
        self.routes = routes
        self.model_for = model_for
        self.detect = detect
        self.fallback = fallback
        self.name = routes.describe()
        # Per source, the last load failure warned about: the same one is not logged again on every batch.
        self._warned: dict[str, str] = {}

    def _model(self, source: str) -> Classifier:
        try:
            model = self.model_for(source)
        except ModelUnavailable as exc:
            if self.fallback is None or source == self.fallback:
                raise
            if self._warned.get(source) != str(exc):
                self._warned[source] = str(exc)
                log.warning(
                    "route model %s unavailable (%s): its languages go to %s for now", source, exc, self.fallback
                )
            return self.model_for(self.fallback)
        if self._warned.pop(source, None) is not None:
            log.info("route model %s is back: its languages go to it again", source)
        return model

    def classify(
        self,
        texts: Sequence[str],
        *,
        progress: Callable[[int], None] | None = None,
        languages: Sequence[str | None] | None = None,
    ) -> list[Prediction | InvalidInput]:
        """Predictions in the order of ``texts``; ``languages`` (as stored) spares detecting them again."""
        if languages is None:
            languages = [self.detect(text) for text in texts]
        groups: dict[str, list[int]] = {}
        for index, language in enumerate(languages):
            groups.setdefault(self.routes.source_for(language), []).append(index)
        results: list[Prediction | InvalidInput | None] = [None] * len(texts)
        for source, indexes in groups.items():
            found = self._model(source).classify([texts[i] for i in indexes], progress=progress)
            for index, result in zip(indexes, found, strict=True):
                results[index] = result
        done = [r for r in results if r is not None]
        assert len(done) == len(texts)  # every text was in one group
        return done
