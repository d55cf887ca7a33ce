"""The source types brandpulse polls, each registered by its connector's module: nothing else chooses among them.

A connector's module registers its builder with ``@connector_type("feed")``: given the source's configuration, its
parameters with their ``${VARIABLE}``s read, and the poll's wiring (the HTTP client, the brands file), the builder
returns the connector. :func:`build` finds the builder by the configuration's ``type``. The modules of this package
are imported the first time a builder is wanted, so a new source is its module (and its configuration model in
bot/config/sources.py, where the brands file's types are declared).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.config.brands import BrandsConfig
from bot.config.sources import SourceConfig, resolved
from bot.errors import ConfigError
from bot.sources.base import Connector
from bot.sources.http import SourceClient


@dataclass(frozen=True)
class Wiring:
    """What a builder may use besides the source's own parameters."""

    client: SourceClient  # the poll's HTTP client: its timeouts, size caps and allowed addresses
    brands: BrandsConfig
    languages: Sequence[str] = ()  # the languages the team watches (BRANDPULSE_LANGUAGES): detection picks among them


Builder = Callable[[Any, dict[str, Any], Wiring], Connector]
B = TypeVar("B", bound=Builder)
_BUILDERS: dict[str, Builder] = {}


def connector_type(name: str) -> Callable[[B], B]:
    """Registers the decorated function as the builder of the sources of type ``name``."""

    def register(build: B) -> B:
        if _BUILDERS.get(name, build) is not build:
            raise RuntimeError(f"two connectors register the source type {name!r}")
        _BUILDERS[name] = build
        return build

    return register


@functools.cache
def _discover() -> None:
    """Imports every module of this package: each connector's registers its type."""
    package = importlib.import_module(__package__ or "bot.sources")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


def registered() -> frozenset[str]:
    """The source types a connector is registered for."""
    _discover()
    return frozenset(_BUILDERS)


def build(
    config: SourceConfig,
    *,
    env: Mapping[str, str],
    client: SourceClient,
    brands: BrandsConfig,
    languages: Sequence[str] = (),
) -> Connector:
    """The connector a configuration describes, its ``${VARIABLE}`` references read from ``env``."""
    _discover()
    builder = _BUILDERS.get(config.type)
    if builder is None:
        raise ConfigError(f"source {config.name}: no connector is registered for the type {config.type!r}")
    return builder(config, resolved(config, env), Wiring(client=client, brands=brands, languages=languages))
